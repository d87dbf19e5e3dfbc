#!/usr/bin/env bash
# Quantization fidelity of the sequence-model zoo (models/sequence/, issue 13: Fashion-MNIST
# read row by row) on the full test set (10,000 images), with the first 1000 training images
# as calibration data, as bench/quant_fidelity.sh does. Prints a markdown table: float top-1
# (tinyq's float executor), then int8 top-1 under the presets best (with its drop in pp), pow2
# and nnom (the NNoM-style baseline). Where `tinyq quantize` refuses a model (no int8 kernel
# for a layer yet) the cell says so with tinyq's error line: no number is made up.
#   bench/sequence_fidelity.sh [models...]   (default: every model in models/sequence/sequence_zoo.json)
# TINYQ_NO_BUILD=1 skips rebuilding build/tinyq first; THREADS=N passes --threads N (default 0: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${TINYQ_NO_BUILD:-}" ] || cmake --build build --target tinyq >/dev/null
data=/usr/share/datasets/fashion-mnist
threads=${THREADS:-0}
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  mapfile -t models < <(/usr/bin/python3 -c "import json; print('\n'.join(json.load(open('models/sequence/sequence_zoo.json'))))")
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
test_set=(--data "$data/t10k-images-idx3-ubyte.gz" --labels "$data/t10k-labels-idx1-ubyte.gz")

# The last line of a failed command's stderr, for the table (pipes would split the cell).
error_line() { tail -n 1 "$1" | tr '|' '/'; }
top1() { /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['$1']['top1'])"; }

echo "| model | float | best | drop (pp) | pow2 | nnom |"
echo "|---|---:|---:|---:|---:|---:|"
for m in "${models[@]}"; do
  f="models/sequence/$m.onnx"
  [ -f "$f" ] || { echo "$0: no model $f" >&2; exit 2; }
  if ! e=$(./build/tinyq eval "$f" "${test_set[@]}" --threads "$threads" --json 2>"$tmp/err"); then
    echo "| $m | float eval failed: $(error_line "$tmp/err") | | | | |"
    continue
  fi
  float=$(top1 float <<<"$e")
  declare -A cell=()
  drop=""
  for p in best pow2 nnom; do
    if ! ./build/tinyq quantize "$f" --calib "$data/train-images-idx3-ubyte.gz" --calib-count 1000 \
        --preset "$p" --threads "$threads" -o "$tmp/$m.$p.tqm" >/dev/null 2>"$tmp/err"; then
      cell[$p]="refused: $(error_line "$tmp/err")"
      continue
    fi
    if ! e=$(./build/tinyq eval "$tmp/$m.$p.tqm" "${test_set[@]}" --threads "$threads" --json 2>"$tmp/err"); then
      cell[$p]="int8 eval failed: $(error_line "$tmp/err")"
      continue
    fi
    int8=$(top1 int8 <<<"$e")
    if [ "$p" = best ]; then
      cell[$p]=$(printf '%.4f' "$int8")
      drop=$(/usr/bin/python3 -c "print(f'{100 * ($float - $int8):+.2f}')")
    else
      cell[$p]=$(/usr/bin/python3 -c "print(f'{$int8:.4f} ({100 * ($float - $int8):+.2f})')")
    fi
  done
  printf '| %s | %.4f | %s | %s | %s | %s |\n' "$m" "$float" "${cell[best]}" "$drop" "${cell[pow2]}" "${cell[nnom]}"
  unset cell
done
