// A model with several outputs (a class head, a box head and the feature map itself) through
// quantize, generate and verify: output 0 keeps the single-output C API, output k gets
// NAME_outputk(), and the firmware's outputs equal the host int8 executor's, every one.
#include <nlohmann/json.hpp>
#include <random>

#include "cli_fixture.hpp"
#include "data/npy.hpp"
#include "onnx_builder.hpp"

namespace tinyq::testing {
namespace {

class CliMultiOutput : public Cli {
 protected:
  fs::path two_head_model() {
    OnnxBuilder b;
    b.input("x", {1, 2, 6, 6});
    b.initializer("w", {4, 2, 3, 3}, normal_values(72, 1, 0.3f));
    auto& conv = b.node("Conv", {"x", "w"}, {"c"}, "conv");
    OnnxBuilder::set_ints(conv, "pads", {1, 1, 1, 1});
    b.node("Relu", {"c"}, {"features"}, "relu");
    b.node("Flatten", {"features"}, {"f"}, "flatten");
    b.initializer("wc", {10, 144}, normal_values(1440, 2, 0.1f));
    OnnxBuilder::set_int(b.node("Gemm", {"f", "wc"}, {"logits"}, "class_head"), "transB", 1);
    OnnxBuilder::set_int(b.node("Softmax", {"logits"}, {"classes"}, "softmax"), "axis", -1);
    b.initializer("wb", {4, 144}, normal_values(576, 3, 0.1f));
    OnnxBuilder::set_int(b.node("Gemm", {"f", "wb"}, {"box"}, "box_head"), "transB", 1);
    b.output("classes").output("box").output("features");
    return write("two_heads.onnx", b.bytes());
  }
};

TEST_F(CliMultiOutput, EveryOutputHasItsCApiAndTheFirmwareMatchesTheHostOnAllOfThem) {
  const fs::path model = two_head_model(), data = dir_ / "x.npy", tqm = dir_ / "m.tqm", out = dir_ / "fw";
  tinyq::write_npy(data.string(), Tensor::from_floats({64, 2, 6, 6}, normal_values(64 * 72, 4, 1.0f)));
  Result q = run_argv({"quantize", model.string(), "--calib", data.string(), "-o", tqm.string()});
  ASSERT_EQ(q.code, 0) << q.err;

  Result g = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", out.string(), "--name", "heads"});
  ASSERT_EQ(g.code, 0) << g.err;
  const std::string header = slurp(out / "heads.h");
  for (const char* part :
       {"#define HEADS_OUTPUT_COUNT 3", "#define HEADS_OUTPUT_SIZE 10", "#define HEADS_OUTPUT1_SIZE 4",
        "#define HEADS_OUTPUT2_SIZE 144", "const int8_t* heads_output1(void);",
        "void heads_dequantize_output2(float* output);", "Output 2 'features': 1x4x6x6 in the model"})
    EXPECT_NE(header.find(part), std::string::npos) << part << "\n" << header;

  Result v =
      run_argv({"verify", tqm.string(), "--target", "cortex-m4", "--data", data.string(), "--count", "8", "--json"});
  ASSERT_EQ(v.code, 0) << v.err;
  const auto j = nlohmann::json::parse(v.out);
  EXPECT_EQ(j["count"], 8);
  EXPECT_EQ(j["mismatches"], 0);
}

}  // namespace
}  // namespace tinyq::testing
