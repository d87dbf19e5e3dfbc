#pragma once
// Facts about IR ops that several quantizer stages rely on.
#include "ir/op.hpp"

namespace tinyq {

// Ops whose output is a subset or rearrangement of their input's values: they keep the
// input's quantization, so no requantization (and no error) happens there.
inline bool keeps_quantization(Op op) {
  switch (op) {
    case Op::Reshape:
    case Op::Identity:
    case Op::MaxPool:
    case Op::GlobalMaxPool:
    case Op::Pad:
    case Op::Resize:
    case Op::Transpose:
    case Op::Slice:
    case Op::Gather: return true;
    default: return false;
  }
}

}  // namespace tinyq
