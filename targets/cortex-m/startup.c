// tinyq Cortex-M startup for the QEMU MPS2/MPS3 machines (Cortex-M4, M7, M55).
//
// What runs before main, and nothing more:
//   1. enable the FPU (and on M55 the MVE, which shares the CP10/CP11 enables),
//   2. copy .data from its load image, zero .bss,
//   3. run C++ static constructors (.init_array; crti/crtbegin are not linked),
//   4. initialise_monitor_handles(): newlib's rdimon opens stdin/stdout/stderr over
//      semihosting, so printf works,
//   5. main(), then exit(main's return value) so the code becomes QEMU's exit status.
//
// We use our own startup because newlib's rdimon-crt0 crashes on these machines (it asks the
// debugger for heap/stack limits with SYS_HEAPINFO and QEMU's answer does not match the
// board's memory): link with -nostartfiles --specs=rdimon.specs.
//
// Faults print a short report over semihosting and exit with TINYQ_FAULT_EXIT_CODE: a
// crashing firmware never hangs a test until its timeout.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "semihosting.h"

// Symbols from the linker script (sections.ld).
extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_top__[];
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

extern void initialise_monitor_handles(void);
extern int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);

// System Control Block registers used here (same addresses on ARMv7-M and ARMv8-M).
#define SCB_REG(offset) (*(volatile uint32_t*)(0xE000ED00u + (offset)))
#define SCB_CPACR SCB_REG(0x88)
#define SCB_HFSR SCB_REG(0x2C)
#define SCB_CFSR SCB_REG(0x28)
#define SCB_MMFAR SCB_REG(0x34)
#define SCB_BFAR SCB_REG(0x38)

// Exception handlers other than reset and hard fault: all report and exit. Weak, so that a
// firmware can provide its own (e.g. SysTick_Handler).
#define TINYQ_WEAK_DEFAULT __attribute__((weak, alias("Default_Handler")))
void NMI_Handler(void) TINYQ_WEAK_DEFAULT;
void MemManage_Handler(void) TINYQ_WEAK_DEFAULT;
void BusFault_Handler(void) TINYQ_WEAK_DEFAULT;
void UsageFault_Handler(void) TINYQ_WEAK_DEFAULT;
void SecureFault_Handler(void) TINYQ_WEAK_DEFAULT;
void SVC_Handler(void) TINYQ_WEAK_DEFAULT;
void DebugMon_Handler(void) TINYQ_WEAK_DEFAULT;
void PendSV_Handler(void) TINYQ_WEAK_DEFAULT;
void SysTick_Handler(void) TINYQ_WEAK_DEFAULT;

typedef void (*VectorEntry)(void);

// The 16 architectural entries. tinyq firmware enables no external interrupt, so the table
// stops there (an IRQ enabled by other code would need a longer table).
// Slot 7 is SecureFault on ARMv8-M (M55) and reserved on ARMv7-M, where it is never taken.
__attribute__((section(".vectors"), used)) const VectorEntry tinyq_vector_table[16] = {
    (VectorEntry)(uintptr_t)__stack_top__,  // initial main stack pointer
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    SecureFault_Handler,
    0,
    0,
    0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
};

// Nothing may use floating point before CPACR grants access, and .data/.bss are not valid
// yet: keep this function free of library calls and globals until they are set up. The
// copy loops use volatile pointers so that GCC neither turns them into memcpy/memset calls
// nor vectorises them.
__attribute__((noreturn, used)) void Reset_Handler(void) {
  // CP10 and CP11 full access (bits 20-23). On the M55 the same two coprocessor enables
  // also gate MVE (Helium).
  SCB_CPACR |= (0xFu << 20);
  __asm__ volatile("dsb\n\tisb" ::: "memory");

  volatile uint32_t* dst = __data_start__;
  const volatile uint32_t* src = __data_load__;
  while (dst < __data_end__) *dst++ = *src++;
  for (volatile uint32_t* p = __bss_start__; p < __bss_end__; ++p) *p = 0;

  for (void (**ctor)(void) = __init_array_start; ctor < __init_array_end; ++ctor) (*ctor)();

  initialise_monitor_handles();
  // exit() flushes stdio and ends in newlib's _exit, which reports the status to QEMU with
  // SYS_EXIT_EXTENDED. main's return value is thereby QEMU's exit status.
  exit(main());
}

// Fault report, written with SYS_WRITE0 only: stdio may be in any state when we get here.
static void put_hex(const char* label, uint32_t value) {
  char text[64];  // labels below are 18 characters: 18 + "0x" + 8 digits + "\n" fits
  int n = 0;
  while (*label) text[n++] = *label++;
  text[n++] = '0';
  text[n++] = 'x';
  for (int shift = 28; shift >= 0; shift -= 4) text[n++] = "0123456789abcdef"[(value >> shift) & 0xFu];
  text[n++] = '\n';
  text[n] = '\0';
  tinyq_semihosting_write0(text);
}

// `frame` is the exception stack frame (r0-r3, r12, lr, pc, xpsr), `exc_return` the
// EXC_RETURN value; both come from the assembly trampolines below.
__attribute__((noreturn, used)) static void report_fault(const char* what, const uint32_t* frame, uint32_t exc_return) {
  uint32_t ipsr;
  __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
  tinyq_semihosting_write0("\n*** tinyq firmware: ");
  tinyq_semihosting_write0(what);
  tinyq_semihosting_write0(" ***\n");
  put_hex("exception number  ", ipsr & 0x1FFu);
  put_hex("CFSR              ", SCB_CFSR);
  put_hex("HFSR              ", SCB_HFSR);
  put_hex("MMFAR             ", SCB_MMFAR);
  put_hex("BFAR              ", SCB_BFAR);
  put_hex("EXC_RETURN        ", exc_return);
  if (frame) {
    put_hex("stacked PC        ", frame[6]);
    put_hex("stacked LR        ", frame[5]);
    put_hex("stacked xPSR      ", frame[7]);
  }
  tinyq_semihosting_exit(TINYQ_FAULT_EXIT_CODE);
}

__attribute__((noreturn, used)) void tinyq_hard_fault_c(const uint32_t* frame, uint32_t exc_return) {
  report_fault("HardFault", frame, exc_return);
}
__attribute__((noreturn, used)) void tinyq_default_handler_c(const uint32_t* frame, uint32_t exc_return) {
  report_fault("unexpected exception", frame, exc_return);
}

// exit() runs newlib's __libc_fini_array, which ends with a call to _fini, normally from
// crti.o; -nostartfiles leaves it out, and there is nothing to finalise.
void _fini(void) {}

// Trampolines: pick the stack the frame was pushed on (EXC_RETURN bit 2: 0 = MSP, 1 = PSP)
// and pass it with EXC_RETURN to C. Naked, so that no prologue touches a possibly broken
// stack before we have read it.
__attribute__((naked)) void HardFault_Handler(void) {
  __asm__ volatile(
      "tst lr, #4\n\t"
      "ite eq\n\t"
      "mrseq r0, msp\n\t"
      "mrsne r0, psp\n\t"
      "mov r1, lr\n\t"
      "b tinyq_hard_fault_c\n\t");
}
__attribute__((naked)) void Default_Handler(void) {
  __asm__ volatile(
      "tst lr, #4\n\t"
      "ite eq\n\t"
      "mrseq r0, msp\n\t"
      "mrsne r0, psp\n\t"
      "mov r1, lr\n\t"
      "b tinyq_default_handler_c\n\t");
}
