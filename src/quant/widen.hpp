#pragma once
// int16 activations where int8 cannot hold them: 16x8 layers (int16 activations, int8
// weights), as CMSIS-NN's s16 kernels and TFLite's 16x8 mode, for the few tensors whose int8
// rounding ruins the model (a difference of two large activations, a range that one int8
// step cannot resolve). Applied to a finished int8 QGraph: the chosen conv, depthwise and
// dense outputs become int16 (symmetric, their calibrated range over 32767 steps), the conv,
// depthwise and dense layers reading them read int16 (kernels.hpp, conv2d_wide), reshapes,
// poolings, adds, muls, lookups and concats carry the int16 tensor on to them, and any other
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
// fit the 16x8 kernels' bounds.
void widen_to_int16(QGraph& q, const std::vector<std::string>& nodes);

// The nodes widen_to_int16 accepts.
std::vector<std::string> int16_candidates(const QGraph& q);

struct Int16Choice {
  std::vector<std::string> layers;  // in model order
  double sqnr_before_db = 0, sqnr_after_db = 0;
  // The arena tinyq generate plans with the portable kernels, int8 and with `layers` int16, and
  // the growth allowed.
  std::int64_t arena_before = 0, arena_after = 0, ram_budget = 0;
};

// `--int16 auto`: the candidates whose int16 outputs raise the model's output SQNR against
// float on `samples` (up to 256), within `ram_budget` bytes of arena growth (<= 0: the int8
// arena's size, so that it at most doubles). Each candidate is first tried alone (ranked on 64
// samples when there are more than 8). Damage in a few layers: greedily by that gain, each
// kept only if it adds at least 0.5 dB. Damage spread over many (each alone gains little): the
// ranked candidates together as far as the budget allows, then the shortest head of that
// ranking within 0.5 dB of them all, if that beats the few by 0.5 dB.
Int16Choice choose_int16(const QGraph& q, const InputSamples& samples, std::int64_t ram_budget, int threads);

}  // namespace tinyq
