#pragma once
// ONNX models at opsets 1-6 (old exporters: Caffe2, early PyTorch and CNTK converters), brought
// to opset 7 by ONNX's own version converter before import. What changed at 7 is exactly what
// the importer must not guess at: Add/Sub/Mul/Div's legacy `broadcast`/`axis` attributes,
// BatchNormalization's and Dropout's `is_test`, Gemm's `broadcast`, `consumed_inputs`.
#include <onnx/onnx_pb.h>

#include <string>

namespace tinyq::onnx_import {

inline constexpr int kFirstNativeOpset = 7;

// `model` at opset `opset` < 7, converted to opset 7. Throws tinyq::Error naming `where` when
// the converter cannot (an op it has no adapter for, such as Pad-1, or a malformed graph).
onnx::ModelProto upgrade_legacy_opset(const onnx::ModelProto& model, int opset, const std::string& where);

}  // namespace tinyq::onnx_import
