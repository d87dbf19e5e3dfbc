#pragma once
// The one typed definition of every runtime parameter struct's fields: for each member of
// tinyq::rt::ConvParams, DenseParams, ..., the key under which a quantized node (QNode, and
// so the .tqm file) stores it. Everything that moves parameters between a QNode and a struct
// goes through these lists:
//   - read_params<S>(node): the host int8 executor's and code generation's view of a node;
//   - write_scalars(node, params): what the quantizer stores (it fills the struct with C++20
//     designated initialisers, which must follow the declaration order or fail to compile);
//   - for_each_field(params, visit): the C++ emitter prints the fields in declaration order.
// static_asserts below prove at compile time that each list names every member of its struct
// exactly once and in declaration order, so adding or reordering a runtime field without
// updating its list cannot compile.
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ir/qgraph.hpp"
#include "tinyq/kernels.hpp"

namespace tinyq {

// One member and its key. Kinds follow from the member's type:
//   int32_t / int8_t / int64_t   a scalar in node.ints[key]
//   const int32_t*               an array in node.i32[key]
//   rt::Requant                  arrays node.i32[key + "_multiplier"] and [key + "_shift"], and
//                                its rounding in node.ints[key + "_rounding"] (absent: 0, tinyq's)
//   rt::PoolParams (nested)      that struct's own fields, from the same node (key unused)
// `optional`: a scalar that may be absent (0), an array that may be absent (nullptr).
template <typename S, typename M>
struct Field {
  const char* key;
  M S::*member;
  bool optional = false;
};
template <typename S, typename M>
constexpr Field<S, M> field(const char* key, M S::*member, bool optional = false) {
  return {key, member, optional};
}

template <typename S>
struct KernelFields;  // specialised below: static constexpr auto list = std::tuple{field(...), ...}

template <>
struct KernelFields<rt::ConvParams> {
  using S = rt::ConvParams;
  static constexpr auto list = std::tuple{field("batch", &S::batch),
                                          field("in_h", &S::in_h),
                                          field("in_w", &S::in_w),
                                          field("in_c", &S::in_c),
                                          field("out_h", &S::out_h),
                                          field("out_w", &S::out_w),
                                          field("out_c", &S::out_c),
                                          field("kernel_h", &S::kernel_h),
                                          field("kernel_w", &S::kernel_w),
                                          field("stride_h", &S::stride_h),
                                          field("stride_w", &S::stride_w),
                                          field("dilation_h", &S::dilation_h),
                                          field("dilation_w", &S::dilation_w),
                                          field("pad_top", &S::pad_top),
                                          field("pad_left", &S::pad_left),
                                          field("groups", &S::groups),
                                          field("input_offset", &S::input_offset),
                                          field("output_offset", &S::output_offset),
                                          field("act_min", &S::act_min),
                                          field("act_max", &S::act_max),
                                          field("requant", &S::requant)};
};

template <>
struct KernelFields<rt::DenseParams> {
  using S = rt::DenseParams;
  static constexpr auto list = std::tuple{field("rows", &S::rows),
                                          field("in_features", &S::in_features),
                                          field("out_features", &S::out_features),
                                          field("input_offset", &S::input_offset),
                                          field("output_offset", &S::output_offset),
                                          field("act_min", &S::act_min),
                                          field("act_max", &S::act_max),
                                          field("requant", &S::requant)};
};

template <>
struct KernelFields<rt::PoolParams> {
  using S = rt::PoolParams;
  static constexpr auto list = std::tuple{
      field("batch", &S::batch),           field("in_h", &S::in_h),           field("in_w", &S::in_w),
      field("channels", &S::channels),     field("out_h", &S::out_h),         field("out_w", &S::out_w),
      field("kernel_h", &S::kernel_h),     field("kernel_w", &S::kernel_w),   field("stride_h", &S::stride_h),
      field("stride_w", &S::stride_w),     field("pad_top", &S::pad_top),     field("pad_left", &S::pad_left),
      field("pad_bottom", &S::pad_bottom), field("pad_right", &S::pad_right), field("act_min", &S::act_min),
      field("act_max", &S::act_max)};
};

template <>
struct KernelFields<rt::AvgPoolParams> {
  using S = rt::AvgPoolParams;
  // count_multiplier / count_shift are absent when truncate = 1 (the nnom preset's division)
  // or rounding = kRoundTflite (TFLite's rounded division).
  static constexpr auto list = std::tuple{field("", &S::pool),
                                          field("count_include_pad", &S::count_include_pad),
                                          field("input_offset", &S::input_offset),
                                          field("output_offset", &S::output_offset),
                                          field("count_multiplier", &S::count_multiplier, true),
                                          field("count_shift", &S::count_shift, true),
                                          field("truncate", &S::truncate, true),
                                          field("rounding", &S::rounding, true)};
};

template <>
struct KernelFields<rt::AddParams> {
  using S = rt::AddParams;
  static constexpr auto list = std::tuple{field("a_offset", &S::a_offset),
                                          field("b_offset", &S::b_offset),
                                          field("output_offset", &S::output_offset),
                                          field("left_shift", &S::left_shift),
                                          field("a_multiplier", &S::a_multiplier),
                                          field("a_shift", &S::a_shift),
                                          field("b_multiplier", &S::b_multiplier),
                                          field("b_shift", &S::b_shift),
                                          field("output_multiplier", &S::output_multiplier),
                                          field("output_shift", &S::output_shift),
                                          field("act_min", &S::act_min),
                                          field("act_max", &S::act_max),
                                          field("rounding", &S::rounding, true),
                                          field("subtract", &S::subtract, true)};
};

template <>
struct KernelFields<rt::MulParams> {
  using S = rt::MulParams;
  static constexpr auto list = std::tuple{field("a_offset", &S::a_offset),
                                          field("b_offset", &S::b_offset),
                                          field("output_offset", &S::output_offset),
                                          field("output_multiplier", &S::output_multiplier),
                                          field("output_shift", &S::output_shift),
                                          field("act_min", &S::act_min),
                                          field("act_max", &S::act_max),
                                          field("rounding", &S::rounding, true)};
};

template <>
struct KernelFields<rt::MatMulParams> {
  using S = rt::MatMulParams;
  static constexpr auto list = std::tuple{field("batch", &S::batch),
                                          field("m", &S::m),
                                          field("k", &S::k),
                                          field("n", &S::n),
                                          field("a_batch_stride", &S::a_batch_stride),
                                          field("b_batch_stride", &S::b_batch_stride),
                                          field("a_offset", &S::a_offset),
                                          field("b_offset", &S::b_offset),
                                          field("output_offset", &S::output_offset),
                                          field("output_multiplier", &S::output_multiplier),
                                          field("output_shift", &S::output_shift),
                                          field("act_min", &S::act_min),
                                          field("act_max", &S::act_max)};
};

template <>
struct KernelFields<rt::RecurrentParams> {
  using S = rt::RecurrentParams;
  static constexpr auto list = std::tuple{field("cell", &S::cell),
                                          field("steps", &S::steps),
                                          field("batch", &S::batch),
                                          field("input", &S::input),
                                          field("hidden", &S::hidden),
                                          field("directions", &S::directions),
                                          field("reverse", &S::reverse),
                                          field("linear_before_reset", &S::linear_before_reset),
                                          field("output", &S::output),
                                          field("input_offset", &S::input_offset),
                                          field("output_offset", &S::output_offset),
                                          field("output_multiplier", &S::output_multiplier),
                                          field("output_shift", &S::output_shift),
                                          field("bias_x", &S::bias_x),
                                          field("bias_h", &S::bias_h),
                                          field("x_requant", &S::x_requant),
                                          field("h_requant", &S::h_requant),
                                          field("peephole", &S::peephole, true),
                                          field("initial_h", &S::initial_h, true),
                                          field("initial_c", &S::initial_c, true),
                                          field("cell_clip", &S::cell_clip),
                                          field("relu", &S::relu, true)};
};

template <>
struct KernelFields<rt::ConcatParams> {
  using S = rt::ConcatParams;
  static constexpr auto list = std::tuple{field("inputs", &S::inputs),
                                          field("outer", &S::outer),
                                          field("input_row", &S::input_row),
                                          field("input_offset", &S::input_offset),
                                          field("multiplier", &S::multiplier),
                                          field("shift", &S::shift),
                                          field("output_offset", &S::output_offset)};
};

template <>
struct KernelFields<rt::PadParams> {
  using S = rt::PadParams;
  static constexpr auto list = std::tuple{
      field("batch", &S::batch),           field("in_h", &S::in_h),           field("in_w", &S::in_w),
      field("channels", &S::channels),     field("pad_top", &S::pad_top),     field("pad_left", &S::pad_left),
      field("pad_bottom", &S::pad_bottom), field("pad_right", &S::pad_right), field("value", &S::value)};
};

template <>
struct KernelFields<rt::ResizeParams> {
  using S = rt::ResizeParams;
  static constexpr auto list =
      std::tuple{field("batch", &S::batch),       field("in_h", &S::in_h),        field("in_w", &S::in_w),
                 field("channels", &S::channels), field("out_h", &S::out_h),      field("out_w", &S::out_w),
                 field("source_y", &S::source_y), field("source_x", &S::source_x)};
};

template <>
struct KernelFields<rt::ResizeBilinearParams> {
  using S = rt::ResizeBilinearParams;
  static constexpr auto list = std::tuple{field("batch", &S::batch),
                                          field("in_h", &S::in_h),
                                          field("in_w", &S::in_w),
                                          field("channels", &S::channels),
                                          field("out_h", &S::out_h),
                                          field("out_w", &S::out_w),
                                          field("y_index", &S::y_index),
                                          field("y_weight", &S::y_weight),
                                          field("x_index", &S::x_index),
                                          field("x_weight", &S::x_weight),
                                          field("extrapolation", &S::extrapolation)};
};

template <>
struct KernelFields<rt::StridedCopyParams> {
  using S = rt::StridedCopyParams;
  static constexpr auto list =
      std::tuple{field("rank", &S::rank),     field("shape", &S::shape),           field("stride", &S::stride),
                 field("offset", &S::offset), field("index_axis", &S::index_axis), field("index", &S::index, true)};
};

template <>
struct KernelFields<rt::PreluParams> {
  using S = rt::PreluParams;
  static constexpr auto list = std::tuple{field("outer", &S::outer),
                                          field("channels", &S::channels),
                                          field("input_offset", &S::input_offset),
                                          field("output_offset", &S::output_offset),
                                          field("positive_multiplier", &S::positive_multiplier),
                                          field("positive_shift", &S::positive_shift),
                                          field("negative", &S::negative),
                                          field("act_min", &S::act_min),
                                          field("act_max", &S::act_max)};
};

template <>
struct KernelFields<rt::LayerNormParams> {
  using S = rt::LayerNormParams;
  static constexpr auto list =
      std::tuple{field("rows", &S::rows),       field("depth", &S::depth),    field("epsilon_q", &S::epsilon_q),
                 field("gamma", &S::gamma),     field("beta_q", &S::beta_q),  field("output_offset", &S::output_offset),
                 field("act_min", &S::act_min), field("act_max", &S::act_max)};
};

template <>
struct KernelFields<rt::RequantizeParams> {
  using S = rt::RequantizeParams;
  static constexpr auto list = std::tuple{field("count", &S::count),
                                          field("input_bits", &S::input_bits),
                                          field("output_bits", &S::output_bits),
                                          field("input_offset", &S::input_offset),
                                          field("output_offset", &S::output_offset),
                                          field("requant_multiplier", &S::multiplier),
                                          field("requant_shift", &S::shift)};
};

namespace kernel_fields_detail {

template <typename M>
inline constexpr bool is_scalar_v =
    std::is_same_v<M, std::int32_t> || std::is_same_v<M, std::int8_t> || std::is_same_v<M, std::int64_t>;
template <typename M>
inline constexpr bool is_nested_v = requires {
  KernelFields<M>::list;
};

// The compile-time proof that a list matches its struct. An aggregate is built positionally
// from distinct probe values, one per list entry in list order; reading every member back
// through the list's member pointers must give each entry its own probe value. A list out of
// declaration order, or naming a member twice, reads a wrong value; a list missing members
// is caught by the arity check below.
inline constexpr std::int32_t kProbeArray[64] = {};

template <typename S>
constexpr S probe_struct(int base);
template <typename S>
constexpr bool probe_matches(const S& a, const S& b);

template <typename M>
constexpr M probe(int i) {
  if constexpr (std::is_same_v<M, const std::int32_t*>) {
    return &kProbeArray[i];
  } else if constexpr (std::is_same_v<M, rt::Requant>) {
    return rt::Requant{&kProbeArray[i], &kProbeArray[i + 1], i};
  } else if constexpr (is_nested_v<M>) {
    return probe_struct<M>(i);
  } else {
    return static_cast<M>(i);
  }
}
template <typename M>
constexpr bool probe_equal(const M& a, const M& b) {
  if constexpr (std::is_same_v<M, rt::Requant>) {
    return a.multiplier == b.multiplier && a.shift == b.shift && a.count == b.count && a.rounding == b.rounding;
  } else if constexpr (is_nested_v<M>) {
    return probe_matches(a, b);
  } else {
    return a == b;
  }
}

template <typename S, typename Tuple, std::size_t... I>
constexpr S probe_struct_impl(int base, const Tuple& list, std::index_sequence<I...>) {
  using Types = std::tuple<std::remove_cvref_t<decltype(std::declval<S&>().*(std::get<I>(list).member))>...>;
  return S{probe<std::tuple_element_t<I, Types>>(base + int(I))...};
}
template <typename S>
constexpr S probe_struct(int base) {
  constexpr auto& list = KernelFields<S>::list;
  return probe_struct_impl<S>(base, list,
                              std::make_index_sequence<std::tuple_size_v<std::remove_cvref_t<decltype(list)>>>{});
}
template <typename S>
constexpr bool probe_matches(const S& a, const S& b) {
  return std::apply([&](const auto&... f) { return (probe_equal(a.*(f.member), b.*(f.member)) && ...); },
                    KernelFields<S>::list);
}
template <typename S>
constexpr bool list_in_declaration_order() {
  const S built = probe_struct<S>(1);
  // Each member must hold the probe of its own position.
  int i = 1;
  bool ok = true;
  std::apply(
      [&](const auto&... f) {
        ((ok = ok && probe_equal(built.*(f.member), probe<std::remove_cvref_t<decltype(built.*(f.member))>>(i)), ++i),
         ...);
      },
      KernelFields<S>::list);
  return ok;
}

// Aggregate arity: how many initialisers S takes (each converts to any member type).
struct AnyInit {
  template <typename T>
  constexpr operator T() const;  // never defined: used in unevaluated contexts only
};
template <typename S, std::size_t... I>
constexpr bool takes_initialisers(std::index_sequence<I...>) {
  return requires { S{(void(I), AnyInit{})...}; };
}
template <typename S>
constexpr bool list_covers_every_member() {
  constexpr std::size_t n = std::tuple_size_v<std::remove_cvref_t<decltype(KernelFields<S>::list)>>;
  return takes_initialisers<S>(std::make_index_sequence<n>{}) &&
         !takes_initialisers<S>(std::make_index_sequence<n + 1>{});
}

}  // namespace kernel_fields_detail

// Calls visit(key, member_value, optional) for each field of `p`, in declaration order.
template <typename S, typename Visit>
void for_each_field(const S& p, Visit&& visit) {
  std::apply([&](const auto&... f) { (visit(f.key, p.*(f.member), f.optional), ...); }, KernelFields<S>::list);
}

// The runtime struct of a node: every field read by its key. Pointers point into the node's
// own arrays, so the struct lives as long as the node. Throws tinyq::Error for a missing key.
template <typename S>
S read_params(const QNode& n) {
  S p{};
  std::apply(
      [&](const auto&... f) {
        (
            [&](const auto& fd) {
              using M = std::remove_cvref_t<decltype(p.*(fd.member))>;
              M& dst = p.*(fd.member);
              if constexpr (kernel_fields_detail::is_scalar_v<M>) {
                dst = static_cast<M>(fd.optional ? n.get(fd.key, 0) : n.get(fd.key));
              } else if constexpr (std::is_same_v<M, const std::int32_t*>) {
                dst = fd.optional && !n.i32.contains(fd.key) ? nullptr : n.words(fd.key).data();
              } else if constexpr (std::is_same_v<M, rt::Requant>) {
                const auto& m = n.words(std::string(fd.key) + "_multiplier");
                const auto& s = n.words(std::string(fd.key) + "_shift");
                dst = {m.data(), s.data(), static_cast<std::int32_t>(m.size()),
                       static_cast<std::int32_t>(n.get(std::string(fd.key) + "_rounding", rt::kRoundSingle))};
              } else {
                dst = read_params<M>(n);
              }
            }(f),
            ...);
      },
      KernelFields<S>::list);
  return p;
}

// Stores the scalar fields of `p` in node.ints under their keys (arrays and Requant members
// are the node's own vectors: the quantizer fills those by key_of below). A Requant's
// rounding is stored only when it is not tinyq's own, so models without it keep their keys.
template <typename S>
void write_scalars(QNode& n, const S& p) {
  for_each_field(p, [&](const char* key, const auto& value, bool) {
    using M = std::remove_cvref_t<decltype(value)>;
    if constexpr (kernel_fields_detail::is_scalar_v<M>) {
      n.ints[key] = value;
    } else if constexpr (std::is_same_v<M, rt::Requant>) {
      if (value.rounding != rt::kRoundSingle) n.ints[std::string(key) + "_rounding"] = value.rounding;
    } else if constexpr (kernel_fields_detail::is_nested_v<M>) {
      write_scalars(n, value);
    }
  });
}

// The key of one member, for the quantizer's array fields: key_of(&rt::ConvParams::requant).
template <typename S, typename M>
constexpr const char* key_of(M S::*member) {
  const char* key = nullptr;
  std::apply(
      [&](const auto&... f) {
        (
            [&](const auto& fd) {
              if constexpr (std::is_same_v<std::remove_cvref_t<decltype(fd.member)>, M S::*>)
                if (fd.member == member) key = fd.key;
            }(f),
            ...);
      },
      KernelFields<S>::list);
  return key;
}

#define TINYQ_CHECK_KERNEL_FIELDS(S)                                                            \
  static_assert(kernel_fields_detail::list_covers_every_member<S>(),                            \
                "KernelFields<" #S ">: the list must name every member of the runtime struct"); \
  static_assert(kernel_fields_detail::list_in_declaration_order<S>(),                           \
                "KernelFields<" #S ">: the list must follow the runtime struct's declaration order")
TINYQ_CHECK_KERNEL_FIELDS(rt::ConvParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::DenseParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::PoolParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::AvgPoolParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::AddParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::MulParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::MatMulParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::RecurrentParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::ConcatParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::PadParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::ResizeParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::ResizeBilinearParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::StridedCopyParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::PreluParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::LayerNormParams);
TINYQ_CHECK_KERNEL_FIELDS(rt::RequantizeParams);
#undef TINYQ_CHECK_KERNEL_FIELDS

}  // namespace tinyq
