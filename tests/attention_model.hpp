#pragma once
// A one-head self-attention block as ONNX, for the int8 MatMul tests: x [1, 6, 8] -> three
// projections (MatMul by constants: Dense) Q, K, V -> MatMul(Q, Transpose(K)) -> Softmax ->
// MatMul with V. The two MatMuls multiply activations by activations.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "normal_values.hpp"
#include "onnx_builder.hpp"

namespace tinyq::testing {

inline constexpr std::int64_t kAttentionSeq = 6, kAttentionDim = 8;

inline std::string attention_model_bytes() {
  const std::int64_t d = kAttentionDim;
  OnnxBuilder b;
  b.input("x", {1, kAttentionSeq, d});
  b.initializer("wq", {d, d}, normal_values(std::size_t(d * d), 11, 0.4f));
  b.initializer("wk", {d, d}, normal_values(std::size_t(d * d), 12, 0.4f));
  b.initializer("wv", {d, d}, normal_values(std::size_t(d * d), 13, 0.4f));
  b.node("MatMul", {"x", "wq"}, {"q"}, "proj_q");
  b.node("MatMul", {"x", "wk"}, {"k"}, "proj_k");
  b.node("MatMul", {"x", "wv"}, {"v"}, "proj_v");
  OnnxBuilder::set_ints(b.node("Transpose", {"k"}, {"kt"}, "k_transpose"), "perm", {0, 2, 1});
  b.node("MatMul", {"q", "kt"}, {"scores"}, "scores");
  b.node("Softmax", {"scores"}, {"p"}, "softmax");  // opset 13: the last axis
  b.node("MatMul", {"p", "v"}, {"y"}, "context");
  b.output("y");
  return b.bytes();
}

}  // namespace tinyq::testing
