// requantize(): the single rounding every int8 kernel shares, against exact arithmetic.
#include <cmath>
#include <cstdint>
#include <limits>

#include "test_runtime_reference.hpp"
#include "tinyq/requantize.hpp"

namespace rt = tinyq::rt;
using tinyq_test::Int128;
using tinyq_test::ref_requantize;

namespace {

constexpr std::int32_t kHalf = 1 << 30;  // multiplier 2^30: m = 2^(shift - 1)

// The same value from long double: acc * multiplier is exact in its 64-bit mantissa and so
// is the scaling by a power of two; adding 1/2 stays exact (the bits span at most 64).
std::int64_t long_double_requantize(std::int32_t acc, std::int32_t multiplier, std::int32_t shift) {
  const long double exact = std::ldexp(static_cast<long double>(acc) * multiplier, shift - 31);
  return static_cast<std::int64_t>(std::floor(exact + 0.5L));
}

bool fits_int32(std::int64_t v) {
  return v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max();
}

TEST(RuntimeRequantize, MatchesExact128BitAndLongDoubleResultsForRandomValues) {
  tinyq_test::Random rng(20240611);
  int checked = 0;
  for (int i = 0; i < 2000000; ++i) {
    std::int32_t acc;
    switch (rng.uniform(0, 3)) {
      case 0: acc = rng.uniform(-300, 300); break;
      case 1: acc = rng.uniform(-(1 << 20), 1 << 20); break;
      default: acc = rng.uniform(std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max());
    }
    std::int32_t multiplier = rng.q31();
    if (rng.chance(0.3)) multiplier = -multiplier;
    const std::int32_t shift = rng.uniform(-31, 30);
    const std::int64_t want = ref_requantize(acc, multiplier, shift);
    if (!fits_int32(want)) continue;  // outside requantize's precondition
    ++checked;
    ASSERT_EQ(rt::requantize(acc, multiplier, shift), want) << acc << " * " << multiplier << " shift " << shift;
    ASSERT_EQ(long_double_requantize(acc, multiplier, shift), want) << acc << " * " << multiplier << " shift " << shift;
  }
  EXPECT_GT(checked, 1000000);
}

TEST(RuntimeRequantize, RoundsHalfWayTowardPositiveInfinity) {
  // 1 * 2^30 * 2^-31 = 0.5 -> 1;  -0.5 -> 0;  1.5 -> 2;  -1.5 -> -1;  2.5 -> 3;  -2.5 -> -2.
  EXPECT_EQ(rt::requantize(1, kHalf, 0), 1);
  EXPECT_EQ(rt::requantize(-1, kHalf, 0), 0);
  EXPECT_EQ(rt::requantize(3, kHalf, 0), 2);
  EXPECT_EQ(rt::requantize(-3, kHalf, 0), -1);
  EXPECT_EQ(rt::requantize(5, kHalf, 0), 3);
  EXPECT_EQ(rt::requantize(-5, kHalf, 0), -2);
  // A non-power-of-two multiplier: 0.75 * 2 = 1.5 -> 2, 0.75 * -2 = -1.5 -> -1.
  EXPECT_EQ(rt::requantize(2, 3 << 29, 0), 2);
  EXPECT_EQ(rt::requantize(-2, 3 << 29, 0), -1);
  // The most negative accumulator at the smallest scale: -2^31 * 2^-32 = -0.5 -> 0.
  EXPECT_EQ(rt::requantize(std::numeric_limits<std::int32_t>::min(), kHalf, -31), 0);
  // One quantum either side of a half stays on its side.
  EXPECT_EQ(rt::requantize(1, kHalf + 1, 0), 1);
  EXPECT_EQ(rt::requantize(1, kHalf - 1, 0), 0);
  EXPECT_EQ(rt::requantize(-1, kHalf + 1, 0), -1);
  EXPECT_EQ(rt::requantize(-1, kHalf - 1, 0), 0);
}

TEST(RuntimeRequantize, RoundsHalfWayUpAtEveryNonPositiveShift) {
  // acc = odd * 2^-shift makes acc * 2^(shift - 1) = odd / 2 exactly: h + 1/2 -> h + 1.
  for (std::int32_t shift = -30; shift <= 0; ++shift) {
    const std::int64_t unit = std::int64_t{1} << -shift;
    for (std::int64_t odd : {1, 3, 5, 7, 101, 255}) {
      for (int sign : {1, -1}) {
        const std::int64_t acc = sign * odd * unit;
        if (!fits_int32(acc)) continue;
        const std::int64_t h = tinyq_test::floor_div_pow2(sign * odd, 1);  // floor(acc * m)
        SCOPED_TRACE(::testing::Message() << "acc " << acc << " shift " << shift);
        EXPECT_EQ(rt::requantize(static_cast<std::int32_t>(acc), kHalf, shift), h + 1);
        // Just below and above the half-way point (one accumulator step is 2^(shift-1)).
        if (shift < 0) {
          EXPECT_EQ(rt::requantize(static_cast<std::int32_t>(acc - 1), kHalf, shift), h);
          EXPECT_EQ(rt::requantize(static_cast<std::int32_t>(acc + 1), kHalf, shift), h + 1);
        }
      }
    }
  }
}

TEST(RuntimeRequantize, PowerOfTwoSchemeIsARoundedArithmeticRightShift) {
  // DESIGN: multiplier 2^30 with shift = 1 - right_shift is (acc + 2^(rs - 1)) >> rs.
  tinyq_test::Random rng(7);
  for (int right_shift = 1; right_shift <= 31; ++right_shift) {
    for (int i = 0; i < 2000; ++i) {
      const std::int32_t acc =
          rng.uniform(std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max());
      const Int128 want =
          tinyq_test::floor_div_pow2(static_cast<Int128>(acc) + (Int128{1} << (right_shift - 1)), right_shift);
      ASSERT_EQ(rt::requantize(acc, kHalf, 1 - right_shift), static_cast<std::int64_t>(want))
          << acc << " >> " << right_shift;
    }
  }
}

TEST(RuntimeRequantize, PositiveShiftsScaleUpExactly) {
  // Multiplier 2^30 and shift s: m = 2^(s - 1), an exact left shift for s >= 1.
  for (std::int32_t shift = 1; shift <= 30; ++shift) {
    for (std::int32_t acc : {0, 1, -1, 3, -3}) {
      const std::int64_t want = static_cast<std::int64_t>(acc) * (std::int64_t{1} << (shift - 1));
      if (!fits_int32(want)) continue;
      EXPECT_EQ(rt::requantize(acc, kHalf, shift), want) << acc << " shift " << shift;
    }
  }
  EXPECT_EQ(rt::requantize(1, kHalf, 30), 1 << 29);
  EXPECT_EQ(rt::requantize(-4, kHalf, 30), std::numeric_limits<std::int32_t>::min());
}

TEST(RuntimeRequantize, ExtremeAccumulatorsAndMultipliersDoNotOverflow) {
  const std::int32_t accs[] = {std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max(), -1,
                               1, 0};
  const std::int32_t multipliers[] = {0x7fffffff, -0x7fffffff, std::numeric_limits<std::int32_t>::min(), kHalf, -kHalf};
  for (std::int32_t acc : accs) {
    for (std::int32_t multiplier : multipliers) {
      for (std::int32_t shift = -31; shift <= 0; ++shift) {
        const std::int64_t want = ref_requantize(acc, multiplier, shift);
        if (!fits_int32(want)) continue;  // e.g. -2^31 * -2^31 at shift 0 is 2^31
        EXPECT_EQ(rt::requantize(acc, multiplier, shift), want) << acc << " * " << multiplier << " shift " << shift;
      }
    }
  }
}

TEST(RuntimeRequantize, ZeroMultiplierGivesZero) {
  for (std::int32_t shift = -31; shift <= 30; ++shift) {
    EXPECT_EQ(rt::requantize(std::numeric_limits<std::int32_t>::max(), 0, shift), 0);
    EXPECT_EQ(rt::requantize(std::numeric_limits<std::int32_t>::min(), 0, shift), 0);
  }
}

TEST(RuntimeRequantize, PerChannelUsesTheChannelsEntryAndPerTensorTheOnlyOne) {
  const std::int32_t multipliers[] = {kHalf, 3 << 29, 0x7fffffff};
  const std::int32_t shifts[] = {0, -2, 5};
  const rt::Requant per_channel{multipliers, shifts, 3};
  const rt::Requant per_tensor{multipliers, shifts, 1};
  for (std::int32_t c = 0; c < 3; ++c) {
    EXPECT_EQ(rt::requantize_channel(1000, per_channel, c), rt::requantize(1000, multipliers[c], shifts[c]));
    EXPECT_EQ(rt::requantize_channel(1000, per_tensor, c), rt::requantize(1000, multipliers[0], shifts[0]));
  }
}

TEST(RuntimeRequantize, ClampKeepsValuesInsideAndSaturatesOutside) {
  EXPECT_EQ(rt::clamp_i32(5, -128, 127), 5);
  EXPECT_EQ(rt::clamp_i32(-129, -128, 127), -128);
  EXPECT_EQ(rt::clamp_i32(std::numeric_limits<std::int32_t>::max(), 0, 6), 6);
  EXPECT_EQ(rt::clamp_i32(std::numeric_limits<std::int32_t>::min(), 0, 6), 0);
}

}  // namespace
