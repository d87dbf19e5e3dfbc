// layer_norm_s8: bit-exact against a separately written integer reference of the math in
// kernels.hpp, and within one output LSB of the real LayerNorm it approximates.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../runtime/src/integer_sqrt.hpp"  // internal helpers, checked directly below
#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::encode_multiplier;
using tinyq_test::floor_div_pow2;
using tinyq_test::Int128;
using tinyq_test::Random;
using tinyq_test::ref_output;
using tinyq_test::ref_requantize;
using tinyq_test::same_bytes;

namespace {

// A float LayerNorm and the integer parameters the host derives from it.
struct LayerNormCase {
  int rows = 1, depth = 1;
  double s_in = 0.05, z_in = 0, s_out = 0.05, epsilon = 1e-5;
  int z_out = 0, act_min = -128, act_max = 127;
  std::vector<double> gamma, beta;  // real, per element
  bool per_tensor_gamma = false, has_beta = true;
  std::vector<std::int8_t> input;

  // Host side (kernels.hpp): epsilon_q = round(2^16 N^2 eps / s_in^2), gamma_i / (2^7 s_out),
  // beta_q = round(2^8 beta_i / s_out).
  std::vector<std::int32_t> gamma_multiplier, gamma_shift, beta_q;
  rt::LayerNormParams params() {
    gamma_multiplier.clear();
    gamma_shift.clear();
    beta_q.clear();
    for (int i = 0; i < (per_tensor_gamma ? 1 : depth); ++i) {
      const auto m = encode_multiplier(gamma[i] / (128.0 * s_out));
      gamma_multiplier.push_back(m.multiplier);
      gamma_shift.push_back(m.shift);
    }
    for (int i = 0; i < depth; ++i) beta_q.push_back(static_cast<std::int32_t>(std::llround(256.0 * beta[i] / s_out)));
    rt::LayerNormParams p{};
    p.rows = rows;
    p.depth = depth;
    const long double eps_q = std::ldexp(static_cast<long double>(depth) * depth * epsilon / (s_in * s_in), 16);
    p.epsilon_q = static_cast<std::int64_t>(std::min<long long>(std::llround(eps_q), 1LL << 61));
    p.gamma = tinyq_test::make_requant(gamma_multiplier, gamma_shift);
    p.beta_q = has_beta ? beta_q.data() : nullptr;
    p.output_offset = z_out;
    p.act_min = act_min;
    p.act_max = act_max;
    return p;
  }
};

// The integer math of kernels.hpp, written again: int64 / 128-bit sums, the normalising shift
// from the bit length, floor(sqrt) from long double corrected exactly, round(2^60 / s) as a
// fraction.
std::uint64_t exact_isqrt(std::uint64_t v) {
  auto s = static_cast<std::uint64_t>(std::sqrt(static_cast<long double>(v)));
  while (static_cast<Int128>(s) * s > v) --s;
  while (static_cast<Int128>(s + 1) * (s + 1) <= v) ++s;
  return s;
}

// 2^23 / sqrt(d) ~= multiplier * 2^(shift - 31), d in [1, 2^62).
struct RowMultiplier {
  std::int64_t multiplier = 0;
  int shift = 0;
};
RowMultiplier reference_inverse_sqrt(std::uint64_t d) {
  const int bits = 64 - __builtin_clzll(d);
  const int k = std::max(0, (61 - bits + 1) / 2);  // smallest k with bits + 2k >= 61
  const std::uint64_t scaled = d << (2 * k);
  EXPECT_GE(scaled, std::uint64_t{1} << 60);
  EXPECT_LT(scaled, std::uint64_t{1} << 62);
  const Int128 s = exact_isqrt(scaled);
  return {static_cast<std::int64_t>(((Int128{1} << 61) + s) / (2 * s)), k - 6};  // round half up of 2^60 / s
}

std::vector<std::int8_t> reference_layer_norm(const rt::LayerNormParams& p, const std::vector<std::int8_t>& in) {
  std::vector<std::int8_t> out;
  const std::int64_t n = p.depth;
  for (int r = 0; r < p.rows; ++r) {
    const std::int8_t* q = in.data() + r * p.depth;
    std::int64_t s1 = 0, s2 = 0;
    for (int i = 0; i < p.depth; ++i) {
      s1 += q[i];
      s2 += std::int64_t{q[i]} * q[i];
    }
    const std::int64_t d = (n * s2 - s1 * s1) * 65536 + p.epsilon_q;
    const RowMultiplier inv = d != 0 ? reference_inverse_sqrt(static_cast<std::uint64_t>(d)) : RowMultiplier{};
    const std::int64_t multiplier = inv.multiplier;
    const int shift = inv.shift;
    for (int i = 0; i < p.depth; ++i) {
      const std::int64_t a = n * q[i] - s1;
      const std::int64_t y = d == 0 ? 0 : ref_requantize(a, multiplier, shift);
      const std::int64_t t = ref_requantize(y, p.gamma, i);
      EXPECT_LT(std::llabs(t), std::int64_t{1} << 31) << "test parameters break the host guarantee";
      const std::int64_t beta = p.beta_q != nullptr ? p.beta_q[i] : 0;
      out.push_back(ref_output(static_cast<std::int64_t>(floor_div_pow2(t + beta + 128, 8)), p.output_offset, p.act_min,
                               p.act_max));
    }
  }
  return out;
}

// The real LayerNorm on the dequantized input, quantized once at the end.
std::vector<double> float_layer_norm(const LayerNormCase& c) {
  std::vector<double> out;
  for (int r = 0; r < c.rows; ++r) {
    long double mean = 0, var = 0;
    std::vector<long double> x;
    for (int i = 0; i < c.depth; ++i) x.push_back(c.s_in * (c.input[r * c.depth + i] - c.z_in));
    for (long double v : x) mean += v;
    mean /= c.depth;
    for (long double v : x) var += (v - mean) * (v - mean);
    var /= c.depth;
    for (int i = 0; i < c.depth; ++i) {
      const long double normalised = (x[i] - mean) / std::sqrt(var + c.epsilon);
      const long double beta = c.has_beta ? c.beta[i] : 0.0;
      const long double gamma = c.per_tensor_gamma ? c.gamma[0] : c.gamma[i];
      const long double real = c.z_out + (gamma * normalised + beta) / c.s_out;
      out.push_back(std::clamp<double>(std::round(static_cast<double>(real)), c.act_min, c.act_max));
    }
  }
  return out;
}

TEST(RuntimeLayerNorm, IntegerSquareRootIsTheExactFloor) {
  Random rng(710);
  const std::uint64_t edges[] = {
      0, 1, 2, 3, 4, 15, 16, 17, (std::uint64_t{1} << 62) - 1, std::uint64_t{1} << 62, ~std::uint64_t{0}};
  for (std::uint64_t v : edges) EXPECT_EQ(tinyq::rt::detail::isqrt_u64(v), exact_isqrt(v)) << v;
  for (int i = 0; i < 200000; ++i) {
    const int bits = rng.uniform(1, 64);
    const auto v = static_cast<std::uint64_t>(rng.uniform64(0, INT64_MAX)) >> (64 - bits);
    ASSERT_EQ(tinyq::rt::detail::isqrt_u64(v), exact_isqrt(v)) << v;
    const std::uint64_t r = exact_isqrt(v);  // perfect squares and their neighbours
    ASSERT_EQ(tinyq::rt::detail::isqrt_u64(r * r), r);
    if (r > 0) {
      ASSERT_EQ(tinyq::rt::detail::isqrt_u64(r * r - 1), r - 1);
    }
  }
}

TEST(RuntimeLayerNorm, RowMultiplierIsRoundedTwoPow60OverTheNormalisedRoot) {
  Random rng(711);
  for (int i = 0; i < 200000; ++i) {
    const int bits = rng.uniform(1, 62);
    std::uint64_t d = static_cast<std::uint64_t>(rng.uniform64(0, INT64_MAX)) >> (64 - bits);
    if (d == 0) d = 1;
    const RowMultiplier want = reference_inverse_sqrt(d);
    const tinyq::rt::detail::InverseSqrt got = tinyq::rt::detail::inverse_sqrt(d);
    ASSERT_EQ(got.multiplier, want.multiplier) << d;
    ASSERT_EQ(got.shift, want.shift) << d;
    ASSERT_GT(got.multiplier, 1 << 29);
    ASSERT_LE(got.multiplier, 1 << 30);
    // And it is 2^23 / sqrt(d) to within 2^-28 relative.
    const long double real = std::ldexp(static_cast<long double>(got.multiplier), got.shift - 31);
    ASSERT_NEAR(static_cast<double>(real * std::sqrt(static_cast<long double>(d)) / 8388608.0L), 1.0, 0x1p-28) << d;
  }
}

std::vector<std::int8_t> row_values(Random& rng, int depth) {
  switch (rng.uniform(0, 5)) {
    case 0: return std::vector<std::int8_t>(depth, static_cast<std::int8_t>(rng.uniform(-128, 127)));  // constant
    case 1: {  // a spread of a few LSB: the variance is comparable to epsilon
      const int centre = rng.uniform(-120, 120);
      return rng.int8s(static_cast<std::size_t>(depth), centre - rng.uniform(0, 2), centre + rng.uniform(0, 2));
    }
    case 2: {  // saturated extremes
      std::vector<std::int8_t> v(depth);
      for (auto& x : v) x = rng.chance(0.5) ? -128 : 127;
      return v;
    }
    default: return rng.int8s(static_cast<std::size_t>(depth));
  }
}

LayerNormCase random_case(Random& rng) {
  LayerNormCase c;
  c.rows = rng.uniform(1, 4);
  c.depth = rng.pick({1, 2, 3, 7, 16, 64, 100, 768});
  c.s_in = std::exp(rng.real(std::log(0.002), std::log(0.2)));
  c.z_in = rng.uniform(-128, 127);
  c.epsilon = rng.pick({1e-12, 1e-5, 1e-3, 1e-1});
  c.per_tensor_gamma = rng.chance(0.2);
  c.has_beta = rng.chance(0.8);
  double gamma_max = 0, beta_max = 0;
  for (int i = 0; i < c.depth; ++i) {
    c.gamma.push_back(rng.chance(0.05) ? 0.0 : rng.real(-2.0, 2.0));
    c.beta.push_back(rng.real(-1.0, 1.0));
    gamma_max = std::max(gamma_max, std::abs(c.gamma.back()));
    beta_max = std::max(beta_max, std::abs(c.beta.back()));
  }
  // Calibrated output range: typical normalised values reach about 1..4.
  c.s_out = std::max(1e-3, (gamma_max * rng.real(1.0, 4.0) + (c.has_beta ? beta_max : 0.0)) / 127.0);
  c.z_out = rng.output_offset();
  const auto range = rng.activation_range(c.z_out);
  c.act_min = range.first;
  c.act_max = range.second;
  for (int r = 0; r < c.rows; ++r) {
    const auto row = row_values(rng, c.depth);
    c.input.insert(c.input.end(), row.begin(), row.end());
  }
  return c;
}

std::vector<std::int8_t> run(const rt::LayerNormParams& p, const std::vector<std::int8_t>& in) {
  std::vector<std::int8_t> out(in.size(), 0x55);
  rt::layer_norm_s8(p, in.data(), out.data());
  return out;
}

TEST(RuntimeLayerNorm, MatchesTheIntegerReferenceBitForBit) {
  Random rng(700);
  for (int i = 0; i < 1500; ++i) {
    LayerNormCase c = random_case(rng);
    const rt::LayerNormParams p = c.params();
    ASSERT_TRUE(same_bytes(run(p, c.input), reference_layer_norm(p, c.input)))
        << "case " << i << " depth " << c.depth << " epsilon_q " << p.epsilon_q;
  }
}

TEST(RuntimeLayerNorm, IsWithinOneLsbOfTheFloatLayerNorm) {
  Random rng(701);
  std::int64_t exact = 0, total = 0;
  for (int i = 0; i < 1500; ++i) {
    LayerNormCase c = random_case(rng);
    const std::vector<std::int8_t> got = run(c.params(), c.input);
    const std::vector<double> want = float_layer_norm(c);
    for (std::size_t j = 0; j < got.size(); ++j) {
      ASSERT_LE(std::abs(got[j] - want[j]), 1.0)
          << "case " << i << " element " << j << " depth " << c.depth << " s_in " << c.s_in << " eps " << c.epsilon;
      exact += got[j] == want[j];
      ++total;
    }
  }
  EXPECT_GT(exact, total * 99 / 100);  // beta keeps 8 fraction bits: off-by-one only near ties
}

TEST(RuntimeLayerNorm, ConstantRowGivesBetaWithOrWithoutEpsilon) {
  LayerNormCase c;
  c.depth = 5;
  c.gamma.assign(5, 1.5);
  c.beta = {-0.5, -0.25, 0.0, 0.25, 0.5};
  c.s_out = 0.01;
  c.input.assign(5, 42);
  for (double epsilon : {0.0, 1e-5}) {
    c.epsilon = epsilon;
    const rt::LayerNormParams p = c.params();
    EXPECT_EQ(p.epsilon_q == 0, epsilon == 0.0);
    EXPECT_TRUE(same_bytes(run(p, c.input), {-50, -25, 0, 25, 50})) << "epsilon " << epsilon;
  }
}

TEST(RuntimeLayerNorm, TwoValuesNormaliseToPlusMinusOne) {
  // (x - mean) / std = +-1 for any two distinct values; gamma 1 at s_out 1/64 gives +-64.
  LayerNormCase c;
  c.depth = 2;
  c.gamma.assign(2, 1.0);
  c.beta.assign(2, 0.0);
  c.s_out = 1.0 / 64;
  c.epsilon = 0;
  c.input = {-100, 27};
  EXPECT_TRUE(same_bytes(run(c.params(), c.input), {-64, 64}));
  c.gamma.assign(2, -1.0);  // a negative gamma is a negative multiplier
  EXPECT_TRUE(same_bytes(run(c.params(), c.input), {64, -64}));
}

TEST(RuntimeLayerNorm, PerTensorGammaAndNullBetaMatchTheReference) {
  Random rng(702);
  for (int i = 0; i < 300; ++i) {
    LayerNormCase c = random_case(rng);
    c.per_tensor_gamma = true;
    c.has_beta = false;
    const rt::LayerNormParams p = c.params();
    ASSERT_TRUE(same_bytes(run(p, c.input), reference_layer_norm(p, c.input))) << "case " << i;
  }
}

TEST(RuntimeLayerNorm, LargestDepthAndEpsilonStayExact) {
  // depth 2^15 of alternating extremes: the largest variance; and the largest epsilon_q.
  LayerNormCase c;
  c.depth = 1 << 15;
  c.gamma.assign(static_cast<std::size_t>(c.depth), 1.0);
  c.beta.assign(static_cast<std::size_t>(c.depth), 0.0);
  c.s_in = 1.0;
  c.s_out = 1.0 / 100;
  c.epsilon = 0;
  for (int i = 0; i < c.depth; ++i) c.input.push_back(i % 2 == 0 ? -128 : 127);
  rt::LayerNormParams p = c.params();
  std::vector<std::int8_t> got = run(p, c.input);
  EXPECT_TRUE(same_bytes(got, reference_layer_norm(p, c.input)));
  EXPECT_EQ(got[0], -100);  // exactly +-1 standard deviation
  EXPECT_EQ(got[1], 100);
  p.epsilon_q = std::int64_t{1} << 61;
  got = run(p, c.input);
  EXPECT_TRUE(same_bytes(got, reference_layer_norm(p, c.input)));
}

TEST(RuntimeLayerNorm, ClampsToTheActivationRange) {
  Random rng(703);
  for (int i = 0; i < 300; ++i) {
    LayerNormCase c = random_case(rng);
    c.act_min = rng.pick({-128, -10, 0});
    c.act_max = rng.pick({c.act_min, 10, 127});
    c.z_out = rng.pick({-128, 127});
    const rt::LayerNormParams p = c.params();
    const std::vector<std::int8_t> got = run(p, c.input);
    ASSERT_TRUE(same_bytes(got, reference_layer_norm(p, c.input))) << "case " << i;
    for (std::int8_t v : got) ASSERT_TRUE(v >= c.act_min && v <= c.act_max);
  }
}

}  // namespace
