#pragma once
// Seeded N(0, sigma^2) values: weights and inputs of the models tests build.
#include <cstddef>
#include <random>
#include <vector>

namespace tinyq::testing {

inline std::vector<float> normal_values(std::size_t n, unsigned seed, float sigma) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace tinyq::testing
