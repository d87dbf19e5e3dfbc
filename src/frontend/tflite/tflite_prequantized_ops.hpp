// Internal to the pre-quantized importer (tflite_prequantized.cpp): one QNode per TFLite int8
// operator, with the file's own quantization and TFLite's arithmetic. Each builder fills the
// node's kernel, parameters, weights and tables; the driver fills its name, inputs and output.
#pragma once

#include <string>

#include "frontend/tflite/tflite_model.hpp"
#include "ir/qgraph.hpp"

namespace tinyq::tflite {

struct PrequantContext {
  const TfliteModel& model;

  // "file: operator 3 (CONV_2D)", for errors.
  std::string at(const OperatorInfo& op) const;
  // Input i / output 0 of `op`; an error naming the operator when it is missing.
  const TensorInfo& input(const OperatorInfo& op, std::size_t i) const;
  bool has_input(const OperatorInfo& op, std::size_t i) const { return i < op.inputs.size() && op.inputs[i] >= 0; }
  const TensorInfo& output(const OperatorInfo& op) const;
  // The quantization of an int8 activation (one scale, one zero point), or an error naming it.
  QuantParam activation(const OperatorInfo& op, const TensorInfo& t) const;
};

// CONV_2D and DEPTHWISE_CONV_2D: per-channel (or per-tensor) int8 weights, int32 bias.
QNode prequantized_conv(const PrequantContext& ctx, const OperatorInfo& op);
// TRANSPOSE_CONV: per-channel int8 weights [O, KH, KW, I], optional int32 bias.
QNode prequantized_transpose_conv(const PrequantContext& ctx, const OperatorInfo& op);
// FULLY_CONNECTED over the last axis of any input.
QNode prequantized_fully_connected(const PrequantContext& ctx, const OperatorInfo& op);
// AVERAGE_POOL_2D (TFLite's rounded division) and MAX_POOL_2D.
QNode prequantized_pool(const PrequantContext& ctx, const OperatorInfo& op);
// ADD, SUB, MUL: TFLite's int8 add, sub and mul, operands activations or int8 constants.
QNode prequantized_add(const PrequantContext& ctx, const OperatorInfo& op);
// SOFTMAX over the last axis: TFLite's fixed-point recipe.
QNode prequantized_softmax(const PrequantContext& ctx, const OperatorInfo& op);
// RESHAPE, SQUEEZE, EXPAND_DIMS: the same bytes in a new shape.
QNode prequantized_reshape(const PrequantContext& ctx, const OperatorInfo& op);
// CONCATENATION, PAD, PADV2 (tflite_prequantized_movement.cpp): byte copies, operands and
// output in one quantization.
QNode prequantized_concat(const PrequantContext& ctx, const OperatorInfo& op);
QNode prequantized_pad(const PrequantContext& ctx, const OperatorInfo& op);
// RESIZE_NEAREST_NEIGHBOR and STRIDED_SLICE (tflite_prequantized_movement.cpp): byte copies.
QNode prequantized_resize_nearest(const PrequantContext& ctx, const OperatorInfo& op);
QNode prequantized_strided_slice(const PrequantContext& ctx, const OperatorInfo& op);
// SPLIT: one byte copy per output (output k of the operator: `which`).
QNode prequantized_split(const PrequantContext& ctx, const OperatorInfo& op, std::size_t which);
// LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH and an int8 -> int8 QUANTIZE
// (tflite_prequantized_unary.cpp): a 256-entry table of TFLite Micro's kernel.
QNode prequantized_lookup(const PrequantContext& ctx, const OperatorInfo& op);
// MEAN over one run of contiguous axes (tflite_prequantized_unary.cpp).
QNode prequantized_mean(const PrequantContext& ctx, const OperatorInfo& op);

}  // namespace tinyq::tflite
