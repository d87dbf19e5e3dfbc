#include "frontend/tflite/tflite_slice_axes.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace tinyq::tflite {

AxisSlice resolve_strided_slice_axis(const std::string& where, const StridedSliceOptions& o, std::size_t d,
                                     std::int64_t dim, std::int64_t begin, std::int64_t end, std::int64_t step) {
  constexpr std::int64_t kBound = std::int64_t{1} << 40;  // keeps the arithmetic below in range
  begin = std::clamp(begin, -kBound, kBound);
  end = std::clamp(o.offset ? begin + std::clamp(end, -kBound, kBound) : end, -kBound, kBound);
  if (step == 0 || step < -kBound || step > kBound) fail(where, "stride {} on axis {} is not supported", step, d);
  const auto bit = [&](int mask) { return (mask >> d) & 1; };
  AxisSlice a;
  if (bit(o.shrink_axis_mask)) {
    const std::int64_t at = begin < 0 ? begin + dim : begin;
    if (at < 0 || at >= dim) fail(where, "index {} is outside axis {} of size {}", begin, d, dim);
    a.start = at, a.count = 1, a.removed = true;
    return a;
  }
  auto position = [&](std::int64_t p, bool masked, bool is_begin) {
    if (masked) return step > 0 ? (is_begin ? 0 : dim) : (is_begin ? dim - 1 : -1);
    if (p < 0) p += dim;
    return step > 0 ? std::clamp<std::int64_t>(p, 0, dim) : std::clamp<std::int64_t>(p, -1, dim - 1);
  };
  const std::int64_t first = position(begin, bit(o.begin_mask), true);
  const std::int64_t last = position(end, bit(o.end_mask), false);
  const std::int64_t span = step > 0 ? last - first : first - last;
  const std::int64_t magnitude = step > 0 ? step : -step;
  a.start = first;
  a.step = step;
  a.count = span > 0 ? (span + magnitude - 1) / magnitude : 0;
  return a;
}

}  // namespace tinyq::tflite
