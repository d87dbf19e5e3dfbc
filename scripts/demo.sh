#!/usr/bin/env bash
# The main job on the bundled default model: inspect it and measure its float accuracy on
# the full Fashion-MNIST test set. (Quantization and the MCU run join as they land.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
model=models/dwsep.onnx
data=/usr/share/datasets/fashion-mnist
echo
echo "== tinyq inspect $model"
./build/tinyq inspect "$model"
echo
echo "== tinyq eval $model on the Fashion-MNIST test set"
./build/tinyq eval "$model" --data "$data/t10k-images-idx3-ubyte.gz" --labels "$data/t10k-labels-idx1-ubyte.gz"
expected=$(grep -A1 '"dwsep"' models/zoo.json | grep -o '"float_top1": [0-9.]*' | grep -o '[0-9.]*$' || true)
[ -n "$expected" ] && echo "(PyTorch measured $expected on the same images when the model was trained)"
