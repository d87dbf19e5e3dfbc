// tinyq runtime, internal: the Arm instructions that the Cortex-M paths write by hand, one
// wrapper per instruction, for every *_arm_*.cpp. They exist because ACLE has no intrinsic for
// them, or because GCC 12 does not fuse an operand rotation into the intrinsic, or (the word
// loads and stores) to keep the access one LDR/STR without strict-aliasing games. Not volatile:
// the compiler may schedule and merge them. Not part of the API.
#ifndef TINYQ_RUNTIME_ARM_INSTRUCTIONS_HPP
#define TINYQ_RUNTIME_ARM_INSTRUCTIONS_HPP

#include <stdint.h>

#define TINYQ_ALWAYS_INLINE __attribute__((always_inline)) inline

// The frame of a top-level __asm__ function in its own section (so that --gc-sections drops
// it when unused), hidden, Thumb: TINYQ_ASM_BEGIN("name") body TINYQ_ASM_END("name").
#define TINYQ_ASM_BEGIN(NAME) \
  "  .section .text." NAME    \
  ",\"ax\",%progbits\n"       \
  "  .syntax unified\n"       \
  "  .thumb\n"                \
  "  .align 2\n"              \
  "  .global " NAME           \
  "\n"                        \
  "  .hidden " NAME           \
  "\n"                        \
  "  .type " NAME             \
  ", %function\n"             \
  "  .thumb_func\n" NAME ":\n"
#define TINYQ_ASM_END(NAME) "  .size " NAME ", .-" NAME "\n  .text\n"

namespace tinyq {
namespace rt {
namespace arm {

// LDR / STR of an unaligned word: allowed on every M-profile core with the DSP extension (and
// on Armv8.1-M). __builtin_memcpy because -ffreestanding turns off the implicit builtin, and
// the explicit one lets the compiler emit exactly one LDR or STR for int8 and int16 buffers.
TINYQ_ALWAYS_INLINE uint32_t load_u32(const void* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
TINYQ_ALWAYS_INLINE void store_u32(void* p, uint32_t v) { __builtin_memcpy(p, &v, sizeof v); }

// SMMLA: c + high32(a * b), the high word a floor of the exact 64-bit product, i.e.
// floor((a * b) / 2^32) + c. Also defined without the DSP extension (e.g. an MVE core built
// without it), in C, so that requantize_fast (conv_arm_common.hpp) has one form.
TINYQ_ALWAYS_INLINE int32_t smmla(int32_t a, int32_t b, int32_t c) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
  int32_t r;
  __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
#else
  return static_cast<int32_t>((static_cast<int64_t>(a) * b) >> 32) + c;
#endif
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
// SMMLAR: c + ((a * b + 2^31) >> 32), the rounded high word of the exact 64-bit product.
TINYQ_ALWAYS_INLINE int32_t smmlar(int32_t a, int32_t b, int32_t c) {
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}
// SMMULR: (a * b + 2^31) >> 32 on the exact 64-bit product.
TINYQ_ALWAYS_INLINE int32_t smmulr(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
// MLA: a * b + c in one instruction: GCC splits a multiplication by a power of two it can see
// into a shift and an add (same cycles, one more instruction).
TINYQ_ALWAYS_INLINE int32_t mla(int32_t a, int32_t b, int32_t c) {
  int32_t r;
  __asm__("mla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}
// SXTB16 / SXTAB16 with the rotation folded in (GCC 12 does not fuse a rotate into them):
// bytes 1 and 3 of x, sign-extended into the two 16-bit halves (plus a's halves). Words in
// and out, as LDR/STR move them; the callers cast for the ACLE intrinsics.
TINYQ_ALWAYS_INLINE uint32_t sxtb16_ror8(uint32_t x) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
TINYQ_ALWAYS_INLINE uint32_t sxtab16_ror8(uint32_t a, uint32_t x) {
  uint32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
  return r;
}
// PKHBT / PKHTB: [low half of a, low half of b] and [high half of a, high half of b].
TINYQ_ALWAYS_INLINE uint32_t pack_low(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
TINYQ_ALWAYS_INLINE uint32_t pack_high(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
  return r;
}
#endif

}  // namespace arm
}  // namespace rt
}  // namespace tinyq

#endif
