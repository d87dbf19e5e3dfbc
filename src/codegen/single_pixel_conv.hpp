#pragma once
// Convolutions that produce one pixel from their whole input (the last layer of a 1-D
// model's window, every pointwise layer of a streaming step) are matrix-vector products:
// the NHWC input flattened is the weights' [kh, kw, in_c] order. dense_s8 runs them several
// times faster than conv2d_s8 on one pixel (no im2col; on the DSP path, row-pair weights
// packed at generation time): on MLPerf Tiny's streaming wakeword step, 0.82 instead of
// 0.25 MACs per instruction on M4. The integer arithmetic is the same (exact int32 sums,
// the same requantization), so the output bytes are too.
#include "ir/qgraph.hpp"

namespace tinyq {

// Rewrites those Conv nodes of `g` into Dense nodes, in place (code generation only: the
// .tqm keeps the convolution).
void run_single_pixel_convs_as_dense(QGraph& g);

}  // namespace tinyq
