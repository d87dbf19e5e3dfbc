#pragma once
// NumPy .npy files (format versions 1.0, 2.0 and 3.0), the exchange format for datasets
// and reference outputs. Readers treat every file as hostile: any malformed input ends in
// tinyq::Error naming the file, never in a crash or an oversized allocation.
#include <string>

#include "ir/tensor.hpp"

namespace tinyq {

// Reads a C-ordered array. Supported dtypes: '<f4' and '<f8' (both become f32), '|u1',
// '<i8', '<i4', '|i1', '|b1'. Fortran order, big-endian data, structured or other dtypes,
// size mismatches and shapes over 2^31 elements are rejected.
Tensor read_npy(const std::string& path);

// Writes a version 1.0 file (descr '<f4', '<i8', '<i4', '|i1', '|u1' or '|b1'). The data
// goes to a fresh temporary next to `path` (AtomicFile) and is renamed into place, so a
// failure leaves no partial file and touches no other file.
void write_npy(const std::string& path, const Tensor& tensor);

}  // namespace tinyq
