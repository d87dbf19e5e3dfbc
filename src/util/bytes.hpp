#pragma once
// Byte copies where the count may be zero: memcpy with a null pointer is undefined behaviour
// even for zero bytes, and empty tensors and buffers may have null data (UBSan in the
// fuzzers reports it). Use this wherever a count can be 0.
#include <cstddef>
#include <cstring>

namespace tinyq {

inline void copy_bytes(void* dst, const void* src, std::size_t n) {
  if (n != 0) std::memcpy(dst, src, n);
}

}  // namespace tinyq
