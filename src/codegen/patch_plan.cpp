#include "codegen/patch_plan.hpp"

#include <fmt/ranges.h>

#include <algorithm>

#include "qmodel/kernel_params.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

// How a row-wise layer reads rows: nothing for other kernels.
std::optional<PatchLayer> row_wise(const QNode& n, const QValue& in, std::int64_t pixels_per_call) {
  PatchLayer l;
  std::int64_t out_w = 1;
  switch (n.kernel) {
    case QKernel::Conv:
    case QKernel::Depthwise: {
      const rt::ConvParams p = conv_params(n);
      if (p.batch != 1) return std::nullopt;
      l.in_rows = p.in_h, l.out_rows = p.out_h, out_w = p.out_w;
      l.window = std::int64_t(p.kernel_h - 1) * p.dilation_h + 1, l.stride = p.stride_h, l.pad = p.pad_top;
      break;
    }
    case QKernel::MaxPool:
    case QKernel::AvgPool: {
      const rt::PoolParams p = n.kernel == QKernel::MaxPool ? pool_params(n) : avg_pool_params(n).pool;
      if (p.batch != 1) return std::nullopt;
      l.in_rows = p.in_h, l.out_rows = p.out_h, l.window = p.kernel_h, l.stride = p.stride_h, l.pad = p.pad_top;
      out_w = p.out_w;
      break;
    }
    case QKernel::Lookup:
      if (in.shape.size() != 4) return std::nullopt;
      l.in_rows = l.out_rows = in.shape[1];
      break;
    default: return std::nullopt;
  }
  if (in.shape.size() != 4 || in.shape[0] != 1 || in.shape[1] != l.in_rows) return std::nullopt;
  // Every output row must read at least one real input row (the kernels are called with
  // the rows that exist); windows made only of padding do not occur in real models. The
  // windows move down monotonically, so the first and the last decide it.
  if (l.out_rows < 1 || l.stride < 1 || l.window < 1) return std::nullopt;
  for (const std::int64_t q : {std::int64_t{0}, l.out_rows - 1}) {
    const std::int64_t start = q * l.stride - l.pad;
    if (std::max<std::int64_t>(start, 0) > std::min(start + l.window - 1, l.in_rows - 1)) return std::nullopt;
  }
  l.in_row_bytes = std::size_t(in.shape[2] * in.shape[3]);
  const std::int64_t out_width = std::max<std::int64_t>(n.kernel == QKernel::Lookup ? in.shape[2] : out_w, 1);
  l.group =
      std::clamp<std::int64_t>((pixels_per_call + out_width - 1) / out_width, 1, std::max<std::int64_t>(l.out_rows, 1));
  return l;
}

}  // namespace

std::vector<PatchLayer> patch_candidates(const QGraph& g, std::int64_t pixels_per_call) {
  if (g.inputs.size() != 1)
    fail("--patch", "the model has {} inputs; patch-based inference reads one image", g.inputs.size());
  const QValue& input = g.values[std::size_t(g.inputs[0])];
  if (input.shape.size() != 4 || input.shape[0] != 1 || input.shape[1] < 2)
    fail(input.name, "--patch needs an image input stored [1,H,W,C] with H > 1, not [{}]", fmt::join(input.shape, ","));
  std::vector<int> readers(g.values.size(), 0);
  for (const QNode& n : g.nodes)
    for (int v : n.inputs) ++readers[std::size_t(v)];
  for (int o : g.outputs) ++readers[std::size_t(o)];
  std::vector<PatchLayer> chain;
  int value = g.inputs[0];
  // The chain is a prefix of the stored (topological) order: each node reads only the
  // value before it, which nothing else reads.
  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    const QNode& n = g.nodes[k];
    if (readers[std::size_t(value)] != 1 || n.inputs.size() != 1 || n.inputs[0] != value) break;
    if (has_int16_tensor(g, n)) break;  // row stages run the int8 kernels
    std::optional<PatchLayer> l = row_wise(n, g.values[std::size_t(value)], pixels_per_call);
    if (!l) break;
    l->node = int(k);
    chain.push_back(*l);
    value = n.output;
  }
  if (chain.empty() && !g.nodes.empty() && has_int16_tensor(g, g.nodes[0]))
    fail(g.nodes[0].name, "--patch: the model begins with an int16 layer, and row stages run int8 kernels only");
  if (chain.empty())
    fail(g.nodes.empty() ? input.name : g.nodes[0].name,
         "--patch: the model does not begin with a layer that runs row by row (conv, depthwise, pooling)");
  return chain;
}

PatchPlan patch_plan(const QGraph& g, const std::vector<PatchLayer>& candidates, std::size_t count) {
  PatchPlan p;
  p.layers.assign(candidates.begin(), candidates.begin() + std::ptrdiff_t(count));
  p.output_value = g.nodes[std::size_t(p.layers.back().node)].output;
  p.value_bytes.assign(g.values.size(), 0);
  std::int64_t previous_group = 1;  // the input is read row for row
  for (const PatchLayer& l : p.layers) {
    const QNode& n = g.nodes[std::size_t(l.node)];
    p.value_bytes[std::size_t(n.inputs[0])] = l.held_rows(previous_group) * l.in_row_bytes;
    previous_group = l.group;
  }
  return p;
}

}  // namespace tinyq
