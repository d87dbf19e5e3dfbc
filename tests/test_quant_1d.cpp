// 1-D models at int8: the temporal conv net (dilated causal, strided, depthwise convs,
// BatchNorm, 1-D pooling) quantizes onto the 2-D conv and depthwise kernels and its int8
// outputs stay close to float.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "data/npy.hpp"
#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "quant/layer_error.hpp"
#include "quant/quantizer.hpp"
#include "small_cnn.hpp"

namespace tinyq {
namespace {

const std::filesystem::path kTcn = std::filesystem::path(TINYQ_SOURCE_DIR) / "models" / "oned" / "tcn.onnx";

Tensor signals(std::int64_t n, unsigned seed) {
  return Tensor::from_floats({n, 1, 64}, testing::random_values(std::size_t(n) * 64, seed, -2.0f, 2.0f));
}

class Quantize1d : public ::testing::TestWithParam<std::string> {};

TEST_P(Quantize1d, TemporalConvNetInt8TracksFloat) {
  if (!std::filesystem::exists(kTcn)) GTEST_SKIP() << kTcn << " absent";
  Graph g = import_onnx_file(kTcn.string());
  simplify(g);
  QuantizeOptions options;
  options.preset = GetParam();
  QGraph q = quantize(g, signals(128, 1), options);
  int convs = 0, depthwise = 0;
  for (const auto& n : q.nodes) {
    convs += n.kernel == QKernel::Conv;
    depthwise += n.kernel == QKernel::Depthwise;
  }
  EXPECT_EQ(convs, 3);
  EXPECT_EQ(depthwise, 1);  // groups = C runs on the depthwise kernel
  Tensor test = signals(32, 2);
  Tensor expected = FloatExecutor(g).run({test})[0];
  Tensor got = Int8Executor(q).run({test})[0];
  ASSERT_EQ(got.shape(), expected.shape());
  double signal = 0, noise = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double e = expected.f32()[std::size_t(i)], d = got.f32()[std::size_t(i)] - e;
    signal += e * e;
    noise += d * d;
  }
  const double sqnr = 10 * std::log10(signal / std::max(noise, 1e-30));
  EXPECT_GT(sqnr, GetParam() == "nnom" ? 15.0 : 30.0) << GetParam();
  for (auto& e : measure_layer_error(q, test)) EXPECT_GT(e.cosine, GetParam() == "nnom" ? 0.95 : 0.99) << e.name;
}

INSTANTIATE_TEST_SUITE_P(Presets, Quantize1d, ::testing::Values("best", "cmsis", "nnom"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tinyq
