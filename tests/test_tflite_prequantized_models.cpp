// The five MLPerf Tiny int8 models imported with their own quantization and run by the host
// int8 executor: every output byte of the 8 reference inputs must be TFLite Micro's (the
// reference kernels and CMSIS-NN agree on them). Skipped when TINYQ_MLPERF_TINY is not set.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <vector>

#include "data/npy.hpp"
#include "exec/int8_executor.hpp"
#include "frontend/tflite/tflite_model.hpp"
#include "frontend/tflite/tflite_prequantized.hpp"
#include "qmodel/qgraph_validation.hpp"
#include "qmodel/tqm_file.hpp"
#include "test_tflite_prequantized_mlperf.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using tinyq_test::MlperfModel;
using tinyq_test::MlperfPaths;

class PrequantizedMlperf : public ::testing::TestWithParam<MlperfModel> {};

TEST_P(PrequantizedMlperf, HostInt8ExecutorGivesTfliteMicrosBytes) {
  MlperfPaths paths;
  if (const std::string why = tinyq_test::mlperf_paths(GetParam(), paths); !why.empty()) GTEST_SKIP() << why;
  ASSERT_TRUE(is_tflite_file(paths.model.string()));
  ASSERT_TRUE(is_prequantized_tflite(tflite::read_tflite(paths.model.string())));
  const QGraph q = import_prequantized_tflite(paths.model.string());
  const Tensor input = read_npy(paths.input.string()), want = read_npy(paths.output.string());
  ASSERT_EQ(input.dtype(), DType::i8);
  ASSERT_EQ(want.dtype(), DType::i8);
  // Through a .tqm file and back, as `tinyq quantize` then `tinyq run` would.
  const std::vector<std::uint8_t> bytes = serialize_tqm(q);
  const QGraph loaded = deserialize_tqm(bytes.data(), bytes.size(), "memory");
  const std::vector<Tensor> got = Int8Executor(loaded, {.threads = 2}).run_int8({input});
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].numel(), want.numel());
  const auto g = got[0].data<std::int8_t>(), w = want.data<std::int8_t>();
  const std::int64_t per_sample = want.numel() / 8;
  int differing = 0;
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    if (g[std::size_t(i)] == w[std::size_t(i)]) continue;
    if (++differing <= 10)
      ADD_FAILURE() << GetParam().bench << " sample " << i / per_sample << " output " << i % per_sample << ": tinyq "
                    << int(g[std::size_t(i)]) << ", TFLite Micro " << int(w[std::size_t(i)]);
  }
  EXPECT_EQ(differing, 0) << "of " << want.numel() << " output bytes";

  // The same model with tinyq's single rounding in its MAC layers and adds: what TFLite's
  // arithmetic is worth on these inputs (printed; the MLPerf inputs decide how often a tie
  // or a rounding step reaches an output byte).
  QGraph single = loaded;
  for (QNode& n : single.nodes) {
    n.ints.erase("requant_rounding");
    if (n.kernel == QKernel::Add) n.ints["rounding"] = 0;
  }
  const std::vector<Tensor> other = Int8Executor(single, {.threads = 2}).run_int8({input});
  const auto o = other[0].data<std::int8_t>();
  int moved = 0;
  for (std::int64_t i = 0; i < want.numel(); ++i) moved += o[std::size_t(i)] != w[std::size_t(i)];
  std::printf("%s: with single rounding, %d of %lld output bytes differ from TFLite Micro's\n",
              GetParam().bench.c_str(), moved, static_cast<long long>(want.numel()));
}

// The .tqm validator knows TFLite's modes: a rounding outside {0, 1}, offsets on TFLite's
// average pool and a TFLite softmax table that does not start at exp(0) are refused.
TEST(PrequantizedValidation, TfliteModesAreChecked) {
  MlperfPaths paths;
  if (const std::string why = tinyq_test::mlperf_paths(tinyq_test::mlperf_int8_models()[0], paths); !why.empty())
    GTEST_SKIP() << why;
  const QGraph q = import_prequantized_tflite(paths.model.string());  // KWS: conv, depthwise, pool, dense, softmax
  auto refused = [&](const char* what, const std::function<void(QNode&)>& mutate, QKernel kernel) {
    QGraph bad = q;
    for (QNode& n : bad.nodes)
      if (n.kernel == kernel) {
        mutate(n);
        break;
      }
    EXPECT_THROW(validate_qgraph(bad, "test"), Error) << what;
  };
  validate_qgraph(q, "test");
  refused(
      "rounding 2", [](QNode& n) { n.ints["requant_rounding"] = 2; }, QKernel::Conv);
  refused(
      "rounding 2^32 + 1", [](QNode& n) { n.ints["requant_rounding"] = (std::int64_t{1} << 32) + 1; }, QKernel::Dense);
  refused(
      "offsets on TFLite's average pool", [](QNode& n) { n.ints["input_offset"] = 5; }, QKernel::AvgPool);
  refused(
      "TFLite softmax table", [](QNode& n) { n.i32["exp_table"][0] = 65536; }, QKernel::Softmax);
  refused(
      "TFLite softmax depth", [](QNode& n) { n.ints["depth"] = 512; }, QKernel::Softmax);
}

INSTANTIATE_TEST_SUITE_P(Mlperf, PrequantizedMlperf, ::testing::ValuesIn(tinyq_test::mlperf_int8_models()),
                         [](const auto& info) { return info.param.bench; });

}  // namespace
}  // namespace tinyq
