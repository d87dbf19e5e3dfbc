#pragma once
// Shared by the float kernel tests: seeded random data and a tolerance comparison against
// double-precision references.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <sstream>
#include <vector>

namespace tinyq::kernel_test {

inline constexpr double kRelTolerance = 1e-4;
inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
inline constexpr float kInf = std::numeric_limits<float>::infinity();

inline int uniform(std::mt19937& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
inline int odd(std::mt19937& rng, int lo, int hi) { return 2 * uniform(rng, lo, hi) + 1; }  // 2lo+1 .. 2hi+1

inline std::vector<float> random_floats(std::mt19937& rng, std::size_t n) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline ::testing::AssertionResult all_close(const std::vector<float>& got, const std::vector<double>& want) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "size " << got.size() << " vs " << want.size();
  std::size_t bad = 0;
  std::ostringstream first;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got[i];
    const double w = want[i];
    const bool ok = std::isinf(w) ? g == w : std::abs(g - w) <= kRelTolerance * std::max(1.0, std::abs(w));
    if (!ok && bad++ < 5) first << "  [" << i << "] got " << g << " want " << w << "\n";
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << got.size() << " outputs differ:\n" << first.str();
}

}  // namespace tinyq::kernel_test
