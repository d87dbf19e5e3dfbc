#pragma once
// Streaming inference (`generate --streaming`): the windowed model turned into a per-frame
// step. A model whose time axis is processed causally (convolutions and pooling along time
// with valid padding and stride 1, elementwise and per-row layers, a flatten of what is left
// of the window into dense layers) produces, for each new input frame, exactly one new row
// of every tensor along time. The step computes only that row: each layer reads the last
// `window` rows of its input from a history buffer kept in the static arena across calls,
// and writes one row. After the model has seen as many frames as its window (the receptive
// field), each step's output equals, byte for byte, the windowed model's output on the last
// `window_frames` frames, because every kernel computes an output row from the same input
// rows with the same integer arithmetic.
//
// Histories are shift windows, not wrap-around rings: the kernels need a layer's input rows
// contiguous and in time order, so after each step every history moves up by one row (a
// memmove of (rows - 1) rows; on MLPerf Tiny's streaming wakeword model about 3.5 KB per
// frame). Reading with constant offsets keeps the step straight-line code.
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/qgraph.hpp"

namespace tinyq {

// A value's time axis in the windowed model: its stored axis (-1: none, the value is
// computed once per step from the whole window), its length, and the bytes of one row (one
// frame's worth). Rows are contiguous (the axes before time are all 1), except for a model
// input whose time is its last axis (ONNX (N, C, L)): its `outer` elements of a frame lie
// `frames` apart in the windowed layout, and only a transpose to time-major reads it.
struct TimeAxis {
  int axis = -1;
  std::int64_t frames = 1;
  std::size_t row_bytes = 0;
  std::size_t outer = 1;  // product of the axes before time
};

struct History {
  int value = -1;  // a root value of the step graph (not a reshape view)
  std::size_t rows = 0, row_bytes = 0;
  std::int32_t zero_point = 0;  // what NAME_reset() fills it with
};

// A recurrent layer's h and c, carried from one step to the next (a stateful stream).
struct RecurrentState {
  int node = -1;
  std::size_t words = 0;   // int32 words (rt::recurrent_s8_state_words)
  std::int64_t delay = 0;  // frames before its input's first row exists (convolutions before it)
};

struct StreamingPlan {
  QGraph step;                             // same nodes and values, each node shaped to compute one new row
  std::vector<TimeAxis> time;              // per value, in the windowed model
  std::vector<History> history;            // values kept across steps (rows > 1)
  std::vector<std::size_t> storage_bytes;  // per value: bytes its buffer needs (0: its step shape)
  // Extra bytes into a value's buffer where node n (or -1: the C interface) reads or writes
  // it: the rows a layer's window starts at, the newest row a producer writes.
  std::map<std::pair<int, int>, std::size_t> view_bytes;
  std::vector<RecurrentState> states;
  // Frames before the first output that equals the windowed model's. With recurrent layers
  // the window is the whole stream since the last reset: the output after the model's input
  // length in frames equals the windowed model's on those frames, and later frames continue
  // the recurrent state.
  std::int64_t window_frames = 1;
  std::size_t frame_bytes = 0;         // one input frame (NAME_INPUT_SIZE in streaming code)
  std::size_t history_bytes() const {  // layer histories and recurrent states
    std::size_t bytes = 0;
    for (const History& h : history) bytes += h.rows * h.row_bytes;
    for (const RecurrentState& s : states) bytes += s.words * 4;
    return bytes;
  }
  bool stateful() const { return !states.empty(); }
};

// Fails (one line naming the node and why) when the model cannot be streamed.
StreamingPlan plan_streaming(const QGraph& windowed);

}  // namespace tinyq
