#pragma once
// Where cross-layer equalization may rescale channels without changing the model's function.
//
// A region is a set of tensors joined by ops that commute with a positive per-channel scale
// (ReLU, LeakyReLU, PReLU, max/average/global pooling, zero padding, flatten/reshape that
// keeps channels identifiable, concat), whose every tensor is produced by a linear layer
// (conv, depthwise, dense with constant weights; fused clamp [0, inf) or none) or by such an
// op, and read only by such ops or by linear layers as their data input. Dividing every
// producer's output channel by s and multiplying every consumer's matching input weights
// by s then leaves the region's consumers' outputs exactly as they were.
//
// Channels of different tensors that must take the same scale form one class (ReLU in and
// out; concat branch channel i and output channel offset+i; flattened feature k and the
// channel k mod C it came from). Anything else in or around a region (a residual Add, a
// sigmoid, ReLU6's fixed clamp, a graph output, a grouped conv) leaves the whole region
// alone: residual adds are never broken.
#include <cstdint>
#include <vector>

#include "ir/graph.hpp"

namespace tinyq::equalization {

// A linear layer's role in a region, with the class of each of its channels.
struct RegionLayer {
  int node = -1;
  // Producer: class of each output channel. Consumer: class of each input feature (for a
  // dense after a flatten, one entry per input feature).
  std::vector<int> channel_class;
};

struct Region {
  int classes = 0;
  std::vector<RegionLayer> producers;
  std::vector<RegionLayer> consumers;
  // Every tensor in the region with the class of each of its channels (last axis).
  std::vector<std::pair<ValueId, std::vector<int>>> tensors;
};

// True for a conv with one weight per channel (group == channels, multiplier 1).
bool is_depthwise(const Graph& g, const Node& n);

// Every region of `g` where a rescale is function-preserving, each with at least one
// producer and one consumer.
std::vector<Region> find_regions(const Graph& g);

}  // namespace tinyq::equalization
