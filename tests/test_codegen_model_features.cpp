// tinyq/model_features.hpp of generated code (codegen/model_features.hpp): the Helium
// depthwise variants (and the DSP 3x3 passes' TFLite requantization) a model can reach, from its layers' widths,
// channel multipliers and roundings. A variant left out must be one no layer reaches: the unrolled runs are left out
// only without layers that wide, the gathers only without channel multipliers, a rounding only
// when no depthwise layer uses it.
#include <gtest/gtest.h>

#include "codegen/model_features.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "qmodel/kernel_params.hpp"
#include "quant/quantizer.hpp"
#include "small_cnn.hpp"
#include "tinyq/kernels.hpp"
#include "tinyq/requantize.hpp"

namespace tinyq {
namespace {

QGraph small_cnn_quantized() {
  auto bytes = testing::small_cnn().bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "small_cnn.onnx");
  simplify(g);
  QuantizeOptions o;
  o.threads = 1;
  o.preset = "cmsis";
  return quantize(g, InputSamples(Tensor::from_floats({16, 2, 8, 8}, testing::random_values(16 * 128, 1))), o);
}

QNode& depthwise(QGraph& q) {
  for (QNode& n : q.nodes)
    if (n.kernel == QKernel::Depthwise) return n;
  throw std::runtime_error("no depthwise layer");
}

bool has(const std::string& text, const std::string& line) { return text.find(line) != std::string::npos; }

TEST(ModelFeatures, FollowTheDepthwiseLayers) {
  QGraph q = small_cnn_quantized();  // one 3x3 depthwise layer, multiplier 1, tinyq's rounding
  std::string f = emit_model_features(q);
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_UNROLL3 1")) << f;
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_UNROLL2 1")) << f;
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_GATHER 0")) << f;
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_ROUND_SINGLE 1")) << f;
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_ROUND_TFLITE 0")) << f;
  EXPECT_TRUE(has(f, "#define TINYQ_DW_DSP_QUAD_TFLITE 0")) << f;
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_TFLITE_ZERO_SHIFT 0")) << f;

  QNode& dw = depthwise(q);
  // The pixel runs' output stages: a clamp only for a narrowed range; the full range's form only for the full range;
  // TFLite's rounding with a non-negative shift in its own form.
  const rt::ConvParams p = conv_params(dw);
  const bool narrowed = p.act_min != -128 || p.act_max != 127;
  EXPECT_TRUE(has(f, narrowed ? "#define TINYQ_DW_MVE_CLAMP 1" : "#define TINYQ_DW_MVE_CLAMP 0")) << f;
  EXPECT_TRUE(has(f, narrowed ? "#define TINYQ_DW_MVE_FULL_RANGE 0" : "#define TINYQ_DW_MVE_FULL_RANGE 1")) << f;
  {
    const std::int64_t saved_min = dw.ints["act_min"], saved_max = dw.ints["act_max"];
    dw.ints["act_min"] = -128;
    dw.ints["act_max"] = 127;
    f = emit_model_features(q);
    EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_CLAMP 0")) << f;
    EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_FULL_RANGE 1")) << f;
    dw.ints["act_min"] = -100;
    f = emit_model_features(q);
    EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_CLAMP 1")) << f;
    EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_FULL_RANGE 0")) << f;
    dw.ints["act_min"] = saved_min;
    dw.ints["act_max"] = saved_max;
  }
  dw.ints["requant_rounding"] = rt::kRoundTflite;  // the DSP 3x3 passes' TFLite requantization
  f = emit_model_features(q);
  EXPECT_TRUE(has(f, "#define TINYQ_DW_DSP_QUAD_TFLITE 1")) << f;
  dw.ints["requant_rounding"] = rt::kRoundSingle;
  for (std::int64_t channels : {8, 16, 24}) {  // the DSP 3x3 passes over blocks of 8 channels
    const std::int64_t saved_in = dw.ints["in_c"], saved_out = dw.ints["out_c"];
    dw.ints["in_c"] = dw.ints["out_c"] = channels;
    f = emit_model_features(q);
    EXPECT_TRUE(has(f, channels == 16 ? "#define TINYQ_DW_DSP_QUAD8 0" : "#define TINYQ_DW_DSP_QUAD8 1")) << f;
    dw.ints["in_c"] = saved_in;
    dw.ints["out_c"] = saved_out;
  }
  dw.ints["kernel_w"] = 2;
  f = emit_model_features(q);
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_UNROLL3 0")) << f;
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_UNROLL2 1")) << f;
  dw.ints["kernel_w"] = 1;  // k x 1 windows (MLPerf Tiny's streaming wakeword)
  dw.ints["out_c"] = 2 * dw.ints["in_c"];
  dw.ints["requant_rounding"] = rt::kRoundTflite;
  f = emit_model_features(q);
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_UNROLL2 0")) << f;
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_GATHER 1")) << f;
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_ROUND_SINGLE 0")) << f;
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_ROUND_TFLITE 1")) << f;
  EXPECT_TRUE(has(f, "#define TINYQ_DW_DSP_QUAD_TFLITE 0")) << f;  // not 3x3
  EXPECT_TRUE(has(f, "#define TINYQ_DW_DSP_QUAD8 0")) << f;
}

// Helium's one-line depthwise form (rt::depthwise_mve_line) only where a layer can take it.
TEST(ModelFeatures, OneLineDepthwiseFormOnlyForOneLineLayers) {
  QGraph q = small_cnn_quantized();
  EXPECT_TRUE(has(emit_model_features(q), "#define TINYQ_DW_MVE_LINE 0"));  // 3x3 over 8x8
  QNode& dw = depthwise(q);
  // A 5 x 1 window down a one-column image of 12 rows, 16 channels (the streaming wakeword's).
  for (const char* key : {"in_w", "out_w", "kernel_w", "stride_h", "stride_w", "dilation_h", "dilation_w"})
    dw.ints[key] = 1;
  dw.ints["pad_top"] = dw.ints["pad_left"] = 0;
  dw.ints["in_c"] = dw.ints["out_c"] = 16;
  dw.ints["in_h"] = 12;
  dw.ints["kernel_h"] = 5;
  dw.ints["out_h"] = 8;
  ASSERT_TRUE(rt::depthwise_mve_line(conv_params(dw)));
  std::string f = emit_model_features(q);
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_LINE 1")) << f;
  dw.ints["kernel_h"] = 16;  // a window of 16 inputs: the block runs
  dw.ints["out_h"] = 1;
  f = emit_model_features(q);
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_LINE 0")) << f;
  dw.ints["kernel_h"] = 5;  // stride 2 along the column: the block runs
  dw.ints["stride_h"] = 2;
  dw.ints["out_h"] = 4;
  f = emit_model_features(q);
  EXPECT_TRUE(has(f, "#define TINYQ_DW_MVE_LINE 0")) << f;
}

}  // namespace
}  // namespace tinyq
