#include "exec/kernel_params.hpp"

#include "util/error.hpp"

namespace tinyq {

namespace {

std::int32_t i32(std::int64_t v) { return static_cast<std::int32_t>(v); }

rt::Requant requant_of(const QNode& n, const std::string& prefix) {
  const auto& m = n.words(prefix + "_multiplier");
  const auto& s = n.words(prefix + "_shift");
  return {m.data(), s.data(), i32(std::int64_t(m.size()))};
}

}  // namespace

rt::ConvParams conv_params(const QNode& n) {
  auto g = [&](const char* key) { return i32(n.get(key)); };
  return {g("batch"),      g("in_h"),         g("in_w"),
          g("in_c"),       g("out_h"),        g("out_w"),
          g("out_c"),      g("kernel_h"),     g("kernel_w"),
          g("stride_h"),   g("stride_w"),     g("dilation_h"),
          g("dilation_w"), g("pad_top"),      g("pad_left"),
          g("groups"),     g("input_offset"), g("output_offset"),
          g("act_min"),    g("act_max"),      requant_of(n, "requant")};
}

rt::DenseParams dense_params(const QNode& n) {
  auto g = [&](const char* key) { return i32(n.get(key)); };
  return {g("rows"),          g("in_features"), g("out_features"), g("input_offset"),
          g("output_offset"), g("act_min"),     g("act_max"),      requant_of(n, "requant")};
}

rt::PoolParams pool_params(const QNode& n) {
  auto g = [&](const char* key) { return i32(n.get(key)); };
  return {g("batch"),      g("in_h"),      g("in_w"),     g("channels"), g("out_h"),   g("out_w"),
          g("kernel_h"),   g("kernel_w"),  g("stride_h"), g("stride_w"), g("pad_top"), g("pad_left"),
          g("pad_bottom"), g("pad_right"), g("act_min"),  g("act_max")};
}

rt::AvgPoolParams avg_pool_params(const QNode& n) {
  auto g = [&](const char* key) { return i32(n.get(key)); };
  const bool truncate = n.get("truncate", 0) != 0;
  return {pool_params(n),
          g("count_include_pad"),
          g("input_offset"),
          g("output_offset"),
          truncate ? nullptr : n.words("count_multiplier").data(),
          truncate ? nullptr : n.words("count_shift").data(),
          i32(truncate)};
}

rt::AddParams add_params(const QNode& n) {
  auto g = [&](const char* key) { return i32(n.get(key)); };
  return {g("a_offset"),     g("b_offset"), g("output_offset"),     g("left_shift"),   g("a_multiplier"), g("a_shift"),
          g("b_multiplier"), g("b_shift"),  g("output_multiplier"), g("output_shift"), g("act_min"),      g("act_max")};
}

rt::MulParams mul_params(const QNode& n) {
  auto g = [&](const char* key) { return i32(n.get(key)); };
  return {g("a_offset"),     g("b_offset"), g("output_offset"), g("output_multiplier"),
          g("output_shift"), g("act_min"),  g("act_max")};
}

rt::ConcatParams concat_params(const QNode& n) {
  return {i32(n.get("inputs")),           i32(n.get("outer")),          n.words("input_row").data(),
          n.words("input_offset").data(), n.words("multiplier").data(), n.words("shift").data(),
          i32(n.get("output_offset"))};
}

rt::PadParams pad_params(const QNode& n) {
  auto g = [&](const char* key) { return i32(n.get(key)); };
  return {g("batch"),      g("in_h"),      g("in_w"),
          g("channels"),   g("pad_top"),   g("pad_left"),
          g("pad_bottom"), g("pad_right"), std::int8_t(n.get("value"))};
}

rt::ResizeParams resize_params(const QNode& n) {
  auto g = [&](const char* key) { return i32(n.get(key)); };
  return {g("batch"),
          g("in_h"),
          g("in_w"),
          g("channels"),
          g("out_h"),
          g("out_w"),
          n.words("source_y").data(),
          n.words("source_x").data()};
}

rt::PreluParams prelu_params(const QNode& n) {
  auto g = [&](const char* key) { return i32(n.get(key)); };
  return {g("outer"),
          g("channels"),
          g("input_offset"),
          g("output_offset"),
          g("positive_multiplier"),
          g("positive_shift"),
          requant_of(n, "negative"),
          g("act_min"),
          g("act_max")};
}

rt::LayerNormParams layer_norm_params(const QNode& n) {
  auto g = [&](const char* key) { return i32(n.get(key)); };
  return {g("rows"),          g("depth"),   n.get("epsilon_q"), requant_of(n, "gamma"), n.words("beta_q").data(),
          g("output_offset"), g("act_min"), g("act_max")};
}

rt::BroadcastShape broadcast_params(const QNode& n) {
  const auto& a = n.words("a_shape");
  const auto& b = n.words("b_shape");
  const auto& out = n.words("out_shape");
  if (out.size() > 4) fail(n.name, "int8 elementwise ops support up to 4 dimensions");
  rt::BroadcastShape s{};
  auto strides = [&](const std::vector<std::int32_t>& shape, std::int32_t* dst) {
    std::int32_t stride = 1;
    for (int i = 3; i >= 0; --i) {
      int src = int(shape.size()) - (4 - i);
      std::int32_t dim = src >= 0 ? shape[std::size_t(src)] : 1;
      dst[i] = dim == 1 ? 0 : stride;
      stride *= dim;
    }
  };
  for (int i = 0; i < 4; ++i) {
    int src = int(out.size()) - (4 - i);
    s.shape[i] = src >= 0 ? out[std::size_t(src)] : 1;
  }
  strides(a, s.a_strides);
  strides(b, s.b_strides);
  return s;
}

BinaryOperands binary_operands(const QNode& n) {
  BinaryOperands o;
  const bool a_const = n.get("a_const") != 0, b_const = n.get("b_const") != 0;
  if (a_const) o.a_const = n.bytes("a_const").data();
  if (b_const) o.b_const = n.bytes("b_const").data();
  if (!a_const) o.a_input = n.inputs.at(0);
  if (!b_const) o.b_input = n.inputs.at(a_const ? 0 : 1);
  return o;
}

}  // namespace tinyq
