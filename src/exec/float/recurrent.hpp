#pragma once
// Float kernels of the recurrent layers (LSTM, GRU, simple RNN) with ONNX's equations and
// gate order (src/ir/op.hpp): one direction of one layer over the whole sequence.
#include <cstddef>

namespace tinyq::fk {

enum class RecurrentCell { LSTM, GRU, RNN };

struct RecurrentSpec {
  RecurrentCell cell;
  int steps, batch, input, hidden;
  bool linear_before_reset = false;  // GRU: apply the reset gate after the recurrent projection
  bool relu = false;                 // RNN: Relu instead of Tanh
  float cell_clip = 0.0f;            // LSTM: > 0 clamps the new cell state to [-clip, clip]
};

// One direction's parameters. w [G*H, I], r [G*H, H], b [2*G*H] (the W biases, then the R
// biases), G = 4 (LSTM: i,o,f,c), 3 (GRU: z,r,h) or 1 (RNN). p [3*H]: LSTM's peephole weights
// of i, o, f, or nullptr.
struct RecurrentWeights {
  const float* w;
  const float* r;
  const float* b;
  const float* p = nullptr;
};

// Runs the sequence x [T,N,I] forward (or from the last step to the first when `reverse`).
// h [N,H] (and c [N,H] for LSTM; unused otherwise) hold the initial state on entry and the
// last state on return. When y is not null, step t's hidden state [N,H] is written at
// y + t * y_step_stride. `scratch` holds recurrent_scratch_floats(spec) floats.
void recurrent_direction(const RecurrentSpec& spec, const RecurrentWeights& weights, const float* x, bool reverse,
                         float* h, float* c, float* y, std::size_t y_step_stride, float* scratch);
std::size_t recurrent_scratch_floats(const RecurrentSpec& spec);

}  // namespace tinyq::fk
