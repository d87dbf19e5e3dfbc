#include "quant/multiplier.hpp"

#include <cmath>

#include "util/error.hpp"

namespace tinyq {

QuantizedMultiplier quantize_multiplier(double real) {
  if (!std::isfinite(real)) fail("", "requantization multiplier {} is not finite", real);
  if (real == 0.0) return {};
  int exponent = 0;
  const double fraction =
      std::frexp(std::abs(real), &exponent);  // |real| = fraction * 2^exponent, fraction in [0.5, 1)
  auto q = static_cast<std::int64_t>(std::llround(fraction * double(std::int64_t{1} << 31)));
  if (q == (std::int64_t{1} << 31)) {  // rounding carried into the next power of two
    q /= 2;
    ++exponent;
  }
  if (exponent > 30) fail("", "requantization multiplier {} is too large for int8 kernels", real);
  if (exponent < -31) return {};  // below 2^-32: every int32 accumulator rounds to at most ±1
  return {static_cast<std::int32_t>(real < 0 ? -q : q), exponent};
}

double multiplier_value(QuantizedMultiplier m) { return double(m.multiplier) * std::ldexp(1.0, m.shift - 31); }

}  // namespace tinyq
