// dense_s8, bit-exact against a plain nested-loop reference.
#include <cstdint>
#include <vector>

#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::Coverage;
using tinyq_test::Random;
using tinyq_test::ref_output;
using tinyq_test::ref_requantize;
using tinyq_test::same_bytes;

namespace {

struct DenseCase {
  rt::DenseParams p{};
  std::vector<std::int8_t> input, weights;
  std::vector<std::int32_t> bias, multiplier, shift;

  std::string describe() const {
    std::ostringstream o;
    o << "rows " << p.rows << " in " << p.in_features << " out " << p.out_features << " offsets " << p.input_offset
      << "," << p.output_offset << " act [" << p.act_min << "," << p.act_max << "] requant " << multiplier.size();
    return o.str();
  }
};

DenseCase random_case(Random& rng) {
  DenseCase c;
  rt::DenseParams& p = c.p;
  p.rows = rng.uniform(1, 4);
  p.in_features = rng.chance(0.2) ? 1 : rng.pick({2, 3, 7, 16, 33, 100, 257});
  p.out_features = rng.pick({1, 3, 5, 10, 17});
  p.input_offset = rng.input_offset();
  p.output_offset = rng.output_offset();
  const auto range = rng.activation_range(p.output_offset);
  p.act_min = range.first;
  p.act_max = range.second;
  c.input = rng.activations(static_cast<std::size_t>(p.rows * p.in_features));
  c.weights = rng.weights(static_cast<std::size_t>(p.out_features * p.in_features));
  std::int64_t bias_bound = 0;
  if (rng.chance(0.8)) {
    bias_bound = rng.chance(0.8) ? 1 << 14 : 1 << 24;
    for (int o = 0; o < p.out_features; ++o)
      c.bias.push_back(static_cast<std::int32_t>(rng.uniform64(-bias_bound, bias_bound)));
  }
  rng.requant(p.out_features, bias_bound + std::int64_t{p.in_features} * 255 * 127, c.multiplier, c.shift);
  p.requant = tinyq_test::make_requant(c.multiplier, c.shift);
  return c;
}

std::vector<std::int8_t> reference_dense(const DenseCase& c) {
  const rt::DenseParams& p = c.p;
  std::vector<std::int8_t> out;
  for (int r = 0; r < p.rows; ++r)
    for (int o = 0; o < p.out_features; ++o) {
      std::int64_t acc = c.bias.empty() ? 0 : c.bias[o];
      for (int i = 0; i < p.in_features; ++i)
        acc += static_cast<std::int64_t>(c.input[r * p.in_features + i] + p.input_offset) *
               c.weights[o * p.in_features + i];
      out.push_back(ref_output(ref_requantize(acc, p.requant, o), p.output_offset, p.act_min, p.act_max));
    }
  return out;
}

std::vector<std::int8_t> run(const DenseCase& c) {
  std::vector<std::int8_t> out(static_cast<std::size_t>(c.p.rows * c.p.out_features), 0x55);
  rt::dense_s8(c.p, c.input.data(), c.weights.data(), c.bias.empty() ? nullptr : c.bias.data(), out.data());
  return out;
}

TEST(RuntimeDense, MatchesReferenceOverRandomShapesAndRequantization) {
  Random rng(200);
  Coverage coverage;
  for (int i = 0; i < 1000; ++i) {
    const DenseCase c = random_case(rng);
    SCOPED_TRACE(c.describe());
    const std::vector<std::int8_t> got = run(c);
    ASSERT_TRUE(same_bytes(got, reference_dense(c)));
    coverage.add(got, c.p.act_min, c.p.act_max);
  }
  EXPECT_GT(coverage.at_min, 0);
  EXPECT_GT(coverage.at_max, 0);
  EXPECT_GT(coverage.inside, coverage.outputs / 10);
}

TEST(RuntimeDense, SaturatesWithExtremeOffsetsAndNarrowActivationRanges) {
  Random rng(201);
  for (int i = 0; i < 300; ++i) {
    DenseCase c = random_case(rng);
    c.p.input_offset = rng.pick({-127, 128});
    c.p.output_offset = rng.pick({-128, 127});
    c.p.act_min = rng.pick({-128, 0, 6});
    c.p.act_max = rng.pick({c.p.act_min, 6, 127});
    SCOPED_TRACE(c.describe());
    const std::vector<std::int8_t> got = run(c);
    ASSERT_TRUE(same_bytes(got, reference_dense(c)));
    for (std::int8_t v : got) ASSERT_TRUE(v >= c.p.act_min && v <= c.p.act_max);
  }
}

TEST(RuntimeDense, RowsAreIndependent) {
  Random rng(202);
  for (int i = 0; i < 100; ++i) {
    DenseCase c = random_case(rng);
    const std::vector<std::int8_t> all = run(c);
    const int rows = c.p.rows;
    const std::vector<std::int8_t> input = c.input;
    c.p.rows = 1;
    for (int r = 0; r < rows; ++r) {
      c.input.assign(input.begin() + r * c.p.in_features, input.begin() + (r + 1) * c.p.in_features);
      const std::vector<std::int8_t> one = run(c);
      ASSERT_TRUE(same_bytes(
          one, std::vector<std::int8_t>(all.begin() + r * c.p.out_features, all.begin() + (r + 1) * c.p.out_features)));
    }
  }
}

TEST(RuntimeDense, LargestAccumulatorTheHostAllowsIsExact) {
  // 2^16 inputs at 255 * 127 each plus bias: |acc| just under 2^31, still exact.
  DenseCase c;
  rt::DenseParams& p = c.p;
  p.rows = 1;
  p.in_features = 66000;
  p.out_features = 2;
  p.input_offset = 128;
  p.output_offset = 0;
  p.act_min = -128;
  p.act_max = 127;
  c.input.assign(static_cast<std::size_t>(p.in_features), 127);
  c.weights.assign(static_cast<std::size_t>(p.in_features), 127);
  c.weights.insert(c.weights.end(), static_cast<std::size_t>(p.in_features), -127);
  c.bias = {2000000, -2000000};
  c.multiplier = {1 << 30};
  c.shift = {-23};  // acc * 2^-24
  p.requant = tinyq_test::make_requant(c.multiplier, c.shift);
  const std::int64_t acc = std::int64_t{66000} * 255 * 127 + 2000000;
  ASSERT_LT(acc, std::int64_t{1} << 31);
  EXPECT_TRUE(same_bytes(run(c), reference_dense(c)));
  EXPECT_EQ(run(c)[0], ref_output(ref_requantize(acc, 1 << 30, -23), 0, -128, 127));
}

}  // namespace
