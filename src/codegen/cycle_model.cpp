// The cycle table of `tinyq bench --cycles` (see cycle_model.hpp; docs/BENCHMARKS.md shows
// the same table with its sources and limits).
//
// Cortex-M4: Arm's Cortex-M4 Technical Reference Manual (DDI 0439B), Table 3-1 "Cortex-M4
// instruction set summary" and section 3.3.1 "Load/store timings":
//   - data processing, compares, extends, saturation, DSP SIMD: 1 cycle;
//   - IT: 0 or 1 (folded onto a preceding 16-bit instruction or not): 1, range 0-1;
//   - MUL, MLA, long multiplies and the DSP multiply-accumulates (SMLAD, SMLAxy, SMMLA): 1;
//   - SDIV/UDIV: 2-12 (early termination on the operands' magnitudes): 7, range 2-12;
//   - LDR (and the other loads of one item): 2, but "neighbouring load and store single
//     instructions can pipeline their address and data phases", so a load directly followed
//     by an independent load/store costs 1 (the plugin finds those: load_pipelined);
//   - STR with an immediate offset: 1 ("always one cycle": the data phase overlaps the next
//     instruction), range 1-2 (a stalled store "normally only takes two cycles");
//     STR with a register offset: 2 (nothing pipelines after it);
//   - LDM/STM/PUSH/POP/LDRD/STRD/VLDM/VSTM: 1 + N (N words);
//   - branches: taken 1 + P, not taken 1; loads that write the PC add P. "P is the number of
//     cycles required for a pipeline refill. This ranges from 1 to 3 depending on the
//     alignment and width of the target instruction, and whether the processor manages to
//     speculate the address early": P = 2, range 1-3;
//   - unaligned accesses: +1 for a halfword-aligned word or byte-aligned halfword, +2 for a
//     byte-aligned word (done as two or three accesses).
// Cortex-M7: Arm publishes no per-instruction timing for the M7 (its TRM, DDI 0489, has no
// such table). The M7 table is the single-issue cost of a 6-stage pipeline with a 64-bit
// data path: 1 per instruction, LDM/STM 1 + N/2 (two words per cycle), divide as on the M4,
// taken branches 1 + P with P = 1 (range 0-3: the branch predictor removes most refills of
// loop branches), no load/store pipelining or alignment term. Dual issue is approximated:
// with perfect pairing the instructions would need max(instructions / 2, loads + stores,
// multiplies) issue cycles (one load/store and one MAC pipe) plus the penalties; the nominal
// estimate is halfway between no dual issue and that bound, the range spans both.
// Flash wait states W (both cores): +W per data read from flash and +W per pipeline refill
// (taken branch or PC load); sequential instruction fetches are assumed hidden by a prefetch
// buffer (as STM32's ART accelerator does), data from RAM has no wait state, and no cache is
// modelled.
#include "codegen/cycle_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace tinyq {

namespace {

constexpr std::array<std::string_view, kMixCounters> kNames = {
    "alu",        "it",        "load",         "load_pipelined",   "store",    "store_reg", "ldm",     "stm",
    "mul",        "div",       "branch_taken", "branch_not_taken", "ldm_regs", "stm_regs",  "pc_load", "flash_reads",
    "unaligned1", "unaligned2"};

// The figures that have a range in the tables.
struct Ranged {
  std::uint64_t it, store, div, refill;
};
constexpr Ranged kM4Nominal{1, 1, 7, 2}, kM4Low{0, 1, 2, 1}, kM4High{1, 2, 12, 3};
constexpr Ranged kM7Nominal{1, 1, 7, 1}, kM7Low{0, 1, 2, 0}, kM7High{1, 1, 12, 3};

std::uint64_t m4_cycles(const InstructionMix& m, const Ranged& r, unsigned wait_states) {
  const std::uint64_t refills = m[Mix::BranchTaken] + m[Mix::PcLoad];
  return m[Mix::Alu] + r.it * m[Mix::It] + 2 * m[Mix::Load] + m[Mix::LoadPipelined] + r.store * m[Mix::Store] +
         2 * m[Mix::StoreReg] + m[Mix::Ldm] + m[Mix::LdmWords] + m[Mix::Stm] + m[Mix::StmWords] + m[Mix::Mul] +
         r.div * m[Mix::Div] + m[Mix::BranchTaken] + m[Mix::BranchNotTaken] + r.refill * refills + m[Mix::Unaligned1] +
         2 * m[Mix::Unaligned2] + std::uint64_t(wait_states) * (m[Mix::FlashReads] + refills);
}

// M7: the single-issue cycles and the perfect-pairing bound, both with table r.
struct M7Cycles {
  std::uint64_t single, paired;
};

M7Cycles m7_cycles(const InstructionMix& m, const Ranged& r, unsigned wait_states) {
  // A folded IT (table figure 0) takes no issue slot.
  const std::uint64_t insns = m.instructions() - (r.it == 0 ? m[Mix::It] : 0);
  const std::uint64_t refills = m[Mix::BranchTaken] + m[Mix::PcLoad];
  // Cycles beyond one issue slot per instruction; these do not pair.
  const std::uint64_t extra = (m[Mix::LdmWords] + m[Mix::StmWords] + 1) / 2 + (r.div - 1) * m[Mix::Div] +
                              r.refill * refills + std::uint64_t(wait_states) * (m[Mix::FlashReads] + refills);
  const std::uint64_t single = insns + extra;
  const std::uint64_t memory =
      m[Mix::Load] + m[Mix::LoadPipelined] + m[Mix::Store] + m[Mix::StoreReg] + m[Mix::Ldm] + m[Mix::Stm];
  const std::uint64_t issue = std::max({(insns + 1) / 2, memory, m[Mix::Mul]});
  return {single, std::min(single, issue + extra)};
}

}  // namespace

std::string_view mix_name(Mix counter) { return kNames[std::size_t(counter)]; }

std::uint64_t InstructionMix::instructions() const {
  std::uint64_t sum = 0;
  for (std::size_t k = 0; k < kMixClasses; ++k) sum += n[k];
  return sum;
}

InstructionMix InstructionMix::since(const InstructionMix& earlier) const {
  InstructionMix d;
  for (std::size_t k = 0; k < kMixCounters; ++k) d.n[k] = n[k] >= earlier.n[k] ? n[k] - earlier.n[k] : 0;
  return d;
}

void InstructionMix::remove_marker_overhead(std::uint64_t intervals) {
  std::uint64_t& taken = (*this)[Mix::BranchTaken];
  taken = taken >= 2 * intervals ? taken - 2 * intervals : 0;
}

std::optional<InstructionMix> parse_instruction_mix(std::string_view fields) {
  InstructionMix mix;
  std::array<bool, kMixCounters> seen{};
  std::size_t pos = 0;
  while (pos < fields.size()) {
    if (fields[pos] == ' ') {
      ++pos;
      continue;
    }
    std::size_t end = fields.find(' ', pos);
    if (end == std::string_view::npos) end = fields.size();
    const std::string_view field = fields.substr(pos, end - pos);
    pos = end;
    const std::size_t eq = field.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = field.substr(0, eq), value = field.substr(eq + 1);
    std::size_t k = 0;
    while (k < kMixCounters && kNames[k] != key) ++k;
    if (k == kMixCounters || seen[k]) return std::nullopt;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), mix.n[k]);
    if (ec != std::errc() || ptr != value.data() + value.size() || value.empty()) return std::nullopt;
    seen[k] = true;
  }
  for (bool s : seen)
    if (!s) return std::nullopt;
  return mix;
}

std::optional<CycleCore> cycle_core(std::string_view target) {
  if (target == "cortex-m4") return CycleCore::CortexM4;
  if (target == "cortex-m7") return CycleCore::CortexM7;
  return std::nullopt;
}

double default_mhz(CycleCore core) { return core == CycleCore::CortexM4 ? 168.0 : 216.0; }

CycleEstimate estimate_cycles(const InstructionMix& mix, CycleCore core, unsigned wait_states) {
  if (core == CycleCore::CortexM4)
    return {m4_cycles(mix, kM4Nominal, wait_states), m4_cycles(mix, kM4Low, wait_states),
            m4_cycles(mix, kM4High, wait_states)};
  const M7Cycles nominal = m7_cycles(mix, kM7Nominal, wait_states);
  return {nominal.single - (nominal.single - nominal.paired) / 2, m7_cycles(mix, kM7Low, wait_states).paired,
          m7_cycles(mix, kM7High, wait_states).single};
}

std::string cycle_model_description(CycleCore core, unsigned wait_states) {
  if (core == CycleCore::CortexM4)
    return fmt::format(
        "estimate from the instruction mix with the Cortex-M4 TRM's timings (Arm DDI 0439), {} flash wait state{}; "
        "no cache or bus contention model",
        wait_states, wait_states == 1 ? "" : "s");
  return fmt::format(
      "estimate from the instruction mix, Cortex-M7 single-issue costs with dual issue approximated (halfway to "
      "perfect pairing; Arm publishes no M7 timings), {} flash wait state{}; no cache or bus contention model",
      wait_states, wait_states == 1 ? "" : "s");
}

}  // namespace tinyq
