// `inspect` says before any calibration which nodes `quantize` would stop at.
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"
#include "onnx_builder.hpp"

namespace {

using tinyq::testing::Cli;
using tinyq::testing::Result;

class CliInspectInt8 : public Cli {};

TEST_F(CliInspectInt8, NamesTheNodesWithoutAnInt8KernelAndTheQuantizerAgrees) {
  tinyq::testing::OnnxBuilder b;
  b.input("x", {1, 2, 4, 4}).output("y");
  b.node("Relu", {"x"}, {"r"}, "relu");
  auto& pool = b.node("MaxPool", {"r"}, {"y"}, "the_pool");
  tinyq::testing::OnnxBuilder::set_ints(pool, "kernel_shape", {2, 2});
  tinyq::testing::OnnxBuilder::set_ints(pool, "dilations", {2, 2});
  const auto model = write("pool.onnx", b.bytes());

  const Result text = run("inspect " + model.string());
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("int8: node 'the_pool' cannot be quantized: no int8 kernel for dilated max pooling"),
            std::string::npos)
      << text.out;

  const Result json = run("inspect --json " + model.string());
  ASSERT_EQ(json.code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_FALSE(j["int8_ready"].get<bool>());
  ASSERT_EQ(j["int8_unsupported"].size(), 1u);
  EXPECT_EQ(j["int8_unsupported"][0]["name"], "the_pool");
  for (const auto& layer : j["layers"]) EXPECT_EQ(layer["int8"].get<bool>(), layer["name"] != "the_pool");

  // And quantize indeed stops there.
  const auto calib = write_npy("calib.npy", {2, 2, 4, 4});
  expect_bad_input(
      run("quantize " + model.string() + " --calib " + calib.string() + " -o " + (dir_ / "m.tqm").string()),
      "the_pool");
}

}  // namespace
