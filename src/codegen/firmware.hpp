#pragma once
// Building a model's generated sources into a Cortex-M firmware and running it on QEMU:
// what `tinyq bench` and `tinyq verify` share.
//
// The firmware (main written here) reads int8 inputs, already in the model's stored layout,
// from the host file tinyq_inputs.bin through semihosting, runs the model on each between
// two tinyq_marker() calls, and writes every output to tinyq_outputs.bin. A profiling build
// also calls the marker after every layer, so the QEMU instruction-count plugin gives
// per-layer counts.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "codegen/cycle_model.hpp"
#include "codegen/generated_sources.hpp"
#include "codegen/target.hpp"

namespace tinyq {

struct FirmwareOptions {
  std::string optimization = "-O3";  // -O3 as the CMSIS-NN anchor build (bench/reference_layers); -Os for size
  bool profile_layers = false;       // a marker after every layer
  // Link-time optimisation over the model and the runtime: the constexpr layer parameters
  // reach the kernels' C code as constants (loops specialised to the layer's shapes).
  bool lto = true;
  // Streaming code: call NAME_reset() before every `reset_every`-th input frame (0: never),
  // so that each sample is a stream of its own.
  std::size_t reset_every = 0;
};

struct FirmwareSizes {
  std::size_t model_code = 0;    // .text of the model's own source (call sequence, helpers)
  std::size_t runtime_code = 0;  // .text of the runtime kernels that the link kept
  std::size_t const_data = 0;    // .rodata of model + runtime (weights, parameters, tables)
  std::size_t arena_bytes = 0;   // .bss of the model (the static arena)
  std::size_t flash() const { return model_code + runtime_code + const_data; }
};

// Sizes by symbol from `arm-none-eabi-nm -S -C` of a linked firmware whose model is `name`.
FirmwareSizes sizes_from_symbols(const std::string& nm_output, const std::string& name);

struct Firmware {
  std::filesystem::path dir, elf;
  FirmwareSizes sizes;
};

// Where targets/cortex-m and the instruction-count plugin are: $TINYQ_HOME (a source tree)
// and $TINYQ_INSN_COUNT_PLUGIN override the build-time locations.
std::filesystem::path cortex_m_dir();
std::filesystem::path insn_count_plugin();

// Writes the sources into `dir` and builds them with arm-none-eabi-g++. Throws tinyq::Error
// if the toolchain is missing or the build fails (naming the log file). The folder is
// self-contained: src/ (the sources), target/ (copies of the target files), a Makefile that
// names only paths relative to it, so any folder name is safe and `make` rebuilds by hand.
// No tool is run through a shell.
Firmware build_firmware(const GeneratedSources& sources, const Target& target, const std::string& name,
                        const std::filesystem::path& dir, const FirmwareOptions& options);

struct FirmwareRun {
  std::vector<std::uint8_t> outputs;         // every sample's output bytes, in order
  std::vector<std::uint64_t> marker_counts;  // instructions before each marker hit (when counted)
  std::vector<InstructionMix> marker_mix;    // the instruction mix at each marker hit (when asked)
};

// Runs the firmware on QEMU over `inputs` (samples × input bytes, stored layout).
// `instruction_mix` (with `count_instructions`) also snapshots the mix at every marker.
FirmwareRun run_firmware(const Firmware& firmware, const Target& target, const std::vector<std::int8_t>& inputs,
                         bool count_instructions, int timeout_seconds, bool instruction_mix = false);

// The marker overhead the plugin adds between two consecutive snapshots (targets/cortex-m).
inline constexpr std::uint64_t kMarkerOverhead = 2;

}  // namespace tinyq
