#!/usr/bin/env bash
# Float throughput of tinyq's FloatExecutor vs onnxruntime-node (CPU EP), side by side, in one run.
#
#   bench/run_float_bench.sh [BUILD_DIR]        (from the repository root; BUILD_DIR defaults to build)
#
# Environment knobs (defaults in brackets): IMAGES [2000], ROUNDS [7], THREADS ["1 2"],
# BATCHES ["1 100"], MODELS [every models/<name>.onnx listed in models/zoo.json],
# OUT [bench/results/float-<timestamp>] (raw JSON lines + outputs; bench/results is git-ignored).
#
# For each (threads, batch) configuration the two engines run alternately, ROUNDS times
# (tinyq, ORT, tinyq, ORT, ...), each round being one process per engine timing one pass over
# IMAGES images for every model (after 200 images of warm-up). The table gives, per model, the
# median over rounds of each engine's images/s and the median of the per-round ratios
# tinyq/ORT (a ratio of 0.5 = tinyq half as fast; the issue's goal is ratio >= 0.5).
# Correctness: tinyq dumps its outputs and the ORT side reports top-1 agreement and max |diff|.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
IMAGES=${IMAGES:-2000}
ROUNDS=${ROUNDS:-7}
THREADS=${THREADS:-"1 2"}
BATCHES=${BATCHES:-"1 100"}
OUT=${OUT:-bench/results/float-$(date +%Y%m%d-%H%M%S)}

if [[ -z "${MODELS:-}" ]]; then
  MODELS=$(python3 -c 'import json; print(",".join(f"models/{k}.onnx" for k in json.load(open("models/zoo.json"))))')
fi
IFS=, read -r -a model_list <<<"$MODELS"
for m in "${model_list[@]}"; do [[ -f "$m" ]] || { echo "missing model $m" >&2; exit 1; }; done

echo "== building bench_float_throughput in $BUILD_DIR" >&2
cmake --build "$BUILD_DIR" --target bench_float_throughput -j2 >&2
TINYQ="$BUILD_DIR/bench/bench_float_throughput"
if ! node -e "require('./bench/node_modules/onnxruntime-node')" 2>/dev/null; then
  echo "== installing onnxruntime-node (bench/package-lock.json)" >&2
  (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >&2)
fi
ORT_VERSION=$(node -p "require('./bench/node_modules/onnxruntime-node/package.json').version")

mkdir -p "$OUT"
RAW="$OUT/runs.jsonl"
: >"$RAW"
common=(--models "$MODELS" --images "$IMAGES" --repeats 1 --warmup-images 200 --json)

echo "== reference outputs + correctness check (threads 1, batch 100)" >&2
"$TINYQ" "${common[@]}" --threads 1 --batch 100 --dump-outputs "$OUT/outputs" >/dev/null
node bench/ort_throughput.mjs "${common[@]}" --threads 1 --batch 100 --compare-outputs "$OUT/outputs" >"$OUT/check.jsonl"

cache="$BUILD_DIR/CMakeCache.txt"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$cache")
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  # The flags the float kernels were really compiled with (CMAKE_CXX_FLAGS_<TYPE> plus the
  # project's add_compile_options, e.g. -march), from the compilation database.
  kernel_flags=$(python3 - "$BUILD_DIR/compile_commands.json" <<'PY' 2>/dev/null || echo "?"
import json, shlex, sys
for e in json.load(open(sys.argv[1])):
    if e["file"].endswith("src/exec/float/conv.cpp"):
        args = shlex.split(e["command"]) if "command" in e else e["arguments"]
        print(" ".join(a for a in args if a.startswith(("-O", "-march", "-mtune", "-mno-", "-mavx", "-mfma", "-ffast", "-DNDEBUG", "-g"))))
        break
PY
  )
  echo "tinyq build: $build_type, $("$(sed -n 's/^CMAKE_CXX_COMPILER:FILEPATH=//p' "$cache")" --version | head -1)," \
    "float kernels compiled with: $kernel_flags"
  echo "onnxruntime-node: $ORT_VERSION (CPU EP), node $(node --version)"
} | tee "$OUT/machine.txt"
echo

start=$SECONDS
for t in $THREADS; do
  for b in $BATCHES; do
    for ((r = 1; r <= ROUNDS; ++r)); do
      echo "== threads $t batch $b round $r/$ROUNDS ($((SECONDS - start)) s)" >&2
      "$TINYQ" "${common[@]}" --threads "$t" --batch "$b" | sed "s/^{/{\"round\":$r,/" >>"$RAW"
      node bench/ort_throughput.mjs "${common[@]}" --threads "$t" --batch "$b" | sed "s/^{/{\"round\":$r,/" >>"$RAW"
    done
  done
done

python3 - "$RAW" "$OUT/check.jsonl" "$ORT_VERSION" "$IMAGES" "$ROUNDS" <<'EOF'
import json, statistics, sys
raw, check, ort_version, images, rounds = sys.argv[1:]
runs = [json.loads(l) for l in open(raw)]
checks = {c["model"]: c for c in map(json.loads, open(check))}
models = list(dict.fromkeys(r["model"] for r in runs))
configs = sorted({(r["threads"], r["batch"]) for r in runs})
print(f"onnxruntime-node {ort_version}; {images} images per pass; median of {rounds} interleaved rounds; "
      "ratio = tinyq img/s / ORT img/s (median of per-round ratios, [min-max])")
print()
print("| model | threads | batch | tinyq img/s | ORT img/s | ratio (tinyq/ORT) | tinyq ms/call | ORT ms/call |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
worst = {}
for m in models:
    for t, b in configs:
        sel = lambda e: sorted((r for r in runs if r["model"] == m and r["threads"] == t and r["batch"] == b
                                and r["engine"].startswith(e)), key=lambda r: r["round"])
        tq, ort = sel("tinyq"), sel("onnxruntime")
        ratios = [a["median_img_per_s"] / o["median_img_per_s"] for a, o in zip(tq, ort)]
        med = lambda rs, k: statistics.median(r[k] for r in rs)
        ratio = statistics.median(ratios)
        worst[m] = min(worst.get(m, 9e9), ratio)
        print(f"| {m} | {t} | {b} | {med(tq, 'median_img_per_s'):.0f} | {med(ort, 'median_img_per_s'):.0f} | "
              f"{ratio:.2f} [{min(ratios):.2f}-{max(ratios):.2f}] | {med(tq, 'median_ms_per_call'):.3f} | "
              f"{med(ort, 'median_ms_per_call'):.3f} |")
print()
print("| model | top-1 tinyq | top-1 ORT | top-1 agreement | max abs diff of outputs | worst ratio | goal (ratio >= 0.5) |")
print("|---|---:|---:|---:|---:|---:|---|")
for m in models:
    c = checks[m]
    tq1 = next(r["top1"] for r in runs if r["model"] == m and r["engine"] == "tinyq")
    print(f"| {m} | {tq1:.4f} | {c['top1']:.4f} | {c['tinyq_top1_agreement']:.4f} | {c['tinyq_max_abs_diff']:.2e} | "
          f"{worst[m]:.2f} | {'met' if worst[m] >= 0.5 else 'NOT met'} |")
EOF
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); timed part took $((SECONDS - start)) s; raw results in $OUT"
