// Slice, Gather and Split on run-time data and the Reshape -> Transpose -> Reshape channel
// shuffle, end to end: ONNX import (negative, out-of-range and stepped indices; Split in its
// opset 11, 13 and 18 forms), the float executor against references written here in ONNX
// order, and the quantized model, whose int8 outputs must be exactly the same selection of
// its int8 inputs (data movement keeps the input's scale and zero point).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <numeric>

#include "data/npy.hpp"
#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"
#include "quant/quantizer.hpp"
#include "small_cnn.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;
using testing::random_values;
using Ints = std::vector<std::int64_t>;

const Shape kIn{1, 4, 6, 5};  // N, C, H, W

Graph import(const OnnxBuilder& b) {
  auto bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "slicing.onnx");
  simplify(g);
  return g;
}

// x taken at `index` along `axis` (ONNX order; the axis keeps its place, now index.size() long).
Tensor take(const Tensor& x, std::size_t axis, const Ints& index) {
  Shape s = x.shape();
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= s[d];
  for (std::size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
  const std::int64_t dim = s[axis];
  s[axis] = std::int64_t(index.size());
  Tensor out(DType::f32, s);
  const auto in = x.as_f32();
  std::size_t k = 0;
  for (std::int64_t o = 0; o < outer; ++o)
    for (auto i : index)
      for (std::int64_t j = 0; j < inner; ++j) out.f32()[k++] = in[std::size_t((o * dim + i) * inner + j)];
  return out;
}

Ints range(std::int64_t begin, std::int64_t end) {
  Ints r(std::size_t(end - begin));
  std::iota(r.begin(), r.end(), begin);
  return r;
}

struct Case {
  std::string name;
  std::function<OnnxBuilder()> model;
  // Expected outputs for input x (ONNX order), one per model output.
  std::function<std::vector<Tensor>(const Tensor&)> expected;
};

OnnxBuilder one_node(int opset, const std::string& op, std::vector<std::string> inputs, int outputs,
                     const std::function<void(OnnxBuilder&, onnx::NodeProto&)>& setup = {}) {
  OnnxBuilder b(opset);
  b.input("x", kIn);
  std::vector<std::string> outs;
  for (int i = 0; i < outputs; ++i) outs.push_back(std::vector<std::string>{"y0", "y1", "y2"}.at(std::size_t(i)));
  inputs.insert(inputs.begin(), "x");
  auto& n = b.node(op, inputs, outs);
  if (setup) setup(b, n);
  for (auto& o : outs) b.output(o);
  return b;
}

std::vector<Case> cases() {
  std::vector<Case> c;
  // Negative starts and ends, ends far out of range, steps of 2 and -1 and -2 (H and W).
  c.push_back({"slice_negative_clamped_stepped",
               [] {
                 return one_node(13, "Slice", {"starts", "ends", "axes", "steps"}, 1, [](OnnxBuilder& b, auto&) {
                   b.int_initializer("starts", {-3, 1000, -1});
                   b.int_initializer("ends", {1000, -1000, 0});
                   b.int_initializer("axes", {1, -2, 3});
                   b.int_initializer("steps", {1, -2, -1});
                 });
               },
               [](const Tensor& x) {
                 // C: 1..3; H (6) from the end backwards by 2: 5, 3, 1; W (5) from 4 down to 1.
                 return std::vector<Tensor>{take(take(take(x, 1, {1, 2, 3}), 2, {5, 3, 1}), 3, {4, 3, 2, 1})};
               }});
  // Opset 9: attributes, default axes; a spatial crop.
  c.push_back({"slice_opset9_crop",
               [] {
                 return one_node(9, "Slice", {}, 1, [](OnnxBuilder&, auto& n) {
                   OnnxBuilder::set_ints(n, "starts", {0, 0, 1, 1});
                   OnnxBuilder::set_ints(n, "ends", {1, 4, -1, -1});
                 });
               },
               [](const Tensor& x) { return std::vector<Tensor>{take(take(x, 2, range(1, 5)), 3, range(1, 4))}; }});
  c.push_back({"split_opset11_attribute",
               [] {
                 return one_node(11, "Split", {}, 2, [](OnnxBuilder&, auto& n) {
                   OnnxBuilder::set_int(n, "axis", 1);
                   OnnxBuilder::set_ints(n, "split", {1, 3});
                 });
               },
               [](const Tensor& x) {
                 return std::vector<Tensor>{take(x, 1, {0}), take(x, 1, {1, 2, 3})};
               }});
  c.push_back(
      {"split_opset13_equal_channels",
       [] { return one_node(13, "Split", {}, 2, [](OnnxBuilder&, auto& n) { OnnxBuilder::set_int(n, "axis", 1); }); },
       [](const Tensor& x) {
         return std::vector<Tensor>{take(x, 1, {0, 1}), take(x, 1, {2, 3})};
       }});
  c.push_back({"split_opset13_input_sizes",
               [] {
                 return one_node(13, "Split", {"sizes"}, 3, [](OnnxBuilder& b, auto& n) {
                   OnnxBuilder::set_int(n, "axis", -2);
                   b.int_initializer("sizes", {2, 3, 1});
                 });
               },
               [](const Tensor& x) {
                 return std::vector<Tensor>{take(x, 2, {0, 1}), take(x, 2, {2, 3, 4}), take(x, 2, {5})};
               }});
  // Opset 18: num_outputs, the last part smaller (W = 5 in parts of 2, 2, 1).
  c.push_back({"split_opset18_num_outputs",
               [] {
                 return one_node(18, "Split", {}, 3, [](OnnxBuilder&, auto& n) {
                   OnnxBuilder::set_int(n, "axis", 3);
                   OnnxBuilder::set_int(n, "num_outputs", 3);
                 });
               },
               [](const Tensor& x) {
                 return std::vector<Tensor>{take(x, 3, {0, 1}), take(x, 3, {2, 3}), take(x, 3, {4})};
               }});
  c.push_back({"gather_channels_negative_repeated",
               [] {
                 return one_node(13, "Gather", {"idx"}, 1, [](OnnxBuilder& b, auto& n) {
                   OnnxBuilder::set_int(n, "axis", 1);
                   b.int_initializer("idx", {-1, 0, 2, 2});
                 });
               },
               [](const Tensor& x) {
                 return std::vector<Tensor>{take(x, 1, {3, 0, 2, 2})};
               }});
  // A scalar index drops the axis: [1,4,6,5] -> [1,6,5].
  c.push_back({"gather_scalar_index_drops_axis",
               [] {
                 return one_node(13, "Gather", {"idx"}, 1, [](OnnxBuilder& b, auto& n) {
                   OnnxBuilder::set_int(n, "axis", 1);
                   auto& t = b.int_initializer("idx", {2});
                   t.clear_dims();
                 });
               },
               [](const Tensor& x) {
                 return std::vector<Tensor>{take(x, 1, {2}).reshaped({1, 6, 5})};
               }});
  c.push_back({"gather_2d_indices_on_width",
               [] {
                 return one_node(13, "Gather", {"idx"}, 1, [](OnnxBuilder& b, auto& n) {
                   OnnxBuilder::set_int(n, "axis", 3);
                   auto& t = b.int_initializer("idx", {4, 0, 1, 4, 2, 3});
                   t.clear_dims();
                   t.add_dims(2);
                   t.add_dims(3);
                 });
               },
               [](const Tensor& x) {
                 return std::vector<Tensor>{take(x, 3, {4, 0, 1, 4, 2, 3}).reshaped({1, 4, 6, 2, 3})};
               }});
  // ShuffleNet's channel shuffle with 2 groups: channel j * 2 + g comes from g * 2 + j.
  c.push_back({"channel_shuffle",
               [] {
                 OnnxBuilder b(13);
                 b.input("x", kIn);
                 b.int_initializer("s5", {1, 2, 2, 6, 5});
                 b.int_initializer("s4", {1, 4, 6, 5});
                 b.node("Reshape", {"x", "s5"}, {"r"});
                 auto& t = b.node("Transpose", {"r"}, {"t"});
                 OnnxBuilder::set_ints(t, "perm", {0, 2, 1, 3, 4});
                 b.node("Reshape", {"t", "s4"}, {"y0"});
                 b.output("y0");
                 return b;
               },
               [](const Tensor& x) {
                 return std::vector<Tensor>{take(x, 1, {0, 2, 1, 3})};
               }});
  return c;
}

class SliceGather : public ::testing::TestWithParam<Case> {};

TEST_P(SliceGather, FloatOutputsAreTheSelectedInputs) {
  const Case& c = GetParam();
  const Graph g = import(c.model());
  const Tensor x = Tensor::from_floats(kIn, random_values(std::size_t(element_count(kIn)), 7));
  const auto got = FloatExecutor(g, {.threads = 1}).run({x});
  const auto want = c.expected(x);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t o = 0; o < got.size(); ++o) {
    ASSERT_EQ(got[o].shape(), want[o].shape()) << "output " << o;
    EXPECT_EQ(got[o].as_f32(), want[o].as_f32()) << "output " << o;
  }
}

TEST_P(SliceGather, Int8OutputsAreTheSameSelectionOfTheInt8Inputs) {
  const Case& c = GetParam();
  const Graph g = import(c.model());
  const std::int64_t n = 16;
  Shape calib_shape = kIn;
  calib_shape[0] = n;
  const Tensor calib = Tensor::from_floats(calib_shape, random_values(std::size_t(element_count(calib_shape)), 8));
  QuantizeOptions options;
  options.threads = 1;
  const QGraph q = quantize(g, calib, options);
  for (const QNode& node : q.nodes)
    EXPECT_TRUE(node.kernel == QKernel::StridedCopy || node.kernel == QKernel::Reshape) << node.name;
  Tensor x(DType::i8, kIn);
  std::int8_t v = -128;
  for (auto& b : x.data<std::int8_t>()) b = v = std::int8_t(v * 37 + 11);  // every byte value, scrambled
  const auto got = Int8Executor(q, {.threads = 1}).run_int8({x});
  const auto want = c.expected(x);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t o = 0; o < got.size(); ++o) {
    ASSERT_EQ(got[o].shape(), want[o].shape()) << "output " << o;
    EXPECT_EQ(got[o].as_f32(), want[o].as_f32()) << "output " << o;
  }
}

INSTANTIATE_TEST_SUITE_P(Onnx, SliceGather, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(SliceGatherImport, EmptySelectionsAreFloatOnlyAndBadIndicesAreOneClearError) {
  auto message = [](const OnnxBuilder& b) {
    try {
      import(b);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("imported");
  };
  // An empty selection is an empty float output (test_frontend_empty_tensors.cpp), which the
  // quantizer refuses in one line.
  const Graph empty = import(one_node(13, "Slice", {"s", "e"}, 1, [](OnnxBuilder& b, auto&) {
    b.int_initializer("s", {0, 3});
    b.int_initializer("e", {1, 3});
  }));
  Shape calib_shape = kIn;
  calib_shape[0] = 4;
  const Tensor calib = Tensor::from_floats(calib_shape, random_values(std::size_t(element_count(calib_shape)), 8));
  try {
    quantize(empty, calib, QuantizeOptions{});
    ADD_FAILURE() << "an empty Slice was quantized";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no int8 kernel for empty tensors"), std::string::npos) << e.what();
  }
  const std::string index = message(one_node(13, "Gather", {"idx"}, 1, [](OnnxBuilder& b, auto& n) {
    OnnxBuilder::set_int(n, "axis", 1);
    b.int_initializer("idx", {4});
  }));
  EXPECT_NE(index.find("Gather index 4 out of range for axis 1 of size 4"), std::string::npos) << index;
  const std::string split = message(one_node(13, "Split", {"sizes"}, 2, [](OnnxBuilder& b, auto& n) {
    OnnxBuilder::set_int(n, "axis", 1);
    b.int_initializer("sizes", {1, 2});
  }));
  EXPECT_NE(split.find("do not add up to axis 1 of size 4"), std::string::npos) << split;
}

// torch's export of a small ShuffleNetV2-style network (models/slicing/make_slicing_models.py):
// channel split, shuffle, crops with negative ends, a stepped spatial slice, a channel Gather.
TEST(SliceGatherModel, ShufflenetTinyMatchesTorchOutputsSavedAtExport) {
  const std::filesystem::path dir = std::filesystem::path(TINYQ_SOURCE_DIR) / "models" / "slicing";
  if (!std::filesystem::exists(dir / "shufflenet_tiny.onnx")) GTEST_SKIP() << "models/slicing not present";
  Graph g = import_onnx_file((dir / "shufflenet_tiny.onnx").string());
  simplify(g);
  const Tensor input = read_npy((dir / "shufflenet_tiny.input.npy").string());
  const Tensor want = read_npy((dir / "shufflenet_tiny.output.npy").string());
  const Tensor got = FloatExecutor(g).run({input})[0];
  ASSERT_EQ(got.shape(), want.shape());
  float worst = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i)
    worst = std::max(worst, std::abs(got.f32()[std::size_t(i)] - want.f32()[std::size_t(i)]));
  EXPECT_LE(worst, 1e-5f);
}

}  // namespace
}  // namespace tinyq
