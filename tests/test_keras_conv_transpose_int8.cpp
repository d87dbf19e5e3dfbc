// Keras Conv2DTranspose ('same' and 'valid', strides 1-3 and unequal, output_padding) imports
// as the IR's ConvTranspose, so tinyq's quantization runs it on conv_transpose2d_s8 and stays
// close to float. The four layers are those of make_h5.py's "spatial" case, which reads them
// straight from its input; the case's other outputs (a cropping, not int8 yet) are dropped.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"
#include "frontend/keras/keras_import.hpp"
#include "keras/keras_test_data.hpp"
#include "passes/passes.hpp"
#include "quant/quantizer.hpp"

namespace tinyq {
namespace {

Tensor uniform(Shape shape, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(std::size_t(element_count(shape)));
  for (auto& x : v) x = dist(rng);
  return Tensor::from_floats(std::move(shape), v);
}

TEST(KerasConvTransposeInt8, OwnQuantizationRunsTheInt8KernelAndTracksFloat) {
  std::string why;
  const auto dir = keras_testing::generated_cases(&why);
  if (dir.empty()) GTEST_SKIP() << why;
  Graph g = import_keras_file((dir / "spatial.h5").string());
  ASSERT_EQ(g.outputs.size(), 7u);
  g.outputs = {g.outputs[1], g.outputs[2], g.outputs[3], g.outputs[4]};  // the four Conv2DTranspose
  simplify(g);                                                           // drops what no output reads
  for (ValueId o : g.outputs) {
    const int p = g.producer(o);
    ASSERT_GE(p, 0);
    ASSERT_EQ(g.nodes[std::size_t(p)].op, Op::ConvTranspose);
  }
  QuantizeOptions options;
  options.threads = 1;
  const QGraph q = quantize(g, uniform({64, 5, 6, 3}, 1), options);
  int transposed = 0;
  for (const auto& n : q.nodes) transposed += n.kernel == QKernel::ConvTranspose;
  EXPECT_EQ(transposed, 4);
  const Tensor test = uniform({16, 5, 6, 3}, 2);
  const std::vector<Tensor> want = FloatExecutor(g).run({test}), got = Int8Executor(q).run({test});
  ASSERT_EQ(got.size(), 4u);
  for (std::size_t j = 0; j < got.size(); ++j) {
    double signal = 0, noise = 0;
    for (std::int64_t i = 0; i < got[j].numel(); ++i) {
      const double e = want[j].f32()[std::size_t(i)], d = got[j].f32()[std::size_t(i)] - e;
      signal += e * e;
      noise += d * d;
    }
    // Output 3 (kernel 1, stride 3) is bias alone on 8 of 9 pixels: a small signal whose
    // rounding to the output scale costs a few dB more than elsewhere.
    const double sqnr = 10 * std::log10(signal / std::max(noise, 1e-30));
    std::printf("Conv2DTranspose output %zu: int8 SQNR %.1f dB\n", j, sqnr);
    EXPECT_GT(sqnr, j == 3 ? 25.0 : 30.0) << "output " << j;
  }
}

}  // namespace
}  // namespace tinyq
