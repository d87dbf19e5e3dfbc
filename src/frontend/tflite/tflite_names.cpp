// Names of the format's enum values, for messages: every builtin operator code (so that an
// unsupported operator is named as the converter's user knows it), tensor types, activations.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

#include "frontend/tflite/tflite_model.hpp"

namespace tinyq::tflite {

namespace {

// Every builtin operator's name, in code order (the first is code 0). Codes after the last
// name are named by number.
constexpr std::string_view kBuiltinNames =
    "ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE "
    "EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D "
    "LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 RELU6 "
    "RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS SKIP_GRAM CALL "
    "CUSTOM EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND "
    "SPACE_TO_BATCH_ND TRANSPOSE MEAN SUB DIV SQUEEZE UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE "
    "BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST "
    "PRELU MAXIMUM ARG_MAX MINIMUM LESS NEG PADV2 GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN "
    "TRANSPOSE_CONV SPARSE_TO_DENSE TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW "
    "ARG_MIN FAKE_QUANT REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK "
    "REDUCE_MIN FLOOR_DIV REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR "
    "LEAKY_RELU SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND COS "
    "WHERE RANK ELU REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE "
    "NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM BATCH_MATMUL "
    "PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D IMAG REAL COMPLEX_ABS "
    "HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT HASHTABLE_SIZE REDUCE_ALL CONV_3D_TRANSPOSE VAR_HANDLE "
    "READ_VARIABLE ASSIGN_VARIABLE BROADCAST_ARGS RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM "
    "MULTINOMIAL GELU DYNAMIC_UPDATE_SLICE RELU_0_TO_1 UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX "
    "UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN";

const std::vector<std::string_view>& builtin_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> list;
    for (std::size_t at = 0; at < kBuiltinNames.size();) {
      std::size_t end = std::min(kBuiltinNames.find(' ', at), kBuiltinNames.size());
      list.push_back(kBuiltinNames.substr(at, end - at));
      at = end + 1;
    }
    return list;
  }();
  return names;
}

constexpr std::array kTypeNames = {"FLOAT32", "FLOAT16",  "INT32",     "UINT8",  "INT64",   "STRING",
                                   "BOOL",    "INT16",    "COMPLEX64", "INT8",   "FLOAT64", "COMPLEX128",
                                   "UINT64",  "RESOURCE", "VARIANT",   "UINT32", "UINT16",  "INT4"};

}  // namespace

std::string builtin_name(std::int32_t code) {
  const auto& names = builtin_names();
  if (code >= 0 && std::size_t(code) < names.size()) return std::string(names[std::size_t(code)]);
  return fmt::format("BUILTIN_{}", code);
}

const char* tensor_type_name(TensorType type) {
  auto index = std::size_t(std::uint8_t(type));
  return index < kTypeNames.size() ? kTypeNames[index] : "unknown type";
}

std::size_t tensor_type_size(TensorType type) {
  switch (type) {
    case TensorType::Bool:
    case TensorType::Int8:
    case TensorType::UInt8: return 1;
    case TensorType::Float16:
    case TensorType::Int16:
    case TensorType::UInt16: return 2;
    case TensorType::Float32:
    case TensorType::Int32:
    case TensorType::UInt32: return 4;
    case TensorType::Float64:
    case TensorType::Int64:
    case TensorType::UInt64:
    case TensorType::Complex64: return 8;
    case TensorType::Complex128: return 16;
    default: return 0;  // string, resource, variant, int4
  }
}

std::size_t constant_byte_size(TensorType type, std::int64_t elements) {
  if (type == TensorType::Int4) return std::size_t((elements + 1) / 2);  // two per byte
  return tensor_type_size(type) * std::size_t(elements);
}

const char* activation_name(Activation activation) {
  switch (activation) {
    case Activation::None: return "NONE";
    case Activation::Relu: return "RELU";
    case Activation::ReluN1To1: return "RELU_N1_TO_1";
    case Activation::Relu6: return "RELU6";
    case Activation::Tanh: return "TANH";
    case Activation::SignBit: return "SIGN_BIT";
  }
  return "unknown activation";
}

}  // namespace tinyq::tflite
