// The HDF5 reader runs in a child process (keras_file.hpp says why); what it sends back is a
// small length-prefixed encoding, decoded with bounds checks.
#include <cstring>

#include "frontend/keras/keras_file.hpp"
#include "util/bytes.hpp"
#include "util/error.hpp"
#include "util/isolated.hpp"

namespace tinyq::keras_import {

namespace {

constexpr char kMagic[4] = {'T', 'Q', 'K', 'H'};

class Writer {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(char(v)); }
  void u64(std::uint64_t v) { raw(&v, sizeof v); }
  void text(const std::string& s) {
    u64(s.size());
    bytes_ += s;
  }
  void optional_text(const std::optional<std::string>& s) {
    u8(s.has_value());
    if (s) text(*s);
  }
  void raw(const void* data, std::size_t n) {
    if (n != 0) bytes_.append(static_cast<const char*>(data), n);
  }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

class Reader {
 public:
  Reader(const std::string& bytes, std::string where) : bytes_(bytes), where_(std::move(where)) {}
  std::uint8_t u8() { return std::uint8_t(*take(1)); }
  std::uint64_t u64() {
    std::uint64_t v;
    std::memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  // A count of items each at least `min_bytes` long: bounded by what is left.
  std::size_t count(std::size_t min_bytes) {
    const std::uint64_t n = u64();
    if (n > (bytes_.size() - pos_) / std::max<std::size_t>(min_bytes, 1)) broken();
    return std::size_t(n);
  }
  std::string text() {
    const std::size_t n = count(1);
    return std::string(take(n), n);
  }
  std::optional<std::string> optional_text() {
    if (!u8()) return std::nullopt;
    return text();
  }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  const char* take(std::size_t n) {
    if (n > bytes_.size() - pos_) broken();
    const char* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  [[noreturn]] void broken() const { fail(where_, "the HDF5 reader process sent malformed data (a tinyq bug)"); }

 private:
  const std::string& bytes_;
  std::string where_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string encode_contents(const KerasFileContents& c) {
  Writer w;
  w.raw(kMagic, 4);
  w.optional_text(c.model_config);
  w.optional_text(c.keras_version);
  w.optional_text(c.backend);
  w.u8(c.has_model_weights);
  w.u8(c.layer_names.has_value());
  if (c.layer_names) {
    w.u64(c.layer_names->size());
    for (auto& name : *c.layer_names) w.text(name);
  }
  w.u64(c.layers.size());
  for (auto& [name, layer] : c.layers) {
    w.text(name);
    w.text(layer.error);
    w.u64(layer.weights.size());
    for (auto& weight : layer.weights) {
      w.text(weight.name);
      w.text(weight.error);
      if (!weight.error.empty()) continue;  // no tensor
      w.u64(weight.tensor.shape().size());
      for (auto d : weight.tensor.shape()) w.u64(std::uint64_t(d));
      w.raw(weight.tensor.bytes().data(), weight.tensor.byte_size());
    }
  }
  return w.take();
}

KerasFileContents decode_contents(const std::string& bytes, const std::string& where) {
  Reader r(bytes, where);
  if (std::memcmp(r.take(4), kMagic, 4) != 0) r.broken();
  KerasFileContents c;
  c.model_config = r.optional_text();
  c.keras_version = r.optional_text();
  c.backend = r.optional_text();
  c.has_model_weights = r.u8() != 0;
  if (r.u8()) {
    c.layer_names.emplace(r.count(8));
    for (auto& name : *c.layer_names) name = r.text();
  }
  const std::size_t layers = r.count(24);
  for (std::size_t i = 0; i < layers; ++i) {
    std::string name = r.text();
    StoredLayer layer;
    layer.error = r.text();
    layer.weights.resize(r.count(24));
    for (auto& weight : layer.weights) {
      weight.name = r.text();
      weight.error = r.text();
      if (!weight.error.empty()) continue;
      Shape shape(r.count(8));
      for (auto& d : shape) d = std::int64_t(r.u64());
      const std::int64_t count = element_count(shape, where);
      if (std::uint64_t(count) * 4 > r.remaining()) r.broken();  // before allocating
      weight.tensor = Tensor(DType::f32, shape);
      copy_bytes(weight.tensor.bytes().data(), r.take(weight.tensor.byte_size()), weight.tensor.byte_size());
    }
    c.layers[name] = std::move(layer);
  }
  return c;
}

KerasFileContents read_keras_file(const std::string& path) {
  Isolation isolation;
  isolation.where = path;
  isolation.worker = "the HDF5 reader";
  isolation.on_crash = "libhdf5 crashed reading the file";
  isolation.cause = "its HDF5 structure is corrupt";
  isolation.seconds = kReadSeconds;
  return decode_contents(run_isolated([&] { return encode_contents(read_keras_file_here(path)); }, isolation), path);
}

}  // namespace tinyq::keras_import
