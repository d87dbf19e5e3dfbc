#include "commands/mcu_common.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tinyq::cli {

namespace fs = std::filesystem;

WorkFolder::WorkFolder(const std::string& keep) {
  if (!keep.empty()) {
    path_ = keep;
    fs::create_directories(path_);
    return;
  }
  std::string pattern = (fs::temp_directory_path() / "tinyq-fw-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary folder");
  path_ = pattern;
  remove_ = true;
}

WorkFolder::~WorkFolder() {
  std::error_code ignored;
  if (remove_) fs::remove_all(path_, ignored);
}

namespace {

std::vector<std::int8_t> permute_to_stored(const QValue& value, const Tensor& samples) {
  const std::int64_t per = element_count(value.shape);
  const std::int64_t count = samples.numel() / per;
  std::vector<std::int8_t> out(std::size_t(samples.numel()));
  const auto* src = reinterpret_cast<const std::byte*>(samples.data<std::int8_t>().data());
  auto* dst = reinterpret_cast<std::byte*>(out.data());
  for (std::int64_t s = 0; s < count; ++s) {
    if (value.layout == Layout::NHWC && value.shape.size() == 4)
      permute_elements(src + s * per, dst + s * per, value.source_shape(), {0, 2, 3, 1}, 1);
    else
      std::memcpy(dst + s * per, src + s * per, std::size_t(per));
  }
  return out;
}

}  // namespace

std::vector<std::int8_t> to_stored_bytes(const QValue& value, const Tensor& samples) {
  return permute_to_stored(value, samples);
}

Tensor quantize_samples(const QValue& input, const Tensor& samples) {
  Tensor q(DType::i8, samples.shape());
  auto src = samples.f32();
  auto dst = q.data<std::int8_t>();
  for (std::size_t i = 0; i < src.size(); ++i) {
    const float v = std::nearbyint(src[i] / input.quant.scale) + float(input.quant.zero_point);
    dst[i] = std::int8_t(std::clamp(v, -128.0f, 127.0f));
  }
  return q;
}

std::int64_t node_macs(const QNode& n) {
  auto g = [&](const char* k) { return n.get(k, 0); };
  switch (n.kernel) {
    case QKernel::Conv:
      return g("batch") * g("out_h") * g("out_w") * g("out_c") * g("kernel_h") * g("kernel_w") *
             (g("in_c") / std::max<std::int64_t>(1, g("groups")));
    case QKernel::Depthwise: return g("batch") * g("out_h") * g("out_w") * g("out_c") * g("kernel_h") * g("kernel_w");
    case QKernel::Dense: return g("rows") * g("in_features") * g("out_features");
    default: return 0;
  }
}

}  // namespace tinyq::cli
