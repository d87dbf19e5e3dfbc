#pragma once
// The quantized model: what `tinyq quantize` writes into a .tqm file, the int8 executor
// runs and code generation turns into C++. Each node names one runtime kernel
// (runtime/include/tinyq/kernels.hpp) and carries everything that kernel needs, computed
// offline: integer parameters, int8 weights and tables, int32 biases and multipliers.
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace tinyq {

enum class QKernel {
  Conv,            // conv2d_s8
  Depthwise,       // depthwise_conv2d_s8
  Dense,           // dense_s8
  MaxPool,         // max_pool2d_s8
  AvgPool,         // avg_pool2d_s8 (global average pooling too)
  Add,             // add_s8 (sub: negative b multiplier)
  Mul,             // mul_s8
  Concat,          // concat_s8
  Pad,             // pad_s8
  Resize,          // resize_nearest_s8
  Lookup,          // lookup_s8: any unary op as a 256-entry table
  Softmax,         // softmax_s8
  Prelu,           // prelu_s8
  LayerNorm,       // layer_norm_s8
  Reshape,         // no kernel: same bytes, new shape
  StridedCopy,     // strided_copy_s8: Slice, Gather with constant indices, Transpose
  ConvTranspose,   // conv_transpose2d_s8 (ConvParams, gather formulation)
  ResizeBilinear,  // resize_bilinear_s8 (new kernels go last: .tqm files store the number)
  MatMul,          // matmul_s8: product of two activations
  Recurrent,       // recurrent_s8: LSTM, GRU, RNN over a whole sequence
  Requantize,      // requantize_tensor: int16 <-> int8 where an int16 region meets an int8 layer
};
const char* qkernel_name(QKernel k);

// Quantization of one activation tensor: real = scale * (q - zero_point). `bits` is 8, or 16
// for the few tensors a model cannot hold at int8 (quant/widen.hpp: symmetric, zero point 0,
// read only by the 16x8 kernels and requantize_tensor).
struct QuantParam {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
  std::int32_t bits = 8;
};
// Bytes per element of a tensor quantized with `p`.
inline std::int64_t element_bytes(const QuantParam& p) { return p.bits == 16 ? 2 : 1; }
// Element i of a tensor's stored bytes (int8, or int16 in the host's byte order).
inline std::int32_t stored_element(const QuantParam& p, const std::int8_t* bytes, std::size_t i) {
  if (p.bits != 16) return bytes[i];
  std::int16_t v;
  __builtin_memcpy(&v, bytes + 2 * i, 2);
  return v;
}

// A real value on the int8 grid of `p`: round(x / scale) + zero_point, half to even, clamped
// to [-128, 127], in float arithmetic. The one rule for quantizing data at run time: model
// inputs on the host, the samples sent to the MCU, fake quantization during calibration;
// the generated NAME_quantize_input computes the same (emit_interface.cpp).
inline std::int8_t quantize_to_int8(float x, const QuantParam& p) {
  const float q = std::nearbyint(x / p.scale) + float(p.zero_point);
  return static_cast<std::int8_t>(q < -128.0f ? -128.0f : (q > 127.0f ? 127.0f : q));
}

// What calibration saw of a tensor, kept for reports: a coarse histogram of its values over
// [histogram_min, histogram_max] and the clipping range the method chose.
struct CalibrationSummary {
  std::string method;  // minmax | percentile | kl | mse | pow2 | fixed | shared
  float histogram_min = 0, histogram_max = 0;
  std::vector<std::uint32_t> histogram;  // kSummaryBins bins, or empty
  float clip_lo = 0, clip_hi = 0;
  static constexpr int kSummaryBins = 128;
};

struct QValue {
  std::string name;
  Shape shape;  // stored order (NHWC for 4-D activations)
  Layout layout = Layout::Plain;
  QuantParam quant;
  CalibrationSummary calibration;
  // Empty, or the real scale of each channel (last stored axis): a concat whose branches keep
  // their own scales (quant/concat_folding.hpp), read only by conv, depthwise and dense layers
  // that absorbed them. `quant.scale` is then the nominal scale those layers were quantized for.
  std::vector<float> channel_scales;
  // The real scale of stored element i.
  float scale_at(std::size_t i) const {
    return channel_scales.empty() ? quant.scale : channel_scales[i % channel_scales.size()];
  }
  Shape source_shape() const {
    Value v;
    v.shape = shape;
    v.layout = layout;
    return v.source_shape();
  }
};

struct QNode {
  std::string name;
  std::string op;  // the IR op it implements (reports)
  QKernel kernel = QKernel::Reshape;
  std::vector<int> inputs;  // QValue indices
  int output = -1;
  int source_output = -1;                    // ValueId of the float value it approximates (calibration, reports)
  std::map<std::string, std::int64_t> ints;  // scalar kernel parameters
  std::map<std::string, std::vector<std::int8_t>> i8;    // weights, lookup tables, constant operands
  std::map<std::string, std::vector<std::int32_t>> i32;  // biases, multipliers, shifts, exp tables

  std::int64_t get(const std::string& key) const;  // throws if missing
  std::int64_t get(const std::string& key, std::int64_t fallback) const;
  const std::vector<std::int8_t>& bytes(const std::string& key) const;
  const std::vector<std::int32_t>& words(const std::string& key) const;
};

// What the quantizer decided, kept for reports and reproducibility.
struct QuantSettings {
  std::string preset = "best";
  std::string scheme = "affine";        // affine | pow2
  std::string granularity = "channel";  // channel | tensor
  std::string calibration = "auto";
  bool bias_correction = false;
  bool equalization = false;  // cross-layer equalization was applied (and kept)
  // Optimized weight rounding (quant/rounding.hpp): asked for by the preset, and the number of
  // layers whose rounding it changed and kept. Reports only: not stored in .tqm files.
  bool optimized_rounding = false;
  int rounded_layers = 0;
  // Whole-model range search (quant/range_search.hpp): asked for by the preset, and the number
  // of tensors whose range it moved. Reports only: not stored in .tqm files.
  bool range_search = false;
  int searched_ranges = 0;
  // int16 activations (quant/widen.hpp): auto | off | names, and what auto measured. The
  // layers themselves are the values with 16 bits (stored in .tqm files); the rest is reports.
  std::string int16 = "off";
  double int16_sqnr_before_db = 0, int16_sqnr_after_db = 0;
  bool int16_searched = false;  // auto looked (the int8 model was below kMinOutputSqnrDb)
  // auto's arena (portable kernels) int8 and with its choice, and the growth it was allowed.
  std::int64_t int16_arena_before = 0, int16_arena_after = 0, int16_ram_budget = 0;
  std::int64_t calibration_samples = 0;
};

struct QGraph {
  std::vector<QValue> values;
  std::vector<QNode> nodes;
  std::vector<int> inputs, outputs;
  QuantSettings settings;
  Graph float_graph;  // the simplified float model it was made from (reference, re-calibration)
};

// Whether node `n` reads or writes an int16 tensor (a 16x8 layer or a requantize_tensor).
inline bool has_int16_tensor(const QGraph& g, const QNode& n) {
  if (n.output >= 0 && g.values[std::size_t(n.output)].quant.bits == 16) return true;
  for (int v : n.inputs)
    if (g.values[std::size_t(v)].quant.bits == 16) return true;
  return false;
}

}  // namespace tinyq
