// The 16x8 kernels (conv2d_wide, depthwise_conv2d_wide, dense_wide), requantize_wide and
// requantize_tensor, bit-exact against nested-loop references written from kernels.hpp's
// formulas with exact 128-bit requantization, for every pairing of int8 and int16 sides.
#include <cstdint>
#include <vector>

#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::Int128;
using tinyq_test::Random;
using tinyq_test::ref_requantize;

namespace {

std::int32_t lowest(int bits) { return bits == 16 ? -32768 : -128; }
std::int32_t highest(int bits) { return bits == 16 ? 32767 : 127; }

// Activations of `bits` bits held as int32, read back from the kernel's bytes alike.
std::vector<std::int32_t> random_activations(Random& rng, std::size_t n, int bits) {
  std::vector<std::int32_t> v(n);
  const int mode = rng.uniform(0, 4);
  for (auto& x : v) x = mode == 0 ? rng.pick({lowest(bits), highest(bits)}) : rng.uniform(lowest(bits), highest(bits));
  return v;
}
std::vector<std::uint8_t> to_bytes(const std::vector<std::int32_t>& v, int bits) {
  std::vector<std::uint8_t> out(v.size() * std::size_t(bits / 8));
  for (std::size_t i = 0; i < v.size(); ++i)
    if (bits == 16)
      reinterpret_cast<std::int16_t*>(out.data())[i] = std::int16_t(v[i]);
    else
      reinterpret_cast<std::int8_t*>(out.data())[i] = std::int8_t(v[i]);
  return out;
}
std::vector<std::int32_t> from_bytes(const std::vector<std::uint8_t>& b, int bits) {
  std::vector<std::int32_t> v(b.size() / std::size_t(bits / 8));
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = bits == 16 ? reinterpret_cast<const std::int16_t*>(b.data())[i]
                      : reinterpret_cast<const std::int8_t*>(b.data())[i];
  return v;
}

// A multiplier and shift that bring |acc| <= bound to about a quarter of the output range,
// sometimes saturating; shift <= 15 as the host guarantees.
void wide_requant(Random& rng, std::int64_t bound, int out_bits, std::vector<std::int32_t>& m,
                  std::vector<std::int32_t>& s, int channels) {
  const int count = rng.chance(0.3) ? 1 : channels;
  m.resize(std::size_t(count));
  s.resize(std::size_t(count));
  int bits = 0;
  while ((std::int64_t{1} << bits) <= bound) ++bits;
  for (int i = 0; i < count; ++i) {
    m[std::size_t(i)] = rng.chance(0.03) ? 0 : rng.q31();
    s[std::size_t(i)] = std::clamp(out_bits - 1 - bits + 2 + rng.uniform(-3, 3), -31, 15);
  }
}

struct Case {
  rt::ConvParams p{};
  int in_bits = 8, out_bits = 8;
  std::vector<std::int32_t> input;
  std::vector<std::int8_t> weights;
  std::vector<std::int32_t> bias, multiplier, shift;
};

Case random_conv(Random& rng, bool depthwise) {
  Case c;
  c.in_bits = rng.pick({8, 16});
  c.out_bits = rng.pick({8, 16});
  rt::ConvParams& p = c.p;
  p.batch = rng.uniform(1, 2);
  p.in_h = rng.uniform(1, 7);
  p.in_w = rng.uniform(1, 7);
  p.kernel_h = rng.uniform(1, 3);
  p.kernel_w = rng.uniform(1, 3);
  p.stride_h = rng.uniform(1, 2);
  p.stride_w = rng.uniform(1, 2);
  p.dilation_h = rng.uniform(1, 2);
  p.dilation_w = rng.uniform(1, 2);
  p.pad_top = rng.uniform(0, p.kernel_h - 1);
  p.pad_left = rng.uniform(0, p.kernel_w - 1);
  p.out_h = std::max(1, (p.in_h + 2 * p.pad_top - p.dilation_h * (p.kernel_h - 1) - 1) / p.stride_h + 1);
  p.out_w = std::max(1, (p.in_w + 2 * p.pad_left - p.dilation_w * (p.kernel_w - 1) - 1) / p.stride_w + 1);
  if (depthwise) {
    p.in_c = rng.uniform(1, 9);
    p.out_c = p.in_c * rng.uniform(1, 2);
    p.groups = p.in_c;
  } else {
    p.groups = rng.uniform(1, 2);
    // Wide groups sometimes, so that the per-tap partial sums flush at 128 channels.
    p.in_c = p.groups * (rng.chance(0.2) ? rng.uniform(120, 300) : rng.uniform(1, 9));
    p.out_c = p.groups * rng.uniform(1, 4);
  }
  p.input_offset = c.in_bits == 16 ? 0 : rng.input_offset();
  p.output_offset = c.out_bits == 16 ? 0 : rng.output_offset();
  p.act_min = rng.chance(0.5) ? lowest(c.out_bits) : std::max(lowest(c.out_bits), p.output_offset);
  p.act_max = highest(c.out_bits);
  const int per = depthwise ? p.kernel_h * p.kernel_w : p.kernel_h * p.kernel_w * p.in_c / p.groups;
  c.input = random_activations(rng, std::size_t(p.batch * p.in_h * p.in_w * p.in_c), c.in_bits);
  c.weights = rng.weights(std::size_t(p.out_c * per));
  const std::int64_t bound = std::int64_t(per) * 127 * (c.in_bits == 16 ? 32768 : 255);
  c.bias.resize(std::size_t(p.out_c));
  for (auto& b : c.bias)
    b = std::int32_t(
        rng.uniform64(-std::min<std::int64_t>(bound, INT32_MAX), std::min<std::int64_t>(bound, INT32_MAX)));
  wide_requant(rng, bound, c.out_bits, c.multiplier, c.shift, p.out_c);
  p.requant = tinyq_test::make_requant(c.multiplier, c.shift);
  return c;
}

std::int32_t ref_out(std::int64_t acc, const Case& c, int o) {
  const std::int64_t v = ref_requantize(acc, c.p.requant, o) + c.p.output_offset;
  return std::int32_t(std::clamp<std::int64_t>(v, c.p.act_min, c.p.act_max));
}

std::vector<std::int32_t> ref_conv(const Case& c, bool depthwise) {
  const rt::ConvParams& p = c.p;
  std::vector<std::int32_t> out;
  const int gin = p.in_c / p.groups, gout = p.out_c / p.groups;
  for (int b = 0; b < p.batch; ++b)
    for (int oy = 0; oy < p.out_h; ++oy)
      for (int ox = 0; ox < p.out_w; ++ox)
        for (int o = 0; o < p.out_c; ++o) {
          std::int64_t acc = c.bias[std::size_t(o)];
          for (int ky = 0; ky < p.kernel_h; ++ky)
            for (int kx = 0; kx < p.kernel_w; ++kx) {
              const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
              const int ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
              if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) continue;
              const std::size_t pixel = std::size_t(((b * p.in_h + iy) * p.in_w + ix) * p.in_c);
              if (depthwise) {
                const int ch = o / (p.out_c / p.in_c);
                acc += std::int64_t(c.input[pixel + std::size_t(ch)] + p.input_offset) *
                       c.weights[std::size_t((ky * p.kernel_w + kx) * p.out_c + o)];
              } else {
                const int g = o / gout;
                for (int i = 0; i < gin; ++i)
                  acc += std::int64_t(c.input[pixel + std::size_t(g * gin + i)] + p.input_offset) *
                         c.weights[std::size_t(((o * p.kernel_h + ky) * p.kernel_w + kx) * gin + i)];
              }
            }
          out.push_back(ref_out(acc, c, o));
        }
  return out;
}

TEST(RuntimeWide, RequantizeWideIsExactOverTheAccumulatorRange) {
  Random rng(11);
  for (int i = 0; i < 200000; ++i) {
    const std::int64_t acc =
        rng.chance(0.1) ? rng.pick<std::int64_t>({-(std::int64_t{1} << 47) + 1, -1, 0, 1, (std::int64_t{1} << 47) - 1})
                        : rng.uniform64(-(std::int64_t{1} << 47) + 1, (std::int64_t{1} << 47) - 1);
    const std::int32_t m = rng.chance(0.05) ? 0 : rng.q31();
    const std::int32_t s = rng.uniform(-31, 15);
    const Int128 want = ref_requantize(acc, m, s);
    if (want > INT32_MAX || want < INT32_MIN) continue;  // outside requantize_wide's contract
    ASSERT_EQ(rt::requantize_wide(acc, m, s), std::int64_t(want)) << acc << " * " << m << " shift " << s;
  }
}

TEST(RuntimeWide, ConvAndDepthwiseMatchTheReferenceForEveryPairingOfFormats) {
  Random rng(12);
  int pairings[2][2][2] = {};
  for (int i = 0; i < 1200; ++i) {
    const bool depthwise = i % 2 == 1;
    const Case c = random_conv(rng, depthwise);
    const std::vector<std::int32_t> want = ref_conv(c, depthwise);
    const std::vector<std::uint8_t> in = to_bytes(c.input, c.in_bits);
    std::vector<std::uint8_t> out(want.size() * std::size_t(c.out_bits / 8));
    (depthwise ? rt::depthwise_conv2d_wide : rt::conv2d_wide)(c.p, in.data(), c.in_bits, c.weights.data(),
                                                              c.bias.data(), out.data(), c.out_bits);
    ASSERT_EQ(from_bytes(out, c.out_bits), want)
        << (depthwise ? "depthwise" : "conv") << " case " << i << " bits " << c.in_bits << "->" << c.out_bits;
    ++pairings[depthwise][c.in_bits / 16][c.out_bits / 16];
  }
  for (auto& d : pairings)
    for (auto& in : d)
      for (int n : in) EXPECT_GT(n, 50);
}

TEST(RuntimeWide, DenseMatchesTheReference) {
  Random rng(13);
  for (int i = 0; i < 600; ++i) {
    const int in_bits = rng.pick({8, 16}), out_bits = rng.pick({8, 16});
    rt::DenseParams p{};
    p.rows = rng.uniform(1, 3);
    p.in_features = rng.chance(0.3) ? rng.uniform(100, 700) : rng.uniform(1, 40);
    p.out_features = rng.uniform(1, 12);
    p.input_offset = in_bits == 16 ? 0 : rng.input_offset();
    p.output_offset = out_bits == 16 ? 0 : rng.output_offset();
    p.act_min = lowest(out_bits);
    p.act_max = rng.chance(0.3) ? highest(out_bits) / 2 : highest(out_bits);
    const auto x = random_activations(rng, std::size_t(p.rows * p.in_features), in_bits);
    const auto w = rng.weights(std::size_t(p.out_features * p.in_features));
    const std::int64_t bound = std::int64_t(p.in_features) * 127 * (in_bits == 16 ? 32768 : 255);
    std::vector<std::int32_t> bias(std::size_t(p.out_features)), m, s;
    for (auto& b : bias) b = rng.uniform(-1000000, 1000000);
    wide_requant(rng, bound, out_bits, m, s, p.out_features);
    p.requant = tinyq_test::make_requant(m, s);
    std::vector<std::int32_t> want;
    for (int r = 0; r < p.rows; ++r)
      for (int o = 0; o < p.out_features; ++o) {
        std::int64_t acc = bias[std::size_t(o)];
        for (int k = 0; k < p.in_features; ++k)
          acc += std::int64_t(x[std::size_t(r * p.in_features + k)] + p.input_offset) *
                 w[std::size_t(o * p.in_features + k)];
        const std::int64_t v = ref_requantize(acc, p.requant, o) + p.output_offset;
        want.push_back(std::int32_t(std::clamp<std::int64_t>(v, p.act_min, p.act_max)));
      }
    const auto in = to_bytes(x, in_bits);
    std::vector<std::uint8_t> out(want.size() * std::size_t(out_bits / 8));
    rt::dense_wide(p, in.data(), in_bits, w.data(), bias.data(), out.data(), out_bits);
    ASSERT_EQ(from_bytes(out, out_bits), want) << "case " << i;
  }
}

// With int8 on both sides and an accumulator within int32, the wide kernels are the int8
// ones: the same bytes as conv2d_s8_portable / depthwise_conv2d_s8_portable.
TEST(RuntimeWide, Int8OnBothSidesGivesTheInt8KernelsBytes) {
  Random rng(14);
  int compared = 0;
  for (int i = 0; i < 400; ++i) {
    const bool depthwise = i % 2 == 1;
    Case c = random_conv(rng, depthwise);
    if (c.in_bits != 8 || c.out_bits != 8) continue;
    std::vector<std::int8_t> in8(c.input.begin(), c.input.end());
    std::vector<std::int8_t> want(std::size_t(c.p.batch * c.p.out_h * c.p.out_w * c.p.out_c)), got(want.size());
    std::vector<std::int16_t> scratch(std::size_t(c.p.kernel_h * c.p.kernel_w * c.p.in_c) + 8);
    if (depthwise)
      rt::depthwise_conv2d_s8_portable(c.p, in8.data(), c.weights.data(), c.bias.data(), want.data());
    else
      rt::conv2d_s8_portable(c.p, in8.data(), c.weights.data(), c.bias.data(), want.data(), scratch.data());
    (depthwise ? rt::depthwise_conv2d_wide : rt::conv2d_wide)(c.p, in8.data(), 8, c.weights.data(), c.bias.data(),
                                                              got.data(), 8);
    ASSERT_TRUE(tinyq_test::same_bytes(got, want)) << "case " << i;
    ++compared;
  }
  EXPECT_GT(compared, 50);
}

TEST(RuntimeWide, RequantizeTensorMatchesTheReference) {
  Random rng(15);
  for (int i = 0; i < 400; ++i) {
    rt::RequantizeParams p{};
    p.count = rng.uniform(1, 300);
    p.input_bits = rng.pick({8, 16});
    p.output_bits = rng.pick({8, 16});
    p.input_offset = p.input_bits == 16 ? 0 : rng.input_offset();
    p.output_offset = p.output_bits == 16 ? 0 : rng.output_offset();
    p.multiplier = rng.q31();
    // int16 -> int8 shrinks by about 2^-8, int8 -> int16 grows by about 2^8.
    p.shift = (p.output_bits - p.input_bits) + rng.uniform(-2, 2);
    const auto x = random_activations(rng, std::size_t(p.count), p.input_bits);
    std::vector<std::int32_t> want;
    for (std::int32_t v : x)
      want.push_back(std::int32_t(
          std::clamp<std::int64_t>(ref_requantize(v + p.input_offset, p.multiplier, p.shift) + p.output_offset,
                                   lowest(p.output_bits), highest(p.output_bits))));
    const auto in = to_bytes(x, p.input_bits);
    std::vector<std::uint8_t> out(std::size_t(p.count) * std::size_t(p.output_bits / 8));
    rt::requantize_tensor(p, in.data(), out.data());
    ASSERT_EQ(from_bytes(out, p.output_bits), want) << "case " << i;
  }
}

TEST(RuntimeWide, MaxPoolS16MatchesTheReference) {
  Random rng(16);
  int saturated = 0;
  for (int i = 0; i < 500; ++i) {
    rt::PoolParams p{};
    p.batch = rng.uniform(1, 2);
    p.in_h = rng.uniform(1, 7);
    p.in_w = rng.uniform(1, 7);
    p.channels = rng.uniform(1, 5);
    p.kernel_h = rng.uniform(1, 3);
    p.kernel_w = rng.uniform(1, 3);
    p.stride_h = rng.uniform(1, 3);
    p.stride_w = rng.uniform(1, 3);
    p.pad_top = rng.uniform(0, p.kernel_h - 1);
    p.pad_left = rng.uniform(0, p.kernel_w - 1);
    p.pad_bottom = rng.uniform(0, p.kernel_h - 1);
    p.pad_right = rng.uniform(0, p.kernel_w - 1);
    p.out_h = std::max(1, (p.in_h + p.pad_top + p.pad_bottom - p.kernel_h) / p.stride_h + 1);
    p.out_w = std::max(1, (p.in_w + p.pad_left + p.pad_right - p.kernel_w) / p.stride_w + 1);
    p.act_min = rng.chance(0.5) ? -32768 : rng.uniform(-32768, 0);
    p.act_max = rng.chance(0.5) ? 32767 : rng.uniform(0, 32767);
    const auto x = random_activations(rng, std::size_t(p.batch * p.in_h * p.in_w * p.channels), 16);
    std::vector<std::int32_t> want;
    for (int b = 0; b < p.batch; ++b)
      for (int oy = 0; oy < p.out_h; ++oy)
        for (int ox = 0; ox < p.out_w; ++ox)
          for (int c = 0; c < p.channels; ++c) {
            std::int32_t best = -32768;
            for (int ky = 0; ky < p.kernel_h; ++ky)
              for (int kx = 0; kx < p.kernel_w; ++kx) {
                const int iy = oy * p.stride_h - p.pad_top + ky, ix = ox * p.stride_w - p.pad_left + kx;
                if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) continue;
                best = std::max(best, x[std::size_t(((b * p.in_h + iy) * p.in_w + ix) * p.channels + c)]);
              }
            const std::int32_t v = std::clamp(best, p.act_min, p.act_max);
            saturated += v == p.act_min || v == p.act_max;
            want.push_back(v);
          }
    std::vector<std::int16_t> in(x.begin(), x.end()), out(want.size());
    rt::max_pool2d_s16(p, in.data(), out.data());
    ASSERT_EQ(std::vector<std::int32_t>(out.begin(), out.end()), want) << "case " << i;
  }
  EXPECT_GT(saturated, 100);
}

}  // namespace
