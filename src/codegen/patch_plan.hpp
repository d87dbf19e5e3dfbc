#pragma once
// Patch-based inference (`generate --patch`; Lin et al., MCUNetV2, NeurIPS 2021): the
// memory-heavy first layers of an image model run row by row as one stage
// (rt::row_stage_s8), so that their large inputs and outputs are never whole in memory. Each
// layer keeps only the input rows its next output row reads (a 3x3 layer: three rows), and
// only the stage's last output, where the tensors have become small, is stored whole for
// the layer-by-layer rest of the model. The model's input is not in the arena at all: the
// stage reads it row by row from the application (NAME_read_input_rows: a camera's lines, a
// JPEG decoder's rows, a buffer in flash), as MCUNetV2 does.
//
// MCUNetV2 cuts the stage's output into a grid of patches and recomputes the overlap of
// their receptive fields. Here a patch is one output row of the full width, and the rows
// that neighbouring windows share are kept rather than recomputed: no extra arithmetic, a
// little copying (each layer's held rows move down when the window advances).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codegen/target.hpp"
#include "ir/qgraph.hpp"

namespace tinyq {

// Output rows per kernel call (PatchLayer::group): enough rows for `pixels_per_call` output
// pixels. The kernels set up once per call (requantization constants, re-laid weights, gather
// tables) and work in blocks of pixels (4 on the DSP path), so rows of a few pixels waste
// both; more rows per call hold more rows in memory. kPixelsPerCall is the cheaper choice,
// 1 (one row per call) the smaller.
inline constexpr std::int64_t kPixelsPerCall = 16;

struct PatchLayer {
  int node = -1;
  std::int64_t in_rows = 0, out_rows = 0;
  std::int64_t window = 1, stride = 1, pad = 0;  // output row q reads [q*stride - pad, +window)
  std::int64_t group = 1;                        // output rows per call
  std::size_t in_row_bytes = 0;
  // Input rows held: one call's windows, plus the rows the previous layer's last call ran
  // ahead (`previous_group` - 1; the input is read exactly).
  std::size_t held_rows(std::int64_t previous_group) const {
    return std::size_t(std::min(in_rows, window + (group - 1) * stride + previous_group - 1));
  }
};

struct PatchPlan {
  std::vector<PatchLayer> layers;  // in execution order; layers[0] reads the model's input
  int output_value = -1;           // the stage's last output, stored whole
  // Per value: the bytes of its buffer when it holds only some rows (0: the whole tensor).
  std::vector<std::size_t> value_bytes;
  bool contains(int node) const {
    for (const PatchLayer& l : layers)
      if (l.node == node) return true;
    return false;
  }
};

// The layers a stage may hold, from the model's input on: the longest chain of row-wise
// layers (conv, depthwise, max and average pooling, lookups) each reading only the previous
// one's output. Fails (one line naming the model or node) when the model cannot have one.
std::vector<PatchLayer> patch_candidates(const QGraph& g, std::int64_t pixels_per_call = 1);

// The stage of the first `count` candidates.
PatchPlan patch_plan(const QGraph& g, const std::vector<PatchLayer>& candidates, std::size_t count);

}  // namespace tinyq
