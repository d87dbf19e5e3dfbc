// Which kernel variant a path-test firmware run checks, read from the semihosting command
// line. Without -append or -semihosting-config arg=..., QEMU builds that line from the -kernel
// file name, so one firmware serves every variant: tests/mcu/CMakeLists.txt links it under
// names like mcu_paths_conv_m4.variant-conv_pointwise.elf and registers one ctest per name.
// This needs no change to run-qemu.sh and no second build of the runtime per variant.
#ifndef TINYQ_TESTS_MCU_VARIANT_SELECT_HPP
#define TINYQ_TESTS_MCU_VARIANT_SELECT_HPP

#include <stdint.h>
#include <string.h>

#include "semihosting.h"

namespace tinyq_test {

constexpr uint32_t kSysGetCmdline = 0x15u;

// The variant named by "variant-<name>." in the file name of the running firmware, or null
// (run every kernel, as the plain firmware name does). `buffer` receives the name.
inline const char* requested_variant(char* buffer, uint32_t size) {
  static char line[256];
  uint32_t block[2] = {static_cast<uint32_t>(reinterpret_cast<uintptr_t>(line)), sizeof(line)};
  if (tinyq_semihosting_call(kSysGetCmdline, block) != 0) return nullptr;
  line[sizeof(line) - 1] = '\0';
  // Only the file name: a build folder may itself contain "variant-".
  const char* name = line;
  for (const char* c = line; *c != '\0' && *c != ' '; ++c)
    if (*c == '/') name = c + 1;
  const char* at = strstr(name, "variant-");
  if (at == nullptr) return nullptr;
  at += 8;
  uint32_t n = 0;
  while (at[n] != '\0' && at[n] != '.' && at[n] != ' ' && n + 1 < size) {
    buffer[n] = at[n];
    ++n;
  }
  buffer[n] = '\0';
  return buffer;
}

}  // namespace tinyq_test

#endif
