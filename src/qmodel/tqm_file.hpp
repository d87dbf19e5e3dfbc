#pragma once
// The .tqm file: one versioned artifact holding the quantized graph and the float graph it
// was made from. Layout: "TINYQTQM" | u32 version | u64 payload bytes | u64 FNV-1a of the
// payload | payload. Loading checks all four and every length inside; a corrupt or
// truncated file is one tinyq::Error naming it.
#include <string>

#include "ir/qgraph.hpp"

namespace tinyq {

// Version 2 adds each value's bit width (int16 tensors, quant/widen.hpp) and channel scales
// (concat branches that keep their own, quant/concat_folding.hpp). A model with neither is
// still written as version 1, byte for byte what earlier tinyq wrote; both versions are read.
inline constexpr std::uint32_t kTqmVersion = 2;
inline constexpr std::uint32_t kTqmVersionInt8Only = 1;

// Writes atomically (temporary file, then rename): a failure leaves no partial file.
void save_tqm(const QGraph& graph, const std::string& path);
QGraph load_tqm(const std::string& path);

std::vector<std::uint8_t> serialize_tqm(const QGraph& graph);
QGraph deserialize_tqm(const std::uint8_t* data, std::size_t size, const std::string& where);

}  // namespace tinyq
