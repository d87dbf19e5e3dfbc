#include "frontend/onnx/legacy_opset.hpp"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include <exception>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "util/error.hpp"
#include "util/isolated.hpp"

namespace tinyq::onnx_import {

namespace {

// The operators that had the legacy `broadcast` / `axis` attributes before opset 7.
const std::set<std::string> kLegacyBroadcastOps = {"Add", "Sub", "Mul",   "Div",     "Pow", "And",
                                                   "Or",  "Xor", "Equal", "Greater", "Less"};

std::string first_line(std::string text) {
  if (auto nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
  return text;
}

// Ranks of the graph's values as ONNX's shape inference finds them (inputs, initializers,
// inferred intermediate values).
std::unordered_map<std::string, int> value_ranks(const onnx::ModelProto& model) {
  onnx::ModelProto inferred = model;
  onnx::shape_inference::InferShapes(inferred);
  std::unordered_map<std::string, int> ranks;
  auto add = [&](const onnx::ValueInfoProto& v) {
    if (v.type().has_tensor_type() && v.type().tensor_type().has_shape())
      ranks[v.name()] = v.type().tensor_type().shape().dim_size();
  };
  for (const auto& v : inferred.graph().input()) add(v);
  for (const auto& v : inferred.graph().value_info()) add(v);
  for (const auto& v : inferred.graph().output()) add(v);
  for (const auto& t : inferred.graph().initializer()) ranks[t.name()] = t.dims_size();
  return ranks;
}

onnx::AttributeProto* find_attribute(onnx::NodeProto& node, const std::string& name) {
  for (auto& a : *node.mutable_attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

// Legacy broadcasting lines B up with A's axes from `axis` on; opset 7's numpy rules line it
// up with A's last axes. ONNX 1.13's converter unsqueezes B to A's rank instead of to A's rank
// minus `axis` (a per-channel [C] bias on an NCHW tensor becomes [C,1,1,1] and broadcasts
// into a [C,C,H,W] result), so B gets its trailing unit dimensions here, where B is an
// initializer, and the converter then finds nothing to reshape.
void fix_legacy_axis_broadcast(onnx::ModelProto& model, const std::string& where) {
  auto& graph = *model.mutable_graph();
  std::unordered_map<std::string, int> ranks;
  std::unordered_set<std::string> names;
  for (const auto& t : graph.initializer()) names.insert(t.name());
  for (const auto& n : graph.node())
    for (const auto& o : n.output()) names.insert(o);
  bool inferred = false;
  for (auto& node : *graph.mutable_node()) {
    if (!kLegacyBroadcastOps.contains(node.op_type()) || node.input_size() != 2) continue;
    const auto* broadcast = find_attribute(node, "broadcast");
    auto* axis = find_attribute(node, "axis");
    if (broadcast == nullptr || broadcast->i() == 0 || axis == nullptr) continue;
    if (!inferred) {
      ranks = value_ranks(model);
      inferred = true;
    }
    const std::string node_name = node.name().empty() ? node.op_type() : node.name();
    const auto a_rank = ranks.find(node.input(0));
    if (a_rank == ranks.end())
      fail(where, "node '{}': the rank of input '{}' is unknown, so its legacy broadcast axis cannot be read",
           node_name, node.input(0));
    onnx::TensorProto* b = nullptr;
    for (auto& t : *graph.mutable_initializer())
      if (t.name() == node.input(1)) b = &t;
    const std::int64_t b_rank = b != nullptr ? b->dims_size() : ranks.count(node.input(1)) ? ranks[node.input(1)] : -1;
    const std::int64_t trailing = std::int64_t(a_rank->second) - axis->i() - b_rank;
    if (axis->i() < 0 || b_rank < 0 || trailing < 0)
      fail(where, "node '{}': legacy broadcast axis {} does not fit input ranks {} and {}", node_name, axis->i(),
           a_rank->second, b_rank);
    if (trailing == 0) continue;
    if (b == nullptr)
      fail(where, "node '{}': legacy broadcast of a run-time tensor along axis {} is not supported", node_name,
           axis->i());
    onnx::TensorProto widened = *b;
    std::string name = b->name() + "_axis" + std::to_string(axis->i());
    while (names.contains(name)) name += "_";
    names.insert(name);
    widened.set_name(name);
    for (std::int64_t k = 0; k < trailing; ++k) widened.add_dims(1);
    *graph.add_initializer() = std::move(widened);
    node.set_input(1, name);
  }
}

// The converter dereferences the producer of every name a node or graph output uses; a name
// nothing defines crashes it (a graph whose only output is never produced, as the fuzzer
// found), and ONNX's checker lets that through.
void check_names_defined(const onnx::GraphProto& graph, const std::string& where) {
  std::unordered_set<std::string> defined;
  for (const auto& v : graph.input()) defined.insert(v.name());
  for (const auto& t : graph.initializer()) defined.insert(t.name());
  for (const auto& n : graph.node())
    for (const auto& o : n.output()) defined.insert(o);
  for (const auto& n : graph.node())
    for (const auto& i : n.input())
      if (!i.empty() && !defined.contains(i))
        fail(where, "node '{}': input '{}' is not defined", n.name().empty() ? n.op_type() : n.name(), i);
  for (const auto& o : graph.output())
    if (!defined.contains(o.name())) fail(where, "graph output '{}' is never produced", o.name());
}

// Checks and converts in this process; upgrade_legacy_opset runs it in a child.
onnx::ModelProto upgrade_here(const onnx::ModelProto& model, int opset, const std::string& where) {
  // The converter and shape inference signal what they cannot do with exceptions
  // (ONNX_ASSERT, ConvertError, InferenceError); their messages can span lines.
  try {
    // The converter assumes a well-formed graph (a node without an op type crashes it, as the
    // fuzzer found): ONNX's checker goes first and turns such a file into an error.
    onnx::checker::check_model(model);
    check_names_defined(model.graph(), where);
    onnx::ModelProto fixed = model;
    fix_legacy_axis_broadcast(fixed, where);
    return onnx::version_conversion::ConvertVersion(fixed, kFirstNativeOpset);
  } catch (const Error&) {
    throw;
  } catch (const onnx::checker::ValidationError& e) {
    fail(where, "opset {} model is malformed (ONNX checker): {}", opset, first_line(e.what()));
  } catch (const std::exception& e) {
    fail(where, "opset {} could not be upgraded to opset {} by ONNX's version converter: {}", opset, kFirstNativeOpset,
         first_line(e.what()));
  }
}

}  // namespace

onnx::ModelProto upgrade_legacy_opset(const onnx::ModelProto& model, int opset, const std::string& where) {
  // libonnx 1.13's converter and its shape inference for old opsets index shapes without
  // checking ranks (a 1-D Gemm input reads past its shape: the fuzzer found a crash and a
  // garbage-sized allocation), and more such paths are likely. Old-opset models are rare and
  // small, so the whole upgrade runs in a child process and comes back serialized.
  Isolation isolation;
  isolation.where = where;
  isolation.worker = "ONNX's version converter";
  isolation.on_crash = fmt::format("ONNX's version converter crashed upgrading opset {}", opset);
  isolation.cause = "the model is malformed";
  const std::string bytes = run_isolated(
      [&] {
        std::string out;
        if (!upgrade_here(model, opset, where).SerializeToString(&out))
          fail(where, "the opset {} model upgraded to opset {} cannot be serialized", opset, kFirstNativeOpset);
        return out;
      },
      isolation);
  onnx::ModelProto upgraded;
  if (!upgraded.ParseFromString(bytes))
    fail(where, "ONNX's version converter process sent a model that does not parse (a tinyq bug)");
  return upgraded;
}

}  // namespace tinyq::onnx_import
