#pragma once
// A small CNN for quantizer and report tests: conv, depthwise, residual add, sigmoid, max
// and average pooling, concat, dense, softmax. Node and tensor names can be chosen (the
// report tests use hostile ones).
#include <random>
#include <string>
#include <vector>

#include "onnx_builder.hpp"

namespace tinyq::testing {

inline std::vector<float> random_values(std::size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Input [N, 2, 8, 8], output [N, 5] probabilities.
inline OnnxBuilder small_cnn(const std::string& first_conv = "conv1", const std::string& residual = "sum") {
  OnnxBuilder b;
  b.input("x", {-1, 2, 8, 8}).output("y");
  b.initializer("w1", {8, 2, 3, 3}, random_values(144, 1, -0.5f, 0.5f));
  b.initializer("b1", {8}, random_values(8, 2, -0.1f, 0.1f));
  auto& c1 = b.node("Conv", {"x", "w1", "b1"}, {"c1"}, first_conv);
  OnnxBuilder::set_ints(c1, "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  b.initializer("wd", {8, 1, 3, 3}, random_values(72, 3, -0.5f, 0.5f));
  auto& dw = b.node("Conv", {"r1", "wd"}, {"d1"}, "depthwise");
  OnnxBuilder::set_ints(dw, "pads", {1, 1, 1, 1});
  OnnxBuilder::set_int(dw, "group", 8);
  b.node("Add", {"d1", "r1"}, {residual}, "residual");
  b.node("Sigmoid", {residual}, {"s"}, "sigmoid");
  auto& mp = b.node("MaxPool", {"s"}, {"p1"}, "maxpool");
  OnnxBuilder::set_ints(mp, "kernel_shape", {2, 2});
  OnnxBuilder::set_ints(mp, "strides", {2, 2});
  auto& ap = b.node("AveragePool", {"r1"}, {"p2"}, "avgpool");
  OnnxBuilder::set_ints(ap, "kernel_shape", {2, 2});
  OnnxBuilder::set_ints(ap, "strides", {2, 2});
  auto& cat = b.node("Concat", {"p1", "p2"}, {"cat"}, "concat");
  OnnxBuilder::set_int(cat, "axis", 1);
  b.node("Flatten", {"cat"}, {"flat"}, "flatten");
  b.initializer("fc", {256, 5}, random_values(1280, 4, -0.2f, 0.2f));
  b.node("MatMul", {"flat", "fc"}, {"logits"}, "fc");
  b.node("Softmax", {"logits"}, {"y"}, "softmax");
  return b;
}

}  // namespace tinyq::testing
