#include "ir/qgraph.hpp"

#include "util/error.hpp"

namespace tinyq {

const char* qkernel_name(QKernel k) {
  switch (k) {
    case QKernel::Conv: return "conv2d_s8";
    case QKernel::Depthwise: return "depthwise_conv2d_s8";
    case QKernel::Dense: return "dense_s8";
    case QKernel::MaxPool: return "max_pool2d_s8";
    case QKernel::AvgPool: return "avg_pool2d_s8";
    case QKernel::Add: return "add_s8";
    case QKernel::Mul: return "mul_s8";
    case QKernel::Concat: return "concat_s8";
    case QKernel::Pad: return "pad_s8";
    case QKernel::Resize: return "resize_nearest_s8";
    case QKernel::Lookup: return "lookup_s8";
    case QKernel::Softmax: return "softmax_s8";
    case QKernel::Prelu: return "prelu_s8";
    case QKernel::LayerNorm: return "layer_norm_s8";
    case QKernel::Reshape: return "reshape";
    case QKernel::StridedCopy: return "strided_copy_s8";
    case QKernel::ConvTranspose: return "conv_transpose2d_s8";
    case QKernel::ResizeBilinear: return "resize_bilinear_s8";
    case QKernel::MatMul: return "matmul_s8";
    case QKernel::Recurrent: return "recurrent_s8";
    case QKernel::Requantize: return "requantize_tensor";
  }
  return "?";
}

std::int64_t QNode::get(const std::string& key) const {
  auto it = ints.find(key);
  if (it == ints.end()) fail(name, "quantized node lacks parameter '{}'", key);
  return it->second;
}

std::int64_t QNode::get(const std::string& key, std::int64_t fallback) const {
  auto it = ints.find(key);
  return it == ints.end() ? fallback : it->second;
}

const std::vector<std::int8_t>& QNode::bytes(const std::string& key) const {
  auto it = i8.find(key);
  if (it == i8.end()) fail(name, "quantized node lacks int8 array '{}'", key);
  return it->second;
}

const std::vector<std::int32_t>& QNode::words(const std::string& key) const {
  auto it = i32.find(key);
  if (it == i32.end()) fail(name, "quantized node lacks int32 array '{}'", key);
  return it->second;
}

}  // namespace tinyq
