#pragma once
// Encoding real multipliers for the runtime's requantize() (runtime/include/tinyq/requantize.hpp).
#include <cstdint>

namespace tinyq {

struct QuantizedMultiplier {
  std::int32_t multiplier = 0;  // Q31, |multiplier| in [2^30, 2^31), sign of the real value
  std::int32_t shift = 0;       // in [-31, 30]
};

// m = multiplier * 2^(shift - 31). Values too small to encode become 0 (the product would
// round to 0 or ±1 anyway); values too large throw tinyq::Error (the quantizer avoids them).
QuantizedMultiplier quantize_multiplier(double real);

// The real value a QuantizedMultiplier stands for (reports, tests).
double multiplier_value(QuantizedMultiplier m);

}  // namespace tinyq
