#!/bin/sh
# Runs a tinyq Cortex-M firmware on QEMU and exits with the firmware's exit code.
#
#   run-qemu.sh <cortex-m4|cortex-m7|cortex-m55> firmware.elf [--count FILE] [--timeout SECONDS]
#               [--plugin PATH] [--mix]
#
# The firmware talks to the host through semihosting only (stdout, exit code); the UARTs
# and the monitor are disconnected so that the firmware's output is the only output.
#   exit status   the firmware's: main's return value, 100 after a fault (startup.c),
#                 124 if it ran longer than --timeout (default 120 s), 2 on bad usage.
#   --count FILE  load the instruction-count plugin; FILE receives one line per
#                 tinyq_marker() hit ("marker <i> <address> <instructions before it>") and
#                 "total <instructions>" (qemu-plugin/insn_count.c).
#   --plugin PATH the plugin library (default: $TINYQ_INSN_COUNT_PLUGIN, else built from
#                 qemu-plugin/insn_count.c with the host C compiler into a cache directory).
#   --mix         with --count: also count the instruction mix per marker ("mix" lines; data
#                 reads from the machine's code/constant memory are counted as flash reads).
set -u

usage() {
  echo "usage: $0 <cortex-m4|cortex-m7|cortex-m55> firmware.elf [--count FILE] [--timeout SECONDS] [--plugin PATH] [--mix]" >&2
  exit 2
}
die() {
  echo "run-qemu.sh: $*" >&2
  exit 2
}

[ $# -ge 2 ] || usage
cpu=$1
elf=$2
shift 2
count_file=
timeout_s=120
plugin=${TINYQ_INSN_COUNT_PLUGIN:-}
mix=
while [ $# -gt 0 ]; do
  case $1 in
    --count) [ $# -ge 2 ] || usage; count_file=$2; shift 2 ;;
    --timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
    --plugin) [ $# -ge 2 ] || usage; plugin=$2; shift 2 ;;
    --mix) mix=1; shift ;;
    *) echo "run-qemu.sh: unknown argument '$1'" >&2; usage ;;
  esac
done

# flash: the region that holds code and constants (the linker scripts' CODE/RODATA), whose
# data reads the cycle estimate charges with the flash wait states.
case $cpu in
  cortex-m4) machine=mps2-an386; flash=0x0:0x400000 ;;
  cortex-m7) machine=mps2-an500; flash=0x0:0x400000 ;;
  cortex-m55) machine=mps3-an547; flash=0x10000000:0x11200000 ;;
  *) die "unknown target '$cpu' (expected cortex-m4, cortex-m7 or cortex-m55)" ;;
esac
[ -f "$elf" ] || die "no firmware file '$elf'"
case $timeout_s in
  '' | *[!0-9]*) die "--timeout takes whole seconds, got '$timeout_s'" ;;
esac
command -v qemu-system-arm >/dev/null 2>&1 || die "qemu-system-arm not found (Debian: apt-get install qemu-system-arm)"

# The trailing x keeps a folder name's trailing newline through $(...).
here=$(dirname -- "$0"; echo x)
here=$(cd -- "${here%??}" >/dev/null && pwd; echo x)
here=${here%??}

# Builds the plugin on first use, so that the script works without the CMake build. The
# result is cached per source version; the build goes to a temporary name and is renamed
# into place so that concurrent runs never load a half-written library.
build_plugin() {
  src=$here/qemu-plugin/insn_count.c
  cache=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tinyq
  sum=$(cksum <"$src" | cut -d' ' -f1)
  plugin=$cache/libinsn_count-$sum.so
  [ -f "$plugin" ] && return 0
  mkdir -p "$cache" || die "cannot create $cache"
  cc=${CC:-cc}
  tmp=$plugin.$$
  "$cc" -std=c11 -O2 -Wall -Wextra -shared -fPIC -fvisibility=hidden -o "$tmp" "$src" ||
    die "cannot build the counting plugin from $src"
  mv -f "$tmp" "$plugin"
}

set -- -M "$machine" -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -kernel "$elf"

if [ -n "$count_file" ]; then
  case $count_file in *,*) die "--count file name may not contain a comma: $count_file" ;; esac
  [ -n "$plugin" ] || build_plugin
  [ -f "$plugin" ] || die "no plugin library '$plugin'"
  nm=${TINYQ_ARM_NM:-arm-none-eabi-nm}
  # The marker's address with the Thumb bit cleared: the plugin compares it with the
  # addresses of translated instructions, which are even.
  marker=$("$nm" "$elf" 2>/dev/null | awk '$3 == "tinyq_marker" { print $1; exit }')
  arg=
  if [ -n "$marker" ]; then
    arg=,marker=$(printf '0x%x' $((0x$marker & ~1)))
  fi
  rm -f -- "$count_file"
  # QEMU splits -plugin's value at commas; a comma inside the library's path is written ",,".
  escaped=
  rest=$plugin
  while :; do
    case $rest in
      *,*) escaped=$escaped${rest%%,*},,; rest=${rest#*,} ;;
      *) escaped=$escaped$rest; break ;;
    esac
  done
  [ -n "$mix" ] && arg=$arg,mix=on,flash=$flash
  set -- "$@" -plugin "$escaped$arg,out=$count_file"
fi

# -k: if QEMU ignores SIGTERM, SIGKILL follows 5 s later.
timeout -k 5 "$timeout_s" qemu-system-arm "$@"
status=$?
if [ $status -eq 124 ]; then
  echo "run-qemu.sh: $elf on $machine timed out after $timeout_s s" >&2
elif [ $status -eq 137 ]; then
  echo "run-qemu.sh: $elf on $machine did not stop on SIGTERM and was killed" >&2
  status=124
fi
if [ -n "$count_file" ] && [ $status -ne 124 ] && [ ! -s "$count_file" ]; then
  echo "run-qemu.sh: the counting plugin wrote no report to $count_file" >&2
  [ $status -eq 0 ] && status=1
fi
exit $status
