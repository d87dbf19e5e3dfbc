#pragma once
// Shared by the test_runtime_*.cpp files: random parameter generation and the requantize
// reference, written from the formula in requantize.hpp (not from its code): the exact
// real product acc * multiplier * 2^(shift - 31), rounded half toward +infinity.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tinyq/kernels.hpp"

namespace tinyq_test {

using Int128 = __int128;

// floor(x / 2^e) for e >= 0, by division (not by shifting a negative value).
inline Int128 floor_div_pow2(Int128 x, int e) {
  const Int128 d = static_cast<Int128>(1) << e;
  Int128 q = x / d;  // truncates toward zero
  if (x % d != 0 && x < 0) --q;
  return q;
}

// requantize() from its definition: floor(acc * m + 1/2) with m = multiplier * 2^(shift - 31),
// i.e. floor((2 * acc * multiplier + 2^s) / 2^(s + 1)), s = 31 - shift. Exact, never wraps.
inline std::int64_t ref_requantize(std::int64_t acc, std::int64_t multiplier, int shift) {
  const int s = 31 - shift;
  const Int128 twice = 2 * static_cast<Int128>(acc) * multiplier;
  return static_cast<std::int64_t>(floor_div_pow2(twice + (static_cast<Int128>(1) << s), s + 1));
}

inline std::int64_t ref_requantize(std::int64_t acc, const tinyq::rt::Requant& r, int channel) {
  const int i = r.count == 1 ? 0 : channel;
  return ref_requantize(acc, r.multiplier[i], r.shift[i]);
}

// clamp(offset + v) into the int8 range [lo, hi], in int64 so nothing can wrap.
inline std::int8_t ref_output(std::int64_t v, std::int64_t offset, std::int64_t lo, std::int64_t hi) {
  return static_cast<std::int8_t>(std::clamp(offset + v, lo, hi));
}

// Encodes a real multiplier as the host does (requantize.hpp): |q| in [2^30, 2^31).
struct Multiplier {
  std::int32_t multiplier = 0;
  std::int32_t shift = 0;
};
inline Multiplier encode_multiplier(double real) {
  if (real == 0.0) return {};
  int exponent = 0;
  const double fraction = std::frexp(std::fabs(real), &exponent);
  auto q = static_cast<std::int64_t>(std::llround(std::ldexp(fraction, 31)));
  if (q == (std::int64_t{1} << 31)) {
    q /= 2;
    ++exponent;
  }
  if (exponent < -31) return {};
  EXPECT_LE(exponent, 30) << "test multiplier too large: " << real;
  return {static_cast<std::int32_t>(real < 0 ? -q : q), exponent};
}

class Random {
 public:
  explicit Random(std::uint32_t seed) : rng_(seed) {}
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::int64_t uniform64(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  double real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  T pick(std::initializer_list<T> values) {
    return *(values.begin() + uniform(0, static_cast<int>(values.size()) - 1));
  }

  std::vector<std::int8_t> int8s(std::size_t n, int lo = -128, int hi = 127) {
    std::vector<std::int8_t> v(n);
    for (auto& x : v) x = static_cast<std::int8_t>(uniform(lo, hi));
    return v;
  }
  // Activations: mostly full-range noise, sometimes stuck at one end (saturating inputs).
  std::vector<std::int8_t> activations(std::size_t n) {
    const int mode = uniform(0, 5);
    if (mode == 0) return int8s(n, -128, -120);
    if (mode == 1) return int8s(n, 120, 127);
    return int8s(n);
  }
  std::vector<std::int8_t> weights(std::size_t n) { return int8s(n, -127, 127); }

  // An input offset (-zero point) or output offset (zero point), extremes included.
  std::int32_t input_offset() { return chance(0.25) ? pick({-127, 0, 128}) : uniform(-127, 128); }
  std::int32_t output_offset() { return chance(0.25) ? pick({-128, 0, 127}) : uniform(-128, 127); }

  // act_min <= act_max within [-128, 127]: full range, ReLU-like, ReLU6-like, arbitrary.
  std::pair<std::int32_t, std::int32_t> activation_range(std::int32_t output_offset) {
    switch (uniform(0, 4)) {
      case 0:
      case 1: return {-128, 127};
      case 2: return {std::max(-128, output_offset), 127};
      case 3: {
        const int lo = uniform(-128, 127);
        return {lo, uniform(lo, 127)};
      }
      default: {
        const int v = uniform(-128, 127);
        return {v, v};
      }
    }
  }

  // A Q31 multiplier magnitude in [2^30, 2^31), with the end points well represented.
  std::int32_t q31() {
    switch (uniform(0, 5)) {
      case 0: return 1 << 30;
      case 1: return 0x7fffffff;
      default: return uniform(1 << 30, 0x7fffffff);
    }
  }

  // A shift for accumulators bounded by |acc| <= acc_bound: mostly realistic (outputs land in
  // the int8 range with some saturation), otherwise anywhere in [-31, 30] that keeps the
  // exact requantized value within int32 (requantize's precondition).
  std::int32_t shift(std::int64_t acc_bound) {
    int max_shift = 30;
    while (max_shift > -31 && (acc_bound << std::max(0, max_shift)) >= (std::int64_t{1} << 31) - 1) --max_shift;
    if (chance(0.4)) return uniform(-31, max_shift);
    int bits = 0;
    while ((std::int64_t{1} << bits) <= acc_bound) ++bits;
    const int centre = 7 - bits + 2;  // typical |acc| ~ acc_bound / 4 lands around +-128
    return std::clamp(centre + uniform(-3, 3), -31, max_shift);
  }

  // Per-channel (count == channels) or per-tensor (count == 1) requantization parameters.
  void requant(int channels, std::int64_t acc_bound, std::vector<std::int32_t>& multiplier,
               std::vector<std::int32_t>& shift) {
    const int count = chance(0.3) ? 1 : channels;
    multiplier.resize(count);
    shift.resize(count);
    const bool shared_shift = chance(0.3);
    const std::int32_t s0 = this->shift(acc_bound);
    for (int i = 0; i < count; ++i) {
      multiplier[i] = chance(0.03) ? 0 : q31();
      shift[i] = shared_shift ? s0 : this->shift(acc_bound);
    }
  }

 private:
  std::mt19937 rng_;
};

inline tinyq::rt::Requant make_requant(const std::vector<std::int32_t>& m, const std::vector<std::int32_t>& s) {
  return tinyq::rt::Requant{m.data(), s.data(), static_cast<std::int32_t>(m.size())};
}

// Bit-exact comparison with the first few differences in the message.
inline ::testing::AssertionResult same_bytes(const std::vector<std::int8_t>& got,
                                             const std::vector<std::int8_t>& want) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "size " << got.size() << " vs " << want.size();
  std::size_t bad = 0;
  std::ostringstream first;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i] && bad++ < 5)
      first << "  [" << i << "] got " << int(got[i]) << " want " << int(want[i]) << "\n";
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << got.size() << " outputs differ:\n" << first.str();
}

// How many outputs sit at each end of the activation range: tests check that saturation was
// actually exercised rather than trusting the random generator.
struct Coverage {
  std::int64_t outputs = 0, at_min = 0, at_max = 0, inside = 0;
  void add(const std::vector<std::int8_t>& out, int lo, int hi) {
    for (std::int8_t v : out) {
      ++outputs;
      if (v == lo) ++at_min;
      if (v == hi) ++at_max;
      if (v > lo && v < hi) ++inside;
    }
  }
};

}  // namespace tinyq_test
