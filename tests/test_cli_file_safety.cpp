// What tinyq writes, and what it must never touch: a hostile manifest in an output folder,
// symlinks planted at temporary names, the user's own files next to an output, an output
// that is one of the inputs, and outputs that cannot be written (nothing half-done, exit 2).
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "cli_fixture.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace tinyq::testing {
namespace {

const std::string kTrain = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

class FileSafety : public Cli {
 protected:
  void SetUp() override {
    Cli::SetUp();
    if (!fs::exists(kTrain)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  }
  // A quick .tqm of the MLP (20 calibration images).
  fs::path quantized(const std::string& name = "m.tqm") {
    fs::path tqm = dir_ / name;
    Result r = run_argv(
        {"quantize", (kModels / "mlp.onnx").string(), "--calib", kTrain, "--calib-count", "20", "-o", tqm.string()});
    EXPECT_EQ(r.code, 0) << r.err;
    return tqm;
  }
  fs::path generated(const fs::path& tqm, const std::string& name = "fw") {
    fs::path out = dir_ / name;
    Result r = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", out.string()});
    EXPECT_EQ(r.code, 0) << r.err;
    return out;
  }
  // Names in the test folder that look like a temporary tinyq left behind.
  std::vector<std::string> stray_temporaries() const {
    std::vector<std::string> found;
    for (auto& e : fs::recursive_directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      if (name.find(".tinyq-") != std::string::npos && name != ".tinyq-generated") found.push_back(name);
      if (name.ends_with(".tmp") || name.ends_with(".tinyq-partial")) found.push_back(name);
    }
    return found;
  }
  static std::map<std::string, std::string> folder(const fs::path& dir) {
    std::map<std::string, std::string> files;
    for (auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file()) files[e.path().lexically_relative(dir).generic_string()] = slurp(e.path());
    return files;
  }
};

// Issue item 2: the manifest names what generate may delete; it is the user's file, so an
// entry outside the folder, or a symlink inside it, is refused before anything is touched.
TEST_F(FileSafety, HostileManifestEntriesAreRefusedAndDeleteNothing) {
  fs::path tqm = quantized();
  fs::path out = generated(tqm);
  const auto before = folder(out);
  fs::path victim = write("victim.txt", "precious\n");
  fs::create_directories(dir_ / "elsewhere");
  std::ofstream(dir_ / "elsewhere" / "victim.cpp") << "precious\n";
  fs::create_symlink(victim, out / "evil.h");
  fs::create_directory_symlink(dir_ / "elsewhere", out / "tinyq" / "evil");
  const std::string manifest = slurp(out / ".tinyq-generated");
  for (const std::string& entry : {std::string("../victim.txt"), victim.string(), std::string("evil.h"),
                                   std::string("tinyq/evil/victim.cpp"), std::string("tinyq/../../victim.txt")}) {
    SCOPED_TRACE(entry);
    write("fw/.tinyq-generated", manifest + entry + "\n");
    Result r = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", out.string()});
    expect_bad_input(r, ".tinyq-generated");
    EXPECT_NE(r.err.find(entry), std::string::npos) << r.err;
    EXPECT_EQ(slurp(victim), "precious\n");
    EXPECT_EQ(slurp(dir_ / "elsewhere" / "victim.cpp"), "precious\n");
    EXPECT_TRUE(fs::is_symlink(out / "evil.h"));
    // The previous generation is untouched too: the refusal comes before any deletion.
    for (const auto& [name, content] : before) {
      if (name != ".tinyq-generated") {
        EXPECT_EQ(slurp(out / name), content) << name;
      }
    }
  }
  EXPECT_TRUE(stray_temporaries().empty());
}

TEST_F(FileSafety, ASymlinkInTheFolderIsForeignEvenWithoutAManifestEntry) {
  fs::path out = generated(quantized());
  fs::path victim = write("victim.txt", "precious\n");
  fs::create_symlink(victim, out / "model.h");
  Result r = run_argv({"generate", (dir_ / "m.tqm").string(), "--target", "cortex-m4", "-o", out.string()});
  expect_bad_input(r, "model.h");
  EXPECT_EQ(slurp(victim), "precious\n");
}

TEST_F(FileSafety, RegeneratingIntoAPreviousGenerationStillWorks) {
  fs::path tqm = quantized();
  fs::path out = generated(tqm);
  // A file of the previous generation the user deleted is no reason to refuse.
  fs::remove(out / "m.h");
  Result r = run_argv({"generate", tqm.string(), "--target", "cortex-m7", "-o", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::is_regular_file(out / "m.h"));
  EXPECT_TRUE(stray_temporaries().empty());
}

// Issue item 3: temporaries are fresh unpredictable names; a symlink or a user's file at
// the old fixed name OUT.tmp is neither followed nor destroyed.
TEST_F(FileSafety, SymlinkAtTheOldTemporaryNameIsNotFollowed) {
  fs::path victim = write("victim.txt", "precious\n");
  fs::create_symlink(victim, dir_ / "m.tqm.tmp");
  fs::path tqm = quantized();
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_TRUE(fs::is_symlink(dir_ / "m.tqm.tmp"));
  ASSERT_TRUE(fs::is_regular_file(fs::symlink_status(tqm)));
  EXPECT_EQ(slurp(tqm).substr(0, 8), "TINYQTQM");
  // A normal file's permissions (0666 less the umask), not mkstemp's 0600.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(fs::status(tqm).permissions() & fs::perms::all, fs::perms(0666 & ~mask));
}

TEST_F(FileSafety, UsersFileAtTheOldTemporaryNameSurvivesRun) {
  fs::path in = write_npy("x.npy", {2, 1, 28, 28});
  fs::path mine = write("y.npy.tmp", "my notes\n");
  Result r = run_argv({"run", (kModels / "mlp.onnx").string(), "-i", in.string(), "-o", (dir_ / "y.npy").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(mine), "my notes\n");
  EXPECT_EQ(slurp(dir_ / "y.npy").substr(0, 6), "\x93NUMPY");
}

TEST_F(FileSafety, ReportSymlinkAtTheOldTemporaryNameIsNotFollowed) {
  fs::path victim = write("victim.txt", "precious\n");
  fs::create_symlink(victim, dir_ / "r.html.tmp");
  Result r = run_argv({"quantize", (kModels / "mlp.onnx").string(), "--calib", kTrain, "--calib-count", "20", "-o",
                       (dir_ / "m.tqm").string(), "--report", (dir_ / "r.html").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_NE(slurp(dir_ / "r.html").find("<html"), std::string::npos);
}

// Issue item 4: the staging folder is a fresh name; a user's folder at the old fixed
// sibling name X.tinyq-partial is not deleted.
TEST_F(FileSafety, UsersFolderAtTheOldStagingNameSurvivesGenerate) {
  fs::path tqm = quantized();
  fs::create_directories(dir_ / "fw.tinyq-partial");
  write("fw.tinyq-partial/keep.txt", "mine\n");
  generated(tqm);
  EXPECT_EQ(slurp(dir_ / "fw.tinyq-partial" / "keep.txt"), "mine\n");
  EXPECT_TRUE(fs::exists(dir_ / "fw" / "m.cpp"));
  // A second generation into the (now existing) folder leaves it alone too.
  generated(tqm);
  EXPECT_EQ(slurp(dir_ / "fw.tinyq-partial" / "keep.txt"), "mine\n");
}

// Issue item 6: an output that is one of the inputs (also through a symlink or a hard
// link) is refused before any work, and the input is unchanged.
TEST_F(FileSafety, QuantizeRefusesToOverwriteAnInput) {
  fs::path model = dir_ / "model.onnx";
  fs::copy_file(kModels / "mlp.onnx", model);
  const std::string bytes = slurp(model);
  fs::create_symlink(model, dir_ / "link.tqm");
  fs::create_hard_link(model, dir_ / "hard.tqm");
  fs::path calib = write_npy("calib.npy", {4, 1, 28, 28});
  const std::string calib_bytes = slurp(calib);
  for (const fs::path& out : {model, dir_ / "link.tqm", dir_ / "hard.tqm", calib}) {
    SCOPED_TRACE(out.string());
    Result r = run_argv({"quantize", model.string(), "--calib", calib.string(), "-o", out.string()});
    expect_bad_input(r, out.string());
    EXPECT_EQ(slurp(model), bytes);
    EXPECT_EQ(slurp(calib), calib_bytes);
  }
  // --report the same file as -o.
  Result r = run_argv({"quantize", model.string(), "--calib", calib.string(), "-o", (dir_ / "m.tqm").string(),
                       "--report", (dir_ / "m.tqm").string()});
  expect_bad_input(r, "m.tqm");
  EXPECT_FALSE(fs::exists(dir_ / "m.tqm"));
  EXPECT_TRUE(stray_temporaries().empty());
}

TEST_F(FileSafety, RunRefusesToOverwriteAnInput) {
  fs::path in = write_npy("x.npy", {2, 1, 28, 28});
  const std::string bytes = slurp(in);
  Result r = run_argv({"run", (kModels / "mlp.onnx").string(), "-i", in.string(), "-o", in.string()});
  expect_bad_input(r, "x.npy");
  EXPECT_EQ(slurp(in), bytes);
  fs::path model = dir_ / "model.onnx";
  fs::copy_file(kModels / "mlp.onnx", model);
  const std::string model_bytes = slurp(model);
  r = run_argv({"run", model.string(), "-i", in.string(), "-o", model.string()});
  expect_bad_input(r, "model.onnx");
  EXPECT_EQ(slurp(model), model_bytes);
}

// Issue item 7: an output path through a regular file is bad input, not an internal error.
TEST_F(FileSafety, OutputThroughAFileIsBadInput) {
  fs::path tqm = quantized();
  write("afile", "not a folder\n");
  expect_bad_input(run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", (dir_ / "afile/fw").string()}),
                   "afile/fw");
  expect_bad_input(run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", (dir_ / "afile/a/b").string()}),
                   "afile/a/b");
  expect_bad_input(run_argv({"quantize", (kModels / "mlp.onnx").string(), "--calib", kTrain, "--calib-count", "20",
                             "-o", (dir_ / "afile/m.tqm").string()}),
                   "afile/m.tqm");
  EXPECT_EQ(slurp(dir_ / "afile"), "not a folder\n");
}

// Issue item 8: every output is checked before any is written: a bad --report leaves no
// .tqm, and no temporaries are left after a failure or a success.
TEST_F(FileSafety, QuantizeWithAReportIntoAFolderWritesNothing) {
  fs::create_directories(dir_ / "existing");
  Result r = run_argv({"quantize", (kModels / "mlp.onnx").string(), "--calib", kTrain, "--calib-count", "20", "-o",
                       (dir_ / "m.tqm").string(), "--report", (dir_ / "existing").string()});
  expect_bad_input(r, "existing");
  EXPECT_FALSE(fs::exists(dir_ / "m.tqm"));
  r = run_argv({"quantize", (kModels / "mlp.onnx").string(), "--calib", kTrain, "--calib-count", "20", "-o",
                (dir_ / "m.tqm").string(), "--report", (dir_ / "missing" / "r.html").string()});
  expect_bad_input(r, "missing");
  EXPECT_FALSE(fs::exists(dir_ / "m.tqm"));
  EXPECT_TRUE(fs::is_empty(dir_ / "existing"));
  EXPECT_TRUE(stray_temporaries().empty());
}

TEST_F(FileSafety, NoTemporariesAfterSuccess) {
  fs::path tqm = quantized();
  Result r = run_argv({"quantize", (kModels / "mlp.onnx").string(), "--calib", kTrain, "--calib-count", "20", "-o",
                       tqm.string(), "--report", (dir_ / "r.html").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  generated(tqm);
  generated(tqm);
  fs::path in = write_npy("x.npy", {2, 1, 28, 28});
  ASSERT_EQ(run_argv({"run", (kModels / "mlp.onnx").string(), "-i", in.string(), "-o", (dir_ / "y.npy").string()}).code,
            0);
  EXPECT_TRUE(stray_temporaries().empty()) << ::testing::PrintToString(stray_temporaries());
}

// The helper itself: permissions, failures that say why, nothing left behind.
TEST_F(FileSafety, AtomicFileKeepsAReplacedFilesPermissionsAndCleansUp) {
  fs::path target = write("out.bin", "old");
  fs::permissions(target, fs::perms(0600));
  write_file_atomically(target.string(), "new");
  EXPECT_EQ(slurp(target), "new");
  EXPECT_EQ(fs::status(target).permissions() & fs::perms::all, fs::perms(0600));
  {
    AtomicFile abandoned((dir_ / "never.bin").string());
    abandoned.write("partial");
  }  // no commit: the temporary goes, the target never appears
  EXPECT_FALSE(fs::exists(dir_ / "never.bin"));
  EXPECT_TRUE(stray_temporaries().empty());
  const std::string missing = (dir_ / "no" / "such" / "out.bin").string();
  try {
    write_file_atomically(missing, "x");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), missing);
    EXPECT_NE(std::string(e.what()).find(std::strerror(ENOENT)), std::string::npos) << e.what();
  }
  // Renaming onto a folder fails after the data was written: the temporary is removed.
  fs::create_directories(dir_ / "taken");
  EXPECT_THROW(write_file_atomically((dir_ / "taken").string(), "x"), Error);
  EXPECT_TRUE(fs::is_empty(dir_ / "taken"));
  EXPECT_TRUE(stray_temporaries().empty());
}

TEST_F(FileSafety, GeneratedFolderAndFilesHaveNormalPermissions) {
  fs::path out = generated(quantized());
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(fs::status(out).permissions() & fs::perms::all, fs::perms(0777 & ~mask));
  EXPECT_EQ(fs::status(out / "m.cpp").permissions() & fs::perms::all, fs::perms(0666 & ~mask));
}

// Issue item 11 (part): messages for the wrong kind of model argument, and generate's
// summary on stdout as docs/CLI.md says.
TEST_F(FileSafety, AFolderAsModelIsNamedAsAFolder) {
  fs::create_directories(dir_ / "models");
  Result r = run_argv({"inspect", (dir_ / "models").string()});
  expect_bad_input(r, "is a folder");
  EXPECT_EQ(r.err.find("2 GiB"), std::string::npos) << r.err;
  r = run_argv({"generate", (dir_ / "models").string(), "--target", "cortex-m4", "-o", (dir_ / "fw").string()});
  expect_bad_input(r, "is a folder");
  EXPECT_FALSE(fs::exists(dir_ / "fw"));
}

TEST_F(FileSafety, GenerateFromAnOnnxModelSaysToQuantizeFirst) {
  Result r =
      run_argv({"generate", (kModels / "mlp.onnx").string(), "--target", "cortex-m4", "-o", (dir_ / "fw").string()});
  expect_bad_input(r, "tinyq quantize");
  EXPECT_NE(r.err.find("mlp.onnx"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "fw"));
}

TEST_F(FileSafety, GenerateSummaryIsOnStdout) {
  fs::path tqm = quantized();
  Result r = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", (dir_ / "fw").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("arena planner"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

}  // namespace
}  // namespace tinyq::testing
