#pragma once
// Small helpers shared by the data readers (internal to src/data).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace tinyq::data_detail {

// Fails (tinyq::Error naming `path`) unless `path` is an existing regular file; returns its size.
std::uint64_t regular_file_size(const std::string& path);

// Reverses the bytes of every `element_size`-byte element in place.
void swap_bytes(std::span<std::byte> bytes, std::size_t element_size);

// Converts elements stored with the given byte order to the host order, in place.
inline void to_native(std::span<std::byte> bytes, std::size_t element_size, std::endian stored) {
  if (element_size > 1 && stored != std::endian::native) swap_bytes(bytes, element_size);
}

// Lower-case file name suffix test, e.g. has_suffix("a/X.NPY", ".npy").
bool has_suffix(const std::string& path, const std::string& suffix);

}  // namespace tinyq::data_detail
