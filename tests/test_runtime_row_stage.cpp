// row_stage_s8 (patch-based inference): random chains of convolutions, depthwise layers and
// max/average pooling, with strides, dilations and padding along the rows, run row by row (in
// random groups of rows) must give the same bytes as the same kernels run layer by layer on
// whole tensors, reading the input rows in order and within the held buffers (ASan builds).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::Random;

namespace {

enum class Kind { Conv, Depthwise, MaxPool, AvgPool };

struct Layer {
  Kind kind = Kind::Conv;
  rt::ConvParams conv{};
  rt::AvgPoolParams avg{};  // max pooling uses avg.pool
  std::vector<std::int8_t> weights;
  std::vector<std::int32_t> bias, multiplier, shift, count_multiplier, count_shift;
  std::vector<std::int16_t> scratch;
  int in_h = 0, in_w = 0, in_c = 0, out_h = 0, out_w = 0, out_c = 0;
  int window = 1, stride = 1, pad = 0;

  std::size_t in_bytes() const { return std::size_t(in_h * in_w * in_c); }
  std::size_t out_bytes() const { return std::size_t(out_h * out_w * out_c); }

  // The kernel on `rows` input rows starting at `in`, output rows out_rows, pad_top given.
  void run(const std::int8_t* in, int rows, int pad_top, int out_rows, std::int8_t* out) {
    if (kind == Kind::Conv || kind == Kind::Depthwise) {
      rt::ConvParams p = conv;
      p.in_h = rows, p.pad_top = pad_top, p.out_h = out_rows;
      if (kind == Kind::Conv)
        rt::conv2d_s8(p, in, weights.data(), bias.data(), out, scratch.data());
      else
        rt::depthwise_conv2d_s8(p, in, weights.data(), bias.data(), out);
      return;
    }
    rt::AvgPoolParams p = avg;
    p.pool.in_h = rows, p.pool.pad_top = pad_top, p.pool.out_h = out_rows;
    if (kind == Kind::MaxPool)
      rt::max_pool2d_s8(p.pool, in, out);
    else
      rt::avg_pool2d_s8(p, in, out);
  }

  std::string describe() const {
    static const char* names[] = {"conv", "depthwise", "maxpool", "avgpool"};
    std::ostringstream o;
    o << names[int(kind)] << " " << in_h << "x" << in_w << "x" << in_c << " -> " << out_h << "x" << out_w << "x"
      << out_c << " window " << window << " stride " << stride << " pad " << pad;
    return o.str();
  }
};

// Q31 multiplier and shift of a real value in (0, 1).
void encode(double real, std::int32_t& multiplier, std::int32_t& shift) {
  int exponent = 0;
  const double m = std::frexp(real, &exponent);
  multiplier = std::int32_t(std::min(std::llround(m * 2147483648.0), 2147483647LL));
  shift = exponent;
}

// A layer reading [in_h, in_w, in_c]; its row geometry random, every output row reading at
// least one real input row (what the host's planner requires).
Layer random_layer(Random& rng, int in_h, int in_w, int in_c) {
  Layer l;
  l.kind = rng.pick({Kind::Conv, Kind::Depthwise, Kind::MaxPool, Kind::AvgPool});
  l.in_h = in_h, l.in_w = in_w, l.in_c = in_c;
  const int kernel_h = rng.uniform(1, 4);
  const int dilation = (l.kind == Kind::Conv || l.kind == Kind::Depthwise) && rng.chance(0.25) ? 2 : 1;
  l.window = (kernel_h - 1) * dilation + 1;
  l.stride = rng.uniform(1, 3);
  for (;;) {
    l.pad = rng.uniform(0, l.window - 1);
    const int pad_bottom = rng.uniform(0, l.window - 1);
    l.out_h = (in_h + l.pad + pad_bottom - l.window) / l.stride + 1;
    if (l.out_h < 1) continue;
    bool real_rows = true;
    for (int q = 0; q < l.out_h; ++q) {
      const int start = q * l.stride - l.pad;
      real_rows = real_rows && std::max(start, 0) <= std::min(start + l.window - 1, in_h - 1);
    }
    if (!real_rows) continue;
    const int kernel_w = rng.uniform(1, std::min(3, in_w)), pad_left = (kernel_w - 1) / 2;
    l.out_w = in_w + 2 * pad_left - kernel_w + 1;
    if (l.kind == Kind::Conv || l.kind == Kind::Depthwise) {
      l.out_c = l.kind == Kind::Conv ? rng.uniform(1, 8) : in_c;
      rt::ConvParams& p = l.conv;
      p = rt::ConvParams{};
      p.batch = 1, p.in_h = in_h, p.in_w = in_w, p.in_c = in_c, p.out_h = l.out_h, p.out_w = l.out_w;
      p.out_c = l.out_c, p.kernel_h = kernel_h, p.kernel_w = kernel_w, p.stride_h = l.stride, p.stride_w = 1;
      p.dilation_h = dilation, p.dilation_w = 1, p.pad_top = l.pad, p.pad_left = pad_left;
      p.groups = l.kind == Kind::Conv ? 1 : in_c;
      p.input_offset = rng.uniform(-20, 20), p.output_offset = rng.uniform(-20, 20);
      p.act_min = -128, p.act_max = 127;
      const int per_output = kernel_h * kernel_w * (l.kind == Kind::Conv ? in_c : 1);
      l.weights = rng.int8s(std::size_t(l.out_c * per_output), -60, 60);
      l.bias.resize(std::size_t(l.out_c));
      for (auto& b : l.bias) b = rng.uniform(-2000, 2000);
      l.multiplier.resize(std::size_t(l.out_c)), l.shift.resize(std::size_t(l.out_c));
      for (int c = 0; c < l.out_c; ++c)
        encode(rng.real(0.3, 1.0) / (40.0 * per_output), l.multiplier[std::size_t(c)], l.shift[std::size_t(c)]);
      p.requant = {l.multiplier.data(), l.shift.data(), l.out_c, rng.pick({rt::kRoundSingle, rt::kRoundTflite})};
      l.scratch.resize(rt::conv2d_s8_scratch_bytes(p) / 2 + 16);
    } else {
      l.out_c = in_c;
      rt::PoolParams& p = l.avg.pool;
      p = rt::PoolParams{};
      p.batch = 1, p.in_h = in_h, p.in_w = in_w, p.channels = in_c, p.out_h = l.out_h, p.out_w = l.out_w;
      p.kernel_h = kernel_h, p.kernel_w = kernel_w, p.stride_h = l.stride, p.stride_w = 1;
      p.pad_top = l.pad, p.pad_left = pad_left, p.pad_bottom = pad_bottom, p.pad_right = pad_left;
      p.act_min = -128, p.act_max = 127;
      l.avg.count_include_pad = rng.uniform(0, 1);
      l.avg.input_offset = rng.uniform(-10, 10), l.avg.output_offset = rng.uniform(-10, 10);
      const int taps = kernel_h * kernel_w;
      l.count_multiplier.assign(std::size_t(taps + 1), 0), l.count_shift.assign(std::size_t(taps + 1), 0);
      for (int n = 1; n <= taps; ++n)
        encode(rng.real(0.6, 1.0) / n, l.count_multiplier[std::size_t(n)], l.count_shift[std::size_t(n)]);
      l.avg.count_multiplier = l.count_multiplier.data();
      l.avg.count_shift = l.count_shift.data();
      l.avg.truncate = 0;
      l.avg.rounding = rng.pick({rt::kRoundSingle, rt::kRoundTflite});
    }
    return l;
  }
}

// row_stage_s8 calls plain function pointers: the layers under test live here.
std::vector<Layer> g_layers;
const std::vector<std::int8_t>* g_input = nullptr;
int g_rows_read = 0, g_read_calls_in_order = 1;

template <int I>
void run_rows(const std::int8_t* first, std::int32_t count, std::int32_t pad_top, std::int32_t out_rows,
              std::int8_t* out) {
  g_layers[I].run(first, count, pad_top, out_rows, out);
}
using RowFn = void (*)(const std::int8_t*, std::int32_t, std::int32_t, std::int32_t, std::int8_t*);
constexpr RowFn kRowFns[] = {run_rows<0>, run_rows<1>, run_rows<2>, run_rows<3>, run_rows<4>};

void read_rows(std::int8_t* rows, std::int32_t first_row, std::int32_t count) {
  const std::size_t row_bytes = g_layers[0].in_bytes() / std::size_t(g_layers[0].in_h);
  // Rows come in increasing order, each at most once (rows no window reads are skipped).
  if (first_row < g_rows_read || count < 1) g_read_calls_in_order = 0;
  g_rows_read = first_row + count;
  std::copy_n(g_input->begin() + std::ptrdiff_t(std::size_t(first_row) * row_bytes), std::size_t(count) * row_bytes,
              rows);
}

TEST(RowStage, RowByRowEqualsLayerByLayer) {
  Random rng(20261204);
  for (int trial = 0; trial < 2000; ++trial) {
    const int count = rng.uniform(1, 5);
    g_layers.clear();
    int h = rng.uniform(4, 24), w = rng.uniform(1, 7), c = rng.uniform(1, 6);
    for (int k = 0; k < count; ++k) {
      if (h < 1) break;
      g_layers.push_back(random_layer(rng, h, w, c));
      h = g_layers.back().out_h, w = g_layers.back().out_w, c = g_layers.back().out_c;
    }
    const std::vector<std::int8_t> input = rng.activations(g_layers[0].in_bytes());
    // Layer by layer, on whole tensors.
    std::vector<std::int8_t> whole = input;
    std::string chain;
    for (Layer& l : g_layers) {
      std::vector<std::int8_t> out(l.out_bytes());
      l.run(whole.data(), l.in_h, l.pad, l.out_h, out.data());
      whole = std::move(out);
      chain += l.describe() + "; ";
    }
    // Row by row (a group of 1 to 4 output rows per call): each layer's input holds only
    // the rows its next call reads, plus what its producer's last group ran ahead.
    std::vector<std::vector<std::int8_t>> held;
    std::vector<rt::RowStageLayer> stage;
    int previous_group = 1;
    std::string groups;
    for (std::size_t k = 0; k < g_layers.size(); ++k) {
      const Layer& l = g_layers[k];
      const int row_bytes = l.in_w * l.in_c, group = rng.uniform(1, 4);
      const int rows = std::min(l.in_h, l.window + (group - 1) * l.stride + previous_group - 1);
      held.emplace_back(std::size_t(rows * row_bytes));
      stage.push_back({l.in_h, l.out_h, l.window, l.stride, l.pad, row_bytes, group, held.back().data(), kRowFns[k]});
      previous_group = group;
      groups += std::to_string(group) + " ";
    }
    std::vector<std::int32_t> state(2 * stage.size(), -7);
    std::vector<std::int8_t> rows(whole.size(), 99);
    g_input = &input;
    g_rows_read = 0, g_read_calls_in_order = 1;
    rt::row_stage_s8(stage.data(), std::int32_t(stage.size()), state.data(), read_rows, rows.data(),
                     g_layers.back().out_w * g_layers.back().out_c);
    ASSERT_EQ(rows, whole) << "trial " << trial << ": " << chain << "groups " << groups;
    EXPECT_EQ(g_read_calls_in_order, 1) << "input rows read out of order, trial " << trial;
  }
}

}  // namespace
