#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run every test, then fuzz the
# ONNX loader for a short while (FUZZ_SECONDS, default 60; 0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
