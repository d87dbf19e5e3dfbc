#pragma once
// Host-only fast path for the runtime's int8 binary ops (add/sub, mul): their output
// depends only on the two int8 operands, so the runtime kernel itself fills a 256 x 256
// table of every result once, and each element is then one lookup instead of up to three
// 64-bit requantizations. Exact by construction: every entry is the kernel's own output.
#include <cstdint>
#include <vector>

#include "tinyq/kernels.hpp"

namespace tinyq::int8 {

class BinaryTable {
 public:
  // The tables of rt::add_s8 and rt::mul_s8 with these parameters.
  static BinaryTable add(const rt::AddParams& p);
  static BinaryTable mul(const rt::MulParams& p);

  // Same contract as the runtime kernels (output contiguous over s.shape, inputs through
  // their strides).
  void run(const rt::BroadcastShape& s, const std::int8_t* a, const std::int8_t* b, std::int8_t* output) const;

 private:
  template <typename Kernel>
  static BinaryTable fill(const Kernel& kernel);
  std::vector<std::int8_t> table_;  // [a + 128][b + 128]
};

}  // namespace tinyq::int8
