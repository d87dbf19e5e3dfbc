#include "data/npy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string_view>
#include <system_error>

#include "data/file_util.hpp"
#include "ir/float16.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using data_detail::regular_file_size;
using data_detail::to_native;

constexpr std::array<unsigned char, 6> kMagic = {0x93, 'N', 'U', 'M', 'P', 'Y'};

// How the array is stored in the file and what it becomes in memory.
struct StoredType {
  DType dtype;            // tensor type
  std::size_t file_size;  // bytes per element in the file
  bool float64 = false;   // '<f8', narrowed to f32
  bool float16 = false;   // '<f2', widened to f32 (ir/float16.hpp)
};

// Decodes a descr string such as '<f4'.
StoredType parse_descr(const std::string& path, const std::string& descr) {
  constexpr const char* kSupported = "'<f4', '<f8', '<f2', '|u1', '<i8', '<i4', '|i1', '|b1'";
  if (descr.size() < 3) fail(path, "unsupported dtype '{}' (supported: {})", descr, kSupported);
  const char order = descr[0];
  const std::string_view kind(descr.data() + 1, descr.size() - 1);
  if (order != '<' && order != '>' && order != '|' && order != '=')
    fail(path, "unsupported dtype '{}' (supported: {})", descr, kSupported);
  std::optional<StoredType> type;
  if (kind == "f4")
    type = StoredType{DType::f32, 4};
  else if (kind == "f8")
    type = StoredType{DType::f32, 8, true};
  else if (kind == "f2")
    type = StoredType{DType::f32, 2, false, true};
  else if (kind == "u1")
    type = StoredType{DType::u8, 1};
  else if (kind == "i8")
    type = StoredType{DType::i64, 8};
  else if (kind == "i4")
    type = StoredType{DType::i32, 4};
  else if (kind == "i1")
    type = StoredType{DType::i8, 1};
  else if (kind == "b1")
    type = StoredType{DType::boolean, 1};
  if (!type) fail(path, "unsupported dtype '{}' (supported: {})", descr, kSupported);
  if (type->file_size > 1) {
    if (order == '>') fail(path, "big-endian dtype '{}' is not supported; convert with arr.astype('<{}')", descr, kind);
    if (order == '|') fail(path, "dtype '{}' needs a byte order ('<')", descr);
    if (order == '=' && std::endian::native != std::endian::little)
      fail(path, "native-order dtype '{}' is ambiguous; use '<{}'", descr, kind);
  }
  return *type;
}

// The header is a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// This parser accepts exactly the subset NumPy writes: string keys, and string, boolean
// or integer-tuple values.
class HeaderParser {
 public:
  HeaderParser(const std::string& path, std::string_view text) : path_(path), text_(text) {}

  struct Value {
    enum class Kind { string, boolean, tuple, list } kind;
    std::string text;
    bool flag = false;
    Shape dims;
  };

  std::map<std::string, Value> parse_dict() {
    std::map<std::string, Value> dict;
    skip_space();
    expect('{', "the header dict to start with '{'");
    while (true) {
      skip_space();
      if (consume('}')) break;
      std::string key = parse_string();
      skip_space();
      expect(':', "':' after a key");
      Value value = parse_value();
      if (!dict.emplace(key, std::move(value)).second) bad(fmt::format("duplicate key '{}'", key));
      skip_space();
      if (consume(',')) continue;
      expect('}', "',' or '}' after a value");
      break;
    }
    skip_space();
    if (pos_ != text_.size()) bad("unexpected text after the closing '}'");
    return dict;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(path_, "malformed NPY header: {} at offset {}", what, pos_);
  }
  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c, const char* what) {
    if (!consume(c)) bad(fmt::format("expected {}", what));
  }
  std::string parse_string() {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) bad("expected a quoted string");
    const char quote = text_[pos_++];
    const auto end = text_.find(quote, pos_);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string out(text_.substr(pos_, end - pos_));
    if (out.find('\\') != std::string::npos) bad("escape sequences are not supported in strings");
    pos_ = end + 1;
    return out;
  }
  bool starts_with(std::string_view word) const { return text_.substr(pos_, word.size()) == word; }
  std::int64_t parse_int() {
    bool negative = consume('-');
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') bad("expected an integer");
    std::int64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (value > (std::int64_t{1} << 56)) bad("dimension too large");
      value = value * 10 + (text_[pos_++] - '0');
    }
    consume('L');  // Python 2 longs, e.g. (3L, 4L)
    return negative ? -value : value;
  }
  Value parse_value() {
    skip_space();
    Value value{};
    if (pos_ >= text_.size()) bad("expected a value");
    const char c = text_[pos_];
    if (c == '\'' || c == '"') {
      value.kind = Value::Kind::string;
      value.text = parse_string();
    } else if (starts_with("True") || starts_with("False")) {
      value.kind = Value::Kind::boolean;
      value.flag = text_[pos_] == 'T';
      pos_ += value.flag ? 4 : 5;
    } else if (c == '(') {
      value.kind = Value::Kind::tuple;
      ++pos_;
      skip_space();
      bool trailing_comma = false;
      while (!consume(')')) {
        if (!value.dims.empty() && !trailing_comma) bad("expected ',' or ')' in the shape tuple");
        if (value.dims.size() >= 64) bad("shape has more than 64 dimensions");
        value.dims.push_back(parse_int());
        skip_space();
        trailing_comma = consume(',');
        skip_space();
      }
      // Python needs a comma in a one-element tuple: '(3)' is the int 3.
      if (value.dims.size() == 1 && !trailing_comma) bad("shape '(n)' is not a tuple, expected '(n,)'");
    } else if (c == '[') {
      value.kind = Value::Kind::list;  // structured dtype; rejected by the caller
      int depth = 0;
      for (; pos_ < text_.size(); ++pos_) {
        if (text_[pos_] == '[') ++depth;
        if (text_[pos_] == ']' && --depth == 0) break;
      }
      if (depth != 0) bad("unterminated list");
      ++pos_;
    } else {
      bad("expected a string, True/False or a tuple");
    }
    return value;
  }

  const std::string& path_;
  std::string_view text_;
  std::size_t pos_ = 0;
};

std::uint32_t read_le(const unsigned char* p, int bytes) {
  std::uint32_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

void read_exact(std::ifstream& in, const std::string& path, void* dst, std::uint64_t size, const char* what) {
  in.read(static_cast<char*>(dst), std::streamsize(size));
  if (!in || std::uint64_t(in.gcount()) != size) fail(path, "read error in {}", what);
}

const char* descr_of(DType type) {
  switch (type) {
    case DType::f32: return "<f4";
    case DType::i64: return "<i8";
    case DType::i32: return "<i4";
    case DType::i8: return "|i1";
    case DType::u8: return "|u1";
    case DType::boolean: return "|b1";
  }
  return "?";
}

}  // namespace

Tensor read_npy(const std::string& path) {
  const std::uint64_t file_size = regular_file_size(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: {}", std::strerror(errno));

  // Preamble: magic, version, header length.
  std::array<unsigned char, 12> preamble{};
  if (file_size < 10) fail(path, "not an NPY file: only {} bytes, shorter than the NPY preamble", file_size);
  read_exact(in, path, preamble.data(), 8, "the NPY preamble");
  if (!std::equal(kMagic.begin(), kMagic.end(), preamble.begin()))
    fail(path, "not an NPY file (bad magic; expected \\x93NUMPY)");
  const int major = preamble[6], minor = preamble[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    fail(path, "unsupported NPY format version {}.{} (supported: 1.0, 2.0, 3.0)", major, minor);
  const int length_bytes = major == 1 ? 2 : 4;
  if (file_size < std::uint64_t(8 + length_bytes)) fail(path, "truncated NPY preamble");
  read_exact(in, path, preamble.data() + 8, length_bytes, "the NPY preamble");
  const std::uint64_t header_length = read_le(preamble.data() + 8, length_bytes);
  const std::uint64_t data_offset = 8 + length_bytes + header_length;
  if (data_offset > file_size)
    fail(path, "truncated NPY header: header declares {} bytes but the file has only {} after the preamble",
         header_length, file_size - 8 - length_bytes);

  // Header dict.
  std::string header(header_length, '\0');
  read_exact(in, path, header.data(), header_length, "the NPY header");
  if (header.find('\0') != std::string::npos) fail(path, "malformed NPY header: contains a NUL byte");
  auto dict = HeaderParser(path, header).parse_dict();
  for (const auto& [key, value] : dict)
    if (key != "descr" && key != "fortran_order" && key != "shape")
      fail(path, "malformed NPY header: unexpected key '{}'", key);
  using Kind = HeaderParser::Value::Kind;
  auto get = [&](const char* key, Kind kind, const char* what) -> const HeaderParser::Value& {
    auto it = dict.find(key);
    if (it == dict.end()) fail(path, "malformed NPY header: missing key '{}'", key);
    if (it->second.kind != kind) {
      if (it->second.kind == Kind::list && std::string_view(key) == "descr")
        fail(path, "unsupported dtype: structured arrays are not supported");
      fail(path, "malformed NPY header: '{}' must be {}", key, what);
    }
    return it->second;
  };
  const StoredType stored = parse_descr(path, get("descr", Kind::string, "a dtype string").text);
  if (get("fortran_order", Kind::boolean, "True or False").flag)
    fail(path, "Fortran-ordered arrays are not supported; save with np.ascontiguousarray(arr)");
  Shape shape = get("shape", Kind::tuple, "a tuple of integers").dims;

  // Sizes are checked against the file before anything is allocated.
  const std::int64_t count = element_count(shape, path);
  const std::uint64_t data_bytes = std::uint64_t(count) * stored.file_size;
  const std::uint64_t available = file_size - data_offset;
  if (available < data_bytes)
    fail(path, "truncated NPY data: shape {} needs {} bytes but the file has {}", shape_string(shape), data_bytes,
         available);
  if (available > data_bytes)
    fail(path, "NPY data is longer than shape {} says: {} extra bytes", shape_string(shape), available - data_bytes);

  Tensor tensor(stored.dtype, std::move(shape));
  if (stored.float16) {
    // Widen in chunks, as f64 below: the model computes in float32 whatever the file holds.
    auto out = tensor.f32();
    std::vector<std::uint16_t> chunk(std::size_t(std::min<std::int64_t>(count, 1 << 16)));
    for (std::size_t done = 0; done < out.size();) {
      const std::size_t n = std::min(chunk.size(), out.size() - done);
      read_exact(in, path, chunk.data(), n * sizeof(std::uint16_t), "the NPY data");
      to_native(std::as_writable_bytes(std::span(chunk.data(), n)), sizeof(std::uint16_t), std::endian::little);
      for (std::size_t i = 0; i < n; ++i) out[done + i] = float16_to_float(chunk[i]);
      done += n;
    }
  } else if (!stored.float64) {
    read_exact(in, path, tensor.bytes().data(), data_bytes, "the NPY data");
    to_native(tensor.bytes(), stored.file_size, std::endian::little);
    if (stored.dtype == DType::boolean)
      for (auto& b : tensor.bytes()) b = std::byte(b != std::byte{0});
  } else {
    // Narrow f64 to f32 in chunks so the file is never held twice in memory.
    auto out = tensor.f32();
    std::vector<double> chunk(std::size_t(std::min<std::int64_t>(count, 1 << 16)));
    for (std::size_t done = 0; done < out.size();) {
      const std::size_t n = std::min(chunk.size(), out.size() - done);
      read_exact(in, path, chunk.data(), n * sizeof(double), "the NPY data");
      to_native(std::as_writable_bytes(std::span(chunk.data(), n)), sizeof(double), std::endian::little);
      for (std::size_t i = 0; i < n; ++i) out[done + i] = static_cast<float>(chunk[i]);
      done += n;
    }
  }
  return tensor;
}

void write_npy(const std::string& path, const Tensor& tensor) {
  const std::int64_t count = element_count(tensor.shape(), path);
  if (tensor.byte_size() != std::size_t(count) * dtype_size(tensor.dtype()))
    fail(path, "cannot write an empty or inconsistent tensor ({} bytes for shape {})", tensor.byte_size(),
         shape_string(tensor.shape()));

  std::string shape_text = "(";
  for (std::size_t i = 0; i < tensor.shape().size(); ++i)
    shape_text += fmt::format("{}{}", i ? ", " : "", tensor.shape()[i]);
  shape_text += tensor.shape().size() == 1 ? ",)" : ")";
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr_of(tensor.dtype()), shape_text);
  // Pad with spaces and end with '\n' so the data starts on a 64-byte boundary.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 0xffff) fail(path, "NPY header too long for format 1.0");

  std::string preamble(reinterpret_cast<const char*>(kMagic.data()), kMagic.size());
  preamble += '\x01';
  preamble += '\x00';
  preamble += char(header.size() & 0xff);
  preamble += char(header.size() >> 8);

  AtomicFile out(path);
  out.write(preamble);
  out.write(header);
  if constexpr (std::endian::native == std::endian::little) {
    out.write(tensor.bytes().data(), tensor.byte_size());
  } else {
    std::vector<std::byte> copy(tensor.bytes().begin(), tensor.bytes().end());
    data_detail::swap_bytes(copy, dtype_size(tensor.dtype()));
    out.write(copy.data(), copy.size());
  }
  out.commit();
}

}  // namespace tinyq
