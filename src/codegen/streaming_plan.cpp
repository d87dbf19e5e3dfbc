#include "codegen/streaming_plan.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>

#include "qmodel/kernel_params.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

std::size_t product(const Shape& s, std::size_t from, std::size_t to = SIZE_MAX) {
  std::size_t p = 1;
  for (std::size_t i = from; i < s.size() && i < to; ++i) p *= std::size_t(s[i]);
  return p;
}

// The axis of `y` laid out as [outer, frames, inner] (the products of the axes before and
// after it), or -1: where a view keeps the frames of its input.
int axis_laid_out_as(const Shape& y, std::int64_t frames, std::size_t outer, std::size_t inner) {
  for (std::size_t a = 0; a < y.size(); ++a)
    if (y[a] == frames && product(y, a + 1) == inner && product(y, 0, a) == outer) return int(a);
  return -1;
}

// The time axis of the model's input: H of an NHWC [1, T, 1, C] spectrogram (TFLite and
// Keras audio models), W of [1, 1, T, C] (ONNX 2-D models of one-pixel-high inputs), the
// second axis of a [1, T, F] sequence, or the last of an ONNX 1-D [1, C, L] input.
// A 3-D input is read as [1, C, L] when a transpose (strided copy) consumes it, as ONNX 1-D
// models begin, else as [1, T, F].
TimeAxis input_time_axis(const QGraph& g, int input) {
  const QValue& v = g.values[std::size_t(input)];
  const Shape& s = v.shape;
  bool transposed = false;
  std::vector<bool> view_of_input(g.values.size(), false);  // the input and reshapes of it
  view_of_input[std::size_t(input)] = true;
  for (const QNode& n : g.nodes)  // stored in a topological order
    for (int in : n.inputs) {
      if (!view_of_input[std::size_t(in)]) continue;
      if (n.kernel == QKernel::Reshape) view_of_input[std::size_t(n.output)] = true;
      transposed = transposed || n.kernel == QKernel::StridedCopy;
    }
  TimeAxis t;
  if (s.size() == 3 && s[0] > 1 && s[1] == 1) t.axis = 0;  // ONNX recurrent [T, N, F]
  if (s.size() == 4 && s[0] == 1 && s[2] == 1 && s[1] > 1) t.axis = 1;
  if (s.size() == 4 && s[0] == 1 && s[1] == 1 && s[2] > 1) t.axis = 2;
  if (s.size() == 3 && s[0] == 1 && t.axis < 0) t.axis = transposed ? 2 : 1;
  if (t.axis < 0)
    fail(v.name,
         "streaming needs one time axis in the input: stored [1,T,1,C], [1,1,T,C], [1,T,F] or [1,C,L], not [{}] "
         "(2-D images and batched inputs have no frame order)",
         fmt::join(s, ","));
  t.frames = s[std::size_t(t.axis)];
  t.outer = product(s, 0, std::size_t(t.axis));
  t.row_bytes = t.outer * product(s, std::size_t(t.axis) + 1);
  return t;
}

// Whether the strided copy `n` turns its input, whose time axis `t` has `outer` elements
// per frame spread `frames` apart, into a time-major output [1.., T, row]: then one frame
// is the same bytes in both layouts, and the step copy is a view.
bool transposes_to_time_major(const QNode& n, const TimeAxis& t, const QValue& out) {
  const rt::StridedCopyParams p = strided_copy_params(n);
  if (p.index_axis >= 0 || p.rank < 1 || p.rank > rt::kMaxCopyRank) return false;
  const std::size_t row = t.row_bytes, inner = row / t.outer, total = std::size_t(element_count(out.shape));
  if (total != row * std::size_t(t.frames)) return false;
  std::vector<std::int64_t> index(std::size_t(p.rank), 0);
  for (std::size_t j = 0; j < total; ++j) {
    std::int64_t pos = p.offset;
    for (int d = 0; d < p.rank; ++d) pos += index[std::size_t(d)] * p.stride[d];
    const std::size_t frame = j / row, element = j % row, o = element / inner, i = element % inner;
    if (pos != std::int64_t((o * std::size_t(t.frames) + frame) * inner + i)) return false;
    for (int d = p.rank - 1; d >= 0; --d) {  // next output index, row-major
      if (++index[std::size_t(d)] < p.shape[d]) break;
      index[std::size_t(d)] = 0;
    }
  }
  return true;
}

class Planner {
 public:
  explicit Planner(const QGraph& g) : g_(g) {
    p_.step = g;
    p_.time.assign(g.values.size(), TimeAxis{});
    root_.resize(g.values.size());
    for (std::size_t v = 0; v < root_.size(); ++v) root_[v] = int(v);
    collapse_.assign(g.values.size(), false);
  }

  StreamingPlan run() {
    if (g_.inputs.size() != 1)
      fail("generate --streaming", "the model has {} inputs; streaming needs one", g_.inputs.size());
    const int input = g_.inputs[0];
    p_.time[std::size_t(input)] = input_time_axis(g_, input);
    for (std::size_t n = 0; n < g_.nodes.size(); ++n) plan_node(n);
    place_histories();
    const TimeAxis& in = p_.time[std::size_t(input)];
    p_.frame_bytes = in.row_bytes;
    // The receptive field: input frames minus the output's own extra rows.
    std::int64_t out_frames = 1;
    for (int o : g_.outputs) out_frames = std::max(out_frames, p_.time[std::size_t(o)].frames);
    p_.window_frames = p_.stateful() ? in.frames : in.frames - out_frames + 1;
    for (RecurrentState& r : p_.states) r.delay = in.frames - r.delay;  // r.delay held its input's frames
    for (std::size_t v = 0; v < g_.values.size(); ++v) {                // each value's step shape: one row
      const TimeAxis& t = p_.time[v];
      if (t.axis >= 0) p_.step.values[v].shape[std::size_t(t.axis)] = 1;
    }
    return std::move(p_);
  }

 private:
  const QGraph& g_;
  StreamingPlan p_;
  std::vector<int> root_;                           // reshape views share their input's buffer
  std::vector<bool> collapse_;                      // a flatten of a whole window: read from its root's oldest kept row
  std::vector<std::pair<int, std::size_t>> reads_;  // (node, value read with a window of w rows) in order
  std::map<std::pair<int, int>, std::size_t> window_;

  const TimeAxis& time(int v) const { return p_.time[std::size_t(v)]; }
  bool has_time(int v) const { return time(v).axis >= 0 && time(v).frames > 1; }

  [[noreturn]] void refuse(const QNode& n, const std::string& why) const {
    fail(n.name, "cannot stream {} ({}): {}", n.op, qkernel_name(n.kernel), why);
  }

  void read(std::size_t n, int v, std::size_t window) { window_[{int(n), v}] = window; }

  void plan_node(std::size_t index) {
    const QNode& n = g_.nodes[index];
    QNode& s = p_.step.nodes[index];
    std::vector<int> timed;
    for (int v : n.inputs)
      if (has_time(v)) timed.push_back(v);
    if (n.kernel == QKernel::Reshape) root_[std::size_t(n.output)] = root_[std::size_t(n.inputs.at(0))];
    if (has_int16_tensor(g_, n)) refuse(n, "int16 layers do not stream yet (quantize with --int16 off)");
    // A recurrent layer always carries its state from step to step, also over a one-frame
    // sequence (a model exported to be called once per frame, as a Keras stateful layer is).
    if (n.kernel == QKernel::Recurrent) return plan_recurrent(index, n, s, timed.empty());
    if (timed.empty()) return;  // computed from the whole window each step, as in the windowed model
    const TimeAxis& t = time(timed[0]);
    // A copy that keeps every frame's bytes in order and puts time first (ONNX 1-D inputs
    // transposed to NHWC, a sequence transposed to time-major): one frame is the same bytes
    // in both layouts, so the step reads it as a view.
    if (n.kernel == QKernel::StridedCopy && transposes_to_time_major(n, t, g_.values[std::size_t(n.output)])) {
      s.kernel = QKernel::Reshape;
      s.ints.clear();
      s.i32.clear();
      root_[std::size_t(n.output)] = root_[std::size_t(n.inputs[0])];
      const int a = axis_laid_out_as(g_.values[std::size_t(n.output)].shape, t.frames, 1, t.row_bytes);
      if (a < 0) refuse(n, "its output has no time axis");
      p_.time[std::size_t(n.output)] = {a, t.frames, t.row_bytes};
      return;
    }
    if (t.outer != 1 && n.kernel != QKernel::Reshape)  // ONNX 1-D input: only its transpose reads it
      refuse(n, "it reads the input along its channels (a stream gives frames one at a time)");
    for (int v : timed)
      if (time(v).axis != t.axis || time(v).frames != t.frames) refuse(n, "its inputs have different time extents");
    if (timed.size() != n.inputs.size() && n.kernel != QKernel::Reshape)
      refuse(n, "it mixes a tensor along time with one computed from the whole window");
    TimeAxis& out = p_.time[std::size_t(n.output)];
    const Shape& y = g_.values[std::size_t(n.output)].shape;
    switch (n.kernel) {
      case QKernel::Conv:
      case QKernel::Depthwise:
      case QKernel::MaxPool:
      case QKernel::AvgPool: {
        const bool h = t.axis == 1;
        if (y.size() != 4 || (t.axis != 1 && t.axis != 2)) refuse(n, "time is not a spatial axis");
        const char* in_key = h ? "in_h" : "in_w";
        const char* out_key = h ? "out_h" : "out_w";
        const std::int64_t k = n.get(h ? "kernel_h" : "kernel_w"), stride = n.get(h ? "stride_h" : "stride_w");
        const bool conv = n.kernel == QKernel::Conv || n.kernel == QKernel::Depthwise;
        const std::int64_t d = conv ? n.get(h ? "dilation_h" : "dilation_w") : 1;
        const std::int64_t pad = n.get(h ? "pad_top" : "pad_left") + (conv ? 0 : n.get(h ? "pad_bottom" : "pad_right"));
        const std::int64_t w = (k - 1) * d + 1, frames_in = n.get(in_key), frames_out = n.get(out_key);
        if (frames_in != t.frames) refuse(n, "its parameters disagree with its input's time extent");
        if (pad != 0)
          refuse(n,
                 "it pads along time (streaming needs valid padding: each output row is then the newest input rows)");
        const bool sliding = stride == 1 && frames_out == frames_in - w + 1;
        const bool whole = frames_out == 1 && frames_in == w;
        if (!sliding && !whole)
          refuse(n, fmt::format("stride {} along time (an output row per input frame needs stride 1)", stride));
        s.ints[in_key] = w;
        s.ints[out_key] = 1;
        out = {t.axis, frames_out, product(y, std::size_t(t.axis) + 1)};
        read(index, n.inputs[0], std::size_t(w));
        return;
      }
      case QKernel::Lookup:
      case QKernel::Add:
      case QKernel::Mul:
      case QKernel::Prelu:
      case QKernel::Concat:
      case QKernel::Softmax:
      case QKernel::LayerNorm:
      case QKernel::Dense: {
        if (y.size() <= std::size_t(t.axis) || y[std::size_t(t.axis)] != t.frames)
          refuse(n, "its output does not keep the time axis");
        for (std::size_t a = 0; a < std::size_t(t.axis); ++a)
          if (y[a] != 1) refuse(n, "its output has axes before time");
        row_local(n, s, t);
        out = {t.axis, t.frames, product(y, std::size_t(t.axis) + 1)};
        for (int v : n.inputs) read(index, v, 1);
        return;
      }
      case QKernel::Reshape: {
        if (const int a = axis_laid_out_as(y, t.frames, t.outer, t.row_bytes / t.outer); a >= 0) {
          out = {a, t.frames, t.row_bytes, t.outer};  // same bytes, same frame order: a view along time
          return;
        }
        if (t.outer != 1) refuse(n, "it reshapes the input across its time axis");
        // Everything that is left of the window, flattened (into dense layers): the reshape
        // reads all of its input's rows; what follows runs once per step.
        collapse_[std::size_t(n.output)] = true;
        read(index, n.inputs[0], std::size_t(t.frames));
        return;
      }
      default:
        refuse(n,
               "this kernel cannot run one time step at a time (supported along time: conv, depthwise, max and average "
               "pooling with valid padding and stride 1, elementwise, softmax, layer norm, dense per row, concat of "
               "channels, flatten, forward LSTM/GRU/RNN)");
    }
  }

  void plan_recurrent(std::size_t index, const QNode& n, QNode& s, bool one_frame) {
    const int x = n.inputs.at(0);
    const std::int64_t frames = one_frame ? 1 : time(x).frames;
    if (!one_frame && time(x).axis != 0) refuse(n, "its sequence is not the time axis of the stream");
    if (one_frame && n.get("steps") != 1)
      refuse(n, "its sequence is computed from the whole window (not one row per frame)");
    if (n.get("batch") != 1) refuse(n, "a batch of sequences is not one stream");
    if (n.get("directions") != 1 || n.get("reverse") != 0)
      refuse(n, "it runs backward in time (reverse or bidirectional): each step would need future frames");
    if (n.get("steps") != frames) refuse(n, "its steps disagree with its input's time extent");
    s.ints["steps"] = 1;
    p_.states.push_back({int(index), rt::recurrent_s8_state_words(recurrent_params(n)), frames});
    const Shape& y = g_.values[std::size_t(n.output)].shape;
    if (!one_frame && n.get("output") == rt::kRecurrentY) p_.time[std::size_t(n.output)] = {0, frames, product(y, 1)};
    if (!one_frame) read(index, x, 1);
  }

  // A kernel that computes each row along time from the same row of its inputs: its
  // parameters count rows (or outer elements) including time; the step has one row.
  void row_local(const QNode& n, QNode& s, const TimeAxis& t) {
    auto per_frame = [&](const char* key) {
      const std::int64_t all = n.get(key);
      if (all % t.frames != 0) refuse(n, "its rows do not split along time");
      s.ints[key] = all / t.frames;
    };
    switch (n.kernel) {
      case QKernel::Softmax:
      case QKernel::LayerNorm:
      case QKernel::Dense: per_frame("rows"); return;
      case QKernel::Prelu:
      case QKernel::Concat: per_frame("outer"); return;
      case QKernel::Add:
      case QKernel::Mul: {
        const std::size_t rank = g_.values[std::size_t(n.output)].shape.size();
        for (const char* key : {"a_shape", "b_shape", "out_shape"}) {
          std::vector<std::int32_t> shape = n.words(key);
          const std::size_t lead = rank - shape.size();  // numpy broadcasting aligns on the right
          if (shape.size() > rank || std::size_t(t.axis) < lead) continue;
          std::int32_t& dim = shape[std::size_t(t.axis) - lead];
          const bool constant = key[1] == '_' && n.get(std::string(1, key[0]) + "_const") != 0;
          if (dim == t.frames && constant) refuse(n, "a constant operand varies along time");
          if (dim != t.frames && dim != 1) refuse(n, "an operand's time extent differs from its output's");
          dim = 1;
          s.i32[key] = shape;
        }
        return;
      }
      default: return;  // Lookup: element count from the step shapes
    }
  }

  // History rows per root buffer: the longest window any reader takes (a view's readers
  // count for its root). Offsets follow: readers start `rows - window` rows in, writers
  // write the newest row.
  void place_histories() {
    std::vector<std::size_t> rows(g_.values.size(), 1);
    for (const auto& [key, w] : window_) {
      const std::size_t r = std::size_t(root_[std::size_t(key.second)]);
      rows[r] = std::max(rows[r], w);
    }
    p_.storage_bytes.assign(g_.values.size(), 0);
    for (std::size_t v = 0; v < g_.values.size(); ++v) {
      if (root_[v] != int(v) || rows[v] <= 1) continue;
      const TimeAxis& t = p_.time[v];
      if (t.axis < 0) continue;
      p_.history.push_back({int(v), rows[v], t.row_bytes, g_.values[v].quant.zero_point});
      p_.storage_bytes[v] = rows[v] * t.row_bytes;
    }
    for (const auto& [key, w] : window_) {
      const int v = key.second;
      const std::size_t r = std::size_t(root_[std::size_t(v)]);
      p_.view_bytes[key] = (rows[r] - w) * p_.time[std::size_t(v)].row_bytes;
    }
    // Readers of a flattened window (dense layers after the flatten) read it whole.
    for (std::size_t n = 0; n < g_.nodes.size(); ++n)
      for (int v : g_.nodes[n].inputs)
        if (collapse_[std::size_t(v)]) p_.view_bytes[{int(n), v}] = 0;
    // Writers: the newest row of their output.
    for (std::size_t n = 0; n < g_.nodes.size(); ++n) {
      const int y = g_.nodes[n].output;
      if (g_.nodes[n].kernel == QKernel::Reshape || !has_time(y)) continue;
      p_.view_bytes[{int(n), y}] = (rows[std::size_t(y)] - 1) * time(y).row_bytes;
    }
    // The C interface: the input frame is written as the newest row, outputs read as theirs.
    for (int v : g_.inputs) p_.view_bytes[{-1, v}] = (rows[std::size_t(root_[std::size_t(v)])] - 1) * time(v).row_bytes;
    for (int v : g_.outputs)
      if (has_time(v)) p_.view_bytes[{-1, v}] = (rows[std::size_t(root_[std::size_t(v)])] - 1) * time(v).row_bytes;
  }
};

}  // namespace

StreamingPlan plan_streaming(const QGraph& windowed) { return Planner(windowed).run(); }

}  // namespace tinyq
