#include "codegen/memory_layout.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "qmodel/kernel_params.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

std::size_t aligned(std::size_t bytes) { return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

// The graph seen as storage: Reshape outputs are views of their input, so every value maps
// to a root value that owns bytes; a root is read by the consumers of all its views.
struct Storage {
  std::vector<int> producer;              // per value: node index, -1 for graph inputs
  std::vector<int> root;                  // per value
  std::vector<std::size_t> bytes;         // per root value (0 for views)
  std::vector<std::vector<int>> readers;  // per root value: nodes reading it through any view
  std::vector<bool> is_output_root, is_input_root;
  std::vector<bool> persistent;                // per root: kept across invocations (streaming histories)
  std::vector<std::size_t> extra;              // persistent buffers that hold no value (recurrent states)
  std::vector<std::vector<int>> predecessors;  // per node
  std::vector<std::size_t> scratch;            // per node
};

Storage storage_of(const QGraph& g, const Target& target, const std::vector<std::size_t>& persistent_bytes,
                   const PatchPlan* patch) {
  const std::size_t V = g.values.size(), N = g.nodes.size();
  Storage s;
  s.producer.assign(V, -1);
  s.root.resize(V);
  s.bytes.assign(V, 0);
  s.readers.resize(V);
  s.is_output_root.assign(V, false);
  s.is_input_root.assign(V, false);
  s.predecessors.resize(N);
  for (std::size_t n = 0; n < N; ++n) s.producer[std::size_t(g.nodes[n].output)] = int(n);
  for (std::size_t v = 0; v < V; ++v) s.root[v] = int(v);
  for (const QNode& n : g.nodes)  // nodes are stored in a topological order
    if (n.kernel == QKernel::Reshape) s.root[std::size_t(n.output)] = s.root[std::size_t(n.inputs.at(0))];
  s.persistent.assign(V, false);
  for (std::size_t v = 0; v < V; ++v) {
    if (s.root[v] != int(v)) continue;
    s.persistent[v] = v < persistent_bytes.size() && persistent_bytes[v] > 0;
    std::size_t bytes = s.persistent[v]
                            ? persistent_bytes[v]
                            : std::size_t(element_count(g.values[v].shape) * element_bytes(g.values[v].quant));
    if (patch != nullptr && patch->value_bytes[v] > 0) bytes = patch->value_bytes[v];  // rows held
    s.bytes[v] = aligned(bytes);
  }
  for (std::size_t n = 0; n < N; ++n) {
    for (int in : g.nodes[n].inputs) {
      auto& r = s.readers[std::size_t(s.root[std::size_t(in)])];
      if (std::find(r.begin(), r.end(), int(n)) == r.end()) r.push_back(int(n));
      const int p = s.producer[std::size_t(in)];
      if (p >= 0 && std::find(s.predecessors[n].begin(), s.predecessors[n].end(), p) == s.predecessors[n].end())
        s.predecessors[n].push_back(p);
    }
    // 16x8 layers (conv2d_wide) need no scratch.
    s.scratch.push_back(has_int16_tensor(g, g.nodes[n]) ? 0 : aligned(node_scratch_bytes(g.nodes[n], target)));
  }
  for (int o : g.outputs) s.is_output_root[std::size_t(s.root[std::size_t(o)])] = true;
  for (int i : g.inputs) s.is_input_root[std::size_t(s.root[std::size_t(i)])] = true;
  return s;
}

// Exact minimum over topological orders of the peak of live bytes (activations + the
// running node's scratch), by depth-first search over sets of executed nodes with
// memoisation. The live bytes depend only on the set, so each set is solved once; branchy
// graphs (inception, densenet) have few such sets. Gives up beyond a state budget.
class PeakScheduler {
 public:
  PeakScheduler(const QGraph& g, const Storage& s) : g_(g), s_(s), N_(g.nodes.size()) {}

  // Empty if the budget ran out.
  std::vector<int> best_order() {
    std::vector<bool> done(N_, false);
    if (solve(done, live_bytes(done)) == kGaveUp) return {};
    std::vector<int> order;
    std::fill(done.begin(), done.end(), false);
    for (std::size_t k = 0; k < N_; ++k) {
      int n = choice_.at(key(done));
      order.push_back(n);
      done[std::size_t(n)] = true;
    }
    return order;
  }

 private:
  static constexpr std::size_t kGaveUp = SIZE_MAX;
  static constexpr std::size_t kStateBudget = 200000;
  const QGraph& g_;
  const Storage& s_;
  std::size_t N_;
  std::map<std::string, std::size_t> peak_;
  std::map<std::string, int> choice_;

  static std::string key(const std::vector<bool>& done) {
    std::string k((done.size() + 7) / 8, '\0');
    for (std::size_t i = 0; i < done.size(); ++i)
      if (done[i]) k[i / 8] = char(k[i / 8] | (1 << (i % 8)));
    return k;
  }

  bool alive(std::size_t r, const std::vector<bool>& done) const {
    if (s_.root[r] != int(r) || s_.bytes[r] == 0) return false;
    if (s_.persistent[r]) return true;
    const int p = s_.producer[r];
    if (p >= 0 && !done[std::size_t(p)]) return false;
    if (s_.is_output_root[r] || s_.persistent[r]) return true;
    for (int reader : s_.readers[r])
      if (!done[std::size_t(reader)]) return true;
    return false;
  }

  std::size_t live_bytes(const std::vector<bool>& done) const {
    std::size_t live = 0;
    for (std::size_t r = 0; r < s_.root.size(); ++r)
      if (alive(r, done)) live += s_.bytes[r];
    return live;
  }

  std::size_t solve(std::vector<bool>& done, std::size_t live) {
    const std::string k = key(done);
    if (auto it = peak_.find(k); it != peak_.end()) return it->second;
    if (peak_.size() >= kStateBudget) return kGaveUp;
    std::size_t best = SIZE_MAX;
    int best_node = -1;
    bool finished = true;
    for (std::size_t n = 0; n < N_; ++n) {
      if (done[n]) continue;
      finished = false;
      if (!std::all_of(s_.predecessors[n].begin(), s_.predecessors[n].end(),
                       [&](int p) { return done[std::size_t(p)]; }))
        continue;
      const int out = g_.nodes[n].output;
      const std::size_t produced =
          s_.root[std::size_t(out)] == out && !s_.persistent[std::size_t(out)] ? s_.bytes[std::size_t(out)] : 0;
      const std::size_t step = live + produced + s_.scratch[n];
      if (step >= best) continue;
      done[n] = true;
      const std::size_t rest = solve(done, live_bytes(done));
      done[n] = false;
      if (rest == kGaveUp) return kGaveUp;
      if (std::max(step, rest) < best) best = std::max(step, rest), best_node = int(n);
    }
    if (finished) best = 0;
    peak_[k] = best;
    if (best_node >= 0) choice_[k] = best_node;
    return best;
  }
};

// Whether node n may write its output over input value `in` (same bytes, element by
// element: each output element depends only on the input element at the same index, which
// the kernels read before they write it).
bool may_run_in_place(const QNode& n, int in, const QGraph& g) {
  const auto same_size = [&] {
    return element_count(g.values[std::size_t(in)].shape) == element_count(g.values[std::size_t(n.output)].shape);
  };
  switch (n.kernel) {
    case QKernel::Lookup:
    case QKernel::Prelu: return same_size();
    case QKernel::Add:
    case QKernel::Mul: {
      const BinaryOperands ops = binary_operands(n);
      const char* shape_key = in == ops.a_input ? "a_shape" : "b_shape";
      return n.words(shape_key) == n.words("out_shape") && same_size();
    }
    default: return false;
  }
}

MemoryLayout layout_for_order(const QGraph& g, const Storage& s, std::vector<int> order, bool allow_in_place,
                              const PatchPlan* patch) {
  const std::size_t V = g.values.size(), N = g.nodes.size();
  MemoryLayout m;
  m.order = std::move(order);
  std::vector<int> step_of(N);
  for (std::size_t t = 0; t < N; ++t) step_of[std::size_t(m.order[t])] = int(t);
  const int last_step = N ? int(N) - 1 : 0;

  // One buffer per root that holds bytes, alive from its producer to its last reader.
  std::vector<int> root_buffer(V, -1);
  for (std::size_t r = 0; r < V; ++r) {
    if (s.root[r] != int(r) || s.bytes[r] == 0) continue;
    const int p = s.producer[r];
    const bool used = p >= 0 || s.is_input_root[r] || !s.readers[r].empty();
    if (!used) continue;
    BufferRequest b{g.values[r].name, s.bytes[r], p >= 0 ? step_of[std::size_t(p)] : 0, 0};
    b.last_step = b.first_step;
    for (int reader : s.readers[r]) b.last_step = std::max(b.last_step, step_of[std::size_t(reader)]);
    if (s.is_output_root[r]) b.last_step = last_step;
    if (s.persistent[r]) b.first_step = 0, b.last_step = last_step;  // no other buffer ever overlaps it
    if (patch != nullptr) {  // written or read by the stage: alive from its first layer to its last
      int stage_first = last_step, stage_last = 0;
      bool touched = false;
      for (const PatchLayer& l : patch->layers) {
        const QNode& n = g.nodes[std::size_t(l.node)];
        const int t = step_of[std::size_t(l.node)];
        stage_first = std::min(stage_first, t), stage_last = std::max(stage_last, t);
        touched = touched || n.output == int(r) || s.root[std::size_t(n.inputs[0])] == int(r);
      }
      if (touched) b.first_step = std::min(b.first_step, stage_first), b.last_step = std::max(b.last_step, stage_last);
    }
    root_buffer[r] = int(m.buffers.size());
    m.buffers.push_back(std::move(b));
  }
  // In-place: an elementwise node whose input buffer dies at this very step takes it over.
  m.in_place.assign(N, false);
  for (std::size_t t = 0; t < N && allow_in_place; ++t) {
    const QNode& n = g.nodes[std::size_t(m.order[t])];
    if (patch != nullptr && patch->contains(m.order[t])) continue;  // its buffers hold rows, not tensors
    const std::size_t out_root = std::size_t(s.root[std::size_t(n.output)]);
    if (s.root[std::size_t(n.output)] != n.output || s.is_output_root[out_root] || s.persistent[out_root]) continue;
    for (int in : n.inputs) {
      const std::size_t in_root = std::size_t(s.root[std::size_t(in)]);
      const int buffer = root_buffer[in_root];
      if (buffer < 0 || s.is_input_root[in_root] || s.is_output_root[in_root] || s.persistent[in_root]) continue;
      if (m.buffers[std::size_t(buffer)].last_step != int(t) || s.bytes[in_root] != s.bytes[out_root]) continue;
      if (!may_run_in_place(n, in, g)) continue;
      BufferRequest& merged = m.buffers[std::size_t(buffer)];
      merged.last_step = std::max(merged.last_step, m.buffers[std::size_t(root_buffer[out_root])].last_step);
      merged.name += " / " + g.values[out_root].name;
      m.buffers[std::size_t(root_buffer[out_root])].bytes = 0;  // retired: placed nowhere
      root_buffer[out_root] = buffer;
      m.in_place[std::size_t(m.order[t])] = true;
      break;
    }
  }
  m.value_buffer.assign(V, -1);
  for (std::size_t v = 0; v < V; ++v) m.value_buffer[v] = root_buffer[std::size_t(s.root[v])];
  m.scratch_buffer.assign(N, -1);
  m.scratch_bytes = s.scratch;
  for (std::size_t t = 0; t < N; ++t) {
    const std::size_t n = std::size_t(m.order[t]);
    if (s.scratch[n] == 0) continue;
    m.scratch_buffer[n] = int(m.buffers.size());
    m.buffers.push_back({g.nodes[n].name + " (scratch)", s.scratch[n], int(t), int(t)});
  }
  for (std::size_t bytes : s.extra) {
    m.extra_buffer.push_back(int(m.buffers.size()));
    m.buffers.push_back({"streaming state", aligned(bytes), 0, last_step});
  }
  m.lower_bound = live_lower_bound(m.buffers);
  m.plan = plan_arena(m.buffers);
  return m;
}

}  // namespace

std::size_t node_scratch_bytes(const QNode& n, const Target& target) {
  if (n.kernel == QKernel::ConvTranspose) return rt::conv_transpose2d_s8_scratch_bytes(conv_params(n));
  if (n.kernel == QKernel::Recurrent) return rt::recurrent_s8_scratch_bytes(recurrent_params(n));
  if (n.kernel != QKernel::Conv) return 0;
  const rt::ConvParams p = conv_params(n);
  // The generated sources also build on the host (portable path) for testing: reserve
  // enough for both, and the generated code checks it with a static_assert.
  return std::max(rt::conv2d_s8_scratch_bytes(p, target.path),
                  rt::conv2d_s8_scratch_bytes(p, rt::KernelPath::Portable));
}

MemoryLayout plan_memory(const QGraph& graph, const Target& target, const std::vector<std::size_t>& persistent_bytes,
                         const std::vector<std::size_t>& extra_persistent, const PatchPlan* patch) {
  Storage storage = storage_of(graph, target, persistent_bytes, patch);
  storage.extra = extra_persistent;
  std::vector<int> stored(graph.nodes.size());
  for (std::size_t n = 0; n < stored.size(); ++n) stored[n] = int(n);
  MemoryLayout best = layout_for_order(graph, storage, stored, true, patch);
  // A stage is a prefix of the stored order (patch_candidates): only that order keeps it.
  std::vector<int> scheduled = patch != nullptr ? std::vector<int>{} : PeakScheduler(graph, storage).best_order();
  if (!scheduled.empty() && scheduled != stored) {
    MemoryLayout other = layout_for_order(graph, storage, scheduled, true, patch);
    if (other.arena_bytes() < best.arena_bytes()) best = std::move(other);
  }
  // What TFLM would need for the same model: the graph's own order, no in-place reuse (it
  // aliases reshapes only), greedy by size over the same buffers and scratch (layer by layer).
  Storage whole = patch != nullptr ? storage_of(graph, target, persistent_bytes, nullptr) : storage;
  whole.extra = extra_persistent;
  best.tflm_greedy_bytes =
      plan_greedy_by_size(layout_for_order(graph, whole, stored, false, nullptr).buffers).arena_bytes;
  return best;
}

MemoryLayout plan_memory_in_order(const QGraph& graph, const Target& target, const std::vector<int>& order) {
  const Storage storage = storage_of(graph, target, {}, nullptr);
  return layout_for_order(graph, storage, order, true, nullptr);
}

}  // namespace tinyq
