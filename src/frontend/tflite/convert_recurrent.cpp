// UNIDIRECTIONAL_SEQUENCE_LSTM onto one IR LSTM node (Op::LSTM, ONNX's semantics and gate
// order, time-major; src/ir/op.hpp). TFLite keeps one tensor per gate (i, f, c, o) with the
// bias on the input side only; they are stacked here into W, R and B in the IR's order i, o, f, c
// (B's recurrent half zero), the peepholes into P (i, o, f), and the node is wrapped in
// transposes when the sequence is batch-major.
//
// State: the operator's output_state and cell_state inputs are variable tensors, which TFLite
// zeroes when it allocates them and then carries from one invocation to the next. tinyq runs
// every inference from that zero state, which is TFLite's first invocation (or one after
// ResetVariableTensors).
//
// Implemented exactly: peepholes, cell_clip (Keras models converted by TensorFlow carry 10),
// hybrid weights (dequantized like every constant). Refused by name: CIFG (no input gate),
// projection, layer normalization, diagonal recurrent weights, activations other than TANH.
#include <fmt/format.h>

#include <cmath>

#include "frontend/tflite/tflite_converter.hpp"
#include "util/error.hpp"

namespace tinyq::tflite {

namespace {

using Ints = std::vector<std::int64_t>;

// Input positions, the format's.
constexpr std::size_t kInput = 0;
constexpr std::size_t kInputWeights = 1;      // input_to_{input,forget,cell,output}_weights [cells, inputs]
constexpr std::size_t kRecurrentWeights = 5;  // recurrent_to_{input,forget,cell,output}_weights [cells, outputs]
constexpr std::size_t kPeepholes = 9;         // cell_to_{input,forget,output}_weights [cells]
constexpr std::size_t kGateBiases = 12;       // {input,forget,cell,output}_gate_bias [cells]
constexpr std::size_t kProjectionWeights = 16, kProjectionBias = 17;
constexpr std::size_t kOutputState = 18, kCellState = 19;  // variable tensors [batch, outputs], [batch, cells]
constexpr std::size_t kLayerNorms = 20;                    // {input,forget,cell,output}_layer_norm_coefficients

// IR gate block g (i, o, f, c) comes from TFLite gate kTfliteGate[g] (i, f, c, o).
constexpr std::size_t kTfliteGate[4] = {0, 3, 1, 2};
// IR peephole block p (i, o, f) comes from TFLite's cell_to_{input, forget, output}[kTflitePeephole[p]].
constexpr std::size_t kTflitePeephole[3] = {0, 2, 1};

// A state input: a variable tensor of shape `expected`. Its data is zero (a variable with data
// is refused when the file is read, as TFLite refuses it).
void check_state(Converter& cv, const OperatorInfo& op, std::size_t index, const char* what, const Shape& expected) {
  const TensorInfo& t = cv.input_tensor(op, index);
  if (!t.is_variable)
    fail(cv.at(op), "input {} ({}) '{}' must be a variable tensor (TFLite keeps the state in it)", index, what, t.name);
  if (t.shape != expected)
    fail(cv.at(op), "input {} ({}) has shape {}, expected {}", index, what, shape_string(t.shape),
         shape_string(expected));
}

// Constant input `index`, which must have shape `expected`.
Tensor shaped_constant(Converter& cv, const OperatorInfo& op, std::size_t index, const Shape& expected,
                       const char* what) {
  Tensor t = cv.constant_input(op, index);
  if (t.shape() != expected)
    fail(cv.at(op), "input {} ({}) has shape {}, expected {}", index, what, shape_string(t.shape()),
         shape_string(expected));
  return t;
}

void convert_lstm(Converter& cv, const OperatorInfo& op) {
  const std::string at = cv.at(op);
  if (op.inputs.size() != 20 && op.inputs.size() != 24) fail(at, "has {} inputs, expected 20 or 24", op.inputs.size());
  if (op.outputs.size() != 1) fail(at, "has {} outputs, expected 1", op.outputs.size());
  const auto options = options_as<UnidirectionalSequenceLstmOptions>(op, at);
  if (options.activation != Activation::Tanh)
    fail(at, "fused activation {} is not supported (only TANH, the cell's usual activation)",
         activation_name(options.activation));
  if (options.diagonal_recurrent_tensors) fail(at, "diagonal recurrent weights are not supported");
  if (!std::isfinite(options.cell_clip)) fail(at, "cell_clip {} is not supported", options.cell_clip);
  if (!cv.has_input(op, kInputWeights))
    fail(at, "coupled input and forget gates (CIFG: no input gate weights) are not supported");
  if (!cv.has_input(op, kRecurrentWeights) || !cv.has_input(op, kGateBiases))
    fail(at, "has input gate weights but no recurrent input weights or input gate bias");
  if (cv.has_input(op, kProjectionWeights) || cv.has_input(op, kProjectionBias))
    fail(at, "projection (projection_weights / projection_bias) is not supported");
  for (std::size_t i = kLayerNorms; i < op.inputs.size(); ++i)
    if (cv.has_input(op, i)) fail(at, "layer normalization (input {}) is not supported", i);
  const int peepholes =
      cv.has_input(op, kPeepholes) + cv.has_input(op, kPeepholes + 1) + cv.has_input(op, kPeepholes + 2);
  if (peepholes != 0 && peepholes != 3) fail(at, "has {} of the 3 peephole weights (cell_to_*_weights)", peepholes);

  // x: [batch, time, inputs], or [time, batch, inputs] when time_major.
  ValueId x = cv.input(op, kInput);
  const Shape xs = cv.shape(x);
  if (xs.size() != 3)
    fail(at, "input 0 has shape {}; a sequence [batch, time, features] is expected", shape_string(xs));
  const std::int64_t steps = options.time_major ? xs[0] : xs[1], batch = options.time_major ? xs[1] : xs[0];
  const std::int64_t inputs = xs[2];
  const Tensor forget = cv.constant_input(op, kInputWeights + 1);
  if (forget.shape().size() != 2 || forget.shape()[1] != inputs || forget.shape()[0] < 1)
    fail(at, "input_to_forget_weights has shape {}, expected [cells, {}]", shape_string(forget.shape()), inputs);
  const std::int64_t H = forget.shape()[0];

  Tensor W(DType::f32, {1, 4 * H, inputs}), R(DType::f32, {1, 4 * H, H}), B(DType::f32, {1, 8 * H});
  auto w = W.f32(), r = R.f32(), b = B.f32();
  for (std::size_t g = 0; g < 4; ++g) {
    const std::size_t from = kTfliteGate[g];
    const Tensor wg = shaped_constant(cv, op, kInputWeights + from, {H, inputs}, "input weights");
    const Tensor rg = shaped_constant(cv, op, kRecurrentWeights + from, {H, H}, "recurrent weights");
    const Tensor bg = shaped_constant(cv, op, kGateBiases + from, {H}, "gate bias");
    std::copy(wg.f32().begin(), wg.f32().end(), w.begin() + std::ptrdiff_t(g) * H * inputs);
    std::copy(rg.f32().begin(), rg.f32().end(), r.begin() + std::ptrdiff_t(g) * H * H);
    std::copy(bg.f32().begin(), bg.f32().end(), b.begin() + std::ptrdiff_t(g) * H);  // R's biases stay 0
  }
  check_state(cv, op, kOutputState, "output_state", {batch, H});
  check_state(cv, op, kCellState, "cell_state", {batch, H});

  if (!options.time_major) {
    Attributes perm;
    perm.set("perm", Ints{1, 0, 2});
    x = cv.emit_internal(op, "time_major", Op::Transpose, {x}, perm);
  }
  const std::string base = cv.tensor_name(op.inputs[kInput]);
  std::vector<ValueId> ins{x,
                           cv.add_constant(base + "_lstm_W", std::move(W)),
                           cv.add_constant(base + "_lstm_R", std::move(R)),
                           cv.add_constant(base + "_lstm_B", std::move(B)),
                           cv.add_constant(base + "_lstm_h0", Tensor(DType::f32, {1, batch, H})),
                           cv.add_constant(base + "_lstm_c0", Tensor(DType::f32, {1, batch, H}))};
  if (peepholes == 3) {
    Tensor P(DType::f32, {1, 3 * H});
    for (std::size_t p = 0; p < 3; ++p) {
      const Tensor pg = shaped_constant(cv, op, kPeepholes + kTflitePeephole[p], {H}, "peephole weights");
      std::copy(pg.f32().begin(), pg.f32().end(), P.f32().begin() + std::ptrdiff_t(p) * H);
    }
    ins.push_back(cv.add_constant(base + "_lstm_P", std::move(P)));
  }
  Attributes attrs;
  attrs.set("direction", std::string("forward"));
  attrs.set("output", std::string("Y"));
  if (options.cell_clip > 0.0f) attrs.set("cell_clip", options.cell_clip);  // TFLite clips only when > 0
  const ValueId y = cv.emit_internal(op, "lstm", Op::LSTM, ins, attrs);     // [T, 1, N, H]

  Attributes shape;
  shape.set("shape", Ints{steps, batch, H});
  if (options.time_major) {
    cv.emit(op, Op::Reshape, {y}, shape);
    return;
  }
  const ValueId steps_first = cv.emit_internal(op, "steps", Op::Reshape, {y}, shape);
  Attributes perm;
  perm.set("perm", Ints{1, 0, 2});
  cv.emit(op, Op::Transpose, {steps_first}, perm);  // [N, T, H], TFLite's output
}

}  // namespace

void register_recurrent_converters(ConverterTable& table) {
  table[std::int32_t(BuiltinOp::UnidirectionalSequenceLstm)] = convert_lstm;
}

}  // namespace tinyq::tflite
