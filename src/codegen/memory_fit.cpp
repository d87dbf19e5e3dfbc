#include "codegen/memory_fit.hpp"

#include <fmt/format.h>

namespace tinyq {

namespace {

constexpr std::size_t KiB = 1024, MiB = 1024 * KiB;

// The QEMU machines' memory, as targets/cortex-m/<machine>.ld lays it out.
struct EmulatedMemory {
  std::size_t code;    // vectors + .text
  std::size_t rodata;  // constants; 0: they share the code region
  std::size_t ram;     // .data, .bss (the arena), heap, stack
};

std::optional<EmulatedMemory> emulated_memory(const std::string& machine) {
  if (machine == "mps2-an386" || machine == "mps2-an500") return EmulatedMemory{4 * MiB, 0, 4 * MiB};
  if (machine == "mps3-an547") return EmulatedMemory{512 * KiB, 2 * MiB, 512 * KiB};
  return std::nullopt;
}

// What the test firmware adds around the model: newlib's stdio and semihosting, startup and
// main (about 30 KB of code and constants at -O3, measured from firmware.map), and in RAM the
// 64 KiB stack and 64 KiB minimum heap of sections.ld plus newlib's data. Rounded up: the check
// must refuse what cannot link, and a model within a few KB of the edge is rare.
constexpr std::size_t kHarnessCode = 48 * KiB;
constexpr std::size_t kHarnessRam = 136 * KiB;
constexpr std::size_t kHarnessConst = 16 * KiB;  // where constants have their own region (M55)

std::size_t room(std::size_t region, std::size_t reserved) { return region > reserved ? region - reserved : 0; }

}  // namespace

std::string describe_needs(const MemoryNeeds& n) {
  return fmt::format(
      "weights and constants {} B, code ~{} B (estimate) = flash {} B; arena {} B (lower bound {} B, largest scratch "
      "{} B)",
      n.const_bytes, n.code_bytes, n.flash(), n.arena_bytes, n.arena_lower_bound, n.scratch_bytes);
}

std::optional<std::string> exceeded_limits(const MemoryNeeds& n, std::size_t ram_limit, std::size_t flash_limit) {
  const bool over_ram = ram_limit > 0 && n.arena_bytes > ram_limit;
  const bool over_flash = flash_limit > 0 && n.flash() > flash_limit;
  if (over_ram && over_flash) return fmt::format("--ram-limit {} and --flash-limit {}", ram_limit, flash_limit);
  if (over_ram) return fmt::format("--ram-limit {}", ram_limit);
  if (over_flash) return fmt::format("--flash-limit {}", flash_limit);
  return std::nullopt;
}

std::optional<std::string> exceeds_emulator(const MemoryNeeds& n, const Target& target) {
  const auto memory = emulated_memory(target.qemu_machine);
  if (!memory) return std::nullopt;
  const std::string board = fmt::format("{} ({} on QEMU)", target.qemu_machine, target.name);
  const std::size_t ram = room(memory->ram, kHarnessRam);
  if (n.arena_bytes > ram)
    return fmt::format(
        "the arena needs {} B but {} has {} B of RAM for it ({} B less the test firmware's stack, "
        "heap and data)",
        n.arena_bytes, board, ram, memory->ram);
  if (memory->rodata == 0) {
    const std::size_t flash = room(memory->code, kHarnessCode);
    if (n.flash() > flash)
      return fmt::format(
          "weights, constants and code need {} B but {} has {} B for them ({} B less the test "
          "firmware's code)",
          n.flash(), board, flash, memory->code);
    return std::nullopt;
  }
  const std::size_t rodata = room(memory->rodata, kHarnessConst);
  if (n.const_bytes > rodata)
    return fmt::format("weights and constants need {} B but {} has {} B of memory for them", n.const_bytes, board,
                       rodata);
  const std::size_t code = room(memory->code, kHarnessCode);
  if (n.code_bytes > code) return fmt::format("the code needs ~{} B but {} has {} B for it", n.code_bytes, board, code);
  return std::nullopt;
}

}  // namespace tinyq
