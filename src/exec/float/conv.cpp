// conv2d: picks one of two paths and sizes its scratch from the same choice.
//  - depthwise (groups == in_c > 1, out_c a multiple of in_c): direct NHWC loop, float_depthwise.cpp;
//  - everything else: the direct (implicit-GEMM) kernel of float_conv_direct.cpp, with the
//    weights packed into `scratch` on every call (the executor packs them once, then calls
//    conv2d_packed). It replaced im2col + Eigen GEMM, which spent ~29 % of its time copying
//    patches and ran 1-channel first layers as depth-9 GEMMs (docs/BENCHMARKS.md).
#include <cassert>

#include "exec/float/kernel_common.hpp"

namespace tinyq::fk {

bool conv2d_uses_packed_weights(const Conv2dShape& shape) { return !detail::is_depthwise(shape); }

std::size_t conv2d_scratch_floats(const Conv2dShape& shape) {
  return detail::is_depthwise(shape) ? detail::depthwise_scratch_floats(shape) : packed_conv2d_floats(shape);
}

void conv2d(const Conv2dShape& shape, const float* in, const float* weight, const float* bias, float* out,
            float* scratch, Activation act) {
  assert(shape.groups > 0 && shape.in_c % shape.groups == 0 && shape.out_c % shape.groups == 0);
  if (detail::is_depthwise(shape)) {
    detail::depthwise_conv2d(shape, in, weight, bias, out, scratch, act);
    return;
  }
  pack_conv2d_weights(shape, weight, scratch);
  conv2d_packed(shape, in, scratch, bias, out, act, 0, shape.batch * shape.out_h);
}

}  // namespace tinyq::fk
