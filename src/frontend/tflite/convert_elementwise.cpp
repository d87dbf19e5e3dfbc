// Converters for elementwise operators (arithmetic with broadcasting, activations), SOFTMAX,
// and the quantization boundaries, which are identities in the float function.
#include "frontend/tflite/tflite_converter.hpp"
#include "util/error.hpp"

namespace tinyq::tflite {

namespace {

template <typename Options>
void convert_binary(Converter& cv, const OperatorInfo& op, Op ir_op) {
  cv.expect_arity(op, 2, 2);
  const Activation activation = options_as<Options>(op, cv.at(op)).activation;
  cv.emit(op, ir_op, {cv.input(op, 0), cv.input(op, 1)}, {}, activation);
}

void convert_unary(Converter& cv, const OperatorInfo& op, Op ir_op, Attributes attrs = {}) {
  cv.expect_arity(op, 1, 1);
  cv.emit(op, ir_op, {cv.input(op, 0)}, std::move(attrs));
}

void convert_clip(Converter& cv, const OperatorInfo& op, float lo, float hi) {
  Attributes a;
  a.set("min", lo);
  a.set("max", hi);
  convert_unary(cv, op, Op::Clip, a);
}

// SOFTMAX(x) = softmax(beta * x) over the last axis.
void convert_softmax(Converter& cv, const OperatorInfo& op) {
  cv.expect_arity(op, 1, 1);
  const float beta = options_as<SoftmaxOptions>(op, cv.at(op)).beta;
  ValueId x = cv.input(op, 0);
  const std::size_t rank = cv.shape(x).size();
  if (rank == 0) fail(cv.at(op), "input is a scalar");
  if (beta != 1.0f) {
    ValueId b = cv.add_constant(cv.tensor_name(op.outputs[0]) + "_beta", Tensor::scalar(beta));
    x = cv.emit_internal(op, "scaled", Op::Mul, {x, b}, {});
  }
  Attributes a;
  a.set("axis", std::int64_t(rank) - 1);
  cv.emit(op, Op::Softmax, {x}, a);
}

// QUANTIZE, DEQUANTIZE: the float function of a quantized tensor is its real value, so a
// (de)quantization, or a requantization between two int8 scales, changes nothing.
void convert_identity(Converter& cv, const OperatorInfo& op) {
  cv.expect_arity(op, 1, 1);
  cv.alias(op, 0, cv.input(op, 0));
}

}  // namespace

void register_elementwise_converters(ConverterTable& t) {
  using B = BuiltinOp;
  auto code = [](BuiltinOp b) { return std::int32_t(b); };
  t[code(B::Add)] = [](Converter& cv, const OperatorInfo& op) { convert_binary<AddOptions>(cv, op, Op::Add); };
  t[code(B::Sub)] = [](Converter& cv, const OperatorInfo& op) { convert_binary<SubOptions>(cv, op, Op::Sub); };
  t[code(B::Mul)] = [](Converter& cv, const OperatorInfo& op) { convert_binary<MulOptions>(cv, op, Op::Mul); };
  t[code(B::Div)] = [](Converter& cv, const OperatorInfo& op) { convert_binary<DivOptions>(cv, op, Op::Div); };
  t[code(B::Prelu)] = [](Converter& cv, const OperatorInfo& op) {
    cv.expect_arity(op, 2, 2);
    cv.emit(op, Op::PRelu, {cv.input(op, 0), cv.input(op, 1)}, {});
  };
  t[code(B::Logistic)] = [](Converter& cv, const OperatorInfo& op) { convert_unary(cv, op, Op::Sigmoid); };
  t[code(B::Tanh)] = [](Converter& cv, const OperatorInfo& op) { convert_unary(cv, op, Op::Tanh); };
  t[code(B::Relu)] = [](Converter& cv, const OperatorInfo& op) { convert_unary(cv, op, Op::Relu); };
  t[code(B::Relu6)] = [](Converter& cv, const OperatorInfo& op) { convert_clip(cv, op, 0.0f, 6.0f); };
  t[code(B::ReluN1To1)] = [](Converter& cv, const OperatorInfo& op) { convert_clip(cv, op, -1.0f, 1.0f); };
  t[code(B::HardSwish)] = [](Converter& cv, const OperatorInfo& op) { convert_unary(cv, op, Op::HardSwish); };
  t[code(B::Exp)] = [](Converter& cv, const OperatorInfo& op) { convert_unary(cv, op, Op::Exp); };
  t[code(B::Sqrt)] = [](Converter& cv, const OperatorInfo& op) { convert_unary(cv, op, Op::Sqrt); };
  t[code(B::Neg)] = [](Converter& cv, const OperatorInfo& op) { convert_unary(cv, op, Op::Neg); };
  t[code(B::LeakyRelu)] = [](Converter& cv, const OperatorInfo& op) {
    Attributes a;
    a.set("alpha", options_as<LeakyReluOptions>(op, cv.at(op)).alpha);
    convert_unary(cv, op, Op::LeakyRelu, a);
  };
  t[code(B::Softmax)] = convert_softmax;
  t[code(B::Quantize)] = convert_identity;
  t[code(B::Dequantize)] = convert_identity;
}

}  // namespace tinyq::tflite
