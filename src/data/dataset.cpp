#include "data/dataset.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/file_util.hpp"
#include "data/idx.hpp"
#include "data/npy.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

enum class Format { npy, idx };

std::string lower_file_name(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  for (auto& c : name) c = char(std::tolower((unsigned char)c));
  return name;
}

// Decides how to read `path`: content magic first, then the file name.
Format detect_format(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(path, "image folders are not supported yet; pass a .npy file or an IDX file");
  data_detail::regular_file_size(path);  // fails on missing or special files

  unsigned char head[6] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const auto n = in.gcount();
  const std::string name = lower_file_name(path);
  const bool npy_name = data_detail::has_suffix(name, ".npy");
  const bool idx_name = name.find("idx") != std::string::npos || name.find("-ubyte") != std::string::npos;

  if (n == 6 && std::memcmp(head, "\x93NUMPY", 6) == 0) return Format::npy;
  if (data_detail::has_suffix(name, ".npz")) fail(path, ".npz archives are not supported; save one array with np.save");
  if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
    if (data_detail::has_suffix(name, ".npy.gz"))
      fail(path, "gzipped .npy files are not supported; decompress it first");
    return Format::idx;  // gzipped IDX; read_idx reports anything else inside
  }
  const bool idx_type = head[2] == 0x08 || head[2] == 0x09 || (head[2] >= 0x0b && head[2] <= 0x0e);
  if (n >= 4 && head[0] == 0 && head[1] == 0 && idx_type) return Format::idx;
  if (npy_name) return Format::npy;  // read_npy reports the bad magic
  if (idx_name) return Format::idx;
  fail(path, "unrecognised data file: expected a .npy file or an IDX file (raw or gzipped)");
}

Tensor read_any(const std::string& path) {
  return detect_format(path) == Format::npy ? read_npy(path) : read_idx(path);
}

// True when `path` is a .npy file holding float64 ('<f8'): read_npy narrows it to f32, so an
// Inf there may have been a finite float64 beyond the float32 range. Only words the error.
bool is_float64_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(512, '\0');
  in.read(head.data(), std::streamsize(head.size()));
  head.resize(std::size_t(in.gcount()));
  if (head.rfind("\x93NUMPY", 0) != 0) return false;
  head = head.substr(0, head.find('\n'));
  return head.find("<f8") != std::string::npos;
}

// "element 1234 (sample 1, index 450)": flat index, then the sample and the index inside it.
std::string element_string(std::size_t flat, const Shape& shape) {
  const std::int64_t samples = shape.empty() ? 1 : std::max<std::int64_t>(shape[0], 1);
  const std::int64_t per_sample = std::max<std::int64_t>(element_count(shape) / samples, 1);
  return fmt::format("element {} (sample {}, index {})", flat, std::int64_t(flat) / per_sample,
                     std::int64_t(flat) % per_sample);
}

// Converts to f32 into `out` (same element count); uint8 is multiplied by `scale`.
void convert_samples(const Tensor& in, std::span<float> out, float scale) {
  auto copy = [&](auto values) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(values[i]);
  };
  switch (in.dtype()) {
    case DType::f32: std::copy(in.f32().begin(), in.f32().end(), out.begin()); break;
    case DType::u8: {
      auto values = in.data<std::uint8_t>();
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = float(values[i]) * scale;
      break;
    }
    case DType::i64: copy(in.data<std::int64_t>()); break;
    case DType::i32: copy(in.data<std::int32_t>()); break;
    case DType::i8: copy(in.data<std::int8_t>()); break;
    case DType::boolean: copy(in.data<std::uint8_t>()); break;
  }
}

// The channel axis of samples of `shape`: 1, or the last with --channels-last.
std::size_t channel_axis(const Shape& shape, bool channels_last) { return channels_last ? shape.size() - 1 : 1; }

// Checks a mean/std list against the channel axis of `shape`.
void check_channels(const std::string& path, const char* option, const std::vector<float>& values, const Shape& shape,
                    bool channels_last) {
  if (values.size() <= 1) return;
  if (shape.size() < 2)
    fail(path, "{} has {} values but the data (shape {}) has no channel axis; give one value", option, values.size(),
         shape_string(shape));
  const std::size_t axis = channel_axis(shape, channels_last);
  if (std::int64_t(values.size()) != shape[axis])
    fail(path, "{} has {} values but the data has {} channels (axis {} of shape {}{}); give one value or {}", option,
         values.size(), shape[axis], axis, shape_string(shape),
         channels_last ? ", --channels-last" : "; NHWC data: --channels-last", shape[axis]);
}

}  // namespace

void check_finite(const std::string& path, const Tensor& data) {
  if (data.dtype() != DType::f32) return;  // integer and bool data cannot hold NaN or Inf
  auto values = data.f32();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if (std::isfinite(v)) continue;
    const char* what = std::isnan(v)          ? "NaN"
                       : is_float64_npy(path) ? "infinite or a float64 beyond the float32 range (3.4e38)"
                       : v > 0                ? "+Inf"
                                              : "-Inf";
    fail(path, "{} is {}", element_string(i, data.shape()), what);
  }
}

Tensor load_samples(const std::string& path, const Preprocess& preprocess) {
  // A zero or negative scale collapses or mirrors every image; calibration would then "work"
  // and give a useless model, so it is refused like a non-finite one.
  if (!std::isfinite(preprocess.scale) || !(preprocess.scale > 0))
    fail("--scale", "{} must be a finite number > 0", preprocess.scale);
  for (std::size_t c = 0; c < preprocess.mean.size(); ++c)
    if (!std::isfinite(preprocess.mean[c]))
      fail("--mean", "value {} (channel {}) is not finite", preprocess.mean[c], c);
  for (std::size_t c = 0; c < preprocess.std.size(); ++c)
    if (!std::isfinite(preprocess.std[c]) || !(preprocess.std[c] > 0))
      fail("--std", "value {} (channel {}) must be a finite number > 0", preprocess.std[c], c);

  const Format format = detect_format(path);
  const Tensor raw = format == Format::npy ? read_npy(path) : read_idx(path);
  if (raw.shape().empty()) fail(path, "expected samples [N, ...], got a scalar");
  if (raw.shape()[0] == 0) fail(path, "contains no samples (shape {})", shape_string(raw.shape()));

  if (raw.dtype() == DType::f32) check_finite(path, raw);

  Shape shape = raw.shape();
  if (format == Format::idx && shape.size() == 3) shape.insert(shape.begin() + 1, 1);  // N×H×W -> N×1×H×W
  check_channels(path, "--mean", preprocess.mean, shape, preprocess.channels_last);
  check_channels(path, "--std", preprocess.std, shape, preprocess.channels_last);

  Tensor out(DType::f32, shape);
  auto x = out.f32();
  convert_samples(raw, x, preprocess.scale);

  if (!preprocess.mean.empty() || !preprocess.std.empty()) {
    // Elements as [outer, channels, inner] around the channel axis.
    const std::size_t axis = shape.size() >= 2 ? channel_axis(shape, preprocess.channels_last) : 0;
    const std::int64_t channels = shape.size() >= 2 ? shape[axis] : 1;
    std::int64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < shape.size(); ++d)
      if (shape.size() >= 2 && d < axis)
        outer *= shape[d];
      else if (shape.size() < 2 || d > axis)
        inner *= shape[d];
    if (shape.size() < 2) outer = 1;
    auto pick = [](const std::vector<float>& v, std::int64_t c, float fallback) {
      return v.empty() ? fallback : v.size() == 1 ? v[0] : v[std::size_t(c)];
    };
    std::size_t i = 0;
    for (std::int64_t n = 0; n < outer; ++n)
      for (std::int64_t c = 0; c < channels; ++c) {
        const float mean = pick(preprocess.mean, c, 0.0f), deviation = pick(preprocess.std, c, 1.0f);
        for (std::int64_t k = 0; k < inner; ++k, ++i) x[i] = (x[i] - mean) / deviation;
      }
  }
  // Finite data can still overflow: uint8 times a huge --scale, or a tiny --std.
  auto values = out.f32();
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      fail(path, "{} becomes {} after --scale/--mean/--std (check those options)", element_string(i, shape),
           std::isnan(values[i]) ? "NaN"
           : values[i] > 0       ? "+Inf"
                                 : "-Inf");
  return out;
}

std::vector<std::int64_t> load_labels(const std::string& path) {
  const Tensor t = read_any(path);
  const Shape& shape = t.shape();
  if (!(shape.size() == 1 || (shape.size() == 2 && shape[1] == 1)))
    fail(path, "labels must be 1-D or N x 1, got shape {}", shape_string(shape));
  if (t.numel() == 0) fail(path, "contains no labels");

  std::vector<std::int64_t> labels(std::size_t(t.numel()));
  if (t.dtype() == DType::f32) {
    auto values = t.f32();
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const float v = values[i];
      if (!std::isfinite(v) || v != std::floor(v) || std::fabs(v) > 9.0e18f)
        fail(path, "label at index {} is {}, not an integer class", i, v);
      labels[i] = std::int64_t(v);
    }
  } else {
    labels = t.as_i64();
  }
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0) fail(path, "negative label {} at index {}", labels[i], i);
  return labels;
}

std::string fashion_mnist_path(bool train, bool labels) {
  return fmt::format("{}/{}-{}-ubyte.gz", kFashionMnistDir, train ? "train" : "t10k",
                     labels ? "labels-idx1" : "images-idx3");
}

Tensor fashion_mnist(bool train, bool labels) {
  const std::string path = fashion_mnist_path(train, labels);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    fail(path, "Fashion-MNIST not found; install dataset-fashion-mnist (apt-get install dataset-fashion-mnist)");
  if (!labels) return load_samples(path, Preprocess{});
  const auto values = load_labels(path);
  return Tensor::from_i64({std::int64_t(values.size())}, values);
}

}  // namespace tinyq
