#pragma once
// Classification metrics over a batch of model outputs [N, classes].
#include <cstdint>
#include <vector>

#include "ir/tensor.hpp"

namespace tinyq {

// Index of the largest score of each row (first one on ties).
std::vector<std::int64_t> argmax_rows(const Tensor& scores);

// Fraction of rows whose label is among the k highest scores (k clipped to the class count).
double top_k_accuracy(const Tensor& scores, const std::vector<std::int64_t>& labels, int k);

}  // namespace tinyq
