#include "exec/int8/packed_conv.hpp"

#include <algorithm>

#include "exec/int8/dot_tile.hpp"

namespace tinyq::int8 {

namespace {

// Patches built at once: about 64 KB of int16, so they stay in L2 while every block of
// output channels sweeps over them.
constexpr std::size_t kPatchBytes = 64 * 1024;

int round_up(int v, int multiple) { return (v + multiple - 1) / multiple * multiple; }

}  // namespace

PackedConv::PackedConv(const rt::ConvParams& p, const std::int8_t* weights, const std::int32_t* bias) : p_(p) {
  group_in_c_ = p.in_c / p.groups;
  group_out_c_ = p.out_c / p.groups;
  depth_ = p.kernel_h * p.kernel_w * group_in_c_;
  pairs_ = (depth_ + 1) / 2;
  oc_blocks_ = (group_out_c_ + kLanes - 1) / kLanes;
  const int row = 2 * pairs_;
  const int pixels = std::max(1, p.out_h * p.out_w);
  block_pixels_ = std::clamp(int(kPatchBytes / sizeof(std::int16_t)) / std::max(row, 1) / kTilePixels * kTilePixels,
                             kTilePixels, round_up(pixels, kTilePixels));

  // Runtime layout [out_c][kernel_h][kernel_w][group_in_c] = [out_c][depth].
  const std::size_t block_size = std::size_t(pairs_) * kLanes * 2;
  weights_.assign(std::size_t(p.groups) * std::size_t(oc_blocks_) * block_size, 0);
  for (int g = 0; g < p.groups; ++g)
    for (int j = 0; j < group_out_c_; ++j) {
      const std::int8_t* src = weights + std::size_t(g * group_out_c_ + j) * std::size_t(depth_);
      std::int16_t* block =
          weights_.data() + (std::size_t(g) * std::size_t(oc_blocks_) + std::size_t(j / kLanes)) * block_size;
      for (int d = 0; d < depth_; ++d)
        block[std::size_t(d / 2) * kLanes * 2 + std::size_t(j % kLanes) * 2 + d % 2] = src[d];
    }
  std::vector<int> channel_of(std::size_t(p.groups * oc_blocks_ * kLanes), -1);
  for (int g = 0; g < p.groups; ++g)
    for (int j = 0; j < group_out_c_; ++j)
      channel_of[std::size_t((g * oc_blocks_) * kLanes + j)] = g * group_out_c_ + j;
  epilogue_ = RequantBlocks(bias, p.requant, channel_of, p.output_offset, p.act_min, p.act_max);
  p_.requant = {};  // the epilogue holds its own copy: nothing points into the caller's arrays
}

PackedConv PackedConv::dense(const rt::DenseParams& d, const std::int8_t* weights, const std::int32_t* bias) {
  rt::ConvParams p{};
  p.batch = 1;
  p.in_h = p.out_h = d.rows;
  p.in_w = p.out_w = 1;
  p.in_c = d.in_features;
  p.out_c = d.out_features;
  p.kernel_h = p.kernel_w = p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = p.groups = 1;
  p.input_offset = d.input_offset;
  p.output_offset = d.output_offset;
  p.act_min = d.act_min;
  p.act_max = d.act_max;
  p.requant = d.requant;
  return PackedConv(p, weights, bias);
}

std::size_t PackedConv::scratch_elements() const { return std::size_t(block_pixels_) * 2 * std::size_t(pairs_); }

void PackedConv::run(const std::int8_t* input, std::int8_t* output, std::int16_t* scratch) const {
  const std::size_t in_image = std::size_t(p_.in_h) * std::size_t(p_.in_w) * std::size_t(p_.in_c);
  const std::size_t out_image = std::size_t(p_.out_h) * std::size_t(p_.out_w) * std::size_t(p_.out_c);
  for (int b = 0; b < p_.batch; ++b)
    run_image(input + std::size_t(b) * in_image, output + std::size_t(b) * out_image, scratch);
}

// The runtime's im2col patch (input offset added, padded taps 0) of `pixels` consecutive
// output pixels for one group, one row of 2 * pairs_ int16 each; rows past `pixels` up to
// the next tile are zero so the last tile reads defined values.
void PackedConv::build_patches(const std::int8_t* image, int group, int first_pixel, int pixels,
                               std::int16_t* patches) const {
  const std::size_t row = 2 * std::size_t(pairs_);
  const std::int16_t offset = std::int16_t(p_.input_offset);
  for (int i = 0; i < pixels; ++i) {
    const int pixel = first_pixel + i;
    const int oy = pixel / p_.out_w, ox = pixel % p_.out_w;
    const int y0 = oy * p_.stride_h - p_.pad_top, x0 = ox * p_.stride_w - p_.pad_left;
    std::int16_t* dst = patches + std::size_t(i) * row;
    for (int ty = 0; ty < p_.kernel_h; ++ty) {
      const int iy = y0 + ty * p_.dilation_h;
      for (int tx = 0; tx < p_.kernel_w; ++tx) {
        const int ix = x0 + tx * p_.dilation_w;
        if (iy < 0 || iy >= p_.in_h || ix < 0 || ix >= p_.in_w) {
          std::fill_n(dst, group_in_c_, std::int16_t(0));
        } else {
          const std::int8_t* src = image +
                                   (std::size_t(iy) * std::size_t(p_.in_w) + std::size_t(ix)) * std::size_t(p_.in_c) +
                                   std::size_t(group) * std::size_t(group_in_c_);
          for (int c = 0; c < group_in_c_; ++c) dst[c] = std::int16_t(src[c] + offset);
        }
        dst += group_in_c_;
      }
    }
    if (depth_ % 2 != 0) *dst = 0;
  }
  const int padded = round_up(pixels, kTilePixels);
  std::fill(patches + std::size_t(pixels) * row, patches + std::size_t(padded) * row, std::int16_t(0));
}

void PackedConv::run_image(const std::int8_t* image, std::int8_t* output, std::int16_t* scratch) const {
  const int pixels = p_.out_h * p_.out_w;
  const std::size_t row = 2 * std::size_t(pairs_);
  const std::size_t block_size = std::size_t(pairs_) * kLanes * 2;
  alignas(32) std::int32_t acc[kTilePixels * kMaxBlocks * kLanes];
  for (int g = 0; g < p_.groups; ++g)
    for (int first = 0; first < pixels; first += block_pixels_) {
      const int count = std::min(block_pixels_, pixels - first);
      build_patches(image, g, first, count, scratch);
      for (int ob = 0; ob < oc_blocks_; ob += kMaxBlocks) {
        const int blocks = std::min(kMaxBlocks, oc_blocks_ - ob);
        const int channels = std::min(blocks * kLanes, group_out_c_ - ob * kLanes);
        const int first_oc = g * group_out_c_ + ob * kLanes;
        const std::int16_t* w =
            weights_.data() + (std::size_t(g) * std::size_t(oc_blocks_) + std::size_t(ob)) * block_size;
        for (int t = 0; t < count; t += kTilePixels) {
          dot_tile(scratch + std::size_t(t) * row, row, w, block_size, pairs_, blocks, acc);
          const int tile = std::min(kTilePixels, count - t);
          for (int i = 0; i < tile; ++i) {
            std::int8_t* out = output + std::size_t(first + t + i) * std::size_t(p_.out_c) + std::size_t(first_oc);
            for (int b = 0; b < blocks; ++b) {
              const std::int32_t* a = acc + (i * kMaxBlocks + b) * kLanes;
              const int block = g * oc_blocks_ + ob + b;
              const int lanes = std::min(kLanes, channels - b * kLanes);
              if (lanes == kLanes)
                epilogue_.run(block, a, out + b * kLanes);
              else
                epilogue_.run_partial(block, a, out + b * kLanes, lanes);
            }
          }
        }
      }
    }
}

}  // namespace tinyq::int8
