#include "exec/classification.hpp"

#include "util/error.hpp"

namespace tinyq {

namespace {
std::int64_t rows_of(const Tensor& scores) { return scores.shape().empty() ? 1 : scores.shape()[0]; }
}  // namespace

std::vector<std::int64_t> argmax_rows(const Tensor& scores) {
  const std::int64_t rows = rows_of(scores), classes = rows ? scores.numel() / rows : 0;
  std::vector<std::int64_t> result(std::size_t(rows), 0);
  auto data = scores.f32();
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = data.data() + r * classes;
    for (std::int64_t c = 1; c < classes; ++c)
      if (row[c] > row[result[std::size_t(r)]]) result[std::size_t(r)] = c;
  }
  return result;
}

double top_k_accuracy(const Tensor& scores, const std::vector<std::int64_t>& labels, int k) {
  const std::int64_t rows = rows_of(scores), classes = rows ? scores.numel() / rows : 0;
  if (std::int64_t(labels.size()) != rows) fail("", "{} labels for {} samples", labels.size(), rows);
  if (rows == 0) return 0.0;
  auto data = scores.f32();
  std::int64_t hits = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = data.data() + r * classes;
    const std::int64_t label = labels[std::size_t(r)];
    if (label < 0 || label >= classes) continue;  // a label the model cannot produce is a miss
    // The label is in the top k if fewer than k classes score strictly higher (ties
    // broken toward the lower index, as argmax does).
    std::int64_t better = 0;
    for (std::int64_t c = 0; c < classes; ++c) better += row[c] > row[label] || (row[c] == row[label] && c < label);
    hits += better < k;
  }
  return double(hits) / double(rows);
}

}  // namespace tinyq
