#include "commands/common.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "frontend/keras/keras_import.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "frontend/tflite/tflite_import.hpp"
#include "passes/passes.hpp"
#include "quant/quantizer.hpp"
#include "util/error.hpp"

namespace tinyq::cli {

namespace {

enum class ModelFormat { onnx, tflite, keras };

// Recognised by content, not by name: a TFLite flatbuffer carries "TFL3" at bytes 4..7,
// an HDF5 file starts with its 8-byte signature; anything else is read as ONNX (protobuf
// has no signature).
ModelFormat sniff_model_format(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  char head[8] = {};
  if (!file || !file.read(head, sizeof head)) return ModelFormat::onnx;  // the importer names the problem
  if (std::memcmp(head + 4, "TFL3", 4) == 0) return ModelFormat::tflite;
  if (std::memcmp(head, "\x89HDF\r\n\x1a\n", 8) == 0) return ModelFormat::keras;
  return ModelFormat::onnx;
}

}  // namespace

Graph load_model(const std::string& path) {
  Graph graph;
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) fail(path, "is a folder, not a model file");
  switch (sniff_model_format(path)) {
    case ModelFormat::tflite: graph = import_tflite_file(path); break;
    case ModelFormat::keras: graph = import_keras_file(path); break;
    case ModelFormat::onnx: graph = import_onnx_file(path); break;
  }
  try {
    simplify(graph);
  } catch (const Error& e) {
    fail(path, "{}", e.what());
  }
  return graph;
}

CLI::Validator integer_range(std::int64_t lo, std::int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& input) -> std::string {
        std::int64_t value = 0;
        const char *first = input.data(), *last = first + input.size();
        auto [end, ec] = std::from_chars(first, last, value);
        if (ec == std::errc::result_out_of_range || (ec == std::errc() && end == last && (value < lo || value > hi)))
          return fmt::format("{} is outside [{}, {}]", input, lo, hi);
        if (ec != std::errc() || end != last) return fmt::format("'{}' is not an integer", input);
        return {};
      },
      fmt::format("[{}, {}]", lo, hi));
}

CLI::Validator finite_range(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& input) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(input.c_str(), &end);
        if (input.empty() || end != input.c_str() + input.size() || !std::isfinite(value))
          return fmt::format("'{}' is not a finite number", input);
        if (value < lo || value > hi) return fmt::format("{} is outside [{}, {}]", input, lo, hi);
        return {};
      },
      fmt::format("[{}, {}]", lo, hi));
}

CLI::Validator positive_finite() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(input.c_str(), &end);
        if (input.empty() || end != input.c_str() + input.size() || !std::isfinite(value) || !(value > 0) ||
            !std::isfinite(float(value)) || float(value) == 0.0f)
          return fmt::format("{} must be a finite number > 0 (as float32)", input);
        return {};
      },
      "> 0");
}

CLI::Option* add_threads_option(CLI::App& app, int& threads) {
  return app
      .add_option("--threads", threads, fmt::format("Worker threads, 1..{}; 0: all cores (default)", kMaxThreads))
      ->check(integer_range(0, kMaxThreads));
}

void DataOptions::add_to(CLI::App& app) {
  app.add_option("--scale", scale, "Multiplier for uint8 data, > 0 (default 1/255); other dtypes are not scaled")
      ->check(positive_finite());
  app.add_option("--mean", mean, "Mean to subtract after scaling: one value or one per channel")
      ->delimiter(',')
      ->check(finite_range(-std::numeric_limits<float>::max(), std::numeric_limits<float>::max()));
  app.add_option("--std", std, "Standard deviation to divide by, > 0: one value or one per channel")
      ->delimiter(',')
      ->check(positive_finite());
  app.add_flag("--channels-last", channels_last,
               "Per-channel --mean/--std apply to the data's last axis (NHWC images, as TFLite and Keras models take "
               "them) instead of axis 1");
}

Tensor shape_for_input(const Graph& graph, std::size_t index, Tensor data, const std::string& path) {
  const Value& input = graph.value(graph.inputs.at(index));
  Shape expected = input.source_shape();
  const std::int64_t per_sample = element_count(expected);
  if (per_sample == 0)  // declared with a 0 dimension: the executor takes it, the CLI has nothing to feed
    fail(path, "the model input '{}' has shape {}, an empty tensor: there is no data to give it", input.name,
         shape_string(expected));
  if (data.shape().empty()) fail(path, "data has no samples");
  std::int64_t samples = data.numel() / per_sample;
  Shape got = data.shape();
  bool exact = got.size() == expected.size() && std::equal(got.begin() + 1, got.end(), expected.begin() + 1) &&
               got[0] % expected[0] == 0;
  if (exact) return data;
  std::int64_t got_per_sample = data.numel() / std::max<std::int64_t>(got[0], 1);
  if (got_per_sample * expected[0] != per_sample || data.numel() % per_sample != 0)
    fail(path, "data of shape {} does not fit the model input '{}' of shape {}", shape_string(got), input.name,
         shape_string(expected));
  expected[0] *= samples;
  return data.reshaped(expected);
}

Tensor shape_for_model(const Graph& graph, Tensor data, const std::string& path) {
  if (graph.inputs.empty()) fail(path, "the model has no inputs (its outputs are constants): there is nothing to feed");
  if (graph.inputs.size() != 1)
    fail(path, "the model has {} inputs; this command feeds exactly one", graph.inputs.size());
  return shape_for_input(graph, 0, std::move(data), path);
}

InputSamples load_inputs(const Graph& graph, const std::vector<std::string>& paths, const DataOptions& data,
                         const std::string& option) {
  if (graph.inputs.empty())
    fail(option, "the model has no inputs (its outputs are constants): there is no data to give it");
  if (paths.size() != graph.inputs.size()) {
    std::string names;
    for (ValueId in : graph.inputs) names += (names.empty() ? "" : ", ") + graph.value(in).name;
    fail(option, "was given {} time(s); the model has {} input(s) ({}): give {} once per input, in that order",
         paths.size(), graph.inputs.size(), names, option);
  }
  std::vector<Tensor> tensors;
  for (std::size_t i = 0; i < paths.size(); ++i)
    tensors.push_back(shape_for_input(graph, i, load_samples(paths[i], data.preprocess()), paths[i]));
  InputSamples samples(std::move(tensors));
  try {
    samples.count(graph);  // the same number of samples in every file
  } catch (const Error& e) {
    fail(paths.back(), "{}", e.what());
  }
  return samples;
}

void QuantizeCliOptions::add_to(CLI::App& app) {
  app.add_option(
      "--preset", preset,
      "best (default), fast (best's formats with MSE calibration instead of the per-tensor search: about 3x quicker), "
      "cmsis, nnom or pow2");
  app.add_option("--scheme", scheme, "Override the preset's scheme: affine or pow2");
  app.add_option("--granularity", granularity, "Override the preset's weight granularity: channel or tensor");
  app.add_option("--calibration", calibration, "Override the preset's calibration: minmax, percentile, kl, mse, auto");
  app.add_option("--bias-correction", bias_correction, "Override the preset's empirical bias correction: on or off")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--rounding", rounding,
                 "Weight rounding: optimized (default in best: per layer, down or up to lower the layer's output "
                 "error on the calibration data; kept only when the model's output error drops on calibration "
                 "and held-back data) or nearest (the other presets)")
      ->check(CLI::IsMember({"nearest", "optimized"}));
  app.add_option("--range-search", range_search,
                 "Whole-model range search: off (default) or on. Refines the calibrated activation ranges "
                 "together (coordinate descent on the model's output error; about 10x the quantization time)")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--int16", int16,
                 "int16 activations (16x8 layers) where int8 cannot hold: auto (default for best and fast: only "
                 "when the int8 model's output SQNR is below 15 dB, the few conv/dense outputs that raise it most), "
                 "off (default for cmsis, nnom, pow2), or node names separated by commas");
  app.add_option("--int16-ram", int16_ram,
                 "Bytes --int16 auto may add to the arena (planned for the portable kernels; default: the int8 "
                 "arena's size)")
      ->check(integer_range(1, kMaxCount));
  app.add_option("--calib-count", calib_count, "Calibration samples to use, the first N (default 1000; 0: all)")
      ->check(integer_range(0, kMaxCount));
  add_threads_option(app, threads);
}

std::int64_t class_count(const Graph& graph) {
  const Shape shape = graph.value(graph.outputs.at(0)).source_shape();
  const std::int64_t batch = shape.empty() ? 1 : std::max<std::int64_t>(shape[0], 1);
  return element_count(shape) / batch;
}

void check_labels(const std::vector<std::int64_t>& labels, std::int64_t classes, const std::string& path) {
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      fail(path, "label {} at index {} is not a class of the model (it has {} outputs per sample: 0..{})", labels[i], i,
           classes, classes - 1);
}

Tensor head_samples(const Tensor& samples, std::int64_t count) {
  if (count <= 0 || samples.shape().empty() || samples.shape()[0] <= count) return samples;
  Shape s = samples.shape();
  const std::int64_t per = samples.numel() / s[0];
  s[0] = count;
  Tensor head(DType::f32, s);
  std::copy_n(samples.f32().begin(), count * per, head.f32().begin());
  return head;
}

InputSamples load_calibration(const Graph& graph, const std::vector<std::string>& paths, const DataOptions& data,
                              std::int64_t count, InputSamples* holdout) {
  const InputSamples samples = load_inputs(graph, paths, data, "--calib");
  const std::int64_t total = samples.count(graph);
  const std::int64_t used = count > 0 ? std::min(count, total) : total;
  if (holdout) *holdout = used < total ? samples.range(graph, used, 256) : InputSamples();
  return samples.head(graph, used);
}

QGraph quantize_model(const Graph& graph, const InputSamples& calib, const QuantizeCliOptions& o,
                      std::vector<std::string>* warnings, const InputSamples& holdout, Prediction* prediction) {
  QuantizeOptions options;
  options.preset = o.preset;
  if (!o.scheme.empty()) options.scheme = o.scheme;
  if (!o.granularity.empty()) options.granularity = o.granularity;
  if (!o.calibration.empty()) options.calibration = o.calibration;
  if (!o.bias_correction.empty()) options.bias_correction = o.bias_correction == "on";
  if (!o.rounding.empty()) options.optimized_rounding = o.rounding == "optimized";
  if (!o.range_search.empty()) options.range_search = o.range_search == "on";
  if (!o.int16.empty()) options.int16 = o.int16;
  options.int16_ram = o.int16_ram;
  options.threads = o.threads;
  if (isatty(STDERR_FILENO)) {
    options.progress = [](int pass, std::int64_t done, std::int64_t total) {
      const int width = 30, filled = int(width * done / std::max<std::int64_t>(total, 1));
      fmt::print(stderr, "\rcalibrating (pass {}/2) [{}{}] {}/{}", pass + 1, std::string(std::size_t(filled), '#'),
                 std::string(std::size_t(width - filled), '.'), done, total);
      if (done == total) fmt::print(stderr, "\n");
    };
  }
  options.warnings = warnings;
  options.holdout = holdout;
  options.prediction = prediction;
  return quantize(graph, calib, options);
}

void print_warnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) fmt::print(stderr, "tinyq: warning: {}\n", w);
}

std::string column_name(const std::string& name, std::size_t width) {
  if (name.size() <= width) return name;
  std::size_t start = name.size() - (width - 3);
  while (start < name.size() && (static_cast<unsigned char>(name[start]) & 0xC0) == 0x80)
    ++start;  // whole UTF-8 characters
  return "..." + name.substr(start);
}

void print_json(const nlohmann::json& value) { std::cout << value.dump(2) << std::endl; }

}  // namespace tinyq::cli
