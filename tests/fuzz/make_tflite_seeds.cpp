// Writes the TFLite fuzzer's seed corpus: one tiny, complete .tflite model per operator form
// the importer converts (and a small CNN, a full-int8 model, a hybrid one), a few hundred
// bytes each, so that every mutation starts from a file that imports. Each seed is imported
// and run here first: a seed that does not is a bug in this file or the importer.
//   make_tflite_seeds DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "exec/float_executor.hpp"
#include "frontend/tflite/tflite_import.hpp"
#include "test_tflite_builder.hpp"
#include "util/error.hpp"

namespace {

using namespace tinyq_tflite_test;
using tinyq::tflite::BuiltinOp;
using Op = BuiltinOp;

std::vector<float> values(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

struct Seed {
  std::string name;
  std::function<void(TfliteBuilder&)> body;
};

using Fbb = flatbuffers::FlatBufferBuilder;

// x [1, 4, 4, 2] through one operator into y.
Seed image_op(const std::string& name, Op op, const Dims& out, fb::BuiltinOptions type = fb::BuiltinOptions::NONE,
              std::function<flatbuffers::Offset<void>(Fbb&)> options = nullptr,
              std::function<std::vector<int>(TfliteBuilder&, int)> extra = nullptr) {
  return {name, [=](TfliteBuilder& b) {
            int x = b.input("x", {1, 4, 4, 2}), y = b.activation("y", out);
            std::vector<int> inputs{x};
            if (extra) inputs = extra(b, x);
            b.op(op, inputs, {y}, type, options ? options(b.fbb()) : 0);
            b.output(y);
          }};
}

std::vector<Seed> seeds() {
  std::vector<Seed> s;
  using O = fb::BuiltinOptions;
  using A = fb::ActivationFunctionType;
  s.push_back(image_op(
      "conv_same_relu", Op::Conv2D, {1, 4, 4, 3}, O::Conv2DOptions,
      [](Fbb& f) { return fb::CreateConv2DOptions(f, fb::Padding::SAME, 1, 1, A::RELU).Union(); },
      [](TfliteBuilder& b, int x) {
        return std::vector<int>{x, b.constant("w", {3, 3, 3, 2}, values(54, 1)), b.constant("b", {3}, values(3, 2))};
      }));
  s.push_back(image_op(
      "conv_valid_strided_dilated", Op::Conv2D, {1, 1, 1, 2}, O::Conv2DOptions,
      [](Fbb& f) { return fb::CreateConv2DOptions(f, fb::Padding::VALID, 2, 2, A::RELU6, 2, 2).Union(); },
      [](TfliteBuilder& b, int x) {
        return std::vector<int>{x, b.constant("w", {2, 2, 2, 2}, values(16, 3)), -1};
      }));
  s.push_back(image_op(
      "conv_grouped", Op::Conv2D, {1, 4, 4, 4}, O::Conv2DOptions,
      [](Fbb& f) { return fb::CreateConv2DOptions(f, fb::Padding::SAME, 1, 1).Union(); },
      [](TfliteBuilder& b, int x) {
        return std::vector<int>{x, b.constant("w", {4, 1, 1, 1}, values(4, 4)), b.constant("b", {4}, values(4, 5))};
      }));
  s.push_back(image_op(
      "depthwise", Op::DepthwiseConv2D, {1, 2, 2, 4}, O::DepthwiseConv2DOptions,
      [](Fbb& f) { return fb::CreateDepthwiseConv2DOptions(f, fb::Padding::SAME, 2, 2, 2).Union(); },
      [](TfliteBuilder& b, int x) {
        return std::vector<int>{x, b.constant("w", {1, 3, 3, 4}, values(36, 6)), b.constant("b", {4}, values(4, 7))};
      }));
  s.push_back(image_op(
      "depthwise_int8_per_channel", Op::DepthwiseConv2D, {1, 4, 4, 2}, O::DepthwiseConv2DOptions,
      [](Fbb& f) { return fb::CreateDepthwiseConv2DOptions(f, fb::Padding::SAME, 1, 1, 1).Union(); },
      [](TfliteBuilder& b, int x) {
        const Quant q{{0.01f, 0.02f}, {0, 0}, 3}, bq{{0.001f, 0.002f}, {0, 0}, 0};
        return std::vector<int>{x, b.int8_constant("w", {1, 2, 2, 2}, {1, -2, 3, -4, 5, -6, 7, -8}, q),
                                b.int32_constant("b", {2}, {100, -100}, &bq)};
      }));
  s.push_back(image_op(
      "transpose_conv", Op::TransposeConv, {1, 8, 8, 3}, O::TransposeConvOptions,
      [](Fbb& f) { return fb::CreateTransposeConvOptions(f, fb::Padding::SAME, 2, 2).Union(); },
      [](TfliteBuilder& b, int x) {
        return std::vector<int>{b.int32_constant("shape", {4}, {1, 8, 8, 3}),
                                b.constant("w", {3, 3, 3, 2}, values(54, 8)), x, b.constant("b", {3}, values(3, 9))};
      }));
  for (bool avg : {true, false})
    s.push_back(image_op(avg ? "average_pool_same" : "max_pool_valid", avg ? Op::AveragePool2D : Op::MaxPool2D,
                         avg ? Dims{1, 2, 2, 2} : Dims{1, 1, 1, 2}, O::Pool2DOptions, [avg](Fbb& f) {
                           return fb::CreatePool2DOptions(f, avg ? fb::Padding::SAME : fb::Padding::VALID, avg ? 2 : 3,
                                                          avg ? 2 : 3, 3, 3)
                               .Union();
                         }));
  s.push_back(image_op(
      "mean_spatial", Op::Mean, {1, 2}, O::ReducerOptions,
      [](Fbb& f) { return fb::CreateReducerOptions(f, false).Union(); },
      [](TfliteBuilder& b, int x) {
        return std::vector<int>{x, b.int32_constant("axes", {2}, {1, 2})};
      }));
  for (auto [name, op] : {std::pair{"add", Op::Add}, std::pair{"sub", Op::Sub}, std::pair{"mul", Op::Mul},
                          std::pair{"div", Op::Div}, std::pair{"prelu", Op::Prelu}})
    s.push_back(image_op(std::string(name) + "_constant", op, {1, 4, 4, 2}, fb::BuiltinOptions::NONE, nullptr,
                         [](TfliteBuilder& b, int x) {
                           return std::vector<int>{x, b.constant("c", {2}, {0.5f, 2.0f})};
                         }));
  s.push_back(image_op(
      "add_self_relu6", Op::Add, {1, 4, 4, 2}, O::AddOptions,
      [](Fbb& f) { return fb::CreateAddOptions(f, A::RELU6).Union(); },
      [](TfliteBuilder&, int x) {
        return std::vector<int>{x, x};
      }));
  for (auto [name, op] :
       {std::pair{"logistic", Op::Logistic}, std::pair{"tanh", Op::Tanh}, std::pair{"relu", Op::Relu},
        std::pair{"relu6", Op::Relu6}, std::pair{"relu_n1_to_1", Op::ReluN1To1}, std::pair{"hard_swish", Op::HardSwish},
        std::pair{"exp", Op::Exp}, std::pair{"sqrt", Op::Sqrt}, std::pair{"neg", Op::Neg},
        std::pair{"quantize", Op::Quantize}, std::pair{"dequantize", Op::Dequantize}})
    s.push_back(image_op(name, op, {1, 4, 4, 2}));
  s.push_back(image_op("leaky_relu", Op::LeakyRelu, {1, 4, 4, 2}, O::LeakyReluOptions,
                       [](Fbb& f) { return fb::CreateLeakyReluOptions(f, 0.1f).Union(); }));
  s.push_back(image_op("softmax", Op::Softmax, {1, 4, 4, 2}, O::SoftmaxOptions,
                       [](Fbb& f) { return fb::CreateSoftmaxOptions(f, 0.5f).Union(); }));
  s.push_back(image_op("reshape_shape_tensor", Op::Reshape, {1, 32}, fb::BuiltinOptions::NONE, nullptr,
                       [](TfliteBuilder& b, int x) {
                         return std::vector<int>{x, b.int32_constant("shape", {2}, {-1, 32})};
                       }));
  s.push_back(image_op("reshape_options", Op::Reshape, {16, 2}, O::ReshapeOptions, [](Fbb& f) {
    const Dims shape{16, 2};
    return fb::CreateReshapeOptionsDirect(f, &shape).Union();
  }));
  s.push_back(image_op("squeeze", Op::Squeeze, {4, 4, 2}));
  s.push_back(image_op("expand_dims", Op::ExpandDims, {1, 4, 1, 4, 2}, fb::BuiltinOptions::NONE, nullptr,
                       [](TfliteBuilder& b, int x) {
                         return std::vector<int>{x, b.int32_constant("axis", {}, {2})};
                       }));
  s.push_back(image_op("transpose", Op::Transpose, {1, 2, 4, 4}, fb::BuiltinOptions::NONE, nullptr,
                       [](TfliteBuilder& b, int x) {
                         return std::vector<int>{x, b.int32_constant("perm", {4}, {0, 3, 1, 2})};
                       }));
  s.push_back(image_op(
      "concatenation", Op::Concatenation, {1, 4, 4, 4}, O::ConcatenationOptions,
      [](Fbb& f) { return fb::CreateConcatenationOptions(f, 3, A::RELU).Union(); },
      [](TfliteBuilder&, int x) {
        return std::vector<int>{x, x};
      }));
  s.push_back(image_op("pad", Op::Pad, {1, 5, 7, 2}, fb::BuiltinOptions::NONE, nullptr, [](TfliteBuilder& b, int x) {
    return std::vector<int>{x, b.int32_constant("p", {4, 2}, {0, 0, 1, 0, 2, 1, 0, 0})};
  }));
  s.push_back(
      image_op("padv2", Op::PadV2, {1, 5, 7, 2}, fb::BuiltinOptions::NONE, nullptr, [](TfliteBuilder& b, int x) {
        return std::vector<int>{x, b.int32_constant("p", {4, 2}, {0, 0, 1, 0, 2, 1, 0, 0}),
                                b.constant("v", {}, {-1.0f})};
      }));
  s.push_back(image_op(
      "resize_nearest_half_pixel", Op::ResizeNearestNeighbor, {1, 6, 8, 2}, O::ResizeNearestNeighborOptions,
      [](Fbb& f) { return fb::CreateResizeNearestNeighborOptions(f, false, true).Union(); },
      [](TfliteBuilder& b, int x) {
        return std::vector<int>{x, b.int32_constant("size", {2}, {6, 8})};
      }));
  s.push_back(image_op(
      "strided_slice_whole", Op::StridedSlice, {4, 4, 2}, O::StridedSliceOptions,
      [](Fbb& f) { return fb::CreateStridedSliceOptions(f, 0, 14, 0, 0, 1).Union(); },
      [](TfliteBuilder& b, int x) {
        return std::vector<int>{x, b.int32_constant("begin", {4}, {0, 0, 0, 0}),
                                b.int32_constant("end", {4}, {1, 4, 4, 2}),
                                b.int32_constant("strides", {4}, {1, 1, 1, 1})};
      }));
  s.push_back({"split_constant_fully_connected", [](TfliteBuilder& b) {
                 int x = b.input("x", {1, 3}), p0 = b.activation("p0", {2, 3}), p1 = b.activation("p1", {2, 3});
                 int y = b.activation("y", {1, 2});
                 b.op(Op::Split, {b.int32_constant("axis", {}, {0}), b.constant("w", {4, 3}, values(12, 10))}, {p0, p1},
                      fb::BuiltinOptions::SplitOptions, fb::CreateSplitOptions(b.fbb(), 2).Union());
                 b.op(Op::FullyConnected, {x, p1, -1}, {y}, fb::BuiltinOptions::FullyConnectedOptions,
                      fb::CreateFullyConnectedOptions(b.fbb(), A::TANH).Union());
                 b.output(y);
               }});
  s.push_back(
      {"int8_model", [](TfliteBuilder& b) {
         const Quant in_q{{0.05f}, {-3}, 0}, out_q{{0.1f}, {5}, 0}, w_q{{0.02f}, {0}, 0}, b_q{{0.001f}, {0}, 0};
         int x = b.tensor("x", fb::TensorType::INT8, {1, 4}, {}, &in_q, {-1, 4});
         b.extra_input(x);
         int fc = b.tensor("fc", fb::TensorType::INT8, {1, 3}, {}, &out_q, {-1, 3}), y = b.activation("y", {1, 3});
         b.op(Op::FullyConnected,
              {x, b.int8_constant("w", {3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, w_q),
               b.int32_constant("b", {3}, {10, 20, 30}, &b_q)},
              {fc}, fb::BuiltinOptions::FullyConnectedOptions,
              fb::CreateFullyConnectedOptions(b.fbb(), A::RELU, fb::FullyConnectedOptionsWeightsFormat::DEFAULT, true)
                  .Union());
         b.op(Op::Dequantize, {fc}, {y});
         b.output(y);
       }});
  // Batch-major, peepholes, cell_clip (as TensorFlow writes Keras LSTMs), zero variable state.
  s.push_back({"unidirectional_sequence_lstm", [](TfliteBuilder& b) {
                 int x = b.input("x", {1, 3, 2}), y = b.activation("y", {1, 3, 2});
                 std::vector<int> in(20, -1);
                 in[0] = x;
                 for (int g = 0; g < 4; ++g) {
                   in[std::size_t(1 + g)] = b.constant("w" + std::to_string(g), {2, 2}, values(4, 30 + unsigned(g)));
                   in[std::size_t(5 + g)] = b.constant("r" + std::to_string(g), {2, 2}, values(4, 40 + unsigned(g)));
                   in[std::size_t(12 + g)] = b.constant("b" + std::to_string(g), {2}, values(2, 50 + unsigned(g)));
                 }
                 for (int p = 0; p < 3; ++p)
                   in[std::size_t(9 + p)] = b.constant("p" + std::to_string(p), {2}, values(2, 60 + unsigned(p)));
                 in[18] = b.tensor("h", fb::TensorType::FLOAT32, {1, 2}, {}, nullptr, {}, true);
                 in[19] = b.tensor("c", fb::TensorType::FLOAT32, {1, 2}, {}, nullptr, {}, true);
                 b.op(Op::UnidirectionalSequenceLstm, in, {y}, O::UnidirectionalSequenceLSTMOptions,
                      fb::CreateUnidirectionalSequenceLSTMOptions(b.fbb(), A::TANH, 10.0f).Union());
                 b.output(y);
               }});
  s.push_back(
      {"small_cnn", [](TfliteBuilder& b) {
         auto& f = b.fbb();
         int x = b.input("x", {1, 6, 5, 2}), c = b.activation("conv", {1, 6, 5, 3});
         b.op(Op::Conv2D, {x, b.constant("cw", {3, 3, 3, 2}, values(54, 11)), b.constant("cb", {3}, values(3, 12))},
              {c}, fb::BuiltinOptions::Conv2DOptions,
              fb::CreateConv2DOptions(f, fb::Padding::SAME, 1, 1, A::RELU).Union());
         int d = b.activation("dw", {1, 3, 3, 6});
         b.op(Op::DepthwiseConv2D,
              {c, b.constant("dw", {1, 3, 3, 6}, values(54, 13)), b.constant("db", {6}, values(6, 14))}, {d},
              fb::BuiltinOptions::DepthwiseConv2DOptions,
              fb::CreateDepthwiseConv2DOptions(f, fb::Padding::SAME, 2, 2, 2).Union());
         int p = b.activation("pool", {1, 1, 1, 6});
         b.op(Op::AveragePool2D, {d}, {p}, fb::BuiltinOptions::Pool2DOptions,
              fb::CreatePool2DOptions(f, fb::Padding::VALID, 3, 3, 3, 3).Union());
         int r = b.activation("flat", {1, 6});
         b.op(Op::Reshape, {p, b.int32_constant("shape", {2}, {1, 6})}, {r});
         int fc = b.activation("fc", {1, 4});
         b.op(Op::FullyConnected, {r, b.constant("fw", {4, 6}, values(24, 15)), b.constant("fb", {4}, values(4, 16))},
              {fc});
         int y = b.activation("probs", {1, 4});
         b.op(Op::Softmax, {fc}, {y}, fb::BuiltinOptions::SoftmaxOptions, fb::CreateSoftmaxOptions(f, 1.0f).Union());
         b.output(y);
       }});
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_tflite_seeds DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  int bad = 0;
  for (const auto& seed : seeds()) {
    TfliteBuilder b;
    seed.body(b);
    const std::string bytes = b.finish();
    try {
      tinyq::Graph g = tinyq::import_tflite_bytes(bytes.data(), bytes.size(), seed.name);
      std::vector<tinyq::Tensor> inputs;
      for (auto in : g.inputs) inputs.emplace_back(tinyq::DType::f32, g.value(in).source_shape());
      tinyq::FloatExecutor(g, {.threads = 1}).run(inputs);
    } catch (const tinyq::Error& e) {
      std::fprintf(stderr, "seed %s does not import: %s\n", seed.name.c_str(), e.what());
      ++bad;
    }
    std::ofstream(dir / (seed.name + ".tflite"), std::ios::binary) << bytes;
  }
  return bad == 0 ? 0 : 1;
}
