#include "codegen/code_size.hpp"

#include <set>

namespace tinyq {

std::size_t estimate_code_bytes(const QGraph& graph, const Target& target) {
  // Per kernel family, .text of the kernels an -O3 LTO firmware keeps (arm-none-eabi-g++ 12,
  // `tinyq bench` of the zoo and the ten MLPerf Tiny builds, rounded up); the DSP and Helium
  // paths carry specialised variants (depthwise: 3x3, row pairs, multiplier; conv: 1x1,
  // general, one-channel stems) and a portable fallback, so which variants a model's shapes
  // pick moves the real figure: against the linked code of the MLPerf Tiny builds (after the
  // depthwise 3x3 passes) this estimate is within -25%..+60% (KWS: 23.6 KB estimated, 30.7 KB
  // linked; AD: 4.4 vs 2.8 KB). -Os needs about 40% less.
  const bool simd = target.path != rt::KernelPath::Portable;
  std::set<QKernel> used;
  bool wide = false;  // 16x8 layers: conv2d_wide and kin, portable everywhere
  for (const auto& n : graph.nodes) {
    if (n.kernel != QKernel::Reshape && has_int16_tensor(graph, n))
      wide = true;
    else
      used.insert(n.kernel);
  }
  std::size_t bytes = wide ? 2000 : 0;
  for (QKernel k : used) {
    switch (k) {
      case QKernel::Conv: bytes += simd ? 8000 : 900; break;
      case QKernel::Depthwise: bytes += simd ? 9000 : 700; break;
      case QKernel::ConvTranspose: bytes += 2100; break;  // portable on every target, both roundings
      case QKernel::Dense: bytes += simd ? 2400 : 400; break;
      case QKernel::MaxPool:
      case QKernel::AvgPool:
      case QKernel::Add:
      case QKernel::Mul: bytes += simd ? 1200 : 400; break;
      case QKernel::LayerNorm: bytes += 900; break;
      case QKernel::MatMul: bytes += 300; break;      // portable on every target
      case QKernel::Recurrent: bytes += 2000; break;  // gru_rows M4 runtime code 1.2 KB, and the 1 KB sigmoid table
      case QKernel::Reshape: break;
      default: bytes += 400; break;
    }
  }
  // The call sequence: arguments, call and hook per layer; LTO inlines the small kernels'
  // drivers into it (MLPerf Tiny KWS: 3.0 KB of model code for 13 layers).
  return bytes + (simd ? 200 : 60) * graph.nodes.size();
}

}  // namespace tinyq
