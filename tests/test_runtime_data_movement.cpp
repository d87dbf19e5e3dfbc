// concat_s8, pad_s8 and resize_nearest_s8, bit-exact against plain references.
#include <cstdint>
#include <vector>

#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::Random;
using tinyq_test::ref_output;
using tinyq_test::ref_requantize;
using tinyq_test::same_bytes;

namespace {

TEST(RuntimeConcat, CopiesSameQuantizationInputsAndRequantizesTheOthers) {
  Random rng(500);
  int copied = 0, requantized = 0;
  for (int i = 0; i < 800; ++i) {
    const int inputs = rng.uniform(1, 4), outer = rng.uniform(1, 5);
    std::vector<std::int32_t> row, offset, multiplier, shift;
    std::vector<std::vector<std::int8_t>> data;
    for (int k = 0; k < inputs; ++k) {
      row.push_back(rng.pick({1, 2, 3, 8, 13}));
      offset.push_back(rng.input_offset());
      const bool copy = rng.chance(0.4);
      multiplier.push_back(copy ? 0 : (rng.chance(0.2) ? -1 : 1) * rng.q31());
      shift.push_back(copy ? 0 : rng.shift(255));
      (copy ? copied : requantized)++;
      data.push_back(rng.activations(static_cast<std::size_t>(outer * row.back())));
    }
    rt::ConcatParams p{};
    p.inputs = inputs;
    p.outer = outer;
    p.input_row = row.data();
    p.input_offset = offset.data();
    p.multiplier = multiplier.data();
    p.shift = shift.data();
    p.output_offset = rng.output_offset();
    std::vector<std::int8_t> want;
    for (int r = 0; r < outer; ++r)
      for (int k = 0; k < inputs; ++k)
        for (int j = 0; j < row[k]; ++j) {
          const std::int8_t q = data[k][r * row[k] + j];
          want.push_back(multiplier[k] == 0 ? q
                                            : ref_output(ref_requantize(q + offset[k], multiplier[k], shift[k]),
                                                         p.output_offset, -128, 127));
        }
    std::vector<const std::int8_t*> pointers;
    for (const auto& d : data) pointers.push_back(d.data());
    std::vector<std::int8_t> got(want.size(), 0x55);
    rt::concat_s8(p, pointers.data(), got.data());
    ASSERT_TRUE(same_bytes(got, want)) << "case " << i;
  }
  EXPECT_GT(copied, 100);
  EXPECT_GT(requantized, 100);
}

TEST(RuntimeConcat, ChannelConcatInterleavesRowsOfEachInput) {
  // Two NHWC tensors 1x1x2xC concatenated on C: outer = 2 pixels.
  const std::vector<std::int8_t> a{1, 2, 3, 4}, b{-1, -2};  // a: 2 channels, b: 1 channel
  const std::int32_t row[] = {2, 1}, offset[] = {0, 0}, multiplier[] = {0, 0}, shift[] = {0, 0};
  const rt::ConcatParams p{2, 2, row, offset, multiplier, shift, 0};
  const std::int8_t* inputs[] = {a.data(), b.data()};
  std::vector<std::int8_t> got(6);
  rt::concat_s8(p, inputs, got.data());
  EXPECT_TRUE(same_bytes(got, {1, 2, -1, 3, 4, -2}));
}

TEST(RuntimePad, SurroundsEachImageWithTheValue) {
  Random rng(510);
  for (int i = 0; i < 500; ++i) {
    rt::PadParams p{};
    p.batch = rng.uniform(1, 3);
    p.in_h = rng.uniform(1, 5);
    p.in_w = rng.uniform(1, 5);
    p.channels = rng.pick({1, 2, 3, 5});
    p.pad_top = rng.uniform(0, 3);
    p.pad_left = rng.uniform(0, 3);
    p.pad_bottom = rng.uniform(0, 3);
    p.pad_right = rng.uniform(0, 3);
    p.value = static_cast<std::int8_t>(rng.uniform(-128, 127));
    const auto input = rng.int8s(static_cast<std::size_t>(p.batch * p.in_h * p.in_w * p.channels));
    const int out_h = p.pad_top + p.in_h + p.pad_bottom, out_w = p.pad_left + p.in_w + p.pad_right;
    std::vector<std::int8_t> want;
    for (int b = 0; b < p.batch; ++b)
      for (int y = 0; y < out_h; ++y)
        for (int x = 0; x < out_w; ++x)
          for (int c = 0; c < p.channels; ++c) {
            const int iy = y - p.pad_top, ix = x - p.pad_left;
            const bool inside = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
            want.push_back(inside ? input[((b * p.in_h + iy) * p.in_w + ix) * p.channels + c] : p.value);
          }
    std::vector<std::int8_t> got(want.size(), 0x55);
    rt::pad_s8(p, input.data(), got.data());
    ASSERT_TRUE(same_bytes(got, want)) << "case " << i;
  }
}

TEST(RuntimeResize, CopiesTheHostChosenSourcePixels) {
  Random rng(520);
  for (int i = 0; i < 500; ++i) {
    rt::ResizeParams p{};
    p.batch = rng.uniform(1, 2);
    p.in_h = rng.uniform(1, 5);
    p.in_w = rng.uniform(1, 5);
    p.channels = rng.pick({1, 2, 3, 5});
    p.out_h = rng.uniform(1, 9);
    p.out_w = rng.uniform(1, 9);
    // Any index pattern the host may compute: upsampling, downsampling, even reversed.
    std::vector<std::int32_t> sy, sx;
    for (int y = 0; y < p.out_h; ++y) sy.push_back(rng.uniform(0, p.in_h - 1));
    for (int x = 0; x < p.out_w; ++x) sx.push_back(rng.uniform(0, p.in_w - 1));
    p.source_y = sy.data();
    p.source_x = sx.data();
    const auto input = rng.int8s(static_cast<std::size_t>(p.batch * p.in_h * p.in_w * p.channels));
    std::vector<std::int8_t> want;
    for (int b = 0; b < p.batch; ++b)
      for (int y = 0; y < p.out_h; ++y)
        for (int x = 0; x < p.out_w; ++x)
          for (int c = 0; c < p.channels; ++c)
            want.push_back(input[((b * p.in_h + sy[y]) * p.in_w + sx[x]) * p.channels + c]);
    std::vector<std::int8_t> got(want.size(), 0x55);
    rt::resize_nearest_s8(p, input.data(), got.data());
    ASSERT_TRUE(same_bytes(got, want)) << "case " << i;
  }
}

}  // namespace
