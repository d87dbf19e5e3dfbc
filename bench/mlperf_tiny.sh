#!/usr/bin/env bash
# The five MLPerf Tiny reference models end to end, two ways each:
#   int8  the benchmark's int8 .tflite imported with TF's own quantization (bit-exact with TFLite Micro)
#   own   the float model (.tflite; SWW: the Keras .h5) quantized by tinyq (preset best),
#         calibrated on the benchmark's samples (bench/mlperf_tiny_samples.py says which)
# For each: generate (arena, flash = weights + code; the arena with --patch too), bench at -Os
# on the Cortex-M4 (runtime code at -Os), verify on the emulated Cortex-M4, M7 and
# M55 (0 differing bytes against the host int8 executor required), bench (exact instructions
# per inference on each core), and the agreement with the float model (top-1, output SQNR) of
# both int8 models on the same inputs. Prints markdown tables (also written to OUT/mlperf_tiny.md)
# with TFLite Micro + CMSIS-NN's figures on the same emulator for comparison.
#
#   TINYQ_MLPERF_TINY=/path/to/mlperf_tiny bench/mlperf_tiny.sh [build-dir] [models...]
#       build-dir: default build (tinyq must be built there); models: kws vww ic ad sww (default all)
#       outputs under BUILD/tmp/mlperf_tiny/ (JSON of every step, generated sources, inputs)
#   VERIFY_COUNT=N   samples per verify run (default 8)
#   TABLES_ONLY=1    only print the tables again from a previous run's outputs
set -euo pipefail
cd "$(dirname "$0")/.."
root=${TINYQ_MLPERF_TINY:-}
if [ -z "$root" ] || [ ! -d "$root/models" ] || [ ! -d "$root/samples" ]; then
  echo "mlperf_tiny.sh: set TINYQ_MLPERF_TINY to the MLPerf Tiny folder (with models/ and samples/)" >&2
  exit 2
fi
build=${1:-build}
shift || true
tinyq=$build/tinyq
if [ ! -x "$tinyq" ]; then
  echo "mlperf_tiny.sh: $tinyq not found: build the tinyq target first" >&2
  exit 2
fi
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(kws vww ic ad sww)
count=${VERIFY_COUNT:-8}
out=$build/tmp/mlperf_tiny
data=$out/data
mkdir -p "$out"
[ -n "${TABLES_ONLY:-}" ] || /usr/bin/python3 bench/mlperf_tiny_samples.py "$root" "$data"

# model: int8 .tflite, float model (the reference of the agreement check)
declare -A int8_file=([kws]=kws_ref_model.tflite [vww]=vww_96_int8.tflite [ic]=pretrainedResnet_quant.tflite
                      [ad]=ad01_int8.tflite [sww]=str_ww_ref_model.tflite)
declare -A float_file=([kws]=kws_ref_model_float32.tflite [vww]=vww_96_float.tflite [ic]=pretrainedResnet.tflite
                       [ad]=ad01_fp32.tflite [sww]=str_ww_ref_model.h5)

for m in "${models[@]}"; do
  [ -z "${TABLES_ONLY:-}" ] || break
  if [ -z "${int8_file[$m]:-}" ]; then
    echo "mlperf_tiny.sh: unknown model '$m' (kws vww ic ad sww)" >&2
    exit 2
  fi
  echo "== $m" >&2
  $tinyq quantize "$root/models/${int8_file[$m]}" -o "$out/$m.int8.tqm" --json > "$out/$m.int8.quantize.json"
  $tinyq quantize "$root/models/${float_file[$m]}" --calib "$data/${m}_calib.npy" --calib-count 0 \
    -o "$out/$m.own.tqm" --json > "$out/$m.own.quantize.json"
  $tinyq run "$root/models/${float_file[$m]}" -i "$data/${m}_eval.npy" -o "$out/$m.float.out.npy" > /dev/null
  $tinyq run "$root/models/${int8_file[$m]}" -i "$data/${m}_eval.npy" -o "$out/$m.int8.out.npy" > /dev/null
  $tinyq run "$out/$m.own.tqm" -i "$data/${m}_eval.npy" -o "$out/$m.own.out.npy" > /dev/null
  for k in int8 own; do
    rm -rf "$out/$m.$k.gen"
    $tinyq generate "$out/$m.$k.tqm" --target cortex-m4 -o "$out/$m.$k.gen" --name "${m}_$k" --json \
      > "$out/$m.$k.generate.json"
    # Patch-based first layers (image inputs only; "{}" when the model has none).
    $tinyq generate "$out/$m.$k.tqm" --target cortex-m4 -o "$out/$m.$k.patch.gen" --name "${m}_$k" --patch --json \
      > "$out/$m.$k.patch.generate.json" 2>/dev/null || echo "{}" > "$out/$m.$k.patch.generate.json"
    rm -rf "$out/$m.$k.patch.gen"
    $tinyq bench "$out/$m.$k.tqm" --target cortex-m4 --opt Os --json > "$out/$m.$k.cortex-m4.Os.bench.json"
    for t in cortex-m4 cortex-m7 cortex-m55; do
      echo "   $k $t" >&2
      $tinyq verify "$out/$m.$k.tqm" --target $t --data "$data/${m}_eval.npy" --count "$count" --json \
        > "$out/$m.$k.$t.verify.json"
      $tinyq bench "$out/$m.$k.tqm" --target $t --json > "$out/$m.$k.$t.bench.json"
    done
  done
done

/usr/bin/python3 - "$out" "${models[@]}" <<'PY' | tee "$out/mlperf_tiny.md"
import json, sys
import numpy as np
out, models = sys.argv[1], sys.argv[2:]
load = lambda name: json.load(open(f"{out}/{name}"))
# MLPerf Tiny reference models measured on the same emulator (QEMU mps2-an386, Cortex-M4):
# TFLite Micro + CMSIS-NN instructions per inference, arena_used_bytes, library code bytes.
tflm = {"kws": (7697387, 22820, 76357), "vww": (24101970, 100708, 76357), "ic": (29863725, 54996, 71119),
        "ad": (582906, 2580, 26575), "sww": (2227072, 16596, 73275)}
names = {"kws": "KWS", "vww": "VWW", "ic": "IC", "ad": "AD", "sww": "SWW"}
cores = ("cortex-m4", "cortex-m7", "cortex-m55")

bad = []
for m in models:
    for k in ("int8", "own"):
        for t in cores:
            v = load(f"{m}.{k}.{t}.verify.json")
            if v["mismatches"] != 0:
                bad.append(f"{m} {k} {t}: {v['mismatches']} differing bytes")
print("verify: " + ("; ".join(bad) if bad else
      f"0 differing bytes on every model, both quantizations, M4/M7/M55 ({load(f'{models[0]}.own.cortex-m4.verify.json')['count']} samples each)"))
print()
print("| model | quantization | M4 | M7 | M55 | TFLM + CMSIS-NN M4 | TFLM / tinyq | arena B | arena --patch B "
      "| TFLM arena B | flash B | code B | runtime code -Os B | TFLM code B |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for m in models:
    for k, label in (("int8", "TF int8 (imported)"), ("own", "tinyq (from float)")):
        b = {t: load(f"{m}.{k}.{t}.bench.json") for t in cores}
        g = load(f"{m}.{k}.generate.json")
        ti, ta, tc = tflm[m]
        m4 = b["cortex-m4"]
        code = m4["runtime_code_bytes"] + m4["model_code_bytes"]
        os_code = load(f"{m}.{k}.cortex-m4.Os.bench.json")["runtime_code_bytes"]
        patch = load(f"{m}.{k}.patch.generate.json")
        patch_arena = f"{patch['arena_bytes']:,}" if "arena_bytes" in patch else "–"
        print(f"| {names[m]} | {label} | {m4['instructions']:,} | {b['cortex-m7']['instructions']:,} | "
              f"{b['cortex-m55']['instructions']:,} | {ti:,} | {ti / m4['instructions']:.2f}× | {g['arena_bytes']:,} | "
              f"{patch_arena} | {ta:,} | {g['flash_bytes']:,} | {code:,} | {os_code:,} | {tc:,} |")
print()

def sqnr(ref, x):
    err = ((ref - x) ** 2).sum()
    return float("inf") if err == 0 else 10 * np.log10((ref ** 2).sum() / err)

print("| model | inputs (calibration of tinyq's own) | top-1 agreement: TF int8 | tinyq | output SQNR dB: TF int8 | tinyq |")
print("|---|---|---:|---:|---:|---:|")
inputs = {"kws": "1 real + 63 synthetic MFCC (1 real + 127 synthetic)", "vww": "64 synthetic images (128 others)",
          "ic": "64 synthetic images (128 others)", "ad": "196 real windows (the same)",
          "sww": "45 real spectrograms (the same)"}
for m in models:
    f, tf, own = (np.load(f"{out}/{m}.{k}.out.npy").reshape(len(np.load(f"{out}/{m}.float.out.npy")), -1)
                  for k in ("float", "int8", "own"))
    if m == "ad":  # an autoencoder: no classes; its anomaly score is the reconstruction error
        top = ("–", "–")
    else:
        top = tuple(f"{(x.argmax(1) == f.argmax(1)).mean() * 100:.1f}%" for x in (tf, own))
    print(f"| {names[m]} | {inputs[m]} | {top[0]} | {top[1]} | {sqnr(f, tf):.1f} | {sqnr(f, own):.1f} |")
if "kws" in models:  # its one real input, alone (the first eval sample)
    f, tf, own = (np.load(f"{out}/kws.{k}.out.npy")[:1] for k in ("float", "int8", "own"))
    same = lambda y: "same" if y.argmax() == f.argmax() else "other"
    print()
    print(f"KWS real input alone: output SQNR vs float TF int8 {sqnr(f, tf):.1f} dB ({same(tf)} top-1), "
          f"tinyq {sqnr(f, own):.1f} dB ({same(own)} top-1)")
if "ad" in models:
    x = np.load(f"{out}/data/ad_eval.npy")
    f, tf, own = (np.load(f"{out}/ad.{k}.out.npy") for k in ("float", "int8", "own"))
    score = lambda y: ((x - y) ** 2).mean(1)
    print()
    print(f"AD anomaly score (mean squared reconstruction error per window) SQNR vs float: "
          f"TF int8 {sqnr(score(f), score(tf)):.1f} dB, tinyq {sqnr(score(f), score(own)):.1f} dB")
if "sww" in models:
    lab = np.load(f"{out}/data/sww_labels.npy")
    acc = {k: (np.load(f"{out}/sww.{k}.out.npy").argmax(1) == lab).mean() * 100 for k in ("float", "int8", "own")}
    print(f"SWW accuracy on its 45 labelled spectrograms: float {acc['float']:.1f}%, TF int8 {acc['int8']:.1f}%, "
          f"tinyq {acc['own']:.1f}%")
if bad:
    sys.exit(1)
PY
