// LSTM, GRU, SimpleRNN and Bidirectional around them, onto the IR's recurrent nodes
// (Op::LSTM/GRU/RNN, semantics in ir/op.hpp: time-major, W[D,G*H,I], R[D,G*H,H], B[D,2*G*H],
// gate blocks in ONNX order). Keras keeps its sequences batch-major ([N,T,features]) and its
// kernels as [features, G*units] with gates LSTM i,f,c,o and GRU z,r,h; the weights are
// transposed and the LSTM blocks reordered here, and the layer is wrapped in transposes.
#include <fmt/format.h>

#include "frontend/keras/importer.hpp"
#include "util/error.hpp"

namespace tinyq::keras_import {

namespace {

using Ints = std::vector<std::int64_t>;

struct CellKind {
  Op op;
  std::int64_t gates;
  // For IR gate block g, the Keras block it comes from.
  std::vector<std::int64_t> keras_block;
};

CellKind cell_kind(const std::string& class_name) {
  if (class_name == "LSTM") return {Op::LSTM, 4, {0, 3, 1, 2}};  // IR i,o,f,c from Keras i,f,c,o
  if (class_name == "GRU") return {Op::GRU, 3, {0, 1, 2}};       // z,r,h in both
  return {Op::RNN, 1, {0}};
}

// What one direction's cell needs from the config, checked: anything that changes the
// arithmetic and is not supported is refused by name.
struct CellConfig {
  std::int64_t units = 0;
  bool use_bias = true, return_sequences = false, go_backwards = false, reset_after = true;
  std::string rnn_activation = "Tanh";
};

CellConfig read_cell(const LayerCall& cell, const CellKind& kind) {
  CellConfig c;
  c.units = cell.integer("units", 0, 1, 1 << 20);
  if (c.units < 1) cell.fail("'units' is missing");
  c.use_bias = cell.flag("use_bias", true);
  c.return_sequences = cell.flag("return_sequences", false);
  c.go_backwards = cell.flag("go_backwards", false);
  if (cell.flag("return_state", false))
    cell.fail("return_state = true is not supported (the layer would have several outputs)");
  // A stateful layer carries its state from one call to the next; a tinyq model is the
  // whole-sequence function (every inference from the initial state), and the state is
  // carried only by streaming code, so importing it as stateful would silently differ from
  // Keras after the first batch. The way out keeps the weights and gets the behaviour.
  if (cell.flag("stateful", false))
    cell.fail(
        "stateful = true is not supported: tinyq starts every inference from a zero state (Keras' first batch "
        "only); save the layer with stateful = false (same weights), and `tinyq generate --streaming` carries the "
        "state from frame to frame on the MCU");
  if (cell.flag("time_major", false)) cell.fail("time_major = true is not supported");
  const std::string activation = cell.text("activation", "tanh");
  if (kind.op == Op::RNN) {
    if (activation == "relu")
      c.rnn_activation = "Relu";
    else if (activation != "tanh")
      cell.fail("activation '{}' is not supported (tanh or relu)", activation);
  } else {
    if (activation != "tanh") cell.fail("activation '{}' is not supported (tanh)", activation);
    const std::string recurrent = cell.text("recurrent_activation", "sigmoid");
    if (recurrent != "sigmoid")
      cell.fail("recurrent_activation '{}' is not supported (sigmoid; Keras 2.0-2.2's default hard_sigmoid is not)",
                recurrent);
  }
  if (kind.op == Op::GRU) c.reset_after = cell.flag("reset_after", true);
  return c;
}

// One direction's Keras weights (kernel [I,G*H], recurrent_kernel [H,G*H], optional bias) into
// rows of the IR's W, R and B.
void place_weights(const CellKind& kind, const CellConfig& cell, std::int64_t input, const std::vector<Tensor>& w,
                   std::int64_t direction, Tensor& W, Tensor& R, Tensor& B) {
  const std::int64_t H = cell.units, G = kind.gates, rows = G * H;
  const auto kernel = w[0].f32(), recurrent = w[1].f32();
  auto wo = W.f32(), ro = R.f32(), bo = B.f32();
  for (std::int64_t g = 0; g < G; ++g) {
    const std::int64_t from = kind.keras_block[std::size_t(g)] * H;
    for (std::int64_t h = 0; h < H; ++h) {
      const std::int64_t row = direction * rows + g * H + h, column = from + h;
      for (std::int64_t i = 0; i < input; ++i)
        wo[std::size_t(row * input + i)] = kernel[std::size_t(i * rows + column)];
      for (std::int64_t k = 0; k < H; ++k) ro[std::size_t(row * H + k)] = recurrent[std::size_t(k * rows + column)];
      if (!cell.use_bias) continue;
      // GRU with reset_after keeps an input bias and a recurrent bias ([2, G*H]); the IR's
      // B holds the W biases, then the R biases, as ONNX's.
      const auto bias = w[2].f32();
      bo[std::size_t(direction * 2 * rows + g * H + h)] = bias[std::size_t(column)];
      if (kind.op == Op::GRU && cell.reset_after)
        bo[std::size_t(direction * 2 * rows + rows + g * H + h)] = bias[std::size_t(rows + column)];
    }
  }
}

std::vector<LayerCall::WeightSpec> weight_specs(const CellKind& kind, const CellConfig& cell, std::int64_t input) {
  const std::int64_t rows = kind.gates * cell.units;
  std::vector<LayerCall::WeightSpec> specs{{"kernel", {input, rows}}, {"recurrent_kernel", {cell.units, rows}}};
  if (cell.use_bias) {
    if (kind.op == Op::GRU && cell.reset_after)
      specs.push_back({"bias", {2, rows}});
    else
      specs.push_back({"bias", {rows}});
  }
  return specs;
}

// The recurrent node on batch-major `x` [N,T,I]: the IR node runs time-major, so x is
// transposed in and the result out; Bidirectional's "concat" is the D axis folded into the
// features ([N,T,D*H] or [N,D*H]), forward first, as Keras concatenates.
ValueId emit_recurrent(LayerCall& c, const CellKind& kind, const CellConfig& cell, const std::string& direction,
                       std::int64_t directions, Tensor W, Tensor R, Tensor B) {
  const ValueId x = c.input();
  const Shape xs = c.shape(x);
  if (xs.size() != 3) c.fail("input {} is not a sequence [batch, steps, features]", shape_string(xs));
  const std::int64_t batch = xs[0], steps = xs[1], H = cell.units;
  Attributes to_time;
  to_time.set("perm", Ints{1, 0, 2});
  const ValueId time_major = c.emit(Op::Transpose, {x}, to_time, "time_major");
  const Shape state{directions, batch, H};
  std::vector<ValueId> inputs{time_major, c.constant("W", std::move(W)), c.constant("R", std::move(R)),
                              c.constant("B", std::move(B)), c.constant("initial_h", Tensor(DType::f32, state))};
  if (kind.op == Op::LSTM) inputs.push_back(c.constant("initial_c", Tensor(DType::f32, state)));
  Attributes attrs;
  attrs.set("direction", direction);
  if (kind.op == Op::GRU) attrs.set("linear_before_reset", std::int64_t(cell.reset_after ? 1 : 0));
  if (kind.op == Op::RNN) attrs.set("activation", cell.rnn_activation);
  attrs.set("output", std::string(cell.return_sequences ? "Y" : "Y_h"));
  const std::string op = std::string(op_name(kind.op));
  const ValueId y = c.emit(kind.op, inputs, attrs, op);
  Attributes back;
  if (cell.return_sequences) {
    back.set("perm", Ints{2, 0, 1, 3});  // [T,D,N,H] -> [N,T,D,H]
    return c.reshape(c.emit(Op::Transpose, {y}, back, "batch_major"), {batch, steps, directions * H}, "sequence");
  }
  back.set("perm", Ints{1, 0, 2});  // [D,N,H] -> [N,D,H]
  return c.reshape(c.emit(Op::Transpose, {y}, back, "batch_major"), {batch, directions * H}, "last");
}

ValueId convert_recurrent(LayerCall& c) {
  const CellKind kind = cell_kind(c.layer().class_name);
  const CellConfig cell = read_cell(c, kind);
  const Shape xs = c.shape(c.input());
  if (xs.size() != 3) c.fail("input {} is not a sequence [batch, steps, features]", shape_string(xs));
  if (cell.go_backwards && cell.return_sequences)
    c.fail("go_backwards with return_sequences is not supported (Keras returns that sequence in reverse time)");
  const std::int64_t input = xs[2], rows = kind.gates * cell.units;
  const std::vector<Tensor> w = c.weights(weight_specs(kind, cell, input));
  Tensor W(DType::f32, {1, rows, input}), R(DType::f32, {1, rows, cell.units}), B(DType::f32, {1, 2 * rows});
  place_weights(kind, cell, input, w, 0, W, R, B);
  // A backwards layer's last output is the state after reading the sequence from its end:
  // the IR's reverse direction.
  return emit_recurrent(c, kind, cell, cell.go_backwards ? "reverse" : "forward", 1, std::move(W), std::move(R),
                        std::move(B));
}

ValueId convert_bidirectional(LayerCall& c) {
  const nlohmann::json& config = c.layer().config;
  auto inner = config.find("layer");
  if (inner == config.end() || !inner->is_object() || !inner->contains("class_name") ||
      !(*inner)["class_name"].is_string() || !inner->contains("config") || !(*inner)["config"].is_object())
    c.fail("'layer' must be a layer object with class_name and config");
  const std::string class_name = (*inner)["class_name"].get<std::string>();
  if (class_name != "LSTM" && class_name != "GRU" && class_name != "SimpleRNN")
    c.fail("wraps a {}; LSTM, GRU and SimpleRNN are supported", one_line(class_name));
  const std::string merge = c.text("merge_mode", "concat");
  if (merge != "concat") c.fail("merge_mode '{}' is not supported (concat)", merge);
  if (auto b = config.find("backward_layer"); b != config.end() && !b->is_null())
    c.fail("a separately configured backward_layer is not supported");
  // The wrapped layer's config read with the same checks as a layer of its own; errors name
  // the Bidirectional layer, whose group holds the weights.
  const KerasLayer wrapped{class_name, c.layer().name, (*inner)["config"], {}};
  const LayerCall cell_call(c.importer(), wrapped, c.inputs());
  const CellKind kind = cell_kind(class_name);
  const CellConfig cell = read_cell(cell_call, kind);
  if (cell.go_backwards) c.fail("a wrapped layer with go_backwards = true is not supported");
  const Shape xs = c.shape(c.input());
  if (xs.size() != 3) c.fail("input {} is not a sequence [batch, steps, features]", shape_string(xs));
  const std::int64_t input = xs[2], rows = kind.gates * cell.units;
  // Forward's kernel, recurrent_kernel, bias, then backward's: the order Keras saves them.
  const std::vector<LayerCall::WeightSpec> one_direction = weight_specs(kind, cell, input);
  const std::size_t per_direction = one_direction.size();
  std::vector<LayerCall::WeightSpec> specs = one_direction;
  specs.insert(specs.end(), one_direction.begin(), one_direction.end());
  const std::vector<Tensor> w = c.weights(specs);
  Tensor W(DType::f32, {2, rows, input}), R(DType::f32, {2, rows, cell.units}), B(DType::f32, {2, 2 * rows});
  for (std::int64_t d = 0; d < 2; ++d) {
    const std::vector<Tensor> one(w.begin() + std::ptrdiff_t(std::size_t(d) * per_direction),
                                  w.begin() + std::ptrdiff_t(std::size_t(d + 1) * per_direction));
    place_weights(kind, cell, input, one, d, W, R, B);
  }
  return emit_recurrent(c, kind, cell, "bidirectional", 2, std::move(W), std::move(R), std::move(B));
}

}  // namespace

void register_recurrent_converters(ConverterTable& t) {
  t["LSTM"] = convert_recurrent;
  t["GRU"] = convert_recurrent;
  t["SimpleRNN"] = convert_recurrent;
  t["Bidirectional"] = convert_bidirectional;
}

}  // namespace tinyq::keras_import
