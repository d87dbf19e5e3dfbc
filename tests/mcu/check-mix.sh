#!/bin/sh
# The plugin's instruction classes on a sequence of known mix (tests/mcu/mix_test.cpp):
#
#   check-mix.sh <cpu> mix_test.elf --plugin PATH
#
# Runs the firmware with --count --mix and compares the difference of every counter between
# its two markers with the sequence's list (the marker overhead: 2 taken branches).
set -u
[ $# -ge 2 ] || { echo "usage: $0 <cpu> mix_test.elf [--plugin PATH]" >&2; exit 2; }
cpu=$1
elf=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tinyq-mix.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
"$here/../../targets/cortex-m/run-qemu.sh" "$cpu" "$elf" --count "$work/mix.txt" --mix --timeout 60 "$@" >"$work/out.txt" || {
  echo "check-mix: the firmware failed:" >&2
  cat "$work/out.txt" >&2
  exit 1
}
expected="alu=3 it=1 load=3 load_pipelined=2 store=1 store_reg=1 ldm=2 stm=1 mul=2 div=1 branch_taken=3 \
branch_not_taken=1 ldm_regs=8 stm_regs=4 pc_load=0 flash_reads=8 unaligned1=0 unaligned2=1"
awk -v expected="$expected" '
  $1 == "mix" && $2 != "total" {
    hit = $2
    for (i = 3; i <= NF; i++) { split($i, kv, "="); value[hit, kv[1]] = kv[2]; if (hit == 0) order[++n] = kv[1] }
    hits++
  }
  END {
    if (hits != 2) { printf "check-mix: expected 2 marker hits, got %d\n", hits; exit 1 }
    got = ""
    for (i = 1; i <= n; i++) got = got (i > 1 ? " " : "") order[i] "=" (value[1, order[i]] - value[0, order[i]])
    print "mix between the markers: " got
    if (got != expected) { print "check-mix: expected          " expected; exit 1 }
  }' "$work/mix.txt" >&2
