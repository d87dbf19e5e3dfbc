#pragma once
// Optimized weight rounding: per conv / depthwise / dense layer, each int8 weight is rounded
// down or up (AdaRound's constraint: Nagel et al., "Up or Down? Adaptive Rounding for
// Post-Training Quantization", ICML 2020) so as to lower the layer's output error on
// calibration data, || X (W_q - W / s_w) ||^2 per output channel, instead of rounding each
// weight to nearest. X holds the layer's int8 inputs (im2col patches for convolutions).
// AdaRound optimizes a continuous relaxation by gradient descent; this is a cheaper discrete
// solver on the same objective: greedy coordinate descent from round-to-nearest on the layer
// Hessian G = X^T X (as GPTQ uses it: Frantar et al., "GPTQ: Accurate Post-Training
// Quantization for Generative Pre-trained Transformers", 2022). Flipping weight i by d
// changes e^T G e (e = W_q - W / s_w) by 2 d (G e)_i + d^2 G_ii; G e is kept up to date.
#include <cstdint>
#include <vector>

#include "exec/input_samples.hpp"
#include "ir/qgraph.hpp"

namespace tinyq {

// X^T X of `rows` rows of `k` values (row-major), in double, summed in row order.
std::vector<double> gram_matrix(const std::vector<float>& x, std::int64_t rows, std::int64_t k);

// e^T G e with e = q - target: one channel's output error (in units of s_w^2).
double rounding_objective(const std::vector<double>& g, std::int64_t k, const double* target, const std::int8_t* q);

// Greedy rounding of one channel's `k` weights in place: q starts at round-to-nearest of
// `target` (W / s_w); each weight stays floor or ceil of its target within [-127, 127]
// (a weight that is neither, e.g. clamped, is left alone). Up to `passes` sweeps; every
// accepted flip lowers the objective. Returns the number of weights changed.
int round_channel(const std::vector<double>& g, std::int64_t k, const double* target, std::int8_t* q, int passes = 6);

struct RoundingOptions {
  int threads = 0;
  std::int64_t max_samples = 1024;  // calibration samples run to collect layer inputs
  std::int64_t max_rows = 4096;     // rows of X (patches) per layer, evenly spread over those
  // Bias correction follows and removes each channel's mean error: minimize what is left,
  // e^T (X - mean)^T (X - mean) e, rather than || X e ||^2 whose mean part it would fix anyway.
  bool centered = false;
};

// Rounds the weights of every conv (any groups), depthwise and dense node of `q` in place,
// from the int8 inputs the model produces on `samples` (source layout) and the float weights
// of q.float_graph. Returns the number of layers with at least one weight changed.
int optimize_rounding(QGraph& q, const InputSamples& samples, const RoundingOptions& options = {});

}  // namespace tinyq
