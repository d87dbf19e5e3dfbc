// A .tqm file with a valid checksum but inconsistent contents (crafted, or written by a
// buggy tool) is rejected on load with one error naming the node, before any kernel or
// code generator indexes an array with the wrong length.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>

#include "codegen/generated_sources.hpp"
#include "codegen/target.hpp"
#include "exec/int8_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "qmodel/qgraph_validation.hpp"
#include "qmodel/tqm_file.hpp"
#include "quant/quantizer.hpp"
#include "small_cnn.hpp"
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
