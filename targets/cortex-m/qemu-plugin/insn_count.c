/*
 * tinyq instruction counter: a QEMU TCG plugin (plugin API version 1, QEMU 7.2) that counts
 * every guest instruction exactly and snapshots the count each time execution reaches a
 * marker address.
 *
 *   qemu-system-arm ... -plugin libinsn_count.so,marker=0x1234,out=counts.txt
 *
 * Arguments:
 *   marker=ADDR  address of the marker function (hex with 0x, or decimal), Thumb bit
 *                cleared; may be given several times (each hit is recorded, whichever
 *                marker it is). Optional: without it only the total is written.
 *   out=FILE     where the report goes (default: stderr). FILE may not contain a comma
 *                (QEMU splits plugin arguments on commas).
 *   mix=on       also count the instruction mix (classes below) and snapshot it with every
 *                marker hit, for tinyq's cycle estimate (src/codegen/cycle_model.cpp).
 *   flash=LO:HI  with mix=on: data reads from addresses in [LO, HI) are counted as flash
 *                reads (the wait-state term of the estimate).
 *
 * Report, written when QEMU exits (one line per marker hit, in execution order, then the
 * total):
 *   marker <hit index> <address> <count>
 *   total <count>
 * <count> is the number of guest instructions that completed before the marker's first
 * instruction; `total` is the number of instructions executed in the whole run.
 * With mix=on, each marker line is followed by
 *   mix <hit index> alu=N it=N load=N ... (the counters of MIX_NAMES, same instant)
 * and the total by "mix total ...". The classes (alu ... branch_not_taken) add up to the
 * instruction count; ldm_regs/stm_regs (words moved by multiple transfers), pc_load (loads
 * that write the PC), flash_reads and unaligned1/unaligned2 (accesses that cost the M4 one or
 * two extra cycles) are extra information about instructions already counted in a class.
 * Counting the mix adds inline adds and callbacks but never changes `marker`/`total` lines.
 *
 * Exactness: every instruction gets an inline "counter += 1" at translation time, so the
 * count is right even when a translation block is left in the middle (an exception, a
 * semihosting call); a per-block add would over-count those. The marker's own first
 * instruction gets no inline add but a callback that first takes the snapshot and then adds
 * its 1, which makes the snapshot "instructions before the marker" whatever order QEMU
 * emits inline ops and callbacks in. Single vCPU machines only (every Cortex-M machine in
 * QEMU): the counter is not atomic.
 *
 * QEMU 7.2 does not ship qemu-plugin.h, so the few declarations used here are written out
 * below; they follow include/qemu/qemu-plugin.h of QEMU 7.2 (API version 1), whose ABI is
 * what the QEMU binary exports. Nothing else from QEMU is needed to build this file:
 *   cc -shared -fPIC -O2 -o libinsn_count.so insn_count.c
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU 7.2 plugin API (subset of include/qemu/qemu-plugin.h, API version 1) ---- */
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
#define QEMU_PLUGIN_VERSION 1

typedef uint64_t qemu_plugin_id_t;

typedef struct qemu_info_t {
  const char *target_name;
  struct {
    int min;
    int cur;
  } version;
  bool system_emulation;
  union {
    struct {
      int smp_vcpus;
      int max_vcpus;
    } system;
  };
} qemu_info_t;

struct qemu_plugin_tb;
struct qemu_plugin_insn;

enum qemu_plugin_cb_flags {
  QEMU_PLUGIN_CB_NO_REGS,
  QEMU_PLUGIN_CB_R_REGS,
  QEMU_PLUGIN_CB_RW_REGS,
};

enum qemu_plugin_op {
  QEMU_PLUGIN_INLINE_ADD_U64,
};

enum qemu_plugin_mem_rw {
  QEMU_PLUGIN_MEM_R = 1,
  QEMU_PLUGIN_MEM_W,
  QEMU_PLUGIN_MEM_RW,
};

typedef uint32_t qemu_plugin_meminfo_t;
typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr,
                                          void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op, void *ptr,
                                                uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_mem_cb_t cb,
                                      enum qemu_plugin_cb_flags flags, enum qemu_plugin_mem_rw rw, void *userdata);
unsigned int qemu_plugin_mem_size_shift(qemu_plugin_meminfo_t info);
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info);

/* QEMU checks this symbol against the API range it supports before calling install. */
QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv);

/* ---- the instruction mix (mix=on) ---- */

/* Counters, in report order. The first CLASS_COUNT are classes (each instruction is in
 * exactly one); the rest are extra counts about instructions already classified. */
enum {
  MIX_ALU,              /* data processing, moves, compares, extends, DSP SIMD, hints, FP arithmetic */
  MIX_IT,               /* IT */
  MIX_LOAD,             /* load of one item (LDR/LDRH/LDRB/LDRSx, LDREX, VLDR, TBB/TBH) */
  MIX_LOAD_PIPELINED,   /* a load single followed in straight-line code by an independent load/store single */
  MIX_STORE,            /* store of one item, immediate offset (STR/STRH/STRB, STREX, VSTR) */
  MIX_STORE_REG,        /* store of one item with a register offset */
  MIX_LDM,              /* load multiple: LDM, POP, LDRD, VLDM, VPOP */
  MIX_STM,              /* store multiple: STM, PUSH, STRD, VSTM, VPUSH */
  MIX_MUL,              /* multiplies and multiply-accumulates, 32- and 64-bit, DSP (SMLAD, SMLAxy, SMMLA) */
  MIX_DIV,              /* SDIV, UDIV */
  MIX_BRANCH_TAKEN,     /* B, BL, BX, BLX, CBZ/CBNZ, B<cond>, MOV/ADD to PC: the next PC was not the fall-through */
  MIX_BRANCH_NOT_TAKEN, /* the same, execution went on at the next instruction */
  CLASS_COUNT,
  MIX_LDM_REGS = CLASS_COUNT, /* words moved by MIX_LDM instructions */
  MIX_STM_REGS,               /* words moved by MIX_STM instructions */
  MIX_PC_LOAD,                /* loads that write the PC (POP {pc}, LDR pc, TBB/TBH): a pipeline refill */
  MIX_FLASH_READS,            /* data reads (per access) from the flash= range */
  MIX_UNALIGNED1,             /* halfword-aligned word or byte-aligned halfword access */
  MIX_UNALIGNED2,             /* byte-aligned word access */
  MIX_COUNT,
};
static const char *const MIX_NAMES[MIX_COUNT] = {
    "alu",  "it",  "load",         "load_pipelined",   "store",    "store_reg",   "ldm",         "stm",
    "mul",  "div", "branch_taken", "branch_not_taken", "ldm_regs", "stm_regs",    "pc_load",     "flash_reads",
    "unaligned1", "unaligned2"};

/* What the classifier finds out about one instruction. */
typedef struct {
  int cls;           /* MIX_ALU ... MIX_BRANCH_TAKEN (a branch until resolved) */
  unsigned words;    /* MIX_LDM / MIX_STM: words transferred */
  bool pc_load;      /* the load writes the PC */
  bool ls_single;    /* LDR/STR of one item (integer registers): a pipelining partner */
  int rt, rn, rm;    /* loaded register, address registers (-1: none) */
} Decoded;

static unsigned popcount16(unsigned v) { return (unsigned)__builtin_popcount(v & 0xffffu); }

static void decode16(unsigned h, Decoded *d) {
  if ((h & 0xf800) == 0x4800) { /* LDR (literal) */
    d->cls = MIX_LOAD, d->ls_single = true, d->rt = (int)((h >> 8) & 7), d->rn = 15;
  } else if ((h & 0xf000) == 0x5000) { /* load/store, register offset: opB < 3 are the stores */
    d->ls_single = true, d->rm = (int)((h >> 6) & 7), d->rn = (int)((h >> 3) & 7);
    if (((h >> 9) & 7) < 3) {
      d->cls = MIX_STORE_REG;
    } else {
      d->cls = MIX_LOAD, d->rt = (int)(h & 7);
    }
  } else if ((h & 0xe000) == 0x6000 || (h & 0xf000) == 0x8000) { /* LDR/STR(B/H) immediate */
    d->ls_single = true, d->rn = (int)((h >> 3) & 7);
    if (h & 0x0800) {
      d->cls = MIX_LOAD, d->rt = (int)(h & 7);
    } else {
      d->cls = MIX_STORE;
    }
  } else if ((h & 0xf000) == 0x9000) { /* LDR/STR SP-relative */
    d->ls_single = true, d->rn = 13;
    if (h & 0x0800) {
      d->cls = MIX_LOAD, d->rt = (int)((h >> 8) & 7);
    } else {
      d->cls = MIX_STORE;
    }
  } else if ((h & 0xffc0) == 0x4340) { /* MULS */
    d->cls = MIX_MUL;
  } else if ((h & 0xff00) == 0x4700) { /* BX, BLX (register) */
    d->cls = MIX_BRANCH_TAKEN;
  } else if ((h & 0xfd00) == 0x4400 && (((h >> 4) & 8) | (h & 7)) == 15) { /* ADD/MOV to PC */
    d->cls = MIX_BRANCH_TAKEN;
  } else if ((h & 0xfe00) == 0xb400) { /* PUSH */
    d->cls = MIX_STM, d->words = popcount16(h & 0x1ff);
  } else if ((h & 0xfe00) == 0xbc00) { /* POP */
    d->cls = MIX_LDM, d->words = popcount16(h & 0x1ff), d->pc_load = (h & 0x100) != 0;
  } else if ((h & 0xf500) == 0xb100) { /* CBZ, CBNZ */
    d->cls = MIX_BRANCH_TAKEN;
  } else if ((h & 0xff00) == 0xbf00 && (h & 0xf) != 0) { /* IT (0xbfX0 are hints) */
    d->cls = MIX_IT;
  } else if ((h & 0xf000) == 0xc000) { /* STMIA / LDMIA */
    d->cls = (h & 0x0800) ? MIX_LDM : MIX_STM, d->words = popcount16(h & 0xff);
  } else if ((h & 0xf000) == 0xd000 && (h & 0x0e00) != 0x0e00) { /* B<cond> (not UDF, SVC) */
    d->cls = MIX_BRANCH_TAKEN;
  } else if ((h & 0xf800) == 0xe000) { /* B */
    d->cls = MIX_BRANCH_TAKEN;
  }
}

static void decode32(unsigned h1, unsigned h2, Decoded *d) {
  if ((h1 & 0xfe40) == 0xe800) { /* LDM/STM (and their PUSH.W/POP.W aliases) */
    d->words = popcount16(h2);
    if (h1 & 0x10) {
      d->cls = MIX_LDM, d->pc_load = (h2 & 0x8000) != 0;
    } else {
      d->cls = MIX_STM;
    }
  } else if ((h1 & 0xfe40) == 0xe840) { /* LDRD/STRD, exclusives, TBB/TBH */
    if ((h1 & 0x0120) == 0) { /* P = 0, W = 0: not LDRD/STRD */
      if ((h1 & 0xfff0) == 0xe8d0 && (h2 & 0xffe0) == 0xf000) {
        d->cls = MIX_LOAD, d->pc_load = true; /* TBB/TBH: a table load, then a jump */
      } else {
        d->cls = (h1 & 0x10) ? MIX_LOAD : MIX_STORE;
      }
    } else {
      d->cls = (h1 & 0x10) ? MIX_LDM : MIX_STM, d->words = 2;
    }
  } else if ((h1 & 0xee00) == 0xec00 && (h2 & 0x0e00) == 0x0a00) { /* FP register loads/stores */
    const unsigned op = (h1 >> 4) & 0x1f; /* P U D W L */
    if ((op & 0x1e) == 0x04) {
      d->cls = MIX_ALU; /* VMOV between two core registers and a double */
    } else if ((op & 0x12) == 0x10) {
      d->cls = (op & 1) ? MIX_LOAD : MIX_STORE; /* VLDR/VSTR */
    } else {
      d->cls = (op & 1) ? MIX_LDM : MIX_STM, d->words = h2 & 0xff; /* VLDM/VSTM/VPUSH/VPOP */
    }
  } else if ((h1 & 0xf800) == 0xf000 && (h2 & 0x8000)) { /* branches and miscellaneous control */
    if ((h2 & 0x5000) == 0x5000 || (h2 & 0x5000) == 0x1000) {
      d->cls = MIX_BRANCH_TAKEN; /* BL, B.W */
    } else if ((h2 & 0x5000) == 0 && (h1 & 0x0380) != 0x0380) {
      d->cls = MIX_BRANCH_TAKEN; /* B<cond>.W */
    }                            /* else MSR, MRS, barriers, hints: ALU */
  } else if ((h1 & 0xfe00) == 0xf800) { /* load/store single */
    const bool reg_offset = (h1 & 0x80) == 0 && (h2 & 0x0fc0) == 0;
    d->rn = (int)(h1 & 0xf);
    if (reg_offset) d->rm = (int)(h2 & 0xf);
    if (h1 & 0x10) {
      const int rt = (int)(h2 >> 12);
      if (rt == 15 && ((h1 >> 5) & 3) != 2) return; /* PLD/PLI: hints, ALU */
      d->cls = MIX_LOAD, d->ls_single = true, d->rt = rt, d->pc_load = rt == 15;
    } else {
      d->cls = reg_offset ? MIX_STORE_REG : MIX_STORE, d->ls_single = true;
    }
  } else if ((h1 & 0xff80) == 0xfb00) { /* MUL, MLA, MLS, SMLAD, SMLAxy, SMMLA, SMUAD, USADA8 ... */
    d->cls = MIX_MUL;
  } else if ((h1 & 0xff80) == 0xfb80) { /* long multiplies, SDIV, UDIV */
    const unsigned op1 = (h1 >> 4) & 7;
    d->cls = ((op1 == 1 || op1 == 3) && (h2 & 0xf0) == 0xf0) ? MIX_DIV : MIX_MUL;
  }
}

static void decode(const struct qemu_plugin_insn *insn, Decoded *d) {
  memset(d, 0, sizeof *d);
  d->cls = MIX_ALU, d->rt = d->rn = d->rm = -1;
  const uint8_t *b = qemu_plugin_insn_data(insn);
  const size_t size = qemu_plugin_insn_size(insn);
  if (size == 2) {
    decode16((unsigned)b[0] | (unsigned)b[1] << 8, d);
  } else if (size == 4) { /* two halfwords in memory order, each little-endian */
    decode32((unsigned)b[0] | (unsigned)b[1] << 8, (unsigned)b[2] | (unsigned)b[3] << 8, d);
  }
}

/* Cortex-M4 TRM: neighbouring load/store single instructions pipeline their address and data
 * phases; a load then costs one cycle instead of two, unless the next access's address
 * needs the loaded register. Only straight-line neighbours inside one translation block are
 * considered (the model does not follow branches). */
static bool pipelines_with(const Decoded *load, const Decoded *next) {
  return load->cls == MIX_LOAD && load->ls_single && !load->pc_load && next->ls_single && next->rn != load->rt &&
         next->rm != load->rt;
}

/* ---- the counter ---- */
enum { MAX_MARKERS = 16, MAX_TB_INSNS = 512 };

typedef struct {
  uint64_t count;    /* instructions before this hit */
  uint64_t address;  /* which marker */
  uint64_t mix[MIX_COUNT];
} Hit;

/* One translated branch that ends its block, or the marker instruction. */
typedef struct {
  uint64_t address, fall_through;
  Decoded decoded;
} InsnInfo;

static uint64_t insn_count;  /* incremented inline by the translated code */
static uint64_t mix[MIX_COUNT];
static bool count_mix;
static uint64_t flash_lo, flash_hi;
static bool have_flash;
static uint64_t pending_fall_through; /* a block-ending branch ran: where it goes if not taken */
static bool branch_pending;
static uint64_t markers[MAX_MARKERS];
static size_t marker_count;
static Hit *hits;
static size_t hit_count, hit_capacity;
static bool out_of_memory;
static const char *out_path; /* NULL: stderr */
static bool report_written;

/* At the start of every block: was the branch that ended the previous block taken? Branches
 * always end a translation block in QEMU's Arm front end, so the next block's address is the
 * next PC. */
static void on_block(unsigned int vcpu_index, void *userdata) {
  (void)vcpu_index;
  if (!branch_pending) return;
  branch_pending = false;
  mix[(uint64_t)(uintptr_t)userdata == pending_fall_through ? MIX_BRANCH_NOT_TAKEN : MIX_BRANCH_TAKEN] += 1;
}

static void branch_executed(const InsnInfo *info) {
  if (branch_pending) mix[MIX_BRANCH_TAKEN] += 1; /* cannot happen: a branch ends its block */
  branch_pending = true;
  pending_fall_through = info->fall_through;
}

static void on_branch(unsigned int vcpu_index, void *userdata) {
  (void)vcpu_index;
  branch_executed(userdata);
}

static void on_memory(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr, void *userdata) {
  (void)vcpu_index;
  (void)userdata;
  const unsigned size = 1u << qemu_plugin_mem_size_shift(info);
  if (have_flash && !qemu_plugin_mem_is_store(info) && vaddr >= flash_lo && vaddr < flash_hi) mix[MIX_FLASH_READS] += 1;
  if ((size == 2 && (vaddr & 1)) || (size == 4 && (vaddr & 3) == 2)) mix[MIX_UNALIGNED1] += 1;
  if (size == 4 && (vaddr & 1)) mix[MIX_UNALIGNED2] += 1;
}

/* The counters of one instruction's class, added when it runs. */
static void add_class(const Decoded *d, uint64_t *counters) {
  counters[d->cls] += 1;
  if (d->cls == MIX_LDM) counters[MIX_LDM_REGS] += d->words;
  if (d->cls == MIX_STM) counters[MIX_STM_REGS] += d->words;
  if (d->pc_load) counters[MIX_PC_LOAD] += 1;
}

static void on_marker(unsigned int vcpu_index, void *userdata) {
  (void)vcpu_index;
  const InsnInfo *info = userdata;
  if (hit_count == hit_capacity) {
    const size_t capacity = hit_capacity ? 2 * hit_capacity : 1024;
    Hit *grown = realloc(hits, capacity * sizeof *grown);
    if (!grown) {
      out_of_memory = true;  /* reported at exit; counting goes on */
    } else {
      hits = grown;
      hit_capacity = capacity;
    }
  }
  if (hit_count < hit_capacity) {
    hits[hit_count].count = insn_count;
    hits[hit_count].address = info->address;
    memcpy(hits[hit_count].mix, mix, sizeof mix);
    ++hit_count;
  }
  insn_count += 1; /* the marker instruction itself, which has no inline add */
  if (count_mix) { /* its class too, after the snapshot for the same reason */
    if (info->decoded.cls == MIX_BRANCH_TAKEN && info->fall_through)
      branch_executed(info);
    else if (info->decoded.cls == MIX_BRANCH_TAKEN)
      mix[MIX_BRANCH_NOT_TAKEN] += 1;
    else
      add_class(&info->decoded, mix);
  }
}

static bool is_marker(uint64_t vaddr) {
  for (size_t i = 0; i < marker_count; ++i)
    if (markers[i] == vaddr) return true;
  return false;
}

static void inline_add(struct qemu_plugin_insn *insn, int counter, uint64_t value) {
  if (value) qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &mix[counter], value);
}

static InsnInfo *new_info(uint64_t address, uint64_t fall_through, const Decoded *d) {
  InsnInfo *info = malloc(sizeof *info); /* lives as long as the translation: never freed */
  if (!info) {
    fprintf(stderr, "insn_count: out of memory\n");
    abort();
  }
  info->address = address, info->fall_through = fall_through, info->decoded = *d;
  return info;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  const size_t n = qemu_plugin_tb_n_insns(tb);
  static Decoded decoded[MAX_TB_INSNS + 1];
  if (count_mix) {
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS,
                                         (void *)(uintptr_t)qemu_plugin_tb_vaddr(tb));
    for (size_t i = 0; i < n && i <= MAX_TB_INSNS; ++i) decode(qemu_plugin_tb_get_insn(tb, i), &decoded[i]);
  }
  for (size_t i = 0; i < n; ++i) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    const uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
    Decoded *d = &decoded[i <= MAX_TB_INSNS ? i : MAX_TB_INSNS];
    const bool last = i + 1 == n;
    /* A branch that is not the last instruction of its block fell through (QEMU ends a
     * block at every branch; a block split for another reason ends before it). */
    if (count_mix && i + 1 < n && i < MAX_TB_INSNS && pipelines_with(d, &decoded[i + 1])) d->cls = MIX_LOAD_PIPELINED;
    if (marker_count && is_marker(vaddr)) {
      const uint64_t fall_through = last ? vaddr + qemu_plugin_insn_size(insn) : 0;
      qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS,
                                             new_info(vaddr, fall_through, count_mix ? d : &(Decoded){0}));
      continue;
    }
    qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count, 1);
    if (!count_mix) continue;
    if (d->cls == MIX_BRANCH_TAKEN && last) {
      qemu_plugin_register_vcpu_insn_exec_cb(insn, on_branch, QEMU_PLUGIN_CB_NO_REGS,
                                             new_info(vaddr, vaddr + qemu_plugin_insn_size(insn), d));
    } else {
      inline_add(insn, d->cls == MIX_BRANCH_TAKEN ? MIX_BRANCH_NOT_TAKEN : d->cls, 1);
      if (d->cls == MIX_LDM) inline_add(insn, MIX_LDM_REGS, d->words);
      if (d->cls == MIX_STM) inline_add(insn, MIX_STM_REGS, d->words);
      if (d->pc_load) inline_add(insn, MIX_PC_LOAD, 1);
    }
    qemu_plugin_register_vcpu_mem_cb(insn, on_memory, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, NULL);
  }
}

static void write_mix(FILE *out, const char *label, const uint64_t *counters) {
  fprintf(out, "mix %s", label);
  for (int k = 0; k < MIX_COUNT; ++k) fprintf(out, " %s=%" PRIu64, MIX_NAMES[k], counters[k]);
  fputc('\n', out);
}

/* Written once, by whichever comes first: QEMU's plugin atexit hook or the C library's
 * atexit (QEMU leaves through exit() when the guest makes a semihosting SYS_EXIT call). */
static void write_report(void) {
  if (report_written) return;
  report_written = true;
  FILE *out = stderr;
  if (out_path) {
    out = fopen(out_path, "w");
    if (!out) {
      fprintf(stderr, "insn_count: cannot write %s: %s\n", out_path, strerror(errno));
      return;
    }
  }
  char label[32];
  for (size_t i = 0; i < hit_count; ++i) {
    fprintf(out, "marker %zu 0x%" PRIx64 " %" PRIu64 "\n", i, hits[i].address, hits[i].count);
    if (count_mix) {
      snprintf(label, sizeof label, "%zu", i);
      write_mix(out, label, hits[i].mix);
    }
  }
  fprintf(out, "total %" PRIu64 "\n", insn_count);
  if (count_mix) {
    if (branch_pending) mix[MIX_BRANCH_TAKEN] += 1; /* the run ended right after a branch */
    branch_pending = false;
    write_mix(out, "total", mix);
  }
  if (out_of_memory) fprintf(out, "error out of memory: marker hits after %zu were dropped\n", hit_count);
  if (out != stderr && fclose(out) != 0) fprintf(stderr, "insn_count: error writing %s\n", out_path);
}

static void on_qemu_exit(qemu_plugin_id_t id, void *userdata) {
  (void)id;
  (void)userdata;
  write_report();
}

static bool parse_address(const char *text, uint64_t *value) {
  char *end = NULL;
  errno = 0;
  const unsigned long long v = strtoull(text, &end, 0);
  if (errno || end == text || *end != '\0') return false;
  *value = (uint64_t)v;
  return true;
}

/* LO:HI, both parsed as by parse_address. */
static bool parse_range(const char *text, uint64_t *lo, uint64_t *hi) {
  const char *colon = strchr(text, ':');
  char first[64];
  if (!colon || (size_t)(colon - text) >= sizeof first) return false;
  memcpy(first, text, (size_t)(colon - text));
  first[colon - text] = '\0';
  return parse_address(first, lo) && parse_address(colon + 1, hi) && *lo < *hi;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  if (info->system_emulation && info->system.smp_vcpus > 1) {
    fprintf(stderr, "insn_count: one vCPU only (the counter is not atomic)\n");
    return -1;
  }
  for (int i = 0; i < argc; ++i) {
    const char *arg = argv[i];
    if (strncmp(arg, "marker=", 7) == 0) {
      uint64_t address;
      if (!parse_address(arg + 7, &address)) {
        fprintf(stderr, "insn_count: bad marker address '%s'\n", arg + 7);
        return -1;
      }
      if (marker_count == MAX_MARKERS) {
        fprintf(stderr, "insn_count: at most %d markers\n", MAX_MARKERS);
        return -1;
      }
      markers[marker_count++] = address & ~(uint64_t)1; /* Thumb bit is not part of the address */
    } else if (strncmp(arg, "out=", 4) == 0 && arg[4] != '\0') {
      out_path = arg + 4; /* argv lives as long as the plugin (QEMU's API contract) */
    } else if (strcmp(arg, "mix=on") == 0) {
      count_mix = true;
    } else if (strncmp(arg, "flash=", 6) == 0) {
      if (!parse_range(arg + 6, &flash_lo, &flash_hi)) {
        fprintf(stderr, "insn_count: bad flash range '%s' (expected LO:HI)\n", arg + 6);
        return -1;
      }
      have_flash = true;
    } else {
      fprintf(stderr, "insn_count: unknown argument '%s' (expected marker=ADDR, out=FILE, mix=on or flash=LO:HI)\n",
              arg);
      return -1;
    }
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
  atexit(write_report);
  return 0;
}
