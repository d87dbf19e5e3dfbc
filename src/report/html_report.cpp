// The HTML report: one file with inline CSS and SVG drawn here, no external resources.
// Every name that comes from the model (node, tensor, op, path) goes through escape().
#include "report/html_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>

#include "report/html_util.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

using namespace report_detail;
using Matrix = std::vector<std::vector<std::int64_t>>;

// Above this many classes the confusion matrices are drawn as SVG heat maps, not tables.
constexpr std::size_t kMaxTableClasses = 32;
// Largest confusion matrix confusion_matrix builds (classes², 8 bytes each).
constexpr std::int64_t kMaxClasses = 2048;

constexpr const char* kStyle = R"css(
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f3f4f6;--card:#fff;--accent:#2563eb;
--bad:#dc2626;--fair:#f59e0b;--good:#16a34a}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 "Liberation Sans","Helvetica Neue",Arial,"DejaVu Sans",sans-serif}
header{background:#111827;color:#f9fafb;padding:22px 32px 18px}
header h1{margin:0 0 2px;font-size:22px;font-weight:600;letter-spacing:.2px}
header .model{color:#cbd5e1;font-family:"Liberation Mono","DejaVu Sans Mono",monospace;font-size:13px;word-break:break-all}
header dl{display:flex;flex-wrap:wrap;gap:8px 10px;margin:14px 0 0}
header dl div{background:#1f2937;border:1px solid #374151;border-radius:6px;padding:4px 10px}
header dt{display:inline;color:#9ca3af;font-size:12px;margin-right:6px}
header dd{display:inline;margin:0;font-weight:600}
nav{background:#fff;border-bottom:1px solid var(--line);padding:8px 32px;position:sticky;top:0;z-index:2}
nav a{color:var(--accent);text-decoration:none;margin-right:18px;font-weight:600;font-size:13px}
main{max-width:1320px;margin:0 auto;padding:6px 24px 40px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 20px 18px;margin:16px 0}
section h2{margin:0 0 4px;font-size:18px}
p.how{margin:0 0 12px;color:var(--muted);font-size:13px;max-width:980px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(128px,1fr));gap:10px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;border-top:4px solid var(--line)}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.4px}
.card .v{font-size:24px;font-weight:700;font-variant-numeric:tabular-nums}
.card .s{color:var(--muted);font-size:12px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.card.good{border-top-color:var(--good)}.card.fair{border-top-color:var(--fair)}.card.bad{border-top-color:var(--bad)}
.card.info{border-top-color:var(--accent)}
.note{background:#eff6ff;border:1px solid #bfdbfe;border-radius:8px;padding:8px 12px;margin-top:12px;font-size:13px}
code{font-family:"Liberation Mono","DejaVu Sans Mono",monospace;font-size:12px;background:#f3f4f6;padding:1px 4px;border-radius:4px}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:12px;color:#374151;margin:0 0 12px}
.legend span{display:inline-flex;align-items:center;gap:6px}
.sw{display:inline-block;width:14px;height:10px;border-radius:2px}
.sw.line{height:0;width:18px;border-top:2px dashed var(--bad);border-radius:0}
svg{display:block;font-family:"Liberation Sans",Arial,"DejaVu Sans",sans-serif}
svg text{fill:#374151}
svg .tick{font-size:11px;fill:#6b7280}
svg .axis-title{font-size:12px;fill:#4b5563}
.sqnr .r:hover .hl{fill:#e0e7ff}
.sqnr .nm{font-size:12px}.sqnr .op{font-size:11px;fill:#6b7280}.sqnr .val{font-size:11px;font-weight:700}
.hists{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:12px}
figure.hist{margin:0;border:1px solid var(--line);border-radius:8px;padding:8px 10px 6px;min-width:0}
figure.hist figcaption{display:flex;align-items:center;gap:8px}
figure.hist .nm{font-weight:700;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;flex:1;min-width:0}
figure.hist .meta{color:var(--muted);font-size:12px;line-height:1.35}
figure.hist .meta b{color:#374151;font-weight:600}
.badge{font-size:11px;font-weight:700;border-radius:10px;padding:1px 8px;white-space:nowrap;color:#fff}
.badge.good{background:var(--good)}.badge.fair{background:var(--fair)}.badge.bad{background:var(--bad)}.badge.none{background:#9ca3af}
.cms{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
table.cm{border-collapse:collapse;font-size:11px;font-variant-numeric:tabular-nums}
table.cm caption{font-weight:700;font-size:13px;text-align:left;padding-bottom:4px}
table.cm caption small{font-weight:400;color:var(--muted)}
table.cm th,table.cm td{min-width:26px;height:24px;text-align:center;padding:0 1px}
table.cm td{border:1px solid #fff}
table.cm th{color:#4b5563;font-weight:600}
table.cm th.ax{color:var(--muted);font-weight:400;font-style:italic}
table.cm td.rc{border-left:2px solid var(--line);font-weight:600;min-width:44px}
table.cm td.d{box-shadow:inset 0 0 0 1.5px #1e3a8a}
table.cm td.w{color:#fff}
table.drops{border-collapse:collapse;font-size:12px}
table.drops th,table.drops td{padding:3px 10px;border-bottom:1px solid var(--line);text-align:right}
table.drops th:first-child,table.drops td:first-child{text-align:left}
footer{color:var(--muted);font-size:12px;text-align:center;padding:8px 0 24px}
@media print{nav{display:none}section{break-inside:avoid}}
)css";

class Page {
 public:
  void raw(std::string_view s) { out_ += s; }
  template <typename... Args>
  void add(fmt::format_string<Args...> f, Args&&... args) {
    fmt::format_to(std::back_inserter(out_), f, std::forward<Args>(args)...);
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

// Coordinates with one decimal: enough for screen pixels, small files.
std::string px(double x) {
  if (!std::isfinite(x)) x = 0;
  std::string s = fmt::format("{:.1f}", x);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  if (s == "-0") s = "0";
  return s;
}

double finite_or(double x, double fallback) { return std::isfinite(x) ? x : fallback; }

// ---- header and summary --------------------------------------------------------------------

void header(Page& p, const ReportInput& in) {
  const QuantSettings& s = in.graph->settings;
  p.add("<header><h1>tinyq quantization report</h1><div class=\"model\">{}</div><dl>", escape(in.model));
  auto item = [&](const char* key, const std::string& value) {
    p.add("<div><dt>{}</dt><dd>{}</dd></div>", key, escape(value));
  };
  item("preset", s.preset);
  item("scheme", s.scheme);
  item("weights", "per-" + s.granularity);
  item("calibration", s.calibration);
  item("calibration samples", std::to_string(s.calibration_samples));
  item("layers", std::to_string(in.graph->nodes.size()));
  p.raw("</dl></header>\n");
}

void card(Page& p, const char* quality, const char* key, const std::string& value, const std::string& sub) {
  p.add(
      "<div class=\"card {}\"><div class=\"k\">{}</div><div class=\"v\">{}</div><div class=\"s\" "
      "title=\"{}\">{}</div></div>",
      quality, key, escape(value), escape(sub), escape(sub));
}

void summary(Page& p, const ReportInput& in) {
  const QGraph& g = *in.graph;
  p.raw("<section id=\"summary\"><h2>Summary</h2>");
  p.raw("<div class=\"cards\">");
  if (in.eval) {
    const EvalSummary& e = *in.eval;
    const double drop = 100.0 * (e.float_top1 - e.int8_top1);
    const char* drop_quality = !(drop <= 2.0) ? "bad" : drop > 0.5 ? "fair" : "good";
    card(p, "info", "float top-1", percent(e.float_top1), "top-5 " + percent(e.float_top5));
    card(p, drop_quality, "int8 top-1", percent(e.int8_top1), "top-5 " + percent(e.int8_top5));
    card(p, drop_quality, "top-1 drop", fmt::format("{:+.2f} pp", drop), "float − int8, in points");
    card(p,
         e.agreement >= 0.99   ? "good"
         : e.agreement >= 0.95 ? "fair"
                               : "bad",
         "agreement", percent(e.agreement), "same top-1 as float");
    card(p, "info", "samples", std::to_string(e.count), "with labels");
  }
  // Layer error at a glance.
  std::vector<double> values;
  const LayerError* worst = nullptr;
  for (auto& e : in.layers) {
    const double v = finite_or(e.sqnr_db, -1e9);
    values.push_back(v);
    if (!worst || v < finite_or(worst->sqnr_db, -1e9)) worst = &e;
  }
  if (worst) {
    std::sort(values.begin(), values.end());
    const double median = values[values.size() / 2];
    card(p, sqnr_class(worst->sqnr_db), "lowest SQNR",
         is_exact(worst->sqnr_db) ? "exact" : number(worst->sqnr_db) + " dB", truncate_middle(worst->name, 20));
    card(p, sqnr_class(median), "median SQNR", is_exact(median) ? "exact" : number(median) + " dB",
         fmt::format("over {} layers", in.layers.size()));
  }
  std::size_t weight_bytes = 0;
  for (auto& n : g.nodes) {
    for (auto& [key, bytes] : n.i8) weight_bytes += bytes.size();
    for (auto& [key, words] : n.i32) weight_bytes += 4 * words.size();
  }
  card(p, "info", "constant data",
       weight_bytes >= 10240 ? fmt::format("{:.1f} KB", weight_bytes / 1024.0) : fmt::format("{} B", weight_bytes),
       "weights and biases");
  p.raw("</div>");
  if (!in.eval)
    p.raw(
        "<div class=\"note\">No accuracy here: <code>tinyq eval MODEL.tqm --data X --labels Y --report "
        "FILE.html</code> "
        "adds float vs int8 accuracy and confusion matrices.</div>");
  p.raw("</section>\n");
}

// ---- per-layer SQNR ------------------------------------------------------------------------

void sqnr_chart(Page& p, const std::vector<LayerError>& layers) {
  p.raw("<section id=\"sqnr\"><h2>Per-layer SQNR</h2>");
  p.raw(
      "<p class=\"how\">Signal-to-quantization-noise ratio of each layer's dequantized int8 output against the float "
      "model's, with every layer fed the int8 model's own inputs (errors accumulate as they will on the device). "
      "Every 6 dB is one bit of precision; higher is better.</p>");
  if (layers.empty()) {
    p.raw("<div class=\"note\">No per-layer error was measured.</div></section>\n");
    return;
  }
  p.raw(
      "<div class=\"legend\"><span><i class=\"sw\" style=\"background:#dc2626\"></i>&lt; 20 dB: poor</span>"
      "<span><i class=\"sw\" style=\"background:#f59e0b\"></i>20–30 dB: fair</span>"
      "<span><i class=\"sw\" style=\"background:#16a34a\"></i>≥ 30 dB: good</span>"
      "<span>“exact”: the int8 output equals the float one (no rounding)</span></div>");
  double top = 0;
  for (auto& e : layers)
    if (std::isfinite(e.sqnr_db) && !is_exact(e.sqnr_db)) top = std::max(top, e.sqnr_db);
  const double axis_max = std::clamp(std::ceil((top + 5) / 10) * 10, 40.0, 100.0);
  const double step = axis_max > 60 ? 20 : 10;
  constexpr double kWidth = 1160, kNameX = 6, kOpX = 270, kX0 = 372, kX1 = 1080, kRow = 20, kTop = 34, kBottom = 46;
  const double plot_bottom = kTop + kRow * double(layers.size());
  const double height = plot_bottom + kBottom;
  auto x = [&](double db) { return kX0 + (kX1 - kX0) * std::clamp(finite_or(db, 0), 0.0, axis_max) / axis_max; };
  p.add(
      "<svg class=\"sqnr\" viewBox=\"0 0 {} {}\" width=\"100%\" role=\"img\" aria-label=\"Per-layer SQNR bar chart\">",
      px(kWidth), px(height));
  // Quality zones behind the bars.
  p.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fef2f2\"/>", px(x(0)), px(kTop), px(x(20) - x(0)),
        px(plot_bottom - kTop));
  p.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fffbeb\"/>", px(x(20)), px(kTop), px(x(30) - x(20)),
        px(plot_bottom - kTop));
  p.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f0fdf4\"/>", px(x(30)), px(kTop), px(kX1 - x(30)),
        px(plot_bottom - kTop));
  for (double t = 0; t <= axis_max + 1e-9; t += step) {
    p.add("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#d1d5db\" stroke-width=\"1\"/>", px(x(t)),
          px(kTop - 4), px(plot_bottom + 4));
    p.add("<text class=\"tick\" x=\"{0}\" y=\"{1}\" text-anchor=\"middle\">{2}</text>", px(x(t)), px(kTop - 8),
          number(t));
    p.add("<text class=\"tick\" x=\"{0}\" y=\"{1}\" text-anchor=\"middle\">{2}</text>", px(x(t)), px(plot_bottom + 16),
          number(t));
  }
  for (double t : {20.0, 30.0})
    p.add("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#9ca3af\" stroke-dasharray=\"3 3\"/>", px(x(t)),
          px(kTop), px(plot_bottom));
  p.add("<text class=\"axis-title\" x=\"{}\" y=\"{}\" font-weight=\"700\">layer</text>", px(kNameX), px(kTop - 8));
  p.add("<text class=\"axis-title\" x=\"{}\" y=\"{}\" font-weight=\"700\">op</text>", px(kOpX), px(kTop - 8));
  for (std::size_t k = 0; k < layers.size(); ++k) {
    const LayerError& e = layers[k];
    const double y = kTop + kRow * double(k);
    const bool exact = is_exact(e.sqnr_db);
    const std::string value = exact ? "exact" : number(e.sqnr_db) + " dB";
    const double bar_end = exact ? kX1 : x(e.sqnr_db);
    p.add("<g class=\"r\"><title>{} ({}): SQNR {}, cosine {}</title>", escape(e.name), escape(e.op), escape(value),
          fmt::format("{:.5f}", finite_or(e.cosine, 0)));
    p.add("<rect class=\"hl\" x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"transparent\"/>", px(y), px(kX0 - 4),
          px(kRow));
    p.add("<text class=\"nm\" x=\"{}\" y=\"{}\">{}</text>", px(kNameX), px(y + 14),
          escape(truncate_middle(e.name, 38)));
    p.add("<text class=\"op\" x=\"{}\" y=\"{}\">{}</text>", px(kOpX), px(y + 14), escape(truncate_utf8(e.op, 14)));
    p.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"13\" rx=\"2\" fill=\"{}\"/>", px(kX0), px(y + 3.5),
          px(std::max(bar_end - kX0, 1.5)), sqnr_colour(e.sqnr_db));
    p.add("<text class=\"val\" x=\"{}\" y=\"{}\">{}</text></g>", px(std::min(bar_end, kX1) + 5), px(y + 14),
          escape(value));
  }
  p.add(
      "<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">SQNR (dB) of the int8 output vs float — "
      "higher is better</text>",
      px((kX0 + kX1) / 2), px(plot_bottom + 36));
  p.raw("</svg></section>\n");
}

// ---- calibration histograms ----------------------------------------------------------------

struct HistogramStats {
  double saturated = 0;  // fraction of calibration values outside the int8 range
};

// One tensor's calibration histogram (log counts) with the int8 range shaded and the chosen
// clipping range marked.
HistogramStats histogram_svg(Page& p, const QValue& v) {
  const CalibrationSummary& c = v.calibration;
  const double rep_lo = double(v.quant.scale) * ((v.quant.bits == 16 ? -32768 : -128) - v.quant.zero_point);
  const double rep_hi = double(v.quant.scale) * ((v.quant.bits == 16 ? 32767 : 127) - v.quant.zero_point);
  const double hmin = finite_or(c.histogram_min, 0), hmax = std::max(finite_or(c.histogram_max, 0), hmin);
  double lo = hmin, hi = hmax;
  for (double e : {double(c.clip_lo), double(c.clip_hi), rep_lo, rep_hi})
    if (std::isfinite(e)) lo = std::min(lo, e), hi = std::max(hi, e);
  const double span = hi - lo;
  const double pad = span > 0 ? 0.03 * span : std::max(0.5, std::abs(lo) * 0.1);
  lo -= pad;
  hi += pad;

  constexpr double kW = 360, kH = 198, kL = 50, kR = 350, kT = 14, kB = 158;
  auto x = [&](double value) { return kL + (kR - kL) * (value - lo) / (hi - lo); };
  auto clamp_x = [&](double value) { return std::clamp(x(value), kL, kR); };
  std::uint64_t total = 0, peak = 0, saturated = 0;
  for (auto n : c.histogram) total += n, peak = std::max<std::uint64_t>(peak, n);
  const double log_peak = std::log10(1.0 + double(peak));
  auto y = [&](double count) { return kB - (kB - kT) * std::log10(1.0 + count) / std::max(log_peak, 1e-9); };

  p.add("<svg viewBox=\"0 0 {} {}\" width=\"100%\" role=\"img\" aria-label=\"calibration histogram\">", px(kW), px(kH));
  p.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#e5e7eb\"/>", px(kL), px(kT),
        px(kR - kL), px(kB - kT));
  // The values int8 can represent with this scale and zero point.
  const double shade_a = clamp_x(rep_lo), shade_b = clamp_x(rep_hi);
  if (std::isfinite(rep_lo) && std::isfinite(rep_hi) && shade_b > shade_a)
    p.add("<rect class=\"int8-range\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#dbeafe\"/>", px(shade_a),
          px(kT), px(shade_b - shade_a), px(kB - kT));
  // Log-scale count grid: 1, 10, 100, ...
  for (double t = 1; t <= double(peak) * 1.0001 && t < 1e13; t *= 10) {
    p.add("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#eef0f3\"/>", px(kL), px(kR), px(y(t)));
    p.add("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", px(kL - 4), px(y(t) + 3.5),
          count_label(t));
  }
  // Bars: one path for the values int8 represents, one for those that saturate.
  std::string kept, clipped;
  const std::size_t bins = c.histogram.size();
  const double width = bins ? (hmax - hmin) / double(bins) : 0;
  for (std::size_t i = 0; i < bins; ++i) {
    const std::uint32_t n = c.histogram[i];
    if (n == 0) continue;
    double a = x(hmin + width * double(i)), b = x(hmin + width * double(i + 1));
    if (b - a < 1.2) a = (a + b) / 2 - 0.6, b = a + 1.2;  // a constant tensor is one thin bar
    const double centre = hmin + width * (double(i) + 0.5);
    const bool out = centre < rep_lo || centre > rep_hi;
    if (out) saturated += n;
    fmt::format_to(std::back_inserter(out ? clipped : kept), "M{} {}V{}H{}V{}Z", px(a), px(kB), px(y(n)), px(b),
                   px(kB));
  }
  if (!kept.empty()) p.add("<path class=\"bins\" d=\"{}\" fill=\"#475569\"/>", kept);
  if (!clipped.empty()) p.add("<path class=\"bins saturated\" d=\"{}\" fill=\"#f97316\"/>", clipped);
  // The clipping range calibration chose.
  for (double e : {double(c.clip_lo), double(c.clip_hi)}) {
    if (!std::isfinite(e)) continue;
    const double cx = x(e);
    p.add(
        "<line class=\"clip\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#dc2626\" stroke-width=\"1.6\" "
        "stroke-dasharray=\"5 3\"/>",
        px(cx), px(kT), px(kB));
    p.add("<path d=\"M{} {}h9l-4.5 7z\" fill=\"#dc2626\"/>", px(cx - 4.5), px(kT - 8));
  }
  // x axis.
  p.add("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#9ca3af\"/>", px(kL), px(kR), px(kB));
  for (double t : nice_ticks(lo, hi, 5)) {
    p.add("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#9ca3af\"/>", px(x(t)), px(kB), px(kB + 4));
    p.add("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", px(x(t)), px(kB + 16), number(t));
  }
  p.add("<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">value</text>", px((kL + kR) / 2),
        px(kH - 6));
  p.add(
      "<text class=\"axis-title\" transform=\"translate(12 {}) rotate(-90)\" text-anchor=\"middle\">count (log)</text>",
      px((kT + kB) / 2));
  p.raw("</svg>");
  return {total ? double(saturated) / double(total) : 0.0};
}

void histograms(Page& p, const ReportInput& in) {
  const QGraph& g = *in.graph;
  std::vector<int> producer(g.values.size(), -1);
  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    const int out = g.nodes[k].output;
    if (out >= 0 && std::size_t(out) < g.values.size() && producer[std::size_t(out)] < 0)
      producer[std::size_t(out)] = int(k);
  }
  std::size_t shown = 0;
  for (auto& v : g.values) shown += !v.calibration.histogram.empty();
  p.raw("<section id=\"histograms\"><h2>Calibration histograms</h2>");
  p.raw(
      "<p class=\"how\">What calibration saw of each activation tensor (counts on a log scale) and the range it chose. "
      "A good range covers the mass of the distribution; outliers beyond it saturate, and a range much wider "
      "than the data wastes int8 resolution.</p>");
  p.raw(
      "<div class=\"legend\"><span><i class=\"sw\" style=\"background:#475569\"></i>calibration values</span>"
      "<span><i class=\"sw\" style=\"background:#f97316\"></i>values that saturate (outside the int8 range)</span>"
      "<span><i class=\"sw line\"></i>chosen clipping range [lo, hi]</span>"
      "<span><i class=\"sw\" style=\"background:#dbeafe;border:1px solid #93c5fd\"></i>int8 range: "
      "scale × ([−128, 127] − zero point)</span></div>");
  if (shown == 0) p.raw("<div class=\"note\">This model holds no calibration histograms.</div>");
  p.raw("<div class=\"hists\">");
  for (std::size_t i = 0; i < g.values.size(); ++i) {
    const QValue& v = g.values[i];
    const CalibrationSummary& c = v.calibration;
    if (c.histogram.empty()) continue;
    const int k = producer[i];
    const QNode* node = k >= 0 ? &g.nodes[std::size_t(k)] : nullptr;
    const LayerError* error = k >= 0 && in.layers.size() == g.nodes.size() ? &in.layers[std::size_t(k)] : nullptr;
    p.add("<figure class=\"hist\" id=\"value-{}\"><figcaption><span class=\"nm\" title=\"{}\">{}</span>", i,
          escape(v.name), escape(truncate_middle(v.name, 36)));
    if (error)
      p.add("<span class=\"badge {}\" title=\"SQNR of this layer\">{}</span>", sqnr_class(error->sqnr_db),
            is_exact(error->sqnr_db) ? std::string("exact") : number(error->sqnr_db) + " dB");
    else
      p.raw("<span class=\"badge none\">input</span>");
    p.raw("</figcaption>");
    p.add("<div class=\"meta\">{} · method <b>{}</b> · scale <b>{}</b> · zero point <b>{}</b> · <b>int{}</b>{}</div>",
          node ? "op <b>" + escape(node->op) + "</b>" : std::string("graph input"), escape(c.method),
          number(v.quant.scale), v.quant.zero_point, v.quant.bits,
          v.channel_scales.empty() ? std::string() : std::string(" · branches keep their own scales"));
    HistogramStats stats = histogram_svg(p, v);
    const double rep_lo = double(v.quant.scale) * ((v.quant.bits == 16 ? -32768 : -128) - v.quant.zero_point);
    const double rep_hi = double(v.quant.scale) * ((v.quant.bits == 16 ? 32767 : 127) - v.quant.zero_point);
    p.add("<div class=\"meta\">clip <b>[{}, {}]</b> · int{} range [{}, {}] · data [{}, {}] · ", number(c.clip_lo),
          number(c.clip_hi), v.quant.bits, number(rep_lo), number(rep_hi), number(c.histogram_min),
          number(c.histogram_max));
    if (stats.saturated > 0)
      p.add("<b style=\"color:#c2410c\">{} saturate</b></div>",
            stats.saturated < 1e-5 ? std::string("&lt; 0.001%") : percent(stats.saturated, 3));
    else
      p.raw("none saturate</div>");
    p.raw("</figure>\n");
  }
  p.raw("</div>");
  if (shown < g.values.size())
    p.add(
        "<p class=\"how\" style=\"margin-top:10px\">{} of {} tensors have no calibration histogram and are not "
        "shown.</p>",
        g.values.size() - shown, g.values.size());
  p.raw("</section>\n");
}

// ---- confusion matrices --------------------------------------------------------------------

Matrix padded(const Matrix& m, std::size_t classes) {
  Matrix r(classes, std::vector<std::int64_t>(classes, 0));
  for (std::size_t t = 0; t < m.size() && t < classes; ++t)
    for (std::size_t q = 0; q < m[t].size() && q < classes; ++q) r[t][q] = m[t][q];
  return r;
}

std::int64_t row_total(const std::vector<std::int64_t>& row) {
  return std::accumulate(row.begin(), row.end(), std::int64_t(0));
}

double recall(const Matrix& m, std::size_t c) {
  const std::int64_t total = row_total(m[c]);
  return total ? double(m[c][c]) / double(total) : 0.0;
}

void table_head(Page& p, std::size_t classes, const char* last) {
  p.add(
      "<thead><tr><th></th><th class=\"ax\" colspan=\"{}\">predicted class →</th><th></th></tr><tr><th "
      "class=\"ax\">true ↓</th>",
      classes);
  for (std::size_t c = 0; c < classes; ++c) p.add("<th>{}</th>", c);
  p.add("<th>{}</th></tr></thead>", last);
}

// Cells shaded by their share of the true class's samples (row-normalised).
void confusion_table(Page& p, const std::string& caption, const Matrix& m) {
  const std::size_t classes = m.size();
  p.add("<table class=\"cm\"><caption>{}</caption>", caption);
  table_head(p, classes, "recall");
  p.raw("<tbody>");
  for (std::size_t t = 0; t < classes; ++t) {
    const std::int64_t total = row_total(m[t]);
    p.add("<tr><th>{}</th>", t);
    for (std::size_t q = 0; q < classes; ++q) {
      const std::int64_t n = m[t][q];
      const char* diag = t == q ? " d" : "";
      if (n == 0) {
        p.add("<td class=\"{}\"></td>", diag + (*diag ? 1 : 0));
        continue;
      }
      const int level = std::clamp(int(std::lround(9.0 * double(n) / double(std::max<std::int64_t>(total, 1)))), 1, 9);
      p.add("<td class=\"c{}{}{}\">{}</td>", level, level >= 5 ? " w" : "", diag, n);
    }
    p.add("<td class=\"rc\">{}</td></tr>", total ? percent(recall(m, t), 1) : std::string("–"));
  }
  p.raw("</tbody></table>");
}

// int8 minus float counts: green where int8 gets more right or confuses less, red otherwise.
void difference_table(Page& p, const Matrix& f, const Matrix& q8) {
  const std::size_t classes = f.size();
  std::int64_t peak = 0;
  for (std::size_t t = 0; t < classes; ++t)
    for (std::size_t q = 0; q < classes; ++q) peak = std::max(peak, std::abs(q8[t][q] - f[t][q]));
  p.add("<table class=\"cm\"><caption>int8 − float <small>{}</small></caption>",
        peak == 0 ? "(identical predictions)" : "(green: better, red: worse)");
  table_head(p, classes, "Δ recall");
  p.raw("<tbody>");
  for (std::size_t t = 0; t < classes; ++t) {
    p.add("<tr><th>{}</th>", t);
    for (std::size_t q = 0; q < classes; ++q) {
      const std::int64_t d = q8[t][q] - f[t][q];
      const char* diag = t == q ? " d" : "";
      if (d == 0) {
        p.add("<td class=\"{}\"></td>", diag + (*diag ? 1 : 0));
        continue;
      }
      const bool better = t == q ? d > 0 : d < 0;
      const int level = std::clamp(int(std::ceil(5.0 * double(std::abs(d)) / double(peak))), 1, 5);
      p.add("<td class=\"{}{}{}{}\">{:+}</td>", better ? 'g' : 'b', level, level >= 4 ? " w" : "", diag, d);
    }
    const double change = 100.0 * (recall(q8, t) - recall(f, t));
    const bool any = row_total(f[t]) > 0 || row_total(q8[t]) > 0;
    p.add("<td class=\"rc\">{}</td></tr>", !any                      ? std::string("–")
                                           : std::abs(change) < 0.05 ? std::string("0")
                                                                     : fmt::format("{:+.1f}", change));
  }
  p.raw("</tbody></table>");
}

// Many classes: an SVG heat map (classes grouped into at most 120 bins per axis), only
// non-empty cells drawn.
void confusion_heatmap(Page& p, const std::string& caption, const Matrix& m) {
  const std::size_t classes = m.size();
  const std::size_t group = (classes + 119) / 120, cells = (classes + group - 1) / group;
  Matrix binned(cells, std::vector<std::int64_t>(cells, 0));
  for (std::size_t t = 0; t < classes; ++t)
    for (std::size_t q = 0; q < classes; ++q) binned[t / group][q / group] += m[t][q];
  constexpr double kSize = 360, kL = 40, kT = 12;
  const double cell = kSize / double(cells);
  p.add(
      "<figure style=\"margin:0\"><figcaption style=\"font-weight:700;font-size:13px\">{} <small "
      "style=\"font-weight:400;color:#6b7280\">({} classes{}; shade: share of the row)</small></figcaption>",
      escape(caption), classes, group > 1 ? fmt::format(", {} per cell", group) : std::string());
  p.add("<svg viewBox=\"0 0 {} {}\" width=\"{}\" role=\"img\" aria-label=\"confusion matrix\">", px(kL + kSize + 8),
        px(kT + kSize + 36), px(kL + kSize + 8));
  p.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#d1d5db\"/>", px(kL), px(kT),
        px(kSize), px(kSize));
  std::string path[5];
  for (std::size_t t = 0; t < cells; ++t) {
    const std::int64_t total = row_total(binned[t]);
    for (std::size_t q = 0; q < cells; ++q) {
      if (binned[t][q] == 0) continue;
      const int level = std::clamp(int(std::ceil(5.0 * double(binned[t][q]) / double(total))), 1, 5);
      fmt::format_to(std::back_inserter(path[level - 1]), "M{} {}h{}v{}h-{}z", px(kL + cell * double(q)),
                     px(kT + cell * double(t)), px(cell), px(cell), px(cell));
    }
  }
  for (int level = 0; level < 5; ++level)
    if (!path[level].empty())
      p.add("<path d=\"{}\" fill=\"#2563eb\" fill-opacity=\"{:.2f}\"/>", path[level], 0.15 + 0.85 * level / 4.0);
  p.add("<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">predicted class (0 … {})</text>",
        px(kL + kSize / 2), px(kT + kSize + 20), classes - 1);
  p.add(
      "<text class=\"axis-title\" transform=\"translate(24 {}) rotate(-90)\" text-anchor=\"middle\">true class (0 … "
      "{})</text>",
      px(kT + kSize / 2), classes - 1);
  p.raw("</svg></figure>");
}

void recall_drops(Page& p, const Matrix& f, const Matrix& q8) {
  std::vector<std::pair<double, std::size_t>> drops;
  for (std::size_t c = 0; c < f.size(); ++c) {
    const double d = recall(f, c) - recall(q8, c);
    if (d > 0) drops.push_back({d, c});
  }
  std::sort(drops.begin(), drops.end(),
            [](auto& a, auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  if (drops.empty()) {
    p.raw("<p class=\"how\">No class loses recall in int8.</p>");
    return;
  }
  p.raw(
      "<table class=\"drops\"><caption style=\"font-weight:700;text-align:left\">Classes with the largest recall "
      "drop</caption><thead><tr><th>class</th><th>float recall</th><th>int8 recall</th><th>drop (pp)</th></tr></thead>"
      "<tbody>");
  for (std::size_t k = 0; k < drops.size() && k < 10; ++k) {
    const std::size_t c = drops[k].second;
    p.add("<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1f}</td></tr>", c, percent(recall(f, c), 1),
          percent(recall(q8, c), 1), 100.0 * drops[k].first);
  }
  p.raw("</tbody></table>");
}

void confusion(Page& p, const EvalSummary& e) {
  const std::size_t classes = std::max(e.float_confusion.size(), e.int8_confusion.size());
  p.raw("<section id=\"confusion\"><h2>Confusion matrices: float vs int8</h2>");
  p.add(
      "<p class=\"how\">Evaluation samples by true class (rows) and predicted class (columns), {} samples. Shade: "
      "share of the true class's samples; the diagonal is correct. {}</p>",
      e.count,
      classes <= kMaxTableClasses
          ? "The third matrix shows what int8 changes: green where it gets more right or confuses less, red where "
            "it does worse."
          : "The table lists the classes whose recall int8 lowers most.");
  if (classes == 0) {
    p.raw("<div class=\"note\">No confusion matrices were recorded.</div></section>\n");
    return;
  }
  const Matrix f = padded(e.float_confusion, classes), q8 = padded(e.int8_confusion, classes);
  p.raw("<div class=\"cms\">");
  if (classes <= kMaxTableClasses) {
    confusion_table(p, "float", f);
    confusion_table(p, "int8", q8);
    difference_table(p, f, q8);
  } else {
    confusion_heatmap(p, "float", f);
    confusion_heatmap(p, "int8", q8);
    p.raw("<div>");
    recall_drops(p, f, q8);
    p.raw("</div>");
  }
  p.raw("</div></section>\n");
}

// ---- the page ------------------------------------------------------------------------------

std::string level_styles() {
  std::string css;
  for (int k = 1; k <= 9; ++k)
    css += fmt::format("table.cm td.c{}{{background:rgba(37,99,235,{:.2f})}}", k, 0.07 + 0.93 * (k - 1) / 8.0);
  for (int k = 1; k <= 5; ++k) {
    css += fmt::format("table.cm td.g{}{{background:rgba(22,163,74,{:.2f})}}", k, 0.15 + 0.85 * (k - 1) / 4.0);
    css += fmt::format("table.cm td.b{}{{background:rgba(220,38,38,{:.2f})}}", k, 0.15 + 0.85 * (k - 1) / 4.0);
  }
  return css + "\n";
}

// Records script errors and failed resource loads (capture phase) on <html data-errors>.
constexpr const char* kErrorHook =
    "<script>window.tinyqErrors=[];window.addEventListener('error',function(e){"
    "window.tinyqErrors.push(String(e.message||'failed to load '+((e.target&&(e.target.src||e.target.href))||'?')));"
    "var h=document.documentElement;h.setAttribute('data-errors',window.tinyqErrors.length);"
    "h.setAttribute('data-error-log',window.tinyqErrors.join(' | '));},true);</script>\n";

// Marks the body with how many SVG plots have a non-empty layout box and how many errors
// occurred: what the browser test reads back from the DOM.
constexpr const char* kRenderCheck =
    "<script>(function(){function mark(){var s=document.querySelectorAll('svg'),n=0;"
    "for(var i=0;i<s.length;i++){var r=s[i].getBoundingClientRect();if(r.width>0&&r.height>0)n++;}"
    "var b=document.body;b.dataset.svgs=s.length;b.dataset.rendered=n;b.dataset.errors=window.tinyqErrors.length;}"
    "mark();window.addEventListener('load',mark);})();</script>\n";

std::string render(const ReportInput& in) {
  Page p;
  p.raw(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "script-src 'unsafe-inline'; img-src data:\">");
  p.add("<title>tinyq report: {}</title>\n", escape(in.model));
  p.raw(kErrorHook);
  p.raw("<style>");
  p.raw(kStyle);
  p.raw(level_styles());
  p.raw("</style></head>\n<body>\n");
  header(p, in);
  p.raw("<nav><a href=\"#summary\">Summary</a><a href=\"#sqnr\">Layer SQNR</a><a href=\"#histograms\">Histograms</a>");
  if (in.eval) p.raw("<a href=\"#confusion\">Confusion matrices</a>");
  p.raw("</nav>\n<main>\n");
  summary(p, in);
  sqnr_chart(p, in.layers);
  histograms(p, in);
  if (in.eval) confusion(p, *in.eval);
  p.raw(
      "</main>\n<footer>Generated by tinyq. Self-contained: no scripts, fonts or images are loaded from "
      "elsewhere.</footer>\n");
  p.raw(kRenderCheck);
  p.raw("</body></html>\n");
  return std::move(p.str());
}

}  // namespace

void write_html_report(const ReportInput& input, const std::string& path) {
  if (!input.graph) fail(path, "no quantized model to report on");
  for (auto& n : input.graph->nodes)
    if (n.output < 0 || std::size_t(n.output) >= input.graph->values.size())
      fail(path, "node '{}' has no valid output value", n.name);
  write_file_atomically(path, render(input));
}

std::vector<std::vector<std::int64_t>> confusion_matrix(const std::vector<std::int64_t>& labels,
                                                        const std::vector<std::int64_t>& predictions) {
  if (labels.size() != predictions.size())
    fail("", "confusion matrix of {} labels and {} predictions", labels.size(), predictions.size());
  std::int64_t classes = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    for (std::int64_t c : {labels[i], predictions[i]}) {
      if (c < 0 || c >= kMaxClasses)
        fail("", "class {} of sample {} is outside the confusion matrix's range [0, {})", c, i, kMaxClasses);
      classes = std::max(classes, c + 1);
    }
  }
  Matrix m(std::size_t(classes), std::vector<std::int64_t>(std::size_t(classes), 0));
  for (std::size_t i = 0; i < labels.size(); ++i) ++m[std::size_t(labels[i])][std::size_t(predictions[i])];
  return m;
}

}  // namespace tinyq
