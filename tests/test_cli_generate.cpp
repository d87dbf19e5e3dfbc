// tinyq generate / bench / verify: the command-line contract, and the generated firmware
// on emulated Cortex-M cores bit-identical to the host int8 executor.
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"

namespace tinyq::testing {
namespace {

const std::string kTrain = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

class CliGenerate : public Cli {
 protected:
  // A quantized zoo model (100 calibration images: enough for these tests, and quick).
  fs::path quantized(const std::string& model) {
    fs::path tqm = dir_ / (model + ".tqm");
    Result r = run("quantize " + (kModels / (model + ".onnx")).string() + " --calib " + kTrain +
                   " --calib-count 100 -o " + tqm.string());
    EXPECT_EQ(r.code, 0) << r.err;
    return tqm;
  }
  static std::map<std::string, std::string> folder(const fs::path& dir) {
    std::map<std::string, std::string> files;
    for (auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = slurp(e.path());
    return files;
  }
};

TEST_F(CliGenerate, WritesTheModelHeaderAndRuntimeAndReportsMemory) {
  fs::path tqm = quantized("seed_cnn"), out = dir_ / "fw";
  Result r = run("generate " + tqm.string() + " --target cortex-m4 -o " + out.string() + " --name seed --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"output", "target", "flash_bytes", "arena_bytes", "files"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["target"], "cortex-m4");
  EXPECT_TRUE(fs::exists(out / "seed.h"));
  EXPECT_TRUE(fs::exists(out / "seed.cpp"));
  EXPECT_TRUE(fs::exists(out / "tinyq" / "include" / "tinyq" / "kernels.hpp"));
  EXPECT_EQ(j["arena_bytes"], j["arena_lower_bound_bytes"]);
  EXPECT_LE(j["arena_bytes"].get<int>(), j["tflm_greedy_arena_bytes"].get<int>());
  EXPECT_NE(slurp(out / "seed.h").find("void seed_invoke(void);"), std::string::npos);
}

TEST_F(CliGenerate, GeneratingTwiceGivesByteIdenticalFiles) {
  fs::path tqm = quantized("inception"), a = dir_ / "a", b = dir_ / "b";
  ASSERT_EQ(run("generate " + tqm.string() + " --target cortex-m7 -o " + a.string()).code, 0);
  ASSERT_EQ(run("generate " + tqm.string() + " --target cortex-m7 -o " + b.string()).code, 0);
  EXPECT_EQ(folder(a), folder(b));
  // Regenerating into its own folder is allowed and changes nothing (named with a trailing
  // slash too: the staging folder must not land inside it).
  ASSERT_EQ(run("generate " + tqm.string() + " --target cortex-m7 -o " + a.string() + "/").code, 0);
  EXPECT_EQ(folder(a), folder(b));
}

TEST_F(CliGenerate, UnknownTargetIsBadUsageAndWritesNothing) {
  fs::path tqm = quantized("mlp"), out = dir_ / "fw";
  expect_bad_input(run("generate " + tqm.string() + " --target cortex-a53 -o " + out.string()), "cortex-a53");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CliGenerate, RefusesAFolderHoldingFilesItDidNotWrite) {
  fs::path tqm = quantized("mlp"), out = dir_ / "project";
  fs::create_directories(out);
  std::ofstream(out / "main.c") << "int main(void) { return 0; }\n";
  expect_bad_input(run("generate " + tqm.string() + " --target cortex-m4 -o " + out.string()), "main.c");
  EXPECT_EQ(folder(out).size(), 1u);
  EXPECT_EQ(slurp(out / "main.c"), "int main(void) { return 0; }\n");
}

TEST_F(CliGenerate, OverARamLimitExitsOneWithABreakdownAndWritesNothing) {
  fs::path tqm = quantized("dwsep"), out = dir_ / "fw";
  Result r = run("generate " + tqm.string() + " --target cortex-m4 --ram-limit 1000 -o " + out.string());
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.error_lines(), 1) << r.err;
  for (const char* part : {"weights", "code", "arena", "scratch"})
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  r = run("generate " + tqm.string() + " --target cortex-m4 --flash-limit 1000 -o " + out.string());
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CliGenerate, CorruptModelIsBadInput) {
  fs::path bad = write("bad.tqm", "TINYQTQM garbage");
  expect_bad_input(run("generate " + bad.string() + " --target portable -o " + (dir_ / "fw").string()), "bad.tqm");
  EXPECT_FALSE(fs::exists(dir_ / "fw"));
}

// The generated firmware on QEMU against the host int8 executor, 100 test images each.
class CliVerify : public CliGenerate, public ::testing::WithParamInterface<std::pair<std::string, std::string>> {};

TEST_P(CliVerify, FirmwareOutputsEqualTheHostInt8ExecutorOn100Images) {
  const auto& [model, target] = GetParam();
  fs::path tqm = quantized(model);
  Result r = run("verify " + tqm.string() + " --target " + target + " --data " + kImages + " --labels " + kLabels +
                 " --count 100 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["count"], 100);
  EXPECT_EQ(j["mismatches"], 0);
  EXPECT_GT(j["top1"].get<double>(), 0.7);  // a working classifier, not noise
  EXPECT_GT(j["instructions"].get<double>(), 0);
}

std::vector<std::pair<std::string, std::string>> verify_cases() {
  std::vector<std::pair<std::string, std::string>> cases;
  for (const char* m : {"seed_cnn", "cnn_bn", "avgpool_cnn", "inception", "densenet", "dwsep", "resnet", "mlp"})
    cases.push_back({m, "cortex-m4"});
  for (const char* t : {"cortex-m7", "cortex-m55"})
    for (const char* m : {"inception", "dwsep", "resnet", "mlp"}) cases.push_back({m, t});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Zoo, CliVerify, ::testing::ValuesIn(verify_cases()), [](const auto& info) {
  std::string name = info.param.first + "_" + info.param.second;
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
});

TEST_F(CliGenerate, BenchReportsPerLayerInstructionsThatAddUp) {
  fs::path tqm = quantized("resnet");
  Result r = run("bench " + tqm.string() + " --target cortex-m4 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"target", "instructions", "macs", "layers", "arena_bytes", "flash_bytes"})
    EXPECT_TRUE(j.contains(key)) << key;
  std::int64_t sum = 0, macs = 0;
  for (auto& l : j["layers"]) {
    EXPECT_GT(l["instructions"].get<std::int64_t>(), 0) << l["name"];
    sum += l["instructions"].get<std::int64_t>();
    macs += l["macs"].get<std::int64_t>();
  }
  // The per-layer counts cover the inference except the call sequence's own glue.
  EXPECT_LE(sum, j["instructions"].get<std::int64_t>());
  EXPECT_GT(sum, j["instructions"].get<std::int64_t>() * 99 / 100);
  EXPECT_EQ(macs, j["macs"].get<std::int64_t>());
  // Exact counts: a second run gives the same figure.
  Result again = run("bench " + tqm.string() + " --target cortex-m4 --json");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["instructions"], j["instructions"]);
}

TEST_F(CliGenerate, VerifyRejectsBadInputBeforeBuildingAnything) {
  fs::path tqm = quantized("mlp");
  // Samples of the wrong size for the model.
  fs::path wrong = write_npy("wrong.npy", {4, 3, 5, 5});
  expect_bad_input(run("verify " + tqm.string() + " --target cortex-m4 --data " + wrong.string()), "wrong.npy");
  expect_bad_input(run("verify " + tqm.string() + " --target cortex-m4 --data " + kImages + " --count 0"), "--count");
  expect_bad_input(run("verify " + tqm.string() + " --target portable --data " + kImages), "portable");
  fs::path bad = write("bad.tqm", std::string(64, 'x'));
  expect_bad_input(run("verify " + bad.string() + " --target cortex-m4 --data " + kImages), "bad.tqm");
  // Labels that do not cover the samples.
  fs::path labels = write_npy("labels.npy", {3}, 1.0f);
  expect_bad_input(run("verify " + tqm.string() + " --target cortex-m4 --data " + kImages + " --count 10 --labels " +
                       labels.string()),
                   "labels.npy");
}

TEST_F(CliGenerate, ReferenceLayersAreReportedUnderTheirBenchIds) {
  Result r = run("bench --reference-layers --target cortex-m4 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  std::vector<std::string> ids;
  std::int64_t sum = 0;
  for (auto& l : j["layers"]) {
    ids.push_back(l["name"]);
    EXPECT_GT(l["instructions"].get<std::int64_t>(), 0);
    EXPECT_GT(l["cmsis_nn_instructions"].get<std::int64_t>(), 0);
    sum += l["instructions"].get<std::int64_t>();
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"L1", "L2", "L3", "L4", "L5", "L6", "L7", "L8", "L9", "L10", "K1", "K2",
                                           "K3", "R1"}));
  EXPECT_EQ(sum, j["instructions"].get<std::int64_t>());
}

TEST_F(CliGenerate, BenchWithoutAModelOrOnAHostTargetIsBadUsage) {
  expect_bad_input(run("bench --target cortex-m4"), "reference-layers");
  fs::path tqm = quantized("mlp");
  expect_bad_input(run("bench " + tqm.string() + " --target portable"), "portable");
}

}  // namespace
}  // namespace tinyq::testing
