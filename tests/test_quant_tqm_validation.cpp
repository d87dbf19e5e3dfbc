// A .tqm file with a valid checksum but inconsistent contents (crafted, or written by a
// buggy tool) is rejected on load with one error naming the node, before any kernel or
// code generator indexes an array with the wrong length.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>

#include "codegen/generated_sources.hpp"
#include "codegen/target.hpp"
#include "data/npy.hpp"
#include "exec/int8_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "qmodel/qgraph_validation.hpp"
#include "qmodel/tqm_file.hpp"
#include "quant/quantizer.hpp"
#include "small_cnn.hpp"
#include "tinyq/kernels.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

class TqmValidation : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bytes = testing::small_cnn().bytes();
    Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "test.onnx");
    simplify(g);
    q_ = quantize(g, Tensor::from_floats({32, 2, 8, 8}, testing::random_values(32 * 128, 5, 0.0f, 1.0f)), {});
  }
  QNode& first(QKernel k) {
    for (auto& n : q_.nodes)
      if (n.kernel == k) return n;
    throw std::runtime_error("no such node");
  }
  // Serializes (valid checksum) and loads: the error message, or "" if it loaded.
  std::string load_error() {
    auto bytes = serialize_tqm(q_);
    try {
      deserialize_tqm(bytes.data(), bytes.size(), "crafted.tqm");
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  }
  QGraph q_;
};

TEST_F(TqmValidation, TheQuantizersOwnOutputPasses) {
  EXPECT_NO_THROW(validate_qgraph(q_, "model.tqm"));
  EXPECT_EQ(load_error(), "");
}

TEST_F(TqmValidation, ShortWeightsAreRejectedNamingTheNode) {
  QNode& conv = first(QKernel::Conv);
  conv.i8["weights"].pop_back();
  const std::string e = load_error();
  EXPECT_NE(e.find("crafted.tqm"), std::string::npos) << e;
  EXPECT_NE(e.find(conv.name), std::string::npos) << e;
  EXPECT_NE(e.find("weights"), std::string::npos) << e;
}

TEST_F(TqmValidation, ParametersThatDisagreeWithTheTensorSizesAreRejected) {
  first(QKernel::Conv).ints["out_h"] += 1;
  EXPECT_NE(load_error().find("output size"), std::string::npos);
}

TEST_F(TqmValidation, OutOfRangeShiftIsRejected) {
  first(QKernel::Dense).i32["requant_shift"][0] = 40;
  EXPECT_NE(load_error().find("shift"), std::string::npos);
}

TEST_F(TqmValidation, WeightsThatCouldOverflowTheAccumulatorAreRejected) {
  QNode& dense = first(QKernel::Dense);
  dense.i32["bias"][0] = 2147483000;
  EXPECT_NE(load_error().find("overflow"), std::string::npos);
}

TEST_F(TqmValidation, ANodeReadingAValueBeforeItIsComputedIsRejected) {
  std::swap(q_.nodes.front(), q_.nodes.back());
  EXPECT_NE(load_error().find("before it is computed"), std::string::npos);
}

TEST_F(TqmValidation, MissingParameterIsRejected) {
  first(QKernel::Conv).ints.erase("stride_h");
  EXPECT_NE(load_error().find("stride_h"), std::string::npos);
}

// The kernels the small CNN lacks: Mul by a constant, PReLU, Pad, Resize. Input and
// output 4-D: [N, 4, 4, 4] -> [N, 4, 12, 12].
QGraph movement_model() {
  testing::OnnxBuilder b(13);
  b.input("x", {-1, 4, 4, 4}).output("y");
  b.initializer("k", {1, 4, 1, 1}, {0.5f, -1.5f, 2.0f, 0.25f});
  b.node("Mul", {"x", "k"}, {"m"}, "mul");
  b.initializer("slope", {4, 1, 1}, {0.1f, 0.2f, -0.3f, 0.05f});
  b.node("PRelu", {"m", "slope"}, {"pr"}, "prelu");
  b.int_initializer("pads", {0, 0, 1, 1, 0, 0, 1, 1});
  b.node("Pad", {"pr", "pads"}, {"pd"}, "pad");
  b.initializer("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
  auto& rs = b.node("Resize", {"pd", "", "scales"}, {"y"}, "resize");
  auto* mode = rs.add_attribute();
  mode->set_name("mode");
  mode->set_type(onnx::AttributeProto::STRING);
  mode->set_s("nearest");
  auto bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "movement.onnx");
  simplify(g);
  return quantize(g, Tensor::from_floats({16, 4, 4, 4}, testing::random_values(16 * 64, 9)), {});
}

// Slice (stepped backwards), Gather with an index table and a 5-D Transpose: strided copies.
QGraph strided_copy_model() {
  testing::OnnxBuilder b(13);
  b.input("x", {-1, 4, 6, 6}).output("y");
  b.int_initializer("starts", {-1});
  b.int_initializer("ends", {-100});
  b.int_initializer("axes", {2});
  b.int_initializer("steps", {-2});
  b.node("Slice", {"x", "starts", "ends", "axes", "steps"}, {"s"}, "slice");
  b.int_initializer("idx", {3, 0, 0, 2});
  auto& gather = b.node("Gather", {"s", "idx"}, {"g"}, "gather");
  testing::OnnxBuilder::set_int(gather, "axis", 1);
  b.int_initializer("shape5", {1, 2, 2, 3, 6});
  b.node("Reshape", {"g", "shape5"}, {"r"}, "reshape");
  auto& t = b.node("Transpose", {"r"}, {"y"}, "transpose");
  testing::OnnxBuilder::set_ints(t, "perm", {0, 2, 4, 1, 3});
  auto bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "strided.onnx");
  simplify(g);
  return quantize(g, Tensor::from_floats({16, 4, 6, 6}, testing::random_values(16 * 144, 10)), {});
}

// LayerNorm over the last axis of a [N, 24] input.
QGraph layer_norm_model() {
  testing::OnnxBuilder b(17);
  b.input("x", {-1, 24}).output("y");
  b.initializer("gamma", {24}, testing::random_values(24, 7, 0.5f, 1.5f));
  b.initializer("beta", {24}, testing::random_values(24, 8, -0.2f, 0.2f));
  b.node("LayerNormalization", {"x", "gamma", "beta"}, {"y"}, "layernorm");
  auto bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "layernorm.onnx");
  simplify(g);
  return quantize(g, Tensor::from_floats({16, 24}, testing::random_values(16 * 24, 10)), {});
}

std::uint64_t fnv1a(const std::uint8_t* data, std::size_t size) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

// One single-field corruption: a description and the file bytes (valid header and checksum).
struct Corruption {
  std::string what;
  std::vector<std::uint8_t> file;
  bool must_reject;  // the value is meaningless for this field
};

constexpr std::int64_t kHostileInts[] = {0, -1, std::int64_t(1) << 31, std::int64_t(1) << 62, -(std::int64_t(1) << 62)};
const float kInf = std::numeric_limits<float>::infinity();
const float kHostileFloats[] = {kInf, -kInf, std::numeric_limits<float>::quiet_NaN(), 1e30f, 1e-30f, 0.0f, -1.0f};

bool fits_int32(std::int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

// Fields stored as int32 in memory but int64 in the file (value zero points, node output and
// source_output): mark the field with a unique value, serialize, overwrite the 8 marked bytes
// with the hostile value and recompute the checksum.
std::vector<std::uint8_t> patch_marked(const QGraph& q, std::int64_t hostile) {
  constexpr std::int64_t kMarker = 0x1D2C3B4A;
  auto file = serialize_tqm(q);
  std::size_t hits = 0, at = 0;
  for (std::size_t i = 28; i + 8 <= file.size(); ++i)
    if (std::memcmp(file.data() + i, &kMarker, 8) == 0) ++hits, at = i;
  if (hits != 1) throw std::runtime_error("marker not unique");
  std::memcpy(file.data() + at, &hostile, 8);
  const std::uint64_t sum = fnv1a(file.data() + 28, file.size() - 28);
  std::memcpy(file.data() + 20, &sum, 8);
  return file;
}

std::vector<Corruption> corruptions(const QGraph& base) {
  std::vector<Corruption> out;
  auto add = [&](std::string what, bool must_reject, const std::function<void(QGraph&)>& edit) {
    QGraph q = base;
    edit(q);
    out.push_back({std::move(what), serialize_tqm(q), must_reject});
  };
  constexpr std::int32_t kMarker = 0x1D2C3B4A;
  for (std::size_t k = 0; k < base.nodes.size(); ++k) {
    const QNode& n = base.nodes[k];
    for (const auto& [key, original] : n.ints)
      for (std::int64_t v : kHostileInts) {
        if (v == original) continue;
        // Beyond int32 is meaningless for every field but epsilon_q (an int64 up to 2^61).
        const bool reject = key == "epsilon_q" ? (v < 0 || v > (std::int64_t(1) << 61)) : !fits_int32(v);
        add(fmt::format("{}.{}={}", n.name, key, v), reject, [&](QGraph& q) { q.nodes[k].ints[key] = v; });
      }
    for (const auto& [key, values] : n.i32)
      if (!values.empty())
        for (std::int32_t v : {0, -1, INT32_MAX, INT32_MIN})
          if (v != values[0])
            add(fmt::format("{}.{}[0]={}", n.name, key, v), false, [&](QGraph& q) { q.nodes[k].i32[key][0] = v; });
    for (std::int64_t v : kHostileInts) {
      const bool valid_output = v >= 0 && v < std::int64_t(base.values.size());
      QGraph q = base;
      q.nodes[k].output = kMarker;
      out.push_back({n.name + ".output=" + std::to_string(v), patch_marked(q, v), !valid_output});
      q = base;
      q.nodes[k].source_output = kMarker;
      out.push_back({n.name + ".source_output=" + std::to_string(v), patch_marked(q, v),
                     v < 0 || v >= std::int64_t(base.float_graph.values.size())});
    }
  }
  for (std::size_t i = 0; i < base.values.size(); ++i) {
    const std::string& name = base.values[i].name;
    for (float v : kHostileFloats) {
      add(name + ".scale=" + std::to_string(v), true, [&](QGraph& q) { q.values[i].quant.scale = v; });
      if (!std::isfinite(v)) {
        add(name + ".histogram_max=" + std::to_string(v), true,
            [&](QGraph& q) { q.values[i].calibration.histogram_max = v; });
        add(name + ".clip_lo=" + std::to_string(v), true, [&](QGraph& q) { q.values[i].calibration.clip_lo = v; });
      }
    }
    for (std::int64_t v : {std::int64_t(128), std::int64_t(-129), std::int64_t(1) << 32, std::int64_t(1) << 62,
                           -(std::int64_t(1) << 62)}) {
      QGraph q = base;
      q.values[i].quant.zero_point = kMarker;
      out.push_back({name + ".zero_point=" + std::to_string(v), patch_marked(q, v), true});
    }
  }
  return out;
}

// What an accepted file is used for: code generation and the int8 executor. Under
// scripts/sanitize.sh any out-of-bounds access or overflow there is reported.
void use(const QGraph& q) {
  generate_sources(q, target_by_name("cortex-m4"), "m");
  try {  // streaming code: refused (most models) or planned, never a crash
    generate_sources(q, target_by_name("cortex-m4"), "m", {.streaming = true});
  } catch (const Error&) {
  }
  try {  // patch-based first layers: likewise
    generate_sources(q, target_by_name("cortex-m4"), "m", {.patch = true});
  } catch (const Error&) {
  }
  std::vector<Tensor> inputs;
  for (int in : q.inputs) inputs.emplace_back(DType::i8, q.values[std::size_t(in)].source_shape());
  Int8Executor(q, {.threads = 1}).run_int8(inputs);
}

void corrupt_every_field(const QGraph& base, const char* model) {
  const auto all = corruptions(base);
  int loaded = 0;
  for (const Corruption& c : all) {
    try {
      const QGraph q = deserialize_tqm(c.file.data(), c.file.size(), "crafted.tqm");
      ++loaded;
      if (std::getenv("TINYQ_LIST_LOADED")) std::printf("  loads: %s\n", c.what.c_str());
      EXPECT_FALSE(c.must_reject) << c.what << " loaded";
      try {
        use(q);
      } catch (const Error&) {
        // A refusal is fine; a crash or sanitizer report is not.
      }
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("crafted.tqm"), std::string::npos) << e.what();
    }
  }
  std::printf("%s: %d of %zu single-field corruptions load\n", model, loaded, all.size());
  EXPECT_GT(all.size(), 50u);
}

TEST_F(TqmValidation, EverySingleFieldCorruptionIsRejectedOrHarmless) { corrupt_every_field(q_, "small_cnn"); }

TEST(TqmValidationOtherKernels, EverySingleFieldCorruptionIsRejectedOrHarmless) {
  const QGraph movement = movement_model(), layer_norm = layer_norm_model();
  auto has = [](const QGraph& q, QKernel k) {
    return std::any_of(q.nodes.begin(), q.nodes.end(), [&](const QNode& n) { return n.kernel == k; });
  };
  for (QKernel k : {QKernel::Mul, QKernel::Prelu, QKernel::Pad, QKernel::Resize})
    EXPECT_TRUE(has(movement, k)) << qkernel_name(k);
  EXPECT_TRUE(has(layer_norm, QKernel::LayerNorm));
  corrupt_every_field(movement, "mul_prelu_pad_resize");
  corrupt_every_field(layer_norm, "layer_norm");
  const QGraph strided = strided_copy_model();
  // Slice, Gather and one Transpose (the move to ONNX order the Reshape needs is folded into it).
  EXPECT_EQ(std::count_if(strided.nodes.begin(), strided.nodes.end(),
                          [](const QNode& n) { return n.kernel == QKernel::StridedCopy; }),
            3);
  corrupt_every_field(strided, "strided_copy");
}

// Recurrent layers. torch's exports (models/recurrent/): a bidirectional GRU
// (linear_before_reset) read at Y_h, a 2-layer bidirectional LSTM read at Y and Y_c, a tanh
// RNN into a Relu RNN. Built
// here for what torch does not write: an LSTM run in reverse with peepholes, initial states
// and a cell clip, read at Y_c, and a GRU with linear_before_reset=0 and an initial state, read
// at Y, both on a batch of 2.
const std::filesystem::path kRecurrentDir = std::filesystem::path(TINYQ_SOURCE_DIR) / "models" / "recurrent";

QGraph recurrent_file_model(const std::string& name) {
  Graph g = import_onnx_file((kRecurrentDir / (name + ".onnx")).string());
  simplify(g);
  return quantize(g, read_npy((kRecurrentDir / (name + ".input.npy")).string()), {});
}

QGraph built_recurrent_model(bool lstm) {
  constexpr int kSteps = 4, kBatch = 2, kInput = 3, kHidden = 3;
  const int rows = (lstm ? 4 : 3) * kHidden;
  testing::OnnxBuilder b(14);
  b.input("x", {kSteps, kBatch, kInput}).output("y");
  b.initializer("w", {1, rows, kInput}, testing::random_values(std::size_t(rows * kInput), 31));
  b.initializer("r", {1, rows, kHidden}, testing::random_values(std::size_t(rows * kHidden), 32));
  b.initializer("bias", {1, 2 * rows}, testing::random_values(std::size_t(2 * rows), 33, -0.5f, 0.5f));
  b.initializer("h0", {1, kBatch, kHidden}, testing::random_values(kBatch * kHidden, 34, -0.5f, 0.5f));
  onnx::NodeProto* n = nullptr;
  if (lstm) {
    b.initializer("c0", {1, kBatch, kHidden}, testing::random_values(kBatch * kHidden, 35, -2.0f, 2.0f));
    b.initializer("p", {1, 3 * kHidden}, testing::random_values(3 * kHidden, 36, -0.5f, 0.5f));
    n = &b.node("LSTM", {"x", "w", "r", "bias", "", "h0", "c0", "p"}, {"", "", "y"}, "lstm");
    auto* dir = n->add_attribute();
    dir->set_name("direction");
    dir->set_type(onnx::AttributeProto::STRING);
    dir->set_s("reverse");
  } else {
    n = &b.node("GRU", {"x", "w", "r", "bias", "", "h0"}, {"y"}, "gru");
  }
  testing::OnnxBuilder::set_int(*n, "hidden_size", kHidden);
  auto bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), lstm ? "lstm.onnx" : "gru.onnx");
  simplify(g);
  // A cell clip (TFLite's LSTMs carry one; ONNX's "clip" is refused by the importer).
  for (Node& node : g.nodes)
    if (node.op == Op::LSTM) node.attrs.set("cell_clip", 1.5f);
  return quantize(g, Tensor::from_floats({8 * kSteps, kBatch, kInput}, testing::random_values(8 * 24, 37)), {});
}

const QNode& first_recurrent(const QGraph& q) {
  for (const QNode& n : q.nodes)
    if (n.kernel == QKernel::Recurrent) return n;
  throw std::runtime_error("no recurrent node");
}

// Edits of one Recurrent node that the generic corruptions (one hostile value per scalar, the
// first element of each array) do not make: combinations of valid-looking fields, the last
// element of each array, and values just outside the state and gate ranges. Each must be refused.
void add_recurrent_corruptions(const QGraph& base, std::size_t k, std::vector<Corruption>& out) {
  const QNode& n = base.nodes[k];
  const bool lstm = n.get("cell") == rt::kCellLstm;
  auto add = [&](std::string what, const std::function<void(QNode&)>& edit) {
    QGraph q = base;
    edit(q.nodes[k]);
    out.push_back({n.name + ": " + what, serialize_tqm(q), true});
  };
  add("reverse with two directions", [](QNode& m) {
    m.ints["reverse"] = 1;
    m.ints["directions"] = 2;
  });
  add("directions flipped", [](QNode& m) { m.ints["directions"] = 3 - m.ints["directions"]; });
  add("reverse = 2", [](QNode& m) { m.ints["reverse"] = 2; });
  add("cell changed", [&](QNode& m) { m.ints["cell"] = lstm ? rt::kCellGru : rt::kCellLstm; });
  const bool rnn = n.get("cell") == rt::kCellRnn;
  if (!rnn) add("cell RNN", [](QNode& m) { m.ints["cell"] = rt::kCellRnn; });
  add("relu on a gated cell / relu 2", [&](QNode& m) { m.ints["relu"] = rnn ? 2 : 1; });
  add("cell 3", [](QNode& m) { m.ints["cell"] = 3; });
  add("linear_before_reset on LSTM / 2", [&](QNode& m) { m.ints["linear_before_reset"] = lstm ? 1 : 2; });
  add("output Y_c on a GRU / 3", [&](QNode& m) { m.ints["output"] = lstm ? 3 : rt::kRecurrentYc; });
  add("hidden + 1", [](QNode& m) { m.ints["hidden"] += 1; });
  add("hidden 513", [](QNode& m) { m.ints["hidden"] = 513; });
  add("steps + 1", [](QNode& m) { m.ints["steps"] += 1; });
  add("output_shift 17", [](QNode& m) { m.ints["output_shift"] = 17; });
  add("output_multiplier 2^30 - 1", [](QNode& m) { m.ints["output_multiplier"] = (1 << 30) - 1; });
  add("cell_clip -1", [](QNode& m) { m.ints["cell_clip"] = -1; });
  add("cell_clip on a GRU / 2^31", [&](QNode& m) { m.ints["cell_clip"] = lstm ? std::int64_t(1) << 31 : 5; });
  for (const char* key : {"weights", "recurrent_weights"})
    add(std::string(key) + " one short", [&](QNode& m) { m.i8[key].pop_back(); });
  for (const auto& [key, values] : n.i32) {
    const std::string name = key;
    add(name + " one short", [&](QNode& m) { m.i32[name].pop_back(); });
    add(name + " one long", [&](QNode& m) { m.i32[name].push_back(0); });
    if (key != "initial_h" && key != "initial_c" && key != "peephole")  // optional: absent means 0
      add(name + " erased", [&](QNode& m) { m.i32.erase(name); });
    if (key.ends_with("_shift")) {
      add(name + " last = 31", [&](QNode& m) { m.i32[name].back() = 31; });
      add(name + " last = -32", [&](QNode& m) { m.i32[name].back() = -32; });
      add(name + " last = 30 (pre-activation overflow)", [&](QNode& m) { m.i32[name].back() = 30; });
    }
    if (key.ends_with("_multiplier")) {
      add(name + " last = -2^30", [&](QNode& m) { m.i32[name].back() = -(1 << 30); });
      add(name + " last = 2^30 - 1", [&](QNode& m) { m.i32[name].back() = (1 << 30) - 1; });
    }
  }
  for (const char* key : {"bias_x", "bias_h"}) {
    add(std::string(key) + " last = INT32_MIN", [&](QNode& m) { m.i32[key].back() = INT32_MIN; });
  }
  if (n.i32.contains("initial_h")) {
    add("initial_h 32768", [](QNode& m) { m.i32["initial_h"].back() = 32768; });
    add("initial_h of half the batch", [](QNode& m) { m.i32["initial_h"].resize(m.i32["initial_h"].size() / 2); });
  }
  if (n.i32.contains("initial_c")) add("initial_c INT32_MIN", [](QNode& m) { m.i32["initial_c"].back() = INT32_MIN; });
  if (n.i32.contains("peephole")) {
    add("peephole 2^22 + 1", [](QNode& m) { m.i32["peephole"].back() = (1 << 22) + 1; });
    add("peephole -2^22 - 1", [](QNode& m) { m.i32["peephole"].back() = -(1 << 22) - 1; });
  }
  if (!lstm) {
    add("peephole on a GRU", [](QNode& m) { m.i32["peephole"] = std::vector<std::int32_t>(9, 0); });
    add("initial_c on a GRU", [](QNode& m) { m.i32["initial_c"] = std::vector<std::int32_t>(6, 0); });
  }
  // The recurrent accumulator at its limit: the hidden state reaches -32768 (tanh saturates
  // to 2 * 0 - 1 in Q15), so |bias_h| + 32768 * sum |r| must fit int32, not + 32767 * sum.
  add("bias_h one above the accumulator bound", [](QNode& m) {
    const std::int64_t hidden = m.get("hidden");
    const auto& r = m.i8["recurrent_weights"];
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < hidden; ++i) sum += std::abs(int(r[std::size_t(i)]));
    m.i32["bias_h"][0] = std::int32_t(std::int64_t(INT32_MAX) - 32767 * sum);
    m.i32["h_requant_multiplier"][0] = 1 << 30;
    m.i32["h_requant_shift"][0] = -31;
  });
}
// The state at its extreme, requantized by the largest multiplier its output allows, plus an
// output offset of +-127: output_value adds them before clamping, so this overflowed int32.
// Y_c: c pinned at 2^31 - 1 (initial c, forget gate and candidate saturated high, no clip),
// multiplier 2^31 - 1 at shift 0. Y / Y_h: h = -32768 is reachable, multiplier 2^31 - 1 at
// shift 16, offset -128.
void add_output_overflow(const QGraph& base, std::size_t k, std::vector<Corruption>& out) {
  QGraph q = base;
  QNode& m = q.nodes[k];
  const bool cell_out = m.get("output") == rt::kRecurrentYc;
  if (cell_out) {
    const std::int64_t hidden = m.get("hidden"), rows = 4 * hidden, dirs = m.get("directions");
    m.ints["cell_clip"] = 0;
    m.i32["initial_c"] = std::vector<std::int32_t>(std::size_t(dirs * m.get("batch") * hidden), INT32_MAX);
    for (std::int64_t d = 0; d < dirs; ++d)
      for (std::int64_t j = 2 * hidden; j < 4 * hidden; ++j) {  // f and the candidate
        const std::size_t row = std::size_t(d * rows + j);
        m.i32["bias_x"][row] = 1 << 20;
        m.i32["x_requant_multiplier"][row] = 1 << 30;
        m.i32["x_requant_shift"][row] = 0;
      }
  }
  m.ints["output_multiplier"] = INT32_MAX;
  m.ints["output_shift"] = cell_out ? 0 : 16;
  m.ints["output_offset"] = cell_out ? 127 : -128;
  q.values[std::size_t(m.output)].quant.zero_point = std::int32_t(m.ints["output_offset"]);
  out.push_back({m.name + ": requantized output state plus offset beyond int32", serialize_tqm(q), true});
}

std::vector<Corruption> recurrent_corruptions(const QGraph& base) {
  std::vector<Corruption> out;
  for (std::size_t k = 0; k < base.nodes.size(); ++k)
    if (base.nodes[k].kernel == QKernel::Recurrent) {
      add_recurrent_corruptions(base, k, out);
      add_output_overflow(base, k, out);
    }
  return out;
}

// TINYQ_DUMP_CORRUPTIONS=DIR writes every corruption's payload (the file minus its 28-byte
// header) there, for replay under the sanitizers by build-fuzz's fuzz_tqm_load -runs=0 DIR.
void dump_payloads(const std::vector<Corruption>& all, const std::string& model) {
  const char* dir = std::getenv("TINYQ_DUMP_CORRUPTIONS");
  if (!dir) return;
  std::filesystem::create_directories(dir);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto path = std::filesystem::path(dir) / fmt::format("{}_{:04}.payload", model, i);
    std::FILE* f = std::fopen(path.string().c_str(), "wb");
    ASSERT_NE(f, nullptr) << path;
    std::fwrite(all[i].file.data() + 28, 1, all[i].file.size() - 28, f);
    std::fclose(f);
  }
}

// Runs every corruption of `q`: each must be refused with the file's name in the error, and
// anything that loads (generic corruptions only) must survive code generation and inference.
void corrupt_recurrent(const QGraph& q, const char* model) {
  ASSERT_NO_THROW(validate_qgraph(q, model));
  use(q);
  corrupt_every_field(q, model);
  int refused = 0;
  const auto all = recurrent_corruptions(q);
  dump_payloads(corruptions(q), std::string(model) + "_generic");
  dump_payloads(all, model);
  for (const Corruption& c : all) {
    try {
      const QGraph loaded = deserialize_tqm(c.file.data(), c.file.size(), "crafted.tqm");
      ADD_FAILURE() << c.what << " loaded";
      try {
        use(loaded);
      } catch (const Error&) {
      }
    } catch (const Error& e) {
      ++refused;
      EXPECT_NE(std::string(e.what()).find("crafted.tqm"), std::string::npos) << e.what();
    }
  }
  std::printf("%s: %d of %zu recurrent-specific corruptions refused\n", model, refused, all.size());
}

TEST(TqmValidationRecurrent, EveryCorruptionOfTorchsGruLstmAndRnnIsRejectedOrHarmless) {
  for (const char* name : {"gru", "lstm", "rnn"}) {
    if (!std::filesystem::exists(kRecurrentDir / (std::string(name) + ".onnx")))
      GTEST_SKIP() << kRecurrentDir << " absent";
    SCOPED_TRACE(name);
    corrupt_recurrent(recurrent_file_model(name), name);
  }
}

// Streamable models (models/streaming/): every corruption goes through the streaming plan
// too (use() above), which then sees conv windows, transposes of the input and states.
TEST(TqmValidationStreaming, EveryCorruptionOfStreamableModelsIsRejectedOrHarmless) {
  const auto dir = std::filesystem::path(TINYQ_SOURCE_DIR) / "models" / "streaming";
  for (const char* name : {"tcn_1d", "conv_lstm"}) {
    if (!std::filesystem::exists(dir / (std::string(name) + ".onnx"))) GTEST_SKIP() << dir << " absent";
    SCOPED_TRACE(name);
    Graph g = import_onnx_file((dir / (std::string(name) + ".onnx")).string());
    simplify(g);
    const QGraph q = quantize(g, read_npy((dir / (std::string(name) + ".input.npy")).string()), {});
    generate_sources(q, target_by_name("cortex-m4"), "m", {.streaming = true});  // streamable as it is
    corrupt_every_field(q, name);
  }
}

TEST(TqmValidationRecurrent, EveryCorruptionOfPeepholesInitialStatesAndReverseIsRejectedOrHarmless) {
  for (bool lstm : {true, false}) {
    const QGraph q = built_recurrent_model(lstm);
    const QNode& n = first_recurrent(q);
    EXPECT_EQ(n.get("batch"), 2);
    EXPECT_TRUE(n.i32.contains("initial_h"));
    if (lstm) {
      EXPECT_EQ(n.get("reverse"), 1);
      EXPECT_GT(n.get("cell_clip"), 0);
      EXPECT_TRUE(n.i32.contains("peephole") && n.i32.contains("initial_c"));
      EXPECT_EQ(n.get("output"), rt::kRecurrentYc);
    } else {
      EXPECT_EQ(n.get("linear_before_reset"), 0);
      EXPECT_EQ(n.get("output"), rt::kRecurrentY);
    }
    corrupt_recurrent(q, lstm ? "built_lstm" : "built_gru");
  }
}

// The errors name the field and its value, as the file holds it (not narrowed).
TEST_F(TqmValidation, HugeValuesAreReportedUnnarrowed) {
  first(QKernel::Conv).ints["stride_h"] = (std::int64_t(1) << 32) + 1;  // narrows to 1
  const std::string e = load_error();
  EXPECT_NE(e.find("stride_h"), std::string::npos) << e;
  EXPECT_NE(e.find("4294967297"), std::string::npos) << e;
}

TEST_F(TqmValidation, InfiniteScaleIsRejected) {
  q_.values[std::size_t(q_.outputs[0])].quant.scale = std::numeric_limits<float>::infinity();
  EXPECT_NE(load_error().find("bad quantization"), std::string::npos);
}

TEST_F(TqmValidation, ReversedClampIsRejected) {
  QNode& conv = first(QKernel::Conv);
  conv.ints["act_min"] = 10;
  conv.ints["act_max"] = -10;
  EXPECT_NE(load_error().find("act_min is above act_max"), std::string::npos);
}

TEST_F(TqmValidation, PaddingThatContradictsTheOutputShapeIsRejected) {
  first(QKernel::Conv).ints["pad_top"] = 1000;
  EXPECT_NE(load_error().find("padding"), std::string::npos);
  SetUp();
  first(QKernel::MaxPool).ints["kernel_h"] = 2000;
  EXPECT_NE(load_error().find("output height"), std::string::npos);
}

TEST_F(TqmValidation, OffsetThatIsNotTheZeroPointIsRejected) {
  QNode& dense = first(QKernel::Dense);
  dense.ints["output_offset"] = q_.values[std::size_t(dense.output)].quant.zero_point == 5 ? 6 : 5;
  EXPECT_NE(load_error().find("zero point"), std::string::npos);
}

}  // namespace
}  // namespace tinyq
