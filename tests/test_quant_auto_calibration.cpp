// `auto` calibration picks, per tensor, the method with the smallest error at the tensor's
// consumers' outputs (docs/QUANTIZATION.md), not the smallest error of the tensor itself; the pick is
// recorded per tensor, and it does not depend on the thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "quant/auto_calibration.hpp"
#include "quant/collect_statistics.hpp"
#include "quant/quantizer.hpp"
#include "test_passes_builder.hpp"

namespace tinyq {
namespace {

using pass_test::GraphBuilder;

constexpr std::int64_t kFeatures = 64;

CollectOptions two_threads() {
  CollectOptions o;
  o.threads = 2;
  return o;
}
constexpr std::int64_t kSamples = 400;

// x: standard normal noise on every feature and one outlier (20) on feature 0, which the
// consumer multiplies by 0 (a channel the next layer ignores). The tensor's own error says
// keep the outlier (clipping it costs 16^2 on that value); the consumer's output says clip
// it (it never reaches the output, and the finer grid helps every other value).
Tensor outlier_samples(unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  Tensor t(DType::f32, {kSamples, kFeatures});
  for (float& v : t.f32()) v = noise(rng);
  t.f32()[3 * kFeatures] = 20.0f;  // sample 3 (among those auto measures on), feature 0
  return t;
}

struct MaskedModel {
  Graph graph;
  ValueId x = kNoValue;
};

MaskedModel masked_model() {
  GraphBuilder b;
  MaskedModel m;
  m.x = b.input("x", {1, kFeatures});
  std::vector<float> mask(std::size_t(kFeatures), 1.0f);
  mask[0] = 0.0f;
  b.output(b.node("mask", Op::Mul, {m.x, b.constant("mask_values", {1, kFeatures}, mask)}));
  m.graph = b.g;
  return m;
}

float fake_quantize(float x, const QuantParam& p) {
  const float q = std::clamp(std::nearbyint(x / p.scale) + float(p.zero_point), -128.0f, 127.0f);
  return p.scale * (q - float(p.zero_point));
}

// The consumer's relative output error for one clip range, computed here from the
// definition (not with the executor) over the samples auto calibration measures on: the
// mask passes features 1.. unchanged and zeroes feature 0.
double masked_error(const Tensor& samples, ClipRange range, std::int64_t count) {
  const QuantParam p = affine_quant_param(range);
  double noise = 0, signal = 0;
  const auto v = samples.f32();
  for (std::int64_t s = 0; s < count; ++s)
    for (std::int64_t f = 1; f < kFeatures; ++f) {
      const double exact = v[std::size_t(s * kFeatures + f)], got = fake_quantize(float(exact), p);
      noise += (got - exact) * (got - exact);
      signal += exact * exact;
    }
  return noise / signal;
}

constexpr CalibrationMethod kMethods[] = {CalibrationMethod::minmax, CalibrationMethod::percentile,
                                          CalibrationMethod::kl, CalibrationMethod::mse};

TEST(QuantAutoCalibration, PicksByConsumerOutputErrorNotTheTensorsOwnError) {
  const MaskedModel m = masked_model();
  const Tensor samples = outlier_samples(1);
  const auto stats = collect_statistics(m.graph, samples, two_threads());
  const TensorHistogram& h = stats.at(m.x);

  // What each criterion prefers, computed independently.
  CalibrationMethod own_best = kMethods[0], consumer_best = kMethods[0];
  double own_min = INFINITY, consumer_min = INFINITY;
  const AutoCalibrationOptions options{.threads = 2, .max_samples = 256};
  std::string table;
  for (CalibrationMethod method : kMethods) {
    const ClipRange r = calibrate(h, method);
    const double own = quantization_mse(h, r), consumer = masked_error(samples, r, options.max_samples);
    table += std::string(calibration_method_name(method)) + " [" + std::to_string(r.lo) + ", " + std::to_string(r.hi) +
             "] own " + std::to_string(own) + " consumer " + std::to_string(consumer) + "\n";
    if (own < own_min) own_min = own, own_best = method;
    if (consumer < consumer_min) consumer_min = consumer, consumer_best = method;
  }
  // The case is constructed so that the two criteria disagree.
  ASSERT_NE(own_best, consumer_best) << table << "own " << calibration_method_name(own_best) << ", consumer "
                                     << calibration_method_name(consumer_best);

  const auto chosen = choose_auto_calibration(m.graph, stats, samples, options);
  const AutoChoice& c = chosen.at(m.x);
  EXPECT_EQ(c.method, consumer_best) << "picked " << calibration_method_name(c.method) << ", want "
                                     << calibration_method_name(consumer_best);
  EXPECT_NEAR(c.error, consumer_min, 1e-6 * consumer_min + 1e-12);
}

TEST(QuantAutoCalibration, RecordsTheChosenMethodPerTensor) {
  const MaskedModel m = masked_model();
  const Tensor samples = outlier_samples(2);
  QuantizeOptions options;
  options.preset = "best";
  options.threads = 2;
  const QGraph q = quantize(m.graph, samples, options);
  const auto stats = collect_statistics(m.graph, samples, two_threads());
  const auto chosen = choose_auto_calibration(m.graph, stats, samples, {.threads = 2});
  ASSERT_EQ(q.inputs.size(), 1u);
  // The graph input is quantized with the range its consumer-error choice gives, and the
  // summary (.tqm, reports, quantize --json) names that method, not "auto".
  const QValue& x = q.values[std::size_t(q.inputs[0])];
  EXPECT_EQ(x.calibration.method, calibration_method_name(chosen.at(m.x).method));
  const QuantParam want = affine_quant_param(chosen.at(m.x).range);
  EXPECT_EQ(x.quant.scale, want.scale);
  EXPECT_EQ(x.quant.zero_point, want.zero_point);
  // The mask's output is a model output: its own error decides, and it is named too.
  const QValue& y = q.values[std::size_t(q.outputs[0])];
  EXPECT_NE(y.calibration.method, "auto");
  EXPECT_FALSE(y.calibration.method.empty());
}

TEST(QuantAutoCalibration, DoesNotDependOnTheThreadCount) {
  GraphBuilder b(3);
  ValueId x = b.input("x", {1, 6, 6, 3}, Layout::NHWC);
  ValueId c1 = b.conv("c1", x, 8, 3, 3, pass_test::attrs({{"pads", pass_test::Ints{1, 1, 1, 1}}}));
  ValueId p =
      b.node("pool", Op::MaxPool, {c1},
             pass_test::attrs({{"kernel", pass_test::Ints{2, 2}}, {"strides", pass_test::Ints{2, 2}}}), Layout::NHWC);
  ValueId t = b.node("tanh", Op::Tanh, {p}, {}, Layout::NHWC);
  ValueId c2 = b.conv("c2", t, 4, 1, 1);
  b.output(b.node("add", Op::Add, {c2, b.conv("c3", p, 4, 1, 1)}, {}, Layout::NHWC));
  const auto inputs = pass_test::random_inputs(b.g, 5, 300);
  const auto stats = collect_statistics(b.g, inputs[0], two_threads());
  const auto one = choose_auto_calibration(b.g, stats, inputs[0], {.threads = 1});
  const auto two = choose_auto_calibration(b.g, stats, inputs[0], {.threads = 2});
  ASSERT_EQ(one.size(), two.size());
  for (const auto& [id, choice] : one) {
    SCOPED_TRACE(b.g.value(id).name);
    EXPECT_EQ(choice.method, two.at(id).method);
    EXPECT_EQ(choice.error, two.at(id).error);  // bit for bit: fixed summation order
  }
}

}  // namespace
}  // namespace tinyq
