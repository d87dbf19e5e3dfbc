// 3-D windows (N,C,D,H,W) on the command line: `run` computes them in float, `inspect` says up
// front that they have no int8 kernel, and `quantize` refuses in one line naming the node.
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"
#include "data/npy.hpp"
#include "onnx_builder.hpp"
#include "small_cnn.hpp"

namespace tinyq::testing {
namespace {

class CliWindow3d : public Cli {
 protected:
  // x[N,2,4,4,4] -> Conv3d (3 channels, pads 1) -> Relu -> MaxPool3d 2x2x2 -> y[N,3,2,2,2].
  fs::path model() {
    OnnxBuilder b;
    b.input("x", {-1, 2, 4, 4, 4}).output("y");
    b.initializer("w", {3, 2, 3, 3, 3}, random_values(162, 1, -0.3f, 0.3f));
    b.initializer("b", {3}, random_values(3, 2));
    auto& conv = b.node("Conv", {"x", "w", "b"}, {"c"}, "volume_conv");
    OnnxBuilder::set_ints(conv, "pads", {1, 1, 1, 1, 1, 1});
    b.node("Relu", {"c"}, {"r"}, "relu");
    auto& pool = b.node("MaxPool", {"r"}, {"y"}, "volume_pool");
    OnnxBuilder::set_ints(pool, "kernel_shape", {2, 2, 2});
    OnnxBuilder::set_ints(pool, "strides", {2, 2, 2});
    return write("volume.onnx", b.bytes());
  }
};

TEST_F(CliWindow3d, RunComputesTheFloatModel) {
  const auto input = write_npy("x.npy", {2, 2, 4, 4, 4});
  const fs::path out = dir_ / "y.npy";
  const Result r = run_argv({"run", model().string(), "-i", input.string(), "-o", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const Tensor y = read_npy(out.string());
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2, 2, 2}));
  for (float v : y.f32()) EXPECT_GE(v, 0.0f);  // max of Relu outputs
}

TEST_F(CliWindow3d, InspectNamesThe3dNodesAndQuantizeRefusesInOneLine) {
  const fs::path m = model();
  const Result json = run_argv({"inspect", m.string(), "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_FALSE(j["int8_ready"].get<bool>());
  std::vector<std::string> names;
  for (const auto& u : j["int8_unsupported"]) {
    names.push_back(u["name"]);
    EXPECT_NE(u["reason"].get<std::string>().find("no int8 kernel for 3-D windows"), std::string::npos) << u;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"volume_conv", "volume_pool"}));
  // MACs: 3 x 4x4x4 outputs, each 2 channels x 3x3x3 taps.
  bool counted = false;
  for (const auto& layer : j["layers"])
    if (layer["name"] == "volume_conv") {
      EXPECT_EQ(layer["macs"].get<std::int64_t>(), 3 * 64 * 2 * 27);
      counted = true;
    }
  EXPECT_TRUE(counted) << j["layers"];

  const auto calib = write_npy("calib.npy", {4, 2, 4, 4, 4});
  const fs::path tqm = dir_ / "volume.tqm";
  const Result q = run_argv({"quantize", m.string(), "--calib", calib.string(), "-o", tqm.string()});
  expect_bad_input(q, "volume_conv: no int8 kernel for 3-D windows");
  EXPECT_FALSE(fs::exists(tqm));
}

}  // namespace
}  // namespace tinyq::testing
