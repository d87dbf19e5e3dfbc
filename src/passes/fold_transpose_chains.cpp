// A chain of Transposes and Reshapes only rearranges elements, however many copies it makes.
// ONNX exports of ShuffleNet's channel shuffle give two or three in a row (to ONNX order,
// Reshape -> Transpose -> Reshape, back to NHWC). The chain's net effect is found by running
// it on element indices; when that is one permutation of a reshaped input (which every chain
// of transposes and reshapes is, though not always with at most six axes), the chain becomes
// Reshape -> one Transpose -> Reshape: the reshapes are free views, so one copy remains.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "passes/graph_queries.hpp"
#include "passes/passes.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {

namespace {

constexpr std::int64_t kMaxChainElements = std::int64_t(1) << 22;  // index simulation stays cheap

bool is_link(const Node& n) { return (n.op == Op::Transpose || n.op == Op::Reshape) && !has_fused_activation(n); }

// For output element i, the input element the chain copies there.
std::vector<std::int32_t> chain_map(const Graph& g, const std::vector<int>& chain, std::int64_t count) {
  std::vector<std::int32_t> map(static_cast<std::size_t>(count)), next(static_cast<std::size_t>(count));
  std::iota(map.begin(), map.end(), 0);
  for (int k : chain) {
    const Node& n = g.nodes[std::size_t(k)];
    if (n.op != Op::Transpose) continue;  // a reshape keeps the order
    const auto p = n.attrs.get_ints("perm");
    permute_elements(reinterpret_cast<const std::byte*>(map.data()), reinterpret_cast<std::byte*>(next.data()),
                     g.value(n.inputs[0]).shape, std::vector<int>(p.begin(), p.end()), sizeof(std::int32_t));
    map.swap(next);
  }
  return map;
}

// The map as a transpose: `reshaped` (the input's row-major view) permuted by `perm` gives
// the output in row-major order. False when the map is no such thing within the kernel's rank.
bool as_transpose(const std::vector<std::int32_t>& map, Shape& reshaped, std::vector<std::int64_t>& perm) {
  const std::int64_t n = std::int64_t(map.size());
  if (n == 0 || map[0] != 0) return false;
  // Output axes from the innermost out: each is the longest run of equal steps.
  Shape dims;
  std::vector<std::int64_t> strides;
  for (std::int64_t block = 1; block < n;) {
    const std::int64_t step = map[std::size_t(block)];
    std::int64_t len = 2;
    while (block * (len + 1) <= n && map[std::size_t(block * len)] == len * step) ++len;
    while ((n / block) % len != 0) --len;
    if (len < 2 || step <= 0) return false;
    dims.insert(dims.begin(), len);
    strides.insert(strides.begin(), step);
    block *= len;
  }
  if (dims.empty() || dims.size() > std::size_t(rt::kMaxCopyRank)) return false;
  // Sorted by stride, the axes must be a row-major view of the input.
  std::vector<std::size_t> order(dims.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return strides[a] > strides[b]; });
  std::int64_t expect = 1;
  for (std::size_t k = order.size(); k-- > 0;) {
    if (strides[order[k]] != expect) return false;
    expect *= dims[order[k]];
  }
  reshaped.clear();
  perm.assign(dims.size(), 0);
  for (std::size_t k = 0; k < order.size(); ++k) {
    reshaped.push_back(dims[order[k]]);
    perm[order[k]] = std::int64_t(k);
  }
  // Every element, not only the run starts the axes were read from.
  std::vector<std::int64_t> index(dims.size(), 0);
  std::int64_t at = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (map[std::size_t(i)] != at) return false;
    for (std::size_t d = dims.size(); d-- > 0;) {
      at += strides[d];
      if (++index[d] < dims[d]) break;
      at -= strides[d] * dims[d];
      index[d] = 0;
    }
  }
  return true;
}

ValueId add_plain(Graph& g, const std::string& name, const Shape& shape) {
  Value v;
  v.name = g.unique_name(name);
  v.shape = shape;
  return g.add_value(std::move(v));
}

}  // namespace

bool fold_transpose_chains(Graph& g) {
  bool changed = false;
  std::vector<bool> removed(g.nodes.size(), false), touched(g.nodes.size(), false);
  for (std::size_t e = 0; e < g.nodes.size(); ++e) {
    if (touched[e] || !is_link(g.nodes[e])) continue;
    // Only from a chain's last node: one whose output does not feed another link alone.
    const int next = sole_consumer(g, g.nodes[e].outputs[0]);
    if (next >= 0 && is_link(g.nodes[std::size_t(next)])) continue;
    std::vector<int> chain{int(e)};
    for (;;) {
      const ValueId in = g.nodes[std::size_t(chain.front())].inputs[0];
      const int p = g.producer(in);
      if (p < 0 || touched[std::size_t(p)] || !is_link(g.nodes[std::size_t(p)]) ||
          sole_consumer(g, in) != chain.front())
        break;
      chain.insert(chain.begin(), p);
    }
    const auto transposes =
        std::count_if(chain.begin(), chain.end(), [&](int k) { return g.nodes[std::size_t(k)].op == Op::Transpose; });
    if (transposes < 2) continue;
    const ValueId x = g.nodes[std::size_t(chain.front())].inputs[0], y = g.nodes[e].outputs[0];
    const std::int64_t count = element_count(g.value(x).shape);
    if (count > kMaxChainElements) continue;
    Shape reshaped;
    std::vector<std::int64_t> perm;
    if (!as_transpose(chain_map(g, chain, count), reshaped, perm)) continue;
    const Shape y_shape = g.value(y).shape;
    Shape permuted;
    for (auto p : perm) permuted.push_back(reshaped[std::size_t(p)]);
    // Two transposes leave no node for the final view: only when none is needed.
    if (chain.size() == 2 && permuted != y_shape) continue;
    for (int k : chain) touched[std::size_t(k)] = true;
    // Rewrite onto the chain's own nodes: the first views x as `reshaped`, the second
    // transposes, the last views the result as y. Reshapes to the same shape are left for
    // remove_identities.
    Node& first = g.nodes[std::size_t(chain[0])];
    Node& middle = g.nodes[std::size_t(chain[1])];
    Node& last = g.nodes[e];
    const ValueId view = add_plain(g, first.name + "_view", reshaped);
    const ValueId moved = add_plain(g, middle.name + "_moved", permuted);
    first.op = Op::Reshape;
    first.attrs = {};
    first.attrs.set("shape", std::vector<std::int64_t>(reshaped.begin(), reshaped.end()));
    first.inputs = {x};
    first.outputs = {view};
    middle.op = Op::Transpose;
    middle.attrs = {};
    middle.attrs.set("perm", perm);
    middle.inputs = {view};
    middle.outputs = {moved};
    if (&middle != &last) {
      last.op = Op::Reshape;
      last.attrs = {};
      last.attrs.set("shape", std::vector<std::int64_t>(y_shape.begin(), y_shape.end()));
      last.inputs = {moved};
    } else {
      middle.outputs = {y};  // two transposes: the transpose writes y itself (shape checked above)
    }
    for (std::size_t k = 2; k + 1 < chain.size(); ++k) removed[std::size_t(chain[k])] = true;
    changed = true;
  }
  if (!changed) return false;
  std::vector<Node> kept;
  for (std::size_t k = 0; k < g.nodes.size(); ++k)
    if (!removed[k]) kept.push_back(std::move(g.nodes[k]));
  g.nodes = std::move(kept);
  return true;
}

}  // namespace tinyq
