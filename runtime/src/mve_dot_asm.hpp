// tinyq runtime, internal: the Helium multiply-accumulate loop of the MVE conv and dense
// kernels (conv_arm_mve.cpp, dense_arm_mve.cpp), as one assembler macro that their assembly
// functions expand. A string: every translation unit's assembly needs its own definition, so
// each asm statement that uses it starts with TINYQ_MVE_DOT_MACRO and ends with
// TINYQ_MVE_DOT_PURGE (the assembler refuses to define a macro twice). Not part of the API.
//
// TINYQ_MVE_DOT x, chunks, k, done, w0, a0, w1, a1, w2, a2 [, w3, a3] [, s0, s1, s2]:
// dot products of the int8 values at x with 3 or 4 weight rows (pointers w0 .. w3), added to
// a0 .. a3, and with s0 .. s2 given, the rows' sums too (VADDVA: dense folds its input offset
// with them). Per 16 values one VLDRB of x is shared by the rows, each a VLDRB and a
// VMLADAVA.S8 (16 MACs) [and a VADDVA.S8]; `chunks` whole 16-value chunks run in a WLS/LE loop
// (lr the counter), then the k % 16 tail once with VCTP-predicated loads, whose inactive
// lanes read nothing and are zero; with no tail it branches to `done`, lr = 0. After it x and
// the rows point at their tails (not past them) and lr = k % 16. VMLADAVA / VADDVA accumulate
// in even registers only. Uses q0 - q3, lr and the local labels 1 and 2.
#ifndef TINYQ_RUNTIME_MVE_DOT_ASM_HPP
#define TINYQ_RUNTIME_MVE_DOT_ASM_HPP

// clang-format off
#define TINYQ_MVE_DOT_MACRO \
  ".macro TINYQ_MVE_DOT x, chunks, k, done, w0, a0, w1, a1, w2, a2, w3=, a3=, s0=, s1=, s2=\n" \
  "  wls lr, \\chunks, 2f\n" \
  "1:\n" \
  "  vldrb.8 q0, [\\x], #16\n" \
  "  vldrb.8 q1, [\\w0], #16\n" \
  "  vmladava.s8 \\a0, q0, q1\n" \
  "  .ifnb \\s0\n" \
  "  vaddva.s8 \\s0, q1\n" \
  "  .endif\n" \
  "  vldrb.8 q2, [\\w1], #16\n" \
  "  vmladava.s8 \\a1, q0, q2\n" \
  "  .ifnb \\s1\n" \
  "  vaddva.s8 \\s1, q2\n" \
  "  .endif\n" \
  "  vldrb.8 q3, [\\w2], #16\n" \
  "  vmladava.s8 \\a2, q0, q3\n" \
  "  .ifnb \\s2\n" \
  "  vaddva.s8 \\s2, q3\n" \
  "  .endif\n" \
  "  .ifnb \\w3\n" \
  "  vldrb.8 q1, [\\w3], #16\n" \
  "  vmladava.s8 \\a3, q0, q1\n" \
  "  .endif\n" \
  "  le lr, 1b\n" \
  "2:\n" \
  "  ands lr, \\k, #15\n" \
  "  beq \\done\n" \
  "  vctp.8 lr\n" \
  "  vpstttt\n" \
  "  vldrbt.8 q0, [\\x]\n" \
  "  vldrbt.8 q1, [\\w0]\n" \
  "  vldrbt.8 q2, [\\w1]\n" \
  "  vldrbt.8 q3, [\\w2]\n" \
  "  vmladava.s8 \\a0, q0, q1\n" \
  "  .ifnb \\s0\n" \
  "  vaddva.s8 \\s0, q1\n" \
  "  .endif\n" \
  "  vmladava.s8 \\a1, q0, q2\n" \
  "  .ifnb \\s1\n" \
  "  vaddva.s8 \\s1, q2\n" \
  "  .endif\n" \
  "  vmladava.s8 \\a2, q0, q3\n" \
  "  .ifnb \\s2\n" \
  "  vaddva.s8 \\s2, q3\n" \
  "  .endif\n" \
  "  .ifnb \\w3\n" \
  "  vpst\n" \
  "  vldrbt.8 q1, [\\w3]\n" \
  "  vmladava.s8 \\a3, q0, q1\n" \
  "  .endif\n" \
  ".endm\n"
#define TINYQ_MVE_DOT_PURGE "  .purgem TINYQ_MVE_DOT\n"

// TINYQ_MVE_REQUANT acc, param, tmp, table, tflite [, acc2]: a block of 4 channels' sums in
// `acc` (and another pixel's sums of the same channels in `acc2`) requantized in place from
// the ChannelTable entries at `table` (4 bases, 4 multipliers, 4 -t or shifts; the pointer
// steps past them, each loaded once for both): + base, then requantize_lanes (VMULH, VRSHL)
// or, with tflite = 1, requantize_lanes_tflite (VQRDMULH, the fix-up in `tmp`, VRSHL); with
// tflite = 2 the same when every shift is negative, whose fix-up (the value's sign, minus one
// for a negative value before the rounding shift) needs no mask by the shift. Clamp
// and store are the caller's. Used as TINYQ_MVE_DOT is (TINYQ_MVE_REQUANT_MACRO / _PURGE).
#define TINYQ_MVE_REQUANT_MACRO \
  ".macro TINYQ_MVE_REQUANT acc, param, tmp, table, tflite, acc2=\n" \
  "  vldrw.32 \\param, [\\table], #16\n" \
  "  vadd.i32 \\acc, \\acc, \\param\n" \
  "  .ifnb \\acc2\n" \
  "  vadd.i32 \\acc2, \\acc2, \\param\n" \
  "  .endif\n" \
  "  vldrw.32 \\param, [\\table], #16\n" \
  "  .if \\tflite\n" \
  "  vqrdmulh.s32 \\acc, \\acc, \\param\n" \
  "  .ifnb \\acc2\n" \
  "  vqrdmulh.s32 \\acc2, \\acc2, \\param\n" \
  "  .endif\n" \
  "  vldrw.32 \\param, [\\table], #16\n" \
  "  .if \\tflite == 2\n" \
  "  vshr.s32 \\tmp, \\acc, #31\n" \
  "  vadd.i32 \\acc, \\acc, \\tmp\n" \
  "  .ifnb \\acc2\n" \
  "  vshr.s32 \\tmp, \\acc2, #31\n" \
  "  vadd.i32 \\acc2, \\acc2, \\tmp\n" \
  "  .endif\n" \
  "  .else\n" \
  "  vand \\tmp, \\acc, \\param\n" \
  "  vshr.s32 \\tmp, \\tmp, #31\n" \
  "  vqadd.s32 \\acc, \\acc, \\tmp\n" \
  "  .ifnb \\acc2\n" \
  "  vand \\tmp, \\acc2, \\param\n" \
  "  vshr.s32 \\tmp, \\tmp, #31\n" \
  "  vqadd.s32 \\acc2, \\acc2, \\tmp\n" \
  "  .endif\n" \
  "  .endif\n" \
  "  .else\n" \
  "  vmulh.s32 \\acc, \\acc, \\param\n" \
  "  .ifnb \\acc2\n" \
  "  vmulh.s32 \\acc2, \\acc2, \\param\n" \
  "  .endif\n" \
  "  vldrw.32 \\param, [\\table], #16\n" \
  "  .endif\n" \
  "  vrshl.s32 \\acc, \\acc, \\param\n" \
  "  .ifnb \\acc2\n" \
  "  vrshl.s32 \\acc2, \\acc2, \\param\n" \
  "  .endif\n" \
  ".endm\n"
#define TINYQ_MVE_REQUANT_PURGE "  .purgem TINYQ_MVE_REQUANT\n"
// clang-format on

#endif
