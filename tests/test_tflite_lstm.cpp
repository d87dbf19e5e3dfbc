// UNIDIRECTIONAL_SEQUENCE_LSTM: small float (and hybrid) models built here, run by the float
// executor, against a loop written from TFLite's LSTM equations (gates i, f, c, o, one bias
// per gate, peepholes on the previous cell state for i and f and on the new one for o, the
// cell state clipped when cell_clip > 0), independent of the importer's stacking of the
// weights into the IR's ONNX order. Refused features are checked by their messages.
#include <cstdio>
#include <functional>

#include "exec/input_samples.hpp"
#include "quant/layer_error.hpp"
#include "quant/quantizer.hpp"
#include "test_tflite_reference.hpp"

namespace {

using namespace tinyq_tflite_test;
using tinyq::tflite::BuiltinOp;

struct Lstm {
  int batch = 2, steps = 5, input = 3, cells = 4;
  bool time_major = false, peepholes = false;
  float cell_clip = 0.0f;
  // Per TFLite gate (i, f, c, o): input weights [cells, input], recurrent [cells, cells], bias.
  std::vector<float> w[4], r[4], b[4];
  std::vector<float> p[3];  // peepholes cell_to_{input, forget, output}
  explicit Lstm(unsigned seed, float scale = 0.6f, int inputs = 3, int cell_count = 4)
      : input(inputs), cells(cell_count) {
    for (int g = 0; g < 4; ++g) {
      w[g] = random_values(std::size_t(cells * input), seed + 10 * unsigned(g), -scale, scale);
      r[g] = random_values(std::size_t(cells * cells), seed + 10 * unsigned(g) + 1, -scale, scale);
      b[g] = random_values(std::size_t(cells), seed + 10 * unsigned(g) + 2, -0.3f, 0.3f);
    }
    for (int k = 0; k < 3; ++k) p[k] = random_values(std::size_t(cells), seed + 100 + unsigned(k), -0.5f, 0.5f);
  }
  Dims x_dims() const { return time_major ? Dims{steps, batch, input} : Dims{batch, steps, input}; }
  Dims y_dims() const { return time_major ? Dims{steps, batch, cells} : Dims{batch, steps, cells}; }
  tinyq::Shape x_shape() const {
    auto d = x_dims();
    return {d.begin(), d.end()};
  }
  std::size_t x_size() const { return std::size_t(batch * steps * input); }
  // Index of (batch n, step t, feature k) in a sequence tensor with `features` per step.
  std::size_t at(int n, int t, int k, int features) const {
    return time_major ? std::size_t((t * batch + n) * features + k) : std::size_t((n * steps + t) * features + k);
  }
};

// Changes made to the 24 inputs before the operator is written (refusal tests).
struct Edits {
  fb::ActivationFunctionType activation = fb::ActivationFunctionType::TANH;
  bool diagonal = false;
  std::function<void(TfliteBuilder&, std::vector<int>&)> inputs;
  bool int8_weights = false;  // hybrid: weights stored int8 with one scale per tensor
  bool state_variable = true;
  int input_count = 24;
  bool dynamic_batch = false;  // shape_signature -1 on the batch, as TensorFlow writes it
  // Operators after the LSTM, given its output tensor; returns the model's output.
  std::function<int(TfliteBuilder&, int)> after;
};

float int8_scale(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::abs(x));
  return m / 127.0f;
}
std::vector<std::int8_t> to_int8(const std::vector<float>& v, float scale) {
  std::vector<std::int8_t> q(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) q[i] = std::int8_t(std::lround(v[i] / scale));
  return q;
}
std::vector<float> from_int8(const std::vector<float>& v) {
  const float s = int8_scale(v);
  std::vector<float> out;
  for (auto q : to_int8(v, s)) out.push_back(float(q) * s);
  return out;
}

std::string build(const Lstm& m, const Edits& e = {}) {
  TfliteBuilder b;
  Dims xs, ys;  // signatures
  if (e.dynamic_batch) {
    xs = m.x_dims(), ys = m.y_dims();
    xs[m.time_major ? 1 : 0] = ys[m.time_major ? 1 : 0] = -1;
  }
  int x = b.input("x", m.x_dims(), xs), y = b.activation("y", m.y_dims(), ys);
  std::vector<int> in(std::size_t(e.input_count), -1);
  in[0] = x;
  static const char* gate[4] = {"input", "forget", "cell", "output"};
  auto weights = [&](const std::string& name, const Dims& dims, const std::vector<float>& v) {
    if (!e.int8_weights) return b.constant(name, dims, v);
    const float s = int8_scale(v);
    return b.int8_constant(name, dims, to_int8(v, s), Quant{{s}, {0}, 0});
  };
  for (int g = 0; g < 4; ++g) {
    in[std::size_t(1 + g)] = weights(std::string("input_to_") + gate[g], {m.cells, m.input}, m.w[g]);
    in[std::size_t(5 + g)] = weights(std::string("recurrent_to_") + gate[g], {m.cells, m.cells}, m.r[g]);
    in[std::size_t(12 + g)] = b.constant(std::string(gate[g]) + "_bias", {m.cells}, m.b[g]);
  }
  if (m.peepholes)
    for (int k = 0; k < 3; ++k)
      in[std::size_t(9 + k)] = b.constant(std::string("cell_to_") + gate[k == 2 ? 3 : k], {m.cells}, m.p[k]);
  in[18] = b.tensor("output_state", fb::TensorType::FLOAT32, {m.batch, m.cells}, {}, nullptr, {}, e.state_variable);
  in[19] = b.tensor("cell_state", fb::TensorType::FLOAT32, {m.batch, m.cells}, {}, nullptr, {}, e.state_variable);
  if (!e.state_variable) {  // ordinary graph inputs instead
    b.extra_input(in[18]);
    b.extra_input(in[19]);
  }
  if (e.inputs) e.inputs(b, in);
  b.op(BuiltinOp::UnidirectionalSequenceLstm, in, {y}, fb::BuiltinOptions::UnidirectionalSequenceLSTMOptions,
       fb::CreateUnidirectionalSequenceLSTMOptions(b.fbb(), e.activation, m.cell_clip, 0.0f, m.time_major, false,
                                                   e.diagonal)
           .Union());
  b.output(e.after ? e.after(b, y) : y);
  return b.finish();
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// TFLite's equations, gate by gate, from a zero state.
std::vector<float> reference(const Lstm& m, const std::vector<float>& x) {
  const int H = m.cells, I = m.input;
  std::vector<float> y(std::size_t(m.batch * m.steps * H));
  for (int n = 0; n < m.batch; ++n) {
    std::vector<double> h(std::size_t(H), 0.0), c(std::size_t(H), 0.0);
    for (int t = 0; t < m.steps; ++t) {
      auto pre = [&](int g, int j) {
        double s = m.b[g][std::size_t(j)];
        for (int k = 0; k < I; ++k) s += double(m.w[g][std::size_t(j * I + k)]) * x[m.at(n, t, k, I)];
        for (int k = 0; k < H; ++k) s += double(m.r[g][std::size_t(j * H + k)]) * h[std::size_t(k)];
        return s;
      };
      std::vector<double> h_new(static_cast<std::size_t>(H));
      for (int j = 0; j < H; ++j) {
        const auto J = std::size_t(j);
        const double pi = m.peepholes ? m.p[0][J] : 0.0, pf = m.peepholes ? m.p[1][J] : 0.0,
                     po = m.peepholes ? m.p[2][J] : 0.0;
        const double i = sigmoid(pre(0, j) + pi * c[J]);
        const double f = sigmoid(pre(1, j) + pf * c[J]);
        const double g = std::tanh(pre(2, j));
        double cell = f * c[J] + i * g;
        if (m.cell_clip > 0) cell = std::clamp(cell, -double(m.cell_clip), double(m.cell_clip));
        const double o = sigmoid(pre(3, j) + po * cell);
        c[J] = cell;
        h_new[J] = o * std::tanh(cell);
      }
      h = h_new;
      for (int j = 0; j < H; ++j) y[m.at(n, t, j, H)] = float(h[std::size_t(j)]);
    }
  }
  return y;
}

void expect_matches_reference(const Lstm& m, unsigned seed) {
  const auto x = random_values(m.x_size(), seed, -1.5f, 1.5f);
  expect_near(run(import(build(m)), x, m.x_shape()), reference(m, x), 1e-5f);
}

TEST(TfliteLstm, BatchMajor) { expect_matches_reference(Lstm(1), 2); }

TEST(TfliteLstm, TimeMajor) {
  Lstm m(3);
  m.time_major = true;
  m.batch = 3;  // the weights do not depend on the batch
  expect_matches_reference(m, 4);
}

TEST(TfliteLstm, PeepholesBatchAndTimeMajor) {
  for (bool time_major : {false, true}) {
    SCOPED_TRACE(time_major ? "time-major" : "batch-major");
    Lstm m(5);
    m.peepholes = true;
    m.time_major = time_major;
    expect_matches_reference(m, 6);
  }
}

// Keras LSTMs converted by TensorFlow carry cell_clip = 10; a small clip with large weights
// shows it is applied (and where: before the output gate's peephole sees the cell).
TEST(TfliteLstm, CellClip) {
  Lstm m(7, 2.0f);
  m.peepholes = true;
  m.steps = 8;
  m.cell_clip = 0.4f;
  const auto x = random_values(m.x_size(), 8, -1.5f, 1.5f);
  const auto got = run(import(build(m)), x, m.x_shape());
  expect_near(got, reference(m, x), 1e-5f);
  Lstm unclipped = m;
  unclipped.cell_clip = 0.0f;
  const auto free = reference(unclipped, x);
  float largest = 0;
  for (std::size_t i = 0; i < got.size(); ++i) largest = std::max(largest, std::abs(got[i] - free[i]));
  EXPECT_GT(largest, 0.05f) << "the clip never bit: the test would pass without it";
}

// The imported LSTM quantizes like an ONNX one (rt::recurrent_s8: int8 weights, Q15 h, Q20 c,
// peepholes and cell_clip kept): close to float on held-out sequences.
TEST(TfliteLstm, QuantizesToInt8CloseToFloat) {
  Lstm m(21, 1.0f);
  m.peepholes = true;
  m.steps = 8;
  m.cell_clip = 1.5f;
  const tinyq::Graph g = import(build(m));
  auto samples = [&](std::int64_t count, unsigned seed) {
    const tinyq::Shape per = m.x_shape();
    return tinyq::Tensor::from_floats({count * per[0], per[1], per[2]},
                                      random_values(std::size_t(count) * m.x_size(), seed, -1.5f, 1.5f));
  };
  tinyq::QuantizeOptions options;
  options.preset = "best";
  options.threads = 1;
  const tinyq::QGraph q = tinyq::quantize(g, tinyq::InputSamples(samples(128, 31)), options);
  int recurrent = 0;
  for (const tinyq::QNode& node : q.nodes) recurrent += node.kernel == tinyq::QKernel::Recurrent;
  EXPECT_EQ(recurrent, 1);
  const double sqnr = tinyq::output_sqnr_db(q, tinyq::InputSamples(samples(32, 32)), 1);
  std::printf("TFLite LSTM int8 output SQNR: %.2f dB\n", sqnr);
  EXPECT_GE(sqnr, 30.0);
}

// Hybrid: int8 weights, float activations; tinyq computes with the dequantized weights.
TEST(TfliteLstm, HybridInt8Weights) {
  Lstm m(9);
  Edits e;
  e.int8_weights = true;
  const auto x = random_values(m.x_size(), 10, -1.5f, 1.5f);
  const auto got = run(import(build(m, e)), x, m.x_shape());
  Lstm dequantized = m;
  for (int g = 0; g < 4; ++g) {
    dequantized.w[g] = from_int8(m.w[g]);
    dequantized.r[g] = from_int8(m.r[g]);
  }
  expect_near(got, reference(dequantized, x), 1e-5f);
}

// Twenty inputs (files written before layer normalization existed) are the same operator.
TEST(TfliteLstm, TwentyInputs) {
  Lstm m(11);
  Edits e;
  e.input_count = 20;
  const auto x = random_values(m.x_size(), 12, -1.5f, 1.5f);
  expect_near(run(import(build(m, e)), x, m.x_shape()), reference(m, x), 1e-5f);
}

// What TensorFlow makes of a Keras LSTM(return_sequences=False) and a Dense head: batch
// dynamic, cell_clip 10, the last step taken by STRIDED_SLICE (shrinking the time axis).
TEST(TfliteLstm, ConvertedKerasShape) {
  Lstm m(15);
  m.batch = 1;
  m.cell_clip = 10.0f;
  const int outputs = 3;
  const auto fc_w = random_values(std::size_t(outputs * m.cells), 16), fc_b = random_values(std::size_t(outputs), 17);
  Edits e;
  e.dynamic_batch = true;
  e.after = [&](TfliteBuilder& b, int y) {
    int last = b.activation("last", {1, m.cells}, {-1, m.cells}),
        out = b.activation("out", {1, outputs}, {-1, outputs});
    b.op(BuiltinOp::StridedSlice,
         {y, b.int32_constant("begin", {3}, {0, -1, 0}), b.int32_constant("end", {3}, {0, 0, 0}),
          b.int32_constant("strides", {3}, {1, 1, 1})},
         {last}, fb::BuiltinOptions::StridedSliceOptions,
         fb::CreateStridedSliceOptions(b.fbb(), 5, 5, 0, 0, 2).Union());
    b.op(BuiltinOp::FullyConnected,
         {last, b.constant("fc_w", {outputs, m.cells}, fc_w), b.constant("fc_b", {outputs}, fc_b)}, {out});
    return out;
  };
  const auto x = random_values(m.x_size(), 18, -1.5f, 1.5f);
  const auto seq = reference(m, x);
  std::vector<float> want(static_cast<std::size_t>(outputs));
  for (int o = 0; o < outputs; ++o) {
    double v = fc_b[std::size_t(o)];
    for (int j = 0; j < m.cells; ++j)
      v += double(fc_w[std::size_t(o * m.cells + j)]) * seq[m.at(0, m.steps - 1, j, m.cells)];
    want[std::size_t(o)] = float(v);
  }
  expect_near(run(import(build(m, e)), x, m.x_shape()), want, 1e-5f);
}

// Two LSTMs in a row: the second reads the first's sequence (its own weights and state, and
// constants named after its own input, so nothing collides).
TEST(TfliteLstm, Stacked) {
  const Lstm first(19), second(23, 0.6f, 4, 3);
  Edits e;
  e.after = [&](TfliteBuilder& b, int y) {
    std::vector<int> in(20, -1);
    in[0] = y;
    static const char *w[4] = {"w2_i", "w2_f", "w2_c", "w2_o"}, *r[4] = {"r2_i", "r2_f", "r2_c", "r2_o"},
                      *bias[4] = {"b2_i", "b2_f", "b2_c", "b2_o"};
    for (int g = 0; g < 4; ++g) {
      in[std::size_t(1 + g)] = b.constant(w[g], {3, 4}, second.w[g]);
      in[std::size_t(5 + g)] = b.constant(r[g], {3, 3}, second.r[g]);
      in[std::size_t(12 + g)] = b.constant(bias[g], {3}, second.b[g]);
    }
    in[18] = b.tensor("h2", fb::TensorType::FLOAT32, {2, 3}, {}, nullptr, {}, true);
    in[19] = b.tensor("c2", fb::TensorType::FLOAT32, {2, 3}, {}, nullptr, {}, true);
    int y2 = b.activation("y2", {2, 5, 3});
    b.op(BuiltinOp::UnidirectionalSequenceLstm, in, {y2}, fb::BuiltinOptions::UnidirectionalSequenceLSTMOptions,
         fb::CreateUnidirectionalSequenceLSTMOptions(b.fbb(), fb::ActivationFunctionType::TANH).Union());
    return y2;
  };
  const auto x = random_values(first.x_size(), 24, -1.5f, 1.5f);
  expect_near(run(import(build(first, e)), x, first.x_shape()), reference(second, reference(first, x)), 1e-5f);
}

void expect_refused(const Edits& e, const std::string& what, const Lstm& m = Lstm(13)) {
  SCOPED_TRACE(what);
  try {
    import(build(m, e));
    FAIL() << "imported";
  } catch (const tinyq::Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("operator 0 (UNIDIRECTIONAL_SEQUENCE_LSTM)"), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(TfliteLstm, RefusedFeaturesAreNamed) {
  const Lstm m(13);
  Edits cifg;
  cifg.inputs = [](TfliteBuilder&, std::vector<int>& in) { in[1] = in[5] = in[12] = -1; };
  expect_refused(cifg, "coupled input and forget gates (CIFG");
  Edits projection;
  projection.inputs = [&](TfliteBuilder& b, std::vector<int>& in) {
    in[16] = b.constant("projection", {m.cells, m.cells}, random_values(std::size_t(m.cells * m.cells), 1));
  };
  expect_refused(projection, "projection");
  Edits layer_norm;
  layer_norm.inputs = [&](TfliteBuilder& b, std::vector<int>& in) {
    in[21] = b.constant("forget_norm", {m.cells}, std::vector<float>(std::size_t(m.cells), 1.0f));
  };
  expect_refused(layer_norm, "layer normalization (input 21)");
  Edits relu;
  relu.activation = fb::ActivationFunctionType::RELU;
  expect_refused(relu, "fused activation RELU is not supported");
  Edits diagonal;
  diagonal.diagonal = true;
  expect_refused(diagonal, "diagonal recurrent weights");
  Edits partial_peepholes;
  partial_peepholes.inputs = [&](TfliteBuilder& b, std::vector<int>& in) {
    in[10] = b.constant("cell_to_forget", {m.cells}, m.p[1]);
  };
  expect_refused(partial_peepholes, "1 of the 3 peephole weights");
  Edits plain_state;
  plain_state.state_variable = false;
  expect_refused(plain_state, "input 18 (output_state) 'output_state' must be a variable tensor");
  Edits wrong_shape;
  wrong_shape.inputs = [&](TfliteBuilder& b, std::vector<int>& in) {
    in[3] = b.constant("cell_w", {m.cells + 1, m.input}, random_values(std::size_t((m.cells + 1) * m.input), 2));
  };
  expect_refused(wrong_shape, "input 3 (input weights) has shape [5,3], expected [4,3]");
}

// TFLite refuses a variable tensor with data (its variables start at zero), and so does tinyq,
// naming the tensor; a variable read by another operator is refused by that operator.
TEST(TfliteLstm, VariableTensorMisuse) {
  {
    TfliteBuilder b;
    int x = b.input("x", {1, 4}), y = b.activation("y", {1, 4});
    int v =
        b.tensor("state", fb::TensorType::FLOAT32, {1, 4}, bytes_of(std::vector<float>{1, 2, 3, 4}), nullptr, {}, true);
    b.op(BuiltinOp::Add, {x, v}, {y});
    b.output(y);
    try {
      import(b.finish());
      FAIL() << "imported";
    } catch (const tinyq::Error& e) {
      EXPECT_NE(std::string(e.what()).find("tensor 2 'state': is a variable tensor with data"), std::string::npos)
          << e.what();
    }
  }
  TfliteBuilder b;
  int x = b.input("x", {1, 4}), y = b.activation("y", {1, 4});
  int v = b.tensor("state", fb::TensorType::FLOAT32, {1, 4}, {}, nullptr, {}, true);
  b.op(BuiltinOp::Add, {x, v}, {y});
  b.output(y);
  try {
    import(b.finish());
    FAIL() << "imported";
  } catch (const tinyq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("operator 0 (ADD): input tensor 2 'state' is a variable tensor"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
