// generate / verify / bench --patch (patch-based inference of the first layers): the firmware
// reads its input in rows through NAME_read_input_rows, runs the first layers row by row,
// and must give the host int8 executor's bytes on QEMU, with an arena below the
// layer-by-layer one. The models: an RGB image model with the row geometry real networks
// have (stride-2 stem, depthwise, pointwise, dilated conv, max and average pooling with
// padding, an asymmetric stride-2 conv) and the zoo's depthwise-separable CNN on
// Fashion-MNIST.
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "cli_fixture.hpp"
#include "data/npy.hpp"
#include "onnx_builder.hpp"
#include "test_tflite_prequantized_mlperf.hpp"

namespace tinyq::testing {
namespace {

class CliPatch : public Cli {
 protected:
  // [1, 3, 32, 20] -> ... -> 10 classes.
  fs::path image_model() {
    OnnxBuilder b;
    b.input("x", {1, 3, 32, 20});
    auto conv = [&](const std::string& in, const std::string& out, std::int64_t cin, std::int64_t cout, std::int64_t k,
                    std::int64_t group, std::vector<std::int64_t> pads, std::int64_t stride, std::int64_t dilation,
                    unsigned seed) {
      const std::int64_t per_group = cin / group;
      b.initializer(
          out + "_w", {cout, per_group, k, k},
          normal_values(std::size_t(cout * per_group * k * k), seed, 1.0f / std::sqrt(float(per_group * k * k))));
      b.initializer(out + "_b", {cout}, normal_values(std::size_t(cout), seed + 100, 0.1f));
      auto& n = b.node("Conv", {in, out + "_w", out + "_b"}, {out + "_c"}, out);
      OnnxBuilder::set_ints(n, "pads", pads);
      OnnxBuilder::set_ints(n, "strides", {stride, stride});
      OnnxBuilder::set_ints(n, "dilations", {dilation, dilation});
      OnnxBuilder::set_int(n, "group", group);
      b.node("Relu", {out + "_c"}, {out}, out + "_relu");
    };
    conv("x", "stem", 3, 8, 3, 1, {1, 1, 1, 1}, 2, 1, 1);          // 16 x 10
    conv("stem", "dw", 8, 8, 3, 8, {1, 1, 1, 1}, 1, 1, 2);         // depthwise
    conv("dw", "pw", 8, 16, 1, 1, {0, 0, 0, 0}, 1, 1, 3);          // pointwise
    conv("pw", "dilated", 16, 16, 3, 1, {2, 2, 2, 2}, 1, 2, 4);    // dilation 2
    auto& mp = b.node("MaxPool", {"dilated"}, {"mp"}, "maxpool");  // 8 x 5
    OnnxBuilder::set_ints(mp, "kernel_shape", {3, 3});
    OnnxBuilder::set_ints(mp, "strides", {2, 2});
    OnnxBuilder::set_ints(mp, "pads", {1, 1, 1, 1});
    auto& ap = b.node("AveragePool", {"mp"}, {"ap"}, "avgpool");
    OnnxBuilder::set_ints(ap, "kernel_shape", {3, 3});
    OnnxBuilder::set_ints(ap, "pads", {1, 1, 1, 1});
    conv("ap", "down", 16, 24, 3, 1, {0, 0, 1, 1}, 2, 1, 5);  // asymmetric padding, 4 x 3
    b.node("GlobalAveragePool", {"down"}, {"gap"}, "gap");
    b.node("Flatten", {"gap"}, {"flat"}, "flatten");
    b.initializer("fc_w", {10, 24}, normal_values(240, 6, 0.3f));
    b.initializer("fc_b", {10}, normal_values(10, 7, 0.1f));
    auto& fc = b.node("Gemm", {"flat", "fc_w", "fc_b"}, {"y"}, "fc");
    OnnxBuilder::set_int(fc, "transB", 1);
    b.output("y");
    return write("image.onnx", b.bytes());
  }

  fs::path quantized_image_model() {
    const fs::path model = image_model(), tqm = dir_ / "image.tqm";
    tinyq::write_npy(data().string(), Tensor::from_floats({16, 3, 32, 20}, normal_values(16 * 3 * 32 * 20, 9, 1.0f)));
    const Result q = run_argv({"quantize", model.string(), "--calib", data().string(), "-o", tqm.string()});
    EXPECT_EQ(q.code, 0) << q.err;
    return tqm;
  }
  fs::path data() const { return dir_ / "x.npy"; }

  nlohmann::json verify(const fs::path& tqm, const std::string& target, const std::string& data,
                        std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"verify", tqm.string(), "--patch", "--target", target, "--data", data, "--json"};
    args.insert(args.end(), more.begin(), more.end());
    const Result v = run_argv(args);
    EXPECT_EQ(v.code, 0) << v.err << v.out;
    return v.code == 0 ? nlohmann::json::parse(v.out) : nlohmann::json{};
  }
};

TEST_F(CliPatch, GenerateRunsTheFirstLayersRowByRowInASmallerArena) {
  const fs::path tqm = quantized_image_model(), out = dir_ / "fw";
  const Result g = run_argv(
      {"generate", tqm.string(), "--target", "cortex-m4", "-o", out.string(), "--name", "cam", "--patch", "--json"});
  ASSERT_EQ(g.code, 0) << g.err;
  const auto j = nlohmann::json::parse(g.out);
  EXPECT_GE(j["patch_layers"].get<int>(), 4);
  // The input (1,920 B) and the stem's output (1,280 B) are never whole in the arena.
  EXPECT_LT(j["arena_bytes"].get<std::int64_t>() * 5, j["layer_by_layer_arena_bytes"].get<std::int64_t>() * 3) << g.out;
  const std::string header = slurp(out / "cam.h");
  EXPECT_NE(header.find("void cam_read_input_rows(int8_t* rows, int32_t first_row, int32_t count);"),
            std::string::npos);
  EXPECT_NE(header.find("#define CAM_INPUT_ROWS 32"), std::string::npos);
  EXPECT_NE(header.find("#define CAM_INPUT_ROW_BYTES 60"), std::string::npos);
  EXPECT_EQ(header.find("cam_input(void)"), std::string::npos) << "no input buffer: rows come from the application";
  EXPECT_NE(slurp(out / "cam.cpp").find("rt::row_stage_s8("), std::string::npos);
}

TEST_F(CliPatch, FirmwareEqualsTheHostOnCortexM4AndM55) {
  const fs::path tqm = quantized_image_model();
  for (const char* target : {"cortex-m4", "cortex-m55"}) {
    const auto j = verify(tqm, target, data().string(), {"--count", "6"});
    EXPECT_EQ(j["count"], 6) << target;
    EXPECT_EQ(j["mismatches"], 0) << target;
  }
}

TEST_F(CliPatch, ZooDepthwiseSeparableModelEqualsTheHost) {
  const fs::path onnx = kModels / "dwsep.onnx", tqm = dir_ / "dwsep.tqm";
  if (!fs::exists(kImages)) GTEST_SKIP() << kImages << " absent (dataset-fashion-mnist)";
  const Result q =
      run_argv({"quantize", onnx.string(), "--calib", kImages, "-o", tqm.string(), "--calib-count", "200"});
  ASSERT_EQ(q.code, 0) << q.err;
  const auto j = verify(tqm, "cortex-m4", kImages, {"--count", "10"});
  EXPECT_EQ(j["mismatches"], 0);
}

// MLPerf Tiny's VWW (MobileNet-v1 0.25, 96x96x3, int8 as imported): layer by layer no arena
// can be below 55,296 B (48x48x8 in and 48x48x16 out of its first pointwise layer); with the
// first layers row by row it must be at most half of that, with the same bytes out.
TEST_F(CliPatch, MlperfVisualWakeWordsArenaIsAtMostHalfTheLayerByLayerBound) {
  tinyq_test::MlperfPaths paths;
  if (const std::string why = tinyq_test::mlperf_paths({"vww", "vww_96_int8.tflite"}, paths); !why.empty())
    GTEST_SKIP() << why;
  const auto j = verify(paths.model, "cortex-m4", paths.input.string(), {"--count", "1"});
  EXPECT_EQ(j["mismatches"], 0);
  EXPECT_LE(j["arena_bytes"].get<std::int64_t>(), 55296 / 2);
}

TEST_F(CliPatch, RamLimitChoosesPatchBasedLayersWhenLayerByLayerDoesNotFit) {
  const fs::path tqm = quantized_image_model();
  const Result whole =
      run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", (dir_ / "a").string(), "--json"});
  ASSERT_EQ(whole.code, 0) << whole.err;
  const Result patched =
      run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", (dir_ / "b").string(), "--patch", "--json"});
  ASSERT_EQ(patched.code, 0) << patched.err;
  const std::int64_t layer_by_layer = nlohmann::json::parse(whole.out)["arena_bytes"];
  const std::int64_t patch = nlohmann::json::parse(patched.out)["arena_bytes"];
  ASSERT_LT(patch, layer_by_layer);
  // Between the two: patch-based layers are chosen, and the note says so.
  const Result fits = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", (dir_ / "c").string(),
                                "--ram-limit", std::to_string(patch), "--json"});
  ASSERT_EQ(fits.code, 0) << fits.err;
  EXPECT_EQ(nlohmann::json::parse(fits.out)["arena_bytes"], patch);
  EXPECT_NE(fits.err.find("patch-based first layers"), std::string::npos) << fits.err;
  // Just below layer by layer: the shortest stage that fits, several output rows per call
  // where rows are narrow, and still the host's bytes on QEMU.
  const std::string just_below = std::to_string(layer_by_layer - 4);
  const Result cheap = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", (dir_ / "e").string(),
                                 "--name", "cam", "--ram-limit", just_below});
  ASSERT_EQ(cheap.code, 0) << cheap.err;
  const std::string cpp = slurp(dir_ / "e" / "cam.cpp");
  const std::regex entry(R"(\{(\d+), (\d+), (\d+), (\d+), (\d+), (\d+), (\d+), g_arena)");
  int most_rows_per_call = 0;
  for (auto it = std::sregex_iterator(cpp.begin(), cpp.end(), entry); it != std::sregex_iterator(); ++it)
    most_rows_per_call = std::max(most_rows_per_call, std::stoi((*it)[7]));
  EXPECT_GT(most_rows_per_call, 1) << cpp.substr(cpp.find("row_stage_s8") - 400, 600);
  const auto v = verify(tqm, "cortex-m4", data().string(), {"--count", "4", "--ram-limit", just_below});
  EXPECT_EQ(v["mismatches"], 0);
  EXPECT_LE(v["arena_bytes"].get<std::int64_t>(), layer_by_layer - 4);
  // Below both: refused as before, naming the limit, nothing written.
  const Result refused = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", (dir_ / "d").string(),
                                   "--ram-limit", std::to_string(patch - 4)});
  EXPECT_EQ(refused.code, 1) << refused.err;
  EXPECT_NE(refused.err.find("--ram-limit"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(dir_ / "d" / "model.cpp"));
}

TEST_F(CliPatch, ModelsWithoutAnImageInputAreRefusedInOneLine) {
  const fs::path onnx = kModels / "mlp.onnx", tqm = dir_ / "mlp.tqm";
  const fs::path calib = write_npy("calib.npy", {4, 1, 28, 28});
  const Result q = run_argv({"quantize", onnx.string(), "--calib", calib.string(), "-o", tqm.string()});
  ASSERT_EQ(q.code, 0) << q.err;
  const Result g =
      run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", (dir_ / "out").string(), "--patch"});
  expect_bad_input(g, "--patch");
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  const Result s = run_argv({"generate", quantized_image_model().string(), "--target", "cortex-m4", "-o",
                             (dir_ / "out").string(), "--patch", "--streaming"});
  expect_bad_input(s, "--streaming");
}

}  // namespace
}  // namespace tinyq::testing
