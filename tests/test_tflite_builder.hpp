#pragma once
// Small .tflite models built with the FlatBuffers builder API that flatc generates from
// src/frontend/tflite/tflite_schema.fbs: for the tests (test_tflite_reference.hpp adds the
// reference loops) and the fuzzer's seeds (tests/fuzz/make_tflite_seeds.cpp).
#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "frontend/tflite/tflite_model.hpp"
#include "tflite_schema_generated.h"

namespace tinyq_tflite_test {

namespace fb = tinyq::tflite_fb;
using Dims = std::vector<std::int32_t>;

struct Quant {
  std::vector<float> scale;
  std::vector<std::int64_t> zero_point;
  int axis = 0;
};

template <typename T>
std::vector<std::uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<std::uint8_t> out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

class TfliteBuilder {
 public:
  TfliteBuilder() { buffers_.push_back(fb::CreateBuffer(fbb_)); }  // buffer 0: the empty one

  flatbuffers::FlatBufferBuilder& fbb() { return fbb_; }

  // `is_variable`: state an operator keeps between invocations (an LSTM's).
  int tensor(const std::string& name, fb::TensorType type, const Dims& shape, const std::vector<std::uint8_t>& data,
             const Quant* quant = nullptr, const Dims& signature = {}, bool is_variable = false) {
    std::uint32_t buffer = 0;
    if (!data.empty()) {
      fbb_.ForceVectorAlignment(data.size(), 1, 16);
      auto bytes = fbb_.CreateVector(data);
      buffer = std::uint32_t(buffers_.size());
      buffers_.push_back(fb::CreateBuffer(fbb_, bytes));
    }
    flatbuffers::Offset<fb::QuantizationParameters> q = 0;
    if (quant)
      q = fb::CreateQuantizationParametersDirect(fbb_, nullptr, nullptr, &quant->scale, &quant->zero_point,
                                                 fb::QuantizationDetails::NONE, 0, quant->axis);
    tensors_.push_back(fb::CreateTensorDirect(fbb_, &shape, type, buffer, name.c_str(), q, is_variable, 0,
                                              signature.empty() ? nullptr : &signature));
    return int(tensors_.size()) - 1;
  }
  // A tensor naming any buffer index (for hostile files).
  int tensor_in_buffer(const std::string& name, const Dims& shape, std::uint32_t buffer) {
    tensors_.push_back(fb::CreateTensorDirect(fbb_, &shape, fb::TensorType::FLOAT32, buffer, name.c_str()));
    return int(tensors_.size()) - 1;
  }
  int activation(const std::string& name, const Dims& shape, const Dims& signature = {}) {
    return tensor(name, fb::TensorType::FLOAT32, shape, {}, nullptr, signature);
  }
  int input(const std::string& name, const Dims& shape, const Dims& signature = {}) {
    int t = activation(name, shape, signature);
    inputs_.push_back(t);
    return t;
  }
  int constant(const std::string& name, const Dims& shape, const std::vector<float>& values) {
    return tensor(name, fb::TensorType::FLOAT32, shape, bytes_of(values));
  }
  int int32_constant(const std::string& name, const Dims& shape, const std::vector<std::int32_t>& values,
                     const Quant* quant = nullptr) {
    return tensor(name, fb::TensorType::INT32, shape, bytes_of(values), quant);
  }
  int int8_constant(const std::string& name, const Dims& shape, const std::vector<std::int8_t>& values,
                    const Quant& quant) {
    return tensor(name, fb::TensorType::INT8, shape, bytes_of(values), &quant);
  }

  // An operator; the opcode entry is made once per code. `deprecated_only` writes the code
  // only in the one-byte field (files from before the 4-byte field, like MLPerf Tiny's KWS).
  void op(std::int32_t code, const std::vector<int>& inputs, const std::vector<int>& outputs,
          fb::BuiltinOptions type = fb::BuiltinOptions::NONE, flatbuffers::Offset<void> options = 0) {
    operators_.push_back(fb::CreateOperatorDirect(fbb_, opcode(code), &inputs, &outputs, type, options));
  }
  void op(tinyq::tflite::BuiltinOp code, const std::vector<int>& inputs, const std::vector<int>& outputs,
          fb::BuiltinOptions type = fb::BuiltinOptions::NONE, flatbuffers::Offset<void> options = 0) {
    op(std::int32_t(code), inputs, outputs, type, options);
  }
  // A CUSTOM operator (code 32) named `custom_code`.
  void custom_op(const std::string& custom_code, const std::vector<int>& inputs, const std::vector<int>& outputs) {
    const auto index = std::uint32_t(codes_in_order_.size());
    codes_in_order_.push_back(32);
    custom_codes_[index] = custom_code;
    raw_op(index, inputs, outputs);
  }
  void raw_op(std::uint32_t opcode_index, const std::vector<int>& inputs, const std::vector<int>& outputs) {
    operators_.push_back(fb::CreateOperatorDirect(fbb_, opcode_index, &inputs, &outputs));
  }
  std::uint32_t opcode(std::int32_t code) {
    auto it = opcodes_.find(code);
    if (it != opcodes_.end()) return it->second;
    const auto index = std::uint32_t(codes_in_order_.size());
    opcodes_[code] = index;
    codes_in_order_.push_back(code);
    return index;
  }
  void output(int t) { outputs_.push_back(t); }
  void extra_input(int t) { inputs_.push_back(t); }

  bool deprecated_only = false;  // write codes only in deprecated_builtin_code
  std::uint32_t version = 3;

  std::string finish() {
    std::vector<flatbuffers::Offset<fb::OperatorCode>> codes;
    for (std::size_t i = 0; i < codes_in_order_.size(); ++i) {
      const std::int32_t code = codes_in_order_[i];
      auto custom = custom_codes_.count(i) ? fbb_.CreateString(custom_codes_[i]) : 0;
      codes.push_back(
          fb::CreateOperatorCode(fbb_, std::int8_t(std::min(code, 127)), custom, 1, deprecated_only ? 0 : code));
    }
    auto graph = fb::CreateSubGraphDirect(fbb_, &tensors_, &inputs_, &outputs_, &operators_, "main");
    std::vector<flatbuffers::Offset<fb::SubGraph>> graphs{graph};
    auto model = fb::CreateModelDirect(fbb_, version, &codes, &graphs, "tinyq test", &buffers_);
    fb::FinishModelBuffer(fbb_, model);
    return std::string(reinterpret_cast<const char*>(fbb_.GetBufferPointer()), fbb_.GetSize());
  }

 private:
  flatbuffers::FlatBufferBuilder fbb_;
  std::vector<flatbuffers::Offset<fb::Buffer>> buffers_;
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors_;
  std::vector<flatbuffers::Offset<fb::Operator>> operators_;
  std::vector<std::int32_t> inputs_, outputs_;
  std::map<std::int32_t, std::uint32_t> opcodes_;
  std::vector<std::int32_t> codes_in_order_;
  std::map<std::size_t, std::string> custom_codes_;
};

}  // namespace tinyq_tflite_test
