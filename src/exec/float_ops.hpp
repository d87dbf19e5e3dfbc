#pragma once
// Float implementations of the IR's light ops (elementwise, softmax, normalisation, data
// movement). The heavy ones (conv, dense, pooling) are in float/kernels.hpp.
#include <functional>
#include <string>

#include "ir/graph.hpp"

namespace tinyq::fops {

// y = f(x) elementwise; `op` is one of the IR's unary ops. Attributes from the node.
std::function<float(float)> unary_function(Op op, const Attributes& attrs);

// y = f(x) over a whole buffer with Eigen's vectorised functions, for the unary ops that have
// one (Relu, Sigmoid, Tanh, Exp, Sqrt, Neg). Returns false for the others: call
// unary_function per element then. Each element's result depends only on its value, not on
// its position or the buffer's alignment.
bool unary_vectorized(Op op, const float* x, float* y, std::int64_t count);
// The same for Clip, LeakyRelu, HardSigmoid and HardSwish (attributes from the node): plain
// loops, results equal to unary_function's. Returns false for other ops.
bool unary_loop(Op op, const Attributes& attrs, const float* x, float* y, std::int64_t count);

// out = f(a, b) with numpy broadcasting; shapes are the stored shapes.
void binary(Op op, const float* a, const Shape& a_shape, const float* b, const Shape& b_shape, float* out,
            const Shape& out_shape);

void softmax(const float* in, float* out, const Shape& shape, int axis);
void layer_norm(const float* in, const float* scale, const float* bias, float* out, const Shape& shape, int axis,
                float epsilon);
void channel_affine(const float* in, const float* scale, const float* shift, float* out, const Shape& shape, int axis);
void reduce_mean(const float* in, float* out, const Shape& shape, const std::vector<std::int64_t>& axes);
void concat(const std::vector<const float*>& inputs, const std::vector<Shape>& shapes, float* out, int axis);
void pad(const float* in, const Shape& shape, float* out, const std::vector<std::int64_t>& pads,
         const std::string& mode, float value);
// For each output index along one axis, the input index nearest resizing copies from (ONNX
// Resize's coordinate and rounding modes). Shared with the int8 path, which must pick the
// same pixels.
std::vector<std::int64_t> nearest_source_indices(std::int64_t in_size, std::int64_t out_size, float scale,
                                                 const std::string& coordinate_mode, const std::string& nearest_mode);
// Nearest-neighbour resize, NHWC, per ONNX Resize's coordinate and rounding modes.
void resize_nearest(const float* in, const Shape& in_shape, float* out, const Shape& out_shape,
                    const std::vector<float>& scales, const std::string& coordinate_mode,
                    const std::string& nearest_mode);
// Applies [min, max] to every element.
void clamp(float* data, std::int64_t count, float min, float max);

}  // namespace tinyq::fops
