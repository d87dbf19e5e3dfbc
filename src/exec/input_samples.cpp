#include "exec/input_samples.hpp"

#include <algorithm>

#include "exec/float_executor.hpp"

namespace tinyq {

bool InputSamples::empty() const {
  return std::all_of(tensors_.begin(), tensors_.end(), [](const Tensor& t) { return t.numel() == 0; });
}

std::int64_t InputSamples::count(const Graph& graph) const { return sample_count(graph, tensors_); }

InputSamples InputSamples::range(const Graph& graph, std::int64_t first, std::int64_t n) const {
  const std::int64_t total = count(graph);
  first = std::clamp<std::int64_t>(first, 0, total);
  n = std::clamp<std::int64_t>(n, 0, total - first);
  if (first == 0 && n == total) return *this;
  std::vector<Tensor> part;
  for (const Tensor& t : tensors_) {
    // Each input's rows per sample: its own batch (sample_count checked the shapes).
    const std::int64_t rows = t.shape()[0] / std::max<std::int64_t>(total, 1);
    const std::int64_t per_row = t.numel() / std::max<std::int64_t>(t.shape()[0], 1);
    Shape shape = t.shape();
    shape[0] = n * rows;
    Tensor slice(DType::f32, shape);
    std::copy_n(t.f32().begin() + first * rows * per_row, slice.numel(), slice.f32().begin());
    part.push_back(std::move(slice));
  }
  return InputSamples(std::move(part));
}

}  // namespace tinyq
