#!/bin/sh
# Self-test of the instruction-count plugin: proves the counts deterministic and exact.
#
#   check-counts.sh <cortex-m4|cortex-m7|cortex-m55> smoke.elf [--plugin PATH]
#
# Runs the smoke-test firmware (tests/mcu/smoke_test.cpp) twice under the plugin and checks
#   1. both runs give byte-identical reports (every marker hit and the total);
#   2. the marker overhead (two consecutive markers) is the 2 instructions it must be: the
#      marker's `bx lr` and the next `bl tinyq_marker`;
#   3. a hand-written loop of 1000 iterations (2 instructions each) plus one movw between two
#      markers costs exactly overhead + 1 + 2000 instructions.
set -u
[ $# -ge 2 ] || { echo "usage: $0 <cpu> smoke.elf [--plugin PATH]" >&2; exit 2; }
cpu=$1
elf=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tinyq-count.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

for run in 1 2; do
  "$here/../run-qemu.sh" "$cpu" "$elf" --count "$work/run$run.txt" --timeout 60 "$@" >"$work/out$run.txt" || {
    echo "check-counts: run $run failed:" >&2
    cat "$work/out$run.txt" >&2
    exit 1
  }
done
if ! cmp -s "$work/run1.txt" "$work/run2.txt"; then
  echo "check-counts: the two runs gave different counts:" >&2
  diff "$work/run1.txt" "$work/run2.txt" >&2
  exit 1
fi
cat "$work/run1.txt"
awk -v loop=1000 '
  $1 == "marker" { hit[$2] = $4; n++ }
  $1 == "total" { total = $2 }
  END {
    if (n != 4) { printf "check-counts: expected 4 marker hits, got %d\n", n; exit 1 }
    overhead = hit[1] - hit[0]
    delta = hit[3] - hit[2]
    want = overhead + 1 + 2 * loop
    printf "marker overhead %d instructions; loop delta %d (expected %d); total %d\n", overhead, delta, want, total
    if (overhead != 2) { print "check-counts: marker overhead is not 2"; exit 1 }
    if (delta != want) { print "check-counts: loop count is not exact"; exit 1 }
    if (!(total > hit[3])) { print "check-counts: total below the last marker"; exit 1 }
  }' "$work/run1.txt" >&2
