// Layer normalisation: parameters for layer_norm_s8 (runtime/src/layer_norm.cpp).
#include "quant/quantize_node.hpp"
#include "util/error.hpp"

namespace tinyq::quant_detail {

QNode quantize_layer_norm(const Context&, const Node& node) {
  // The integer kernel's parameter math is being finalised with the runtime; until it
  // lands, say so instead of producing a wrong model.
  fail(node.name, "no int8 kernel for LayerNorm yet");
}

}  // namespace tinyq::quant_detail
