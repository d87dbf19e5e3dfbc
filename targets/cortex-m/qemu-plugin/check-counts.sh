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
#   4. with --mix (instruction classes for the cycle estimate): the marker and total lines are
#      the same as without; at every hit the classes add up to the count; the marker overhead
#      is 2 taken branches; the loop is 1001 ALU instructions (movw, subs), 999 + 2 taken
#      branches (bne back, marker overhead) and 1 branch not taken (the last bne).
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
"$here/../run-qemu.sh" "$cpu" "$elf" --count "$work/mix.txt" --mix --timeout 60 "$@" >"$work/out3.txt" || {
  echo "check-counts: run with --mix failed:" >&2
  cat "$work/out3.txt" >&2
  exit 1
}
if ! grep -v '^mix ' "$work/mix.txt" | cmp -s - "$work/run1.txt"; then
  echo "check-counts: counting the mix changed the counts:" >&2
  diff "$work/run1.txt" "$work/mix.txt" >&2
  exit 1
fi
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
  }' "$work/run1.txt" >&2 || exit 1
awk '
  function field(line, key,   n, i, kv) {
    n = split(line, kv, /[ =]/)
    for (i = 3; i < n; i += 2) if (kv[i] == key) return kv[i + 1] + 0
    return -1
  }
  function classes(line,   k, sum, names, n) {
    n = split("alu it load load_pipelined store store_reg ldm stm mul div branch_taken branch_not_taken", names, " ")
    sum = 0
    for (k = 1; k <= n; k++) sum += field(line, names[k])
    return sum
  }
  $1 == "marker" { count[$2] = $4 }
  $1 == "mix" && $2 != "total" { mix[$2] = $0 }
  END {
    for (h = 0; h < 4; h++)
      if (classes(mix[h]) != count[h]) { printf "check-counts: mix at hit %d adds up to %d, not %d\n", h, classes(mix[h]), count[h]; exit 1 }
    if (field(mix[1], "branch_taken") - field(mix[0], "branch_taken") != 2 || classes(mix[1]) - classes(mix[0]) != 2) {
      print "check-counts: the marker overhead is not 2 taken branches"; exit 1
    }
    alu = field(mix[3], "alu") - field(mix[2], "alu")
    taken = field(mix[3], "branch_taken") - field(mix[2], "branch_taken")
    not_taken = field(mix[3], "branch_not_taken") - field(mix[2], "branch_not_taken")
    printf "loop mix: alu %d (expected 1001), taken %d (1001), not taken %d (1)\n", alu, taken, not_taken
    if (alu != 1001 || taken != 1001 || not_taken != 1) { print "check-counts: the loop mix is wrong"; exit 1 }
  }' "$work/mix.txt" >&2
