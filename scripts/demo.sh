#!/usr/bin/env bash
# The main job on the bundled default model, end to end: inspect it, quantize it to int8 on
# 1000 training images, compare float and int8 accuracy on the full Fashion-MNIST test set,
# generate C++ for a Cortex-M4, build it, run it on an emulated Cortex-M4 (QEMU) over test
# images checking every output byte against the host, and count instructions per layer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
model=models/dwsep.onnx
data=/usr/share/datasets/fashion-mnist
out=build/demo
mkdir -p "$out"
echo
echo "== tinyq inspect $model"
./build/tinyq inspect "$model"
echo
echo "== tinyq quantize $model (preset best, 1000 calibration images)"
./build/tinyq quantize "$model" --calib "$data/train-images-idx3-ubyte.gz" --calib-count 1000 -o "$out/dwsep.tqm"
echo
echo "== tinyq eval $out/dwsep.tqm on the 10,000 test images (report: $out/report.html)"
./build/tinyq eval "$out/dwsep.tqm" --data "$data/t10k-images-idx3-ubyte.gz" \
  --labels "$data/t10k-labels-idx1-ubyte.gz" --report "$out/report.html"
echo
echo "== tinyq generate $out/dwsep.tqm --target cortex-m4 -o $out/dwsep-m4"
./build/tinyq generate "$out/dwsep.tqm" --target cortex-m4 -o "$out/dwsep-m4" --name dwsep
echo
echo "== tinyq verify: the Cortex-M4 firmware on QEMU vs the host int8 executor, 500 test images"
./build/tinyq verify "$out/dwsep.tqm" --target cortex-m4 --data "$data/t10k-images-idx3-ubyte.gz" \
  --labels "$data/t10k-labels-idx1-ubyte.gz" --count 500
echo
echo "== tinyq bench: instructions per layer on the emulated Cortex-M4"
./build/tinyq bench "$out/dwsep.tqm" --target cortex-m4
