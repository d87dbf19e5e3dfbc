#pragma once
// Little-endian binary writer and a bounds-checked reader for tinyq's own files. The reader
// never trusts a count: every length is checked against the bytes left before allocating.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace tinyq {

class BinaryWriter {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(v); }
  void u32(std::uint32_t v) { raw(&v, 4); }
  void i64(std::int64_t v) { raw(&v, 8); }
  void f32(float v) { raw(&v, 4); }
  void str(const std::string& s) {
    i64(std::int64_t(s.size()));
    raw(s.data(), s.size());
  }
  template <typename T>
  void array(const std::vector<T>& v) {
    i64(std::int64_t(v.size()));
    raw(v.data(), v.size() * sizeof(T));
  }
  void raw(const void* p, std::size_t n) {
    auto* b = static_cast<const std::uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
  }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

class BinaryReader {
 public:
  BinaryReader(const std::uint8_t* data, std::size_t size, std::string where)
      : data_(data), size_(size), where_(std::move(where)) {}
  std::uint8_t u8() { return take<std::uint8_t>(); }
  std::uint32_t u32() { return take<std::uint32_t>(); }
  std::int64_t i64() { return take<std::int64_t>(); }
  float f32() { return take<float>(); }
  // A count of items of `item_size` bytes each that must still fit in the file.
  std::size_t count(std::size_t item_size) {
    std::int64_t n = i64();
    if (n < 0 || (item_size && std::uint64_t(n) > (size_ - pos_) / item_size))
      fail(where_, "corrupt file: bad length {}", n);
    return std::size_t(n);
  }
  std::string str() {
    std::size_t n = count(1);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  template <typename T>
  std::vector<T> array() {
    std::size_t n = count(sizeof(T));
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), data_ + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  bool at_end() const { return pos_ == size_; }

 private:
  template <typename T>
  T take() {
    if (size_ - pos_ < sizeof(T)) fail(where_, "corrupt file: truncated");
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  const std::uint8_t* data_;
  std::size_t size_, pos_ = 0;
  std::string where_;
};

}  // namespace tinyq
