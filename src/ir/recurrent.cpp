#include "ir/recurrent.hpp"

#include <cmath>
#include <cstdint>

#include "util/error.hpp"

namespace tinyq {

bool is_recurrent(Op op) { return op == Op::LSTM || op == Op::GRU || op == Op::RNN; }

int recurrent_gates(Op op) {
  switch (op) {
    case Op::LSTM: return 4;
    case Op::GRU: return 3;
    default: return 1;
  }
}

RecurrentDims recurrent_dims(const Graph& g, const Node& n) {
  const std::size_t expected_inputs = n.op == Op::LSTM ? 6 : 5;
  const bool peepholes = n.op == Op::LSTM && n.inputs.size() == 7;
  if (n.inputs.size() != expected_inputs && !peepholes)
    fail(n.name, "{} needs {} inputs (x, W, R, B, h0{}), has {}", op_name(n.op), expected_inputs,
         n.op == Op::LSTM ? ", c0, optionally P" : "", n.inputs.size());
  for (auto in : n.inputs)
    if (in == kNoValue) fail(n.name, "{} has an omitted input", op_name(n.op));
  auto shape = [&](std::size_t i) -> const Shape& { return g.value(n.inputs[i]).shape; };
  const Shape &x = shape(0), &w = shape(1), &r = shape(2), &b = shape(3);
  if (x.size() != 3 || w.size() != 3 || r.size() != 3 || b.size() != 2)
    fail(n.name, "{} expects x[T,N,I], W[D,G*H,I], R[D,G*H,H], B[D,2*G*H]; got {}, {}, {}, {}", op_name(n.op),
         shape_string(x), shape_string(w), shape_string(r), shape_string(b));
  RecurrentDims d{x[0], x[1], x[2], r[2], r[0], recurrent_gates(n.op)};
  // The kernels index with int; a graph from a file (a .tqm's float graph) is checked here too.
  for (std::int64_t v : {d.steps, d.batch, d.input, d.hidden})
    if (v < 1 || v > INT32_MAX)
      fail(n.name, "{} dimensions out of range: x {}, R {}", op_name(n.op), shape_string(x), shape_string(r));
  const std::string direction = n.attrs.get_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    fail(n.name, "unknown direction '{}'", direction);
  if (d.directions != (direction == "bidirectional" ? 2 : 1))
    fail(n.name, "direction '{}' needs {} weight sets, R has {}", direction, direction == "bidirectional" ? 2 : 1,
         d.directions);
  const std::int64_t rows = d.gates * d.hidden;
  if (d.hidden <= 0 || w != Shape{d.directions, rows, d.input} || r != Shape{d.directions, rows, d.hidden} ||
      b != Shape{d.directions, 2 * rows})
    fail(n.name, "{} weights W {}, R {}, B {} do not fit x {} with {} gates", op_name(n.op), shape_string(w),
         shape_string(r), shape_string(b), shape_string(x), d.gates);
  const Shape state{d.directions, d.batch, d.hidden};
  for (std::size_t i = 4; i < expected_inputs; ++i)
    if (shape(i) != state) fail(n.name, "initial state {} must be {}", shape_string(shape(i)), shape_string(state));
  if (peepholes && shape(6) != Shape{d.directions, 3 * d.hidden})
    fail(n.name, "peephole weights {} must be [{},{}]", shape_string(shape(6)), d.directions, 3 * d.hidden);
  const std::string output = n.attrs.get_string("output", "Y");
  if (output != "Y" && output != "Y_h" && (output != "Y_c" || n.op != Op::LSTM))
    fail(n.name, "{} has no output '{}'", op_name(n.op), output);
  if (n.attrs.has("cell_clip")) {
    const float clip = n.attrs.get_float("cell_clip", 0.0f);
    if (n.op != Op::LSTM || !(clip >= 0.0f) || !std::isfinite(clip))
      fail(n.name, "{} cell_clip {} is not supported (LSTM only, finite, >= 0)", op_name(n.op), clip);
  }
  const std::string activation = n.attrs.get_string("activation", "Tanh");
  if (activation != "Tanh" && (activation != "Relu" || n.op != Op::RNN))
    fail(n.name, "{} activation '{}' is not supported", op_name(n.op), activation);
  return d;
}

Shape recurrent_output_shape(const Graph& g, const Node& n) {
  const RecurrentDims d = recurrent_dims(g, n);
  if (n.attrs.get_string("output", "Y") == "Y") return {d.steps, d.directions, d.batch, d.hidden};
  return {d.directions, d.batch, d.hidden};
}

std::int64_t recurrent_macs(const RecurrentDims& d) {
  return d.steps * d.directions * d.batch * d.gates * d.hidden * (d.input + d.hidden);
}

}  // namespace tinyq
