#include "codegen/code_size.hpp"

#include <set>

namespace tinyq {

std::size_t estimate_code_bytes(const QGraph& graph, const Target& target) {
  // Per kernel family, .text of the kernels an -O3 LTO firmware keeps (arm-none-eabi-g++ 12,
  // dwsep / resnet / inception firmware of `tinyq bench`, rounded up); the DSP and Helium
  // paths carry specialised variants and a portable fallback. -Os needs about 40% less.
  const bool simd = target.path != rt::KernelPath::Portable;
  std::set<QKernel> used;
  for (const auto& n : graph.nodes) used.insert(n.kernel);
  std::size_t bytes = 0;
  for (QKernel k : used) {
    switch (k) {
      case QKernel::Conv: bytes += simd ? 6000 : 900; break;
      case QKernel::Depthwise: bytes += simd ? 3600 : 700; break;
      case QKernel::Dense: bytes += simd ? 1400 : 400; break;
      case QKernel::MaxPool:
      case QKernel::AvgPool:
      case QKernel::Add:
      case QKernel::Mul: bytes += simd ? 1000 : 400; break;
      case QKernel::LayerNorm: bytes += 900; break;
      case QKernel::Reshape: break;
      default: bytes += 400; break;
    }
  }
  // The call sequence: about 60 bytes of Thumb-2 per layer (arguments, call, hook).
  return bytes + 60 * graph.nodes.size();
}

}  // namespace tinyq
