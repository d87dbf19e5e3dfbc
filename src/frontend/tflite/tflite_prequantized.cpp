// The pre-quantized importer's driver: edges (graph inputs and outputs, with QUANTIZE /
// DEQUANTIZE taken off), one QValue per int8 tensor, one QNode per operator
// (tflite_prequantized_ops.cpp), the link of every node to the float graph's value of the
// same tensor, and the .tqm validation the result must pass like any quantized model.
#include "frontend/tflite/tflite_prequantized.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <unordered_map>

#include "frontend/tflite/tflite_import.hpp"
#include "frontend/tflite/tflite_prequantized_ops.hpp"
#include "qmodel/qgraph_validation.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

using namespace tinyq::tflite;

using Builder = QNode (*)(const PrequantContext&, const OperatorInfo&);

const std::map<std::int32_t, Builder>& builders() {
  static const std::map<std::int32_t, Builder> table = {
      {std::int32_t(BuiltinOp::Conv2D), prequantized_conv},
      {std::int32_t(BuiltinOp::DepthwiseConv2D), prequantized_conv},
      {std::int32_t(BuiltinOp::FullyConnected), prequantized_fully_connected},
      {std::int32_t(BuiltinOp::AveragePool2D), prequantized_pool},
      {std::int32_t(BuiltinOp::MaxPool2D), prequantized_pool},
      {std::int32_t(BuiltinOp::Add), prequantized_add},
      {std::int32_t(BuiltinOp::Softmax), prequantized_softmax},
      {std::int32_t(BuiltinOp::Reshape), prequantized_reshape},
      {std::int32_t(BuiltinOp::Squeeze), prequantized_reshape},
      {std::int32_t(BuiltinOp::ExpandDims), prequantized_reshape},
      {std::int32_t(BuiltinOp::Concatenation), prequantized_concat},
      {std::int32_t(BuiltinOp::Pad), prequantized_pad},
      {std::int32_t(BuiltinOp::PadV2), prequantized_pad},
      {std::int32_t(BuiltinOp::Sub), prequantized_add},
      {std::int32_t(BuiltinOp::Mul), prequantized_add},
      {std::int32_t(BuiltinOp::Mean), prequantized_mean},
      {std::int32_t(BuiltinOp::Logistic), prequantized_lookup},
      {std::int32_t(BuiltinOp::Tanh), prequantized_lookup},
      {std::int32_t(BuiltinOp::Relu), prequantized_lookup},
      {std::int32_t(BuiltinOp::Relu6), prequantized_lookup},
      {std::int32_t(BuiltinOp::LeakyRelu), prequantized_lookup},
      {std::int32_t(BuiltinOp::HardSwish), prequantized_lookup},
      {std::int32_t(BuiltinOp::Quantize), prequantized_lookup},
      {std::int32_t(BuiltinOp::ResizeNearestNeighbor), prequantized_resize_nearest},
      {std::int32_t(BuiltinOp::StridedSlice), prequantized_strided_slice},
      {std::int32_t(BuiltinOp::Split), nullptr},  // one node per output (the driver's loop)
      {std::int32_t(BuiltinOp::TransposeConv), prequantized_transpose_conv},
  };
  return table;
}

bool is_int8_activation(const TensorInfo& t) {
  return t.type == TensorType::Int8 && t.quant.present() && t.quant.scale.size() == 1;
}

// The model's edges with QUANTIZE (float32 input -> int8) and DEQUANTIZE (int8 -> float32
// output) taken off: `skipped[k]` marks such operators, inputs/outputs are the int8 tensors.
struct Edges {
  std::vector<int> inputs, outputs;
  std::vector<bool> skipped;
};
Edges edges_of(const TfliteModel& m) {
  Edges e{m.inputs, m.outputs, std::vector<bool>(m.operators.size(), false)};
  auto consumers = [&](int tensor) {
    int n = 0;
    for (const OperatorInfo& op : m.operators)
      for (int i : op.inputs) n += i == tensor;
    return n;
  };
  for (std::size_t k = 0; k < m.operators.size(); ++k) {
    const OperatorInfo& op = m.operators[k];
    if (op.inputs.size() != 1 || op.outputs.size() != 1 || op.inputs[0] < 0) continue;
    const TensorInfo &in = m.tensors[std::size_t(op.inputs[0])], &out = m.tensors[std::size_t(op.outputs[0])];
    auto input_at = std::find(e.inputs.begin(), e.inputs.end(), op.inputs[0]);
    auto output_at = std::find(e.outputs.begin(), e.outputs.end(), op.outputs[0]);
    if (op.builtin_code == std::int32_t(BuiltinOp::Quantize) && input_at != e.inputs.end() &&
        in.type == TensorType::Float32 && is_int8_activation(out) && consumers(op.inputs[0]) == 1) {
      *input_at = op.outputs[0];
      e.skipped[k] = true;
    } else if (op.builtin_code == std::int32_t(BuiltinOp::Dequantize) && output_at != e.outputs.end() &&
               out.type == TensorType::Float32 && is_int8_activation(in)) {
      *output_at = op.inputs[0];
      e.skipped[k] = true;
    }
  }
  return e;
}

std::string tensor_name(const TfliteModel& m, int index) {
  const std::string& name = m.tensors[std::size_t(index)].name;
  return name.empty() ? fmt::format("tensor_{}", index) : name;
}

// What the QValue of a tensor records: TFLite's quantization as is. The "calibration" range
// is the one int8 represents (no calibration ran).
QValue qvalue(const TfliteModel& m, int index, const QuantParam& q) {
  const TensorInfo& t = m.tensors[std::size_t(index)];
  QValue v;
  v.name = tensor_name(m, index);
  v.shape = t.shape;
  v.layout = Layout::Plain;  // TFLite is NHWC already: stored and source order agree
  v.quant = q;
  v.calibration.method = "tflite";
  v.calibration.clip_lo = q.scale * float(-128 - q.zero_point);
  v.calibration.clip_hi = q.scale * float(127 - q.zero_point);
  v.calibration.histogram_min = v.calibration.clip_lo;
  v.calibration.histogram_max = v.calibration.clip_hi;
  return v;
}

}  // namespace

bool is_tflite_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  char head[8] = {};
  return file && file.read(head, sizeof head) && std::memcmp(head + 4, "TFL3", 4) == 0;
}

bool is_prequantized_tflite(const TfliteModel& model) {
  const Edges e = edges_of(model);
  if (model.operators.empty() || e.inputs.empty() || e.outputs.empty()) return false;
  for (int t : e.inputs)
    if (!is_int8_activation(model.tensors[std::size_t(t)])) return false;
  for (int t : e.outputs)
    if (!is_int8_activation(model.tensors[std::size_t(t)])) return false;
  for (std::size_t k = 0; k < model.operators.size(); ++k) {
    if (e.skipped[k]) continue;
    for (int t : model.operators[k].outputs)
      if (!model.tensors[std::size_t(t)].has_data && !is_int8_activation(model.tensors[std::size_t(t)])) return false;
  }
  return true;
}

QGraph import_prequantized_tflite(const std::string& path) {
  TfliteModel model = read_tflite(path);
  if (!is_prequantized_tflite(model))
    fail(path, "is not a pre-quantized int8 model (its activations are not all int8)");
  return import_prequantized_tflite(model, import_tflite_file(path));
}

QGraph import_prequantized_tflite(const TfliteModel& m, Graph float_graph) {
  const PrequantContext ctx{m};
  const Edges edges = edges_of(m);
  QGraph q;
  std::unordered_map<int, int> qvalue_of;  // tensor index -> QValue index
  auto add_value = [&](int tensor, const QuantParam& p) {
    qvalue_of[tensor] = int(q.values.size());
    q.values.push_back(qvalue(m, tensor, p));
  };
  for (int t : edges.inputs) {
    const TensorInfo& info = m.tensors[std::size_t(t)];
    if (!is_int8_activation(info)) fail(m.where, "input '{}' is not a quantized int8 tensor", info.name);
    add_value(t, {info.quant.scale[0], std::int32_t(info.quant.zero_point[0])});
    q.inputs.push_back(qvalue_of[t]);
  }
  // The float graph's value of each tensor (the float importer names values after tensors),
  // which reports and layer errors compare a node against.
  std::unordered_map<std::string, ValueId> float_value;
  for (std::size_t v = 0; v < float_graph.values.size(); ++v) float_value[float_graph.values[v].name] = ValueId(v);

  // The node computing tensor `out` for operator `op`: its inputs (the activations `op`
  // reads), output value, name, and the float graph's value it approximates.
  auto add_node = [&](const OperatorInfo& op, QNode n, int out) {
    n.name = tensor_name(m, out);
    for (int t : op.inputs) {
      if (t < 0 || m.tensors[std::size_t(t)].has_data) continue;  // weights, biases, shapes, constant operands
      auto it = qvalue_of.find(t);
      if (it == qvalue_of.end())
        fail(ctx.at(op), "reads tensor '{}' before any operator computes it", tensor_name(m, t));
      n.inputs.push_back(it->second);
    }
    if (qvalue_of.contains(out)) fail(ctx.at(op), "writes tensor '{}' a second time", n.name);
    add_value(out, ctx.activation(op, m.tensors[std::size_t(out)]));
    n.output = qvalue_of[out];
    auto fv = float_value.find(n.name);
    n.source_output = fv != float_value.end() ? fv->second : (float_graph.outputs.empty() ? 0 : float_graph.outputs[0]);
    const int producer = fv != float_value.end() ? float_graph.producer(fv->second) : -1;
    n.op = producer >= 0 ? std::string(op_name(float_graph.nodes[std::size_t(producer)].op))
                         : builtin_name(op.builtin_code);
    q.nodes.push_back(std::move(n));
  };
  for (std::size_t k = 0; k < m.operators.size(); ++k) {
    if (edges.skipped[k]) continue;
    const OperatorInfo& op = m.operators[k];
    auto builder = builders().find(op.builtin_code);
    if (builder == builders().end()) {
      std::string list;
      for (const std::string& name : supported_prequantized_tflite_ops()) list += (list.empty() ? "" : ", ") + name;
      fail(ctx.at(op), "is not supported in a pre-quantized int8 model; supported: {}", list);
    }
    if (op.builtin_code == std::int32_t(BuiltinOp::Split)) {  // one node per part
      if (op.outputs.empty()) fail(ctx.at(op), "has no outputs");
      for (std::size_t part = 0; part < op.outputs.size(); ++part)
        add_node(op, prequantized_split(ctx, op, part), op.outputs[part]);
    } else {
      add_node(op, builder->second(ctx, op), ctx.output(op).index);
    }
  }
  for (int t : edges.outputs) {
    auto it = qvalue_of.find(t);
    if (it == qvalue_of.end()) fail(m.where, "output '{}' is not computed by any operator", tensor_name(m, t));
    if (m.tensors[std::size_t(t)].shape.empty())  // the executor and firmware give each output a batch axis
      fail(m.where, "output '{}' is a scalar; scalar outputs are not supported", tensor_name(m, t));
    q.outputs.push_back(it->second);
  }
  q.settings.preset = "tflite";
  q.settings.scheme = "affine";
  q.settings.calibration = "tflite";
  q.settings.granularity = "channel";
  q.settings.calibration_samples = 0;
  q.float_graph = std::move(float_graph);
  validate_qgraph(q, m.where);
  return q;
}

std::vector<std::string> supported_prequantized_tflite_ops() {
  std::vector<std::string> ops{"DEQUANTIZE (float32 model output)"};
  for (const auto& [code, builder] : builders())
    ops.push_back(code == std::int32_t(BuiltinOp::Quantize) ? "QUANTIZE (int8 to int8, or at a float32 model input)"
                                                            : builtin_name(code));
  std::sort(ops.begin(), ops.end());
  return ops;
}

}  // namespace tinyq
