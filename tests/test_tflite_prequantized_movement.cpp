// Pre-quantized CONCATENATION, PAD, RESIZE_NEAREST_NEIGHBOR, STRIDED_SLICE and SPLIT: an int8
// model built here runs on the int8 executor as the byte copies TFLite Micro makes (pad with
// the zero point, or PADV2's value; channels of each input side by side; the source pixels and
// slice positions of TFLite Micro's reference kernels, transcribed below), and operands
// quantized differently are refused by name.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "exec/int8_executor.hpp"
#include "frontend/tflite/tflite_import.hpp"
#include "frontend/tflite/tflite_model.hpp"
#include "frontend/tflite/tflite_prequantized.hpp"
#include "test_tflite_builder.hpp"
#include "util/error.hpp"

namespace {

using namespace tinyq_tflite_test;
using tinyq::tflite::BuiltinOp;

const Quant kQ{{0.05f}, {-3}};

// x [1,3,3,2] -> PAD (H by 1/1, W by 1/0) -> p [1,5,4,2]; CONCATENATION(p, p2 = PADV2 of x
// with value 7) on channels -> y [1,5,4,4].
std::string pad_concat_model(const Quant& second_pad_quant) {
  TfliteBuilder b;
  const int x = b.tensor("x", fb::TensorType::INT8, {1, 3, 3, 2}, {}, &kQ);
  b.extra_input(x);
  const int pads = b.int32_constant("pads", {4, 2}, {0, 0, 1, 1, 1, 0, 0, 0});
  const int p = b.tensor("p", fb::TensorType::INT8, {1, 5, 4, 2}, {}, &kQ);
  b.op(BuiltinOp::Pad, {x, pads}, {p});
  const int value = b.int8_constant("value", {1}, {7}, second_pad_quant);
  const int p2 = b.tensor("p2", fb::TensorType::INT8, {1, 5, 4, 2}, {}, &second_pad_quant);
  b.op(BuiltinOp::PadV2, {x, pads, value}, {p2});
  const int y = b.tensor("y", fb::TensorType::INT8, {1, 5, 4, 4}, {}, &kQ);
  b.op(BuiltinOp::Concatenation, {p, p2}, {y}, fb::BuiltinOptions::ConcatenationOptions,
       fb::CreateConcatenationOptions(b.fbb(), 3, fb::ActivationFunctionType::NONE).Union());
  b.output(y);
  return b.finish();
}

tinyq::QGraph import(const std::string& bytes) {
  const auto model = tinyq::tflite::read_tflite_bytes(bytes.data(), bytes.size(), "m.tflite");
  return tinyq::import_prequantized_tflite(model, tinyq::import_tflite_bytes(bytes.data(), bytes.size(), "m.tflite"));
}

TEST(PrequantizedMovement, PadAndConcatCopyTheBytes) {
  const tinyq::QGraph q = import(pad_concat_model(kQ));
  tinyq::Tensor x(tinyq::DType::i8, {1, 3, 3, 2});
  auto xs = x.data<std::int8_t>();
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = std::int8_t(10 * int(i) - 80);
  const auto y = tinyq::Int8Executor(q).run_int8({x})[0];
  ASSERT_EQ(y.shape(), (tinyq::Shape{1, 5, 4, 4}));
  const auto ys = y.data<std::int8_t>();
  for (int h = 0; h < 5; ++h)
    for (int w = 0; w < 4; ++w)
      for (int c = 0; c < 4; ++c) {
        const bool inside = h >= 1 && h <= 3 && w >= 1;                    // pads: top 1, bottom 1, left 1, right 0
        const std::int8_t pad = c < 2 ? std::int8_t(-3) : std::int8_t(7);  // PAD: zero point; PADV2: its value
        const std::int8_t want = inside ? xs[std::size_t(((h - 1) * 3 + (w - 1)) * 2 + c % 2)] : pad;
        EXPECT_EQ(ys[std::size_t((h * 4 + w) * 4 + c)], want) << h << "," << w << "," << c;
      }
}

TEST(PrequantizedMovement, OperandsQuantizedDifferentlyAreRefusedByName) {
  const Quant other{{0.1f}, {0}};
  try {
    import(pad_concat_model(other));
    FAIL() << "a PADV2 whose output scale differs from its input imported";
  } catch (const tinyq::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("PADV2"), std::string::npos) << what;
    EXPECT_NE(what.find("quantized differently"), std::string::npos) << what;
  }
}

// ---- TFLite Micro's reference arithmetic (resize_nearest_neighbor.h, strided_slice_logic.h) ----

std::int32_t GetNearestNeighbor(int input_value, std::int32_t input_size, std::int32_t output_size, bool align_corners,
                                bool half_pixel_centers) {
  const float scale = (align_corners && output_size > 1) ? (input_size - 1) / static_cast<float>(output_size - 1)
                                                         : input_size / static_cast<float>(output_size);
  const float offset = half_pixel_centers ? 0.5f : 0.0f;
  std::int32_t output_value =
      std::min(align_corners ? static_cast<std::int32_t>(std::round((input_value + offset) * scale))
                             : static_cast<std::int32_t>(std::floor((input_value + offset) * scale)),
               input_size - 1);
  if (half_pixel_centers) output_value = std::max(static_cast<std::int32_t>(0), output_value);
  return output_value;
}

struct SliceArgs {
  std::vector<int> begin, end, strides;
  int begin_mask = 0, end_mask = 0, shrink_axis_mask = 0;
};
int StartForAxis(const SliceArgs& p, const Dims& shape, int axis) {
  const int axis_size = shape[std::size_t(axis)];
  int start = p.begin[std::size_t(axis)];
  const int stride = p.strides[std::size_t(axis)];
  if (start < 0) start += axis_size;
  start = stride > 0 ? std::clamp(start, 0, axis_size) : std::clamp(start, -1, axis_size - 1);
  if (p.begin_mask & 1 << axis) start = stride > 0 ? 0 : axis_size - 1;
  return start;
}
int EndForAxis(const SliceArgs& p, const Dims& shape, int axis, int start) {
  const int axis_size = shape[std::size_t(axis)];
  if (p.shrink_axis_mask & (1 << axis)) return start >= axis_size ? start : start + 1;
  int end = p.end[std::size_t(axis)];
  const int stride = p.strides[std::size_t(axis)];
  if (end < 0) end += axis_size;
  end = stride > 0 ? std::clamp(end, 0, axis_size) : std::clamp(end, -1, axis_size - 1);
  if (p.end_mask & 1 << axis) end = stride > 0 ? axis_size : -1;
  return end;
}
// The positions reference_ops::StridedSlice visits, per axis, in order.
std::vector<std::vector<int>> slice_positions(const SliceArgs& p, const Dims& shape) {
  std::vector<std::vector<int>> positions;
  for (int d = 0; d < int(shape.size()); ++d) {
    const int start = StartForAxis(p, shape, d), stop = EndForAxis(p, shape, d, start);
    const int stride = p.strides[std::size_t(d)];
    std::vector<int> axis;
    for (int i = start; stride > 0 ? i < stop : i > stop; i += stride) axis.push_back(i);
    positions.push_back(axis);
  }
  return positions;
}

std::vector<std::int8_t> random_bytes(std::mt19937& rng, std::size_t n) {
  std::vector<std::int8_t> v(n);
  for (auto& b : v) b = std::int8_t(std::uniform_int_distribution<int>(-128, 127)(rng));
  return v;
}

tinyq::Tensor bytes_tensor(const Dims& shape, const std::vector<std::int8_t>& values) {
  tinyq::Tensor t(tinyq::DType::i8, tinyq::Shape(shape.begin(), shape.end()));
  std::copy(values.begin(), values.end(), t.data<std::int8_t>().begin());
  return t;
}

TEST(PrequantizedMovement, ResizeNearestTakesTfliteMicrosSourcePixels) {
  std::mt19937 rng(21);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int k = 0; k < 120; ++k) {
    const Dims in{uniform(1, 2), uniform(1, 7), uniform(1, 7), uniform(1, 3)};
    const Dims out{in[0], uniform(1, 13), uniform(1, 13), in[3]};
    const bool align = k % 3 == 1, half = k % 3 == 2;  // not both: TensorFlow refuses that
    TfliteBuilder b;
    const int x = b.tensor("x", fb::TensorType::INT8, in, {}, &kQ);
    b.extra_input(x);
    const int size = b.int32_constant("size", {2}, {out[1], out[2]});
    const int y = b.tensor("y", fb::TensorType::INT8, out, {}, &kQ);
    b.op(BuiltinOp::ResizeNearestNeighbor, {x, size}, {y}, fb::BuiltinOptions::ResizeNearestNeighborOptions,
         fb::CreateResizeNearestNeighborOptions(b.fbb(), align, half).Union());
    b.output(y);
    const auto xs = random_bytes(rng, std::size_t(in[0] * in[1] * in[2] * in[3]));
    const auto got = tinyq::Int8Executor(import(b.finish())).run_int8({bytes_tensor(in, xs)})[0];
    const auto ys = got.data<std::int8_t>();
    ASSERT_EQ(ys.size(), std::size_t(out[0] * out[1] * out[2] * out[3]));
    std::size_t at = 0;
    for (int n = 0; n < out[0]; ++n)
      for (int oy = 0; oy < out[1]; ++oy)
        for (int ox = 0; ox < out[2]; ++ox)
          for (int c = 0; c < out[3]; ++c) {
            const int iy = GetNearestNeighbor(oy, in[1], out[1], align, half);
            const int ix = GetNearestNeighbor(ox, in[2], out[2], align, half);
            ASSERT_EQ(ys[at++], xs[std::size_t(((n * in[1] + iy) * in[2] + ix) * in[3] + c)])
                << "case " << k << " align " << align << " half " << half;
          }
  }
}

TEST(PrequantizedMovement, StridedSliceCopiesTfliteMicrosPositions) {
  std::mt19937 rng(22);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int cases = 0, negative_strides = 0, shrunk = 0;
  for (int k = 0; k < 400 && cases < 150; ++k) {
    const Dims in{uniform(1, 3), uniform(1, 6), uniform(1, 6), uniform(1, 5)};
    SliceArgs p;
    const int given = uniform(1, 4);  // axes past these keep everything
    for (int d = 0; d < given; ++d) {
      p.begin.push_back(uniform(-7, 7));
      p.end.push_back(uniform(-7, 7));
      p.strides.push_back(uniform(0, 3) == 0 ? -uniform(1, 2) : uniform(1, 3));
    }
    p.begin_mask = uniform(0, 15) & ((1 << given) - 1);
    p.end_mask = uniform(0, 15) & ((1 << given) - 1);
    p.shrink_axis_mask = uniform(0, 3) == 0 ? (1 << uniform(0, given - 1)) & ~p.begin_mask : 0;
    for (int d = 0; d < given; ++d)
      if (p.shrink_axis_mask & (1 << d)) {  // an index inside the axis, a forward stride
        p.begin[std::size_t(d)] = uniform(-in[std::size_t(d)], in[std::size_t(d)] - 1);
        p.strides[std::size_t(d)] = uniform(1, 2);
      }
    SliceArgs full = p;
    for (int d = given; d < 4; ++d)
      full.begin.push_back(0), full.end.push_back(in[std::size_t(d)]), full.strides.push_back(1);
    const auto positions = slice_positions(full, in);
    Dims out;
    bool empty = false;
    for (int d = 0; d < 4; ++d) {
      empty |= positions[std::size_t(d)].empty();
      if (!(p.shrink_axis_mask & (1 << d))) out.push_back(std::int32_t(positions[std::size_t(d)].size()));
    }
    if (empty) continue;  // TFLite Micro would write an empty tensor (not supported)
    TfliteBuilder b;
    const int x = b.tensor("x", fb::TensorType::INT8, in, {}, &kQ);
    b.extra_input(x);
    const int bt = b.int32_constant("begin", {given}, {p.begin.begin(), p.begin.end()});
    const int et = b.int32_constant("end", {given}, {p.end.begin(), p.end.end()});
    const int st = b.int32_constant("strides", {given}, {p.strides.begin(), p.strides.end()});
    const int y = b.tensor("y", fb::TensorType::INT8, out, {}, &kQ);
    b.op(BuiltinOp::StridedSlice, {x, bt, et, st}, {y}, fb::BuiltinOptions::StridedSliceOptions,
         fb::CreateStridedSliceOptions(b.fbb(), p.begin_mask, p.end_mask, 0, 0, p.shrink_axis_mask).Union());
    b.output(y);
    const auto xs = random_bytes(rng, std::size_t(in[0] * in[1] * in[2] * in[3]));
    const auto got = tinyq::Int8Executor(import(b.finish())).run_int8({bytes_tensor(in, xs)})[0];
    const auto ys = got.data<std::int8_t>();
    std::size_t at = 0;
    for (int i0 : positions[0])
      for (int i1 : positions[1])
        for (int i2 : positions[2])
          for (int i3 : positions[3]) {
            ASSERT_LT(at, ys.size());
            ASSERT_EQ(ys[at++], xs[std::size_t(((i0 * in[1] + i1) * in[2] + i2) * in[3] + i3)]) << "case " << k;
          }
    ASSERT_EQ(at, ys.size());
    ++cases;
    negative_strides += std::any_of(p.strides.begin(), p.strides.end(), [](int s) { return s < 0; });
    shrunk += p.shrink_axis_mask != 0;
  }
  EXPECT_GE(cases, 100);
  EXPECT_GT(negative_strides, 10);
  EXPECT_GT(shrunk, 10);
}

TEST(PrequantizedMovement, SplitGivesEachPartItsBytes) {
  std::mt19937 rng(23);
  const Dims in{2, 6, 4, 6};
  for (int axis = -4; axis < 4; ++axis) {
    const int a = axis < 0 ? axis + 4 : axis;
    const int parts = in[std::size_t(a)] % 3 == 0 ? 3 : 2;
    TfliteBuilder b;
    const int axis_t = b.int32_constant("axis", {}, {axis});
    const int x = b.tensor("x", fb::TensorType::INT8, in, {}, &kQ);
    b.extra_input(x);
    Dims part = in;
    part[std::size_t(a)] /= parts;
    std::vector<int> outs;
    const char* names[] = {"y0", "y1", "y2"};
    for (int p = 0; p < parts; ++p) outs.push_back(b.tensor(names[p], fb::TensorType::INT8, part, {}, &kQ));
    b.op(BuiltinOp::Split, {axis_t, x}, outs, fb::BuiltinOptions::SplitOptions,
         fb::CreateSplitOptions(b.fbb(), parts).Union());
    for (int o : outs) b.output(o);
    const auto xs = random_bytes(rng, 2 * 6 * 4 * 6);
    const auto ys = tinyq::Int8Executor(import(b.finish())).run_int8({bytes_tensor(in, xs)});
    ASSERT_EQ(ys.size(), std::size_t(parts));
    for (int p = 0; p < parts; ++p) {
      const auto yd = ys[std::size_t(p)].data<std::int8_t>();
      std::size_t at = 0;
      for (int i0 = 0; i0 < part[0]; ++i0)
        for (int i1 = 0; i1 < part[1]; ++i1)
          for (int i2 = 0; i2 < part[2]; ++i2)
            for (int i3 = 0; i3 < part[3]; ++i3) {
              int idx[4] = {i0, i1, i2, i3};
              idx[a] += p * part[std::size_t(a)];
              ASSERT_EQ(yd[at++], xs[std::size_t(((idx[0] * in[1] + idx[1]) * in[2] + idx[2]) * in[3] + idx[3])])
                  << "axis " << axis << " part " << p;
            }
    }
  }
}

TEST(PrequantizedMovement, ASliceThatRequantizesIsRefusedByName) {
  TfliteBuilder b;
  const Quant other{{0.1f}, {0}};
  const int x = b.tensor("x", fb::TensorType::INT8, {1, 4, 4, 2}, {}, &kQ);
  b.extra_input(x);
  const int bt = b.int32_constant("begin", {4}, {0, 1, 1, 0});
  const int et = b.int32_constant("end", {4}, {1, 3, 3, 2});
  const int st = b.int32_constant("strides", {4}, {1, 1, 1, 1});
  const int y = b.tensor("y", fb::TensorType::INT8, {1, 2, 2, 2}, {}, &other);
  b.op(BuiltinOp::StridedSlice, {x, bt, et, st}, {y}, fb::BuiltinOptions::StridedSliceOptions,
       fb::CreateStridedSliceOptions(b.fbb()).Union());
  b.output(y);
  try {
    import(b.finish());
    FAIL() << "a STRIDED_SLICE that changes the quantization imported";
  } catch (const tinyq::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("STRIDED_SLICE"), std::string::npos) << what;
    EXPECT_NE(what.find("quantized differently"), std::string::npos) << what;
  }
}

}  // namespace
