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
 *
 * Report, written when QEMU exits (one line per marker hit, in execution order, then the
 * total):
 *   marker <hit index> <address> <count>
 *   total <count>
 * <count> is the number of guest instructions that completed before the marker's first
 * instruction; `total` is the number of instructions executed in the whole run.
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

/* QEMU checks this symbol against the API range it supports before calling install. */
QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv);

/* ---- the counter ---- */
enum { MAX_MARKERS = 16 };

typedef struct {
  uint64_t count;    /* instructions before this hit */
  uint64_t address;  /* which marker */
} Hit;

static uint64_t insn_count;  /* incremented inline by the translated code */
static uint64_t markers[MAX_MARKERS];
static size_t marker_count;
static Hit *hits;
static size_t hit_count, hit_capacity;
static bool out_of_memory;
static const char *out_path; /* NULL: stderr */
static bool report_written;

static void on_marker(unsigned int vcpu_index, void *userdata) {
  (void)vcpu_index;
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
    hits[hit_count].address = (uint64_t)(uintptr_t)userdata;
    ++hit_count;
  }
  insn_count += 1; /* the marker instruction itself, which has no inline add */
}

static bool is_marker(uint64_t vaddr) {
  for (size_t i = 0; i < marker_count; ++i)
    if (markers[i] == vaddr) return true;
  return false;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  const size_t n = qemu_plugin_tb_n_insns(tb);
  for (size_t i = 0; i < n; ++i) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    const uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
    if (marker_count && is_marker(vaddr))
      qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)vaddr);
    else
      qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count, 1);
  }
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
  for (size_t i = 0; i < hit_count; ++i)
    fprintf(out, "marker %zu 0x%" PRIx64 " %" PRIu64 "\n", i, hits[i].address, hits[i].count);
  fprintf(out, "total %" PRIu64 "\n", insn_count);
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
    } else {
      fprintf(stderr, "insn_count: unknown argument '%s' (expected marker=ADDR or out=FILE)\n", arg);
      return -1;
    }
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
  atexit(write_report);
  return 0;
}
