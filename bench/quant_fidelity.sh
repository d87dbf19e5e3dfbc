#!/usr/bin/env bash
# Quantization fidelity of every zoo model under every preset, on the full Fashion-MNIST
# test set (10,000 images) with 1000 calibration images from the training set. Prints a
# markdown table: model × preset -> float top-1, int8 top-1, drop (pp), agreement, seconds
# to quantize, seconds to evaluate int8.
#   bench/quant_fidelity.sh [models...]          (default: every model in models/zoo.json)
#   bench/quant_fidelity.sh --hard [models...]   adds the adversarial zoo: every base and variant in
#                                                models/hard/hard.json (models/make_hard_variants.py)
#   bench/quant_fidelity.sh --all                the zoo, then the adversarial zoo
#   --preset P (repeatable)                      only these presets (default: best cmsis nnom pow2)
# QUANTIZE_ARGS (environment): more `tinyq quantize` options, e.g. "--rounding nearest".
# A model NAME is models/NAME.onnx, else models/hard/NAME.onnx.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build build --target tinyq >/dev/null
data=/usr/share/datasets/fashion-mnist
zoo_models() { /usr/bin/python3 -c "import json; print('\n'.join(json.load(open('models/zoo.json'))))"; }
hard_models() {
  /usr/bin/python3 -c "import json; h = json.load(open('models/hard/hard.json')); print('\n'.join(list(h['bases']) + list(h['variants'])))"
}
models=()
presets=()
want_preset=0
for a in "$@"; do
  if [ $want_preset = 1 ]; then presets+=("$a"); want_preset=0; continue; fi
  case "$a" in
    --preset) want_preset=1 ;;
    --hard) mapfile -t -O "${#models[@]}" models < <(hard_models) ;;
    --all) mapfile -t -O "${#models[@]}" models < <(zoo_models; hard_models) ;;
    -*) echo "usage: $0 [--hard|--all] [--preset P]... [models...]" >&2; exit 2 ;;
    *) models+=("$a") ;;
  esac
done
[ ${#presets[@]} -gt 0 ] || presets=(best cmsis nnom pow2)
if [ ${#models[@]} -eq 0 ]; then
  mapfile -t models < <(zoo_models)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| model | preset | float top-1 | int8 top-1 | drop (pp) | agreement | quantize s | int8 eval s |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for m in "${models[@]}"; do
  f="models/$m.onnx"
  [ -f "$f" ] || f="models/hard/$m.onnx"
  [ -f "$f" ] || { echo "$0: no model $m (models/$m.onnx, models/hard/$m.onnx)" >&2; exit 2; }
  for p in "${presets[@]}"; do
    q=$(./build/tinyq quantize "$f" --calib "$data/train-images-idx3-ubyte.gz" --calib-count 1000 \
          --preset "$p" ${QUANTIZE_ARGS:-} -o "$tmp/$m.$p.tqm" --json 2>/dev/null) || { echo "| $m | $p | – | quantize failed | | | | |"; continue; }
    start=$(date +%s.%N)
    e=$(./build/tinyq eval "$tmp/$m.$p.tqm" --data "$data/t10k-images-idx3-ubyte.gz" \
          --labels "$data/t10k-labels-idx1-ubyte.gz" --json 2>/dev/null)
    end=$(date +%s.%N)
    /usr/bin/python3 - "$m" "$p" "$q" "$e" "$start" "$end" <<'PY'
import json, sys
m, p, q, e, start, end = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
f, i = e["float"]["top1"], e["int8"]["top1"]
print(f"| {m} | {p} | {f:.4f} | {i:.4f} | {100*(f-i):+.2f} | {e['agreement']:.4f} | {q['seconds']:.1f} | {end-start:.1f} |")
PY
  done
done
