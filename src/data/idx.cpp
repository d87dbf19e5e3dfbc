#include "data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "data/file_util.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

struct IdxType {
  const char* name;
  std::size_t size;  // bytes per element in the file
  DType dtype;       // tensor type
};

IdxType idx_type(const std::string& path, unsigned code) {
  switch (code) {
    case 0x08: return {"uint8", 1, DType::u8};
    case 0x09: return {"int8", 1, DType::i8};
    case 0x0B: return {"int16", 2, DType::i32};
    case 0x0C: return {"int32", 4, DType::i32};
    case 0x0D: return {"float32", 4, DType::f32};
    case 0x0E: return {"float64", 8, DType::f32};
  }
  fail(path, "unsupported IDX element type 0x{:02x} (supported: 08 09 0b 0c 0d 0e)", code);
}

struct GzClose {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzClose>;

std::string gz_message(gzFile file) {
  int code = Z_OK;
  const char* message = gzerror(file, &code);
  if (code == Z_OK || message == nullptr || *message == '\0') return {};
  if (code == Z_ERRNO) return std::strerror(errno);
  return message;
}

// Reads up to `size` bytes; returns how many arrived. Fails on a stream error.
std::size_t gz_read(gzFile file, const std::string& path, void* dst, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const unsigned want = unsigned(std::min<std::size_t>(size - done, 1u << 20));
    const int got = gzread(file, static_cast<char*>(dst) + done, want);
    if (got < 0) {
      const std::string message = gz_message(file);
      fail(path, "corrupt or truncated gzip stream{}{}", message.empty() ? "" : ": ", message);
    }
    if (got == 0) {
      // zlib reports a stream cut short (even inside the gzip trailer) as end of file plus
      // an error state, not as a failed read.
      const std::string message = gz_message(file);
      if (!message.empty()) fail(path, "corrupt or truncated gzip stream: {}", message);
      break;
    }
    done += std::size_t(got);
  }
  return done;
}

// Big-endian element `i` of `bytes` as an unsigned integer of `size` bytes.
std::uint64_t load_be(const std::byte* bytes, std::size_t i, std::size_t size) {
  std::uint64_t value = 0;
  for (std::size_t k = 0; k < size; ++k) value = (value << 8) | std::uint64_t(bytes[i * size + k]);
  return value;
}

}  // namespace

Tensor read_idx(const std::string& path) {
  const std::uint64_t file_size = data_detail::regular_file_size(path);
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) fail(path, "cannot open: {}", std::strerror(errno));
  gzbuffer(file.get(), 1u << 17);

  unsigned char magic[4];
  if (gz_read(file.get(), path, magic, 4) != 4) fail(path, "not an IDX file: shorter than the 4-byte IDX magic");
  const bool compressed = !gzdirect(file.get());
  if (magic[0] != 0 || magic[1] != 0)
    fail(path, "not an IDX file (magic {:02x} {:02x} {:02x} {:02x}, expected 00 00 <type> <ndim>)", magic[0], magic[1],
         magic[2], magic[3]);
  const IdxType type = idx_type(path, magic[2]);
  const std::size_t ndim = magic[3];
  if (ndim == 0) fail(path, "IDX file declares 0 dimensions");

  unsigned char dim_bytes[4 * 255];
  if (gz_read(file.get(), path, dim_bytes, 4 * ndim) != 4 * ndim)
    fail(path, "truncated IDX header: {} dimensions declared but the file ends inside them", ndim);
  Shape shape(ndim);
  for (std::size_t i = 0; i < ndim; ++i)
    shape[i] = std::int64_t(load_be(reinterpret_cast<const std::byte*>(dim_bytes), i, 4));
  const std::int64_t count = element_count(shape, path);
  const std::uint64_t data_bytes = std::uint64_t(count) * type.size;

  // Raw files are checked against their size before anything is allocated.
  if (!compressed) {
    const std::uint64_t available = file_size - 4 - 4 * ndim;
    if (available < data_bytes)
      fail(path, "truncated IDX data: dims {} need {} bytes but the file has {}", shape_string(shape), data_bytes,
           available);
    if (available > data_bytes)
      fail(path, "IDX data is longer than dims {} say: {} extra bytes", shape_string(shape), available - data_bytes);
  }

  // A compressed stream's real length is unknown until it is inflated, so the buffer grows
  // with the data that actually arrives, capped at the declared size.
  std::vector<std::byte> raw;
  if (!compressed) raw.reserve(data_bytes);
  while (raw.size() < data_bytes) {
    const std::size_t want = std::min<std::uint64_t>(data_bytes - raw.size(), std::uint64_t{1} << 22);
    const std::size_t before = raw.size();
    if (raw.capacity() < before + want)
      raw.reserve(std::min<std::uint64_t>(data_bytes, std::max<std::uint64_t>(before + want, 2 * raw.capacity())));
    raw.resize(before + want);
    const std::size_t got = gz_read(file.get(), path, raw.data() + before, want);
    raw.resize(before + got);
    if (got < want) break;
  }
  if (raw.size() < data_bytes)
    fail(path, "truncated IDX data: dims {} need {} bytes but the {} ends after {}", shape_string(shape), data_bytes,
         compressed ? "decompressed stream" : "file", raw.size());
  unsigned char extra;
  if (gz_read(file.get(), path, &extra, 1) != 0)
    fail(path, "IDX data is longer than dims {} say ({} bytes expected)", shape_string(shape), data_bytes);
  file.reset();

  Tensor tensor(type.dtype, std::move(shape));
  const std::byte* src = raw.data();
  const std::size_t n = std::size_t(count);
  switch (magic[2]) {
    case 0x08:
    case 0x09:
      if (n) std::memcpy(tensor.bytes().data(), src, n);
      break;
    case 0x0B: {
      auto out = tensor.data<std::int32_t>();
      for (std::size_t i = 0; i < n; ++i) out[i] = std::int16_t(std::uint16_t(load_be(src, i, 2)));
      break;
    }
    case 0x0C: {
      auto out = tensor.data<std::int32_t>();
      for (std::size_t i = 0; i < n; ++i) out[i] = std::int32_t(std::uint32_t(load_be(src, i, 4)));
      break;
    }
    case 0x0D: {
      auto out = tensor.f32();
      for (std::size_t i = 0; i < n; ++i) out[i] = std::bit_cast<float>(std::uint32_t(load_be(src, i, 4)));
      break;
    }
    case 0x0E: {
      auto out = tensor.f32();
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(std::bit_cast<double>(load_be(src, i, 8)));
      break;
    }
  }
  return tensor;
}

}  // namespace tinyq
