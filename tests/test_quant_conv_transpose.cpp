// ConvTranspose at int8: a conv autoencoder whose decoder is three transposed convolutions
// (2x upsampling with BatchNorm, depthwise-like with output_padding, grouped and dilated)
// quantizes onto conv_transpose2d_s8 in every preset, its int8 output stays close to float,
// and a .tqm whose ConvTranspose parameters were tampered with does not load.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "blob_images.hpp"
#include "codegen/generated_sources.hpp"
#include "codegen/target.hpp"
#include "data/npy.hpp"
#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "qmodel/tqm_file.hpp"
#include "quant/quantizer.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

const std::filesystem::path kModelDir = std::filesystem::path(TINYQ_SOURCE_DIR) / "models" / "upsampling";
const std::filesystem::path kModel = kModelDir / "conv_autoencoder.onnx";

double sqnr_db(const Tensor& expected, const Tensor& got) {
  double signal = 0, noise = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double e = expected.f32()[std::size_t(i)], d = got.f32()[std::size_t(i)] - e;
    signal += e * e;
    noise += d * d;
  }
  return 10 * std::log10(signal / std::max(noise, 1e-30));
}

Graph autoencoder() {
  Graph g = import_onnx_file(kModel.string());
  simplify(g);
  return g;
}

TEST(QuantizeConvTranspose, FloatImportMatchesPyTorch) {
  if (!std::filesystem::exists(kModel)) GTEST_SKIP() << kModel << " absent";
  const Tensor x = read_npy((kModelDir / "conv_autoencoder.input.npy").string());
  const Tensor want = read_npy((kModelDir / "conv_autoencoder.output.npy").string());
  const Tensor got = FloatExecutor(autoencoder()).run({x})[0];
  ASSERT_EQ(got.shape(), want.shape());
  for (std::int64_t i = 0; i < got.numel(); ++i)
    ASSERT_NEAR(got.f32()[std::size_t(i)], want.f32()[std::size_t(i)], 1e-5) << i;
}

struct PresetCase {
  std::string preset;
  double min_sqnr_db;  // power-of-two scales cost a few dB; NNoM's rules a few more
};
void PrintTo(const PresetCase& c, std::ostream* os) { *os << c.preset; }

class QuantizeConvTransposePresets : public ::testing::TestWithParam<PresetCase> {};

TEST_P(QuantizeConvTransposePresets, DecoderInt8TracksFloat) {
  if (!std::filesystem::exists(kModel)) GTEST_SKIP() << kModel << " absent";
  const Graph g = autoencoder();
  QuantizeOptions options;
  options.preset = GetParam().preset;
  const QGraph q = quantize(g, testing::blob_images(256, 1), options);
  int transposed = 0;
  for (const auto& n : q.nodes) transposed += n.kernel == QKernel::ConvTranspose;
  EXPECT_EQ(transposed, 3);
  const Tensor test = testing::blob_images(64, 2);
  const Tensor expected = FloatExecutor(g).run({test})[0];
  const Tensor got = Int8Executor(q).run({test})[0];
  ASSERT_EQ(got.shape(), expected.shape());
  // The output is an image with real contrast (std ~0.28 around a mean ~0.24), so the SQNR
  // is not carried by a constant offset.
  EXPECT_GT(sqnr_db(expected, got), GetParam().min_sqnr_db);
}

INSTANTIATE_TEST_SUITE_P(Presets, QuantizeConvTransposePresets,
                         ::testing::Values(PresetCase{"best", 30}, PresetCase{"cmsis", 30}, PresetCase{"pow2", 25},
                                           PresetCase{"nnom", 20}),
                         [](const auto& info) { return info.param.preset; });

// Hostile .tqm files: each tampering must be refused on load, naming the node.
class ConvTransposeTqm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kModel)) GTEST_SKIP() << kModel << " absent";
    QuantizeOptions options;
    options.preset = "fast";
    q_ = quantize(autoencoder(), testing::blob_images(32, 3), options);
  }
  QNode& first() {
    for (auto& n : q_.nodes)
      if (n.kernel == QKernel::ConvTranspose) return n;
    throw std::runtime_error("no ConvTranspose node");
  }
  std::string load_error() {
    auto bytes = serialize_tqm(q_);
    try {
      deserialize_tqm(bytes.data(), bytes.size(), "crafted.tqm");
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  }
  void expect_refused(const char* what) {
    const std::string e = load_error();
    EXPECT_NE(e.find("crafted.tqm"), std::string::npos) << e;
    EXPECT_NE(e.find(first().name), std::string::npos) << e;
    EXPECT_NE(e.find(what), std::string::npos) << e;
  }
  QGraph q_;
};

TEST_F(ConvTransposeTqm, TheQuantizersOwnOutputLoadsAndRunsTheSame) {
  EXPECT_EQ(load_error(), "");
  auto bytes = serialize_tqm(q_);
  const QGraph loaded = deserialize_tqm(bytes.data(), bytes.size(), "model.tqm");
  const Tensor x = testing::blob_images(4, 4);
  const Tensor a = Int8Executor(q_).run_int8({x})[0], b = Int8Executor(loaded).run_int8({x})[0];
  EXPECT_TRUE(std::equal(a.data<std::int8_t>().begin(), a.data<std::int8_t>().end(), b.data<std::int8_t>().begin()));
}

TEST_F(ConvTransposeTqm, ShortWeightsAreRefused) {
  first().i8["weights"].pop_back();
  expect_refused("weights");
}

TEST_F(ConvTransposeTqm, AnOutputLargerThanTheInputReachesIsRefused) {
  // More output rows than stride * (in - 1) + window (+ output padding below the stride):
  // shape and parameters still agree, so only the geometry check can catch it.
  QNode& n = first();
  const std::int64_t extra = 8;
  n.ints["out_h"] += extra;
  Shape& s = q_.values[std::size_t(n.output)].shape;
  s[1] += extra;
  expect_refused("does not follow");
}

TEST_F(ConvTransposeTqm, PaddingBeyondEveryTapIsRefused) {
  first().ints["pad_left"] = 1000;
  expect_refused("padding");
}

TEST_F(ConvTransposeTqm, AWindowWhoseTapPositionsOverflowIsRefused) {
  // (kernel - 1) * dilation beyond 2^30: tap positions would wrap int32 in the kernel.
  first().ints["kernel_h"] = 1024;
  first().ints["dilation_h"] = std::int64_t(1) << 24;
  expect_refused("too large");
}

TEST_F(ConvTransposeTqm, GroupsThatDoNotDivideTheChannelsAreRefused) {
  first().ints["groups"] = 3;
  expect_refused("groups");
}

TEST_F(ConvTransposeTqm, AnAccumulatorThatCouldOverflowIsRefused) {
  first().i32["bias"][0] = 2147483000;
  expect_refused("overflow");
}

// Every single scalar of every ConvTranspose node set to each hostile value, and the first
// entry of each of its arrays: the file is refused, or it loads and code generation and the
// int8 executor run it without reading outside their arrays (scripts/sanitize.sh checks the
// latter under AddressSanitizer).
TEST_F(ConvTransposeTqm, EverySingleFieldCorruptionIsRefusedOrHarmless) {
  const QGraph base = q_;
  int tried = 0, loaded = 0;
  auto attempt = [&](const std::string& what) {
    ++tried;
    auto bytes = serialize_tqm(q_);
    try {
      const QGraph q = deserialize_tqm(bytes.data(), bytes.size(), "crafted.tqm");
      ++loaded;
      if (std::getenv("TINYQ_LIST_LOADED")) std::printf("  loads: %s\n", what.c_str());
      try {
        generate_sources(q, target_by_name("cortex-m4"), "m");
        std::vector<Tensor> inputs;
        for (int in : q.inputs) inputs.emplace_back(DType::i8, q.values[std::size_t(in)].source_shape());
        Int8Executor(q, {.threads = 1}).run_int8(inputs);
      } catch (const Error&) {
      }
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("crafted.tqm"), std::string::npos) << what << ": " << e.what();
    }
    q_ = base;
  };
  for (std::size_t k = 0; k < base.nodes.size(); ++k) {
    if (base.nodes[k].kernel != QKernel::ConvTranspose) continue;
    for (const auto& [key, value] : base.nodes[k].ints)
      for (std::int64_t v : {std::int64_t(-1), std::int64_t(0), std::int64_t(1), std::int64_t(2), std::int64_t(7),
                             std::int64_t(255), std::int64_t(1) << 20, std::int64_t(INT32_MAX), std::int64_t(1) << 40})
        if (v != value) {
          q_.nodes[k].ints[key] = v;
          attempt(base.nodes[k].name + "." + key);
        }
    for (const auto& [key, values] : base.nodes[k].i32)
      for (std::int32_t v : {0, -1, INT32_MAX, INT32_MIN})
        if (!values.empty() && v != values[0]) {
          q_.nodes[k].i32[key][0] = v;
          attempt(base.nodes[k].name + "." + key);
        }
  }
  std::printf("conv_transpose: %d of %d single-field corruptions load\n", loaded, tried);
  EXPECT_GT(tried, 200);
  EXPECT_LT(loaded, tried / 4);  // most corruptions are caught, not merely survived
}

}  // namespace
}  // namespace tinyq
