#!/usr/bin/env bash
# Patch-based inference (`--patch`) vs layer by layer: for each model and core, the
# instructions per inference and the arena of both, from `tinyq bench` (QEMU, exact
# instruction counts), and `verify --patch` (the firmware's bytes against the host int8
# executor). Prints a markdown table. Models: the zoo's depthwise-separable CNN and, when
# TINYQ_MLPERF_TINY names the MLPerf Tiny folder, its visual wake words, keyword spotting and
# streaming wakeword models (int8 .tflite, as imported; checked on TFLite Micro's reference
# inputs).
#   bench/patch.sh [core ...]   (default: cortex-m4 cortex-m7 cortex-m55)
# TINYQ_NO_BUILD=1 skips rebuilding build/tinyq first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${TINYQ_NO_BUILD:-}" ] || cmake --build build --target tinyq >/dev/null
cores=("$@")
[ ${#cores[@]} -gt 0 ] || cores=(cortex-m4 cortex-m7 cortex-m55)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
field() { /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }

images=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
models=() data=()
./build/tinyq quantize models/dwsep.onnx --calib "$images" --calib-count 500 -o "$tmp/dwsep.tqm" >/dev/null
models+=("$tmp/dwsep.tqm") data+=("$images")
if [ -n "${TINYQ_MLPERF_TINY:-}" ] && [ -f "$TINYQ_MLPERF_TINY/models/vww_96_int8.tflite" ]; then
  for m in vww_96_int8:vww kws_ref_model:kws str_ww_ref_model:sww; do
    models+=("$TINYQ_MLPERF_TINY/models/${m%:*}.tflite") data+=("$TINYQ_MLPERF_TINY/tflm/${m#*:}_input.npy")
  done
fi

echo "| model | core | instructions layer by layer | with --patch | ratio | arena layer by layer | arena --patch | patch layers | verify --patch |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
for i in "${!models[@]}"; do
  m=${models[$i]}
  for core in "${cores[@]}"; do
    w=$(./build/tinyq bench "$m" --target "$core" --json)
    p=$(./build/tinyq bench "$m" --target "$core" --patch --json)
    v=$(./build/tinyq verify "$m" --target "$core" --patch --data "${data[$i]}" --count 4 --json)
    wi=$(field instructions <<<"$w")
    pi=$(field instructions <<<"$p")
    ratio=$(/usr/bin/python3 -c "print(f'{$pi / $wi:.3f}')")
    echo "| $(basename "${m%.*}") | $core | $wi | $pi | $ratio | $(field arena_bytes <<<"$w") B | $(field arena_bytes <<<"$p") B | $(field patch_layers <<<"$p") | $(field mismatches <<<"$v") of $(field count <<<"$v") samples differ |"
  done
done
