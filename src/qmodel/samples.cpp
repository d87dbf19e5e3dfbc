#include "qmodel/samples.hpp"

#include <algorithm>
#include <cstring>

#include "qmodel/kernel_params.hpp"

namespace tinyq {

namespace {

bool permuted(const QValue& v) { return v.layout == Layout::NHWC && v.shape.size() == 4; }

}  // namespace

void sample_to_stored(const QValue& v, const std::int8_t* src, std::int8_t* dst) {
  if (permuted(v))
    permute_elements(reinterpret_cast<const std::byte*>(src), reinterpret_cast<std::byte*>(dst), v.source_shape(),
                     {0, 2, 3, 1}, std::size_t(element_bytes(v.quant)));
  else if (element_count(v.shape) > 0)  // an empty value may have no storage: memcpy(null, .., 0) is UB
    std::memcpy(dst, src, std::size_t(element_count(v.shape) * element_bytes(v.quant)));
}

void sample_to_source(const QValue& v, const std::int8_t* src, std::int8_t* dst) {
  if (permuted(v))
    permute_elements(reinterpret_cast<const std::byte*>(src), reinterpret_cast<std::byte*>(dst), v.shape, {0, 3, 1, 2},
                     std::size_t(element_bytes(v.quant)));
  else if (element_count(v.shape) > 0)  // an empty value may have no storage: memcpy(null, .., 0) is UB
    std::memcpy(dst, src, std::size_t(element_count(v.shape) * element_bytes(v.quant)));
}

std::vector<std::int8_t> to_stored_bytes(const QValue& value, const Tensor& samples) {
  const std::int64_t per = element_count(value.shape);
  const std::int64_t count = per == 0 ? 0 : samples.numel() / per;
  std::vector<std::int8_t> out(std::size_t(samples.numel()));
  const std::int8_t* src = samples.data<std::int8_t>().data();
  for (std::int64_t s = 0; s < count; ++s) sample_to_stored(value, src + s * per, out.data() + s * per);
  return out;
}

Tensor quantize_samples(const QValue& input, const Tensor& samples) {
  Tensor q(DType::i8, samples.shape());
  auto src = samples.f32();
  auto dst = q.data<std::int8_t>();
  for (std::size_t i = 0; i < src.size(); ++i) dst[i] = quantize_to_int8(src[i], input.quant);
  return q;
}

std::int64_t node_macs(const QNode& n) {
  switch (n.kernel) {
    case QKernel::Conv:
    case QKernel::Depthwise: {
      const rt::ConvParams p = conv_params(n);
      const std::int64_t taps = std::int64_t(p.batch) * p.out_h * p.out_w * p.out_c * p.kernel_h * p.kernel_w;
      return n.kernel == QKernel::Depthwise ? taps : taps * (p.in_c / std::max(1, p.groups));
    }
    case QKernel::ConvTranspose: {  // every input pixel meets every tap (cropped ones included)
      const rt::ConvParams p = conv_params(n);
      return std::int64_t(p.batch) * p.in_h * p.in_w * p.in_c * p.kernel_h * p.kernel_w *
             (p.out_c / std::max(1, p.groups));
    }
    case QKernel::Dense: {
      const rt::DenseParams p = dense_params(n);
      return std::int64_t(p.rows) * p.in_features * p.out_features;
    }
    case QKernel::Recurrent: {  // input and recurrent projections of every step
      const rt::RecurrentParams p = recurrent_params(n);
      return std::int64_t(p.steps) * p.directions * p.batch * rt::recurrent_gate_count(p.cell) * p.hidden *
             (std::int64_t(p.input) + p.hidden);
    }
    default: return 0;
  }
}

}  // namespace tinyq
