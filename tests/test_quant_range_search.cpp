// Whole-model range search (quant/range_search.hpp): given a model whose ranges are badly
// calibrated on purpose, the coordinate descent must find its way back (a lower output error
// on the data it fits, ranges moved the right way), and quantize keeps it off unless asked.
#include <gtest/gtest.h>

#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "qmodel/tqm_file.hpp"
#include "quant/collect_statistics.hpp"
#include "quant/quantizer.hpp"
#include "quant/range_search.hpp"
#include "small_cnn.hpp"

namespace tinyq {
namespace {

using testing::random_values;

Graph small_cnn_graph() {
  auto bytes = testing::small_cnn().bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "small_cnn.onnx");
  simplify(g);
  return g;
}

ValueId value_named(const Graph& g, const std::string& name) {
  for (std::size_t v = 0; v < g.values.size(); ++v)
    if (g.values[v].name == name) return ValueId(v);
  throw std::runtime_error("no value " + name);
}

TEST(RangeSearch, FindsItsWayBackFromARangeFourTimesTooWide) {
  const Graph g = small_cnn_graph();
  const InputSamples samples(Tensor::from_floats({64, 2, 8, 8}, random_values(64 * 128, 5, -1.0f, 1.0f)));
  const auto stats = collect_statistics(g, samples, {.threads = 1, .histograms = true, .progress = nullptr});
  QuantizeOptions o;
  o.preset = "cmsis";  // min-max ranges: the spoiled one below is the only bad range
  const QuantSettings settings = resolve_settings(o);
  const ValueId spoiled = value_named(g, "r1"), other = value_named(g, "x");
  auto build = [&](const RangeScales& scales) {
    RangeScales s = scales;
    s[spoiled] = (s.count(spoiled) ? s[spoiled] : 1.0) * 4.0;  // ReLU output range 4x too wide
    return quantize_with_statistics(g, stats, settings, s);
  };
  const RangeSearchResult r =
      search_ranges(g, {other, spoiled}, samples, build, {.threads = 1, .samples = 32, .passes = 4});
  ASSERT_TRUE(r.scales.count(spoiled)) << "the spoiled range was not moved";
  EXPECT_LT(r.scales.at(spoiled), 1.0) << "a range 4x too wide must be narrowed";
  EXPECT_GT(r.sqnr_after_db, r.sqnr_before_db + 1.0) << r.sqnr_before_db << " -> " << r.sqnr_after_db;
  EXPECT_GE(r.changed, 1);
}

TEST(RangeSearch, QuantizeRunsItOnlyWhenAskedAndReproducibly) {
  const Graph g = small_cnn_graph();
  const InputSamples samples(Tensor::from_floats({96, 2, 8, 8}, random_values(96 * 128, 6, -1.0f, 1.0f)));
  QuantizeOptions o;
  o.threads = 1;
  const QGraph plain = quantize(g, samples, o);
  EXPECT_FALSE(plain.settings.range_search);
  EXPECT_EQ(plain.settings.searched_ranges, 0);
  o.range_search = true;
  const QGraph a = quantize(g, samples, o), b = quantize(g, samples, o);
  EXPECT_TRUE(a.settings.range_search);
  EXPECT_EQ(serialize_tqm(a), serialize_tqm(b));
}

}  // namespace
}  // namespace tinyq
