// A pre-quantized int8 .tflite chaining the operators of issue 11 (LOGISTIC, TANH, MUL, SUB,
// HARD_SWISH, LEAKY_RELU, RELU6, RESIZE_NEAREST_NEIGHBOR, STRIDED_SLICE, SPLIT, int8
// QUANTIZE, MEAN, RELU, TRANSPOSE_CONV) through generate and verify on cortex-m4 and cortex-m55
// (QEMU): the firmware's bytes equal the host int8 executor's, which the other tflite tests
// prove equal to TFLite Micro's reference arithmetic operator by operator.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "cli_fixture.hpp"
#include "data/npy.hpp"
#include "test_tflite_prequantized_chain.hpp"

namespace tinyq {
namespace {

using tinyq_tflite_test::chain_model;
using PrequantizedOpsMcuCli = tinyq::testing::Cli;
using tinyq::testing::Result;
namespace fs = std::filesystem;

TEST_F(PrequantizedOpsMcuCli, GeneratedCodeGivesTheHostExecutorsBytesForEveryNewOperator) {
  const fs::path model = write("chain_int8.tflite", chain_model()), data = dir_ / "x.npy", out = dir_ / "fw";
  Tensor x(DType::i8, {8, 6, 6, 4});
  std::mt19937 rng(31);
  for (auto& v : x.data<std::int8_t>()) v = std::int8_t(std::uniform_int_distribution<int>(-128, 127)(rng));
  tinyq::write_npy(data.string(), x);

  const Result g =
      run_argv({"generate", model.string(), "--target", "cortex-m4", "-o", out.string(), "--name", "chain"});
  ASSERT_EQ(g.code, 0) << g.err;
  const std::string source = slurp(out / "chain.cpp");
  for (const char* kernel : {"lookup_s8", "mul_s8", "add_s8", "avg_pool2d_s8", "resize_nearest_s8", "strided_copy_s8",
                             "conv_transpose2d_s8"})
    EXPECT_NE(source.find(kernel), std::string::npos) << kernel;

  // The DSP build (M4) and the Helium one (M55): TFLite's MUL and SUB must leave their
  // native paths for the portable code on both.
  for (const char* target : {"cortex-m4", "cortex-m55"}) {
    const Result v =
        run_argv({"verify", model.string(), "--target", target, "--data", data.string(), "--count", "8", "--json"});
    ASSERT_EQ(v.code, 0) << target << ": " << v.err;
    const auto j = nlohmann::json::parse(v.out);
    EXPECT_EQ(j["count"], 8) << target;
    EXPECT_EQ(j["mismatches"], 0) << target;
  }
}

}  // namespace
}  // namespace tinyq
