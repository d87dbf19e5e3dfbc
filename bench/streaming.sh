#!/usr/bin/env bash
# Streaming step vs whole window (issue 13): for each model, the instructions of one frame of
# `generate --streaming` code and of one inference on the whole window, on one core (default
# cortex-m4), both from `tinyq bench` (QEMU, exact instruction counts), and both arenas.
# Prints a markdown table. Models: models/streaming/ (quantized here on their sample inputs)
# and, when TINYQ_MLPERF_TINY names the MLPerf Tiny folder, its streaming wakeword model
# (int8 .tflite, as imported).
#   bench/streaming.sh [cortex-m4|cortex-m7|cortex-m55]
# TINYQ_NO_BUILD=1 skips rebuilding build/tinyq first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${TINYQ_NO_BUILD:-}" ] || cmake --build build --target tinyq >/dev/null
target=${1:-cortex-m4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
field() { /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }

models=()
for m in tcn_1d spec_2d gru_frames conv_lstm rnn_last; do
  ./build/tinyq quantize "models/streaming/$m.onnx" --calib "models/streaming/$m.input.npy" -o "$tmp/$m.tqm" >/dev/null
  models+=("$tmp/$m.tqm")
done
if [ -n "${TINYQ_MLPERF_TINY:-}" ] && [ -f "$TINYQ_MLPERF_TINY/models/str_ww_ref_model.tflite" ]; then
  models+=("$TINYQ_MLPERF_TINY/models/str_ww_ref_model.tflite")
fi

echo "| model ($target) | window frames | instructions per window | per frame (streaming) | ratio | arena window | arena streaming (history) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for m in "${models[@]}"; do
  w=$(./build/tinyq bench "$m" --target "$target" --json)
  s=$(./build/tinyq bench "$m" --target "$target" --streaming --json)
  wi=$(field instructions <<<"$w")
  si=$(field instructions <<<"$s")
  ratio=$(/usr/bin/python3 -c "print(f'{$wi / $si:.1f}x')")
  echo "| $(basename "${m%.*}") | $(field window_frames <<<"$s") | $wi | $si | $ratio | $(field arena_bytes <<<"$w") B | $(field arena_bytes <<<"$s") B ($(field history_bytes <<<"$s") B) |"
done
