// Writes the fuzzers' seed corpora: one tiny, complete ONNX model per operator the importer
// supports (and a few small networks), and the .tqm payload (file minus its 28-byte header,
// which fuzz_tqm_load adds back) of every one of them that quantizes. The zoo models are
// 124-610 KB: cut at -max_len they no longer parse, so they never reach the importer; these
// are a few hundred bytes each, so every mutation starts from a model that imports.
//   make_seeds ONNX_DIR TQM_DIR
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"
#include "qmodel/tqm_file.hpp"
#include "quant/quantizer.hpp"
#include "util/error.hpp"

namespace {

using tinyq::testing::OnnxBuilder;

std::vector<float> values(std::size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

void set_string(onnx::NodeProto& n, const std::string& name, const std::string& value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(value);
}
void set_float(onnx::NodeProto& n, const std::string& name, float value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

struct Seed {
  std::string name;
  int opset;
  std::vector<std::int64_t> input;         // one float input "x"
  std::function<void(OnnxBuilder&)> body;  // must produce "y"
  std::string preset = "best";             // how its .tqm seed is quantized
  std::string int16 = "off";
};

// x: [1, 3, 4, 4] unless the seed says otherwise.
const std::vector<std::int64_t> kImage = {1, 3, 4, 4};

std::vector<Seed> seeds() {
  std::vector<Seed> s;
  // .tqm version 2 payloads: an int16 tensor carried through a max pooling into a conv, and a
  // concat whose branches keep their own scales.
  s.push_back({"Int16", 13, kImage,
               [](OnnxBuilder& b) {
                 b.initializer("w1", {2, 3, 1, 1}, values(6, 5));
                 b.node("Conv", {"x", "w1"}, {"c"}, "wide");
                 b.node("Relu", {"c"}, {"r"});
                 auto& mp = b.node("MaxPool", {"r"}, {"p"});
                 OnnxBuilder::set_ints(mp, "kernel_shape", {2, 2});
                 OnnxBuilder::set_ints(mp, "strides", {2, 2});
                 b.initializer("w2", {2, 2, 1, 1}, values(4, 6));
                 b.node("Conv", {"p", "w2"}, {"y"});
               },
               "best", "wide"});
  s.push_back({"ConcatScales", 13, kImage,
               [](OnnxBuilder& b) {
                 b.initializer("wa", {2, 3, 1, 1}, values(6, 7));
                 std::vector<float> big = values(6, 8);
                 for (float& v : big) v *= 100.0f;
                 b.initializer("wb", {2, 3, 1, 1}, big);
                 b.node("Conv", {"x", "wa"}, {"a"});
                 b.node("Relu", {"a"}, {"ra"});
                 b.node("Conv", {"x", "wb"}, {"bb"});
                 b.node("Relu", {"bb"}, {"rb"});
                 OnnxBuilder::set_int(b.node("Concat", {"ra", "rb"}, {"cat"}), "axis", 1);
                 b.initializer("w2", {2, 4, 1, 1}, values(8, 9));
                 b.node("Conv", {"cat", "w2"}, {"y"});
               },
               "cmsis"});
  for (const char* op : {"Relu", "Sigmoid", "Tanh", "HardSwish", "Sqrt", "Exp", "Neg", "Identity", "Dropout"})
    s.push_back({op, 14, kImage, [op](OnnxBuilder& b) { b.node(op, {"x"}, {"y"}); }});
  s.push_back(
      {"LeakyRelu", 13, kImage, [](OnnxBuilder& b) { set_float(b.node("LeakyRelu", {"x"}, {"y"}), "alpha", 0.1f); }});
  s.push_back({"HardSigmoid", 13, kImage, [](OnnxBuilder& b) { b.node("HardSigmoid", {"x"}, {"y"}); }});
  s.push_back({"Clip", 13, kImage, [](OnnxBuilder& b) {
                 b.initializer("lo", {}, {0.0f});
                 b.initializer("hi", {}, {6.0f});
                 b.node("Clip", {"x", "lo", "hi"}, {"y"});
               }});
  s.push_back(
      {"Cast", 13, kImage, [](OnnxBuilder& b) { OnnxBuilder::set_int(b.node("Cast", {"x"}, {"y"}), "to", 1); }});
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    s.push_back({std::string(op) + "_const", 13, kImage, [op](OnnxBuilder& b) {
                   b.initializer("k", {1, 3, 1, 1}, {0.5f, -2.0f, 1.5f});
                   b.node(op, {"x", "k"}, {"y"});
                 }});
    if (std::string(op) != "Div")
      s.push_back({std::string(op) + "_tensors", 13, kImage, [op](OnnxBuilder& b) {
                     b.node("Relu", {"x"}, {"r"});
                     b.node(op, {"x", "r"}, {"y"});
                   }});
  }
  s.push_back({"Pow", 13, kImage, [](OnnxBuilder& b) {
                 b.initializer("e", {}, {2.0f});
                 b.node("Pow", {"x", "e"}, {"y"});
               }});
  s.push_back({"PRelu", 13, kImage, [](OnnxBuilder& b) {
                 b.initializer("slope", {3, 1, 1}, {0.1f, 0.2f, 0.3f});
                 b.node("PRelu", {"x", "slope"}, {"y"});
               }});
  s.push_back({"Softmax", 13, {1, 10}, [](OnnxBuilder& b) { b.node("Softmax", {"x"}, {"y"}); }});
  s.push_back({"ReduceMean", 13, kImage, [](OnnxBuilder& b) {
                 OnnxBuilder::set_ints(b.node("ReduceMean", {"x"}, {"y"}), "axes", {2, 3});
               }});
  s.push_back({"Conv", 13, kImage, [](OnnxBuilder& b) {
                 b.initializer("w", {4, 3, 3, 3}, values(108, 1));
                 b.initializer("bias", {4}, values(4, 2));
                 auto& n = b.node("Conv", {"x", "w", "bias"}, {"y"});
                 OnnxBuilder::set_ints(n, "pads", {1, 1, 1, 1});
                 OnnxBuilder::set_ints(n, "strides", {2, 1});
               }});
  s.push_back({"Conv_depthwise_dilated", 13, kImage, [](OnnxBuilder& b) {
                 b.initializer("w", {3, 1, 2, 2}, values(12, 3));
                 auto& n = b.node("Conv", {"x", "w"}, {"y"});
                 OnnxBuilder::set_int(n, "group", 3);
                 OnnxBuilder::set_ints(n, "dilations", {2, 2});
                 set_string(n, "auto_pad", "SAME_UPPER");
               }});
  s.push_back({"ConvTranspose", 13, kImage, [](OnnxBuilder& b) {
                 b.initializer("w", {3, 2, 2, 2}, values(24, 4));
                 OnnxBuilder::set_ints(b.node("ConvTranspose", {"x", "w"}, {"y"}), "strides", {2, 2});
               }});
  s.push_back({"Gemm", 13, {1, 8}, [](OnnxBuilder& b) {
                 b.initializer("w", {4, 8}, values(32, 5));
                 b.initializer("c", {4}, values(4, 6));
                 OnnxBuilder::set_int(b.node("Gemm", {"x", "w", "c"}, {"y"}), "transB", 1);
               }});
  s.push_back({"MatMul", 13, {1, 8}, [](OnnxBuilder& b) {
                 b.initializer("w", {8, 4}, values(32, 7));
                 b.node("MatMul", {"x", "w"}, {"y"});
               }});
  s.push_back({"BatchNormalization", 13, kImage, [](OnnxBuilder& b) {
                 b.initializer("g", {3}, {1.0f, 0.5f, 2.0f});
                 b.initializer("beta", {3}, {0.0f, 0.1f, -0.1f});
                 b.initializer("mean", {3}, {0.1f, 0.0f, 0.2f});
                 b.initializer("var", {3}, {1.0f, 2.0f, 0.5f});
                 b.node("BatchNormalization", {"x", "g", "beta", "mean", "var"}, {"y"});
               }});
  s.push_back({"LayerNormalization", 17, {1, 2, 8}, [](OnnxBuilder& b) {
                 b.initializer("g", {8}, values(8, 8, 0.5f, 1.5f));
                 b.initializer("beta", {8}, values(8, 9));
                 b.node("LayerNormalization", {"x", "g", "beta"}, {"y"});
               }});
  for (const char* op : {"MaxPool", "AveragePool"})
    s.push_back({op, 13, kImage, [op](OnnxBuilder& b) {
                   auto& n = b.node(op, {"x"}, {"y"});
                   OnnxBuilder::set_ints(n, "kernel_shape", {3, 3});
                   OnnxBuilder::set_ints(n, "strides", {2, 2});
                   OnnxBuilder::set_ints(n, "pads", {1, 1, 1, 1});
                   OnnxBuilder::set_int(n, "ceil_mode", 1);
                 }});
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"})
    s.push_back({op, 13, kImage, [op](OnnxBuilder& b) { b.node(op, {"x"}, {"y"}); }});
  s.push_back({"Constant", 13, kImage, [](OnnxBuilder& b) {
                 auto& n = b.node("Constant", {}, {"k"});
                 auto* a = n.add_attribute();
                 a->set_name("value");
                 a->set_type(onnx::AttributeProto::TENSOR);
                 auto* t = a->mutable_t();
                 t->set_data_type(onnx::TensorProto::FLOAT);
                 t->add_dims(1);
                 t->add_float_data(0.5f);
                 b.node("Add", {"x", "k"}, {"y"});
               }});
  // Shape arithmetic the importer folds: Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
  s.push_back({"Shape_Gather_Unsqueeze_Concat_Reshape", 13, kImage, [](OnnxBuilder& b) {
                 b.node("Shape", {"x"}, {"s"});
                 auto& idx = *b.model().mutable_graph()->add_initializer();
                 idx.set_name("i0");
                 idx.set_data_type(onnx::TensorProto::INT64);
                 idx.add_int64_data(0);
                 b.node("Gather", {"s", "i0"}, {"n"});
                 b.int_initializer("ax", {0});
                 b.node("Unsqueeze", {"n", "ax"}, {"u"});
                 b.int_initializer("rest", {-1});
                 OnnxBuilder::set_int(b.node("Concat", {"u", "rest"}, {"shape"}), "axis", 0);
                 b.node("Reshape", {"x", "shape"}, {"y"});
               }});
  s.push_back({"ConstantOfShape", 13, kImage, [](OnnxBuilder& b) {
                 b.int_initializer("shape", {1, 3, 4, 4});
                 b.node("ConstantOfShape", {"shape"}, {"k"});
                 b.node("Add", {"x", "k"}, {"y"});
               }});
  // Slice runs on constants and shapes only (the importer folds it).
  s.push_back({"Slice", 13, kImage, [](OnnxBuilder& b) {
                 b.initializer("k", {1, 3, 4, 8}, values(96, 14));
                 b.int_initializer("starts", {2});
                 b.int_initializer("ends", {6});
                 b.int_initializer("axes", {3});
                 b.node("Slice", {"k", "starts", "ends", "axes"}, {"s"});
                 b.node("Add", {"x", "s"}, {"y"});
               }});
  s.push_back({"Concat", 13, kImage, [](OnnxBuilder& b) {
                 b.node("Relu", {"x"}, {"r"});
                 OnnxBuilder::set_int(b.node("Concat", {"x", "r"}, {"y"}), "axis", 1);
               }});
  s.push_back({"Flatten", 13, kImage, [](OnnxBuilder& b) { b.node("Flatten", {"x"}, {"y"}); }});
  s.push_back({"Squeeze", 13, {1, 3, 1, 4}, [](OnnxBuilder& b) {
                 b.int_initializer("axes", {2});
                 b.node("Squeeze", {"x", "axes"}, {"y"});
               }});
  s.push_back({"Transpose", 13, kImage, [](OnnxBuilder& b) {
                 OnnxBuilder::set_ints(b.node("Transpose", {"x"}, {"y"}), "perm", {0, 2, 3, 1});
               }});
  s.push_back({"Pad", 13, kImage, [](OnnxBuilder& b) {
                 b.int_initializer("pads", {0, 0, 1, 2, 0, 0, 2, 1});
                 b.node("Pad", {"x", "pads"}, {"y"});
               }});
  s.push_back({"Resize", 13, kImage, [](OnnxBuilder& b) {
                 b.initializer("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
                 set_string(b.node("Resize", {"x", "", "scales"}, {"y"}), "mode", "nearest");
               }});
  // Interpolating Resize: bilinear from sizes with a crop region (quantizes onto
  // resize_bilinear_s8, so the .tqm seed holds its tables) and cubic with exclude_outside.
  s.push_back({"ResizeLinear", 13, kImage, [](OnnxBuilder& b) {
                 b.initializer("roi", {8}, {0, 0, -0.1f, 0.2f, 1, 1, 0.9f, 1.1f});
                 b.int_initializer("sizes", {kImage[0], kImage[1], 7, 5});
                 auto& n = b.node("Resize", {"x", "roi", "", "sizes"}, {"y"});
                 set_string(n, "mode", "linear");
                 set_string(n, "coordinate_transformation_mode", "tf_crop_and_resize");
               }});
  s.push_back({"ResizeCubic", 13, kImage, [](OnnxBuilder& b) {
                 b.initializer("scales", {4}, {1.0f, 1.0f, 1.5f, 0.6f});
                 auto& n = b.node("Resize", {"x", "", "scales"}, {"y"});
                 set_string(n, "mode", "cubic");
                 set_string(n, "coordinate_transformation_mode", "align_corners");
                 OnnxBuilder::set_int(n, "exclude_outside", 1);
               }});
  s.push_back({"Upsample", 9, kImage, [](OnnxBuilder& b) {
                 b.initializer("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
                 b.node("Upsample", {"x", "scales"}, {"y"});
               }});
  // Slicing on run-time data: a backward stepped Slice, a two-part Split, a Gather, and the
  // exported channel shuffle (Reshape, Transpose, Reshape).
  s.push_back({"Slice", 13, kImage, [](OnnxBuilder& b) {
                 b.int_initializer("starts", {-1, 1});
                 b.int_initializer("ends", {-100, 1000});
                 b.int_initializer("axes", {2, 3});
                 b.int_initializer("steps", {-2, 2});
                 b.node("Slice", {"x", "starts", "ends", "axes", "steps"}, {"y"});
               }});
  s.push_back({"Split", 13, kImage, [](OnnxBuilder& b) {
                 b.int_initializer("sizes", {1, 2});
                 OnnxBuilder::set_int(b.node("Split", {"x", "sizes"}, {"y", "rest"}), "axis", 1);
               }});
  s.push_back({"Gather", 13, kImage, [](OnnxBuilder& b) {
                 b.int_initializer("idx", {2, -3, 0});
                 OnnxBuilder::set_int(b.node("Gather", {"x", "idx"}, {"y"}), "axis", 1);
               }});
  // Empty tensors: a Slice past the end, a Split part of size 0, an input declared with a 0.
  s.push_back({"Slice_empty", 13, kImage, [](OnnxBuilder& b) {
                 b.int_initializer("starts", {1000});
                 b.int_initializer("ends", {2000});
                 b.int_initializer("axes", {1});
                 b.node("Slice", {"x", "starts", "ends", "axes"}, {"y"});
               }});
  s.push_back({"Split_empty", 13, kImage, [](OnnxBuilder& b) {
                 b.int_initializer("sizes", {0, 3});
                 OnnxBuilder::set_int(b.node("Split", {"x", "sizes"}, {"y", "rest"}), "axis", 1);
               }});
  s.push_back({"Reshape_empty_input", 14, {0, 3, 4}, [](OnnxBuilder& b) {
                 b.int_initializer("shape", {3, 4, 0});
                 OnnxBuilder::set_int(b.node("Reshape", {"x", "shape"}, {"y"}), "allowzero", 1);
               }});
  // 3-D windows (N,C,D,H,W): Conv with groups and pads, ConvTranspose, both poolings.
  s.push_back({"Conv3d", 13, {1, 2, 3, 4, 4}, [](OnnxBuilder& b) {
                 b.initializer("w", {4, 1, 2, 2, 2}, values(32, 31));
                 b.initializer("bias", {4}, values(4, 32));
                 auto& n = b.node("Conv", {"x", "w", "bias"}, {"c"});
                 OnnxBuilder::set_int(n, "group", 2);
                 OnnxBuilder::set_ints(n, "pads", {1, 0, 1, 0, 1, 0});
                 auto& t = b.node("ConvTranspose", {"c", "wt"}, {"t"});
                 b.initializer("wt", {4, 2, 2, 2, 2}, values(64, 33));
                 OnnxBuilder::set_ints(t, "strides", {2, 1, 2});
                 auto& m = b.node("MaxPool", {"t"}, {"m"});
                 OnnxBuilder::set_ints(m, "kernel_shape", {2, 2, 2});
                 OnnxBuilder::set_int(m, "ceil_mode", 1);
                 OnnxBuilder::set_ints(m, "strides", {2, 2, 2});
                 auto& a = b.node("AveragePool", {"m"}, {"y"});
                 OnnxBuilder::set_ints(a, "kernel_shape", {1, 2, 2});
                 OnnxBuilder::set_ints(a, "pads", {0, 1, 1, 0, 1, 1});
                 OnnxBuilder::set_int(a, "count_include_pad", 1);
               }});
  s.push_back({"channel_shuffle", 13, {1, 4, 3, 3}, [](OnnxBuilder& b) {
                 b.int_initializer("groups", {1, 2, 2, 3, 3});
                 b.int_initializer("merged", {1, 4, 3, 3});
                 b.node("Reshape", {"x", "groups"}, {"r"});
                 OnnxBuilder::set_ints(b.node("Transpose", {"r"}, {"t"}), "perm", {0, 2, 1, 3, 4});
                 b.node("Reshape", {"t", "merged"}, {"y"});
               }});
  // A small network: conv, relu, pooling, flatten, dense, softmax.
  s.push_back({"tiny_cnn", 13, {1, 1, 8, 8}, [](OnnxBuilder& b) {
                 b.initializer("w1", {4, 1, 3, 3}, values(36, 10));
                 b.initializer("b1", {4}, values(4, 11));
                 OnnxBuilder::set_ints(b.node("Conv", {"x", "w1", "b1"}, {"c"}), "pads", {1, 1, 1, 1});
                 b.node("Relu", {"c"}, {"r"});
                 auto& p = b.node("MaxPool", {"r"}, {"p"});
                 OnnxBuilder::set_ints(p, "kernel_shape", {2, 2});
                 OnnxBuilder::set_ints(p, "strides", {2, 2});
                 b.initializer("wd", {4, 1, 3, 3}, values(36, 12));
                 auto& d = b.node("Conv", {"p", "wd"}, {"d"});
                 OnnxBuilder::set_int(d, "group", 4);
                 OnnxBuilder::set_ints(d, "pads", {1, 1, 1, 1});
                 b.node("Add", {"d", "p"}, {"sum"});
                 b.node("Flatten", {"sum"}, {"f"});
                 b.initializer("fc", {64, 5}, values(320, 13));
                 b.node("MatMul", {"f", "fc"}, {"logits"});
                 b.node("Softmax", {"logits"}, {"y"});
               }});
  // A 1-D (N,C,L) stack, as temporal conv nets export it: every node is lifted to 2-D.
  s.push_back({"tiny_tcn", 13, {1, 2, 16}, [](OnnxBuilder& b) {
                 b.int_initializer("causal", {0, 0, 2, 0, 0, 0});
                 b.node("Pad", {"x", "causal"}, {"p"});
                 b.initializer("w1", {4, 2, 2}, values(16, 14));
                 OnnxBuilder::set_ints(b.node("Conv", {"p", "w1"}, {"c"}), "dilations", {2});
                 b.initializer("bias", {4, 1}, values(4, 15));
                 b.node("Add", {"c", "bias"}, {"a"});
                 b.node("Relu", {"a"}, {"r"});
                 auto& m = b.node("MaxPool", {"r"}, {"m"});
                 OnnxBuilder::set_ints(m, "kernel_shape", {2});
                 OnnxBuilder::set_ints(m, "strides", {2});
                 b.node("GlobalAveragePool", {"m"}, {"g"});
                 b.node("Flatten", {"g"}, {"y"});
               }});
  // Recurrent layers on x [T=5, N=1, I=3]: a bidirectional LSTM reading Y and Y_c, a
  // batch-major GRU reading Y_h, an RNN with an initial state.
  s.push_back({"LSTM", 14, {5, 1, 3}, [](OnnxBuilder& b) {
                 b.initializer("w", {2, 8, 3}, values(48, 16));
                 b.initializer("r", {2, 8, 2}, values(32, 17));
                 b.initializer("bias", {2, 16}, values(32, 18));
                 auto* dir = b.node("LSTM", {"x", "w", "r", "bias"}, {"y", "", "c"}).add_attribute();
                 dir->set_name("direction");
                 dir->set_type(onnx::AttributeProto::STRING);
                 dir->set_s("bidirectional");
                 b.output("c");
               }});
  s.push_back({"GRU", 14, {1, 5, 3}, [](OnnxBuilder& b) {
                 b.initializer("w", {1, 6, 3}, values(18, 19));
                 b.initializer("r", {1, 6, 2}, values(12, 20));
                 auto& n = b.node("GRU", {"x", "w", "r"}, {"", "y"});
                 OnnxBuilder::set_int(n, "layout", 1);
                 OnnxBuilder::set_int(n, "linear_before_reset", 1);
               }});
  s.push_back({"RNN", 14, {5, 1, 3}, [](OnnxBuilder& b) {
                 b.initializer("w", {1, 2, 3}, values(6, 21));
                 b.initializer("r", {1, 2, 2}, values(4, 22));
                 b.initializer("h0", {1, 1, 2}, values(2, 23));
                 b.node("RNN", {"x", "w", "r", "", "", "h0"}, {"y"});
               }});
  // On x [T=4, N=2, I=3]: a reverse LSTM with peepholes and both initial states reading Y_h,
  // and a GRU with linear_before_reset=0 (r applied before R_h) and an initial state reading Y.
  s.push_back(
      {"LSTM_peephole", 14, {4, 2, 3}, [](OnnxBuilder& b) {
         b.initializer("w", {1, 8, 3}, values(24, 24));
         b.initializer("r", {1, 8, 2}, values(16, 25));
         b.initializer("bias", {1, 16}, values(16, 26));
         b.initializer("h0", {1, 2, 2}, values(4, 27, -0.5f, 0.5f));
         b.initializer("c0", {1, 2, 2}, values(4, 28));
         b.initializer("p", {1, 6}, values(6, 29, -0.5f, 0.5f));
         set_string(b.node("LSTM", {"x", "w", "r", "bias", "", "h0", "c0", "p"}, {"", "y"}), "direction", "reverse");
       }});
  s.push_back({"GRU_reset", 14, {4, 2, 3}, [](OnnxBuilder& b) {
                 b.initializer("w", {1, 6, 3}, values(18, 30));
                 b.initializer("r", {1, 6, 2}, values(12, 31));
                 b.initializer("bias", {1, 12}, values(12, 32));
                 b.initializer("h0", {1, 2, 2}, values(4, 33, -0.5f, 0.5f));
                 b.node("GRU", {"x", "w", "r", "bias", "", "h0"}, {"y"});
               }});
  return s;
}

void write(const std::filesystem::path& path, const void* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), std::streamsize(size));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_seeds ONNX_DIR TQM_DIR\n");
    return 2;
  }
  const std::filesystem::path onnx_dir = argv[1], tqm_dir = argv[2];
  std::filesystem::create_directories(onnx_dir);
  std::filesystem::create_directories(tqm_dir);
  int models = 0, quantized = 0;
  for (const Seed& seed : seeds()) {
    OnnxBuilder b(seed.opset);
    b.input("x", seed.input).output("y");
    seed.body(b);
    const std::string bytes = b.bytes();
    write(onnx_dir / ("seed_" + seed.name + ".onnx"), bytes.data(), bytes.size());
    ++models;
    try {  // not every operator has an int8 kernel: those seed only the ONNX target
      tinyq::Graph g = tinyq::import_onnx_bytes(bytes.data(), bytes.size(), seed.name);
      tinyq::simplify(g);
      std::int64_t count = 4;
      for (auto d : seed.input) count *= d;
      std::vector<std::int64_t> calib_shape = seed.input;
      calib_shape[0] = 4 * std::max<std::int64_t>(calib_shape[0], 1);  // 4 samples (time-major: 4 sequences)
      const auto calib = values(std::size_t(count), 99, 0.0f, 1.0f);
      tinyq::QuantizeOptions options;
      options.preset = seed.preset;
      options.int16 = seed.int16;
      const tinyq::QGraph q = tinyq::quantize(g, tinyq::Tensor::from_floats(calib_shape, calib), options);
      const auto file = tinyq::serialize_tqm(q);
      write(tqm_dir / ("seed_" + seed.name + ".payload"), file.data() + 28, file.size() - 28);
      ++quantized;
    } catch (const tinyq::Error& e) {
      std::fprintf(stderr, "make_seeds: %s: no .tqm seed (%s)\n", seed.name.c_str(), e.what());
    }
  }
  std::printf("make_seeds: %d ONNX seeds, %d .tqm seeds\n", models, quantized);
  return 0;
}
