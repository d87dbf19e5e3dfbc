// ONNX LSTM, GRU and RNN: randomized single-node models (every direction, both GRU reset
// variants, both layouts, optional inputs and outputs) against a scalar reference written
// from the ONNX operator definitions; PyTorch-exported nn.LSTM / nn.GRU / nn.RNN models
// against torch's outputs saved at export (models/recurrent/); and the refusals, each one
// line naming the node.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <random>

#include "data/npy.hpp"
#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "passes/passes.hpp"
#include "small_cnn.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

using testing::OnnxBuilder;
using testing::random_values;
using Ints = std::vector<std::int64_t>;
using Doubles = std::vector<double>;

const std::filesystem::path kModels = std::filesystem::path(TINYQ_SOURCE_DIR) / "models" / "recurrent";

void set_string(onnx::NodeProto& n, const std::string& name, const std::string& value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(value);
}
void set_strings(onnx::NodeProto& n, const std::string& name, const std::vector<std::string>& values) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRINGS);
  for (auto& v : values) a->add_strings(v);
}
void set_float(onnx::NodeProto& n, const std::string& name, float value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

struct Case {
  std::string op;  // "LSTM", "GRU", "RNN"
  int steps, batch, input, hidden;
  std::string direction;
  bool linear_before_reset, relu, batch_major, with_bias, with_h0, with_c0, h0_at_run_time, peepholes;
  bool want_y, want_h, want_c;

  int directions() const { return direction == "bidirectional" ? 2 : 1; }
  int gates() const { return op == "LSTM" ? 4 : op == "GRU" ? 3 : 1; }
};

std::string describe(const Case& c) {
  return fmt::format("{} T={} N={} I={} H={} {} lbr={} relu={} layout={} B={} h0={}{} c0={} P={} outputs={}{}{}", c.op,
                     c.steps, c.batch, c.input, c.hidden, c.direction, c.linear_before_reset, c.relu,
                     int(c.batch_major), c.with_bias, c.with_h0, c.h0_at_run_time ? " (run time)" : "", c.with_c0,
                     c.peepholes, c.want_y ? "Y" : "", c.want_h ? " Y_h" : "", c.want_c ? " Y_c" : "");
}

// The layer's outputs in ONNX layout 0: y [T,D,N,H], h and c [D,N,H]. x is [T,N,I]; w, r, b,
// h0, c0 as ONNX gives them. Straight from the operator definitions, in double precision.
struct Reference {
  Doubles y, h, c;
};

Reference reference(const Case& k, const std::vector<float>& x, const std::vector<float>& w,
                    const std::vector<float>& r, const std::vector<float>& b, const std::vector<float>& h0,
                    const std::vector<float>& c0, const std::vector<float>& p) {
  const int T = k.steps, N = k.batch, I = k.input, H = k.hidden, D = k.directions(), G = k.gates();
  Reference out{Doubles(std::size_t(T * D * N * H)), Doubles(std::size_t(D * N * H)), Doubles(std::size_t(D * N * H))};
  for (int d = 0; d < D; ++d) {
    const bool reverse = k.direction == "reverse" || d == 1;
    auto W = [&](int row, int i) { return double(w[std::size_t((d * G * H + row) * I + i)]); };
    auto R = [&](int row, int j) { return double(r[std::size_t((d * G * H + row) * H + j)]); };
    auto Wb = [&](int row) { return double(b[std::size_t(d * 2 * G * H + row)]); };
    auto Rb = [&](int row) { return double(b[std::size_t(d * 2 * G * H + G * H + row)]); };
    for (int n = 0; n < N; ++n) {
      Doubles h(static_cast<std::size_t>(H)), c(static_cast<std::size_t>(H));
      for (int j = 0; j < H; ++j) {
        h[std::size_t(j)] = h0[std::size_t((d * N + n) * H + j)];
        c[std::size_t(j)] = c0.empty() ? 0.0 : c0[std::size_t((d * N + n) * H + j)];
      }
      for (int s = 0; s < T; ++s) {
        const int t = reverse ? T - 1 - s : s;
        // xw[g*H+j] = W x_t + Wb, hr[g*H+j] = R h + Rb.
        Doubles xw(static_cast<std::size_t>(G * H)), hr(static_cast<std::size_t>(G * H));
        for (int row = 0; row < G * H; ++row) {
          double sx = Wb(row), sh = Rb(row);
          for (int i = 0; i < I; ++i) sx += W(row, i) * x[std::size_t((t * N + n) * I + i)];
          for (int j = 0; j < H; ++j) sh += R(row, j) * h[std::size_t(j)];
          xw[std::size_t(row)] = sx;
          hr[std::size_t(row)] = sh;
        }
        Doubles next(static_cast<std::size_t>(H));
        if (k.op == "LSTM") {
          for (int j = 0; j < H; ++j) {
            auto at = [&](int g) { return xw[std::size_t(g * H + j)] + hr[std::size_t(g * H + j)]; };
            // Peepholes P[d] = [Pi, Po, Pf]: i and f see c(t-1), o sees c(t).
            auto peep = [&](int g) { return p.empty() ? 0.0 : double(p[std::size_t((d * 3 + g) * H + j)]); };
            const double previous = c[std::size_t(j)];
            const double i = sigmoid(at(0) + peep(0) * previous), f = sigmoid(at(2) + peep(2) * previous);
            c[std::size_t(j)] = f * previous + i * std::tanh(at(3));
            const double o = sigmoid(at(1) + peep(1) * c[std::size_t(j)]);
            next[std::size_t(j)] = o * std::tanh(c[std::size_t(j)]);
          }
        } else if (k.op == "GRU") {
          Doubles z(static_cast<std::size_t>(H)), rg(static_cast<std::size_t>(H));
          for (int j = 0; j < H; ++j) {
            z[std::size_t(j)] = sigmoid(xw[std::size_t(j)] + hr[std::size_t(j)]);
            rg[std::size_t(j)] = sigmoid(xw[std::size_t(H + j)] + hr[std::size_t(H + j)]);
          }
          for (int j = 0; j < H; ++j) {
            double recurrent;
            if (k.linear_before_reset) {
              recurrent = rg[std::size_t(j)] * hr[std::size_t(2 * H + j)];
            } else {
              recurrent = Rb(2 * H + j);
              for (int m = 0; m < H; ++m) recurrent += R(2 * H + j, m) * rg[std::size_t(m)] * h[std::size_t(m)];
            }
            const double cand = std::tanh(xw[std::size_t(2 * H + j)] + recurrent);
            next[std::size_t(j)] = (1 - z[std::size_t(j)]) * cand + z[std::size_t(j)] * h[std::size_t(j)];
          }
        } else {
          for (int j = 0; j < H; ++j) {
            const double v = xw[std::size_t(j)] + hr[std::size_t(j)];
            next[std::size_t(j)] = k.relu ? std::max(v, 0.0) : std::tanh(v);
          }
        }
        h = next;
        for (int j = 0; j < H; ++j) out.y[std::size_t(((t * D + d) * N + n) * H + j)] = h[std::size_t(j)];
      }
      for (int j = 0; j < H; ++j) {
        out.h[std::size_t((d * N + n) * H + j)] = h[std::size_t(j)];
        out.c[std::size_t((d * N + n) * H + j)] = c[std::size_t(j)];
      }
    }
  }
  return out;
}

// `v` of shape `shape` with its axes permuted (to give batch-major expectations).
Doubles permute(const Doubles& v, const Ints& shape, const std::vector<int>& perm) {
  Tensor t(DType::f32, Shape(shape.begin(), shape.end()));
  for (std::size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = float(v[i]);
  Tensor p = t.transposed(perm);
  return Doubles(p.f32().begin(), p.f32().end());
}

// Runs the case through import (and simplify) and the float executor; returns the failures.
void check_case(const Case& k, unsigned seed) {
  SCOPED_TRACE(describe(k));
  const int T = k.steps, N = k.batch, I = k.input, H = k.hidden, D = k.directions(), G = k.gates();
  const std::vector<float> x = random_values(std::size_t(T * N * I), seed, -1.5f, 1.5f);  // time-major
  const std::vector<float> w = random_values(std::size_t(D * G * H * I), seed + 1, -0.8f, 0.8f);
  const std::vector<float> r = random_values(std::size_t(D * G * H * H), seed + 2, -0.8f, 0.8f);
  const std::vector<float> b = k.with_bias ? random_values(std::size_t(D * 2 * G * H), seed + 3, -0.5f, 0.5f)
                                           : std::vector<float>(D * 2 * G * H);
  const std::vector<float> h0 =
      k.with_h0 ? random_values(std::size_t(D * N * H), seed + 4, -0.9f, 0.9f) : std::vector<float>(D * N * H);
  const std::vector<float> c0 = k.with_c0 && k.op == "LSTM" ? random_values(std::size_t(D * N * H), seed + 5, -1.f, 1.f)
                                                            : std::vector<float>(D * N * H);

  const std::vector<float> p = k.peepholes && k.op == "LSTM"
                                   ? random_values(std::size_t(D * 3 * H), seed + 6, -0.7f, 0.7f)
                                   : std::vector<float>{};

  // Batch-major models hold x, h0 and c0 as [N,T,I] and [N,D,H].
  const Ints x_shape = k.batch_major ? Ints{N, T, I} : Ints{T, N, I};
  const Ints state_shape = k.batch_major ? Ints{N, D, H} : Ints{D, N, H};
  auto to_model = [&](const std::vector<float>& v, const Ints& time_major) {
    Doubles d(v.begin(), v.end());
    Doubles p = k.batch_major ? permute(d, time_major, {1, 0, 2}) : d;
    return std::vector<float>(p.begin(), p.end());
  };
  OnnxBuilder builder(14);
  builder.input("x", x_shape);
  std::vector<Tensor> feeds{Tensor::from_floats(Shape(x_shape.begin(), x_shape.end()), to_model(x, {T, N, I}))};
  builder.initializer("w", {D, G * H, I}, w);
  builder.initializer("r", {D, G * H, H}, r);
  std::vector<std::string> inputs{"x", "w", "r", k.with_bias ? "b" : ""};
  if (k.with_bias) builder.initializer("b", {D, 2 * G * H}, b);
  inputs.push_back("");  // sequence_lens
  if (k.with_h0) {
    inputs.push_back("h0");
    if (k.h0_at_run_time) {
      builder.input("h0", state_shape);
      feeds.push_back(Tensor::from_floats(Shape(state_shape.begin(), state_shape.end()), to_model(h0, {D, N, H})));
    } else {
      builder.initializer("h0", state_shape, to_model(h0, {D, N, H}));
    }
  } else {
    inputs.push_back("");
  }
  if (k.op == "LSTM" && k.with_c0) {
    inputs.push_back("c0");
    builder.initializer("c0", state_shape, to_model(c0, {D, N, H}));
  }
  if (!p.empty()) {
    if (!k.with_c0) inputs.push_back("");
    inputs.push_back("p");
    builder.initializer("p", {D, 3 * H}, p);
  }
  while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
  std::vector<std::string> outputs{k.want_y ? "Y" : "", k.want_h ? "Y_h" : ""};
  if (k.op == "LSTM") outputs.push_back(k.want_c ? "Y_c" : "");
  while (!outputs.empty() && outputs.back().empty()) outputs.pop_back();
  auto& node = builder.node(k.op, inputs, outputs, "rec");
  OnnxBuilder::set_int(node, "hidden_size", H);
  set_string(node, "direction", k.direction);
  if (k.batch_major) OnnxBuilder::set_int(node, "layout", 1);
  if (k.op == "GRU") OnnxBuilder::set_int(node, "linear_before_reset", k.linear_before_reset ? 1 : 0);
  if (k.op == "RNN" && k.relu) set_strings(node, "activations", std::vector<std::string>(std::size_t(D), "Relu"));
  for (auto& o : outputs)
    if (!o.empty()) builder.output(o);

  const Reference want = reference(k, x, w, r, b, h0, c0, p);
  std::vector<std::pair<std::string, Doubles>> expected;
  if (k.want_y) expected.emplace_back("Y", k.batch_major ? permute(want.y, {T, D, N, H}, {2, 0, 1, 3}) : want.y);
  if (k.want_h) expected.emplace_back("Y_h", k.batch_major ? permute(want.h, {D, N, H}, {1, 0, 2}) : want.h);
  if (k.want_c && k.op == "LSTM")
    expected.emplace_back("Y_c", k.batch_major ? permute(want.c, {D, N, H}, {1, 0, 2}) : want.c);

  const std::string bytes = builder.bytes();
  for (bool simplified : {false, true}) {
    SCOPED_TRACE(simplified ? "simplified" : "as imported");
    Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "rec.onnx");
    if (simplified) simplify(g);
    const std::vector<Tensor> got = FloatExecutor(g, {.threads = 1}).run(feeds);
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t o = 0; o < got.size(); ++o) {
      ASSERT_EQ(std::size_t(got[o].numel()), expected[o].second.size()) << expected[o].first;
      double worst = 0;
      for (std::size_t i = 0; i < expected[o].second.size(); ++i)
        worst = std::max(worst, std::abs(double(got[o].f32()[i]) - expected[o].second[i]));
      EXPECT_LE(worst, 2e-5) << expected[o].first;
    }
  }
}

TEST(RecurrentImport, RandomizedLayersMatchScalarReference) {
  std::mt19937 rng(13);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto coin = [&] { return pick(0, 1) == 1; };
  const std::vector<std::string> ops{"LSTM", "GRU", "RNN"};
  const std::vector<std::string> directions{"forward", "reverse", "bidirectional"};
  for (int i = 0; i < 90; ++i) {
    Case k;
    k.op = ops[std::size_t(i % 3)];
    k.direction = directions[std::size_t((i / 3) % 3)];
    k.linear_before_reset = (i / 9) % 2 == 1;  // each GRU direction with both reset variants
    k.steps = pick(1, 7);
    k.batch = pick(1, 3);
    k.input = pick(1, 6);
    k.hidden = pick(1, 7);
    k.relu = k.op == "RNN" && coin();
    k.batch_major = coin();
    k.with_bias = coin();
    k.with_h0 = coin();
    k.h0_at_run_time = k.with_h0 && coin();
    k.with_c0 = coin();
    k.peepholes = coin();
    k.want_y = coin();
    k.want_h = coin();
    k.want_c = coin();
    if (!k.want_y && !k.want_h && !(k.want_c && k.op == "LSTM")) k.want_h = true;
    check_case(k, unsigned(100 + 10 * i));
  }
}

TEST(RecurrentImport, OnlyTheOutputsReadAreComputed) {
  // Y_h alone: the layer's own output, no copy of every step; Y with Y_h: gathered from Y.
  for (bool with_y : {false, true}) {
    OnnxBuilder b(14);
    b.input("x", {5, 1, 3});
    b.initializer("w", {2, 12, 3}, random_values(72, 1));
    b.initializer("r", {2, 12, 4}, random_values(96, 2));
    auto& n = b.node("GRU", {"x", "w", "r"}, {with_y ? "Y" : "", "Y_h"}, "rec");
    set_string(n, "direction", "bidirectional");
    if (with_y) b.output("Y");
    b.output("Y_h");
    const std::string bytes = b.bytes();
    Graph g = import_onnx_bytes(bytes.data(), bytes.size(), "rec.onnx");
    simplify(g);
    int grus = 0, gathers = 0;
    for (const Node& node : g.nodes) {
      if (node.op == Op::GRU) {
        ++grus;
        EXPECT_EQ(node.attrs.get_string("output", "Y"), with_y ? "Y" : "Y_h");
      }
      gathers += node.op == Op::Gather;
    }
    EXPECT_EQ(grus, 1);
    EXPECT_EQ(gathers, with_y ? 1 : 0);
  }
}

struct Refusal {
  std::string name;
  std::function<void(OnnxBuilder&, onnx::NodeProto&)> tweak;
  std::string message;
};

void PrintTo(const Refusal& r, std::ostream* os) { *os << r.name; }

class RecurrentRefusal : public ::testing::TestWithParam<Refusal> {};

TEST_P(RecurrentRefusal, IsOneLineNamingTheNode) {
  const Refusal& c = GetParam();
  OnnxBuilder b(14);
  b.input("x", {4, 1, 3});
  b.initializer("w", {1, 8, 3}, random_values(24, 1));
  b.initializer("r", {1, 8, 2}, random_values(16, 2));
  auto& n = b.node("LSTM", {"x", "w", "r"}, {"Y"}, "rec");
  c.tweak(b, n);
  b.output("Y");
  const std::string bytes = b.bytes();
  try {
    import_onnx_bytes(bytes.data(), bytes.size(), "rec.onnx");
    FAIL() << "imported";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("rec.onnx: node 'rec' (LSTM)"), std::string::npos) << what;
    EXPECT_NE(what.find(c.message), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

std::vector<Refusal> refusals() {
  auto input_at = [](onnx::NodeProto& n, int index, const std::string& name) {
    while (n.input_size() <= index) n.add_input("");
    n.set_input(index, name);
  };
  return {
      {"clip", [](OnnxBuilder&, onnx::NodeProto& n) { set_float(n, "clip", 3.0f); }, "clip is not supported"},
      {"input_forget", [](OnnxBuilder&, onnx::NodeProto& n) { OnnxBuilder::set_int(n, "input_forget", 1); },
       "input_forget = 1"},
      {"peepholes_of_wrong_shape",
       [=](OnnxBuilder& b, onnx::NodeProto& n) {
         b.initializer("p", {1, 3}, random_values(3, 3));
         input_at(n, 7, "p");
       },
       "P has shape [1,3], expected [1, 6]"},
      {"activation_alpha",
       [](OnnxBuilder&, onnx::NodeProto& n) {
         auto* a = n.add_attribute();
         a->set_name("activation_alpha");
         a->set_type(onnx::AttributeProto::FLOATS);
         a->add_floats(0.5f);
       },
       "activation_alpha / activation_beta are not supported"},
      {"custom_activations",
       [](OnnxBuilder&, onnx::NodeProto& n) {
         set_strings(n, "activations", {"HardSigmoid", "Tanh", "Tanh"});
       },
       "activations [hardsigmoid, tanh, tanh] are not supported"},
      {"short_sequence",
       [=](OnnxBuilder& b, onnx::NodeProto& n) {
         auto& lens = b.int_initializer("lens", {3});
         lens.set_data_type(onnx::TensorProto::INT32);
         lens.clear_int64_data();
         lens.add_int32_data(3);
         input_at(n, 4, "lens");
       },
       "sequence_lens 3 is not supported (every sequence must have all 4 steps)"},
      {"hidden_size_mismatch", [](OnnxBuilder&, onnx::NodeProto& n) { OnnxBuilder::set_int(n, "hidden_size", 3); },
       "hidden_size 3 does not match R [1,8,2]"},
      {"weights_at_run_time",
       [=](OnnxBuilder& b, onnx::NodeProto& n) {
         b.input("w_live", {1, 8, 3});
         input_at(n, 1, "w_live");
       },
       "must be a constant"},
  };
}

INSTANTIATE_TEST_SUITE_P(Lstm, RecurrentRefusal, ::testing::ValuesIn(refusals()),
                         [](const auto& info) { return info.param.name; });

class TorchRecurrentModel : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchRecurrentModel, MatchesTorchOutputsSavedAtExport) {
  const std::string name = GetParam();
  const auto model = kModels / (name + ".onnx");
  const auto output = kModels / (name + ".output.npy");
  if (!std::filesystem::exists(model) || !std::filesystem::exists(output))
    GTEST_SKIP() << model << " or its outputs absent (models/recurrent/make_recurrent_models.py)";
  Graph g = import_onnx_file(model.string());
  simplify(g);
  // torch's zero initial state (Shape -> Gather -> Unsqueeze -> Concat -> ConstantOfShape on the
  // input) must have folded to constants: the layers read only x at run time.
  int layers = 0;
  for (const Node& n : g.nodes) {
    if (n.op != Op::LSTM && n.op != Op::GRU && n.op != Op::RNN) continue;
    ++layers;
    for (std::size_t i = 1; i < n.inputs.size(); ++i)
      EXPECT_TRUE(g.value(n.inputs[i]).is_constant()) << n.name << " input " << i;
  }
  EXPECT_EQ(layers, name == "lstm" ? 4 : name == "gru" ? 1 : 2);  // lstm: Y and Y_c of 2 layers
  const Tensor input = read_npy((kModels / (name + ".input.npy")).string());
  const Tensor expected = read_npy(output.string());
  const Tensor got = FloatExecutor(g).run({input})[0];
  ASSERT_EQ(got.shape(), expected.shape());
  double worst = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i)
    worst = std::max(worst, double(std::abs(got.f32()[std::size_t(i)] - expected.f32()[std::size_t(i)])));
  EXPECT_LE(worst, 1e-5) << name;
}

INSTANTIATE_TEST_SUITE_P(Recurrent, TorchRecurrentModel, ::testing::Values("lstm", "gru", "rnn"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tinyq
