// A segmentation-style decoder step (conv, 2x bilinear upsampling, conv) through quantize,
// generate and verify: the generated code calls resize_bilinear_s8 and the firmware on an
// emulated Cortex-M4 is byte-identical to the host int8 executor.
#include <nlohmann/json.hpp>
#include <random>

#include "cli_fixture.hpp"
#include "data/npy.hpp"
#include "onnx_builder.hpp"

namespace tinyq::testing {
namespace {

class CliResizeBilinear : public Cli {
 protected:
  fs::path decoder_model() {
    OnnxBuilder b;
    b.input("x", {1, 3, 6, 5});
    b.initializer("w1", {4, 3, 3, 3}, normal_values(108, 1, 0.3f));
    OnnxBuilder::set_ints(b.node("Conv", {"x", "w1"}, {"c1"}, "conv1"), "pads", {1, 1, 1, 1});
    b.node("Relu", {"c1"}, {"r1"}, "relu1");
    b.initializer("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
    auto& up = b.node("Resize", {"r1", "", "scales"}, {"u"}, "upsample");
    auto* mode = up.add_attribute();
    mode->set_name("mode");
    mode->set_type(onnx::AttributeProto::STRING);
    mode->set_s("linear");
    b.initializer("w2", {2, 4, 3, 3}, normal_values(72, 2, 0.3f));
    OnnxBuilder::set_ints(b.node("Conv", {"u", "w2"}, {"y"}, "conv2"), "pads", {1, 1, 1, 1});
    b.output("y");
    return write("decoder.onnx", b.bytes());
  }
};

TEST_F(CliResizeBilinear, FirmwareEqualsTheHostOnCortexM4) {
  const fs::path model = decoder_model(), data = dir_ / "x.npy", tqm = dir_ / "m.tqm", out = dir_ / "fw";
  tinyq::write_npy(data.string(), Tensor::from_floats({32, 3, 6, 5}, normal_values(32 * 90, 3, 1.0f)));
  Result q = run_argv({"quantize", model.string(), "--calib", data.string(), "-o", tqm.string()});
  ASSERT_EQ(q.code, 0) << q.err;
  Result g = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", out.string(), "--name", "dec"});
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_NE(slurp(out / "dec.cpp").find("rt::resize_bilinear_s8("), std::string::npos);
  Result v =
      run_argv({"verify", tqm.string(), "--target", "cortex-m4", "--data", data.string(), "--count", "8", "--json"});
  ASSERT_EQ(v.code, 0) << v.err;
  const auto j = nlohmann::json::parse(v.out);
  EXPECT_EQ(j["count"], 8);
  EXPECT_EQ(j["mismatches"], 0);
}

}  // namespace
}  // namespace tinyq::testing
