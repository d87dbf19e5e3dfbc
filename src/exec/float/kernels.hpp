#pragma once
// Float reference kernels for the heavy operators, NHWC, batch-major. The float executor
// calls these; the quantizer calibrates against their results, so they must be right
// first and fast second. Single-threaded: the executor parallelises across samples, or over
// the output rows of one image's convolution (conv2d_packed takes a row range).
#include <cstddef>

namespace tinyq::fk {

// Clamp applied to every output element (a fused Relu / Clip). No clamp: +-infinity.
struct Activation {
  float min;
  float max;
};
Activation no_activation();

struct Conv2dShape {
  int batch;
  int in_h, in_w, in_c;
  int out_h, out_w, out_c;
  int kernel_h, kernel_w;
  int stride_h, stride_w;
  int dilation_h, dilation_w;
  int pad_top, pad_left;  // bottom/right padding is implied by out_h/out_w
  int groups;
};

// in [batch,in_h,in_w,in_c], weight [out_c,kernel_h,kernel_w,in_c/groups], bias [out_c] or
// nullptr, out [batch,out_h,out_w,out_c]. `scratch` holds conv2d_scratch_floats(shape) floats.
void conv2d(const Conv2dShape& shape, const float* in, const float* weight, const float* bias, float* out,
            float* scratch, Activation act);
std::size_t conv2d_scratch_floats(const Conv2dShape& shape);

// The direct convolution conv2d uses for every non-depthwise shape, with the weights packed
// once (the executor packs at construction; conv2d packs into its scratch on every call).
// packed holds packed_conv2d_floats(shape) floats. conv2d_packed computes output rows
// [row_begin, row_end) of the batch * out_h rows, so callers can split one image over threads.
bool conv2d_uses_packed_weights(const Conv2dShape& shape);  // false: depthwise, which has its own loop
std::size_t packed_conv2d_floats(const Conv2dShape& shape);
void pack_conv2d_weights(const Conv2dShape& shape, const float* weight, float* packed);
void conv2d_packed(const Conv2dShape& shape, const float* in, const float* packed, const float* bias, float* out,
                   Activation act, int row_begin, int row_end);

struct ConvTranspose2dShape {
  int batch;
  int in_h, in_w, in_c;
  int out_h, out_w, out_c;
  int kernel_h, kernel_w;
  int stride_h, stride_w;
  int dilation_h, dilation_w;
  int pad_top, pad_left;  // output position of input (0,0)'s tap (0,0) is (-pad_top, -pad_left)
  int groups;
};
// in [batch,in_h,in_w,in_c], weight [in_c,kernel_h,kernel_w,out_c/groups], bias [out_c] or nullptr.
void conv_transpose2d(const ConvTranspose2dShape& shape, const float* in, const float* weight, const float* bias,
                      float* out, Activation act);

// out[r,o] = act(sum_k in[r,k] * weight[o,k] + bias[o]); weight [out_features,in_features].
void dense(int rows, int in_features, int out_features, const float* in, const float* weight, const float* bias,
           float* out, Activation act);

// out[b] = a[b] x b[b] for b in batch; a [batch,m,k], b [batch,k,n], out [batch,m,n].
// a_batch_stride / b_batch_stride may be 0 to broadcast one matrix over the batch.
void matmul(int batch, int m, int k, int n, const float* a, std::size_t a_batch_stride, const float* b,
            std::size_t b_batch_stride, float* out);

struct Pool2dShape {
  int batch;
  int in_h, in_w, channels;
  int out_h, out_w;
  int kernel_h, kernel_w;
  int stride_h, stride_w;
  int dilation_h, dilation_w;  // max pooling only; 1 for average
  int pad_top, pad_left, pad_bottom, pad_right;
};
// Padding never wins a max. Windows that fall entirely into padding give -infinity.
void max_pool2d(const Pool2dShape& shape, const float* in, float* out, Activation act);
// count_include_pad: divide by the window size clipped to the padded input
// (pad_* included, but not the extra ceil_mode overhang); else by the valid taps.
void avg_pool2d(const Pool2dShape& shape, const float* in, float* out, bool count_include_pad, Activation act);
// [batch,h,w,c] -> [batch,c]
void global_avg_pool(int batch, int h, int w, int c, const float* in, float* out);
void global_max_pool(int batch, int h, int w, int c, const float* in, float* out);

}  // namespace tinyq::fk
