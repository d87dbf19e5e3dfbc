#!/usr/bin/env bash
# Builds the libFuzzer targets with clang + ASan/UBSan and runs each for N seconds (default
# 60): the ONNX loader on a corpus seeded with the zoo models, and the .tqm loader (with code
# generation and int8 inference behind it) on payloads of quantized zoo models. Any crash fails.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
[ "$seconds" -gt 0 ] || exit 0
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DTINYQ_FUZZ=ON -DTINYQ_BUILD_TESTS=OFF -DTINYQ_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_onnx_import fuzz_tqm_load
corpus=build-fuzz/corpus
mkdir -p "$corpus"
cp models/*.onnx "$corpus"/ 2>/dev/null || true
for t in conv_with_strides_padding averagepool_2d_pads maxpool_2d_ceil gemm_default_single_elem_vector_bias \
  reshape_reordered_all_dims softmax_axis_1 concat_2d_axis_0; do
  f=/usr/share/libonnx-testdata/data/node/test_$t/model.onnx
  [ -f "$f" ] && cp "$f" "$corpus/$t.onnx"
done
echo "fuzz: running fuzz_onnx_import for ${seconds}s"
./build-fuzz/tests/fuzz/fuzz_onnx_import -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 \
  -timeout=20 -print_final_stats=1 "$corpus" 2>&1 | tail -n 20

# .tqm seeds: small quantized zoo models, header stripped (the harness adds a valid one).
tqm_corpus=build-fuzz/corpus-tqm
mkdir -p "$tqm_corpus"
for m in mlp seed_cnn; do
  if [ -x build/tinyq ] && build/tinyq quantize "models/$m.onnx" \
      --calib /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz --calib-count 20 \
      -o "build-fuzz/$m.tqm" >/dev/null 2>&1; then
    tail -c +29 "build-fuzz/$m.tqm" > "$tqm_corpus/$m.payload"
  fi
done
echo "fuzz: running fuzz_tqm_load for ${seconds}s"
./build-fuzz/tests/fuzz/fuzz_tqm_load -max_total_time="$seconds" -max_len=600000 -rss_limit_mb=4096 \
  -timeout=20 -print_final_stats=1 "$tqm_corpus" 2>&1 | tail -n 20
