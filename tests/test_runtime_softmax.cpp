// softmax_s8: bit-exact against the documented integer formula, and within one output LSB
// of the real softmax.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::Int128;
using tinyq_test::Random;
using tinyq_test::same_bytes;

namespace {

// exp_table[d] = round(2^16 * exp(-s_in * d)), as the host builds it.
std::vector<std::int32_t> exp_table(double s_in) {
  std::vector<std::int32_t> t(256);
  for (int d = 0; d < 256; ++d) t[d] = static_cast<std::int32_t>(std::lround(65536.0 * std::exp(-s_in * d)));
  return t;
}

// The definition: out = clamp(round_half_up(256 * e / sum) - 128), computed as the exact
// fraction floor((512 e + sum) / (2 sum)).
std::vector<std::int8_t> reference_softmax(const std::vector<std::int32_t>& table, int rows, int depth,
                                           const std::vector<std::int8_t>& in) {
  std::vector<std::int8_t> out;
  for (int r = 0; r < rows; ++r) {
    const auto first = in.begin() + r * depth;
    const int max = *std::max_element(first, first + depth);
    Int128 sum = 0;
    for (int i = 0; i < depth; ++i) sum += table[max - first[i]];
    for (int i = 0; i < depth; ++i) {
      const Int128 e = table[max - first[i]];
      const auto p256 = static_cast<std::int64_t>((512 * e + sum) / (2 * sum));
      out.push_back(static_cast<std::int8_t>(std::clamp<std::int64_t>(p256 - 128, -128, 127)));
    }
  }
  return out;
}

std::vector<std::int8_t> run(const std::vector<std::int32_t>& table, int rows, int depth,
                             const std::vector<std::int8_t>& in) {
  std::vector<std::int8_t> out(in.size(), 0x55);
  rt::softmax_s8(table.data(), rows, depth, in.data(), out.data());
  return out;
}

TEST(RuntimeSoftmax, MatchesTheIntegerDefinitionForRandomScalesAndRows) {
  Random rng(600);
  for (int i = 0; i < 1000; ++i) {
    const int rows = rng.uniform(1, 4), depth = rng.pick({1, 2, 3, 10, 17, 100, 1000});
    const double s_in = std::exp(rng.real(std::log(0.001), std::log(1.0)));
    const auto table = exp_table(s_in);
    const auto in = rng.activations(static_cast<std::size_t>(rows * depth));
    ASSERT_TRUE(same_bytes(run(table, rows, depth, in), reference_softmax(table, rows, depth, in)))
        << "s_in " << s_in << " depth " << depth;
  }
}

TEST(RuntimeSoftmax, MatchesTheIntegerDefinitionForArbitraryTables) {
  // The kernel must not assume a monotone table: any entries in [0, 2^16] with entry 0 > 0.
  Random rng(601);
  for (int i = 0; i < 500; ++i) {
    std::vector<std::int32_t> table(256);
    table[0] = rng.uniform(1, 65536);
    for (int d = 1; d < 256; ++d) table[d] = rng.uniform(0, 65536);
    const int rows = rng.uniform(1, 3), depth = rng.pick({1, 2, 5, 64, 300});
    const auto in = rng.int8s(static_cast<std::size_t>(rows * depth));
    ASSERT_TRUE(same_bytes(run(table, rows, depth, in), reference_softmax(table, rows, depth, in))) << "case " << i;
  }
}

TEST(RuntimeSoftmax, IsWithinOneLsbOfTheRealSoftmax) {
  Random rng(602);
  int exact = 0, total = 0;
  for (int i = 0; i < 500; ++i) {
    const int depth = rng.pick({2, 5, 10, 64, 1000});
    const double s_in = std::exp(rng.real(std::log(0.005), std::log(0.5)));
    const auto table = exp_table(s_in);
    const auto in = rng.int8s(static_cast<std::size_t>(depth));
    const auto got = run(table, 1, depth, in);
    double sum = 0;
    for (std::int8_t q : in) sum += std::exp(s_in * q);
    for (int j = 0; j < depth; ++j) {
      const double want = std::clamp(std::round(256.0 * std::exp(s_in * in[j]) / sum) - 128, -128.0, 127.0);
      ASSERT_LE(std::abs(got[j] - want), 1.0) << "s_in " << s_in << " depth " << depth << " q " << int(in[j]);
      exact += got[j] == want;
      ++total;
    }
  }
  EXPECT_GT(exact, total * 95 / 100);
}

TEST(RuntimeSoftmax, OneElementRowSaturatesAt127) {
  const auto table = exp_table(0.1);
  EXPECT_TRUE(same_bytes(run(table, 3, 1, {-128, 0, 127}), {127, 127, 127}));
}

TEST(RuntimeSoftmax, EqualValuesShareTheProbabilityEvenly) {
  const auto table = exp_table(0.05);
  // 4 equal values: 256 / 4 = 64 -> -64;  3: 85.33 -> 85 -> -43;  512: 0.5 rounds up to 1.
  EXPECT_TRUE(same_bytes(run(table, 1, 4, std::vector<std::int8_t>(4, 9)), std::vector<std::int8_t>(4, -64)));
  EXPECT_TRUE(same_bytes(run(table, 1, 3, std::vector<std::int8_t>(3, -9)), std::vector<std::int8_t>(3, -43)));
  EXPECT_TRUE(same_bytes(run(table, 1, 512, std::vector<std::int8_t>(512, 0)), std::vector<std::int8_t>(512, -127)));
}

TEST(RuntimeSoftmax, LongestAllowedRowDoesNotOverflowTheSum) {
  // depth 65535 at the maximum: sum = 65535 * 2^16 < 2^32.
  const auto table = exp_table(0.1);
  std::vector<std::int8_t> in(65535, 127);
  EXPECT_TRUE(same_bytes(run(table, 1, 65535, in), reference_softmax(table, 1, 65535, in)));
  in.assign(65535, -128);
  in[7] = 127;  // one clear winner: exp(-25.5) of the others is 0 in the table
  const auto got = run(table, 1, 65535, in);
  EXPECT_EQ(got[7], 127);
  EXPECT_TRUE(same_bytes(got, reference_softmax(table, 1, 65535, in)));
}

}  // namespace
