// The parse layer of the TFLite importer: a .tflite FlatBuffer read into plain C++ structs,
// with no IR in sight. The float importer (tflite_import.cpp) converts a TfliteModel into a
// Graph; a pre-quantized int8 path can build on the same structs, because they keep what the
// file says: tensor types, raw constant bytes and the quantization parameters (scales, zero
// points, quantized_dimension) exactly as stored.
//
// What read_tflite guarantees (all checked before it returns; any failure is one
// tinyq::Error naming the file and the tensor or operator):
//   - the FlatBuffers verifier accepted the file and its identifier is "TFL3", version 3;
//   - the model has at least one subgraph; only the first (the main graph) is read;
//   - every tensor index (subgraph inputs/outputs, operator inputs/outputs) is in range,
//     -1 only for omitted optional operator inputs;
//   - every tensor has non-negative dimensions, at most kMaxElements elements, a known type
//     and a buffer index in range; constant data (in the FlatBuffer, or after it where the
//     buffer gives an offset and size, as converters write models over 2 GB) lies inside the
//     file and is exactly element count x element size bytes long;
//   - quantization: zero points as many as scales (or none, meaning 0), scales finite;
//     several scales only along a valid quantized_dimension, one per slice;
//   - every operator's opcode index is in range; sparse tensors and custom quantization are
//     refused, and so is a variable tensor with data (TFLite's interpreter refuses it too:
//     its variables start at zero);
//   - options of the tables listed below are decoded; an operator whose options belong to
//     another table keeps the raw tag (OperatorInfo::options_tag) with std::monostate.
// It does not check that operators make sense (shapes, input counts): that is the job of
// whoever interprets them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace tinyq::tflite {

// Element types; the values are the file's.
enum class TensorType : std::int8_t {
  Float32 = 0,
  Float16 = 1,
  Int32 = 2,
  UInt8 = 3,
  Int64 = 4,
  String = 5,
  Bool = 6,
  Int16 = 7,
  Complex64 = 8,
  Int8 = 9,
  Float64 = 10,
  Complex128 = 11,
  UInt64 = 12,
  Resource = 13,
  Variant = 14,
  UInt32 = 15,
  UInt16 = 16,
  Int4 = 17,
};
const char* tensor_type_name(TensorType type);
// Bytes per element, 0 for types without a fixed size (string, resource, variant; int4 packs
// two elements per byte and is handled by constant_byte_size).
std::size_t tensor_type_size(TensorType type);

// Builtin operator codes the converter knows (values fixed by the format). builtin_name()
// names every code of the format, for error messages.
enum class BuiltinOp : std::int32_t {
  Add = 0,
  AveragePool2D = 1,
  Concatenation = 2,
  Conv2D = 3,
  DepthwiseConv2D = 4,
  Dequantize = 6,
  FullyConnected = 9,
  Logistic = 14,
  MaxPool2D = 17,
  Mul = 18,
  Relu = 19,
  ReluN1To1 = 20,
  Relu6 = 21,
  Reshape = 22,
  Softmax = 25,
  Tanh = 28,
  Custom = 32,
  Pad = 34,
  Transpose = 39,
  Mean = 40,
  Sub = 41,
  Div = 42,
  Squeeze = 43,
  UnidirectionalSequenceLstm = 44,
  StridedSlice = 45,
  Exp = 47,
  Split = 49,
  Prelu = 54,
  Neg = 59,
  PadV2 = 60,
  TransposeConv = 67,
  ExpandDims = 70,
  Sqrt = 75,
  ResizeNearestNeighbor = 97,
  LeakyRelu = 98,
  Quantize = 114,
  HardSwish = 117,
};
// "CONV_2D", ...; "BUILTIN_<code>" for a code newer than this table.
std::string builtin_name(std::int32_t code);

// real = scale[i] * (q - zero_point[i]); i is 0 for per-tensor quantization, else the index
// along quantized_dimension.
struct Quantization {
  std::vector<float> scale;
  std::vector<std::int64_t> zero_point;  // same length as scale (filled with 0 if the file has none)
  int quantized_dimension = 0;
  std::vector<float> min, max;  // recorded ranges, informative only
  bool present() const { return !scale.empty(); }
};

struct TensorInfo {
  int index = 0;
  std::string name;
  TensorType type = TensorType::Float32;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> shape_signature;  // empty if the file has none; -1 marks a dynamic dimension
  bool has_data = false;                      // a constant (weights, shapes, axes)
  std::vector<std::uint8_t> data;             // its bytes, little-endian, as stored
  Quantization quant;
  // State an operator keeps between invocations (an LSTM's hidden and cell state); zero at
  // the start, never with data.
  bool is_variable = false;
};

enum class Activation : std::int8_t { None = 0, Relu = 1, ReluN1To1 = 2, Relu6 = 3, Tanh = 4, SignBit = 5 };
const char* activation_name(Activation activation);
enum class Padding : std::int8_t { Same = 0, Valid = 1 };

// Decoded option tables. Defaults are the format's (a missing table means all defaults).
struct Conv2DOptions {
  Padding padding = Padding::Same;
  int stride_w = 0, stride_h = 0;
  Activation activation = Activation::None;
  int dilation_w = 1, dilation_h = 1;
};
struct DepthwiseConv2DOptions {
  Padding padding = Padding::Same;
  int stride_w = 0, stride_h = 0;
  int depth_multiplier = 0;
  Activation activation = Activation::None;
  int dilation_w = 1, dilation_h = 1;
};
struct Pool2DOptions {
  Padding padding = Padding::Same;
  int stride_w = 0, stride_h = 0;
  int filter_w = 0, filter_h = 0;
  Activation activation = Activation::None;
};
struct FullyConnectedOptions {
  Activation activation = Activation::None;
  int weights_format = 0;  // 0 default, 1 shuffled 4x16 int8
  bool keep_num_dims = false;
  bool asymmetric_quantize_inputs = false;
};
struct SoftmaxOptions {
  float beta = 0.0f;
};
struct ConcatenationOptions {
  int axis = 0;
  Activation activation = Activation::None;
};
struct AddOptions {
  Activation activation = Activation::None;
};
struct SubOptions {
  Activation activation = Activation::None;
};
struct MulOptions {
  Activation activation = Activation::None;
};
struct DivOptions {
  Activation activation = Activation::None;
};
struct ReshapeOptions {
  bool has_new_shape = false;  // the field is present (possibly empty: a scalar)
  std::vector<std::int64_t> new_shape;
};
struct ReducerOptions {
  bool keep_dims = false;
};
struct SqueezeOptions {
  std::vector<std::int64_t> squeeze_dims;
};
struct StridedSliceOptions {
  int begin_mask = 0, end_mask = 0, ellipsis_mask = 0, new_axis_mask = 0, shrink_axis_mask = 0;
  bool offset = false;
};
struct SplitOptions {
  int num_splits = 0;
};
struct TransposeConvOptions {
  Padding padding = Padding::Same;
  int stride_w = 0, stride_h = 0;
  Activation activation = Activation::None;
};
struct ResizeNearestNeighborOptions {
  bool align_corners = false, half_pixel_centers = false;
};
struct LeakyReluOptions {
  float alpha = 0.0f;
};
struct UnidirectionalSequenceLstmOptions {
  Activation activation = Activation::None;
  float cell_clip = 0.0f, proj_clip = 0.0f;  // 0: no clipping
  bool time_major = false;
  bool asymmetric_quantize_inputs = false;
  bool diagonal_recurrent_tensors = false;
};

using Options =
    std::variant<std::monostate, Conv2DOptions, DepthwiseConv2DOptions, Pool2DOptions, FullyConnectedOptions,
                 SoftmaxOptions, ConcatenationOptions, AddOptions, SubOptions, MulOptions, DivOptions, ReshapeOptions,
                 ReducerOptions, SqueezeOptions, StridedSliceOptions, SplitOptions, TransposeConvOptions,
                 ResizeNearestNeighborOptions, LeakyReluOptions, UnidirectionalSequenceLstmOptions>;

struct OperatorInfo {
  int index = 0;                  // position in the subgraph's execution order
  int opcode_index = 0;           // into the model's operator table
  std::int32_t builtin_code = 0;  // max(deprecated_builtin_code, builtin_code): the documented rule
  std::string custom_code;        // for CUSTOM operators
  int version = 1;
  std::vector<int> inputs;  // tensor indices, -1 for an omitted optional input
  std::vector<int> outputs;
  int options_tag = 0;  // the BuiltinOptions union tag as stored (0: no options)
  Options options;      // decoded when the tag is one of the tables above
};

struct TfliteModel {
  std::string where;  // the file (for messages)
  std::uint32_t version = 0;
  std::string description;
  std::size_t subgraph_count = 0;
  std::vector<TensorInfo> tensors;
  std::vector<int> inputs, outputs;  // tensor indices
  std::vector<OperatorInfo> operators;
};

// Reads and checks a .tflite file (see the top of this file). Throws tinyq::Error.
TfliteModel read_tflite(const std::string& path);
TfliteModel read_tflite_bytes(const void* data, std::size_t size, const std::string& where);

namespace detail {
[[noreturn]] void wrong_options(const OperatorInfo& op, const std::string& at);
}

// The options of `op` as T: the decoded table, or T's defaults when the operator has no
// options. Throws tinyq::Error (where = `at`) when the operator carries another table.
template <typename T>
T options_as(const OperatorInfo& op, const std::string& at) {
  if (const T* options = std::get_if<T>(&op.options)) return *options;
  if (op.options_tag == 0) return T{};
  detail::wrong_options(op, at);
}

// Number of bytes a constant of this type and element count occupies, 0 if the type has no
// fixed size.
std::size_t constant_byte_size(TensorType type, std::int64_t elements);

}  // namespace tinyq::tflite
