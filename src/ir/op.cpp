#include "ir/op.hpp"

#include <array>
#include <utility>

namespace tinyq {

namespace {
constexpr std::array kOpNames = {
    std::pair{Op::Conv, "Conv"},
    std::pair{Op::ConvTranspose, "ConvTranspose"},
    std::pair{Op::Dense, "Dense"},
    std::pair{Op::MatMul, "MatMul"},
    std::pair{Op::MaxPool, "MaxPool"},
    std::pair{Op::AvgPool, "AvgPool"},
    std::pair{Op::GlobalAvgPool, "GlobalAvgPool"},
    std::pair{Op::GlobalMaxPool, "GlobalMaxPool"},
    std::pair{Op::ReduceMean, "ReduceMean"},
    std::pair{Op::Add, "Add"},
    std::pair{Op::Sub, "Sub"},
    std::pair{Op::Mul, "Mul"},
    std::pair{Op::Div, "Div"},
    std::pair{Op::Pow, "Pow"},
    std::pair{Op::PRelu, "PRelu"},
    std::pair{Op::Relu, "Relu"},
    std::pair{Op::Clip, "Clip"},
    std::pair{Op::LeakyRelu, "LeakyRelu"},
    std::pair{Op::Sigmoid, "Sigmoid"},
    std::pair{Op::Tanh, "Tanh"},
    std::pair{Op::HardSigmoid, "HardSigmoid"},
    std::pair{Op::HardSwish, "HardSwish"},
    std::pair{Op::Sqrt, "Sqrt"},
    std::pair{Op::Exp, "Exp"},
    std::pair{Op::Neg, "Neg"},
    std::pair{Op::Identity, "Identity"},
    std::pair{Op::Softmax, "Softmax"},
    std::pair{Op::Concat, "Concat"},
    std::pair{Op::Reshape, "Reshape"},
    std::pair{Op::Transpose, "Transpose"},
    std::pair{Op::Slice, "Slice"},
    std::pair{Op::Gather, "Gather"},
    std::pair{Op::Pad, "Pad"},
    std::pair{Op::Resize, "Resize"},
    std::pair{Op::LayerNorm, "LayerNorm"},
    std::pair{Op::ChannelAffine, "ChannelAffine"},
    std::pair{Op::LSTM, "LSTM"},
    std::pair{Op::GRU, "GRU"},
    std::pair{Op::RNN, "RNN"},
    std::pair{Op::Conv3d, "Conv3d"},
    std::pair{Op::ConvTranspose3d, "ConvTranspose3d"},
    std::pair{Op::MaxPool3d, "MaxPool3d"},
    std::pair{Op::AvgPool3d, "AvgPool3d"},
};
}  // namespace

std::string_view op_name(Op op) {
  for (auto& [o, name] : kOpNames)
    if (o == op) return name;
  return "?";
}

std::optional<Op> op_from_name(std::string_view name) {
  for (auto& [o, n] : kOpNames)
    if (n == name) return o;
  return std::nullopt;
}

bool is_unary_elementwise(Op op) {
  switch (op) {
    case Op::Relu:
    case Op::Clip:
    case Op::LeakyRelu:
    case Op::Sigmoid:
    case Op::Tanh:
    case Op::HardSigmoid:
    case Op::HardSwish:
    case Op::Sqrt:
    case Op::Exp:
    case Op::Neg:
    case Op::Identity: return true;
    default: return false;
  }
}

bool is_binary_elementwise(Op op) {
  switch (op) {
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div:
    case Op::Pow:
    case Op::PRelu: return true;
    default: return false;
  }
}

}  // namespace tinyq
