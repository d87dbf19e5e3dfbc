#pragma once
// One self-contained HTML page about a quantized model: per-layer histograms with the chosen
// clipping range marked, per-layer SQNR, and float vs int8 confusion matrices after an eval.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/qgraph.hpp"
#include "quant/layer_error.hpp"

namespace tinyq {

struct EvalSummary {
  std::int64_t count = 0;
  double float_top1 = 0, float_top5 = 0, int8_top1 = 0, int8_top5 = 0, agreement = 0;
  // counts[true_label][predicted_label]
  std::vector<std::vector<std::int64_t>> float_confusion, int8_confusion;
};

struct ReportInput {
  std::string model;  // path shown in the title
  const QGraph* graph = nullptr;
  std::vector<LayerError> layers;  // one per graph->nodes entry
  std::optional<EvalSummary> eval;
};

// Writes atomically (temporary file, then rename). Throws tinyq::Error naming the path.
void write_html_report(const ReportInput& input, const std::string& path);

// Confusion matrix of predictions against labels, classes = max label/prediction + 1.
std::vector<std::vector<std::int64_t>> confusion_matrix(const std::vector<std::int64_t>& labels,
                                                        const std::vector<std::int64_t>& predictions);

}  // namespace tinyq
