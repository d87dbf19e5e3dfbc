#pragma once
// An estimate of Cortex-M4 / M7 cycles from an instruction mix, for `tinyq bench --cycles`.
//
// The QEMU plugin (targets/cortex-m/qemu-plugin/insn_count.c, mix=on) counts the executed
// instructions per class between markers; this file turns those counts into cycles with a
// per-class table. It is an estimate: QEMU has no timing, the table is the cores' documented
// (M4) or measured-by-others (M7) issue cost per class, and nothing here models caches, bus
// contention, register dependencies other than load pipelining, or the M7's real pairing
// rules. The table, its sources and its limits are in cycle_model.cpp and docs/BENCHMARKS.md.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tinyq {

// The plugin's counters, in its report order (MIX_NAMES in insn_count.c). The first
// kMixClasses are classes: every executed instruction is in exactly one.
enum class Mix : std::size_t {
  Alu,             // data processing, moves, compares, extends, DSP SIMD, hints, FP arithmetic
  It,              // IT
  Load,            // load of one item (incl. LDREX, VLDR, TBB/TBH)
  LoadPipelined,   // load of one item followed by an independent load/store of one item
  Store,           // store of one item, immediate offset
  StoreReg,        // store of one item, register offset
  Ldm,             // LDM, POP, LDRD, VLDM, VPOP
  Stm,             // STM, PUSH, STRD, VSTM, VPUSH
  Mul,             // MUL/MLA/MLS, long multiplies, DSP multiplies (SMLAD, SMLAxy, SMMLA, ...)
  Div,             // SDIV, UDIV
  BranchTaken,     // branches whose next PC was not the fall-through
  BranchNotTaken,  // branches that fell through
  LdmWords,        // words moved by Ldm instructions
  StmWords,        // words moved by Stm instructions
  PcLoad,          // loads that write the PC (POP {pc}, LDR pc, TBB/TBH): a pipeline refill
  FlashReads,      // data reads from flash (code and constant memory)
  Unaligned1,      // halfword-aligned word or byte-aligned halfword accesses
  Unaligned2,      // byte-aligned word accesses
  Count
};
inline constexpr std::size_t kMixClasses = std::size_t(Mix::BranchNotTaken) + 1;
inline constexpr std::size_t kMixCounters = std::size_t(Mix::Count);

// The plugin's name of each counter ("alu", "load_pipelined", ...).
std::string_view mix_name(Mix counter);

struct InstructionMix {
  std::array<std::uint64_t, kMixCounters> n{};
  std::uint64_t& operator[](Mix c) { return n[std::size_t(c)]; }
  std::uint64_t operator[](Mix c) const { return n[std::size_t(c)]; }
  std::uint64_t instructions() const;  // the sum of the classes
  // this − earlier, counter by counter (both are snapshots of one run: never negative).
  InstructionMix since(const InstructionMix& earlier) const;
  // The marker overhead between two snapshots is two taken branches (the marker's `bx lr`
  // and the next `bl`): removes `intervals` of them.
  void remove_marker_overhead(std::uint64_t intervals);
};

// Parses the counters of a plugin "mix" line after its label: "alu=1 it=0 ...". Every
// counter must be present exactly once; nullopt otherwise.
std::optional<InstructionMix> parse_instruction_mix(std::string_view fields);

enum class CycleCore { CortexM4, CortexM7 };

// The core of a target name with a cycle model ("cortex-m4", "cortex-m7"); nullopt for others.
std::optional<CycleCore> cycle_core(std::string_view target);
// The default clock of the estimate: 168 MHz (M4, as STM32F407), 216 MHz (M7, as STM32F746).
double default_mhz(CycleCore core);

struct CycleEstimate {
  std::uint64_t cycles = 0;  // the table's nominal figures
  std::uint64_t low = 0;     // every range in the table at its low end
  std::uint64_t high = 0;    // ... at its high end
};

// Cycles of the instructions in `mix` on `core` with `wait_states` flash wait states (added
// to every data read from flash and to every pipeline refill after a taken branch).
CycleEstimate estimate_cycles(const InstructionMix& mix, CycleCore core, unsigned wait_states);

// Milliseconds at `mhz`.
inline double cycles_to_ms(std::uint64_t cycles, double mhz) { return double(cycles) / (mhz * 1000.0); }

// One line naming the model and its sources, for the CLI output.
std::string cycle_model_description(CycleCore core, unsigned wait_states);

}  // namespace tinyq
