#pragma once
// Pieces every `tinyq` command shares: loading a model, reading data options, and the
// exit-code contract (0 ok, 1 failed check, 2 bad input or usage).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "ir/graph.hpp"
#include "ir/qgraph.hpp"

namespace tinyq::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitBadInput = 2;

// Import an ONNX file and simplify it (the graph every command works on).
Graph load_model(const std::string& path);

// --scale / --mean / --std, shared by every command that reads data.
struct DataOptions {
  float scale = 1.0f / 255;
  std::vector<float> mean, std;
  void add_to(CLI::App& app);
  Preprocess preprocess() const { return {scale, mean, std}; }
};

// Samples shaped for the model's single input: exact match, or the same number of
// elements per sample (e.g. N×784 for a [1,1,28,28] input). Throws tinyq::Error otherwise.
Tensor shape_for_model(const Graph& graph, Tensor data, const std::string& path);

// --preset / --scheme / --granularity / --calibration / --calib-count / --threads.
struct QuantizeCliOptions {
  std::string preset = "best";
  std::string scheme, granularity, calibration, bias_correction;
  std::int64_t calib_count = 1000;
  int threads = 0;
  void add_to(CLI::App& app);
};

// Calibration samples shaped for the model, the first `count` of them (0: all).
Tensor load_calibration(const Graph& graph, const std::string& path, const DataOptions& data, std::int64_t count);
// The first `count` samples of a batch (all of them if it has fewer).
Tensor head_samples(const Tensor& samples, std::int64_t count);
// Quantize with a progress bar on stderr when it is a terminal.
QGraph quantize_model(const Graph& graph, const Tensor& calib, const QuantizeCliOptions& options);

// `name` cut to `width` characters for a table column, keeping its end: layer names share
// long prefixes ("/features/features.3/...") and differ at the end.
std::string column_name(const std::string& name, std::size_t width);

// Print `value` as one JSON object on stdout.
void print_json(const nlohmann::json& value);

}  // namespace tinyq::cli
