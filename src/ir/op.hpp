#pragma once
// The IR's operators. Semantics are those of the stored (internal) layout: 4-D
// activations are NHWC, whatever layout the source model used. Each op's inputs,
// attributes and weight layout are listed here once; shape inference, executors and
// the quantizer all follow this table.
#include <optional>
#include <string_view>

namespace tinyq {

enum class Op {
  // in: x[N,H,W,C], w[O,KH,KW,C/group], b[O]. attrs: strides[2], dilations[2],
  // pads[4]=top,left,bottom,right, group. Fused clamp: act_min/act_max.
  Conv,
  // in: x[N,H,W,C], w[C,KH,KW,O/group], b[O]. attrs: strides, dilations, pads[4], group,
  // output_padding[2].
  ConvTranspose,
  // in: x[...,K], w[O,K], b[O] -> y[...,O]. Constant weights.
  Dense,
  // in: a, b (numpy matmul, both activations or b constant but not folded to Dense).
  MatMul,
  // in: x[N,H,W,C]. attrs: kernel[2], strides[2], pads[4], dilations[2] (max only),
  // count_include_pad (avg only). ceil_mode is resolved into the output shape.
  MaxPool,
  AvgPool,
  // in: x[N,H,W,C] -> [N,1,1,C].
  GlobalAvgPool,
  GlobalMaxPool,
  // in: x. attrs: axes (stored layout), keepdims.
  ReduceMean,
  // Binary elementwise with numpy broadcasting over stored shapes.
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  // in: x, slope (broadcast like a binary op).
  PRelu,
  // Unary elementwise.
  Relu,
  Clip,       // attrs: min, max
  LeakyRelu,  // attrs: alpha
  Sigmoid,
  Tanh,
  HardSigmoid,  // attrs: alpha, beta
  HardSwish,
  Sqrt,
  Exp,
  Neg,
  Identity,
  // in: x. attrs: axis (stored). Softmax over one axis.
  Softmax,
  // in: x0..xn. attrs: axis (stored).
  Concat,
  // in: x. attrs: shape (fully resolved, stored order).
  Reshape,
  // in: x. attrs: perm.
  Transpose,
  // in: x. attrs: starts, ends, steps (one per stored axis, already resolved: ONNX's
  // negative and out-of-range indices clamped, so they select exactly
  // max(0, ceil((end - start) / step)) elements; a negative step walks backwards).
  Slice,
  // in: x. attrs: axis (stored), indices (flattened, each in [0, dim)), indices_shape
  // (empty: one scalar index, the axis is dropped). Output: x.shape[:axis] + indices_shape
  // + x.shape[axis+1:]. Gather with constant indices on run-time data.
  Gather,
  // in: x. attrs: pads[2*rank] (begins then ends), mode ("constant","reflect","edge"), value.
  Pad,
  // in: x. attrs: mode "nearest", coordinate_transformation_mode, nearest_mode. Output
  // shape is the node output's shape.
  Resize,
  // in: x, scale[D], bias[D]. attrs: axis (normalise over axes axis..rank-1), epsilon.
  LayerNorm,
  // in: x, scale[C], shift[C]: y = x*scale[c] + shift[c] along attrs axis. What a
  // BatchNormalization becomes when no producer can absorb it.
  ChannelAffine,
  // Recurrent layers: one node per ONNX LSTM / GRU / RNN, time-major (ONNX layout 0; the
  // importer transposes batch-major models around it). in: x[T,N,I], W[D,G*H,I], R[D,G*H,H],
  // B[D,2*G*H] (the W biases, then the R biases), h0[D,N,H], and for LSTM c0[D,N,H] and
  // optionally P[D,3*H] (peephole weights of i, o, f); W, R, B, P constant, h0/c0 constant or
  // run-time. D = 1 or 2 directions (D = 2: direction 0 forward,
  // 1 reverse). Gate blocks of G*H rows in ONNX order: LSTM i,o,f,c (G=4), GRU z,r,h (G=3),
  // RNN one (G=1). attrs: direction ("forward", "reverse", "bidirectional"),
  // linear_before_reset (GRU), activation (RNN: "Tanh" or "Relu"), cell_clip (LSTM, float >= 0,
  // 0 = none: the new cell state is clamped to [-cell_clip, cell_clip] before the output gate
  // sees it, as in TFLite; not ONNX's clip, which is refused), output: "Y" [T,D,N,H] (every
  // step's hidden state), "Y_h" [D,N,H] (each direction's last hidden state) or "Y_c" [D,N,H]
  // (LSTM's last cell state). One output per node: an ONNX node whose Y and Y_c are both used
  // becomes two nodes. Shapes and checks: src/ir/recurrent.hpp.
  LSTM,
  GRU,
  RNN,
  // 3-D windows on rank-5 tensors kept in the source layout x[N,C,D,H,W] (only 4-D activations
  // are stored channels-last). Float only: no int8 kernel. attrs: strides[3], dilations[3],
  // pads[6] (begins D,H,W then ends D,H,W); pooling: kernel[3], ceil_mode (resolved into the
  // output shape), count_include_pad (average only); convolutions: group, and
  // ConvTranspose3d output_padding[3]. Weights in ONNX's layout: Conv3d w[O,C/group,KD,KH,KW],
  // ConvTranspose3d w[C,O/group,KD,KH,KW]; b[O]. Kernels: src/exec/float/window3d.hpp.
  Conv3d,
  ConvTranspose3d,
  MaxPool3d,
  AvgPool3d,
};

std::string_view op_name(Op op);
std::optional<Op> op_from_name(std::string_view name);

// True for unary elementwise ops whose output has the input's shape and layout.
bool is_unary_elementwise(Op op);
bool is_binary_elementwise(Op op);

}  // namespace tinyq
