// resize_bilinear_s8 bit-exact against a plain reference of its contract (kernels.hpp): the
// four Q10 x Q10 products, round half up at 2^20, extrapolated points, batches and channels.
#include <cstdint>
#include <vector>

#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::Random;
using tinyq_test::same_bytes;

namespace {

TEST(RuntimeResizeBilinear, MatchesTheContractOnRandomTables) {
  Random rng(811);
  int extrapolated = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const int batch = rng.uniform(1, 2), in_h = rng.uniform(1, 6), in_w = rng.uniform(1, 6),
              channels = rng.uniform(1, 5), out_h = rng.uniform(1, 9), out_w = rng.uniform(1, 9);
    auto table = [&](int out, int in, std::vector<std::int32_t>& index, std::vector<std::int32_t>& weight) {
      for (int o = 0; o < out; ++o) {
        const bool outside = rng.chance(0.05);
        index.push_back(outside ? -1 : rng.uniform(0, in - 1));
        index.push_back(rng.uniform(0, in - 1));
        const int w1 = rng.pick({0, 1, 511, 512, 513, 1023, 1024, rng.uniform(0, 1024)});
        weight.push_back(1024 - w1);
        weight.push_back(w1);
      }
    };
    std::vector<std::int32_t> yi, yw, xi, xw;
    table(out_h, in_h, yi, yw);
    table(out_w, in_w, xi, xw);
    const std::vector<std::int8_t> in = rng.activations(static_cast<std::size_t>(batch * in_h * in_w * channels));
    rt::ResizeBilinearParams p{};
    p.batch = batch;
    p.in_h = in_h;
    p.in_w = in_w;
    p.channels = channels;
    p.out_h = out_h;
    p.out_w = out_w;
    p.y_index = yi.data();
    p.y_weight = yw.data();
    p.x_index = xi.data();
    p.x_weight = xw.data();
    p.extrapolation = static_cast<std::int8_t>(rng.uniform(-128, 127));

    std::vector<std::int8_t> want;
    for (int b = 0; b < batch; ++b)
      for (int oy = 0; oy < out_h; ++oy)
        for (int ox = 0; ox < out_w; ++ox)
          for (int c = 0; c < channels; ++c) {
            if (yi[2 * oy] < 0 || xi[2 * ox] < 0) {
              want.push_back(p.extrapolation);
              ++extrapolated;
              continue;
            }
            std::int64_t acc = 0;
            for (int i = 0; i < 2; ++i)
              for (int j = 0; j < 2; ++j)
                acc += std::int64_t(yw[2 * oy + i]) * xw[2 * ox + j] *
                       in[std::size_t(((b * in_h + yi[2 * oy + i]) * in_w + xi[2 * ox + j]) * channels + c)];
            const std::int64_t v = (acc + (std::int64_t(1) << 19)) >> 20;
            want.push_back(std::int8_t(v < -128 ? -128 : (v > 127 ? 127 : v)));
          }
    std::vector<std::int8_t> got(want.size(), 0x55);
    rt::resize_bilinear_s8(p, in.data(), got.data());
    ASSERT_TRUE(same_bytes(got, want)) << "trial " << trial;
  }
  EXPECT_GT(extrapolated, 0);
}

}  // namespace
