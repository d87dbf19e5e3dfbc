#!/bin/sh
# Instruction counts per kernel variant: one representative shape per variant of the runtime
# (main.cpp), each call counted alone on QEMU by the instruction-count plugin.
#
#   bench/kernel_variants/run.sh [cortex-m4|cortex-m7|cortex-m55 ...] [--build-dir DIR]
#
# Default: all three cores. Per core it builds main.cpp with the runtime (arm-none-eabi-g++ -O3,
# the flags of targets/cortex-m and bench/reference_layers), runs it under the plugin and
# prints a table: variant (as the runtime dispatches the shape on that core), shape, MACs,
# instructions (marker overhead subtracted), MACs per instruction and instructions per output
# byte. The firmware compares every output with the portable path; a difference fails the run.
# Results also go to <build dir>/<target>/results.tsv (default build dir:
# <repo>/build-targets/kernel_variants). Exit status: 0, 1 if a firmware fails, 2 on bad usage.
set -eu

# The trailing x keeps a folder name's trailing newline through $(...).
here=$(dirname -- "$0"; echo x)
here=$(cd -- "${here%??}" >/dev/null && pwd; echo x)
here=${here%??}
repo=$(cd -- "$here/../.." >/dev/null && pwd; echo x)
repo=${repo%??}
targets=$repo/targets/cortex-m

usage() {
  echo "usage: $0 [cortex-m4|cortex-m7|cortex-m55 ...] [--build-dir DIR]" >&2
  exit 2
}
build_root=$repo/build-targets/kernel_variants
cores=
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) [ $# -ge 2 ] || usage; build_root=$2; shift 2 ;;
    cortex-m4 | cortex-m7 | cortex-m55) cores="$cores $1"; shift ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[ -n "$cores" ] || cores="cortex-m4 cortex-m7 cortex-m55"

pids=
wait_all() {
  for pid in $pids; do
    wait "$pid" || { echo "run.sh: compilation failed" >&2; exit 1; }
  done
  pids=
}

for target in $cores; do
  case $target in
    cortex-m4) cpu_flags="-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 -mthumb"; machine=mps2-an386 ;;
    cortex-m7) cpu_flags="-mcpu=cortex-m7 -mfloat-abi=hard -mfpu=fpv5-d16 -mthumb"; machine=mps2-an500 ;;
    cortex-m55) cpu_flags="-mcpu=cortex-m55 -mfloat-abi=hard -mthumb"; machine=mps3-an547 ;;
  esac
  out=$build_root/$target
  mkdir -p -- "$out/obj"
  (
    # Fixed names relative to $out from here on: the unquoted $objects never holds a user's path.
    cd -- "$out"
    common="$cpu_flags -O3 -g -ffunction-sections -fdata-sections -Wall -Wextra"
    cxx="-std=c++17 -fno-exceptions -fno-rtti -fno-threadsafe-statics"
    echo "building the $target firmware ($machine) in $out" >&2
    objects=
    compile() {  # compile <source> <object> <extra flags...>: in the background, two at a time
      src=$1
      obj=$2
      shift 2
      case $src in
        *.c) set -- arm-none-eabi-gcc -std=c11 $common "-I$targets" "$@" -c "$src" -o "$obj" ;;
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
    # main.cpp calls each path by name (runtime/src/kernel_paths.hpp, internal to the runtime).
    compile "$here/main.cpp" obj/main.o "-I$repo/runtime/src"
    compile "$targets/startup.c" obj/startup.o
    compile "$targets/marker.c" obj/marker.o
    for src in "$repo"/runtime/src/*.cpp; do
      compile "$src" "obj/runtime_$(basename "$src" .cpp).o" -ffreestanding
    done
    wait_all
    arm-none-eabi-g++ $cpu_flags -nostartfiles --specs=rdimon.specs -T"$targets/$machine.ld" -L"$targets" \
      -Wl,--gc-sections -Wl,-Map=kernel_variants.map $objects -o kernel_variants.elf
    "$targets/run-qemu.sh" "$target" kernel_variants.elf --count counts.txt --timeout 600 >firmware.txt || {
      echo "run.sh: the $target firmware failed:" >&2
      cat firmware.txt >&2
      exit 1
    }
    awk -F '\t' -v target="$target" -v results=results.tsv '
      FILENAME ~ /counts.txt$/ { split($0, f, " "); if (f[1] == "marker") hit[f[2]] = f[4]; next }
      $1 == "row" { variant[++n] = $2; macs[n] = $3; bytes[n] = $4; shape[n] = $5 }
      END {
        overhead = hit[1] - hit[0]
        printf "kernel variants on %s: instructions per call, marker overhead (%d) subtracted\n", target, overhead
        printf "%-21s %-42s %9s %10s %9s %10s\n", "variant", "shape", "MACs", "insns", "MACs/insn", "insn/byte"
        print "variant\tshape\tmacs\tinstructions\tmacs_per_insn\tinsn_per_output_byte" > results
        for (i = 1; i <= n; ++i) {
          count = hit[2 * i + 1] - hit[2 * i] - overhead
          mpi = macs[i] > 0 ? sprintf("%.3f", macs[i] / count) : "-"
          m = macs[i] > 0 ? macs[i] : "-"
          printf "%-21s %-42s %9s %10d %9s %10.2f\n", variant[i], shape[i], m, count, mpi, count / bytes[i]
          printf "%s\t%s\t%s\t%d\t%s\t%.3f\n", variant[i], shape[i], m, count, mpi, count / bytes[i] > results
        }
      }' counts.txt firmware.txt
  ) || exit 1
done
