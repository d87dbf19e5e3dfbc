#pragma once
// Evaluation of ONNX ops on constant inputs at import time, in ONNX's own axis order.
// This is how shape-computing subgraphs (Shape -> Gather -> Unsqueeze -> Concat -> Reshape)
// become plain constants. Float math on float constants is left to the constant-folding
// pass; this covers what shape arithmetic needs (int64 and float, broadcasting).
#include <functional>

#include "ir/tensor.hpp"

namespace tinyq::onnx_import {

// Elementwise binary op with numpy broadcasting. The result is int64 when both inputs
// are integer, float32 otherwise.
Tensor eval_binary(const Tensor& a, const Tensor& b, const std::function<double(double, double)>& fn,
                   const std::string& where);
Tensor eval_gather(const Tensor& data, const Tensor& indices, int axis, const std::string& where);
Tensor eval_slice(const Tensor& data, const std::vector<std::int64_t>& starts, const std::vector<std::int64_t>& ends,
                  const std::vector<std::int64_t>& axes, const std::vector<std::int64_t>& steps,
                  const std::string& where);
Tensor eval_concat(const std::vector<Tensor>& parts, int axis, const std::string& where);

}  // namespace tinyq::onnx_import
