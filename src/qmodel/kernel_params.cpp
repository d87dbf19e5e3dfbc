#include "qmodel/kernel_params.hpp"

#include "qmodel/kernel_fields.hpp"
#include "util/error.hpp"

namespace tinyq {

rt::ConvParams conv_params(const QNode& n) { return read_params<rt::ConvParams>(n); }
rt::DenseParams dense_params(const QNode& n) { return read_params<rt::DenseParams>(n); }
rt::PoolParams pool_params(const QNode& n) { return read_params<rt::PoolParams>(n); }
rt::AvgPoolParams avg_pool_params(const QNode& n) { return read_params<rt::AvgPoolParams>(n); }
rt::AddParams add_params(const QNode& n) { return read_params<rt::AddParams>(n); }
rt::MulParams mul_params(const QNode& n) { return read_params<rt::MulParams>(n); }
rt::MatMulParams matmul_params(const QNode& n) { return read_params<rt::MatMulParams>(n); }
rt::RecurrentParams recurrent_params(const QNode& n) { return read_params<rt::RecurrentParams>(n); }
rt::ConcatParams concat_params(const QNode& n) { return read_params<rt::ConcatParams>(n); }
rt::PadParams pad_params(const QNode& n) { return read_params<rt::PadParams>(n); }
rt::ResizeParams resize_params(const QNode& n) { return read_params<rt::ResizeParams>(n); }
rt::ResizeBilinearParams resize_bilinear_params(const QNode& n) { return read_params<rt::ResizeBilinearParams>(n); }
rt::StridedCopyParams strided_copy_params(const QNode& n) { return read_params<rt::StridedCopyParams>(n); }
rt::PreluParams prelu_params(const QNode& n) { return read_params<rt::PreluParams>(n); }
rt::LayerNormParams layer_norm_params(const QNode& n) { return read_params<rt::LayerNormParams>(n); }
rt::RequantizeParams requantize_params(const QNode& n) { return read_params<rt::RequantizeParams>(n); }

rt::BroadcastShape broadcast_params(const QNode& n) {
  const auto& a = n.words("a_shape");
  const auto& b = n.words("b_shape");
  const auto& out = n.words("out_shape");
  if (out.size() > 4) fail(n.name, "int8 elementwise ops support up to 4 dimensions");
  rt::BroadcastShape s{};
  auto strides = [&](const std::vector<std::int32_t>& shape, std::int32_t* dst) {
    std::int32_t stride = 1;
    for (int i = 3; i >= 0; --i) {
      int src = int(shape.size()) - (4 - i);
      std::int32_t dim = src >= 0 ? shape[std::size_t(src)] : 1;
      dst[i] = dim == 1 ? 0 : stride;
      stride *= dim;
    }
  };
  for (int i = 0; i < 4; ++i) {
    int src = int(out.size()) - (4 - i);
    s.shape[i] = src >= 0 ? out[std::size_t(src)] : 1;
  }
  strides(a, s.a_strides);
  strides(b, s.b_strides);
  return s;
}

BinaryOperands binary_operands(const QNode& n) {
  BinaryOperands o;
  const bool a_const = n.get("a_const") != 0, b_const = n.get("b_const") != 0;
  if (a_const) o.a_const = n.bytes("a_const").data();
  if (b_const) o.b_const = n.bytes("b_const").data();
  if (!a_const) o.a_input = n.inputs.at(0);
  if (!b_const) o.b_input = n.inputs.at(a_const ? 0 : 1);
  return o;
}

}  // namespace tinyq
