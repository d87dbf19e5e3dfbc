// Row-by-row execution of a chain of layers (generate --patch). See kernels.hpp.
#include <string.h>

#include "tinyq/kernels.hpp"

namespace tinyq {
namespace rt {

namespace {

// Per layer, two words of `state`: the first input row held, and how many rows are held
// (they are consecutive and start at the buffer's beginning).
class RowStage {
 public:
  RowStage(const RowStageLayer* layers, int32_t* state, RowStageReader read)
      : layers_(layers), state_(state), read_(read) {}

  // Output rows q, q + 1, ... of layer i (its group, fewer at the end) into `out`; returns
  // how many. A layer's input rows arrive in order (its consumer asks for its output rows in
  // increasing order), so the rows below this call's first window are never read again:
  // they are dropped, the held rows moved to the buffer's start, and the missing rows
  // computed (or read) after them. Recursion depth: the number of layers.
  int32_t compute(int32_t i, int32_t q, int8_t* out) {
    const RowStageLayer& layer = layers_[i];
    int32_t& first = state_[2 * i];
    int32_t& held = state_[2 * i + 1];
    const int32_t n = layer.group < layer.out_rows - q ? layer.group : layer.out_rows - q;
    const int32_t start = q * layer.stride - layer.pad;
    const int32_t lo = start > 0 ? start : 0;
    const int32_t end = start + (n - 1) * layer.stride + layer.window - 1;
    const int32_t hi = end < layer.in_rows - 1 ? end : layer.in_rows - 1;
    if (lo > first) {
      const int32_t drop = lo - first < held ? lo - first : held;
      if (held > drop)
        memmove(layer.rows, layer.rows + drop * layer.row_bytes, static_cast<size_t>((held - drop) * layer.row_bytes));
      held -= drop;
      first = lo;
    }
    if (i == 0) {
      if (first + held <= hi) {
        read_(layer.rows + held * layer.row_bytes, first + held, hi - first - held + 1);
        held = hi - first + 1;
      }
    } else {
      while (first + held <= hi) held += compute(i - 1, first + held, layer.rows + held * layer.row_bytes);
    }
    layer.run(layer.rows, hi - lo + 1, lo - start, n, out);
    return n;
  }

 private:
  const RowStageLayer* layers_;
  int32_t* state_;
  RowStageReader read_;
};

}  // namespace

void row_stage_s8(const RowStageLayer* layers, int32_t count, int32_t* state, RowStageReader read, int8_t* output,
                  int32_t output_row_bytes) {
  for (int32_t i = 0; i < 2 * count; ++i) state[i] = 0;
  RowStage stage(layers, state, read);
  const int32_t rows = layers[count - 1].out_rows;
  for (int32_t q = 0; q < rows;) q += stage.compute(count - 1, q, output + q * output_row_bytes);
}

}  // namespace rt
}  // namespace tinyq
