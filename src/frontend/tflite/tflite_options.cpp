// One function per option table: FlatBuffer accessors to plain structs, nothing else.
#include "frontend/tflite/tflite_options.hpp"

namespace tinyq::tflite {

namespace {

namespace fb = tinyq::tflite_fb;

Activation act(fb::ActivationFunctionType a) { return Activation(std::int8_t(a)); }
Padding pad(fb::Padding p) { return Padding(std::int8_t(p)); }

std::vector<std::int64_t> ints(const flatbuffers::Vector<std::int32_t>* v) {
  std::vector<std::int64_t> out;
  if (v)
    for (auto x : *v) out.push_back(x);
  return out;
}

Conv2DOptions decode(const fb::Conv2DOptions& o) {
  return {pad(o.padding()),      o.stride_w(),         o.stride_h(), act(o.fused_activation_function()),
          o.dilation_w_factor(), o.dilation_h_factor()};
}
DepthwiseConv2DOptions decode(const fb::DepthwiseConv2DOptions& o) {
  return {pad(o.padding()),
          o.stride_w(),
          o.stride_h(),
          o.depth_multiplier(),
          act(o.fused_activation_function()),
          o.dilation_w_factor(),
          o.dilation_h_factor()};
}
Pool2DOptions decode(const fb::Pool2DOptions& o) {
  return {pad(o.padding()), o.stride_w(),      o.stride_h(),
          o.filter_width(), o.filter_height(), act(o.fused_activation_function())};
}
FullyConnectedOptions decode(const fb::FullyConnectedOptions& o) {
  return {act(o.fused_activation_function()), int(o.weights_format()), o.keep_num_dims(),
          o.asymmetric_quantize_inputs()};
}
ReshapeOptions decode(const fb::ReshapeOptions& o) { return {o.new_shape() != nullptr, ints(o.new_shape())}; }
StridedSliceOptions decode(const fb::StridedSliceOptions& o) {
  return {o.begin_mask(), o.end_mask(), o.ellipsis_mask(), o.new_axis_mask(), o.shrink_axis_mask(), o.offset()};
}
TransposeConvOptions decode(const fb::TransposeConvOptions& o) {
  return {pad(o.padding()), o.stride_w(), o.stride_h(), act(o.fused_activation_function())};
}

// A tag with no table behind it (the verifier lets a null value pass) means the table's
// defaults, as for an operator without options.
template <typename Out, typename In, typename Decode>
Options decoded(const In* table, Decode decode_table) {
  if (!table) return Out{};
  return Out(decode_table(*table));
}

}  // namespace

Options decode_options(const tflite_fb::Operator& op) {
  using T = fb::BuiltinOptions;
  auto plain = [](const auto& o) { return decode(o); };
  auto activation_only = [](const auto& o) { return act(o.fused_activation_function()); };
  switch (op.builtin_options_type()) {
    case T::Conv2DOptions: return decoded<Conv2DOptions>(op.builtin_options_as_Conv2DOptions(), plain);
    case T::DepthwiseConv2DOptions:
      return decoded<DepthwiseConv2DOptions>(op.builtin_options_as_DepthwiseConv2DOptions(), plain);
    case T::Pool2DOptions: return decoded<Pool2DOptions>(op.builtin_options_as_Pool2DOptions(), plain);
    case T::FullyConnectedOptions:
      return decoded<FullyConnectedOptions>(op.builtin_options_as_FullyConnectedOptions(), plain);
    case T::SoftmaxOptions:
      return decoded<SoftmaxOptions>(op.builtin_options_as_SoftmaxOptions(),
                                     [](const fb::SoftmaxOptions& o) { return SoftmaxOptions{o.beta()}; });
    case T::ConcatenationOptions:
      return decoded<ConcatenationOptions>(op.builtin_options_as_ConcatenationOptions(), [](const auto& o) {
        return ConcatenationOptions{o.axis(), act(o.fused_activation_function())};
      });
    case T::AddOptions:
      return decoded<AddOptions>(op.builtin_options_as_AddOptions(),
                                 [&](const auto& o) { return AddOptions{activation_only(o)}; });
    case T::SubOptions:
      return decoded<SubOptions>(op.builtin_options_as_SubOptions(),
                                 [&](const auto& o) { return SubOptions{activation_only(o)}; });
    case T::MulOptions:
      return decoded<MulOptions>(op.builtin_options_as_MulOptions(),
                                 [&](const auto& o) { return MulOptions{activation_only(o)}; });
    case T::DivOptions:
      return decoded<DivOptions>(op.builtin_options_as_DivOptions(),
                                 [&](const auto& o) { return DivOptions{activation_only(o)}; });
    case T::ReshapeOptions: return decoded<ReshapeOptions>(op.builtin_options_as_ReshapeOptions(), plain);
    case T::ReducerOptions:
      return decoded<ReducerOptions>(op.builtin_options_as_ReducerOptions(),
                                     [](const auto& o) { return ReducerOptions{o.keep_dims()}; });
    case T::SqueezeOptions:
      return decoded<SqueezeOptions>(op.builtin_options_as_SqueezeOptions(),
                                     [](const auto& o) { return SqueezeOptions{ints(o.squeeze_dims())}; });
    case T::StridedSliceOptions:
      return decoded<StridedSliceOptions>(op.builtin_options_as_StridedSliceOptions(), plain);
    case T::SplitOptions:
      return decoded<SplitOptions>(op.builtin_options_as_SplitOptions(),
                                   [](const auto& o) { return SplitOptions{o.num_splits()}; });
    case T::TransposeConvOptions:
      return decoded<TransposeConvOptions>(op.builtin_options_as_TransposeConvOptions(), plain);
    case T::ResizeNearestNeighborOptions:
      return decoded<ResizeNearestNeighborOptions>(
          op.builtin_options_as_ResizeNearestNeighborOptions(), [](const auto& o) {
            return ResizeNearestNeighborOptions{o.align_corners(), o.half_pixel_centers()};
          });
    case T::LeakyReluOptions:
      return decoded<LeakyReluOptions>(op.builtin_options_as_LeakyReluOptions(),
                                       [](const auto& o) { return LeakyReluOptions{o.alpha()}; });
    case T::UnidirectionalSequenceLSTMOptions:
      return decoded<UnidirectionalSequenceLstmOptions>(
          op.builtin_options_as_UnidirectionalSequenceLSTMOptions(), [](const auto& o) {
            return UnidirectionalSequenceLstmOptions{act(o.fused_activation_function()),
                                                     o.cell_clip(),
                                                     o.proj_clip(),
                                                     o.time_major(),
                                                     o.asymmetric_quantize_inputs(),
                                                     o.diagonal_recurrent_tensors()};
          });
    default: return std::monostate{};
  }
}

}  // namespace tinyq::tflite
