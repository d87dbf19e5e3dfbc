#include "quant/concat_folding.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace tinyq::quant_detail {

namespace {

bool is_model_output(const Graph& g, ValueId v) {
  return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end();
}

// Whether `node` reads `v` only as its data input, as a conv (any groups) or dense layer.
bool linear_reader(const Node& node, ValueId v) {
  if (node.op != Op::Conv && node.op != Op::Dense) return false;
  if (node.inputs.empty() || node.inputs[0] != v) return false;
  return std::count(node.inputs.begin(), node.inputs.end(), v) == 1;
}

}  // namespace

std::unordered_map<ValueId, std::vector<float>> foldable_concats(
    const Graph& graph, const QuantSettings& settings, const std::unordered_map<ValueId, QuantParam>& params) {
  std::unordered_map<ValueId, std::vector<float>> folded;
  if (settings.scheme != "affine" || settings.preset == "nnom") return folded;  // NNoM shares one concat format
  for (const Node& node : graph.nodes) {
    if (node.op != Op::Concat || node.outputs.empty()) continue;
    const ValueId out = node.outputs[0];
    const Shape& y = graph.value(out).shape;
    std::int64_t axis = node.attrs.get_int("axis", 0);
    if (axis < 0) axis += std::int64_t(y.size());
    if (y.empty() || axis != std::int64_t(y.size()) - 1 || is_model_output(graph, out)) continue;
    bool ok = true, differ = false;
    std::vector<float> scales;
    for (ValueId in : node.inputs) {
      const Value& v = graph.value(in);
      auto p = params.find(in);
      if (v.is_constant() || p == params.end() || p->second.zero_point != params.at(node.inputs[0]).zero_point) {
        ok = false;
        break;
      }
      differ = differ || p->second.scale != params.at(node.inputs[0]).scale;
      scales.insert(scales.end(), std::size_t(v.shape.back()), p->second.scale);
    }
    if (!ok || !differ || std::int64_t(scales.size()) != y.back()) continue;
    bool read = false;
    for (const Node& reader : graph.nodes)
      if (std::find(reader.inputs.begin(), reader.inputs.end(), out) != reader.inputs.end()) {
        read = true;
        ok = ok && linear_reader(reader, out);
      }
    if (ok && read) folded.emplace(out, std::move(scales));
  }
  return folded;
}

QNode quantize_folded_reader(const Context& ctx, const Node& node, const std::vector<float>& scales) {
  const ValueId x = node.inputs[0];
  const float nominal = ctx.param(x).scale;
  const Tensor& w = *ctx.graph.value(node.inputs[1]).constant;
  // Conv weights [O, KH, KW, C/g] (output o in group o / (O/g)); dense [O, K].
  const std::int64_t out_c = w.shape()[0], per_out = w.numel() / out_c, in_c = std::int64_t(scales.size());
  const std::int64_t group = node.op == Op::Conv ? node.attrs.get_int("group", 1) : 1;
  const std::int64_t in_per_group = node.op == Op::Conv ? w.shape().back() : in_c;
  if (in_per_group * group != in_c) fail(node.name, "internal error: concat channels do not match the reader's input");
  std::vector<float> scaled(w.f32().begin(), w.f32().end());
  for (std::int64_t o = 0; o < out_c; ++o) {
    const std::int64_t first = (o / (out_c / group)) * in_per_group;
    for (std::int64_t i = 0; i < per_out; ++i)
      scaled[std::size_t(o * per_out + i)] *= scales[std::size_t(first + i % in_per_group)] / nominal;
  }
  // The reader on a view of the graph whose weights are the scaled ones.
  Graph view;
  const ValueId xi = view.add_value(ctx.graph.value(x));
  const ValueId wi = view.add_constant("w", Tensor::from_floats(w.shape(), scaled));
  Node copy = node;
  copy.inputs = {xi, wi};
  if (node.inputs.size() > 2 && node.inputs[2] != kNoValue)
    copy.inputs.push_back(view.add_constant("b", *ctx.graph.value(node.inputs[2]).constant));
  const ValueId yi = view.add_value(ctx.graph.value(node.outputs[0]));
  copy.outputs = {yi};
  const std::unordered_map<ValueId, QuantParam> params{{xi, ctx.param(x)}, {yi, ctx.param(node.outputs[0])}};
  const std::unordered_map<ValueId, int> qvalue;
  const Context view_ctx{view, ctx.settings, params, qvalue};
  return node.op == Op::Dense ? quantize_dense(view_ctx, copy) : quantize_conv(view_ctx, copy);
}

}  // namespace tinyq::quant_detail
