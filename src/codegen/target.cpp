#include "codegen/target.hpp"

#include "util/error.hpp"

namespace tinyq {

const std::vector<Target>& known_targets() {
  static const std::vector<Target> targets = {
      {"cortex-m4",
       rt::KernelPath::ArmDsp,
       {"-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"},
       "mps2-an386"},
      {"cortex-m7",
       rt::KernelPath::ArmDsp,
       {"-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"},
       "mps2-an500"},
      {"cortex-m55", rt::KernelPath::ArmMve, {"-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"}, "mps3-an547"},
      {"portable", rt::KernelPath::Portable, {}, ""},
  };
  return targets;
}

const Target& target_by_name(const std::string& name) {
  for (const auto& t : known_targets())
    if (t.name == name) return t;
  fail("--target", "unknown target '{}' (expected cortex-m4, cortex-m7, cortex-m55 or portable)", name);
}

}  // namespace tinyq
