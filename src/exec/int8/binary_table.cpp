#include "exec/int8/binary_table.hpp"

#include <cstddef>

namespace tinyq::int8 {

namespace {

constexpr std::int32_t kPairs = 256 * 256;

std::size_t index(std::int8_t a, std::int8_t b) {
  return std::size_t(std::uint8_t(a + 128)) << 8 | std::size_t(std::uint8_t(b + 128));
}

}  // namespace

template <typename Kernel>
BinaryTable BinaryTable::fill(const Kernel& kernel) {
  // Every (a, b) pair in table order, run through the kernel in one call.
  std::vector<std::int8_t> a(kPairs), b(kPairs);
  for (std::int32_t i = 0; i < kPairs; ++i) {
    a[std::size_t(i)] = std::int8_t((i >> 8) - 128);
    b[std::size_t(i)] = std::int8_t((i & 255) - 128);
  }
  const rt::BroadcastShape flat{{1, 1, 1, kPairs}, {0, 0, 0, 1}, {0, 0, 0, 1}};
  BinaryTable t;
  t.table_.resize(kPairs);
  kernel(flat, a.data(), b.data(), t.table_.data());
  return t;
}

BinaryTable BinaryTable::add(const rt::AddParams& p) {
  return fill([&](const rt::BroadcastShape& s, const std::int8_t* a, const std::int8_t* b, std::int8_t* out) {
    rt::add_s8(p, s, a, b, out);
  });
}

BinaryTable BinaryTable::mul(const rt::MulParams& p) {
  return fill([&](const rt::BroadcastShape& s, const std::int8_t* a, const std::int8_t* b, std::int8_t* out) {
    rt::mul_s8(p, s, a, b, out);
  });
}

void BinaryTable::run(const rt::BroadcastShape& s, const std::int8_t* a, const std::int8_t* b,
                      std::int8_t* output) const {
  const std::int8_t* table = table_.data();
  for (std::int32_t i0 = 0; i0 < s.shape[0]; ++i0)
    for (std::int32_t i1 = 0; i1 < s.shape[1]; ++i1)
      for (std::int32_t i2 = 0; i2 < s.shape[2]; ++i2) {
        const std::int8_t* ar = a + i0 * s.a_strides[0] + i1 * s.a_strides[1] + i2 * s.a_strides[2];
        const std::int8_t* br = b + i0 * s.b_strides[0] + i1 * s.b_strides[1] + i2 * s.b_strides[2];
        const std::int32_t as = s.a_strides[3], bs = s.b_strides[3];
        if (as == 1 && bs == 1) {  // the common case: same shapes, contiguous rows
          for (std::int32_t i3 = 0; i3 < s.shape[3]; ++i3) *output++ = table[index(ar[i3], br[i3])];
        } else {
          for (std::int32_t i3 = 0; i3 < s.shape[3]; ++i3) *output++ = table[index(ar[i3 * as], br[i3 * bs])];
        }
      }
}

}  // namespace tinyq::int8
