// int16 activations (quant/widen.hpp) on a model int8 cannot hold: its output is the small
// difference of two large activations, which one int8 step of theirs cannot resolve (output
// SQNR about 9 dB). An int16 output of the first layer must bring it back, `auto` must find
// that layer by itself, and the result must survive a .tqm round trip and validation.
#include <gtest/gtest.h>

#include "cancellation_model.hpp"
#include "codegen/memory_layout.hpp"
#include "codegen/target.hpp"
#include "exec/int8_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "qmodel/qgraph_validation.hpp"
#include "qmodel/tqm_file.hpp"
#include "quant/layer_error.hpp"
#include "quant/quantizer.hpp"
#include "quant/widen.hpp"
#include "small_cnn.hpp"
#include "tinyq/kernels.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::random_values;

Graph imported(const std::string& bytes, const char* name) {
  Graph g = import_onnx_bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), name);
  simplify(g);
  return g;
}

Graph cancellation_model(bool pool = false, bool average = false) {
  return imported(testing::cancellation_model_bytes(pool, average), "cancel.onnx");
}

InputSamples samples(std::int64_t n, unsigned seed) {
  return InputSamples(Tensor::from_floats({n, 2, 4, 4}, random_values(std::size_t(n) * 32, seed, 0.0f, 1.0f)));
}

QuantizeOptions options(const char* int16) {
  QuantizeOptions o;
  o.threads = 1;
  o.int16 = int16;
  return o;
}

int bits_of(const QGraph& q, const std::string& node) {
  for (const QNode& n : q.nodes)
    if (n.name == node) return q.values[std::size_t(n.output)].quant.bits;
  return -1;
}

// A cancellation model int8 cannot hold (below 15 dB), quantized with `auto`: the nodes named
// int16 are, nothing is copied back to int8, and at least 15 dB come back. Returns the model.
QGraph expect_auto_fixes(const Graph& g, std::initializer_list<const char*> int16_nodes) {
  const InputSamples calib = samples(300, 1), check = samples(200, 2);
  const double int8_sqnr = output_sqnr_db(quantize(g, calib, options("off")), check, 1);
  QGraph q = quantize(g, calib, options("auto"));
  for (const char* node : int16_nodes) EXPECT_EQ(bits_of(q, node), 16) << node;
  for (const QNode& n : q.nodes) EXPECT_NE(n.kernel, QKernel::Requantize) << n.name;
  const double sqnr = output_sqnr_db(q, check, 1);
  EXPECT_LT(int8_sqnr, 15.0);
  EXPECT_GT(sqnr, int8_sqnr + 15.0) << int8_sqnr << " dB -> " << sqnr << " dB";
  EXPECT_NO_THROW(validate_qgraph(q, "test"));
  return q;
}

// `q` with `change` made to its nodes of `kernel` no longer validates.
template <typename Change>
void expect_refused(const QGraph& q, QKernel kernel, const char* what, Change change) {
  QGraph bad = q;
  for (QNode& n : bad.nodes)
    if (n.kernel == kernel) change(n);
  EXPECT_THROW(validate_qgraph(bad, "test"), Error) << what;
}

TEST(Int16, Int8CannotHoldTheModelAndAutoFindsTheLayerThatFixesIt) {
  const Graph g = cancellation_model();
  const InputSamples calib = samples(300, 1), check = samples(200, 2);
  const QGraph int8 = quantize(g, calib, options("off"));
  const double int8_sqnr = output_sqnr_db(int8, check, 1);
  EXPECT_LT(int8_sqnr, 15.0) << "the model must be one int8 cannot hold";
  EXPECT_EQ(bits_of(int8, "wide"), 8);

  const QGraph automatic = quantize(g, calib, options("auto"));
  EXPECT_TRUE(automatic.settings.int16_searched);
  EXPECT_EQ(bits_of(automatic, "wide"), 16);
  EXPECT_EQ(bits_of(automatic, "difference"), 8);  // a model output stays int8
  const double wide_sqnr = output_sqnr_db(automatic, check, 1);
  EXPECT_GT(wide_sqnr, int8_sqnr + 15.0) << int8_sqnr << " dB -> " << wide_sqnr << " dB";
  EXPECT_GT(automatic.settings.int16_sqnr_after_db, automatic.settings.int16_sqnr_before_db + 10.0);

  // `best` asks for auto by itself; naming the layer gives the same model.
  QuantizeOptions preset;
  preset.threads = 1;
  EXPECT_EQ(serialize_tqm(quantize(g, calib, preset)), serialize_tqm(automatic));
  EXPECT_EQ(bits_of(quantize(g, calib, options("wide")), "wide"), 16);
}

// A max pooling between the layers carries the int16 tensor on (max_pool2d_s16).
TEST(Int16, MaxPoolingCarriesTheInt16TensorOn) {
  const Graph g = cancellation_model(true);
  const InputSamples calib = samples(300, 1), check = samples(200, 2);
  const double int8_sqnr = output_sqnr_db(quantize(g, calib, options("off")), check, 1);
  const QGraph q = quantize(g, calib, options("auto"));
  EXPECT_EQ(bits_of(q, "wide"), 16);
  EXPECT_EQ(bits_of(q, "pool"), 16);
  for (const QNode& n : q.nodes) EXPECT_NE(n.kernel, QKernel::Requantize) << n.name;
  const double sqnr = output_sqnr_db(q, check, 1);
  EXPECT_LT(int8_sqnr, 15.0);
  EXPECT_GT(sqnr, int8_sqnr + 15.0) << int8_sqnr << " dB -> " << sqnr << " dB";
}

// An average pooling between the layers carries it on too (avg_pool2d_s16), into an int16
// format of its own; the .tqm validator refuses what that kernel does not do.
TEST(Int16, AveragePoolingCarriesTheInt16TensorOn) {
  const QGraph q = expect_auto_fixes(cancellation_model(true, true), {"wide", "pool"});
  // The same model again from its .tqm.
  const InputSamples check = samples(200, 2);
  const std::vector<std::uint8_t> bytes = serialize_tqm(q);
  const QGraph back = deserialize_tqm(bytes.data(), bytes.size(), "m.tqm");
  EXPECT_EQ(output_sqnr_db(back, check, 1), output_sqnr_db(q, check, 1));
  expect_refused(q, QKernel::AvgPool, "an offset", [](QNode& n) { n.ints["input_offset"] = 3; });
  expect_refused(q, QKernel::AvgPool, "TFLite's rounding", [](QNode& n) { n.ints["rounding"] = rt::kRoundTflite; });
  expect_refused(q, QKernel::AvgPool, "truncation", [](QNode& n) { n.ints["truncate"] = 1; });
}

// A multiplication by a gate (squeeze-excitation's form) reads the int16 tensor (mul_wide) and,
// since the next layer is a 16x8 one, writes int16 too. With the wide layer alone int16, the
// gate stays int8: an int16 and an int8 operand.
TEST(Int16, MultiplicationByAGateCarriesTheInt16TensorOn) {
  const Graph g = imported(testing::gated_cancellation_model_bytes(), "gated.onnx");
  expect_auto_fixes(g, {"wide", "gate"});
  const InputSamples calib = samples(300, 1), check = samples(200, 2);
  const QGraph q = quantize(g, calib, options("wide"));
  EXPECT_EQ(bits_of(q, "gate"), 16);
  EXPECT_EQ(bits_of(q, "excite"), 8);
  EXPECT_GT(output_sqnr_db(q, check, 1), output_sqnr_db(quantize(g, calib, options("off")), check, 1) + 15.0);
  expect_refused(q, QKernel::Mul, "TFLite's rounding", [](QNode& n) { n.ints["rounding"] = rt::kRoundTflite; });
}

// A residual add reads the int16 tensor (add_wide, 15 bits of headroom) and writes int16 for
// the next layer; its int8 operand stays int8.
TEST(Int16, ResidualAddsCarryTheInt16TensorOn) {
  const QGraph q =
      expect_auto_fixes(imported(testing::residual_cancellation_model_bytes(), "residual.onnx"), {"wide", "sum"});
  // An int16 operand shifted by 20 bits would overflow int32.
  expect_refused(q, QKernel::Add, "a 20-bit headroom", [](QNode& n) { n.ints["left_shift"] = 20; });
}

// A table lookup (a smooth unary op) reads the int16 tensor and writes int16 through the
// interpolated table (lookup_s16), rebuilt from the float op.
TEST(Int16, LookupTablesCarryTheInt16TensorOn) {
  const QGraph q = expect_auto_fixes(imported(testing::tanh_cancellation_model_bytes(), "tanh.onnx"), {"wide", "tanh"});
  // The table against tanh itself over every int16 input: within one and a half output steps
  // (rounding of the breakpoints and of the interpolation, and the curve between them).
  for (const QNode& n : q.nodes) {
    if (n.kernel != QKernel::Lookup) continue;
    const std::vector<std::int32_t>& words = n.words("table16");
    const std::vector<std::int16_t> table(words.begin(), words.end());
    const float s_in = q.values[std::size_t(n.inputs[0])].quant.scale,
                s_out = q.values[std::size_t(n.output)].quant.scale;
    std::vector<std::int16_t> in(65536), out(65536);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = std::int16_t(std::int32_t(i) - 32768);
    rt::lookup_s16(table.data(), in.data(), out.data(), std::int32_t(in.size()));
    double worst = 0;
    for (std::size_t i = 0; i < in.size(); ++i)
      worst = std::max(worst, std::fabs(out[i] - std::tanh(double(in[i]) * s_in) / s_out));
    EXPECT_LT(worst, 1.5) << "output steps";
  }
  expect_refused(q, QKernel::Lookup, "a short table", [](QNode& n) { n.i32["table16"].pop_back(); });
}

// The cancellation two layers later: [x0 + x1/127, x0] passes through an identity conv before
// the difference, so neither int16 output helps alone (the other layer's int8 rounding still
// loses the signal). auto must find the pair.
TEST(Int16, AutoFindsLayersThatOnlyHelpTogether) {
  testing::OnnxBuilder b = testing::cancellation_frame();
  testing::conv1x1(b, "x", "c1", "first", testing::kWideWeights);
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  testing::conv1x1(b, "r1", "c2", "second", {1.0f, 0.0f, 0.0f, 1.0f});
  b.node("Relu", {"c2"}, {"r2"}, "relu2");
  testing::conv1x1(b, "r2", "y", "difference", testing::kDifference);
  const Graph g = imported(b.bytes(), "pair.onnx");
  const InputSamples calib = samples(300, 1), check = samples(200, 2);
  const double int8_sqnr = output_sqnr_db(quantize(g, calib, options("off")), check, 1);
  for (const char* one : {"first", "second"})
    EXPECT_LT(output_sqnr_db(quantize(g, calib, options(one)), check, 1), int8_sqnr + 3.0) << one << " alone";
  const QGraph q = quantize(g, calib, options("auto"));
  EXPECT_EQ(bits_of(q, "first"), 16);
  EXPECT_EQ(bits_of(q, "second"), 16);
  const double sqnr = output_sqnr_db(q, check, 1);
  EXPECT_GT(sqnr, int8_sqnr + 15.0) << int8_sqnr << " dB -> " << sqnr << " dB";
}

// A concat reads the int16 tensor (concat_wide) and writes int16 for the next layer; its other
// branch, int8 in a format of its own, is requantized into it.
TEST(Int16, ConcatsCarryTheInt16TensorOn) {
  const QGraph q =
      expect_auto_fixes(imported(testing::concat_cancellation_model_bytes(), "concat.onnx"), {"wide", "cat"});
  const QNode& cat = *std::find_if(q.nodes.begin(), q.nodes.end(), [](const QNode& n) { return n.name == "cat"; });
  EXPECT_TRUE(q.values[std::size_t(cat.output)].channel_scales.empty());
  // The copy branch (int8, zero point about -64) arrives right too: the difference ignores it,
  // the concat's own error does not.
  EXPECT_EQ(bits_of(q, "copy"), 8);
  for (const LayerError& e : measure_layer_error(q, samples(200, 2), 1)) {
    if (e.name == "cat") {
      EXPECT_GT(e.sqnr_db, 40.0);
    }
  }
  expect_refused(q, QKernel::Concat, "a copy across widths", [](QNode& n) {
    for (std::int32_t& m : n.i32["multiplier"]) m = 0;
  });
}

// Twelve independent cancellations summed (tests/cancellation_model.hpp): each branch's int16
// output alone removes a twelfth of the noise, below the 0.5 dB a single layer must bring, so
// only a search over the whole set finds them.
constexpr int kBranches = 12;

Graph spread_model() { return imported(testing::spread_cancellation_model_bytes(kBranches), "spread.onnx"); }

InputSamples spread_samples(std::int64_t n, unsigned seed) {
  return InputSamples(Tensor::from_floats({n, 2 * kBranches, 4, 4},
                                          random_values(std::size_t(n * 2 * kBranches * 16), seed, 0.0f, 1.0f)));
}

std::int64_t arena_of(const QGraph& q) {
  return std::int64_t(plan_memory(q, target_by_name("portable")).arena_bytes());
}

int int16_count(const QGraph& q) {
  int count = 0;
  for (const QNode& n : q.nodes) count += q.values[std::size_t(n.output)].quant.bits == 16;
  return count;
}

TEST(Int16, AutoFindsDamageSpreadOverManyLayers) {
  const Graph g = spread_model();
  const InputSamples calib = spread_samples(300, 1), check = spread_samples(200, 2);
  const QGraph int8 = quantize(g, calib, options("off"));
  const double int8_sqnr = output_sqnr_db(int8, check, 1);
  EXPECT_LT(int8_sqnr, 15.0);
  EXPECT_LT(output_sqnr_db(quantize(g, calib, options("wide3")), check, 1), int8_sqnr + 0.5) << "one branch alone";
  const QGraph q = quantize(g, calib, options("auto"));
  for (int i = 0; i < kBranches; ++i) EXPECT_EQ(bits_of(q, "wide" + std::to_string(i)), 16) << i;
  const double sqnr = output_sqnr_db(q, check, 1);
  EXPECT_GT(sqnr, int8_sqnr + 15.0) << int8_sqnr << " dB -> " << sqnr << " dB";
  EXPECT_EQ(q.settings.int16_arena_before, arena_of(int8));
  EXPECT_LE(arena_of(q), q.settings.int16_arena_after) << "generate searches the orders again";
}

// The budget is the arena's growth, not the sum of the int16 tensors' sizes: the branches run
// one after another, so their twelve int16 outputs share bytes and all fit a budget of two
// tensors' second bytes. A budget below what any layer costs leaves the model int8.
TEST(Int16, AutoBudgetsTheArenasLivePeak) {
  const Graph g = spread_model();
  const InputSamples calib = spread_samples(300, 1);
  const std::int64_t int8_arena = arena_of(quantize(g, calib, options("off")));
  QuantizeOptions roomy = options("auto");
  roomy.int16_ram = 2 * 2 * 16;  // two int16 [2, 4, 4] tensors' second bytes
  const QGraph q = quantize(g, calib, roomy);
  EXPECT_EQ(int16_count(q), kBranches);
  EXPECT_LE(arena_of(q) - int8_arena, roomy.int16_ram);
  EXPECT_GT(std::int64_t(kBranches) * 2 * 16, roomy.int16_ram) << "the sum of the second bytes is above the budget";

  QuantizeOptions tight = options("auto");
  tight.int16_ram = 1;
  const QGraph narrow = quantize(g, calib, tight);
  EXPECT_TRUE(narrow.settings.int16_searched);
  EXPECT_LE(arena_of(narrow) - int8_arena, tight.int16_ram);
  EXPECT_LT(int16_count(narrow), kBranches);
}

TEST(Int16, SurvivesATqmRoundTripWithTheSameOutputs) {
  const Graph g = cancellation_model();
  const InputSamples calib = samples(200, 3);
  const QGraph q = quantize(g, calib, options("wide"));
  const auto bytes = serialize_tqm(q);
  const QGraph loaded = deserialize_tqm(bytes.data(), bytes.size(), "int16.tqm");
  EXPECT_EQ(serialize_tqm(loaded), bytes);
  EXPECT_EQ(bits_of(loaded, "wide"), 16);
  const auto x = samples(8, 4);
  const auto ya = Int8Executor(q, {.threads = 1}).run(x.tensors());
  const auto yb = Int8Executor(loaded, {.threads = 1}).run(x.tensors());
  ASSERT_EQ(ya.size(), 1u);
  EXPECT_TRUE(std::equal(ya[0].f32().begin(), ya[0].f32().end(), yb[0].f32().begin()));
  // An int8-only model is still written as version 1, as before int16 existed.
  const auto int8_bytes = serialize_tqm(quantize(g, calib, options("off")));
  EXPECT_EQ(int8_bytes[8], kTqmVersionInt8Only);
  EXPECT_EQ(bytes[8], kTqmVersion);
}

TEST(Int16, NamesThatCannotBeInt16AreOneErrorEach) {
  const Graph g = cancellation_model();
  const InputSamples calib = samples(64, 5);
  auto message = [&](const char* names) -> std::string {
    try {
      quantize(g, calib, options(names));
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message("difference").find("model output"), std::string::npos) << message("difference");
  EXPECT_NE(message("nowhere").find("no node named 'nowhere'"), std::string::npos) << message("nowhere");
  EXPECT_NE(message("wide,").find("empty node name"), std::string::npos) << message("wide,");
}

// An int16 tensor read by a layer without a 16x8 kernel (tests/cancellation_model.hpp's PRelu
// beside the difference conv) gets an int8 copy through requantize_tensor; validation rejects
// int16 reaching such a layer.
TEST(Int16, OtherReadersGetAnInt8CopyAndValidationGuardsTheFormats) {
  const Graph g = imported(testing::prelu_side_model_bytes(), "prelu.onnx");
  const InputSamples calib = samples(300, 1);
  QGraph q = quantize(g, calib, options("wide"));
  int copies = 0;
  for (const QNode& n : q.nodes)
    if (n.kernel == QKernel::Requantize) {
      ++copies;
      EXPECT_EQ(q.values[std::size_t(n.inputs[0])].quant.bits, 16);
      EXPECT_EQ(q.values[std::size_t(n.output)].quant.bits, 8);
    }
  EXPECT_EQ(copies, 1);
  EXPECT_NO_THROW(validate_qgraph(q, "test"));
  const double int8_sqnr = output_sqnr_db(quantize(g, calib, options("off")), calib, 1);
  const double sqnr = output_sqnr_db(q, calib, 1);
  EXPECT_GT(sqnr, int8_sqnr + 5.0) << int8_sqnr << " dB -> " << sqnr << " dB";
  // Point the PRelu at the int16 tensor itself: inconsistent.
  for (QNode& n : q.nodes)
    if (n.kernel == QKernel::Requantize)
      for (QNode& reader : q.nodes)
        for (int& in : reader.inputs)
          if (in == n.output && reader.kernel != QKernel::Requantize) in = n.inputs[0];
  EXPECT_THROW(validate_qgraph(q, "test"), Error);
}

}  // namespace
}  // namespace tinyq
