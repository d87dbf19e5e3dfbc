#pragma once
// int16 activations where int8 cannot hold them: 16x8 layers (int16 activations, int8
// weights), as CMSIS-NN's s16 kernels and TFLite's 16x8 mode, for the few tensors whose int8
// rounding ruins the model (a difference of two large activations, a range that one int8
// step cannot resolve). Applied to a finished int8 QGraph: the chosen conv, depthwise and
// dense outputs become int16 (symmetric, their calibrated range over 32767 steps), the conv,
// depthwise and dense layers reading them read int16 (kernels.hpp, conv2d_wide), and any other
// reader gets the tensor back in its int8 format through one requantize_tensor node.
#include <cstdint>
#include <string>
#include <vector>

#include "exec/input_samples.hpp"
#include "ir/qgraph.hpp"

namespace tinyq {

// Makes the outputs of the named nodes int16. Throws tinyq::Error naming the node when it is
// not a conv, depthwise or dense layer, its output is a model output, or no conv, depthwise or
// dense layer reads it (int16 would only add a requantization), or a requantization does not
// fit the 16x8 kernels' bounds. Returns the extra activation bytes (int16 tensors' second
// byte, int8 copies for other readers).
std::int64_t widen_to_int16(QGraph& q, const std::vector<std::string>& nodes);

// The nodes widen_to_int16 accepts.
std::vector<std::string> int16_candidates(const QGraph& q);

struct Int16Choice {
  std::vector<std::string> layers;  // in model order
  double sqnr_before_db = 0, sqnr_after_db = 0;
  std::int64_t extra_bytes = 0;
};

// `--int16 auto`: among the candidates, the few whose int16 output raises the model's output
// SQNR against float on `samples` (up to 256) the most, greedily, each kept only if it adds at
// least 0.5 dB, within `ram_budget` extra bytes (<= 0: twice the largest activation's size). When no
// single candidate helps (damage spread over several tensors), all of them together, then each
// dropped again that the model does without.
Int16Choice choose_int16(const QGraph& q, const InputSamples& samples, std::int64_t ram_budget, int threads);

}  // namespace tinyq
