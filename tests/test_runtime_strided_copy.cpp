// strided_copy_s8 (Slice, Gather with constant indices, Transpose), byte for byte against
// each op's own definition on multi-indices, over random shapes up to rank 6.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::Random;
using tinyq_test::same_bytes;

namespace {

using Dims = std::vector<std::int32_t>;

std::int32_t product(const Dims& d) { return std::accumulate(d.begin(), d.end(), 1, std::multiplies<>()); }

Dims row_major_strides(const Dims& shape) {
  Dims s(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

// Row-major multi-index of flat position `flat` over `shape`.
Dims coords(std::int32_t flat, const Dims& shape) {
  Dims c(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    c[d] = flat % shape[d];
    flat /= shape[d];
  }
  return c;
}

std::int32_t flat_of(const Dims& c, const Dims& shape) {
  std::int32_t f = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) f = f * shape[d] + c[d];
  return f;
}

Dims random_shape(Random& rng, int rank) {
  Dims s;
  for (int d = 0; d < rank; ++d) s.push_back(rng.uniform(1, rank > 4 ? 3 : 5));
  return s;
}

// Runs the kernel into a buffer with guard bytes after the output: it must write exactly
// the output and nothing past it.
std::vector<std::int8_t> run(const rt::StridedCopyParams& p, const std::vector<std::int8_t>& input,
                             std::size_t out_count) {
  std::vector<std::int8_t> out(out_count + 16, 0x55);
  rt::strided_copy_s8(p, input.data(), out.data());
  for (std::size_t i = out_count; i < out.size(); ++i) EXPECT_EQ(out[i], 0x55) << "wrote past the output";
  out.resize(out_count);
  return out;
}

TEST(RuntimeStridedCopy, TransposeMovesEveryElementToItsPermutedPosition) {
  Random rng(800);
  for (int i = 0; i < 400; ++i) {
    const int rank = rng.uniform(1, rt::kMaxCopyRank);
    const Dims in_shape = random_shape(rng, rank), in_stride = row_major_strides(in_shape);
    std::vector<int> perm(static_cast<std::size_t>(rank));
    std::iota(perm.begin(), perm.end(), 0);
    for (int k = rank - 1; k > 0; --k) std::swap(perm[std::size_t(k)], perm[std::size_t(rng.uniform(0, k))]);
    Dims shape, stride;
    for (int a : perm) {
      shape.push_back(in_shape[std::size_t(a)]);
      stride.push_back(in_stride[std::size_t(a)]);
    }
    const auto input = rng.activations(std::size_t(product(in_shape)));
    const rt::StridedCopyParams p{rank, shape.data(), stride.data(), 0, -1, nullptr};
    std::vector<std::int8_t> want(input.size());
    for (std::int32_t o = 0; o < product(shape); ++o) {
      const Dims out_c = coords(o, shape);
      Dims in_c(static_cast<std::size_t>(rank));
      for (int d = 0; d < rank; ++d) in_c[std::size_t(perm[std::size_t(d)])] = out_c[std::size_t(d)];
      want[std::size_t(o)] = input[std::size_t(flat_of(in_c, in_shape))];
    }
    ASSERT_TRUE(same_bytes(run(p, input, want.size()), want)) << "case " << i;
  }
}

TEST(RuntimeStridedCopy, SliceTakesEveryStepthElementForwardOrBackward) {
  Random rng(801);
  int backward = 0;
  for (int i = 0; i < 400; ++i) {
    const int rank = rng.uniform(1, 4);
    const Dims in_shape = random_shape(rng, rank), in_stride = row_major_strides(in_shape);
    Dims start, step, shape, stride;
    std::int32_t offset = 0;
    for (int d = 0; d < rank; ++d) {
      const std::int32_t dim = in_shape[std::size_t(d)];
      const std::int32_t st = rng.pick({1, 1, 2, 3, -1, -2});
      const std::int32_t s = rng.uniform(0, dim - 1);
      const std::int32_t room = st > 0 ? (dim - s + st - 1) / st : s / -st + 1;  // elements available
      start.push_back(s);
      step.push_back(st);
      shape.push_back(rng.uniform(1, room));
      stride.push_back(st * in_stride[std::size_t(d)]);
      offset += s * in_stride[std::size_t(d)];
      backward += st < 0;
    }
    const auto input = rng.activations(std::size_t(product(in_shape)));
    const rt::StridedCopyParams p{rank, shape.data(), stride.data(), offset, -1, nullptr};
    std::vector<std::int8_t> want(std::size_t(product(shape)));
    for (std::int32_t o = 0; o < product(shape); ++o) {
      Dims c = coords(o, shape);
      for (int d = 0; d < rank; ++d)
        c[std::size_t(d)] = start[std::size_t(d)] + c[std::size_t(d)] * step[std::size_t(d)];
      want[std::size_t(o)] = input[std::size_t(flat_of(c, in_shape))];
    }
    ASSERT_TRUE(same_bytes(run(p, input, want.size()), want)) << "case " << i;
  }
  EXPECT_GT(backward, 100);
}

TEST(RuntimeStridedCopy, GatherTakesTheListedIndicesOfOneAxis) {
  Random rng(802);
  for (int i = 0; i < 400; ++i) {
    const int rank = rng.uniform(1, 5);
    const Dims in_shape = random_shape(rng, rank), in_stride = row_major_strides(in_shape);
    const int axis = rng.uniform(0, rank - 1);
    Dims indices, offsets;
    for (int k = rng.uniform(1, 6); k > 0; --k) {
      indices.push_back(rng.uniform(0, in_shape[std::size_t(axis)] - 1));  // repeats allowed
      offsets.push_back(indices.back() * in_stride[std::size_t(axis)]);
    }
    Dims shape = in_shape;
    shape[std::size_t(axis)] = std::int32_t(indices.size());
    Dims stride = in_stride;
    stride[std::size_t(axis)] = 0;  // ignored on the index axis
    const auto input = rng.activations(std::size_t(product(in_shape)));
    const rt::StridedCopyParams p{rank, shape.data(), stride.data(), 0, axis, offsets.data()};
    std::vector<std::int8_t> want(std::size_t(product(shape)));
    for (std::int32_t o = 0; o < product(shape); ++o) {
      Dims c = coords(o, shape);
      c[std::size_t(axis)] = indices[std::size_t(c[std::size_t(axis)])];
      want[std::size_t(o)] = input[std::size_t(flat_of(c, in_shape))];
    }
    ASSERT_TRUE(same_bytes(run(p, input, want.size()), want)) << "case " << i;
  }
}

TEST(RuntimeStridedCopy, ChannelShuffleOfTwoGroupsInterleavesTheHalves) {
  // Two NHWC pixels of 4 channels viewed as [pixel, group 2, 2] and read as [pixel, 2, group]:
  // ShuffleNet's shuffle puts channel 2 (first of group 1) second.
  const std::vector<std::int8_t> input{0, 1, 2, 3, 10, 11, 12, 13};
  const std::int32_t shape[] = {2, 2, 2}, stride[] = {4, 1, 2};
  const rt::StridedCopyParams p{3, shape, stride, 0, -1, nullptr};
  EXPECT_TRUE(same_bytes(run(p, input, 8), {0, 2, 1, 3, 10, 12, 11, 13}));
}

}  // namespace
