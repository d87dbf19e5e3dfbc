#!/usr/bin/env bash
# Release check, run by hand before each release (not in CI: on 2 cores the build and the
# suite take an hour or more): builds everything in build-asan with AddressSanitizer and
# UndefinedBehaviorSanitizer (-DTINYQ_SANITIZE=ON) and runs the whole ctest suite there.
# Any ASan report or UB (UBSan halts on the first one here) fails the test that hit it.
#
# The Cortex-M firmware tests (ctest label "mcu", run on QEMU) are left out by default: the
# firmware is cross-compiled by arm-none-eabi-g++ and cannot carry host sanitizers, so they
# would only add an hour of QEMU time and check nothing new. SANITIZE_MCU=1 includes them.
# Extra arguments go to ctest (e.g. -R test_quant).
#   scripts/sanitize.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${SANITIZE_JOBS:-$(nproc)}"
mcu=OFF
exclude=(-LE mcu)
if [ "${SANITIZE_MCU:-0}" = 1 ]; then
  mcu=ON
  exclude=()
else
  echo "sanitize: skipping the QEMU firmware tests (label mcu; not instrumented). SANITIZE_MCU=1 runs them."
fi
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTINYQ_SANITIZE=ON -DTINYQ_CORTEX_M="$mcu" \
  -DTINYQ_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
# halt_on_error: a UBSan report is a failure, not a warning in a log nobody reads.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_stack_use_after_return=1:strict_string_checks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
ctest --test-dir build-asan --output-on-failure -j"$jobs" "${exclude[@]}" "$@"
