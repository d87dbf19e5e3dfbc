// Float executor step of the recurrent layers (LSTM, GRU, RNN): each direction runs over the
// sequence with its state in the worker's scratch; the node's output selects what is kept
// (every step's hidden state, or the last hidden or cell state).
#include <algorithm>
#include <cstring>

#include "exec/float/recurrent.hpp"
#include "exec/float_step.hpp"
#include "ir/recurrent.hpp"
#include "util/error.hpp"

namespace tinyq::float_steps {

Step recurrent_step(const StepContext& c) {
  const Node& node = c.node;
  const RecurrentDims d = recurrent_dims(c.g, node);
  fk::RecurrentSpec spec{.cell = node.op == Op::LSTM  ? fk::RecurrentCell::LSTM
                                 : node.op == Op::GRU ? fk::RecurrentCell::GRU
                                                      : fk::RecurrentCell::RNN,
                         .steps = as_int(d.steps),
                         .batch = as_int(d.batch),
                         .input = as_int(d.input),
                         .hidden = as_int(d.hidden),
                         .linear_before_reset = node.attrs.get_int("linear_before_reset", 0) != 0,
                         .relu = node.attrs.get_string("activation", "Tanh") == "Relu",
                         .cell_clip = node.attrs.get_float("cell_clip", 0.0f)};
  const std::string output = node.attrs.get_string("output", "Y");
  const bool reverse_only = node.attrs.get_string("direction", "forward") == "reverse";
  const std::size_t state = std::size_t(d.batch) * std::size_t(d.hidden);
  const std::size_t rows = std::size_t(d.gates) * std::size_t(d.hidden);
  const std::size_t kernel_scratch = fk::recurrent_scratch_floats(spec);
  c.scratch_floats = std::max(c.scratch_floats, kernel_scratch + 2 * state);
  const std::vector<ValueId> ins = c.ins;
  const ValueId out = c.out;
  const bool lstm = node.op == Op::LSTM;
  const bool peepholes = lstm && ins.size() == 7;
  const int directions = as_int(d.directions);
  const std::size_t hidden = std::size_t(d.hidden);
  const bool keep_steps = output == "Y", keep_cell = output == "Y_c";
  return {c.with_clamp([=](Workspace& ws) {
            float* h = ws.scratch + kernel_scratch;
            float* cell = h + state;
            for (int dir = 0; dir < directions; ++dir) {
              const fk::RecurrentWeights weights{ws.ptr[ins[1]] + std::size_t(dir) * rows * std::size_t(spec.input),
                                                 ws.ptr[ins[2]] + std::size_t(dir) * rows * hidden,
                                                 ws.ptr[ins[3]] + std::size_t(dir) * 2 * rows,
                                                 peepholes ? ws.ptr[ins[6]] + std::size_t(dir) * 3 * hidden : nullptr};
              std::memcpy(h, ws.ptr[ins[4]] + std::size_t(dir) * state, state * sizeof(float));
              if (lstm) std::memcpy(cell, ws.ptr[ins[5]] + std::size_t(dir) * state, state * sizeof(float));
              float* y = keep_steps ? ws.ptr[out] + std::size_t(dir) * state : nullptr;
              fk::recurrent_direction(spec, weights, ws.ptr[ins[0]], reverse_only || dir == 1, h, cell, y,
                                      std::size_t(directions) * state, ws.scratch);
              if (!keep_steps)
                std::memcpy(ws.ptr[out] + std::size_t(dir) * state, keep_cell ? cell : h, state * sizeof(float));
            }
          }),
          out};
}

}  // namespace tinyq::float_steps
