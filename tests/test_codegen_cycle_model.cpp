// The cycle estimate of `tinyq bench --cycles` (codegen/cycle_model.cpp) on synthetic
// instruction mixes: the tables' arithmetic, exactly, and the parser of the plugin's lines.
#include <gtest/gtest.h>

#include "codegen/cycle_model.hpp"

namespace tinyq {
namespace {

// Every counter different, so that a wrong weight or a swapped counter changes the sum.
InstructionMix sample_mix() {
  InstructionMix m;
  m[Mix::Alu] = 10, m[Mix::It] = 2, m[Mix::Load] = 3, m[Mix::LoadPipelined] = 4, m[Mix::Store] = 5;
  m[Mix::StoreReg] = 6, m[Mix::Ldm] = 2, m[Mix::LdmWords] = 8, m[Mix::Stm] = 1, m[Mix::StmWords] = 4;
  m[Mix::Mul] = 7, m[Mix::Div] = 1, m[Mix::BranchTaken] = 3, m[Mix::BranchNotTaken] = 2, m[Mix::PcLoad] = 1;
  m[Mix::FlashReads] = 9, m[Mix::Unaligned1] = 2, m[Mix::Unaligned2] = 1;
  return m;
}

TEST(CycleModel, InstructionsAreTheSumOfTheClassesOnly) { EXPECT_EQ(sample_mix().instructions(), 46u); }

TEST(CycleModel, CortexM4FollowsTheTrmTable) {
  // Nominal: ALU 10 + IT 2×1 + LDR 3×2 + pipelined LDR 4×1 + STR 5×1 + STR reg 6×2 + LDM (2 + 8)
  // + STM (1 + 4) + MUL 7 + DIV 7 + taken 3 + not taken 2 + refills (3 + 1)×P=2
  // + unaligned 2×1 + 1×2 = 85.
  const CycleEstimate e = estimate_cycles(sample_mix(), CycleCore::CortexM4, 0);
  EXPECT_EQ(e.cycles, 85u);
  EXPECT_EQ(e.low, 74u);   // IT folded (0), DIV 2, P = 1
  EXPECT_EQ(e.high, 99u);  // STR imm 2, DIV 12, P = 3
  // Wait states: +W per flash read (9) and per refill (3 taken + 1 PC load).
  const CycleEstimate w = estimate_cycles(sample_mix(), CycleCore::CortexM4, 2);
  EXPECT_EQ(w.cycles, 85u + 2 * 13);
  EXPECT_EQ(w.low, 74u + 2 * 13);
  EXPECT_EQ(w.high, 99u + 2 * 13);
}

TEST(CycleModel, CortexM7IsHalfwayBetweenSingleIssueAndPerfectPairing) {
  // Single issue: 46 slots + LDM/STM words (8 + 4 + 1) / 2 = 6 + DIV 6 extra + refills 4×1 = 62.
  // Perfect pairing: max(46 / 2, 21 loads/stores, 7 MACs) = 23 slots + the same 16 extra = 39.
  const CycleEstimate e = estimate_cycles(sample_mix(), CycleCore::CortexM7, 0);
  EXPECT_EQ(e.cycles, 62u - (62u - 39u) / 2);
  EXPECT_EQ(e.low, 29u);   // IT folded: 44 slots → 22 + 6 + DIV 1 + no refill
  EXPECT_EQ(e.high, 75u);  // single issue, DIV 12, P = 3
  // A load/store-bound mix pairs no better than one memory access per cycle.
  InstructionMix loads;
  loads[Mix::Load] = 100, loads[Mix::Alu] = 10;
  EXPECT_EQ(estimate_cycles(loads, CycleCore::CortexM7, 0).low, 100u);
  EXPECT_EQ(estimate_cycles(loads, CycleCore::CortexM4, 0).cycles, 210u);
}

TEST(CycleModel, EveryM4ClassCostsAtLeastOneCycleNominally) {
  for (std::size_t k = 0; k < kMixClasses; ++k) {
    InstructionMix one;
    one.n[k] = 1000;
    EXPECT_GE(estimate_cycles(one, CycleCore::CortexM4, 0).cycles, 1000u) << mix_name(Mix(k));
  }
}

TEST(CycleModel, ParsesThePluginsMixLine) {
  const auto m = parse_instruction_mix(
      "alu=10 it=2 load=3 load_pipelined=4 store=5 store_reg=6 ldm=2 stm=1 mul=7 div=1 branch_taken=3 "
      "branch_not_taken=2 ldm_regs=8 stm_regs=4 pc_load=1 flash_reads=9 unaligned1=2 unaligned2=1");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->n, sample_mix().n);
  EXPECT_FALSE(parse_instruction_mix("alu=1"));  // counters missing
  EXPECT_FALSE(parse_instruction_mix(
      "alu=10 alu=10 it=2 load=3 load_pipelined=4 store=5 store_reg=6 ldm=2 stm=1 mul=7 div=1 branch_taken=3 "
      "branch_not_taken=2 ldm_regs=8 stm_regs=4 pc_load=1 flash_reads=9 unaligned1=2 unaligned2=1"));
  EXPECT_FALSE(parse_instruction_mix(
      "alu=x it=2 load=3 load_pipelined=4 store=5 store_reg=6 ldm=2 stm=1 mul=7 div=1 branch_taken=3 "
      "branch_not_taken=2 ldm_regs=8 stm_regs=4 pc_load=1 flash_reads=9 unaligned1=2 unaligned2=1"));
}

TEST(CycleModel, DifferencesRemoveTheMarkerOverhead) {
  InstructionMix before, after = sample_mix();
  before[Mix::Alu] = 4;
  InstructionMix d = after.since(before);
  EXPECT_EQ(d[Mix::Alu], 6u);
  d.remove_marker_overhead(1);  // the marker's bx lr and the next bl
  EXPECT_EQ(d[Mix::BranchTaken], 1u);
  EXPECT_EQ(d.instructions(), 46u - 4u - 2u);
}

TEST(CycleModel, CoresAndClocks) {
  EXPECT_EQ(cycle_core("cortex-m4"), CycleCore::CortexM4);
  EXPECT_EQ(cycle_core("cortex-m7"), CycleCore::CortexM7);
  EXPECT_FALSE(cycle_core("cortex-m55"));
  EXPECT_EQ(default_mhz(CycleCore::CortexM4), 168.0);
  EXPECT_DOUBLE_EQ(cycles_to_ms(168000, 168.0), 1.0);
}

}  // namespace
}  // namespace tinyq
