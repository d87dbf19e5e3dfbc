#pragma once
// The targets `tinyq generate / bench / verify` know: which kernel path their build uses
// (so the host plans scratch exactly as the MCU will ask for it), the compiler flags, and
// the QEMU machine that emulates them.
#include <string>
#include <vector>

#include "tinyq/kernel_path.hpp"

namespace tinyq {

struct Target {
  std::string name;                    // cortex-m4 | cortex-m7 | cortex-m55 | portable
  rt::KernelPath path;                 // the kernels its build compiles
  std::vector<std::string> cpu_flags;  // arm-none-eabi-g++ flags (empty: host compiler)
  std::string qemu_machine;            // empty: no emulator
};

const std::vector<Target>& known_targets();
// Throws tinyq::Error naming the argument and listing the known targets.
const Target& target_by_name(const std::string& name);

}  // namespace tinyq
