// Constant tensors of a parsed TFLite model as values: float weights (dequantized when the
// file stores them quantized) and integer parameters (shapes, axes, paddings).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frontend/tflite/tflite_model.hpp"
#include "ir/tensor.hpp"

namespace tinyq::tflite {

// The float function of a constant: FLOAT32 as stored (NaN or Inf refused), FLOAT16 widened,
// INT8/UINT8/INT16/INT32/INT64 with quantization dequantized as
// scale[c] * (q - zero_point[c]) with c the index along quantized_dimension (one pair per
// tensor otherwise). A quantized constant needs positive scales; an integer constant without
// quantization is refused (it is no float function). Throws tinyq::Error naming `where`.
Tensor float_constant(const TensorInfo& tensor, const std::string& where);

// The values of a constant of an integer type (INT32, INT64, INT16, INT8, UINT8), as they are
// stored (not dequantized): shapes, axes, paddings, sizes.
std::vector<std::int64_t> integer_constant(const TensorInfo& tensor, const std::string& where);

// IEEE half precision to single.
float half_to_float(std::uint16_t half);

}  // namespace tinyq::tflite
