// TFLite's int8 arithmetic in tinyq's runtime (rt::requantize_tflite, the kRoundTflite modes of
// add and average pooling, rt::softmax_s8_tflite, tinyq/tflite_fixedpoint.hpp) against the
// transcription of TFLite's and gemmlowp's own code in test_tflite_prequantized_reference.hpp:
// randomized inputs with the hard cases forced in (exact ties at either rounding, negative
// values, multipliers 0, 2^30 and 2^31 - 1, shifts -31 and 30, sums that cancel).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "test_runtime_reference.hpp"
#include "test_tflite_prequantized_reference.hpp"
#include "tinyq/kernels.hpp"
#include "tinyq/tflite_fixedpoint.hpp"

namespace rt = tinyq::rt;
namespace fp = tinyq::rt::tflite_fp;
using tinyq_test::Random;
using tinyq_test::same_bytes;

namespace {

// A multiplier as TFLite's QuantizeMultiplier makes them, with the special values forced in.
std::int32_t tflite_multiplier(Random& rng) {
  switch (rng.uniform(0, 9)) {
    case 0: return 0;
    case 1: return 1 << 30;
    case 2: return 0x7fffffff;
    case 3: return rng.pick({3 << 29, 5 << 28, 7 << 28, 9 << 27});  // few low bits: products tie often
    default: return rng.uniform(1 << 30, 0x7fffffff);
  }
}

// An accumulator for `shift`: anything in int32 for shift <= 0; for shift > 0 only values
// with acc * 2^shift within int32, as TFLite itself requires.
std::int32_t accumulator(Random& rng, int shift) {
  const std::int64_t bound = shift > 0 ? ((std::int64_t{1} << 31) >> shift) - 1 : (std::int64_t{1} << 31) - 1;
  switch (rng.uniform(0, 5)) {
    case 0: return std::int32_t(rng.uniform64(-bound, bound));
    case 1: return std::int32_t(rng.pick<std::int64_t>({-bound, bound, -1, 0, 1, shift > 0 ? -bound : INT32_MIN}));
    default:
      return std::int32_t(
          rng.uniform64(-std::min<std::int64_t>(bound, 1 << 20), std::min<std::int64_t>(bound, 1 << 20)));
  }
}

TEST(TfliteArithmetic, RequantizeTfliteIsMultiplyByQuantizedMultiplier) {
  Random rng(101);
  std::int64_t ties_first = 0, ties_second = 0, negative = 0;
  for (int i = 0; i < 2'000'000; ++i) {
    const int shift = rng.chance(0.1) ? rng.pick({-31, -30, -1, 0, 1, 30}) : rng.uniform(-31, 30);
    const std::int32_t m = tflite_multiplier(rng);
    const std::int32_t acc = accumulator(rng, shift);
    const std::int32_t want = tflite_ref::MultiplyByQuantizedMultiplier(acc, m, shift);
    ASSERT_EQ(rt::requantize_tflite(acc, m, shift), want) << "acc " << acc << " m " << m << " shift " << shift;
    ASSERT_EQ(rt::requantize_rounding(acc, m, shift, rt::kRoundTflite), want);
    // Count the cases that matter: a tie at the high multiply, at the division, a negative result.
    const std::int64_t p = std::int64_t(acc) * m;
    ties_first += ((p + (std::int64_t{1} << 30)) & ((std::int64_t{1} << 31) - 1)) == 0;
    const std::int32_t y = tflite_ref::SaturatingRoundingDoublingHighMul(acc, m);
    ties_second += shift < 0 && (y & ((std::int64_t{1} << -shift) - 1)) == (std::int64_t{1} << (-shift - 1));
    negative += want < 0;
  }
  EXPECT_GT(ties_first, 1000);
  EXPECT_GT(ties_second, 1000);
  EXPECT_GT(negative, 100000);
}

TEST(TfliteArithmetic, RequantizeTfliteOnEveryTieOfSmallMultipliers) {
  // Exhaustive over small accumulators and the multipliers whose products tie most often.
  for (std::int32_t m : {1 << 30, 3 << 29, 5 << 28, 0x7fffffff, 0})
    for (int shift = -31; shift <= 4; ++shift)
      for (std::int32_t acc = -4096; acc <= 4096; ++acc)
        ASSERT_EQ(rt::requantize_tflite(acc, m, shift), tflite_ref::MultiplyByQuantizedMultiplier(acc, m, shift))
            << acc << " " << m << " " << shift;
}

TEST(TfliteArithmetic, SingleRoundingIsUnchangedAndDiffersFromTflitesOnTies) {
  // kRoundSingle stays tinyq's requantize(); the two roundings do differ (else this work would
  // be moot): -1.5 * 2^-r style ties go away from zero in TFLite, up in tinyq.
  EXPECT_EQ(rt::requantize_rounding(-3, 1 << 30, -1, rt::kRoundSingle), rt::requantize(-3, 1 << 30, -1));
  EXPECT_EQ(rt::requantize(-3, 1 << 30, -1), -1);         // -0.75 -> -1 either way
  EXPECT_EQ(rt::requantize(-6, 1 << 30, -2), -1);         // -0.75
  EXPECT_EQ(rt::requantize(-2, 1 << 30, -1), 0);          // -0.5: half up
  EXPECT_EQ(rt::requantize_tflite(-2, 1 << 30, -1), -1);  // -0.5: away from zero
  Random rng(7);
  int differ = 0;
  for (int i = 0; i < 100000; ++i) {
    const int shift = rng.uniform(-20, -1);
    const std::int32_t m = tflite_multiplier(rng), acc = accumulator(rng, shift);
    differ += rt::requantize(acc, m, shift) != rt::requantize_tflite(acc, m, shift);
  }
  EXPECT_GT(differ, 100);
}

TEST(TfliteArithmetic, RequantChannelHonoursItsRounding) {
  const std::int32_t m[2] = {1 << 30, 1 << 30}, s[2] = {-1, -2};
  rt::Requant r{m, s, 2};
  EXPECT_EQ(r.rounding, rt::kRoundSingle);
  EXPECT_EQ(rt::requantize_channel(-2, r, 0), 0);
  EXPECT_EQ(rt::requantize_channel(-4, r, 1), 0);
  r.rounding = rt::kRoundTflite;
  EXPECT_EQ(rt::requantize_channel(-2, r, 0), -1);
  EXPECT_EQ(rt::requantize_channel(-4, r, 1), -1);
}

TEST(TfliteArithmetic, FixedPointPrimitivesAreGemmlowps) {
  Random rng(3);
  for (int i = 0; i < 1'000'000; ++i) {
    const std::int32_t a = rng.chance(0.01) ? INT32_MIN : std::int32_t(rng.uniform64(INT32_MIN, INT32_MAX));
    const std::int32_t b = rng.chance(0.01) ? INT32_MIN : std::int32_t(rng.uniform64(INT32_MIN, INT32_MAX));
    ASSERT_EQ(fp::srdhm(a, b), tflite_ref::SaturatingRoundingDoublingHighMul(a, b)) << a << " " << b;
    const int e = rng.uniform(0, 31);
    ASSERT_EQ(fp::rounding_divide_by_pot(a, e), tflite_ref::RoundingDivideByPOT(a, e)) << a << " " << e;
    ASSERT_EQ(fp::rounding_half_sum(a, b), tflite_ref::RoundingHalfSum(a, b));
  }
  EXPECT_EQ(fp::srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
  for (std::int32_t x : {INT32_MIN, INT32_MIN + 1, -(1 << 25), -1, 0, 1, 1 << 25, INT32_MAX}) {
    EXPECT_EQ(fp::saturating_shift_left(x, 1), tflite_ref::SaturatingRoundingMultiplyByPOT<1>(x));
    EXPECT_EQ(fp::saturating_shift_left(x, 2), tflite_ref::SaturatingRoundingMultiplyByPOT<2>(x));
    EXPECT_EQ(fp::saturating_shift_left(x, 5), tflite_ref::SaturatingRoundingMultiplyByPOT<5>(x));
  }
}

TEST(TfliteArithmetic, ExpOnNegativeValuesIsGemmlowpsAndCloseToExp) {
  Random rng(5);
  for (int i = 0; i < 300000; ++i) {
    // Q5.26 arguments in [-32, 0], the softmax's range, with 0 and the ends forced in.
    const std::int32_t a = i < 3 ? std::int32_t(std::vector<std::int64_t>{0, -1, INT32_MIN + 1}[std::size_t(i)])
                                 : -std::int32_t(rng.uniform64(0, INT32_MAX));
    const std::int32_t got = fp::exp_on_negative_values_q5_26(a);
    ASSERT_EQ(got, tflite_ref::exp_on_negative_values(tflite_ref::FixedPoint<5>::FromRaw(a)).raw) << a;
    const double x = std::ldexp(double(a), -26);
    ASSERT_NEAR(std::ldexp(double(got), -31), std::exp(x), 5e-7) << x;  // gemmlowp: about 2.3e-7 at worst
  }
}

TEST(TfliteArithmetic, ReciprocalIsGetReciprocal) {
  Random rng(9);
  for (int i = 0; i < 300000; ++i) {
    // Softmax sums: Q12.19 from one exp(0) (2^19) up to 511 of them.
    const std::int32_t x = std::int32_t(rng.uniform64(1 << 19, std::int64_t(511) << 19));
    int want_bits = 0;
    std::int32_t bits = 0;
    const std::int32_t want = tflite_ref::GetReciprocal(x, 12, &want_bits);
    ASSERT_EQ(fp::reciprocal(x, 12, &bits), want) << x;
    ASSERT_EQ(bits, want_bits);
    // 1 / (x / 2^19) = reciprocal * 2^-31 * 2^-bits.
    ASSERT_NEAR(std::ldexp(double(want), -31 - want_bits), std::ldexp(1.0, 19) / x, 1e-6 * std::ldexp(1.0, 19) / x);
  }
}

// The exp table of rt::softmax_s8_tflite, as kernels.hpp defines it.
std::vector<std::int32_t> softmax_table(const tflite_ref::SoftmaxParams& p) {
  std::vector<std::int32_t> table(256);
  for (int d = 0; d < 256; ++d) {
    if (-d < p.diff_min) continue;
    const std::int32_t rescaled = fp::srdhm(-d * (1 << p.input_left_shift), p.input_multiplier);
    table[std::size_t(d)] = fp::exp_on_negative_values_q5_26(rescaled);
  }
  return table;
}

TEST(TfliteArithmetic, SoftmaxIsTflitesReferenceSoftmax) {
  Random rng(11);
  int rows_checked = 0;
  for (int c = 0; c < 3000; ++c) {
    // Input scales from tiny (every exp close to 1) to huge (one-hot, diff_min cuts in).
    const float scale = float(std::exp(rng.real(std::log(1e-3), std::log(30.0))));
    const float beta = rng.chance(0.8) ? 1.0f : float(rng.real(0.1, 3.0));
    const tflite_ref::SoftmaxParams params = tflite_ref::softmax_params(beta, scale);
    const std::vector<std::int32_t> table = softmax_table(params);
    ASSERT_EQ(table[0], INT32_MAX);
    const int depth = rng.chance(0.1) ? rng.pick({1, 2, 511}) : rng.uniform(1, 200);
    const int rows = rng.uniform(1, 3);
    std::vector<std::int8_t> in;
    switch (rng.uniform(0, 3)) {
      case 0: in = rng.int8s(std::size_t(rows * depth), 100, 127); break;  // close values
      case 1: in = std::vector<std::int8_t>(std::size_t(rows * depth), std::int8_t(rng.uniform(-128, 127))); break;
      default: in = rng.int8s(std::size_t(rows * depth)); break;
    }
    std::vector<std::int8_t> got(in.size()), want(in.size());
    rt::softmax_s8_tflite(table.data(), rows, depth, in.data(), got.data());
    for (int r = 0; r < rows; ++r)
      tflite_ref::Softmax(params.input_multiplier, params.input_left_shift, params.diff_min, in.data() + r * depth,
                          depth, want.data() + r * depth);
    ASSERT_TRUE(same_bytes(got, want)) << "scale " << scale << " beta " << beta << " depth " << depth;
    rows_checked += rows;
  }
  EXPECT_GT(rows_checked, 3000);
}

TEST(TfliteArithmetic, AveragePoolRoundsAsTflite) {
  Random rng(13);
  for (int c = 0; c < 2000; ++c) {
    rt::AvgPoolParams ap{};
    rt::PoolParams& p = ap.pool;
    p.batch = rng.uniform(1, 2);
    p.in_h = rng.uniform(1, 9);
    p.in_w = rng.uniform(1, 9);
    p.channels = rng.uniform(1, 13);
    const bool global = rng.chance(0.3);
    p.kernel_h = global ? p.in_h : rng.uniform(1, 4);
    p.kernel_w = global ? p.in_w : rng.uniform(1, 4);
    p.stride_h = rng.uniform(1, 3);
    p.stride_w = rng.uniform(1, 3);
    // TFLite's SAME padding: total = max((out - 1) * stride + kernel - in, 0), top gets half.
    const bool same = !global && rng.chance(0.5);
    p.out_h = same ? (p.in_h + p.stride_h - 1) / p.stride_h : (p.in_h - p.kernel_h) / p.stride_h + 1;
    p.out_w = same ? (p.in_w + p.stride_w - 1) / p.stride_w : (p.in_w - p.kernel_w) / p.stride_w + 1;
    if (p.out_h < 1 || p.out_w < 1) continue;
    const int total_h = std::max((p.out_h - 1) * p.stride_h + p.kernel_h - p.in_h, 0);
    const int total_w = std::max((p.out_w - 1) * p.stride_w + p.kernel_w - p.in_w, 0);
    p.pad_top = same ? total_h / 2 : 0;
    p.pad_left = same ? total_w / 2 : 0;
    p.pad_bottom = same ? total_h - total_h / 2 : 0;
    p.pad_right = same ? total_w - total_w / 2 : 0;
    std::tie(p.act_min, p.act_max) = rng.activation_range(0);
    ap.rounding = rt::kRoundTflite;
    const std::vector<std::int8_t> in = rng.chance(0.3)
                                            ? rng.int8s(std::size_t(p.batch * p.in_h * p.in_w * p.channels), -2, 1)
                                            : rng.int8s(std::size_t(p.batch * p.in_h * p.in_w * p.channels));
    std::vector<std::int8_t> got(std::size_t(p.batch * p.out_h * p.out_w * p.channels));
    rt::avg_pool2d_s8(ap, in.data(), got.data());
    // reference_integer_ops::AveragePool: raw sums over the taps inside the image.
    std::vector<std::int8_t> want;
    for (int b = 0; b < p.batch; ++b)
      for (int oy = 0; oy < p.out_h; ++oy)
        for (int ox = 0; ox < p.out_w; ++ox)
          for (int ch = 0; ch < p.channels; ++ch) {
            const int y0 = oy * p.stride_h - p.pad_top, x0 = ox * p.stride_w - p.pad_left;
            std::int32_t acc = 0;
            int count = 0;
            for (int fy = std::max(0, -y0); fy < std::min(p.kernel_h, p.in_h - y0); ++fy)
              for (int fx = std::max(0, -x0); fx < std::min(p.kernel_w, p.in_w - x0); ++fx) {
                acc += in[std::size_t(((b * p.in_h + y0 + fy) * p.in_w + x0 + fx) * p.channels + ch)];
                ++count;
              }
            want.push_back(tflite_ref::AveragePoolWindow(acc, count, p.act_min, p.act_max));
          }
    ASSERT_TRUE(same_bytes(got, want)) << "case " << c;
  }
}

TEST(TfliteArithmetic, AddIsTflitesAddFunc) {
  Random rng(17);
  for (int c = 0; c < 3000; ++c) {
    // Scales as TFLite's converter leaves them: the same, close, or far apart.
    const float s1 = float(std::exp(rng.real(std::log(1e-3), std::log(1.0))));
    const float s2 = rng.chance(0.2) ? s1 : float(s1 * std::exp(rng.real(std::log(0.05), std::log(20.0))));
    const float s_out = float((s1 + s2) * std::exp(rng.real(std::log(0.3), std::log(3.0))));
    const std::int32_t z1 = rng.uniform(-128, 127), z2 = rng.uniform(-128, 127), z_out = rng.uniform(-128, 127);
    const bool relu = rng.chance(0.5);
    const tflite_ref::AddParams t =
        tflite_ref::add_params(s1, z1, s2, z2, s_out, z_out, relu ? std::max(-128, z_out) : -128, 127);
    rt::AddParams p{.a_offset = t.input1_offset,
                    .b_offset = t.input2_offset,
                    .output_offset = t.output_offset,
                    .left_shift = t.left_shift,
                    .a_multiplier = t.input1_multiplier,
                    .a_shift = t.input1_shift,
                    .b_multiplier = t.input2_multiplier,
                    .b_shift = t.input2_shift,
                    .output_multiplier = t.output_multiplier,
                    .output_shift = t.output_shift,
                    .act_min = t.act_min,
                    .act_max = t.act_max,
                    .rounding = rt::kRoundTflite};
    // Every operand pair once.
    std::vector<std::int8_t> a(256 * 256), b(256 * 256), got(256 * 256), want(256 * 256);
    for (int i = 0; i < 256 * 256; ++i) {
      a[std::size_t(i)] = std::int8_t((i >> 8) - 128);
      b[std::size_t(i)] = std::int8_t((i & 255) - 128);
      want[std::size_t(i)] = tflite_ref::AddFunc(a[std::size_t(i)], b[std::size_t(i)], t);
    }
    const rt::BroadcastShape flat{{1, 1, 1, 256 * 256}, {0, 0, 0, 1}, {0, 0, 0, 1}};
    rt::add_s8(p, flat, a.data(), b.data(), got.data());
    ASSERT_TRUE(same_bytes(got, want)) << "scales " << s1 << " " << s2 << " " << s_out;
  }
}

}  // namespace
