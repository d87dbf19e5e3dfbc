// Internal to the parse layer: the operator option tables of the FlatBuffer decoded into the
// plain structs of tflite_model.hpp.
#pragma once

#include "frontend/tflite/tflite_model.hpp"
#include "tflite_schema_generated.h"

namespace tinyq::tflite {

// The decoded options, or std::monostate when the operator has none or carries a table the
// parse layer does not decode.
Options decode_options(const tflite_fb::Operator& op);

}  // namespace tinyq::tflite
