// A fixed instruction sequence whose mix the QEMU plugin must classify exactly (mix=on):
// one or more instructions of every class between two markers. tests/mcu/check-mix.sh runs
// it and compares the counters' difference between the markers with the list below.
#include <stdint.h>

#include "marker.h"

namespace {

// In flash (.rodata): the loads from it count as flash reads. table[2] = 0 is the register
// offset of the dependent load.
const uint32_t table[4] = {0x01020304u, 0x05060708u, 0u, 0x0d0e0f10u};
uint32_t ram[4];

}  // namespace

// Between the markers (the marker overhead is 2 taken branches more):
//   ldr r0,[r4]        load_pipelined (next: a load not addressed through r0)
//   ldr r1,[r4,#4]     load_pipelined (next: a store not addressed through r1)
//   str r0,[r5]        store
//   str r1,[r5,r6]     store_reg
//   ldr r2,[r4,#8]     load (next is addressed through r2: no pipelining)
//   ldrb r3,[r4,r2]    load (next is an LDM)
//   ldm r4,{r0-r3}     ldm, 4 words
//   push {r0-r3}       stm, 4 words
//   pop {r0-r3}        ldm, 4 words
//   smlad, mul         mul ×2
//   sdiv               div
//   cmp; it eq; moveq  alu, it, alu
//   cbz r6 (r6 = 0)    branch taken (over a nop)
//   cbnz r6; nop       branch not taken, alu (a CBNZ cannot target the next instruction)
//   ldr r1,[r5,#1]     load, byte-aligned word: unaligned2
// flash reads: 2 + 1 + 1 + 4 = 8.
extern "C" __attribute__((naked, noinline)) void mix_sequence(const uint32_t* /*flash*/, uint32_t* /*ram_words*/) {
  __asm__ volatile(
      "push {r4-r7, lr}\n\t"
      "mov r4, r0\n\t"
      "mov r5, r1\n\t"
      "movs r6, #0\n\t"
      "movs r7, #3\n\t"
      "bl tinyq_marker\n\t"
      "ldr r0, [r4]\n\t"
      "ldr r1, [r4, #4]\n\t"
      "str r0, [r5]\n\t"
      "str r1, [r5, r6]\n\t"
      "ldr r2, [r4, #8]\n\t"
      "ldrb r3, [r4, r2]\n\t"
      "ldm r4, {r0-r3}\n\t"
      "push {r0-r3}\n\t"
      "pop {r0-r3}\n\t"
      "smlad r0, r1, r2, r0\n\t"
      "mul r1, r2, r3\n\t"
      "sdiv r0, r1, r7\n\t"
      "cmp r0, r0\n\t"
      "it eq\n\t"
      "moveq r0, #1\n\t"
      "cbz r6, 1f\n\t"
      "nop\n"
      "1:\n\t"
      "cbnz r6, 2f\n\t"
      "nop\n"
      "2:\n\t"
      "ldr r1, [r5, #1]\n\t"
      "bl tinyq_marker\n\t"
      "pop {r4-r7, pc}\n\t");
}

int main() {
  mix_sequence(table, ram);
  // str r0,[r5] then str r1,[r5,r6] with r6 = 0: the second store overwrites the first.
  return ram[0] == table[1] ? 0 : 1;
}
