#!/usr/bin/env bash
# Installs the Debian 12 packages tinyq needs (only those missing), then configures and
# builds tinyq in ./build. Safe to run again: it only does what is not done yet.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake ninja-build g++ pkg-config zlib1g-dev
  libprotobuf-dev protobuf-compiler libonnx-dev      # ONNX protobuf classes
  libflatbuffers-dev flatbuffers-compiler            # TFLite (.tflite) import
  libhdf5-dev python3-h5py                           # Keras (.h5) import; h5py writes test models
  libeigen3-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev                          # libFuzzer target for the ONNX loader
  libonnx-testdata                                  # ONNX conformance node tests
  dataset-fashion-mnist                             # evaluation data for the model zoo
  python3-numpy                                     # test helpers compare .npy files
  chromium fonts-liberation                         # headless browser test of the HTML report
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib  # Cortex-M firmware
  qemu-system-arm                                   # emulated Cortex-M4/M7/M55 (verify, bench, tests)
  make                                              # builds the generated firmware
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
