#pragma once
// The runtime parameter struct of each quantized node, read from the node's named fields.
// One mapping, used both by the host int8 executor (which calls the kernels with these
// structs) and by code generation (which prints them as constants into the MCU sources),
// so the two can never disagree on what a field means. Pointer fields point into the
// QNode's own arrays: the structs live as long as the node.
#include <string>
#include <vector>

#include "ir/qgraph.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {

rt::ConvParams conv_params(const QNode& n);  // Conv and Depthwise
rt::DenseParams dense_params(const QNode& n);
rt::PoolParams pool_params(const QNode& n);
rt::AvgPoolParams avg_pool_params(const QNode& n);
rt::AddParams add_params(const QNode& n);
rt::MulParams mul_params(const QNode& n);
rt::MatMulParams matmul_params(const QNode& n);
rt::RecurrentParams recurrent_params(const QNode& n);
rt::ConcatParams concat_params(const QNode& n);
rt::PadParams pad_params(const QNode& n);
rt::ResizeParams resize_params(const QNode& n);
rt::ResizeBilinearParams resize_bilinear_params(const QNode& n);
rt::StridedCopyParams strided_copy_params(const QNode& n);
rt::PreluParams prelu_params(const QNode& n);
rt::LayerNormParams layer_norm_params(const QNode& n);
rt::RequantizeParams requantize_params(const QNode& n);
// Add / Mul operands: numpy broadcasting of the node's stored shapes onto 4 axes.
rt::BroadcastShape broadcast_params(const QNode& n);

// Which inputs of an Add / Mul node are constants held by the node ("a_const"/"b_const"),
// and which graph input feeds each activation operand (-1 for a constant).
struct BinaryOperands {
  int a_input = -1, b_input = -1;
  const std::int8_t* a_const = nullptr;
  const std::int8_t* b_const = nullptr;
};
BinaryOperands binary_operands(const QNode& n);

}  // namespace tinyq
