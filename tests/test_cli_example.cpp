// examples/cortex-m4-classifier built exactly as its README says, with a generated model,
// and run on the emulated Cortex-M4: the user's path from .tqm to a firmware.
#include "cli_fixture.hpp"

namespace tinyq::testing {
namespace {

TEST_F(Cli, ExampleFirmwareBuildsWithTheToolchainFileAndClassifiesATestImage) {
  const fs::path source = fs::path(TINYQ_SOURCE_DIR), tqm = dir_ / "dwsep.tqm", model = dir_ / "model";
  ASSERT_EQ(
      run("quantize " + (kModels / "dwsep.onnx").string() +
          " --calib /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz --calib-count 100 -o " + tqm.string())
          .code,
      0);
  ASSERT_EQ(run("generate " + tqm.string() + " --target cortex-m4 -o " + model.string() + " --name classifier").code,
            0);
  const std::string build = (dir_ / "fw").string();
  const std::string configure = "cmake -S " + (source / "examples" / "cortex-m4-classifier").string() + " -B " + build +
                                " -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE=" +
                                (source / "targets" / "cortex-m" / "toolchain-cortex-m4.cmake").string() +
                                " -DTINYQ_MODEL_DIR=" + model.string() + " > " + (dir_ / "build.log").string() +
                                " 2>&1";
  ASSERT_EQ(std::system(configure.c_str()), 0) << slurp(dir_ / "build.log");
  ASSERT_EQ(std::system(("cmake --build " + build + " -j2 >> " + (dir_ / "build.log").string() + " 2>&1").c_str()), 0)
      << slurp(dir_ / "build.log");
  // The first test image (an ankle boot) as the firmware's input file.
  ASSERT_EQ(
      std::system(("gzip -dc " + kImages + " | tail -c +17 | head -c 784 > " + (dir_ / "image.bin").string()).c_str()),
      0);
  const std::string qemu = "cd " + dir_.string() + " && " + (source / "targets/cortex-m/run-qemu.sh").string() +
                           " cortex-m4 fw/classifier.elf --timeout 60 > run.log 2>&1";
  EXPECT_EQ(std::system(qemu.c_str()), 0) << slurp(dir_ / "run.log");
  const std::string out = slurp(dir_ / "run.log");
  EXPECT_NE(out.find("input: image.bin"), std::string::npos) << out;
  EXPECT_NE(out.find("1. Ankle boot"), std::string::npos) << out;
}

}  // namespace
}  // namespace tinyq::testing
