#include "codegen/code_size.hpp"

#include <set>

namespace tinyq {

std::size_t estimate_code_bytes(const QGraph& graph, const Target& target) {
  // Rough per-family sizes; the DSP / MVE paths carry specialised variants.
  const std::size_t scale = target.path == rt::KernelPath::Portable ? 1 : 2;
  std::set<QKernel> used;
  for (const auto& n : graph.nodes) used.insert(n.kernel);
  std::size_t bytes = 0;
  for (QKernel k : used) {
    switch (k) {
      case QKernel::Conv: bytes += 900 * scale; break;
      case QKernel::Depthwise: bytes += 700 * scale; break;
      case QKernel::Dense: bytes += 400 * scale; break;
      case QKernel::LayerNorm: bytes += 900; break;
      case QKernel::Reshape: break;
      default: bytes += 400 * scale; break;
    }
  }
  // One kernel call with its arguments: about 24 bytes of Thumb-2.
  return bytes + 24 * graph.nodes.size();
}

}  // namespace tinyq
