// matmul_s8 bit-exact against a scalar int64 reference of its contract (kernels.hpp): random
// shapes, zero points, multipliers, clamps, and batches with either operand shared.
#include <cstdint>
#include <vector>

#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::Random;
using tinyq_test::same_bytes;

namespace {

// The contract written out in int64, independently of requantize(): one rounding, half up.
std::vector<std::int8_t> reference(const rt::MatMulParams& p, const std::vector<std::int8_t>& a,
                                   const std::vector<std::int8_t>& b) {
  std::vector<std::int8_t> out;
  for (std::int64_t batch = 0; batch < p.batch; ++batch)
    for (std::int64_t i = 0; i < p.m; ++i)
      for (std::int64_t j = 0; j < p.n; ++j) {
        std::int64_t acc = 0;
        for (std::int64_t t = 0; t < p.k; ++t)
          acc += std::int64_t(a[std::size_t(batch * p.a_batch_stride + i * p.k + t)] + p.a_offset) *
                 (b[std::size_t(batch * p.b_batch_stride + t * p.n + j)] + p.b_offset);
        const int s = 31 - p.output_shift;
        std::int64_t v = p.output_offset + ((acc * p.output_multiplier + (std::int64_t(1) << (s - 1))) >> s);
        v = v < p.act_min ? p.act_min : (v > p.act_max ? p.act_max : v);
        out.push_back(std::int8_t(v));
      }
  return out;
}

TEST(RuntimeMatMul, MatchesAnInt64ReferenceOnRandomShapes) {
  Random rng(1109);
  int shared = 0, clamped = 0;
  for (int trial = 0; trial < 500; ++trial) {
    rt::MatMulParams p{};
    p.batch = rng.uniform(1, 4);
    p.m = rng.uniform(1, 9);
    p.k = rng.pick({1, 2, 3, 7, 16, 33, rng.uniform(1, 64)});
    p.n = rng.uniform(1, 9);
    const bool a_shared = rng.chance(0.25), b_shared = rng.chance(0.25);
    shared += a_shared || b_shared;
    p.a_batch_stride = a_shared ? 0 : p.m * p.k;
    p.b_batch_stride = b_shared ? 0 : p.k * p.n;
    p.a_offset = rng.pick({-127, 128, 0, rng.uniform(-127, 128)});
    p.b_offset = rng.pick({-127, 128, 0, rng.uniform(-127, 128)});
    p.output_offset = rng.uniform(-128, 127);
    p.output_multiplier = rng.pick({1 << 30, 0x7fffffff, int(rng.uniform64(1 << 30, 0x7fffffff))});
    // Shifts that keep the requantized accumulator inside int32 (the host's guarantee).
    p.output_shift = rng.uniform(-20, 0);
    if (rng.chance(0.1) && std::int64_t(p.k) * 65025 * 2 <= INT32_MAX) p.output_shift = 1;
    p.act_min = rng.chance(0.3) ? rng.uniform(-128, 0) : -128;
    p.act_max = rng.chance(0.3) ? rng.uniform(p.act_min, 127) : 127;
    clamped += p.act_min > -128 || p.act_max < 127;
    const std::vector<std::int8_t> a = rng.activations(std::size_t((a_shared ? 1 : p.batch) * p.m * p.k));
    const std::vector<std::int8_t> b = rng.activations(std::size_t((b_shared ? 1 : p.batch) * p.k * p.n));
    std::vector<std::int8_t> out(std::size_t(p.batch * p.m * p.n), 0x55);
    rt::matmul_s8(p, a.data(), b.data(), out.data());
    ASSERT_TRUE(same_bytes(out, reference(p, a, b)))
        << "trial " << trial << " batch " << p.batch << " m " << p.m << " k " << p.k << " n " << p.n;
  }
  EXPECT_GT(shared, 50);
  EXPECT_GT(clamped, 50);
}

// The extreme accumulator: k = 33025 products of 255 * 255 (offsets 128 on bytes 127, and
// -127 on -128) is exactly the largest the host allows, and stays exact.
TEST(RuntimeMatMul, LargestInnerDimensionIsExact) {
  rt::MatMulParams p{};
  p.batch = 1, p.m = 1, p.k = 33025, p.n = 1;
  p.a_batch_stride = p.k, p.b_batch_stride = p.k;
  p.a_offset = 128, p.b_offset = 128;
  p.output_offset = 0;
  p.output_multiplier = 1 << 30, p.output_shift = -30;  // 2^-31: acc / 2^31, rounds to 1
  p.act_min = -128, p.act_max = 127;
  const std::vector<std::int8_t> a(std::size_t(p.k), 127), b(std::size_t(p.k), 127);
  std::int8_t out = 0;
  rt::matmul_s8(p, a.data(), b.data(), &out);
  EXPECT_EQ(out, reference(p, a, b)[0]);
  EXPECT_EQ(out, 1);  // 33025 * 65025 = 2147450625 = 2^31 - 33023: half up gives 1
}

}  // namespace
