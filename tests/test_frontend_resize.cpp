// Resize at import: what the interpolating modes accept and what they refuse with one line
// naming the node; and a 2-channel bilinear upsample through import and the float executor
// (NCHW in, NHWC inside, NCHW out).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;

void set_string(onnx::NodeProto& n, const std::string& name, const std::string& value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(value);
}

struct Model {
  OnnxBuilder b;
  onnx::NodeProto* node = nullptr;
  Model(const std::string& mode, const std::string& coordinate, std::vector<float> roi = {}) {
    b.input("x", {1, 2, 2, 2});
    b.initializer("roi", {std::int64_t(roi.size())}, roi);
    b.initializer("scales", {4}, {1, 1, 2, 2});
    node = &b.node("Resize", {"x", roi.empty() ? "" : "roi", "scales"}, {"y"}, "up");
    set_string(*node, "mode", mode);
    set_string(*node, "coordinate_transformation_mode", coordinate);
    b.output("y");
  }
  std::string error() {
    const std::string bytes = b.bytes();
    try {
      import_onnx_bytes(bytes.data(), bytes.size(), "r.onnx");
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  }
};

TEST(ImportResize, InterpolatingModesRefuseWhatTheyCannotRun) {
  Model antialias("linear", "half_pixel");
  OnnxBuilder::set_int(*antialias.node, "antialias", 1);
  Model nn_for_cubic("cubic", "tf_half_pixel_for_nn");
  Model crop_for_nearest("nearest", "tf_crop_and_resize", {0, 0, 0, 0, 1, 1, 1, 1});
  Model crop_without_roi("linear", "tf_crop_and_resize");
  Model crop_of_channels("linear", "tf_crop_and_resize", {0, 0.5f, 0, 0, 1, 1, 1, 1});
  Model area("area", "half_pixel");
  for (auto [model, fragment] : std::vector<std::pair<Model*, const char*>>{
           {&antialias, "antialias=1 is not supported"},
           {&nn_for_cubic, "tf_half_pixel_for_nn is not supported with mode cubic"},
           {&crop_for_nearest, "tf_crop_and_resize is not supported with mode nearest"},
           {&crop_without_roi, "needs a constant roi of 8 values"},
           {&crop_of_channels, "crops the N or C axis"},
           {&area, "Resize mode 'area' is not supported"}}) {
    const std::string e = model->error();
    EXPECT_NE(e.find(fragment), std::string::npos) << fragment << " vs: " << e;
    EXPECT_NE(e.find("up"), std::string::npos) << e;
  }
}

TEST(ImportResize, BilinearUpsampleOfTwoChannelsRunsInSourceLayout) {
  Model m("linear", "half_pixel");
  ASSERT_EQ(m.error(), "");
  const std::string bytes = m.b.bytes();
  const Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "r.onnx");
  // channel 0: [[1, 2], [3, 4]]; channel 1: ten times that
  const Tensor x = Tensor::from_floats({1, 2, 2, 2}, std::vector<float>{1, 2, 3, 4, 10, 20, 30, 40});
  const Tensor y = FloatExecutor(g, {.threads = 1}).run({x})[0];
  ASSERT_EQ(y.shape(), (Shape{1, 2, 4, 4}));
  const std::vector<float> row1 = {1.5f, 1.75f, 2.25f, 2.5f};  // ONNX's documented example, row 1
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 4; ++i)
      EXPECT_FLOAT_EQ(y.f32()[std::size_t(c * 16 + 4 + i)], row1[std::size_t(i)] * (c ? 10.0f : 1.0f)) << c << i;
}

// From sizes, the scale is sizes / input exactly: 7 -> 1 with pytorch_half_pixel is the
// "one output pixel" case (coordinate -0.5, the first pixel), which the float32-rounded
// scale 1/7 would miss (coordinate 3).
TEST(ImportResize, ScaleFromSizesIsExact) {
  OnnxBuilder b;
  b.input("x", {1, 1, 1, 7});
  b.int_initializer("sizes", {1, 1, 1, 1});
  auto& n = b.node("Resize", {"x", "", "", "sizes"}, {"y"}, "down");
  set_string(n, "mode", "linear");
  set_string(n, "coordinate_transformation_mode", "pytorch_half_pixel");
  b.output("y");
  const std::string bytes = b.bytes();
  const Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "r.onnx");
  const Tensor y = FloatExecutor(g, {.threads = 1})
                       .run({Tensor::from_floats({1, 1, 1, 7}, std::vector<float>{10, 11, 12, 13, 14, 15, 16})})[0];
  ASSERT_EQ(y.numel(), 1);
  EXPECT_EQ(y.f32()[0], 10.0f);
}

}  // namespace
}  // namespace tinyq
