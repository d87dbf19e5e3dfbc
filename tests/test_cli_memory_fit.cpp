// verify and bench refuse a model the board cannot hold before building anything: one line
// with what the model needs and what the emulated machine (or the user's --flash-limit /
// --ram-limit) has, instead of the linker's "region overflowed" (issue: a bare
// "ld returned 1 exit status").
#include <cmath>
#include <iterator>
#include <string>
#include <vector>

#include "cli_fixture.hpp"
#include "onnx_builder.hpp"

namespace {

using tinyq::testing::Cli;
using tinyq::testing::Result;
namespace fs = std::filesystem;

class CliMemoryFit : public Cli {
 protected:
  // One 1536x1536 dense layer: 2.36 MB of int8 weights, more than the 2 MB the Cortex-M55
  // machine (mps3-an547) has for constants, less than the M4 machine's 4 MB.
  fs::path big_dense_tqm() {
    constexpr std::int64_t n = 1536;
    tinyq::testing::OnnxBuilder b;
    b.input("x", {1, n}).output("y");
    std::vector<float> w(std::size_t(n * n));
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * float(std::sin(double(i) * 0.37));
    b.initializer("w", {n, n}, w);
    b.initializer("b", {n}, std::vector<float>(std::size_t(n), 0.1f));
    b.node("Gemm", {"x", "w", "b"}, {"y"}, "big_dense");
    const fs::path onnx = write("big.onnx", b.bytes()), calib = write_npy("calib.npy", {4, n}, 0.7f);
    const fs::path tqm = dir_ / "big.tqm";
    const Result q =
        run("quantize --preset fast " + onnx.string() + " --calib " + calib.string() + " -o " + tqm.string());
    EXPECT_EQ(q.code, 0) << q.err;
    return tqm;
  }
  // Entries in `folder`: the refused commands get a private TMPDIR, because the shared one
  // sees other tests' build folders come and go while ctest runs in parallel.
  static std::size_t entries(const fs::path& folder) {
    return std::size_t(std::distance(fs::directory_iterator(folder), fs::directory_iterator{}));
  }
};

TEST_F(CliMemoryFit, VerifyAndBenchRefuseAModelTooLargeForTheEmulatedBoardBeforeBuilding) {
  const fs::path tqm = big_dense_tqm(), data = dir_ / "calib.npy", tmp = dir_ / "tmp";
  fs::create_directories(tmp);
  const std::vector<std::vector<std::string>> commands = {
      {"verify", tqm.string(), "--target", "cortex-m55", "--count", "1", "--data", data.string()},
      {"bench", tqm.string(), "--target", "cortex-m55"}};
  for (const auto& command : commands) {
    const Result r = run_argv(command, {}, {"TMPDIR=" + tmp.string()});
    expect_bad_input(r, "does not fit the emulated board");
    for (const char* part : {"mps3-an547", "weights and constants need", "--flash-limit"})
      EXPECT_NE(r.err.find(part), std::string::npos) << command[0] << ": " << r.err;
    EXPECT_EQ(r.err.find("ld returned"), std::string::npos) << r.err;
  }
  EXPECT_EQ(entries(tmp), 0u) << "a refused model must leave no build folder";
}

TEST_F(CliMemoryFit, VerifyAndBenchTakeTheUsersBoardLimits) {
  const fs::path tqm = big_dense_tqm(), data = dir_ / "calib.npy";
  const Result flash =
      run("verify " + tqm.string() + " --target cortex-m4 --count 1 --flash-limit 1000000 --data " + data.string());
  EXPECT_EQ(flash.code, 1) << flash.err;
  EXPECT_EQ(flash.error_lines(), 1) << flash.err;
  EXPECT_NE(flash.err.find("exceeds --flash-limit 1000000"), std::string::npos) << flash.err;
  const Result ram = run("bench " + tqm.string() + " --target cortex-m4 --ram-limit 100");
  EXPECT_EQ(ram.code, 1) << ram.err;
  EXPECT_NE(ram.err.find("exceeds --ram-limit 100"), std::string::npos) << ram.err;
  EXPECT_NE(ram.err.find("arena"), std::string::npos) << ram.err;
}

}  // namespace
