// tinyq_marker(): the point where the QEMU instruction-count plugin takes its snapshots.
//
// Call it immediately before and after the code you want to measure. The plugin
// (qemu-plugin/insn_count.c, loaded by run-qemu.sh --count FILE) records, every time the
// marker's first instruction is about to execute, how many guest instructions have executed
// so far; the difference between two snapshots is the cost of the code between the calls
// plus a constant marker overhead (the marker's `bx lr` and the next `bl`: see README.md).
// Outside the plugin the marker is a function that returns at once.
#ifndef TINYQ_MARKER_H
#define TINYQ_MARKER_H

#ifdef __cplusplus
extern "C" {
#endif

void tinyq_marker(void);

#ifdef __cplusplus
}
#endif

#endif
