// dense and matmul: row-major Eigen maps straight on the caller's buffers, one GEMM (or GEMV
// when there is a single row) per call or per batch entry.
#include "exec/float/kernel_common.hpp"

namespace tinyq::fk {

void dense(int rows, int in_features, int out_features, const float* in, const float* weight, const float* bias,
           float* out, Activation act) {
  detail::ConstMatrixMap x(in, rows, in_features);
  detail::ConstMatrixMap w(weight, out_features, in_features);
  detail::MatrixMap y(out, rows, out_features);
  y.noalias() = x * w.transpose();
  detail::add_bias_and_activate(static_cast<std::size_t>(rows), out_features, bias, out, act);
}

void matmul(int batch, int m, int k, int n, const float* a, std::size_t a_batch_stride, const float* b,
            std::size_t b_batch_stride, float* out) {
  const std::size_t out_stride = static_cast<std::size_t>(m) * n;
  for (int i = 0; i < batch; ++i) {
    detail::ConstMatrixMap lhs(a + i * a_batch_stride, m, k);
    detail::ConstMatrixMap rhs(b + i * b_batch_stride, k, n);
    detail::MatrixMap y(out + i * out_stride, m, n);
    y.noalias() = lhs * rhs;
  }
}

}  // namespace tinyq::fk
