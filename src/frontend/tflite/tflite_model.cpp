// Reads a .tflite FlatBuffer into TfliteModel (tflite_model.hpp), checking every index and
// size on the way: nothing downstream touches the FlatBuffer or trusts a number from it.
#include "frontend/tflite/tflite_model.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "frontend/tflite/tflite_options.hpp"
#include "ir/tensor.hpp"
#include "tflite_schema_generated.h"
#include "util/error.hpp"

namespace tinyq::tflite {

namespace fb = tinyq::tflite_fb;

namespace detail {
void wrong_options(const OperatorInfo& op, const std::string& at) {
  fail(at, "carries option table {} which does not belong to {}", op.options_tag, builtin_name(op.builtin_code));
}
}  // namespace detail

namespace {

// The largest buffer the FlatBuffers verifier accepts (its offsets are 32-bit signed).
constexpr std::size_t kMaxFileBytes = FLATBUFFERS_MAX_BUFFER_SIZE;

std::string tensor_where(const std::string& where, std::size_t index, const fb::Tensor& t) {
  return fmt::format("{}: tensor {} '{}'", where, index, t.name() ? t.name()->str() : "");
}

std::vector<std::int64_t> dims(const flatbuffers::Vector<std::int32_t>* v) {
  std::vector<std::int64_t> out;
  if (v)
    for (auto d : *v) out.push_back(d);
  return out;
}

// The verifier checks only a vector's length field for (4-byte) alignment, so the 8-byte
// elements of a hostile file's zero_point vector may sit 4 bytes off: they are copied out
// byte-wise instead of loaded in place (a misaligned load is undefined behaviour; fuzz).
std::vector<std::int64_t> read_longs(const flatbuffers::Vector<std::int64_t>* v) {
  std::vector<std::int64_t> out(v ? v->size() : 0);
  if (!out.empty()) std::memcpy(out.data(), v->Data(), out.size() * sizeof(std::int64_t));
  return out;
}

Quantization read_quantization(const fb::QuantizationParameters* q, const TensorInfo& t, const std::string& here) {
  Quantization out;
  if (!q) return out;
  if (q->details_type() != fb::QuantizationDetails::NONE) fail(here, "custom quantization is not supported");
  if (q->scale()) out.scale.assign(q->scale()->begin(), q->scale()->end());
  out.zero_point = read_longs(q->zero_point());
  if (q->min()) out.min.assign(q->min()->begin(), q->min()->end());
  if (q->max()) out.max.assign(q->max()->begin(), q->max()->end());
  out.quantized_dimension = q->quantized_dimension();
  if (out.zero_point.empty()) out.zero_point.assign(out.scale.size(), 0);
  if (out.zero_point.size() != out.scale.size())
    fail(here, "quantization has {} scales but {} zero points", out.scale.size(), out.zero_point.size());
  for (float s : out.scale)
    if (!std::isfinite(s)) fail(here, "quantization scale {} is not finite", s);
  if (out.scale.size() > 1) {
    const int axis = out.quantized_dimension;
    if (axis < 0 || std::size_t(axis) >= t.shape.size())
      fail(here, "quantized_dimension {} is out of range for shape {}", axis, shape_string(t.shape));
    if (std::int64_t(out.scale.size()) != t.shape[std::size_t(axis)])
      fail(here, "{} quantization scales for dimension {} of size {}", out.scale.size(), axis,
           t.shape[std::size_t(axis)]);
  }
  return out;
}

// The constant bytes of a tensor: inside the FlatBuffer, or (files over 2 GB) at an offset
// after it.
void read_data(const fb::Buffer* buffer, const std::uint8_t* file, std::size_t file_size, TensorInfo& t,
               const std::string& here) {
  if (!buffer) return;
  const std::uint8_t* bytes = nullptr;
  std::size_t size = 0;
  if (buffer->data() && buffer->data()->size() > 0) {
    bytes = buffer->data()->data();
    size = buffer->data()->size();
  } else if (buffer->offset() > 1) {
    if (buffer->offset() > file_size || buffer->size() > file_size - buffer->offset())
      fail(here, "buffer data at offset {} ({} bytes) lies outside the {}-byte file", buffer->offset(), buffer->size(),
           file_size);
    bytes = file + buffer->offset();
    size = std::size_t(buffer->size());
  }
  if (size == 0) return;
  const std::int64_t count = element_count(t.shape, here);
  const std::size_t expected = constant_byte_size(t.type, count);
  if (expected == 0 && count > 0) fail(here, "constant data of type {} is not supported", tensor_type_name(t.type));
  if (size != expected)
    fail(here, "buffer holds {} bytes, shape {} of {} needs {}", size, shape_string(t.shape), tensor_type_name(t.type),
         expected);
  t.has_data = true;
  t.data.assign(bytes, bytes + size);
}

TensorInfo read_tensor(const fb::Model& model, std::size_t index, const std::uint8_t* file, std::size_t file_size,
                       const std::string& where) {
  const fb::Tensor& src = *model.subgraphs()->Get(0)->tensors()->Get(flatbuffers::uoffset_t(index));
  const std::string here = tensor_where(where, index, src);
  TensorInfo t;
  t.index = int(index);
  t.name = src.name() ? src.name()->str() : "";
  const auto type = std::int8_t(src.type());
  if (type < 0 || type > std::int8_t(TensorType::Int4)) fail(here, "unknown tensor type {}", type);
  t.type = TensorType(type);
  t.shape = dims(src.shape());
  t.shape_signature = dims(src.shape_signature());
  for (auto d : t.shape)
    if (d < 0) fail(here, "shape {} has a negative dimension", shape_string(t.shape));
  element_count(t.shape, here);
  if (!t.shape_signature.empty() && t.shape_signature.size() != t.shape.size())
    fail(here, "shape_signature {} and shape {} differ in rank", shape_string(t.shape_signature),
         shape_string(t.shape));
  t.is_variable = src.is_variable();
  if (src.sparsity()) fail(here, "sparse tensors are not supported");
  t.quant = read_quantization(src.quantization(), t, here);
  const auto* buffers = model.buffers();
  const std::size_t buffer_count = buffers ? buffers->size() : 0;
  if (src.buffer() >= buffer_count && !(src.buffer() == 0 && buffer_count == 0))
    fail(here, "buffer index {} is out of range ({} buffers)", src.buffer(), buffer_count);
  if (buffer_count > 0) read_data(buffers->Get(src.buffer()), file, file_size, t, here);
  if (t.is_variable && t.has_data)
    fail(here, "is a variable tensor with data (TFLite refuses this too: its variables start at zero)");
  return t;
}

std::vector<int> tensor_indices(const flatbuffers::Vector<std::int32_t>* v, std::size_t tensor_count,
                                bool allow_omitted, const std::string& here, const char* what) {
  std::vector<int> out;
  if (!v) return out;
  for (auto i : *v) {
    if (i == -1 && allow_omitted) {
      out.push_back(-1);
      continue;
    }
    if (i < 0 || std::size_t(i) >= tensor_count)
      fail(here, "{} tensor index {} is out of range ({} tensors)", what, i, tensor_count);
    out.push_back(i);
  }
  return out;
}

OperatorInfo read_operator(const fb::Model& model, std::size_t index, std::size_t tensor_count,
                           const std::string& where) {
  const fb::Operator& src = *model.subgraphs()->Get(0)->operators()->Get(flatbuffers::uoffset_t(index));
  OperatorInfo op;
  op.index = int(index);
  const auto* codes = model.operator_codes();
  const std::size_t code_count = codes ? codes->size() : 0;
  if (src.opcode_index() >= code_count)
    fail(fmt::format("{}: operator {}", where, index), "opcode index {} is out of range ({} operator codes)",
         src.opcode_index(), code_count);
  op.opcode_index = int(src.opcode_index());
  const fb::OperatorCode& code = *codes->Get(src.opcode_index());
  // The documented rule: files written before the 4-byte field existed hold the code only in
  // the deprecated byte; newer files put 127 there for codes it cannot hold.
  op.builtin_code = std::max<std::int32_t>(code.deprecated_builtin_code(), code.builtin_code());
  op.custom_code = code.custom_code() ? code.custom_code()->str() : "";
  op.version = code.version();
  const std::string here = fmt::format("{}: operator {} ({})", where, index, builtin_name(op.builtin_code));
  op.inputs = tensor_indices(src.inputs(), tensor_count, true, here, "input");
  op.outputs = tensor_indices(src.outputs(), tensor_count, false, here, "output");
  op.options_tag = int(src.builtin_options_type());
  op.options = decode_options(src);
  return op;
}

void check_header(const std::uint8_t* data, std::size_t size, const std::string& where) {
  if (size < 8) fail(where, "file is too short to be a TFLite model ({} bytes)", size);
  if (std::memcmp(data + 4, fb::ModelIdentifier(), 4) != 0)
    fail(where, "not a TFLite model (no \"TFL3\" file identifier)");
  if (size >= kMaxFileBytes) fail(where, "file is larger than 2 GiB");
  flatbuffers::Verifier verifier(data, size);
  if (!fb::VerifyModelBuffer(verifier))
    fail(where,
         "corrupt TFLite file: the FlatBuffers verifier rejected it (truncated, or an offset points "
         "outside the file)");
}

}  // namespace

TfliteModel read_tflite_bytes(const void* data, std::size_t size, const std::string& where) {
  // FlatBuffers reads scalars in place and its verifier checks their alignment relative to
  // the buffer's start: the start itself must be aligned for the widest scalar (8 bytes).
  if (reinterpret_cast<std::uintptr_t>(data) % alignof(std::max_align_t) != 0) {
    const auto* first = static_cast<const std::uint8_t*>(data);
    const std::vector<std::uint8_t> aligned(first, first + size);
    return read_tflite_bytes(aligned.data(), aligned.size(), where);
  }
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  check_header(bytes, size, where);
  const fb::Model& model = *fb::GetModel(bytes);
  TfliteModel out;
  out.where = where;
  out.version = model.version();
  if (out.version != 3) fail(where, "schema version {} is not supported (TFLite files are version 3)", out.version);
  out.description = model.description() ? model.description()->str() : "";
  out.subgraph_count = model.subgraphs() ? model.subgraphs()->size() : 0;
  if (out.subgraph_count == 0) fail(where, "model has no subgraph");
  const fb::SubGraph& graph = *model.subgraphs()->Get(0);
  const std::size_t tensor_count = graph.tensors() ? graph.tensors()->size() : 0;
  for (std::size_t t = 0; t < tensor_count; ++t) out.tensors.push_back(read_tensor(model, t, bytes, size, where));
  out.inputs = tensor_indices(graph.inputs(), tensor_count, false, where, "subgraph input");
  out.outputs = tensor_indices(graph.outputs(), tensor_count, false, where, "subgraph output");
  const std::size_t op_count = graph.operators() ? graph.operators()->size() : 0;
  for (std::size_t o = 0; o < op_count; ++o) out.operators.push_back(read_operator(model, o, tensor_count, where));
  return out;
}

TfliteModel read_tflite(const std::string& path) {
  // An ifstream opens a folder without complaint and reports a huge size for it.
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) fail(path, "is a folder, not a TFLite model file");
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) fail(path, "cannot open file");
  const auto size = file.tellg();
  if (size < 0) fail(path, "cannot read file");
  if (std::uint64_t(size) >= kMaxFileBytes) fail(path, "file is larger than 2 GiB");
  // A vector's storage is aligned for any scalar, as the verifier's alignment checks expect.
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  file.seekg(0);
  if (!file.read(reinterpret_cast<char*>(bytes.data()), size)) fail(path, "cannot read file");
  return read_tflite_bytes(bytes.data(), bytes.size(), path);
}

}  // namespace tinyq::tflite
