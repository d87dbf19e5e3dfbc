// Bilinear Resize at int8 (resize_bilinear_s8): for every coordinate mode the float importer
// takes, the int8 output is the float bilinear resize of the same (dequantized) int8 input,
// requantized, to within one step; cubic stays float-only; a .tqm whose bilinear tables were
// tampered with does not load.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"
#include "qmodel/tqm_file.hpp"
#include "quant/quantizer.hpp"
#include "small_cnn.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;

struct ResizeCase {
  std::string name, coordinate;
  std::vector<float> scales;        // empty: use sizes
  std::vector<std::int64_t> sizes;  // NCHW
  std::vector<float> roi;           // tf_crop_and_resize only
  float extrapolation = 0;
};
void PrintTo(const ResizeCase& c, std::ostream* os) { *os << c.name; }

void set_string(onnx::NodeProto& n, const std::string& name, const std::string& value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(value);
}

// x [1, 3, 5, 6] -> Resize(linear) -> z
Graph resize_model(const ResizeCase& c) {
  OnnxBuilder b;
  b.input("x", {1, 3, 5, 6});
  b.initializer("roi", {std::int64_t(c.roi.size())}, c.roi);
  b.initializer("scales", {std::int64_t(c.scales.size())}, c.scales);
  if (!c.sizes.empty()) b.int_initializer("sizes", c.sizes);
  auto& n = b.node("Resize",
                   {"x", c.roi.empty() ? "" : "roi", c.scales.empty() ? "" : "scales", c.sizes.empty() ? "" : "sizes"},
                   {"z"}, "resize");
  set_string(n, "mode", "linear");
  set_string(n, "coordinate_transformation_mode", c.coordinate);
  if (c.extrapolation != 0) {
    auto* a = n.add_attribute();
    a->set_name("extrapolation_value");
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(c.extrapolation);
  }
  b.output("z");
  const std::string bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), c.name + ".onnx");
  simplify(g);
  return g;
}

Tensor samples(std::int64_t n, unsigned seed) {
  return Tensor::from_floats({n, 3, 5, 6}, testing::random_values(std::size_t(n * 90), seed, -3.0f, 2.0f));
}

class ResizeBilinearInt8 : public ::testing::TestWithParam<ResizeCase> {};

TEST_P(ResizeBilinearInt8, EqualsFloatBilinearOfTheInt8InputWithinOneStep) {
  const ResizeCase& c = GetParam();
  const Graph g = resize_model(c);
  QuantizeOptions options;
  options.preset = "fast";
  options.threads = 1;
  const QGraph q = quantize(g, samples(16, 1), options);
  ASSERT_EQ(q.nodes.size(), 1u);
  EXPECT_EQ(q.nodes[0].kernel, QKernel::ResizeBilinear);

  const QuantParam in = q.values[std::size_t(q.inputs[0])].quant;
  const QuantParam out = q.values[std::size_t(q.outputs[0])].quant;
  EXPECT_EQ(in.scale, out.scale);
  EXPECT_EQ(in.zero_point, out.zero_point);

  // The int8 input, and its real values (NCHW, the source layout both executors take).
  const Tensor x = samples(4, 2);
  Tensor xq(DType::i8, x.shape()), xd = x;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const std::int8_t v = quantize_to_int8(x.f32()[std::size_t(i)], in);
    xq.data<std::int8_t>()[std::size_t(i)] = v;
    xd.f32()[std::size_t(i)] = in.scale * float(v - in.zero_point);
  }
  const Tensor got = Int8Executor(q, {.threads = 1}).run_int8({xq})[0];
  const Tensor want = FloatExecutor(g, {.threads = 1}).run({xd})[0];
  ASSERT_EQ(got.shape(), want.shape());
  int off_by_one = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const int expected = quantize_to_int8(want.f32()[std::size_t(i)], out);
    const int actual = got.data<std::int8_t>()[std::size_t(i)];
    ASSERT_LE(std::abs(actual - expected), 1) << "element " << i;
    off_by_one += actual != expected;
  }
  // Q10 weights (an error up to 2^-11 per axis) and round-half-up (the reference rounds
  // half to even) move only values near a rounding boundary; random inputs with large steps
  // between neighbours put about one in six there.
  EXPECT_LT(off_by_one, got.numel() / 4);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, ResizeBilinearInt8,
    ::testing::Values(
        ResizeCase{"half_pixel_up2", "half_pixel", {1, 1, 2, 2}, {}, {}, 0},
        ResizeCase{"half_pixel_down", "half_pixel", {1, 1, 0.6f, 0.7f}, {}, {}, 0},
        ResizeCase{"pytorch_half_pixel_sizes", "pytorch_half_pixel", {}, {1, 3, 9, 1}, {}, 0},
        ResizeCase{"align_corners_up", "align_corners", {1, 1, 1.8f, 2.5f}, {}, {}, 0},
        ResizeCase{"asymmetric_sizes", "asymmetric", {}, {1, 3, 7, 11}, {}, 0},
        ResizeCase{
            "tf_crop_and_resize", "tf_crop_and_resize", {}, {1, 3, 6, 6}, {0, 0, -0.2f, 0.3f, 1, 1, 0.9f, 1.4f}, 1.5f}),
    [](const auto& info) { return info.param.name; });

// Hostile .tqm files: tables that would read outside the input or overflow are refused.
class ResizeBilinearTqm : public ::testing::Test {
 protected:
  void SetUp() override {
    QuantizeOptions options;
    options.preset = "fast";
    options.threads = 1;
    q_ = quantize(resize_model({"up", "half_pixel", {1, 1, 2, 2}, {}, {}, 0}), samples(8, 3), options);
  }
  std::string load_error() {
    auto bytes = serialize_tqm(q_);
    try {
      deserialize_tqm(bytes.data(), bytes.size(), "crafted.tqm");
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  }
  QNode& node() { return q_.nodes.at(0); }
  QGraph q_;
};

TEST_F(ResizeBilinearTqm, TheQuantizersOwnOutputLoads) { EXPECT_EQ(load_error(), ""); }

TEST_F(ResizeBilinearTqm, TamperedTablesAreRefused) {
  const QGraph base = q_;
  node().i32["y_index"][3] = 5;  // in_h is 5
  EXPECT_NE(load_error().find("source index out of range"), std::string::npos) << load_error();
  q_ = base;
  node().i32["x_index"][1] = -1;  // -1 only as an extrapolated point's first entry
  EXPECT_NE(load_error().find("source index out of range"), std::string::npos) << load_error();
  q_ = base;
  node().i32["x_weight"][0] += 1;  // pair no longer sums to 1024
  EXPECT_NE(load_error().find("sum to 1024"), std::string::npos) << load_error();
  q_ = base;
  node().i32["y_weight"].pop_back();
  EXPECT_NE(load_error().find("wrong length"), std::string::npos) << load_error();
  q_ = base;
  node().ints["extrapolation"] = 200;
  EXPECT_NE(load_error().find("resize"), std::string::npos) << load_error();
}

}  // namespace
}  // namespace tinyq
