#!/usr/bin/env bash
# The main job on the bundled default model: inspect it, quantize it to int8 on 1000
# training images, and compare float and int8 accuracy on the full Fashion-MNIST test set.
# (Code generation and the emulated-MCU run join when they land.)
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
