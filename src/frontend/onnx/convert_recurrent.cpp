// Converters for ONNX's recurrent layers: LSTM, GRU and RNN become one IR node each
// (Op::LSTM / GRU / RNN, time-major, weights as constant inputs in ONNX's gate order; see
// src/ir/op.hpp). Batch-major models (layout = 1) get Transposes around the node. Each
// ONNX output is computed only when something reads it: Y_h is gathered from Y when Y is
// read too, else it is the node's own output; LSTM's Y_c is a node of its own.
// Refused, with one line naming the node: clip, input_forget, activations other than the
// defaults (and Relu for RNN), sequence_lens shorter than the sequence.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "frontend/onnx/importer.hpp"

namespace tinyq::onnx_import {

namespace {

using Ints = std::vector<std::int64_t>;

std::string lower(std::string s) {
  for (char& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// The RNN activation ("Tanh" or "Relu") after checking `activations` is the default list
// (one entry per direction, or one for all); tinyq has no custom gate functions.
std::string check_activations(Importer& im, const onnx::NodeProto& node, Op op, std::int64_t directions) {
  if (!attr_floats(node, "activation_alpha").empty() || !attr_floats(node, "activation_beta").empty())
    fail(im.at(node), "activation_alpha / activation_beta are not supported");
  std::vector<std::string> given;
  if (auto* a = find_attr(node, "activations"))
    for (auto& s : a->strings()) given.push_back(lower(s));
  std::vector<std::string> defaults = op == Op::LSTM  ? std::vector<std::string>{"sigmoid", "tanh", "tanh"}
                                      : op == Op::GRU ? std::vector<std::string>{"sigmoid", "tanh"}
                                                      : std::vector<std::string>{"tanh"};
  if (given.empty()) return "Tanh";
  if (op == Op::RNN && given[0] == "relu") defaults = {"relu"};
  bool ok = given.size() == defaults.size() || given.size() == defaults.size() * std::size_t(directions);
  for (std::size_t i = 0; ok && i < given.size(); ++i) ok = given[i] == defaults[i % defaults.size()];
  if (!ok) {
    std::string list;
    for (auto& s : given) list += (list.empty() ? "" : ", ") + s;
    fail(im.at(node), "activations [{}] are not supported (only {}'s defaults{})", list, node.op_type(),
         op == Op::RNN ? ", Tanh or Relu" : "");
  }
  return defaults[0] == "relu" ? "Relu" : "Tanh";
}

// `v` with its axes permuted (a constant now, a run-time value by a Transpose node).
ValueId permuted(Importer& im, ValueId v, const Ints& perm, const std::string& hint) {
  const Value& value = im.graph().value(v);
  if (value.is_constant())
    return im.add_constant(hint, value.constant->transposed(std::vector<int>(perm.begin(), perm.end())));
  Attributes attrs;
  attrs.set("perm", perm);
  return im.emit_internal(hint, Op::Transpose, {v}, attrs, Layout::Plain);
}

// Initial state input `index` as [D,N,H] (zeros when absent).
ValueId initial_state(Importer& im, const onnx::NodeProto& node, int index, bool batch_major, const Shape& state,
                      const char* what) {
  if (!im.has_input(node, index)) return im.add_constant(node.name() + "_" + what, Tensor(DType::f32, state));
  ValueId v = im.input(node, index);
  const Shape expected = batch_major ? Shape{state[1], state[0], state[2]} : state;
  if (im.source_shape(v) != expected)
    fail(im.at(node), "{} has shape {}, expected {}", what, shape_string(im.source_shape(v)), shape_string(expected));
  if (im.graph().value(v).is_constant())
    v = im.add_constant(node.input(index), im.graph().value(v).constant->cast(DType::f32));
  return batch_major ? permuted(im, v, {1, 0, 2}, node.name() + "_" + what + "_time_major") : v;
}

void convert_recurrent(Importer& im, const onnx::NodeProto& node) {
  const Op op = node.op_type() == "LSTM" ? Op::LSTM : node.op_type() == "GRU" ? Op::GRU : Op::RNN;
  const std::int64_t gates = op == Op::LSTM ? 4 : op == Op::GRU ? 3 : 1;
  if (find_attr(node, "clip")) fail(im.at(node), "clip is not supported (cell inputs are never clipped in tinyq)");
  if (op == Op::LSTM && attr_int(node, "input_forget", 0) != 0)
    fail(im.at(node), "input_forget = 1 (coupled input and forget gates) is not supported");
  if (node.output_size() > (op == Op::LSTM ? 3 : 2)) fail(im.at(node), "too many outputs");
  const std::int64_t layout = attr_int(node, "layout", 0);
  if (layout != 0 && layout != 1) fail(im.at(node), "layout must be 0 or 1, not {}", layout);
  const bool batch_major = layout == 1;
  const std::string direction = attr_string(node, "direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    fail(im.at(node), "unknown direction '{}'", direction);
  const std::int64_t directions = direction == "bidirectional" ? 2 : 1;
  const std::string activation = check_activations(im, node, op, directions);

  ValueId x = im.input(node, 0);
  const Shape xs = im.source_shape(x);
  if (xs.size() != 3) fail(im.at(node), "input X must have rank 3, got {}", shape_string(xs));
  const std::int64_t steps = batch_major ? xs[1] : xs[0], batch = batch_major ? xs[0] : xs[1], input = xs[2];
  for (std::int64_t d : xs)
    if (d < 1 || d > INT32_MAX) fail(im.at(node), "input X of shape {} is not supported", shape_string(xs));
  if (batch_major) x = permuted(im, x, {1, 0, 2}, node.name() + "_time_major");

  Tensor w = im.constant_input(node, 1).cast(DType::f32);
  Tensor r = im.constant_input(node, 2).cast(DType::f32);
  if (r.shape().size() != 3 || r.shape()[0] != directions || r.shape()[1] % gates != 0 || r.shape()[1] == 0 ||
      r.shape()[2] * gates != r.shape()[1])
    fail(im.at(node), "R has shape {}, expected [{}, {}*hidden_size, hidden_size]", shape_string(r.shape()), directions,
         gates);
  const std::int64_t hidden = r.shape()[2];
  if (auto* hs = find_attr(node, "hidden_size"); hs && hs->i() != hidden)
    fail(im.at(node), "hidden_size {} does not match R {}", hs->i(), shape_string(r.shape()));
  const std::int64_t rows = gates * hidden;
  if (w.shape() != Shape{directions, rows, input})
    fail(im.at(node), "W has shape {}, expected {}", shape_string(w.shape()),
         shape_string(Shape{directions, rows, input}));
  Tensor b(DType::f32, {directions, 2 * rows});
  if (auto given = im.optional_constant(node, 3)) {
    if (given->shape() != b.shape())
      fail(im.at(node), "B has shape {}, expected {}", shape_string(given->shape()), shape_string(b.shape()));
    b = given->cast(DType::f32);
  }
  if (im.has_input(node, 4)) {
    if (!im.graph().value(im.input(node, 4)).is_constant())
      fail(im.at(node), "sequence_lens computed at run time is not supported (every sequence must have all {} steps)",
           steps);
    for (std::int64_t len : im.constant_input(node, 4).as_i64())
      if (len != steps)
        fail(im.at(node), "sequence_lens {} is not supported (every sequence must have all {} steps)", len, steps);
  }
  const Shape state{directions, batch, hidden};
  std::vector<ValueId> inputs{
      x, im.add_constant(node.input(1), std::move(w)), im.add_constant(node.input(2), std::move(r)),
      im.add_constant(node.name() + "_B", std::move(b)), initial_state(im, node, 5, batch_major, state, "initial_h")};
  if (op == Op::LSTM) inputs.push_back(initial_state(im, node, 6, batch_major, state, "initial_c"));
  if (op == Op::LSTM && im.has_input(node, 7)) {
    Tensor p = im.constant_input(node, 7).cast(DType::f32);
    if (p.shape() != Shape{directions, 3 * hidden})
      fail(im.at(node), "P has shape {}, expected [{}, {}]", shape_string(p.shape()), directions, 3 * hidden);
    inputs.push_back(im.add_constant(node.input(7), std::move(p)));
  }

  Attributes attrs;
  attrs.set("direction", direction);
  if (op == Op::GRU) attrs.set("linear_before_reset", attr_int(node, "linear_before_reset", 0) != 0 ? 1 : 0);
  if (op == Op::RNN) attrs.set("activation", activation);

  auto used = [&](int i) { return i < node.output_size() && !node.output(i).empty() && im.is_used(node.output(i)); };
  // Binds ONNX output `i` to time-major value `v`, transposed back for batch-major models.
  auto bind = [&](int i, ValueId v, const Ints& batch_major_perm) {
    if (!batch_major) {
      im.alias(node.output(i), v);
      return;
    }
    Attributes perm;
    perm.set("perm", batch_major_perm);
    im.emit(node, Op::Transpose, {v}, perm, Layout::Plain, node.output(i));
  };
  // The first layer node made carries the ONNX node's name; a second one (Y_c beside Y or
  // Y_h) that name + "_Y_c", so errors about either name the ONNX node.
  const std::string base = !node.name().empty()      ? node.name()
                           : !node.output(0).empty() ? node.output(0)
                                                     : node.op_type();
  int made = 0;
  auto run = [&](const char* output) {
    Attributes a = attrs;
    a.set("output", std::string(output));
    return im.emit_internal(made++ == 0 ? base : base + "_" + output, op, inputs, a, Layout::Plain);
  };
  const bool y_used = used(0);
  std::optional<ValueId> y;
  if (y_used) {
    y = run("Y");
    bind(0, *y, {2, 0, 1, 3});  // [T,D,N,H] -> [N,T,D,H]
  }
  if (used(1)) {
    ValueId h;
    if (y) {
      // Each direction's last step: t = T-1 forward, t = 0 backward, at row t*D + d of Y viewed as [T*D,N,H].
      Attributes flat;
      flat.set("shape", Ints{steps * directions, batch, hidden});
      ValueId rows_of_y = im.emit_internal(node.output(1) + "_steps", Op::Reshape, {*y}, flat, Layout::Plain);
      Ints last;
      for (std::int64_t d = 0; d < directions; ++d)
        last.push_back(direction == "reverse" || d == 1 ? d : (steps - 1) * directions + d);
      Attributes gather;
      gather.set("axis", std::int64_t{0});
      gather.set("indices", last);
      gather.set("indices_shape", Ints{directions});
      h = im.emit_internal(node.output(1) + "_last", Op::Gather, {rows_of_y}, gather, Layout::Plain);
    } else {
      h = run("Y_h");
    }
    bind(1, h, {1, 0, 2});
  }
  if (op == Op::LSTM && used(2)) bind(2, run("Y_c"), {1, 0, 2});
}

}  // namespace

void register_recurrent_converters(ConverterTable& t) {
  t["LSTM"] = convert_recurrent;
  t["GRU"] = convert_recurrent;
  t["RNN"] = convert_recurrent;
}

}  // namespace tinyq::onnx_import
