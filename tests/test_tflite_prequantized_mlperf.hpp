#pragma once
// The MLPerf Tiny int8 models and TFLite Micro's outputs for them, found only through the
// TINYQ_MLPERF_TINY environment variable (a folder laid out as the MLPerf Tiny reference data:
// models/*.tflite, tflm/<bench>_input.npy and tflm/<bench>_output.npy). Tests skip, with the
// reason, when it is unset or incomplete; nothing from it is ever copied into the repository.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace tinyq_test {

struct MlperfModel {
  std::string bench;  // kws, vww, ic, ad, sww: the tflm/<bench>_*.npy prefix
  std::string file;   // under models/
};

inline const std::vector<MlperfModel>& mlperf_int8_models() {
  static const std::vector<MlperfModel> models = {{"kws", "kws_ref_model.tflite"},
                                                  {"vww", "vww_96_int8.tflite"},
                                                  {"ic", "pretrainedResnet_quant.tflite"},
                                                  {"ad", "ad01_int8.tflite"},
                                                  {"sww", "str_ww_ref_model.tflite"}};
  return models;
}

struct MlperfPaths {
  std::filesystem::path model, input, output;
};

// The files of one benchmark, or the reason they cannot be used (empty when they can).
inline std::string mlperf_paths(const MlperfModel& m, MlperfPaths& paths) {
  const char* root = std::getenv("TINYQ_MLPERF_TINY");
  if (root == nullptr || *root == '\0') return "TINYQ_MLPERF_TINY is not set (the MLPerf Tiny reference folder)";
  const std::filesystem::path dir(root);
  paths.model = dir / "models" / m.file;
  paths.input = dir / "tflm" / (m.bench + "_input.npy");
  paths.output = dir / "tflm" / (m.bench + "_output.npy");
  for (const auto& p : {paths.model, paths.input, paths.output})
    if (!std::filesystem::is_regular_file(p)) return "TINYQ_MLPERF_TINY has no " + p.string();
  return {};
}

}  // namespace tinyq_test
