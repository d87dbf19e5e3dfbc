// dense and matmul against naive references (nested loops, double accumulation).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "exec/float/kernels.hpp"
#include "kernel_test_util.hpp"

namespace fk = tinyq::fk;

namespace {

using namespace tinyq::kernel_test;

std::vector<double> reference_dense(int rows, int in_features, int out_features, const std::vector<float>& in,
                                    const std::vector<float>& weight, const float* bias, fk::Activation act) {
  std::vector<double> out(static_cast<std::size_t>(rows) * out_features);
  for (int r = 0; r < rows; ++r) {
    for (int o = 0; o < out_features; ++o) {
      double acc = bias ? bias[o] : 0.0;
      for (int k = 0; k < in_features; ++k) {
        acc += static_cast<double>(in[static_cast<std::size_t>(r) * in_features + k]) *
               weight[static_cast<std::size_t>(o) * in_features + k];
      }
      out[static_cast<std::size_t>(r) * out_features + o] =
          std::min(std::max(acc, static_cast<double>(act.min)), static_cast<double>(act.max));
    }
  }
  return out;
}

std::vector<double> reference_matmul(int batch, int m, int k, int n, const std::vector<float>& a, std::size_t a_stride,
                                     const std::vector<float>& b, std::size_t b_stride) {
  std::vector<double> out(static_cast<std::size_t>(batch) * m * n);
  for (int i = 0; i < batch; ++i) {
    for (int r = 0; r < m; ++r) {
      for (int c = 0; c < n; ++c) {
        double acc = 0.0;
        for (int j = 0; j < k; ++j) {
          acc += static_cast<double>(a[i * a_stride + static_cast<std::size_t>(r) * k + j]) *
                 b[i * b_stride + static_cast<std::size_t>(j) * n + c];
        }
        out[(static_cast<std::size_t>(i) * m + r) * n + c] = acc;
      }
    }
  }
  return out;
}

void check_dense(std::mt19937& rng, int rows, int in_features, int out_features, bool with_bias, fk::Activation act) {
  SCOPED_TRACE("rows " + std::to_string(rows) + " in " + std::to_string(in_features) + " out " +
               std::to_string(out_features) + (with_bias ? " bias" : " no bias"));
  const auto in = random_floats(rng, static_cast<std::size_t>(rows) * in_features);
  const auto weight = random_floats(rng, static_cast<std::size_t>(out_features) * in_features);
  const auto bias = random_floats(rng, out_features);
  const float* bias_ptr = with_bias ? bias.data() : nullptr;
  std::vector<float> out(static_cast<std::size_t>(rows) * out_features, kNaN);
  fk::dense(rows, in_features, out_features, in.data(), weight.data(), bias_ptr, out.data(), act);
  ASSERT_TRUE(all_close(out, reference_dense(rows, in_features, out_features, in, weight, bias_ptr, act)));
  ASSERT_TRUE(std::all_of(out.begin(), out.end(), [&](float v) { return v >= act.min && v <= act.max; }));
}

TEST(DenseFloat, MatchesReferenceOnRandomShapes) {
  std::mt19937 rng(31);
  for (int t = 0; t < 300; ++t) {
    check_dense(rng, uniform(rng, 1, 6), uniform(rng, 1, 70), uniform(rng, 1, 40), t % 3 != 0, fk::no_activation());
  }
}

TEST(DenseFloat, SingleRowMatchesReference) {
  std::mt19937 rng(32);
  for (int t = 0; t < 50; ++t)
    check_dense(rng, 1, uniform(rng, 1, 300), uniform(rng, 1, 64), true, fk::no_activation());
}

TEST(DenseFloat, LargeLayersMatchReference) {
  std::mt19937 rng(33);
  check_dense(rng, 1, 1568, 128, true, fk::no_activation());
  check_dense(rng, 3, 1568, 128, true, fk::no_activation());
  check_dense(rng, 67, 129, 65, true, fk::no_activation());
}

TEST(DenseFloat, FusedActivationClampsEveryOutput) {
  std::mt19937 rng(34);
  const fk::Activation activations[] = {{0.0f, kInf}, {0.0f, 6.0f}, {-0.25f, 0.5f}, {-kInf, 0.0f}};
  for (const fk::Activation act : activations) {
    for (int t = 0; t < 30; ++t)
      check_dense(rng, uniform(rng, 1, 4), uniform(rng, 1, 50), uniform(rng, 1, 30), true, act);
  }
}

void check_matmul(std::mt19937& rng, int batch, int m, int k, int n, bool broadcast_a, bool broadcast_b, int gap) {
  SCOPED_TRACE("batch " + std::to_string(batch) + " m " + std::to_string(m) + " k " + std::to_string(k) + " n " +
               std::to_string(n) + " broadcast " + std::to_string(broadcast_a) + std::to_string(broadcast_b) + " gap " +
               std::to_string(gap));
  const std::size_t a_stride = broadcast_a ? 0 : static_cast<std::size_t>(m) * k + gap;
  const std::size_t b_stride = broadcast_b ? 0 : static_cast<std::size_t>(k) * n + gap;
  const auto a = random_floats(rng, a_stride * (batch - 1) + static_cast<std::size_t>(m) * k);
  const auto b = random_floats(rng, b_stride * (batch - 1) + static_cast<std::size_t>(k) * n);
  std::vector<float> out(static_cast<std::size_t>(batch) * m * n, kNaN);
  fk::matmul(batch, m, k, n, a.data(), a_stride, b.data(), b_stride, out.data());
  ASSERT_TRUE(all_close(out, reference_matmul(batch, m, k, n, a, a_stride, b, b_stride)));
}

TEST(MatmulFloat, MatchesReferenceOnRandomShapes) {
  std::mt19937 rng(35);
  for (int t = 0; t < 300; ++t) {
    check_matmul(rng, uniform(rng, 1, 3), uniform(rng, 1, 20), uniform(rng, 1, 40), uniform(rng, 1, 20), false, false,
                 0);
  }
}

TEST(MatmulFloat, ZeroBatchStrideBroadcastsOneMatrix) {
  std::mt19937 rng(36);
  for (int t = 0; t < 100; ++t) {
    const bool broadcast_a = t % 2 == 0;
    check_matmul(rng, uniform(rng, 2, 4), uniform(rng, 1, 12), uniform(rng, 1, 20), uniform(rng, 1, 12), broadcast_a,
                 !broadcast_a, 0);
  }
}

TEST(MatmulFloat, BatchStrideMayExceedMatrixSize) {
  std::mt19937 rng(37);
  for (int t = 0; t < 50; ++t) {
    check_matmul(rng, uniform(rng, 2, 3), uniform(rng, 1, 12), uniform(rng, 1, 20), uniform(rng, 1, 12), false, false,
                 uniform(rng, 1, 7));
  }
}

TEST(MatmulFloat, LargeMatricesMatchReference) {
  std::mt19937 rng(38);
  check_matmul(rng, 2, 64, 96, 80, false, false, 0);
  check_matmul(rng, 3, 49, 128, 49, false, true, 0);
}

}  // namespace
