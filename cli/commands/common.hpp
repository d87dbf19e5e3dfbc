#pragma once
// Pieces every `tinyq` command shares: loading a model, reading data options, and the
// exit-code contract (0 ok, 1 failed check, 2 bad input or usage).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "ir/graph.hpp"
#include "ir/qgraph.hpp"
#include "quant/quantizer.hpp"

namespace tinyq::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitBadInput = 2;

// Import an ONNX file and simplify it (the graph every command works on).
Graph load_model(const std::string& path);

// Validators for numeric options, with the range in --help and in the one-line error.
// CLI11's own Range lets NaN through (every comparison with NaN is false) and its integer
// conversion wraps or saturates numbers beyond int64: these reject both.
CLI::Validator integer_range(std::int64_t lo, std::int64_t hi);
CLI::Validator finite_range(double lo, double hi);
CLI::Validator positive_finite();
inline constexpr std::int64_t kMaxCount = std::numeric_limits<std::int64_t>::max();
// Worker threads beyond this are refused: a million threads hang the machine, and no host
// tinyq runs on has more cores than this.
inline constexpr int kMaxThreads = 256;
// --threads N (0: all cores, the default) with its range check.
CLI::Option* add_threads_option(CLI::App& app, int& threads);

// --scale / --mean / --std, shared by every command that reads data.
struct DataOptions {
  float scale = 1.0f / 255;
  std::vector<float> mean, std;
  bool channels_last = false;
  void add_to(CLI::App& app);
  Preprocess preprocess() const { return {scale, mean, std, channels_last}; }
};

// Samples shaped for the model's input `input`: exact match, or the same number of elements
// per sample (e.g. N×784 for a [1,1,28,28] input). Throws tinyq::Error otherwise.
Tensor shape_for_input(const Graph& graph, std::size_t input, Tensor data, const std::string& path);
// The same for a model of one input; an error naming `path` for a model of several.
Tensor shape_for_model(const Graph& graph, Tensor data, const std::string& path);
// One data file per model input, in the model's input order (`option` is given once per
// input), each read with `data` and shaped for its input.
InputSamples load_inputs(const Graph& graph, const std::vector<std::string>& paths, const DataOptions& data,
                         const std::string& option);

// --preset / --scheme / --granularity / --calibration / --bias-correction / --rounding / --range-search /
// --calib-count / --threads.
struct QuantizeCliOptions {
  std::string preset = "best";
  std::string scheme, granularity, calibration, bias_correction, rounding, range_search, int16;
  std::int64_t int16_ram = 0;
  std::int64_t calib_count = 1000;
  int threads = 0;
  void add_to(CLI::App& app);
};

// The number of classes of a classifier: elements per sample of its (first) output.
std::int64_t class_count(const Graph& graph);
// Throws tinyq::Error naming `path`, the index and the value of the first label that is not
// a class of the model (0 .. classes-1): such labels would silently score as misses.
void check_labels(const std::vector<std::int64_t>& labels, std::int64_t classes, const std::string& path);

// Calibration samples shaped for the model (one file per input, load_inputs), the first
// `count` of them (0: all). With `holdout`: also up to 256 of the samples after those (empty
// when there are none), to check the result on data it was not calibrated on.
InputSamples load_calibration(const Graph& graph, const std::vector<std::string>& paths, const DataOptions& data,
                              std::int64_t count, InputSamples* holdout = nullptr);
// The first `count` samples of a batch (all of them if it has fewer).
Tensor head_samples(const Tensor& samples, std::int64_t count);
// Quantize with a progress bar on stderr when it is a terminal. Appends to `warnings` what
// the quantizer found wrong with the data or the result (quantize_with_checks).
// With `prediction`, also what the quantizer measured of its result (needs `warnings`).
QGraph quantize_model(const Graph& graph, const InputSamples& calib, const QuantizeCliOptions& options,
                      std::vector<std::string>* warnings = nullptr, const InputSamples& holdout = {},
                      Prediction* prediction = nullptr);
// Each warning as one "tinyq: warning: ..." line on stderr.
void print_warnings(const std::vector<std::string>& warnings);

// `name` cut to `width` characters for a table column, keeping its end: layer names share
// long prefixes ("/features/features.3/...") and differ at the end.
std::string column_name(const std::string& name, std::size_t width);

// Print `value` as one JSON object on stdout.
void print_json(const nlohmann::json& value);

}  // namespace tinyq::cli
