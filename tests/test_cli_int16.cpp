// int16 layers end to end: `quantize` (best's automatic choice) gives the model int8 cannot
// hold an int16 tensor and says so, `generate` calls the 16x8 kernels with the tensor at two
// bytes per element in the arena, and the firmware on emulated Cortex-M4 (DSP path) and M55
// (Helium path) gives the host int8 executor's bytes.
#include <map>
#include <nlohmann/json.hpp>

#include "cancellation_model.hpp"
#include "cli_fixture.hpp"
#include "data/npy.hpp"
#include "small_cnn.hpp"

namespace tinyq::testing {
namespace {

class CliInt16 : public Cli {
 protected:
  fs::path quantized(const std::string& extra = "", bool pool = false, bool average = false) {
    return quantized_model("cancel", cancellation_model_bytes(pool, average), extra);
  }
  // The model's .tqm from `quantize` (best: auto int16; `extra` options) on random inputs in
  // [0, 1]; its result in last_.
  fs::path quantized_model(const std::string& name, const std::string& bytes, const std::string& extra = "") {
    const fs::path model = write(name + ".onnx", bytes);
    tinyq::write_npy(data_.string(), Tensor::from_floats({64, 2, 4, 4}, random_values(64 * 32, 7, 0.0f, 1.0f)));
    const fs::path tqm = dir_ / (name + ".tqm");
    Result q = run("quantize " + model.string() + " --calib " + data_.string() + " -o " + tqm.string() + extra);
    EXPECT_EQ(q.code, 0) << q.err;
    last_ = q;
    return tqm;
  }
  // `generate` calls `kernel`, and the firmware on the emulated M4 and M55 gives the host's
  // bytes for 16 samples.
  void expect_firmware_calls_and_equals_host(const fs::path& tqm, const std::string& kernel) {
    const fs::path out = dir_ / "fw";
    Result g = run("generate " + tqm.string() + " --target cortex-m4 -o " + out.string() + " --name net");
    ASSERT_EQ(g.code, 0) << g.err;
    EXPECT_NE(slurp(out / "net.cpp").find("rt::" + kernel + "("), std::string::npos) << kernel;
    for (const char* target : {"cortex-m4", "cortex-m55"}) {
      Result v =
          run("verify " + tqm.string() + " --target " + target + " --data " + data_.string() + " --count 16 --json");
      ASSERT_EQ(v.code, 0) << target << ": " << v.err;
      EXPECT_EQ(nlohmann::json::parse(v.out)["mismatches"], 0) << target;
    }
  }
  fs::path data_ = dir_ / "x.npy";
  Result last_;
};

TEST_F(CliInt16, QuantizeChoosesTheLayerAndReportsIt) {
  quantized(" --json");
  const auto j = nlohmann::json::parse(last_.out);
  EXPECT_EQ(j["int16"]["mode"], "auto");
  EXPECT_EQ(j["int16"]["layers"], nlohmann::json::array({"wide"}));
  EXPECT_LT(j["int16"]["sqnr_before_db"].get<double>(), 15.0);
  EXPECT_GT(j["int16"]["sqnr_after_db"].get<double>(), 30.0);
  EXPECT_GT(j["prediction"]["output_sqnr_db"].get<double>(), 30.0);
  for (const auto& layer : j["layers"]) EXPECT_EQ(layer["bits"], layer["name"] == "wide" ? 16 : 8);
  // Both convs are 16x8 layers (wide writes int16, difference reads it), each with 32 MACs per pixel.
  EXPECT_DOUBLE_EQ(j["int16"]["mac_share"].get<double>(), 1.0);
  quantized("");
  EXPECT_NE(last_.out.find("100% of the MACs in 16x8 layers"), std::string::npos) << last_.out;
  // The HTML report shows the format of each tensor.
  const fs::path report = dir_ / "r.html";
  quantized(" --report " + report.string());
  EXPECT_NE(slurp(report).find("<b>int16</b>"), std::string::npos);
  // Without int16 the same data gives the collapse quantize warns about.
  quantized(" --int16 off --json");
  const auto off = nlohmann::json::parse(last_.out);
  EXPECT_LT(off["prediction"]["output_sqnr_db"].get<double>(), 15.0);
  EXPECT_EQ(off["int16"]["mac_share"].get<double>(), 0.0);
  EXPECT_FALSE(off["warnings"].empty());
  // A name that cannot be int16: one error line, exit 2, no file.
  const fs::path model = dir_ / "cancel.onnx", tqm = dir_ / "bad.tqm";
  Result bad =
      run("quantize " + model.string() + " --calib " + data_.string() + " -o " + tqm.string() + " --int16 difference");
  expect_bad_input(bad, "difference");
  EXPECT_FALSE(fs::exists(tqm));
}

TEST_F(CliInt16, GeneratedCodeCallsThe16x8KernelsAndEqualsTheHost) {
  const fs::path tqm = quantized();
  const fs::path out = dir_ / "fw";
  Result g = run("generate " + tqm.string() + " --target cortex-m4 -o " + out.string() + " --name cancel");
  ASSERT_EQ(g.code, 0) << g.err;
  const std::string source = slurp(out / "cancel.cpp");
  EXPECT_NE(source.find("rt::conv2d_wide("), std::string::npos);
  // Row stages run int8 kernels: a model that begins with an int16 layer has none, and says so.
  expect_bad_input(
      run("generate " + tqm.string() + " --target cortex-m4 --patch -o " + (dir_ / "p").string() + " --name cancel"),
      "int16");
  for (const char* target : {"cortex-m4", "cortex-m55"}) {
    Result v =
        run("verify " + tqm.string() + " --target " + target + " --data " + data_.string() + " --count 16 --json");
    ASSERT_EQ(v.code, 0) << target << ": " << v.err;
    const auto j = nlohmann::json::parse(v.out);
    EXPECT_EQ(j["count"], 16) << target;
    EXPECT_EQ(j["mismatches"], 0) << target;
  }
}

TEST_F(CliInt16, Int16MaxPoolingOnCortexM4EqualsTheHost) {
  const fs::path tqm = quantized("", true);
  const fs::path out = dir_ / "fw";
  Result g = run("generate " + tqm.string() + " --target cortex-m4 -o " + out.string() + " --name cancel");
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_NE(slurp(out / "cancel.cpp").find("rt::max_pool2d_s16("), std::string::npos);
  Result v = run("verify " + tqm.string() + " --target cortex-m4 --data " + data_.string() + " --count 16 --json");
  ASSERT_EQ(v.code, 0) << v.err;
  EXPECT_EQ(nlohmann::json::parse(v.out)["mismatches"], 0);
}

// The 16x8 scheme's other int16 kernels, each on a cancellation model that needs it.
TEST_F(CliInt16, Int16AveragePoolingOnCortexM4AndM55EqualsTheHost) {
  expect_firmware_calls_and_equals_host(quantized("", true, true), "avg_pool2d_s16");
}

TEST_F(CliInt16, Int16MultiplicationOnCortexM4AndM55EqualsTheHost) {
  expect_firmware_calls_and_equals_host(quantized_model("gated", gated_cancellation_model_bytes()), "mul_wide");
}

TEST_F(CliInt16, Int16AddOnCortexM4AndM55EqualsTheHost) {
  expect_firmware_calls_and_equals_host(quantized_model("residual", residual_cancellation_model_bytes()), "add_wide");
}

TEST_F(CliInt16, Int16LookupOnCortexM4AndM55EqualsTheHost) {
  expect_firmware_calls_and_equals_host(quantized_model("tanh", tanh_cancellation_model_bytes()), "lookup_s16");
}

TEST_F(CliInt16, Int16ConcatOnCortexM4AndM55EqualsTheHost) {
  expect_firmware_calls_and_equals_host(quantized_model("concat", concat_cancellation_model_bytes()), "concat_wide");
}

// An int16 tensor with a reader that has no 16x8 kernel (a PRelu): the generated code
// requantizes it to int8 for that reader, and still equals the host. And small_cnn with its
// first conv int16: the tensor passes through its residual add, average pooling and concat
// (concat_wide) to the dense layer, and the firmware equals the host too.
TEST_F(CliInt16, RequantizedCopiesForOtherReadersEqualTheHost) {
  expect_firmware_calls_and_equals_host(quantized_model("prelu", prelu_side_model_bytes(), " --int16 wide"),
                                        "requantize_tensor");
  const fs::path model = write("small_cnn.onnx", small_cnn().bytes());
  const fs::path data = dir_ / "s.npy", tqm = dir_ / "s.tqm";
  tinyq::write_npy(data.string(), Tensor::from_floats({32, 2, 8, 8}, random_values(32 * 128, 8)));
  Result q = run("quantize " + model.string() + " --calib " + data.string() + " -o " + tqm.string() + " --int16 conv1");
  ASSERT_EQ(q.code, 0) << q.err;
  const fs::path out = dir_ / "fw";
  Result g = run("generate " + tqm.string() + " --target cortex-m4 -o " + out.string() + " --name s");
  ASSERT_EQ(g.code, 0) << g.err;
  const std::string source = slurp(out / "s.cpp");
  EXPECT_NE(source.find("rt::concat_wide("), std::string::npos);
  EXPECT_NE(source.find("rt::depthwise_conv2d_wide("), std::string::npos);
  Result v = run("verify " + tqm.string() + " --target cortex-m4 --data " + data.string() + " --count 8 --json");
  ASSERT_EQ(v.code, 0) << v.err;
  EXPECT_EQ(nlohmann::json::parse(v.out)["mismatches"], 0);
  // eval lists each layer's bit width.
  Tensor labels(DType::i64, {32});
  for (std::int64_t k = 0; k < 32; ++k) labels.data<std::int64_t>()[std::size_t(k)] = k % 5;
  const fs::path labels_file = dir_ / "labels.npy";
  tinyq::write_npy(labels_file.string(), labels);
  Result e = run("eval " + tqm.string() + " --data " + data.string() + " --labels " + labels_file.string() + " --json");
  ASSERT_EQ(e.code, 0) << e.err;
  const auto report = nlohmann::json::parse(e.out);
  std::map<std::string, int> bits;
  for (const auto& layer : report["layers"]) bits[layer["name"].get<std::string>()] = layer["bits"].get<int>();
  EXPECT_EQ(bits["conv1"], 16);
  EXPECT_EQ(bits["concat"], 16);
  EXPECT_EQ(bits["softmax"], 8);  // the model's output
}

}  // namespace
}  // namespace tinyq::testing
