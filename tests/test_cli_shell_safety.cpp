// bench / verify run make, nm, QEMU and the reference-layer script on folders the user
// names (--keep, TMPDIR, TINYQ_HOME, TINYQ_INSN_COUNT_PLUGIN). No name may ever reach a
// shell as code: folders holding quotes, spaces, `$(...)`, backticks, newlines or a leading
// dash either work or are refused with one line, and nothing named INJECTED ever appears.
// Also: --keep never overwrites a user's files, and a failed build's logs stay where the
// message says they are.
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"

namespace tinyq::testing {
namespace {

const std::string kTrain = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

// Every trick at once: a quote that ends '…' quoting, a command substitution in both
// syntaxes, a double quote, a newline, a comma (QEMU's option separator) and spaces.
const std::string kHostile = "John's fw, $(touch INJECTED) `touch INJECTED` \"q\"\nline2";

class ShellSafety : public Cli {
 protected:
  // The smallest zoo model, quantized quickly (20 calibration images).
  fs::path quantized_mlp() {
    fs::path tqm = dir_ / "mlp.tqm";
    Result r = run_argv(
        {"quantize", (kModels / "mlp.onnx").string(), "--calib", kTrain, "--calib-count", "20", "-o", tqm.string()});
    EXPECT_EQ(r.code, 0) << r.err;
    return tqm;
  }
  // Anything named INJECTED under the test's folder (where every command here runs and
  // builds) or in this process's folder.
  bool injected() const {
    if (fs::exists(fs::current_path() / "INJECTED")) return true;
    for (auto& e : fs::recursive_directory_iterator(dir_))
      if (e.path().filename() == "INJECTED") return true;
    return false;
  }
  // A copy of targets/cortex-m under `home`, as a TINYQ_HOME.
  static void copy_targets(const fs::path& home) {
    fs::create_directories(home / "targets");
    fs::copy(fs::path(TINYQ_SOURCE_DIR) / "targets" / "cortex-m", home / "targets" / "cortex-m",
             fs::copy_options::recursive);
  }
  static std::vector<fs::path> children(const fs::path& dir) {
    std::vector<fs::path> out;
    for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
    return out;
  }
};

TEST_F(ShellSafety, BenchKeepFolderWithShellSyntaxBuildsThereAndRunsNothingElse) {
  fs::path tqm = quantized_mlp(), keep = dir_ / kHostile;
  Result r = run_argv({"bench", tqm.string(), "--target", "cortex-m4", "--keep", keep.string(), "--json"}, dir_);
  EXPECT_FALSE(injected());
  ASSERT_EQ(r.code, 0) << r.err;  // the name works, not just refused
  EXPECT_GT(nlohmann::json::parse(r.out)["instructions"].get<std::int64_t>(), 0);
  EXPECT_TRUE(fs::exists(keep / "firmware.elf"));
  EXPECT_TRUE(fs::exists(keep / "Makefile"));
  // The Makefile names no folder of the user's: only fixed names relative to its own.
  EXPECT_EQ(slurp(keep / "Makefile").find(dir_.string()), std::string::npos);
}

TEST_F(ShellSafety, VerifyKeepRelativeFolderWithLeadingDashAndShellSyntaxWorks) {
  fs::path tqm = quantized_mlp();
  const std::string relative = "./-fw " + kHostile;
  Result r = run_argv({"verify", tqm.string(), "--target", "cortex-m4", "--data", kImages, "--count", "5", "--keep",
                       relative, "--json"},
                      dir_);
  EXPECT_FALSE(injected());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["mismatches"], 0);
  // Relative to the folder tinyq was started in, not to wherever make runs.
  EXPECT_TRUE(fs::exists(dir_ / ("-fw " + kHostile) / "firmware.elf"));
}

TEST_F(ShellSafety, HostileTmpdirHomeAndPluginPathsWorkAndTheTemporaryFolderGoes) {
  fs::path tqm = quantized_mlp();
  fs::path tmp = dir_ / ("tmp " + kHostile), home = dir_ / ("home " + kHostile),
           plugin = dir_ / ("plugin " + kHostile) / "lib,insn count.so";
  fs::create_directories(tmp);
  copy_targets(home);
  fs::create_directories(plugin.parent_path());
  fs::copy_file(fs::path(TINYQ_BINARY_DIR) / "targets" / "libinsn_count.so", plugin);
  Result r =
      run_argv({"bench", tqm.string(), "--target", "cortex-m4", "--json"}, dir_,
               {"TMPDIR=" + tmp.string(), "TINYQ_HOME=" + home.string(), "TINYQ_INSN_COUNT_PLUGIN=" + plugin.string()});
  EXPECT_FALSE(injected());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_GT(nlohmann::json::parse(r.out)["instructions"].get<std::int64_t>(), 0);
  EXPECT_TRUE(children(tmp).empty()) << "the temporary build folder was left behind";
}

TEST_F(ShellSafety, AFailedBuildKeepsItsTemporaryFolderAndNamesTheLog) {
  fs::path tqm = quantized_mlp();
  fs::path tmp = dir_ / "tmp\nnew line", home = dir_ / "home";
  fs::create_directories(tmp);
  copy_targets(home);
  std::ofstream(home / "targets" / "cortex-m" / "startup.c") << "#error deliberately broken startup\n";
  Result r = run_argv({"bench", tqm.string(), "--target", "cortex-m4"}, dir_,
                      {"TMPDIR=" + tmp.string(), "TINYQ_HOME=" + home.string()});
  expect_bad_input(r, "build.log");
  EXPECT_NE(r.err.find("deliberately broken"), std::string::npos) << r.err;
  // The folder the message names is still there, with the log.
  auto kept = children(tmp);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_NE(slurp(kept[0] / "build.log").find("deliberately broken"), std::string::npos);
  EXPECT_NE(r.err.find(kept[0].filename().string() + "/build.log"), std::string::npos) << r.err;
}

TEST_F(ShellSafety, AFailedQemuRunKeepsItsTemporaryFolderAndNamesTheLog) {
  fs::path tqm = quantized_mlp();
  fs::path tmp = dir_ / "tmp", home = dir_ / "home";
  fs::create_directories(tmp);
  copy_targets(home);
  std::ofstream(home / "targets" / "cortex-m" / "run-qemu.sh")
      << "#!/bin/sh\necho emulator deliberately broken\nexit 7\n";
  Result r = run_argv({"bench", tqm.string(), "--target", "cortex-m4"}, dir_,
                      {"TMPDIR=" + tmp.string(), "TINYQ_HOME=" + home.string()});
  expect_bad_input(r, "qemu.log");
  EXPECT_NE(r.err.find("exit 7"), std::string::npos) << r.err;
  auto kept = children(tmp);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_NE(r.err.find((kept[0] / "qemu.log").string()), std::string::npos) << r.err;
  EXPECT_NE(slurp(kept[0] / "qemu.log").find("deliberately broken"), std::string::npos);
}

TEST_F(ShellSafety, KeepRefusesAFolderHoldingUserFilesAndReusesItsOwn) {
  fs::path tqm = quantized_mlp(), user = dir_ / "project";
  fs::create_directories(user);
  std::ofstream(user / "Makefile") << "all:\n\techo mine\n";
  for (const char* cmd : {"bench", "verify"}) {
    std::vector<std::string> args = {cmd, tqm.string(), "--target", "cortex-m4", "--keep", "project"};
    if (std::string(cmd) == "verify") args.insert(args.end(), {"--data", kImages, "--count", "1"});
    expect_bad_input(run_argv(args, dir_), "Makefile");
    EXPECT_EQ(children(user).size(), 1u) << cmd;
    EXPECT_EQ(slurp(user / "Makefile"), "all:\n\techo mine\n") << cmd;
  }
  // A folder an earlier --keep wrote may be used again (a build that fails fast, twice: the
  // second run gets past the ownership check to the same build error).
  fs::path home = dir_ / "home";
  copy_targets(home);
  std::ofstream(home / "targets" / "cortex-m" / "startup.c") << "#error deliberately broken startup\n";
  for (int run = 0; run < 2; ++run) {
    Result r = run_argv({"bench", tqm.string(), "--target", "cortex-m4", "--keep", "ours"}, dir_,
                        {"TINYQ_HOME=" + home.string()});
    expect_bad_input(r, "build.log");
    EXPECT_NE(r.err.find("deliberately broken"), std::string::npos) << "run " << run << ": " << r.err;
  }
  EXPECT_TRUE(fs::exists(dir_ / "ours" / "Makefile"));
  // A symbolic link where an earlier run's Makefile was would redirect the write: refused.
  fs::remove(dir_ / "ours" / "Makefile");
  fs::create_symlink(user / "Makefile", dir_ / "ours" / "Makefile");
  expect_bad_input(run_argv({"bench", tqm.string(), "--target", "cortex-m4", "--keep", "ours"}, dir_), "Makefile");
  EXPECT_EQ(slurp(user / "Makefile"), "all:\n\techo mine\n");
  // A file given as the folder is refused too.
  std::ofstream(dir_ / "file") << "x";
  expect_bad_input(run_argv({"bench", tqm.string(), "--target", "cortex-m4", "--keep", "file"}, dir_),
                   "needs a folder");
  EXPECT_EQ(slurp(dir_ / "file"), "x");
}

TEST_F(ShellSafety, ReferenceLayersBuildInAKeepFolderWithShellSyntax) {
  fs::path keep = dir_ / ("ref " + kHostile);
  Result r =
      run_argv({"bench", "--reference-layers", "--target", "cortex-m4", "--keep", keep.string(), "--json"}, dir_);
  EXPECT_FALSE(injected());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["layers"].size(), 14u);
  EXPECT_TRUE(fs::exists(keep / "cortex-m4" / "results.tsv"));
}

}  // namespace
}  // namespace tinyq::testing
