// The host int8 executor's table fast path for add/sub/mul (exec/int8/binary_table) against
// rt::add_s8 / rt::mul_s8 on random parameters and broadcast shapes: same bytes.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "exec/int8/binary_table.hpp"
#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq::int8::BinaryTable;
using tinyq_test::Random;
using tinyq_test::same_bytes;

namespace {

// A random output shape and, per input, which axes it broadcasts over (stride 0).
struct Operands {
  rt::BroadcastShape shape{};
  std::vector<std::int8_t> a, b;
};

Operands random_operands(Random& rng) {
  Operands o;
  std::array<int, 4> a_dims{}, b_dims{};
  for (int i = 0; i < 4; ++i) {
    o.shape.shape[i] = rng.chance(0.3) ? 1 : rng.uniform(1, 9);
    a_dims[std::size_t(i)] = rng.chance(0.2) ? 1 : o.shape.shape[i];
    b_dims[std::size_t(i)] = rng.chance(0.2) ? 1 : o.shape.shape[i];
  }
  auto strides = [](const std::array<int, 4>& dims, std::int32_t* dst) {
    std::int32_t stride = 1;
    for (int i = 3; i >= 0; --i) {
      dst[i] = dims[std::size_t(i)] == 1 ? 0 : stride;
      stride *= dims[std::size_t(i)];
    }
    return std::size_t(stride);
  };
  o.a = rng.activations(strides(a_dims, o.shape.a_strides));
  o.b = rng.activations(strides(b_dims, o.shape.b_strides));
  return o;
}

std::size_t output_size(const rt::BroadcastShape& s) {
  return std::size_t(s.shape[0]) * std::size_t(s.shape[1]) * std::size_t(s.shape[2]) * std::size_t(s.shape[3]);
}

TEST(Int8BinaryTable, AddSameBytesAsRuntimeOverRandomParamsAndBroadcasts) {
  Random rng(31);
  for (int i = 0; i < 200 && !HasFailure(); ++i) {
    rt::AddParams p{};
    p.a_offset = rng.input_offset();
    p.b_offset = rng.input_offset();
    p.output_offset = rng.output_offset();
    p.left_shift = rng.chance(0.8) ? 20 : rng.uniform(0, 22);
    // Input rescales below 1 (<= 1/2 as TFLite's), the sign of b's flipped for Sub.
    p.a_multiplier = rng.q31();
    p.a_shift = rng.uniform(-8, 0);
    p.b_multiplier = rng.q31() * (rng.chance(0.3) ? -1 : 1);
    p.b_shift = rng.uniform(-8, 0);
    p.output_multiplier = rng.q31();
    p.output_shift = rng.uniform(-24, 0);
    std::tie(p.act_min, p.act_max) = rng.activation_range(p.output_offset);
    const Operands o = random_operands(rng);
    std::vector<std::int8_t> want(output_size(o.shape)), got(want.size());
    rt::add_s8(p, o.shape, o.a.data(), o.b.data(), want.data());
    BinaryTable::add(p).run(o.shape, o.a.data(), o.b.data(), got.data());
    EXPECT_TRUE(same_bytes(got, want)) << "case " << i;
  }
}

TEST(Int8BinaryTable, MulSameBytesAsRuntimeOverRandomParamsAndBroadcasts) {
  Random rng(32);
  for (int i = 0; i < 200 && !HasFailure(); ++i) {
    rt::MulParams p{};
    p.a_offset = rng.input_offset();
    p.b_offset = rng.input_offset();
    p.output_offset = rng.output_offset();
    p.output_multiplier = rng.q31() * (rng.chance(0.2) ? -1 : 1);
    p.output_shift = rng.uniform(-20, 0);
    std::tie(p.act_min, p.act_max) = rng.activation_range(p.output_offset);
    const Operands o = random_operands(rng);
    std::vector<std::int8_t> want(output_size(o.shape)), got(want.size());
    rt::mul_s8(p, o.shape, o.a.data(), o.b.data(), want.data());
    BinaryTable::mul(p).run(o.shape, o.a.data(), o.b.data(), got.data());
    EXPECT_TRUE(same_bytes(got, want)) << "case " << i;
  }
}

}  // namespace
