#!/bin/sh
# Instruction counts of tinyq's kernels on the reference layers (README.md), next to CMSIS-NN's.
#
#   bench/reference_layers/run.sh <cortex-m4|cortex-m7|cortex-m55> [--portable] [--build-dir DIR]
#                                 [--no-host-check]
#
# Builds main.cpp with the runtime for the target (arm-none-eabi-g++ -O3, the flags of
# targets/cortex-m), runs it on QEMU under the instruction-count plugin and prints, per layer:
# tinyq's instructions (marker overhead subtracted), CMSIS-NN's figure for the same core
# (cmsis_nn.tsv, the anchor in README.md), their ratio and MACs per instruction. It also builds the same
# program for the host and checks that every layer's output checksum is identical: the MCU
# path (DSP/MVE) and the host's portable path must agree bit for bit.
#   --portable       build the MCU firmware with TINYQ_FORCE_PORTABLE (the plain C++ kernels)
#   --build-dir DIR  where objects and results go (default: <repo>/build-targets/reference_layers)
#   --no-host-check  skip the host build and the checksum comparison
# Results are also written to <build dir>/<target>[-portable]/results.tsv.
# Exit status: 0 on success, 1 if the firmware fails or a checksum differs, 2 on bad usage.
set -eu

# Every path is quoted where it is used: the checkout and --build-dir may hold spaces,
# quotes, `$` or newlines (the trailing x keeps a name's trailing newline through $(...)).
here=$(dirname -- "$0"; echo x)
here=$(cd -- "${here%??}" >/dev/null && pwd; echo x)
here=${here%??}
repo=$(cd -- "$here/../.." >/dev/null && pwd; echo x)
repo=${repo%??}
targets=$repo/targets/cortex-m

usage() {
  echo "usage: $0 <cortex-m4|cortex-m7|cortex-m55> [--portable] [--build-dir DIR] [--no-host-check]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
target=$1
shift
portable=0
host_check=1
build_root=$repo/build-targets/reference_layers
while [ $# -gt 0 ]; do
  case $1 in
    --portable) portable=1; shift ;;
    --no-host-check) host_check=0; shift ;;
    --build-dir) [ $# -ge 2 ] || usage; build_root=$2; shift 2 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage ;;
  esac
done

case $target in
  cortex-m4) cpu_flags="-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 -mthumb"; machine=mps2-an386 ;;
  cortex-m7) cpu_flags="-mcpu=cortex-m7 -mfloat-abi=hard -mfpu=fpv5-d16 -mthumb"; machine=mps2-an500 ;;
  cortex-m55) cpu_flags="-mcpu=cortex-m55 -mfloat-abi=hard -mthumb"; machine=mps3-an547 ;;
  *) echo "run.sh: unknown target '$target'" >&2; usage ;;
esac

variant=$target
defines=
if [ $portable -eq 1 ]; then
  variant=$target-portable
  defines=-DTINYQ_FORCE_PORTABLE
fi
out=$build_root/$variant
mkdir -p -- "$out/obj"
# From here on the outputs have fixed names relative to $out, so the unquoted lists below
# ($objects, $host_objects) never hold a user's folder name.
cd -- "$out"

# ---- firmware ----
# The flags of the CMSIS-NN anchor build (README.md) (-O3, sections, newlib + rdimon); the runtime
# additionally freestanding, as everywhere (docs/DESIGN.md).
common="$cpu_flags -O3 -g -ffunction-sections -fdata-sections -Wall -Wextra $defines"
cxx="-std=c++17 -fno-exceptions -fno-rtti -fno-threadsafe-statics"
echo "building $variant firmware ($machine) in $out" >&2
objects=
pids=
compile() {  # compile <source> <object> <extra flags...>: in the background, two at a time
  src=$1
  obj=$2
  shift 2
  case $src in
    *.c) set -- arm-none-eabi-gcc -std=c11 $common "-I$targets" "-I$repo/runtime/include" "$@" -c "$src" -o "$obj" ;;
    *) set -- arm-none-eabi-g++ $cxx $common "-I$targets" "-I$repo/runtime/include" "$@" -c "$src" -o "$obj" ;;
  esac
  "$@" &
  pids="$pids $!"
  objects="$objects $obj"
  set -- $pids
  if [ $# -ge 2 ]; then
    wait_all
  fi
}
wait_all() {
  for pid in $pids; do
    wait "$pid" || { echo "run.sh: compilation failed" >&2; exit 1; }
  done
  pids=
}
compile "$here/main.cpp" obj/main.o
compile "$targets/startup.c" obj/startup.o
compile "$targets/marker.c" obj/marker.o
for src in "$repo"/runtime/src/*.cpp; do
  compile "$src" "obj/runtime_$(basename "$src" .cpp).o" -ffreestanding
done
wait_all
arm-none-eabi-g++ $cpu_flags -nostartfiles --specs=rdimon.specs -T"$targets/$machine.ld" -L"$targets" \
  -Wl,--gc-sections -Wl,-Map=reference_layers.map $objects -o reference_layers.elf

# ---- run under the counting plugin ----
"$targets/run-qemu.sh" "$target" reference_layers.elf --count counts.txt --timeout 600 \
  >firmware.txt || {
  echo "run.sh: the firmware failed:" >&2
  cat firmware.txt >&2
  exit 1
}

# ---- host build: same program, host compiler, portable kernels ----
if [ $host_check -eq 1 ]; then
  echo "building the host reference" >&2
  host_objects=
  for src in "$repo"/runtime/src/*.cpp "$here/main.cpp"; do
    obj=obj/host_$(basename "$src" .cpp).o
    ${CXX:-c++} -std=c++17 -O2 -Wall -Wextra -I"$targets" -I"$repo/runtime/include" -c "$src" -o "$obj"
    host_objects="$host_objects $obj"
  done
  ${CC:-cc} -std=c11 -O2 -Wall -Wextra -c "$targets/marker.c" -o obj/host_marker.o
  ${CXX:-c++} $host_objects obj/host_marker.o -lm -o reference_layers_host
  ./reference_layers_host >host.txt
  if ! cmp -s firmware.txt host.txt; then
    echo "run.sh: MCU and host outputs differ (layer checksums):" >&2
    diff host.txt firmware.txt >&2 || true
    exit 1
  fi
fi

# ---- the table ----
case $target in
  cortex-m4) column=4 ;;
  cortex-m7) column=5 ;;
  cortex-m55) column=6 ;;
esac
awk -v column=$column -v variant="$variant" -v results=results.tsv -v host_check=$host_check '
  FILENAME ~ /cmsis_nn.tsv$/ { if ($0 !~ /^#/) { split($0, f, "\t"); cmsis[f[1]] = f[column]; bench_macs[f[1]] = f[2] }; next }
  FILENAME ~ /counts.txt$/ { if ($1 == "marker") hit[$2] = $4; next }
  $1 == "layer" { id[++n] = $2; macs[$2] = $4 }
  END {
    overhead = hit[1] - hit[0]
    printf "reference layers on %s: instructions per layer, marker overhead (%d) subtracted\n", variant, overhead
    printf "%-4s %12s %12s %7s %10s\n", "id", "tinyq", "CMSIS-NN", "ratio", "MACs/insn"
    print "id\ttinyq\tcmsis_nn\tratio\tmacs_per_insn" > results
    for (i = 1; i <= n; ++i) {
      l = id[i]
      count = hit[2 * i + 1] - hit[2 * i] - overhead
      if (macs[l] != bench_macs[l]) printf "warning: %s has %d MACs here, %d in the anchor\n", l, macs[l], bench_macs[l]
      ratio = count / cmsis[l]
      mpi = macs[l] > 0 ? sprintf("%.3f", macs[l] / count) : "-"
      printf "%-4s %12d %12d %7.2f %10s\n", l, count, cmsis[l], ratio, mpi
      printf "%s\t%d\t%d\t%.4f\t%s\n", l, count, cmsis[l], ratio, mpi > results
      total += count
      total_cmsis += cmsis[l]
    }
    printf "%-4s %12d %12d %7.2f\n", "all", total, total_cmsis, total / total_cmsis
    printf "all\t%d\t%d\t%.4f\t-\n", total, total_cmsis, total / total_cmsis > results
    if (host_check) print "layer outputs: identical to the host build (checksums)"
  }' "$here/cmsis_nn.tsv" counts.txt firmware.txt
