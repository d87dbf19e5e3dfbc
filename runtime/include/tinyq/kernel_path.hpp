// tinyq runtime: which kernel implementation this build uses.
//
// Every kernel has a portable C++ path; Cortex-M builds add an ARMv7E-M DSP path (M4, M7:
// SXTB16/SMLAD) or a Helium path (M55: MVE), chosen at compile time from the ACLE feature
// macros. All paths give bit-identical results. Define TINYQ_FORCE_PORTABLE to build the
// portable path on any core (the `portable` target, and the reference the tests compare
// the optimized paths with).
//
// Scratch-size twins take the path as a parameter so that the host, which plans the MCU's
// arena, asks exactly the question the MCU build will ask (kNativePath there).
#ifndef TINYQ_KERNEL_PATH_HPP
#define TINYQ_KERNEL_PATH_HPP

#include <stdint.h>

namespace tinyq {
namespace rt {

enum class KernelPath : int32_t { Portable = 0, ArmDsp = 1, ArmMve = 2 };

#if defined(TINYQ_FORCE_PORTABLE)
#define TINYQ_PATH_PORTABLE 1
#elif defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define TINYQ_PATH_ARM_MVE 1
#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define TINYQ_PATH_ARM_DSP 1
#else
#define TINYQ_PATH_PORTABLE 1
#endif

#if defined(TINYQ_PATH_ARM_MVE)
inline constexpr KernelPath kNativePath = KernelPath::ArmMve;
#elif defined(TINYQ_PATH_ARM_DSP)
inline constexpr KernelPath kNativePath = KernelPath::ArmDsp;
#else
inline constexpr KernelPath kNativePath = KernelPath::Portable;
#endif

}  // namespace rt
}  // namespace tinyq

#endif
