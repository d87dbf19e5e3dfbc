// max_pool2d_s8 and avg_pool2d_s8, bit-exact against plain references written from the ONNX
// MaxPool / AveragePool definitions (divisor rules included).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::encode_multiplier;
using tinyq_test::Random;
using tinyq_test::ref_output;
using tinyq_test::ref_requantize;
using tinyq_test::same_bytes;

namespace {

struct PoolCase {
  rt::AvgPoolParams ap{};
  std::vector<std::int8_t> input;
  std::vector<std::int32_t> count_multiplier, count_shift;

  rt::PoolParams& p() { return ap.pool; }
  const rt::PoolParams& p() const { return ap.pool; }
  std::size_t output_size() const { return static_cast<std::size_t>(p().batch * p().out_h * p().out_w * p().channels); }
  std::string describe() const {
    const rt::PoolParams& q = p();
    std::ostringstream o;
    o << "batch " << q.batch << " in " << q.in_h << "x" << q.in_w << "x" << q.channels << " out " << q.out_h << "x"
      << q.out_w << " kernel " << q.kernel_h << "x" << q.kernel_w << " stride " << q.stride_h << "," << q.stride_w
      << " pads " << q.pad_top << "," << q.pad_left << "," << q.pad_bottom << "," << q.pad_right << " act ["
      << q.act_min << "," << q.act_max << "] include_pad " << ap.count_include_pad << " truncate " << ap.truncate
      << " offsets " << ap.input_offset << "," << ap.output_offset;
    return o.str();
  }
  void set_count_table(const std::vector<std::int32_t>& m, const std::vector<std::int32_t>& s) {
    count_multiplier = m;
    count_shift = s;
    ap.count_multiplier = count_multiplier.data();
    ap.count_shift = count_shift.data();
  }
};

// Output size along one axis: floor mode, ceil mode (the last window may hang past the
// padding), or one more window that starts beyond everything (n == 0 for the divisor).
int random_axis(Random& rng, int in, int& kernel, int& stride, int& pad_begin, int& pad_end, bool big_pads) {
  kernel = rng.uniform(1, 4);
  stride = rng.uniform(1, 4);
  pad_begin = big_pads ? rng.uniform(0, kernel + 2) : rng.uniform(0, kernel - 1);
  pad_end = big_pads ? rng.uniform(0, kernel + 2) : rng.uniform(0, kernel - 1);
  if (in + pad_begin + pad_end < kernel) pad_end = kernel - in - pad_begin;
  const int span = in + pad_begin + pad_end - kernel;
  const int floor_out = span / stride + 1;
  const int ceil_out = (span + stride - 1) / stride + 1;
  switch (rng.uniform(0, 5)) {
    case 0: return ceil_out;
    case 1: return ceil_out + 1;
    default: return floor_out;
  }
}

PoolCase random_case(Random& rng, bool big_pads = false) {
  PoolCase c;
  rt::PoolParams& p = c.p();
  p.batch = rng.uniform(1, 2);
  p.in_h = rng.chance(0.15) ? 1 : rng.uniform(1, 9);
  p.in_w = rng.chance(0.15) ? 1 : rng.uniform(1, 9);
  p.channels = rng.pick({1, 2, 3, 5, 8});
  p.out_h = random_axis(rng, p.in_h, p.kernel_h, p.stride_h, p.pad_top, p.pad_bottom, big_pads);
  p.out_w = random_axis(rng, p.in_w, p.kernel_w, p.stride_w, p.pad_left, p.pad_right, big_pads);
  c.ap.input_offset = rng.input_offset();
  c.ap.output_offset = rng.output_offset();
  const auto range = rng.activation_range(c.ap.output_offset);
  p.act_min = range.first;
  p.act_max = range.second;
  c.ap.count_include_pad = rng.uniform(0, 1);
  c.ap.truncate = 0;
  // s_in / (s_out * n) for n = 1 .. taps, from a random scale ratio (entry 0 unused).
  const double ratio = rng.chance(0.3) ? 1.0 : rng.real(0.05, 8.0);
  std::vector<std::int32_t> m{0}, s{0};
  for (int n = 1; n <= p.kernel_h * p.kernel_w; ++n) {
    const auto q = encode_multiplier(ratio / n);
    m.push_back(q.multiplier);
    s.push_back(q.shift);
  }
  c.set_count_table(m, s);
  c.input = rng.activations(static_cast<std::size_t>(p.batch * p.in_h * p.in_w * p.channels));
  return c;
}

std::int8_t at(const PoolCase& c, int b, int y, int x, int ch) {
  const rt::PoolParams& p = c.p();
  return c.input[((b * p.in_h + y) * p.in_w + x) * p.channels + ch];
}

std::vector<std::int8_t> reference_max_pool(const PoolCase& c) {
  const rt::PoolParams& p = c.p();
  std::vector<std::int8_t> out;
  for (int b = 0; b < p.batch; ++b)
    for (int oy = 0; oy < p.out_h; ++oy)
      for (int ox = 0; ox < p.out_w; ++ox)
        for (int ch = 0; ch < p.channels; ++ch) {
          std::vector<int> window;
          for (int ky = 0; ky < p.kernel_h; ++ky)
            for (int kx = 0; kx < p.kernel_w; ++kx) {
              const int y = oy * p.stride_h - p.pad_top + ky, x = ox * p.stride_w - p.pad_left + kx;
              if (y >= 0 && y < p.in_h && x >= 0 && x < p.in_w) window.push_back(at(c, b, y, x, ch));
            }
          const int best = window.empty() ? -128 : *std::max_element(window.begin(), window.end());
          out.push_back(static_cast<std::int8_t>(std::clamp(best, p.act_min, p.act_max)));
        }
  return out;
}

// Divisor along one axis, PyTorch / ONNX style: the window end is cut at the padded size,
// the start is never before -pad (it cannot be); without count_include_pad, inside taps only.
int divisor_extent(int start, int kernel, int in, int pad_end, bool include_pad) {
  if (include_pad) return std::max(0, std::min(start + kernel, in + pad_end) - start);
  int count = 0;
  for (int t = start; t < start + kernel; ++t) count += (t >= 0 && t < in) ? 1 : 0;
  return count;
}

std::vector<std::int8_t> reference_avg_pool(const PoolCase& c) {
  const rt::PoolParams& p = c.p();
  std::vector<std::int8_t> out;
  for (int b = 0; b < p.batch; ++b)
    for (int oy = 0; oy < p.out_h; ++oy)
      for (int ox = 0; ox < p.out_w; ++ox)
        for (int ch = 0; ch < p.channels; ++ch) {
          const int y0 = oy * p.stride_h - p.pad_top, x0 = ox * p.stride_w - p.pad_left;
          std::int64_t sum = 0;
          for (int y = y0; y < y0 + p.kernel_h; ++y)
            for (int x = x0; x < x0 + p.kernel_w; ++x)
              if (y >= 0 && y < p.in_h && x >= 0 && x < p.in_w) sum += at(c, b, y, x, ch) + c.ap.input_offset;
          const bool include = c.ap.count_include_pad != 0;
          const int n = divisor_extent(y0, p.kernel_h, p.in_h, p.pad_bottom, include) *
                        divisor_extent(x0, p.kernel_w, p.in_w, p.pad_right, include);
          std::int64_t v = 0;
          if (n > 0 && c.ap.truncate != 0) {
            v = (sum < 0 ? -1 : 1) * (std::llabs(sum) / n);  // toward zero
          } else if (n > 0) {
            v = ref_requantize(sum, c.count_multiplier[n], c.count_shift[n]);
          }
          out.push_back(ref_output(v, c.ap.output_offset, p.act_min, p.act_max));
        }
  return out;
}

std::vector<std::int8_t> run_max(const PoolCase& c) {
  std::vector<std::int8_t> out(c.output_size(), 0x55);
  rt::max_pool2d_s8(c.p(), c.input.data(), out.data());
  return out;
}

std::vector<std::int8_t> run_avg(const PoolCase& c) {
  std::vector<std::int8_t> out(c.output_size(), 0x55);
  rt::avg_pool2d_s8(c.ap, c.input.data(), out.data());
  return out;
}

TEST(RuntimeMaxPool, MatchesReferenceOverRandomShapesIncludingCeilModeWindows) {
  Random rng(300);
  for (int i = 0; i < 800; ++i) {
    const PoolCase c = random_case(rng);
    SCOPED_TRACE(c.describe());
    ASSERT_TRUE(same_bytes(run_max(c), reference_max_pool(c)));
  }
}

TEST(RuntimeMaxPool, PaddingNeverWinsAndAllPaddingWindowsGiveActMin) {
  Random rng(301);
  for (int i = 0; i < 400; ++i) {
    const PoolCase c = random_case(rng, /*big_pads=*/true);
    SCOPED_TRACE(c.describe());
    ASSERT_TRUE(same_bytes(run_max(c), reference_max_pool(c)));
  }
  // All inputs -128 with zero-point padding elsewhere: the max must stay -128.
  PoolCase c = random_case(rng);
  c.p() = rt::PoolParams{1, 2, 2, 1, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, -128, 127};
  c.input.assign(4, -128);
  EXPECT_TRUE(same_bytes(run_max(c), std::vector<std::int8_t>(4, -128)));
  // A window entirely in the padding (pad 3 > kernel 2) is clamp(-128) = act_min.
  c.p() = rt::PoolParams{1, 1, 1, 1, 2, 1, 2, 1, 3, 1, 3, 0, 0, 0, -5, 127};
  c.input.assign(1, 100);
  EXPECT_TRUE(same_bytes(run_max(c), std::vector<std::int8_t>{-5, 100}));
}

TEST(RuntimeMaxPool, ClampsToTheFusedActivation) {
  PoolCase c;
  c.p() = rt::PoolParams{1, 1, 4, 1, 1, 2, 1, 2, 1, 2, 0, 0, 0, 0, 0, 6};
  c.input = {-50, -3, 7, 100};
  EXPECT_TRUE(same_bytes(run_max(c), std::vector<std::int8_t>{0, 6}));
}

TEST(RuntimeAvgPool, MatchesReferenceOverRandomShapesBothDivisorModes) {
  Random rng(310);
  for (int i = 0; i < 1000; ++i) {
    const PoolCase c = random_case(rng, /*big_pads=*/rng.chance(0.3));
    SCOPED_TRACE(c.describe());
    ASSERT_TRUE(same_bytes(run_avg(c), reference_avg_pool(c)));
  }
}

TEST(RuntimeAvgPool, TruncatingModeMatchesReference) {
  Random rng(311);
  for (int i = 0; i < 500; ++i) {
    PoolCase c = random_case(rng, /*big_pads=*/rng.chance(0.3));
    c.ap.truncate = 1;
    if (rng.chance(0.7)) c.ap.input_offset = c.ap.output_offset = 0;  // the NNoM preset
    SCOPED_TRACE(c.describe());
    ASSERT_TRUE(same_bytes(run_avg(c), reference_avg_pool(c)));
  }
}

PoolCase fixed_avg_case(const rt::PoolParams& p, int include_pad, std::vector<std::int8_t> input) {
  PoolCase c;
  c.p() = p;
  c.ap.count_include_pad = include_pad;
  c.input = std::move(input);
  std::vector<std::int32_t> m{0}, s{0};
  for (int n = 1; n <= p.kernel_h * p.kernel_w; ++n) {
    const auto q = encode_multiplier(1.0 / n);  // same scale in and out: a rounded mean
    m.push_back(q.multiplier);
    s.push_back(q.shift);
  }
  c.set_count_table(m, s);
  return c;
}

TEST(RuntimeAvgPool, CeilModeOverhangIsNotCountedEvenWithCountIncludePad) {
  // 3x3 input, 2x2 kernel, stride 2, no pads, ceil_mode: 2x2 output; the right and bottom
  // windows hang one past the input and divide by the taps inside (ONNX AveragePool).
  const rt::PoolParams p{1, 3, 3, 1, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, -128, 127};
  for (int include_pad : {0, 1}) {
    const PoolCase c = fixed_avg_case(p, include_pad, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    // (1+2+4+5)/4 = 3, (3+6)/2 = 4.5 -> 5, (7+8)/2 = 7.5 -> 8, 9/1 = 9.
    EXPECT_TRUE(same_bytes(run_avg(c), std::vector<std::int8_t>{3, 5, 8, 9})) << "include_pad " << include_pad;
  }
}

TEST(RuntimeAvgPool, CountIncludePadDividesByTheWholeWindowInsideThePadding) {
  // 2x2 input, 3x3 kernel, stride 1, pads 1: every window holds the 4 inputs.
  const rt::PoolParams p{1, 2, 2, 1, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, -128, 127};
  EXPECT_TRUE(same_bytes(run_avg(fixed_avg_case(p, 1, {4, 8, 12, 16})), std::vector<std::int8_t>(4, 4)));   // 40/9
  EXPECT_TRUE(same_bytes(run_avg(fixed_avg_case(p, 0, {4, 8, 12, 16})), std::vector<std::int8_t>(4, 10)));  // 40/4
}

TEST(RuntimeAvgPool, RoundsWhereTruncationLetsSmallValuesVanish) {
  // 4 taps summing to +-7: rounded mean +-1.75 -> 2 / -2, NNoM's truncation -> 1 / -1.
  const rt::PoolParams p{1, 2, 4, 1, 1, 2, 2, 2, 2, 2, 0, 0, 0, 0, -128, 127};
  PoolCase c = fixed_avg_case(p, 0, {1, 2, -1, -2, 2, 2, -2, -2});
  EXPECT_TRUE(same_bytes(run_avg(c), std::vector<std::int8_t>{2, -2}));
  c.ap.truncate = 1;
  EXPECT_TRUE(same_bytes(run_avg(c), std::vector<std::int8_t>{1, -1}));
}

TEST(RuntimeAvgPool, WindowWithNoCountedTapOutputsTheOutputZeroPoint) {
  // Pad 3 on the left with a 2-wide kernel: the first window is all padding.
  rt::PoolParams p{1, 1, 1, 1, 1, 2, 1, 2, 1, 3, 0, 3, 0, 0, -128, 127};
  PoolCase c = fixed_avg_case(p, 0, {100});
  c.ap.input_offset = 5;
  c.ap.output_offset = -7;
  EXPECT_TRUE(same_bytes(run_avg(c), std::vector<std::int8_t>{-7, 98}));  // -7 + (100 + 5) / 1
  c.ap.truncate = 1;
  EXPECT_TRUE(same_bytes(run_avg(c), std::vector<std::int8_t>{-7, 98}));
  c.ap.truncate = 0;
  c.ap.count_include_pad = 1;  // now padding counts: first window n = 2, sum 0
  c.p().pad_right = 1;         // and the second window's right tap is declared padding
  EXPECT_TRUE(same_bytes(run_avg(c), std::vector<std::int8_t>{-7, 46}));  // -7 + round(105 / 2)
}

}  // namespace
