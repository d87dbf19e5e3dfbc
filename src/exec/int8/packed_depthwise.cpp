#include "exec/int8/packed_depthwise.hpp"

#include <algorithm>

namespace tinyq::int8 {

namespace {

// a + b modulo 2^32: the runtime's int32 sums, without signed-overflow undefined behaviour.
inline std::int32_t wrapping_add(std::int32_t a, std::int32_t b) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b));
}

// The taps [first, last) of one kernel axis that land inside the input (the runtime
// narrows its loops the same way; padded taps add nothing).
struct Taps {
  int first, last;
};
Taps valid_taps(int start, int kernel, int dilation, int size) {
  int first = 0;
  while (first < kernel && start + first * dilation < 0) ++first;
  int last = first;
  while (last < kernel && start + last * dilation < size) ++last;
  return {first, last};
}

}  // namespace

PackedDepthwise::PackedDepthwise(const rt::ConvParams& p, const std::int8_t* weights, const std::int32_t* bias)
    : p_(p), multiplier_(std::max(1, p.out_c / std::max(1, p.in_c))) {
  weights_.assign(weights, weights + std::size_t(p.kernel_h) * std::size_t(p.kernel_w) * std::size_t(p.out_c));
  source_.resize(std::size_t(p.out_c));
  for (int o = 0; o < p.out_c; ++o) source_[std::size_t(o)] = o / multiplier_;
  lanes_ = (p.out_c + RequantBlocks::kLanes - 1) / RequantBlocks::kLanes * RequantBlocks::kLanes;
  std::vector<int> channel_of(std::size_t(lanes_), -1);
  for (int o = 0; o < p.out_c; ++o) channel_of[std::size_t(o)] = o;
  epilogue_ = RequantBlocks(bias, p.requant, channel_of, p.output_offset, p.act_min, p.act_max);
  p_.requant = {};  // the epilogue holds its own copy: nothing points into the caller's arrays
}

std::size_t PackedDepthwise::scratch_elements() const { return std::size_t(lanes_) + std::size_t(p_.out_c); }

void PackedDepthwise::run(const std::int8_t* input, std::int8_t* output, std::int32_t* scratch) const {
  const std::size_t out_c = std::size_t(p_.out_c);
  std::int32_t* acc = scratch;               // [lanes_]: wrapping sums held as int32
  std::int32_t* shifted = scratch + lanes_;  // one tap's inputs plus the offset, per output channel
  const std::int32_t* w_all = weights_.data();
  for (int b = 0; b < p_.batch; ++b) {
    const std::int8_t* image =
        input + std::size_t(b) * std::size_t(p_.in_h) * std::size_t(p_.in_w) * std::size_t(p_.in_c);
    for (int oy = 0; oy < p_.out_h; ++oy) {
      const int y0 = oy * p_.stride_h - p_.pad_top;
      const Taps ky = valid_taps(y0, p_.kernel_h, p_.dilation_h, p_.in_h);
      for (int ox = 0; ox < p_.out_w; ++ox) {
        const int x0 = ox * p_.stride_w - p_.pad_left;
        const Taps kx = valid_taps(x0, p_.kernel_w, p_.dilation_w, p_.in_w);
        std::fill_n(acc, lanes_, 0);  // the epilogue adds the bias
        for (int ty = ky.first; ty < ky.last; ++ty) {
          const int iy = y0 + ty * p_.dilation_h;
          for (int tx = kx.first; tx < kx.last; ++tx) {
            const int ix = x0 + tx * p_.dilation_w;
            const std::int8_t* in =
                image + (std::size_t(iy) * std::size_t(p_.in_w) + std::size_t(ix)) * std::size_t(p_.in_c);
            const std::int32_t* w = w_all + (std::size_t(ty) * std::size_t(p_.kernel_w) + std::size_t(tx)) * out_c;
            if (multiplier_ == 1) {
              // |q + offset| <= 255 and |w| <= 128: the product and the running sums of the
              // host-checked accumulator fit, so plain int32 arithmetic equals the runtime's.
              for (std::size_t o = 0; o < out_c; ++o)
                acc[o] = wrapping_add(acc[o], (std::int32_t(in[o]) + p_.input_offset) * w[o]);
            } else {
              for (std::size_t o = 0; o < out_c; ++o) shifted[o] = std::int32_t(in[source_[o]]) + p_.input_offset;
              for (std::size_t o = 0; o < out_c; ++o) acc[o] = wrapping_add(acc[o], shifted[o] * w[o]);
            }
          }
        }
        for (int o = 0; o < p_.out_c; o += RequantBlocks::kLanes) {
          const int lanes = std::min(RequantBlocks::kLanes, p_.out_c - o);
          if (lanes == RequantBlocks::kLanes)
            epilogue_.run(o / RequantBlocks::kLanes, acc + o, output + o);
          else
            epilogue_.run_partial(o / RequantBlocks::kLanes, acc + o, output + o, lanes);
        }
        output += p_.out_c;
      }
    }
  }
}

}  // namespace tinyq::int8
