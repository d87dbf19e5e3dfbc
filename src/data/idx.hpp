#pragma once
// IDX files, the format of MNIST and Fashion-MNIST: magic 00 00 <type> <ndim>, then ndim
// big-endian uint32 dims, then big-endian data. Raw or gzipped (detected by content).
#include <string>

#include "ir/tensor.hpp"

namespace tinyq {

// Element types: 0x08 u8 -> u8, 0x09 i8 -> i8, 0x0B i16 -> i32, 0x0C i32 -> i32,
// 0x0D f32 -> f32, 0x0E f64 -> f32. Every malformed file (bad magic, unknown type,
// truncated header or data, trailing data, over 2^31 elements, corrupt gzip stream) ends in
// tinyq::Error naming the file. Decompression never allocates more than the dims declare,
// and grows only as data actually arrives.
Tensor read_idx(const std::string& path);

}  // namespace tinyq
