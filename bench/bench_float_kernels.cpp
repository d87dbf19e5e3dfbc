// Float kernel throughput on representative small-CNN layers. Reports MACs/s and FLOP/s
// (2 per MAC) per shape; run with --benchmark_min_time=... for steadier numbers.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <random>
#include <vector>

#include "exec/float/kernels.hpp"

namespace fk = tinyq::fk;

namespace {

std::vector<float> random_floats(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

void report_macs(benchmark::State& state, double macs) {
  state.counters["MACs/s"] = benchmark::Counter(macs, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * macs, benchmark::Counter::kIsIterationInvariantRate);
}

// Square NHWC conv, "same" padding, batch 1.
void bench_conv(benchmark::State& state, int hw, int in_c, int out_c, int kernel, int stride, int groups) {
  const int pad = kernel / 2;
  const int out_hw = (hw + 2 * pad - kernel) / stride + 1;
  const fk::Conv2dShape s{.batch = 1,
                          .in_h = hw,
                          .in_w = hw,
                          .in_c = in_c,
                          .out_h = out_hw,
                          .out_w = out_hw,
                          .out_c = out_c,
                          .kernel_h = kernel,
                          .kernel_w = kernel,
                          .stride_h = stride,
                          .stride_w = stride,
                          .dilation_h = 1,
                          .dilation_w = 1,
                          .pad_top = pad,
                          .pad_left = pad,
                          .groups = groups};
  const auto in = random_floats(static_cast<std::size_t>(hw) * hw * in_c, 1);
  const auto weight = random_floats(static_cast<std::size_t>(out_c) * kernel * kernel * (in_c / groups), 2);
  const auto bias = random_floats(out_c, 3);
  std::vector<float> out(static_cast<std::size_t>(out_hw) * out_hw * out_c);
  std::vector<float> scratch(fk::conv2d_scratch_floats(s));
  const fk::Activation relu{0.0f, 6.0f};
  for (auto _ : state) {
    fk::conv2d(s, in.data(), weight.data(), bias.data(), out.data(), scratch.data(), relu);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  report_macs(state, static_cast<double>(out_hw) * out_hw * out_c * kernel * kernel * (in_c / groups));
}

void bench_dense(benchmark::State& state, int rows, int in_features, int out_features) {
  const auto in = random_floats(static_cast<std::size_t>(rows) * in_features, 1);
  const auto weight = random_floats(static_cast<std::size_t>(out_features) * in_features, 2);
  const auto bias = random_floats(out_features, 3);
  std::vector<float> out(static_cast<std::size_t>(rows) * out_features);
  for (auto _ : state) {
    fk::dense(rows, in_features, out_features, in.data(), weight.data(), bias.data(), out.data(), fk::no_activation());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  report_macs(state, static_cast<double>(rows) * in_features * out_features);
}

void bench_max_pool(benchmark::State& state, int hw, int channels) {
  const int out_hw = hw / 2;
  const fk::Pool2dShape s{.batch = 1,
                          .in_h = hw,
                          .in_w = hw,
                          .channels = channels,
                          .out_h = out_hw,
                          .out_w = out_hw,
                          .kernel_h = 2,
                          .kernel_w = 2,
                          .stride_h = 2,
                          .stride_w = 2,
                          .dilation_h = 1,
                          .dilation_w = 1,
                          .pad_top = 0,
                          .pad_left = 0,
                          .pad_bottom = 0,
                          .pad_right = 0};
  const auto in = random_floats(static_cast<std::size_t>(hw) * hw * channels, 1);
  std::vector<float> out(static_cast<std::size_t>(out_hw) * out_hw * channels);
  for (auto _ : state) {
    fk::max_pool2d(s, in.data(), out.data(), fk::no_activation());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * hw * hw * channels * sizeof(float));
}

BENCHMARK_CAPTURE(bench_conv, conv3x3_28x28x1_to_16, 28, 1, 16, 3, 1, 1);
BENCHMARK_CAPTURE(bench_conv, conv3x3_14x14x16_to_32, 14, 16, 32, 3, 1, 1);
BENCHMARK_CAPTURE(bench_conv, depthwise3x3_14x14x32, 14, 32, 32, 3, 1, 32);
BENCHMARK_CAPTURE(bench_conv, pointwise_14x14x32_to_64, 14, 32, 64, 1, 1, 1);
BENCHMARK_CAPTURE(bench_conv, conv3x3_s2_28x28x16_to_32_grouped4, 28, 16, 32, 3, 2, 4);
BENCHMARK_CAPTURE(bench_dense, dense_1568_to_128, 1, 1568, 128);
BENCHMARK_CAPTURE(bench_dense, dense_8x1568_to_128, 8, 1568, 128);
BENCHMARK_CAPTURE(bench_max_pool, maxpool2x2_28x28x16, 28, 16);

}  // namespace

BENCHMARK_MAIN();
