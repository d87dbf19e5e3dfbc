// Smoke test for the Cortex-M targets (targets/cortex-m): built once per core and run on
// QEMU by ctest (tests/mcu/CMakeLists.txt). It checks what every other firmware relies on:
//   - semihosting stdout (printf, including a float) and exit codes: the return value of
//     main is QEMU's exit status (TINYQ_SMOKE_EXIT_CODE makes it return a nonzero one), and a
//     fault ends the run with status 100 instead of hanging (TINYQ_SMOKE_FAULT);
//   - C++ static constructors run before main;
//   - the FPU is enabled by the startup code and the build uses the hard-float ABI;
//   - the core's SIMD extension: DSP (SMLAD) on M4/M7, MVE (Helium) on M55;
//   - the instruction-count markers: a fixed sequence that qemu-plugin/check-counts.sh uses
//     to prove the counts exact and deterministic (see run_marker_sequence).
#include <stdint.h>
#include <stdio.h>

#include "marker.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
#endif

#ifndef TINYQ_SMOKE_EXIT_CODE
#define TINYQ_SMOKE_EXIT_CODE 0
#endif

// The firmware flags of each core must turn these on; a wrong flag set fails the build.
#if !defined(__ARM_FP) || !defined(__ARM_PCS_VFP)
#error "expected a hard-float build (-mfloat-abi=hard with an FPU)"
#endif
#if defined(TINYQ_EXPECT_MVE) && !(defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1))
#error "expected MVE (integer Helium) on this core"
#endif
#if defined(TINYQ_EXPECT_DSP) && !(defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP)
#error "expected the DSP extension on this core"
#endif

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  printf("  %-40s %s\n", what, ok ? "ok" : "FAILED");
  if (!ok) ++failures;
}

// Set by a static constructor: proves .init_array runs.
struct Constructed {
  int value;
  Constructed() : value(1234) {}
};
Constructed constructed;

// volatile: the compiler must not fold the arithmetic, the FPU has to do it.
volatile float float_a = 1.5f;
volatile float float_b = -2.25f;

bool fpu_works() {
  const float a = float_a, b = float_b;
  const float product = a * b;                   // -3.375, exact in binary
  const float root = __builtin_sqrtf(a * 6.0f);  // sqrt(9) = 3, one VSQRT.F32
  return product == -3.375f && root == 3.0f;
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
volatile uint32_t dsp_x = 0x0003FFFEu;  // int16 lanes {-2, 3}
volatile uint32_t dsp_y = 0x00050007u;  // int16 lanes {7, 5}
bool dsp_works() {
  // SMLAD: acc + x.lo * y.lo + x.hi * y.hi = 100 + (-2 * 7) + 3 * 5 = 101
  int32_t acc = 100;
  __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(dsp_x), "r"(dsp_y));
  return acc == 101;
}
#endif

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
volatile int8_t mve_scale = 3;
bool mve_works() {
  int8_t a[16], b[16];
  int32_t expected = 0;
  for (int i = 0; i < 16; ++i) {
    a[i] = static_cast<int8_t>(i - 8);
    b[i] = static_cast<int8_t>(mve_scale * (i % 5) - 4);
    expected += a[i] * b[i];
  }
  // One VMLADAV.S8: the 16-lane int8 dot product at the heart of the MVE kernels.
  const int32_t got = vmladavq_s8(vld1q_s8(a), vld1q_s8(b));
  return got == expected;
}
#endif

// The fixed sequence qemu-plugin/check-counts.sh checks, in hand-written assembly so that
// the instruction count between the markers is known exactly:
//   hit 0, hit 1: two consecutive markers -> hit1 - hit0 is the marker overhead O
//                 (the marker's `bx lr` and the next `bl`);
//   hit 2, hit 3: a loop of kLoopIterations between markers -> hit3 - hit2 = O + 1 (movw)
//                 + 2 * kLoopIterations (subs + bne per iteration).
constexpr uint32_t kLoopIterations = 1000;
void run_marker_sequence() {
  __asm__ volatile(
      "bl tinyq_marker\n\t"
      "bl tinyq_marker\n\t"
      "bl tinyq_marker\n\t"
      "movw r0, %[n]\n"
      "1:\n\t"
      "subs r0, r0, #1\n\t"
      "bne 1b\n\t"
      "bl tinyq_marker\n\t"
      :
      : [n] "i"(kLoopIterations)
      : "r0", "r1", "r2", "r3", "r12", "lr", "cc", "memory");
}

}  // namespace

int main() {
#if defined(__ARM_FEATURE_MVE)
  const char* core = "Cortex-M55 (MVE)";
#elif defined(__ARM_ARCH_7EM__) && defined(__ARM_FP) && (__ARM_FP & 8)
  const char* core = "Cortex-M7 (DSP, FPv5 double precision)";
#else
  const char* core = "Cortex-M4 (DSP, FPv4 single precision)";
#endif
  printf("tinyq smoke test: %s\n", core);
  check(constructed.value == 1234, "static constructors ran");
  check(fpu_works(), "FPU arithmetic");
  printf("  printf of a float: %.3f\n", static_cast<double>(float_a * float_b));
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
  check(dsp_works(), "DSP extension (SMLAD)");
#endif
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
  check(mve_works(), "MVE (vmladavq_s8)");
#endif
  run_marker_sequence();
#if defined(TINYQ_SMOKE_FAULT)
  // A call to an address where nothing is mapped: the HardFault handler must report it and
  // exit with TINYQ_FAULT_EXIT_CODE.
  printf("calling an unmapped address\n");
  reinterpret_cast<void (*)()>(static_cast<uintptr_t>(0x0FFFFFF1u))();
#endif
  printf("%s\n", failures == 0 ? "PASS" : "FAIL");
  if (failures) return 1;
  return TINYQ_SMOKE_EXIT_CODE;
}
