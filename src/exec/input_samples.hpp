#pragma once
// The data a graph runs on: one float32 tensor per graph input, in the graph's input order,
// each holding the same number of samples along its first axis (a multiple of that input's
// own batch). Calibration, bias correction, layer errors and damage prediction take it; a
// single tensor converts implicitly, for the common one-input model.
#include <cstdint>
#include <vector>

#include "ir/graph.hpp"

namespace tinyq {

class InputSamples {
 public:
  InputSamples() = default;
  InputSamples(Tensor one) { tensors_.push_back(std::move(one)); }  // NOLINT: implicit by design
  InputSamples(std::vector<Tensor> per_input) : tensors_(std::move(per_input)) {}

  const std::vector<Tensor>& tensors() const { return tensors_; }
  std::vector<Tensor>& tensors() { return tensors_; }
  std::size_t size() const { return tensors_.size(); }
  const Tensor& operator[](std::size_t input) const { return tensors_.at(input); }
  Tensor& operator[](std::size_t input) { return tensors_.at(input); }
  // True when there is no data at all (no tensor, or tensors of no elements).
  bool empty() const;

  // Samples for `graph` (sample_count: throws tinyq::Error when the shapes do not fit it).
  std::int64_t count(const Graph& graph) const;
  // Samples [first, first + n) of every input, clipped to what there is.
  InputSamples range(const Graph& graph, std::int64_t first, std::int64_t n) const;
  InputSamples head(const Graph& graph, std::int64_t n) const { return range(graph, 0, n); }

 private:
  std::vector<Tensor> tensors_;
};

}  // namespace tinyq
