// ONNX's own conformance node tests (Debian libonnx-testdata): every test whose operators
// the importer supports is imported, simplified and run by the float executor, and each
// output is compared with the one ONNX ships. A test may only be skipped when tinyq rejects
// it with a clear tinyq::Error, and then only if tests/conformance_skips.txt lists it with a
// fragment of that error: a new rejection fails, and so does a listed test that now runs.
// The node tests feed weights (Conv W, Gemm C, Pad pads, Clip min...) as graph inputs; the
// harness turns those into initializers, as real models have them.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "frontend/onnx/onnx_tensor.hpp"
#include "passes/passes.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;

namespace {

fs::path testdata_root() {
  if (const char* dir = std::getenv("TINYQ_ONNX_NODE_TESTS")) return dir;
  return "/usr/share/libonnx-testdata/data/node";
}

const fs::path kSkipList = fs::path(TINYQ_SOURCE_DIR) / "tests" / "conformance_skips.txt";

std::string read_bytes(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot open " + path.string());
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

template <typename Proto>
Proto read_proto(const fs::path& path) {
  Proto proto;
  if (!proto.ParseFromString(read_bytes(path))) throw std::runtime_error("cannot parse " + path.string());
  return proto;
}

bool uses_only_supported_ops(const onnx::ModelProto& model) {
  static const std::vector<std::string> supported = tinyq::supported_onnx_ops();
  for (const auto& node : model.graph().node()) {
    if (!node.domain().empty() && node.domain() != "ai.onnx") return false;
    if (!std::binary_search(supported.begin(), supported.end(), node.op_type())) return false;
  }
  return model.graph().node_size() > 0;
}

// The population: test directories whose model uses only operators tinyq imports.
std::vector<std::string> selected_tests() {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(testdata_root(), ec)) return names;
  for (const auto& entry : fs::directory_iterator(testdata_root())) {
    const fs::path model = entry.path() / "model.onnx";
    if (!fs::is_regular_file(model)) continue;
    std::ifstream file(model, std::ios::binary);
    onnx::ModelProto proto;
    if (!proto.ParseFromIstream(&file)) continue;  // not an ONNX model, so not a node test
    if (uses_only_supported_ops(proto)) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

const std::vector<std::string>& population() {
  static const std::vector<std::string> names = selected_tests();
  return names;
}

// tests/conformance_skips.txt: "<test dir> <fragment of the expected tinyq::Error message>"
// per line; '#' starts a comment.
std::map<std::string, std::string> expected_skips() {
  std::map<std::string, std::string> skips;
  std::ifstream file(kSkipList);
  for (std::string line; std::getline(file, line);) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream words(line);
    std::string name, reason;
    if (!(words >> name)) continue;
    std::getline(words >> std::ws, reason);
    while (!reason.empty() && std::isspace(static_cast<unsigned char>(reason.back()))) reason.pop_back();
    skips[name] = reason;
  }
  return skips;
}

// Ops whose every input is data (an activation tinyq can take at run time). Elsewhere only
// input 0 is data; the others are weights and parameters that real models hold as
// initializers, and the importer requires them constant.
bool is_data_input(const std::string& op_type, int index) {
  static const std::set<std::string> all_data = {"Add",    "Sub", "Mul", "Div", "Pow", "MatMul",
                                                 "Concat", "Sum", "Max", "Min", "Mean"};
  return index == 0 || all_data.count(op_type) != 0;
}

// Whether a graph input other than the first is fed at run time: float, with a batch axis
// (the executor slices samples along it), and read by some node, only as data. An input no
// node reads (CastLike's expanded tests keep the unused "like", whose shipped data does not
// even have its declared shape) becomes an initializer like the parameters.
bool keep_as_runtime_input(const onnx::GraphProto& graph, const onnx::ValueInfoProto& input) {
  const auto& type = input.type().tensor_type();
  if (type.elem_type() != onnx::TensorProto::FLOAT || type.shape().dim_size() == 0) return false;
  bool read = false;
  for (const auto& node : graph.node())
    for (int i = 0; i < node.input_size(); ++i)
      if (node.input(i) == input.name()) {
        if (!is_data_input(node.op_type(), i)) return false;
        read = true;
      }
  return read;
}

struct DataSet {
  onnx::ModelProto model;                  // parameters turned into initializers
  std::vector<onnx::TensorProto> inputs;   // the run-time inputs, in graph order
  std::vector<onnx::TensorProto> outputs;  // expected, in graph output order
};

std::vector<fs::path> numbered_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int k = 0;; ++k) {
    fs::path p = dir / (prefix + std::to_string(k) + ".pb");
    if (!fs::is_regular_file(p)) break;
    files.push_back(p);
  }
  return files;
}

DataSet load_data_set(const onnx::ModelProto& model, const fs::path& dir) {
  DataSet ds;
  ds.model = model;
  const onnx::GraphProto& graph = model.graph();
  std::set<std::string> initialized;
  for (const auto& init : graph.initializer()) initialized.insert(init.name());
  std::vector<fs::path> input_files = numbered_files(dir, "input_");
  auto* new_inputs = ds.model.mutable_graph()->mutable_input();
  new_inputs->Clear();
  std::size_t k = 0;
  for (int i = 0; i < graph.input_size(); ++i) {
    const auto& in = graph.input(i);
    if (initialized.count(in.name())) continue;
    if (k >= input_files.size()) throw std::runtime_error("no data for input '" + in.name() + "'");
    onnx::TensorProto data = read_proto<onnx::TensorProto>(input_files[k++]);
    // ONNX 1.12's test generator stores bfloat16 input data as UINT16 tensors holding the
    // bfloat16 bits; the model declares the input BFLOAT16, so that is what the bits mean.
    if (in.type().tensor_type().elem_type() == onnx::TensorProto::BFLOAT16 &&
        data.data_type() == onnx::TensorProto::UINT16)
      data.set_data_type(onnx::TensorProto::BFLOAT16);
    if (k == 1 || keep_as_runtime_input(graph, in)) {
      *new_inputs->Add() = in;
      ds.inputs.push_back(std::move(data));
    } else {
      data.set_name(in.name());
      *ds.model.mutable_graph()->add_initializer() = std::move(data);
    }
  }
  for (const auto& file : numbered_files(dir, "output_")) ds.outputs.push_back(read_proto<onnx::TensorProto>(file));
  return ds;
}

// |got - want| <= 1e-4 * max(1, |want|) everywhere; NaN and infinities must match exactly.
// Every test passes at this tolerance, exp/pow-heavy ones (Softmax, LayerNormalization,
// Pow) included, so none gets a looser one.
::testing::AssertionResult all_close(const tinyq::Tensor& got, const tinyq::Tensor& want) {
  constexpr double kTolerance = 1e-4;
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << "shape " << tinyq::shape_string(got.shape()) << ", expected "
                                         << tinyq::shape_string(want.shape());
  auto g = got.f32(), w = want.f32();
  std::size_t bad = 0;
  double worst = 0;
  std::ostringstream first;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double gv = g[i], wv = w[i];
    bool ok;
    if (std::isnan(wv) || std::isinf(wv)) {
      ok = std::isnan(wv) ? std::isnan(gv) : gv == wv;
    } else {
      const double err = std::abs(gv - wv) / std::max(1.0, std::abs(wv));
      ok = err <= kTolerance;  // false for a NaN result
      if (!std::isnan(err)) worst = std::max(worst, err);
    }
    if (!ok && bad++ < 5) first << "  [" << i << "] got " << gv << ", expected " << wv << "\n";
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << w.size() << " values differ (worst relative error " << worst
                                       << "):\n"
                                       << first.str();
}

// Why a test is out of scope, or empty: only float outputs are compared (tinyq computes
// in float; Shape's int64, Dropout's bool mask and casts to other types are not its job).
std::string non_float_output(const onnx::GraphProto& graph) {
  for (const auto& out : graph.output()) {
    if (!out.type().has_tensor_type()) return "output '" + out.name() + "' is not a tensor";
    const int type = out.type().tensor_type().elem_type();
    if (type != onnx::TensorProto::FLOAT)
      return "output '" + out.name() + "' is " + onnx::TensorProto::DataType_Name(type) +
             "; only float outputs are compared";
  }
  return {};
}

class OnnxNodeConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxNodeConformance, MatchesShippedOutputs) {
  const std::string name = GetParam();
  const fs::path dir = testdata_root() / name;
  const auto skips = expected_skips();
  const auto listed = skips.find(name);
  const onnx::ModelProto model = read_proto<onnx::ModelProto>(dir / "model.onnx");

  if (std::string reason = non_float_output(model.graph()); !reason.empty()) {
    EXPECT_TRUE(listed == skips.end()) << name << " is out of scope (" << reason << "); do not list it in "
                                       << kSkipList.filename();
    GTEST_SKIP() << "out of scope: " << reason;
  }

  std::vector<DataSet> data_sets;
  for (int n = 0; fs::is_directory(dir / ("test_data_set_" + std::to_string(n))); ++n)
    data_sets.push_back(load_data_set(model, dir / ("test_data_set_" + std::to_string(n))));
  ASSERT_FALSE(data_sets.empty()) << "no test_data_set_N in " << dir;
  std::vector<tinyq::Graph> graphs;
  try {
    for (const auto& ds : data_sets) {
      const std::string bytes = ds.model.SerializeAsString();
      graphs.push_back(tinyq::import_onnx_bytes(bytes.data(), bytes.size(), name));
    }
  } catch (const tinyq::Error& e) {
    const std::string rejection = e.what();
    ASSERT_TRUE(listed != skips.end()) << "tinyq rejects " << name << ", which " << kSkipList.filename()
                                       << " does not list:\n  " << rejection;
    ASSERT_NE(rejection.find(listed->second), std::string::npos)
        << name << " is rejected with a different error than listed (\"" << listed->second << "\"):\n  " << rejection;
    GTEST_SKIP() << rejection;
  }
  EXPECT_TRUE(listed == skips.end()) << name << " is listed in " << kSkipList.filename()
                                     << " but now imports; remove it from the list";

  for (std::size_t d = 0; d < data_sets.size(); ++d) {
    const DataSet& ds = data_sets[d];
    std::vector<tinyq::Tensor> inputs;
    for (const auto& proto : ds.inputs) inputs.push_back(tinyq::tensor_from_onnx(proto, name + ": input"));
    // The graph as imported and after simplify: the passes must not change the results, and
    // running both tells a pass bug from an importer or executor bug.
    for (bool simplified : {false, true}) {
      SCOPED_TRACE("test_data_set_" + std::to_string(d) + (simplified ? ", simplified" : ", as imported"));
      tinyq::Graph graph = graphs[d];
      if (simplified) tinyq::simplify(graph);
      tinyq::FloatExecutor executor(graph, {.threads = 1});
      const std::vector<tinyq::Tensor> got = executor.run(inputs);
      ASSERT_EQ(got.size(), ds.outputs.size());
      for (std::size_t o = 0; o < got.size(); ++o) {
        tinyq::Tensor want = tinyq::tensor_from_onnx(ds.outputs[o], name + ": output");
        tinyq::Tensor result = got[o];
        // The executor concatenates samples along axis 0, so it returns a scalar as [1].
        if (want.shape().empty() && result.shape() == tinyq::Shape{1}) result = result.reshaped({});
        EXPECT_TRUE(all_close(result, want)) << "output " << o << " ('" << model.graph().output(int(o)).name() << "')";
      }
    }
  }
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Node, OnnxNodeConformance, ::testing::ValuesIn(population()), test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnnxNodeConformance);

TEST(OnnxConformanceSelection, CoversTestsWithSupportedOpsAndListsOnlySelectedSkips) {
  if (!fs::is_directory(testdata_root()))
    GTEST_SKIP() << testdata_root() << " does not exist (install Debian's libonnx-testdata)";
  const auto& names = population();
  EXPECT_FALSE(names.empty());
  const auto skips = expected_skips();
  for (const auto& [name, reason] : skips) {
    EXPECT_TRUE(std::binary_search(names.begin(), names.end(), name))
        << kSkipList.filename() << " lists " << name << ", which is not a selected test";
    EXPECT_FALSE(reason.empty()) << kSkipList.filename() << " gives no reason for " << name;
  }
  // The figure docs quote: every in-scope test either passes or is listed (each Node/ test
  // fails otherwise), so with the Node/ tests green, in scope minus listed is what passes.
  std::size_t in_scope = 0;
  for (const auto& name : names)
    if (non_float_output(read_proto<onnx::ModelProto>(testdata_root() / name / "model.onnx").graph()).empty())
      ++in_scope;
  const std::size_t passing = in_scope - skips.size();
  std::cout << "ONNX node conformance: " << names.size() << " tests use only supported operators, " << in_scope
            << " of them compare float outputs (in scope); " << passing << " of " << in_scope << " pass (" << std::fixed
            << std::setprecision(1) << 100.0 * double(passing) / double(std::max<std::size_t>(in_scope, 1)) << "%), "
            << skips.size() << " are refused as listed in " << kSkipList.filename().string() << "\n";
}

}  // namespace
