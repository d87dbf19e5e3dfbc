// The HTML report: built from a really quantized small CNN (whose node and tensor names are
// hostile HTML), checked for structure, escaping, size and atomic writing, then loaded in a
// real headless browser (Debian `chromium`) which must run it without errors and draw every
// plot.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <regex>
#include <sstream>

#include "exec/classification.hpp"
#include "exec/float_executor.hpp"
#include "exec/int8_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"
#include "quant/layer_error.hpp"
#include "quant/quantizer.hpp"
#include "report/html_report.hpp"
#include "report/html_util.hpp"
#include "small_cnn.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

namespace fs = std::filesystem;
using testing::OnnxBuilder;

const std::string kHostileNode = "<script>alert(1)</script>";
const std::string kHostileTensor = "\"><img src=x onerror=alert(2)>";

using testing::random_values;

// The quantizer tests' small CNN (conv, depthwise, add, sigmoid, pools, concat, dense,
// softmax) with a script tag as a node name and an attribute breaker as a tensor name.
Graph hostile_cnn() {
  OnnxBuilder b = testing::small_cnn(kHostileNode, kHostileTensor);
  auto bytes = b.bytes();
  Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "hostile.onnx");
  simplify(g);
  return g;
}

Tensor random_inputs(std::int64_t n, unsigned seed) {
  return Tensor::from_floats({n, 2, 8, 8}, random_values(std::size_t(n) * 128, seed, 0.0f, 1.0f));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Eval summary with labels that disagree with the float model on every fourth sample.
EvalSummary evaluate(const QGraph& q, const Tensor& samples) {
  const std::int64_t n = samples.shape()[0];
  Tensor f = FloatExecutor(q.float_graph).run({samples})[0].reshaped({n, 5});
  Tensor i = Int8Executor(q).run({samples})[0].reshaped({n, 5});
  auto fp = argmax_rows(f), ip = argmax_rows(i);
  std::vector<std::int64_t> labels(fp);
  for (std::size_t k = 0; k < labels.size(); k += 4) labels[k] = (labels[k] + 1 + std::int64_t(k / 4) % 4) % 5;
  EvalSummary e;
  e.count = n;
  e.float_top1 = top_k_accuracy(f, labels, 1);
  e.float_top5 = top_k_accuracy(f, labels, 5);
  e.int8_top1 = top_k_accuracy(i, labels, 1);
  e.int8_top5 = top_k_accuracy(i, labels, 5);
  for (std::size_t k = 0; k < fp.size(); ++k) e.agreement += fp[k] == ip[k];
  e.agreement /= double(n);
  e.float_confusion = confusion_matrix(labels, fp);
  e.int8_confusion = confusion_matrix(labels, ip);
  return e;
}

class HtmlReport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("tinyq_report_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    graph_ = new QGraph(quantize(hostile_cnn(), random_inputs(64, 10), {}));
    Tensor test = random_inputs(200, 11);
    layers_ = new std::vector<LayerError>(measure_layer_error(*graph_, test));
    eval_ = new EvalSummary(evaluate(*graph_, test));
    path_ = new fs::path(*dir_ / "report.html");
    write_html_report({"models/<hostile>.onnx", graph_, *layers_, *eval_}, path_->string());
    html_ = new std::string(read_file(*path_));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_, delete graph_, delete layers_, delete eval_, delete path_, delete html_;
  }

  static std::size_t values_with_histograms() {
    std::size_t n = 0;
    for (auto& v : graph_->values) n += !v.calibration.histogram.empty();
    return n;
  }

  static fs::path* dir_;
  static QGraph* graph_;
  static std::vector<LayerError>* layers_;
  static EvalSummary* eval_;
  static fs::path* path_;
  static std::string* html_;
};
fs::path* HtmlReport::dir_;
QGraph* HtmlReport::graph_;
std::vector<LayerError>* HtmlReport::layers_;
EvalSummary* HtmlReport::eval_;
fs::path* HtmlReport::path_;
std::string* HtmlReport::html_;

TEST_F(HtmlReport, HasAHistogramWithClipMarkersPerCalibratedTensor) {
  const std::size_t hists = values_with_histograms();
  ASSERT_GT(hists, 5u);
  EXPECT_EQ(count(*html_, "<figure class=\"hist\""), hists);
  EXPECT_EQ(count(*html_, "<line class=\"clip\""), 2 * hists);  // lo and hi
  EXPECT_EQ(count(*html_, "<rect class=\"int8-range\""), hists);
  EXPECT_GE(count(*html_, "<path class=\"bins"), hists);
  // One SVG per histogram plus the SQNR chart (confusion matrices are tables here).
  EXPECT_EQ(count(*html_, "<svg"), hists + 1);
  EXPECT_NE(html_->find("count (log)"), std::string::npos);
  EXPECT_NE(html_->find("<span class=\"nm\" title=\"x\">x</span>"), std::string::npos);  // the graph input
}

TEST_F(HtmlReport, HasTheSettingsSqnrBarsAndSummary) {
  EXPECT_NE(html_->find("<dt>preset</dt><dd>best</dd>"), std::string::npos);
  EXPECT_NE(html_->find("<dt>calibration samples</dt><dd>64</dd>"), std::string::npos);
  EXPECT_EQ(count(*html_, "<g class=\"r\">"), graph_->nodes.size());
  EXPECT_NE(html_->find("SQNR (dB)"), std::string::npos);
  EXPECT_NE(html_->find("top-1 drop"), std::string::npos);
  EXPECT_NE(html_->find("agreement"), std::string::npos);
}

TEST_F(HtmlReport, HasFloatInt8AndDifferenceConfusionTables) {
  EXPECT_EQ(count(*html_, "<table class=\"cm\">"), 3u);
  EXPECT_NE(html_->find("<caption>float</caption>"), std::string::npos);
  EXPECT_NE(html_->find("<caption>int8</caption>"), std::string::npos);
  EXPECT_NE(html_->find("<caption>int8 − float "), std::string::npos);
  // Every sample is in one cell of each matrix: the float diagonal (3 of 4 agree) is there.
  std::int64_t diagonal = 0;
  for (std::size_t c = 0; c < eval_->float_confusion.size(); ++c) diagonal += eval_->float_confusion[c][c];
  EXPECT_EQ(diagonal, 150);
}

TEST_F(HtmlReport, HostileNamesAppearOnlyEscaped) {
  bool node_kept = false, tensor_kept = false;
  for (auto& n : graph_->nodes) node_kept |= n.name == kHostileNode;
  for (auto& v : graph_->values) tensor_kept |= v.name == kHostileTensor;
  ASSERT_TRUE(node_kept && tensor_kept) << "the test model lost its hostile names";
  EXPECT_EQ(html_->find(kHostileNode), std::string::npos);
  EXPECT_EQ(html_->find("<img"), std::string::npos);
  EXPECT_EQ(html_->find("<hostile>"), std::string::npos);
  EXPECT_NE(html_->find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html_->find("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"), std::string::npos);
  EXPECT_EQ(count(*html_, "<script"), 2u);  // the report's own error hook and render check
}

TEST_F(HtmlReport, IsSelfContained) {
  EXPECT_EQ(html_->find("http://"), std::string::npos);
  EXPECT_EQ(html_->find("https://"), std::string::npos);
  EXPECT_EQ(html_->find("src=\""), std::string::npos);
  EXPECT_EQ(html_->find("<link"), std::string::npos);
  EXPECT_NE(html_->find("Content-Security-Policy"), std::string::npos);
  EXPECT_FALSE(fs::exists(path_->string() + ".tmp"));
}

// Finds a Chromium binary, or "" when none is installed.
std::string find_chromium() {
  if (const char* env = std::getenv("TINYQ_CHROMIUM")) return env;
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"})
    if (std::system(("command -v " + std::string(name) + " >/dev/null 2>&1").c_str()) == 0) return name;
  return "";
}

int attribute(const std::string& dom, const std::string& tag, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(dom, m, std::regex("<" + tag + "[^>]*\\s" + name + "=\"(\\d+)\""))) return -1;
  return std::stoi(m[1]);
}

TEST_F(HtmlReport, ChromiumLoadsItWithoutErrorsAndDrawsEveryPlot) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  const fs::path profile = *dir_ / "chromium-profile", dom = *dir_ / "dom.html", log = *dir_ / "chromium.log";
  const fs::path png = *dir_ / "report.png";
  const std::string base = "timeout 60 " + chromium +
                           " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
                           " --disable-background-networking --disable-component-update --disable-sync"
                           " --enable-logging=stderr --v=0 --user-data-dir=" +
                           shell_quote(profile.string()) + " ";
  const std::string url = shell_quote("file://" + path_->string());

  ASSERT_EQ(
      std::system(
          (base + "--dump-dom " + url + " >" + shell_quote(dom.string()) + " 2>" + shell_quote(log.string())).c_str()),
      0)
      << read_file(log);
  const std::string out = read_file(dom);
  const std::string browser_log = read_file(log);
  ASSERT_NE(out.find("</html>"), std::string::npos) << browser_log;
  // The render check ran: every SVG has a layout box, and no script error or failed load.
  const int svgs = attribute(out, "body", "data-svgs"), rendered = attribute(out, "body", "data-rendered");
  EXPECT_EQ(svgs, int(values_with_histograms() + 1)) << browser_log;
  EXPECT_EQ(rendered, svgs);
  EXPECT_EQ(attribute(out, "body", "data-errors"), 0) << browser_log;
  EXPECT_EQ(attribute(out, "html", "data-errors"), -1) << out.substr(0, 400);
  EXPECT_EQ(browser_log.find("Uncaught"), std::string::npos) << browser_log;
  EXPECT_EQ(browser_log.find("Content Security Policy"), std::string::npos) << browser_log;
  // The browser parsed the hostile names as text: no element came out of them.
  EXPECT_EQ(out.find("<img"), std::string::npos);
  EXPECT_EQ(count(out, "<script"), 2u);
  EXPECT_EQ(count(out, "<table class=\"cm\">"), 3u);
  EXPECT_EQ(count(out, "<line class=\"clip\""), 2 * values_with_histograms());

  fs::remove_all(profile);
  ASSERT_EQ(std::system((base + "--hide-scrollbars --window-size=1280,2000 --screenshot=" + shell_quote(png.string()) +
                         " " + url + " >>" + shell_quote(log.string()) + " 2>&1")
                            .c_str()),
            0)
      << read_file(log);
  ASSERT_TRUE(fs::exists(png)) << read_file(log);
  EXPECT_GT(fs::file_size(png), 20u * 1024);  // a blank page is a few KB
  EXPECT_EQ(read_file(png).substr(1, 3), "PNG");
  // Keep the page and its picture next to the test binary for people (and CI artifacts).
  const fs::path keep = fs::path(TINYQ_BINARY_DIR) / "report_test";
  fs::create_directories(keep);
  fs::copy_file(*path_, keep / "report.html", fs::copy_options::overwrite_existing);
  fs::copy_file(png, keep / "report.png", fs::copy_options::overwrite_existing);
  std::printf("report screenshot: %s\n", (keep / "report.png").c_str());
}

TEST_F(HtmlReport, WithoutEvalHasNoConfusionSectionButSaysHowToGetOne) {
  const fs::path path = *dir_ / "no_eval.html";
  write_html_report({"m.onnx", graph_, *layers_, std::nullopt}, path.string());
  const std::string html = read_file(path);
  EXPECT_EQ(html.find("<table class=\"cm\">"), std::string::npos);
  EXPECT_EQ(html.find("id=\"confusion\""), std::string::npos);
  EXPECT_NE(html.find("--report FILE.html"), std::string::npos);
  EXPECT_EQ(count(html, "<figure class=\"hist\""), values_with_histograms());
}

TEST_F(HtmlReport, FailureNamesThePathAndLeavesNoFile) {
  const fs::path missing = *dir_ / "no" / "such" / "dir" / "r.html";
  try {
    write_html_report({"m.onnx", graph_, *layers_, *eval_}, missing.string());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), missing.string());
  }
  EXPECT_FALSE(fs::exists(missing));
  // Rename onto a directory fails after the temporary file was written: it is removed.
  const fs::path occupied = *dir_ / "occupied.html";
  fs::create_directories(occupied / "x");
  EXPECT_THROW(write_html_report({"m.onnx", graph_, *layers_, *eval_}, occupied.string()), Error);
  EXPECT_TRUE(fs::is_directory(occupied));
  EXPECT_FALSE(fs::exists(occupied.string() + ".tmp"));
  EXPECT_THROW(write_html_report({"m.onnx", nullptr, {}, std::nullopt}, (*dir_ / "null.html").string()), Error);
  EXPECT_FALSE(fs::exists(*dir_ / "null.html"));
}

// A synthetic 60-layer model with full histograms: the page stays small.
QGraph synthetic_graph(int layers) {
  QGraph q;
  std::mt19937 rng(5);
  for (int k = 0; k <= layers; ++k) {
    QValue v;
    v.name = "tensor_" + std::to_string(k) + "_with_a_fairly_long_name_from_some_exporter";
    v.quant = {0.02f, -10};
    v.calibration.method = "kl";
    v.calibration.histogram_min = -2.5f;
    v.calibration.histogram_max = 2.5f;
    v.calibration.clip_lo = -2.3f;
    v.calibration.clip_hi = 2.4f;
    std::normal_distribution<double> d(64, 18);
    v.calibration.histogram.assign(CalibrationSummary::kSummaryBins, 0);
    for (int s = 0; s < 100000; ++s)
      ++v.calibration.histogram[std::size_t(std::clamp(int(d(rng)), 0, CalibrationSummary::kSummaryBins - 1))];
    q.values.push_back(v);
    if (k == 0) continue;
    QNode n;
    n.name = "layer_" + std::to_string(k);
    n.op = "Conv";
    n.inputs = {k - 1};
    n.output = k;
    n.i8["weights"] = std::vector<std::int8_t>(1000, 1);
    q.nodes.push_back(n);
  }
  return q;
}

std::vector<LayerError> synthetic_errors(const QGraph& q) {
  std::vector<LayerError> e;
  for (std::size_t k = 0; k < q.nodes.size(); ++k)
    e.push_back({q.nodes[k].name, q.nodes[k].op, 12.0 + double(k % 30), 0.99});
  e.back().sqnr_db = 200;  // exact
  return e;
}

EvalSummary synthetic_eval(std::int64_t classes, std::int64_t samples) {
  std::vector<std::int64_t> labels, fp, ip;
  for (std::int64_t s = 0; s < samples; ++s) {
    labels.push_back(s % classes);
    fp.push_back(s % 7 ? s % classes : (s * 31) % classes);
    ip.push_back(s % 6 ? s % classes : (s * 17) % classes);
  }
  EvalSummary e;
  e.count = samples;
  e.float_top1 = 0.86, e.int8_top1 = 0.83, e.float_top5 = 0.97, e.int8_top5 = 0.96, e.agreement = 0.95;
  e.float_confusion = confusion_matrix(labels, fp);
  e.int8_confusion = confusion_matrix(labels, ip);
  return e;
}

TEST_F(HtmlReport, FiftyLayersStayUnderTwoMegabytes) {
  QGraph q = synthetic_graph(60);
  const fs::path path = *dir_ / "big.html";
  write_html_report({"big.onnx", &q, synthetic_errors(q), synthetic_eval(10, 10000)}, path.string());
  EXPECT_LT(fs::file_size(path), 2u << 20);
  EXPECT_EQ(count(read_file(path), "<figure class=\"hist\""), 61u);
}

TEST_F(HtmlReport, ManyClassesBecomeHeatMapsAndStaySmall) {
  QGraph q = synthetic_graph(3);
  const fs::path path = *dir_ / "imagenet.html";
  write_html_report({"big.onnx", &q, synthetic_errors(q), synthetic_eval(1000, 50000)}, path.string());
  const std::string html = read_file(path);
  EXPECT_LT(html.size(), 2u << 20);
  EXPECT_EQ(html.find("<table class=\"cm\">"), std::string::npos);
  EXPECT_NE(html.find("aria-label=\"confusion matrix\""), std::string::npos);
  EXPECT_NE(html.find("largest recall drop"), std::string::npos);
}

TEST(ConfusionMatrix, CountsTrueRowsAgainstPredictedColumns) {
  auto m = confusion_matrix({0, 0, 1, 2, 2, 2}, {0, 1, 1, 2, 0, 2});
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0], (std::vector<std::int64_t>{1, 1, 0}));
  EXPECT_EQ(m[1], (std::vector<std::int64_t>{0, 1, 0}));
  EXPECT_EQ(m[2], (std::vector<std::int64_t>{1, 0, 2}));
  // A predicted class no label has still gets its row and column.
  EXPECT_EQ(confusion_matrix({0}, {3}).size(), 4u);
  EXPECT_TRUE(confusion_matrix({}, {}).empty());
}

TEST(ConfusionMatrix, RejectsMismatchedAndNegativeInput) {
  EXPECT_THROW(confusion_matrix({0, 1}, {0}), Error);
  EXPECT_THROW(confusion_matrix({0, -1}, {0, 0}), Error);
  EXPECT_THROW(confusion_matrix({0}, {1000000000}), Error);
}

TEST(HtmlUtil, EscapeNeutralisesMarkupQuotesAndControlCharacters) {
  using report_detail::escape;
  EXPECT_EQ(escape("a<b>&\"c\"'d'"), "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;");
  EXPECT_EQ(escape(std::string("x\0y\n", 4)), "x\xEF\xBF\xBDy\xEF\xBF\xBD");
  EXPECT_EQ(escape("héllo ✓"), "héllo ✓");
}

TEST(HtmlUtil, TruncationNeverSplitsACodePoint) {
  using report_detail::truncate_middle;
  using report_detail::truncate_utf8;
  EXPECT_EQ(truncate_utf8("short", 10), "short");
  EXPECT_EQ(truncate_utf8("ééééé", 3), "ééé…");
  EXPECT_EQ(truncate_middle("/features/features.4/features.4.0/Conv", 16), "/feat…s.4.0/Conv");  // 16 code points
  EXPECT_EQ(truncate_middle("ééééééééé", 4), "é…éé");
}

TEST(HtmlUtil, NiceTicksAreRoundAndCoverTheRange) {
  using report_detail::nice_ticks;
  EXPECT_EQ(nice_ticks(0, 10, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(nice_ticks(-1.7, 1.7, 5), (std::vector<double>{-1.5, -1, -0.5, 0, 0.5, 1, 1.5}));
  EXPECT_TRUE(nice_ticks(1, 1, 5).empty());
  EXPECT_TRUE(nice_ticks(0, std::numeric_limits<double>::infinity(), 5).empty());
}

}  // namespace
}  // namespace tinyq
