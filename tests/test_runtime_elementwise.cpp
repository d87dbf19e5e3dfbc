// add_s8 / mul_s8 with broadcasting, lookup_s8 and prelu_s8, bit-exact against plain references.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::Coverage;
using tinyq_test::encode_multiplier;
using tinyq_test::Random;
using tinyq_test::ref_output;
using tinyq_test::ref_requantize;
using tinyq_test::same_bytes;

namespace {

// A 4-D output shape and, per input, which axes it broadcasts over.
struct Broadcast {
  int shape[4];
  bool a_broadcast[4], b_broadcast[4];

  int size() const { return shape[0] * shape[1] * shape[2] * shape[3]; }
  int input_size(const bool* broadcast) const {
    int n = 1;
    for (int d = 0; d < 4; ++d) n *= broadcast[d] ? 1 : shape[d];
    return n;
  }
  // Row-major index into an input whose broadcast axes have size 1.
  int input_index(const bool* broadcast, const int* i) const {
    int index = 0;
    for (int d = 0; d < 4; ++d) index = index * (broadcast[d] ? 1 : shape[d]) + (broadcast[d] ? 0 : i[d]);
    return index;
  }
  rt::BroadcastShape kernel_shape() const {
    rt::BroadcastShape s{};
    int a_stride = 1, b_stride = 1;
    for (int d = 3; d >= 0; --d) {
      s.shape[d] = shape[d];
      s.a_strides[d] = a_broadcast[d] ? 0 : a_stride;
      s.b_strides[d] = b_broadcast[d] ? 0 : b_stride;
      a_stride *= a_broadcast[d] ? 1 : shape[d];
      b_stride *= b_broadcast[d] ? 1 : shape[d];
    }
    return s;
  }
};

Broadcast random_broadcast(Random& rng) {
  Broadcast b{};
  const int rank = rng.uniform(1, 4);  // unused leading axes have size 1
  for (int d = 0; d < 4; ++d) {
    b.shape[d] = d < 4 - rank ? 1 : rng.pick({1, 2, 3, 5});
    const int mode = rng.uniform(0, 9);  // mostly same shapes, sometimes one side broadcast
    b.a_broadcast[d] = mode == 0 || (mode == 2 && rng.chance(0.5));
    b.b_broadcast[d] = mode == 1 || (mode == 3 && rng.chance(0.5));
  }
  if (rng.chance(0.1)) std::fill(b.b_broadcast, b.b_broadcast + 4, true);  // scalar operand
  return b;
}

// Calls f(output index, a index, b index) over the output in order.
template <typename F>
void for_each(const Broadcast& b, F f) {
  int out = 0, i[4];
  for (i[0] = 0; i[0] < b.shape[0]; ++i[0])
    for (i[1] = 0; i[1] < b.shape[1]; ++i[1])
      for (i[2] = 0; i[2] < b.shape[2]; ++i[2])
        for (i[3] = 0; i[3] < b.shape[3]; ++i[3])
          f(out++, b.input_index(b.a_broadcast, i), b.input_index(b.b_broadcast, i));
}

rt::AddParams random_add(Random& rng, bool subtract) {
  rt::AddParams p{};
  p.a_offset = rng.input_offset();
  p.b_offset = rng.input_offset();
  p.output_offset = rng.output_offset();
  const auto range = rng.activation_range(p.output_offset);
  p.act_min = range.first;
  p.act_max = range.second;
  if (rng.chance(0.6)) {
    // As the quantizer derives them from scales (TFLite's recipe).
    p.left_shift = 20;
    const double sa = rng.real(0.001, 0.2), sb = rng.real(0.001, 0.2), so = rng.real(0.002, 0.4);
    const double twice_max = 2 * std::max(sa, sb);
    const auto a = encode_multiplier(sa / twice_max), b = encode_multiplier((subtract ? -sb : sb) / twice_max);
    const auto o = encode_multiplier(twice_max / (std::ldexp(1.0, p.left_shift) * so));
    p.a_multiplier = a.multiplier, p.a_shift = a.shift;
    p.b_multiplier = b.multiplier, p.b_shift = b.shift;
    p.output_multiplier = o.multiplier, p.output_shift = o.shift;
  } else {
    // Anything the contract allows: other headroom, shifts over their whole legal range.
    p.left_shift = rng.uniform(0, 22);
    const std::int64_t scaled = std::int64_t{255} << p.left_shift;
    p.a_multiplier = rng.q31(), p.a_shift = std::min(0, rng.shift(scaled));
    p.b_multiplier = (subtract ? -1 : 1) * rng.q31(), p.b_shift = std::min(0, rng.shift(scaled));
    p.output_multiplier = rng.q31(), p.output_shift = rng.shift(2 * scaled);
  }
  return p;
}

TEST(RuntimeAdd, MatchesReferenceWithBroadcastingAndSubtraction) {
  Random rng(400);
  Coverage coverage;
  for (int i = 0; i < 1500; ++i) {
    const bool subtract = rng.chance(0.3);
    const Broadcast shape = random_broadcast(rng);
    const rt::AddParams p = random_add(rng, subtract);
    const auto a = rng.activations(static_cast<std::size_t>(shape.input_size(shape.a_broadcast)));
    const auto b = rng.activations(static_cast<std::size_t>(shape.input_size(shape.b_broadcast)));
    std::vector<std::int8_t> want(static_cast<std::size_t>(shape.size()));
    for_each(shape, [&](int o, int ia, int ib) {
      const std::int64_t scale = std::int64_t{1} << p.left_shift;
      const std::int64_t ra = ref_requantize((a[ia] + p.a_offset) * scale, p.a_multiplier, p.a_shift);
      const std::int64_t rb = ref_requantize((b[ib] + p.b_offset) * scale, p.b_multiplier, p.b_shift);
      const std::int64_t sum = ref_requantize(ra + rb, p.output_multiplier, p.output_shift);
      want[o] = ref_output(sum, p.output_offset, p.act_min, p.act_max);
    });
    std::vector<std::int8_t> got(want.size(), 0x55);
    rt::add_s8(p, shape.kernel_shape(), a.data(), b.data(), got.data());
    ASSERT_TRUE(same_bytes(got, want)) << "case " << i << " left_shift " << p.left_shift;
    coverage.add(got, p.act_min, p.act_max);
  }
  EXPECT_GT(coverage.at_min, 0);
  EXPECT_GT(coverage.at_max, 0);
  EXPECT_GT(coverage.inside, coverage.outputs / 10);
}

TEST(RuntimeAdd, SameScalesAddTheRealValues) {
  // s_a = s_b = s_out, zero points 0: out = a + b, saturated.
  rt::AddParams p{};
  p.left_shift = 20;
  const auto half = encode_multiplier(0.5), out = encode_multiplier(2.0 / (1 << 20));
  p.a_multiplier = p.b_multiplier = half.multiplier;
  p.a_shift = p.b_shift = half.shift;
  p.output_multiplier = out.multiplier;
  p.output_shift = out.shift;
  p.act_min = -128;
  p.act_max = 127;
  const rt::BroadcastShape s{{1, 1, 1, 5}, {0, 0, 0, 1}, {0, 0, 0, 1}};
  const std::vector<std::int8_t> a{1, -100, 100, 0, -7}, b{2, -100, 100, 0, 3};
  std::vector<std::int8_t> got(5);
  rt::add_s8(p, s, a.data(), b.data(), got.data());
  EXPECT_TRUE(same_bytes(got, {3, -128, 127, 0, -4}));
}

TEST(RuntimeMul, MatchesReferenceWithBroadcasting) {
  Random rng(410);
  Coverage coverage;
  for (int i = 0; i < 1500; ++i) {
    const Broadcast shape = random_broadcast(rng);
    rt::MulParams p{};
    p.a_offset = rng.input_offset();
    p.b_offset = rng.input_offset();
    p.output_offset = rng.output_offset();
    const auto range = rng.activation_range(p.output_offset);
    p.act_min = range.first;
    p.act_max = range.second;
    p.output_multiplier = rng.q31();
    p.output_shift = rng.shift(255 * 255);
    const auto a = rng.activations(static_cast<std::size_t>(shape.input_size(shape.a_broadcast)));
    const auto b = rng.activations(static_cast<std::size_t>(shape.input_size(shape.b_broadcast)));
    std::vector<std::int8_t> want(static_cast<std::size_t>(shape.size()));
    for_each(shape, [&](int o, int ia, int ib) {
      const std::int64_t product = std::int64_t{a[ia] + p.a_offset} * (b[ib] + p.b_offset);
      want[o] = ref_output(ref_requantize(product, p.output_multiplier, p.output_shift), p.output_offset, p.act_min,
                           p.act_max);
    });
    std::vector<std::int8_t> got(want.size(), 0x55);
    rt::mul_s8(p, shape.kernel_shape(), a.data(), b.data(), got.data());
    ASSERT_TRUE(same_bytes(got, want)) << "case " << i;
    coverage.add(got, p.act_min, p.act_max);
  }
  EXPECT_GT(coverage.inside, coverage.outputs / 10);
}

TEST(RuntimeLookup, MapsEveryInt8ThroughTheTable) {
  Random rng(420);
  const std::vector<std::int8_t> table = rng.int8s(256);
  std::vector<std::int8_t> input(256);
  for (int i = 0; i < 256; ++i) input[i] = static_cast<std::int8_t>(i - 128);
  std::vector<std::int8_t> got(256, 0x55);
  rt::lookup_s8(table.data(), input.data(), got.data(), 256);
  EXPECT_TRUE(same_bytes(got, table));
  // Count 0 touches nothing.
  std::int8_t untouched = 0x55;
  rt::lookup_s8(table.data(), input.data(), &untouched, 0);
  EXPECT_EQ(untouched, 0x55);
}

TEST(RuntimePrelu, MatchesReferencePerChannelAndPerTensorSlopes) {
  Random rng(430);
  Coverage coverage;
  for (int i = 0; i < 800; ++i) {
    rt::PreluParams p{};
    p.outer = rng.uniform(1, 6);
    p.channels = rng.pick({1, 2, 3, 7, 16});
    p.input_offset = rng.input_offset();
    p.output_offset = rng.output_offset();
    const auto range = rng.activation_range(p.output_offset);
    p.act_min = range.first;
    p.act_max = range.second;
    p.positive_multiplier = rng.q31();
    p.positive_shift = rng.shift(255);
    std::vector<std::int32_t> m, s;
    rng.requant(p.channels, 255, m, s);
    for (auto& v : m)
      if (rng.chance(0.3)) v = -v;  // negative slopes
    p.negative = tinyq_test::make_requant(m, s);
    const auto input = rng.activations(static_cast<std::size_t>(p.outer * p.channels));
    std::vector<std::int8_t> want;
    for (int r = 0; r < p.outer; ++r)
      for (int c = 0; c < p.channels; ++c) {
        const std::int64_t x = input[r * p.channels + c] + p.input_offset;  // q - z_in
        const std::int64_t v =
            x >= 0 ? ref_requantize(x, p.positive_multiplier, p.positive_shift) : ref_requantize(x, p.negative, c);
        want.push_back(ref_output(v, p.output_offset, p.act_min, p.act_max));
      }
    std::vector<std::int8_t> got(want.size(), 0x55);
    rt::prelu_s8(p, input.data(), got.data());
    ASSERT_TRUE(same_bytes(got, want)) << "case " << i;
    coverage.add(got, p.act_min, p.act_max);
  }
  EXPECT_GT(coverage.inside, coverage.outputs / 10);
}

TEST(RuntimePrelu, LeakyReluKeepsPositivesAndScalesNegatives) {
  // Same scale in and out, zero point 3, slope 0.25: q - 3 >= 0 passes, below is divided by 4.
  rt::PreluParams p{};
  p.outer = 1;
  p.channels = 4;
  p.input_offset = -3;
  p.output_offset = 3;
  const auto one = encode_multiplier(1.0), quarter = encode_multiplier(0.25);
  p.positive_multiplier = one.multiplier;
  p.positive_shift = one.shift;
  const std::int32_t m[] = {quarter.multiplier}, s[] = {quarter.shift};
  p.negative = rt::Requant{m, s, 1};
  p.act_min = -128;
  p.act_max = 127;
  const std::vector<std::int8_t> input{3, 50, -5, -128};
  std::vector<std::int8_t> got(4);
  rt::prelu_s8(p, input.data(), got.data());
  // -5 - 3 = -8 -> -2 -> 1;  -128 - 3 = -131 -> -32.75 -> -33 -> -30.
  EXPECT_TRUE(same_bytes(got, {3, 50, 1, -30}));
}

}  // namespace
