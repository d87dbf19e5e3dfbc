#pragma once
// tinyq verify --streaming: the streaming step on QEMU against the windowed model on the host.
#include <cstdint>
#include <string>
#include <vector>

#include "codegen/generated_sources.hpp"
#include "codegen/target.hpp"
#include "ir/qgraph.hpp"
#include "ir/tensor.hpp"

namespace tinyq::cli {

struct StreamingVerifyInput {
  std::string model, keep;
  const QGraph* windowed = nullptr;
  const GeneratedSources* sources = nullptr;  // generated with streaming
  const Target* target = nullptr;
  Tensor samples;                    // int8, source layout: n windows, played one after another
  std::vector<std::int64_t> labels;  // per window (may be empty)
  bool json = false;
};

// The windows are played as one stream of frames. After every frame from the first full
// window on, the step's output must equal, byte for byte, the host int8 executor's output
// on the window that ends at that frame (its newest row, for outputs along time).
int verify_streaming(const StreamingVerifyInput& in);

}  // namespace tinyq::cli
