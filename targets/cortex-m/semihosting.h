// Minimal Arm semihosting calls for tinyq firmware, independent of newlib's stdio state (the
// fault handlers use them). On M-profile a semihosting call is `bkpt 0xab` with the operation
// number in r0 and its argument in r1; QEMU runs it when started with
// -semihosting-config enable=on.
#ifndef TINYQ_SEMIHOSTING_H
#define TINYQ_SEMIHOSTING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Exit status of a firmware that took a fault or an unexpected exception.
#define TINYQ_FAULT_EXIT_CODE 100

#define TINYQ_SYS_WRITE0 0x04u
#define TINYQ_SYS_EXIT 0x18u
#define TINYQ_SYS_EXIT_EXTENDED 0x20u
#define TINYQ_ADP_STOPPED_APPLICATION_EXIT 0x20026u

static inline uint32_t tinyq_semihosting_call(uint32_t op, const void* arg) {
  register uint32_t r0 __asm__("r0") = op;
  register const void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

// Writes a NUL-terminated string to the host console.
static inline void tinyq_semihosting_write0(const char* text) { tinyq_semihosting_call(TINYQ_SYS_WRITE0, text); }

// Ends the emulation with `code` as QEMU's exit status. SYS_EXIT_EXTENDED carries the code
// on 32-bit Arm (plain SYS_EXIT can only say "success" or "failure").
__attribute__((noreturn)) static inline void tinyq_semihosting_exit(int code) {
  const uint32_t block[2] = {TINYQ_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
  tinyq_semihosting_call(TINYQ_SYS_EXIT_EXTENDED, block);
  for (;;) {
  }
}

#ifdef __cplusplus
}
#endif

#endif
