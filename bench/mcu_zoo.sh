#!/usr/bin/env bash
# Every zoo model on the emulated Cortex-M4, M7 and M55: exact instructions per inference
# (QEMU instruction-count plugin), MACs per instruction, arena against its lower bound and
# against TFLM's greedy-by-size planner, flash, and the runtime's code size at -O3 and -Os.
# Prints two markdown tables. Models are quantized with preset best on 1000 training images.
#   bench/mcu_zoo.sh [build-dir] [models...]     (default: build, every model in models/zoo.json)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
cmake --build "$build" --target tinyq >/dev/null
tinyq=$build/tinyq
data=/usr/share/datasets/fashion-mnist
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  mapfile -t models < <(/usr/bin/python3 -c "import json; print('\n'.join(json.load(open('models/zoo.json'))))")
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in "${models[@]}"; do
  $tinyq quantize "models/$m.onnx" --calib "$data/train-images-idx3-ubyte.gz" --calib-count 1000 -o "$tmp/$m.tqm" \
    --json > /dev/null 2>&1
  $tinyq generate "$tmp/$m.tqm" --target cortex-m4 -o "$tmp/$m-gen" --json > "$tmp/$m.gen.json" 2>/dev/null
  for t in cortex-m4 cortex-m7 cortex-m55; do
    $tinyq bench "$tmp/$m.tqm" --target $t --json > "$tmp/$m.$t.json" 2>/dev/null
  done
  $tinyq bench "$tmp/$m.tqm" --target cortex-m4 --opt Os --json > "$tmp/$m.os.json" 2>/dev/null
done
/usr/bin/python3 - "$tmp" "${models[@]}" <<'PY'
import json, sys
tmp, models = sys.argv[1], sys.argv[2:]
load = lambda name: json.load(open(f"{tmp}/{name}"))
print("| model | MACs | M4 instructions | M4 MACs/insn | M7 instructions | M55 instructions | M55 MACs/insn |")
print("|---|---:|---:|---:|---:|---:|---:|")
for m in models:
    m4, m7, m55 = (load(f"{m}.{t}.json") for t in ("cortex-m4", "cortex-m7", "cortex-m55"))
    print(f"| {m} | {m4['macs']:,} | {m4['instructions']:,} | {m4['macs_per_instruction']:.3f} | "
          f"{m7['instructions']:,} | {m55['instructions']:,} | {m55['macs_per_instruction']:.3f} |")
print()
print("| model | arena B | lower bound B | TFLM greedy B | weights + constants B | runtime code -O3 B | runtime code -Os B | flash -Os B |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for m in models:
    g, m4, os_ = load(f"{m}.gen.json"), load(f"{m}.cortex-m4.json"), load(f"{m}.os.json")
    print(f"| {m} | {g['arena_bytes']:,} | {g['arena_lower_bound_bytes']:,} | {g['tflm_greedy_arena_bytes']:,} | "
          f"{m4['const_data_bytes']:,} | {m4['runtime_code_bytes']:,} | {os_['runtime_code_bytes']:,} | {os_['flash_bytes']:,} |")
PY
