// recurrent_s8 against the real-valued equations it approximates (ONNX LSTM / GRU / RNN,
// kernels.hpp), computed in double from the same integer parameters read as reals: random
// shapes, directions, outputs, peepholes, initial states, cell clips. What remains is the
// kernel's own fixed-point error (Q12 pre-activations, the interpolated sigmoid table, Q15
// state), which must stay within one output step after every step of the sequence.
#include <cmath>
#include <cstdint>
#include <vector>

#include "test_runtime_reference.hpp"
#include "tinyq/kernels.hpp"

namespace rt = tinyq::rt;
using tinyq_test::encode_multiplier;
using tinyq_test::Random;

namespace {

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

struct Case {
  rt::RecurrentParams p{};
  std::vector<std::int8_t> x, w, r;
  std::vector<std::int32_t> bias_x, bias_h, xm, xs, hm, hs, peephole, h0, c0;
  std::vector<double> s_w, s_r;  // per gate row
  double s_x = 1.0 / 64, s_y = 1.0 / 127;
  double s_h = 1.0 / 32768;  // h's unit: Q15, or a Relu RNN's own scale
};

Case random_case(Random& rng) {
  Case c;
  rt::RecurrentParams& p = c.p;
  p.cell = rng.pick({rt::kCellLstm, rt::kCellGru, rt::kCellRnn});
  p.steps = rng.uniform(1, 7);
  p.batch = rng.uniform(1, 2);
  p.input = rng.uniform(1, 10);
  p.hidden = rng.uniform(1, 12);
  p.directions = rng.uniform(1, 2);
  p.reverse = p.directions == 1 && rng.chance(0.3);
  p.linear_before_reset = p.cell == rt::kCellGru && rng.chance(0.5);
  p.output = p.cell == rt::kCellLstm ? rng.uniform(0, 2) : rng.uniform(0, 1);
  p.input_offset = rng.uniform(-20, 20);
  p.output_offset = rng.uniform(-10, 10);
  const int gates = rt::recurrent_gate_count(p.cell), rows = p.directions * gates * p.hidden;
  const int state = p.directions * p.batch * p.hidden;
  if (p.output == rt::kRecurrentYc) c.s_y = 8.0 / 127;  // c reaches a few units in a few steps
  if (p.cell == rt::kCellRnn && rng.chance(0.5)) {      // Relu: h in [0, 4) at its own scale
    p.relu = 1;
    c.s_h = 4.0 / 32767;
    c.s_y = 4.0 / 255;
    p.output_offset = -128 + rng.uniform(0, 5);
  }
  c.x = rng.int8s(std::size_t(p.steps * p.batch * p.input));
  c.w = rng.weights(std::size_t(rows * p.input));
  c.r = rng.weights(std::size_t(rows * p.hidden));
  for (int j = 0; j < rows; ++j) {
    // Pre-activations of a few units: the gates are neither all saturated nor all linear.
    c.s_w.push_back(rng.real(0.5, 3.0) / (127.0 * 2.0 * std::sqrt(double(p.input))));
    c.s_r.push_back(rng.real(0.5, 3.0) / (127.0 * std::sqrt(double(p.hidden))));
    c.bias_x.push_back(std::int32_t(std::lround(rng.real(-1, 1) / (c.s_w[j] * c.s_x))));
    c.bias_h.push_back(std::int32_t(std::lround(rng.real(-0.5, 0.5) / (c.s_r[j] * c.s_h))));
    // To Q12, or to h's own units (Relu).
    const double target = p.relu ? c.s_h : 1.0 / 4096;
    const auto xm = encode_multiplier(c.s_w[j] * c.s_x / target), hm = encode_multiplier(c.s_r[j] * c.s_h / target);
    c.xm.push_back(xm.multiplier), c.xs.push_back(xm.shift), c.hm.push_back(hm.multiplier), c.hs.push_back(hm.shift);
  }
  if (rng.chance(0.4))
    for (int i = 0; i < state; ++i) c.h0.push_back(rng.uniform(-32767, 32767));
  if (p.cell == rt::kCellLstm) {
    if (rng.chance(0.4))
      for (int i = 0; i < state; ++i) c.c0.push_back(rng.uniform(-(3 << 20), 3 << 20));
    if (rng.chance(0.4))
      for (int i = 0; i < p.directions * 3 * p.hidden; ++i) c.peephole.push_back(rng.uniform(-(1 << 16), 1 << 16));
    if (rng.chance(0.3)) p.cell_clip = rng.uniform(1 << 19, 3 << 20);
  }
  const auto om = encode_multiplier((p.output == rt::kRecurrentYc ? 1.0 / 1048576 : c.s_h) / c.s_y);
  p.output_multiplier = om.multiplier, p.output_shift = om.shift;
  p.bias_x = c.bias_x.data(), p.bias_h = c.bias_h.data();
  p.x_requant = {c.xm.data(), c.xs.data(), rows};
  p.h_requant = {c.hm.data(), c.hs.data(), rows};
  p.peephole = c.peephole.empty() ? nullptr : c.peephole.data();
  p.initial_h = c.h0.empty() ? nullptr : c.h0.data();
  p.initial_c = c.c0.empty() ? nullptr : c.c0.data();
  return c;
}

// ONNX's equations in double on the parameters' real values; the output as reals.
std::vector<double> reference(const Case& c) {
  const rt::RecurrentParams& p = c.p;
  const int H = p.hidden, gates = rt::recurrent_gate_count(p.cell), rows = gates * H;
  const int state = p.directions * p.batch * H;
  std::vector<double> out(std::size_t(p.output == rt::kRecurrentY ? p.steps * state : state));
  for (int d = 0; d < p.directions; ++d)
    for (int n = 0; n < p.batch; ++n) {
      const int s0 = (d * p.batch + n) * H;
      const std::size_t hs = static_cast<std::size_t>(H), rs = static_cast<std::size_t>(rows);
      std::vector<double> h(hs), cell(hs), gx(rs), gh(rs);
      for (int j = 0; j < H; ++j) {
        h[std::size_t(j)] = c.h0.empty() ? 0 : c.h0[std::size_t(s0 + j)] * c.s_h;
        cell[std::size_t(j)] = c.c0.empty() ? 0 : c.c0[std::size_t(s0 + j)] / 1048576.0;
      }
      auto project = [&](const std::vector<std::int8_t>& m, const std::vector<double>& v, int cols, int row) {
        double s = 0;
        for (int k = 0; k < cols; ++k) s += m[std::size_t((d * rows + row) * cols + k)] * v[std::size_t(k)];
        return s;
      };
      for (int step = 0; step < p.steps; ++step) {
        const int t = (p.reverse || d == 1) ? p.steps - 1 - step : step;
        std::vector<double> xv(static_cast<std::size_t>(p.input));
        for (int i = 0; i < p.input; ++i)
          xv[std::size_t(i)] = c.s_x * (c.x[std::size_t((t * p.batch + n) * p.input + i)] + p.input_offset);
        for (int j = 0; j < rows; ++j) {
          const std::size_t k = std::size_t(d * rows + j);
          gx[std::size_t(j)] = c.s_w[k] * (c.s_x * c.bias_x[k] + project(c.w, xv, p.input, j));
          gh[std::size_t(j)] = c.s_r[k] * (c.bias_h[k] * c.s_h + project(c.r, h, H, j));
        }
        if (p.cell == rt::kCellLstm) {
          for (int j = 0; j < H; ++j) {
            const std::size_t u = std::size_t(j);
            auto peep = [&](int g) {
              return c.peephole.empty() ? 0.0 : c.peephole[std::size_t(d * 3 * H + g * H + j)] / 65536.0;
            };
            const double i = sigmoid(gx[u] + gh[u] + peep(0) * cell[u]);
            const double f = sigmoid(gx[u + 2 * H] + gh[u + 2 * H] + peep(2) * cell[u]);
            const double g = std::tanh(gx[u + 3 * H] + gh[u + 3 * H]);
            cell[u] = f * cell[u] + i * g;
            if (p.cell_clip > 0) cell[u] = std::clamp(cell[u], -p.cell_clip / 1048576.0, p.cell_clip / 1048576.0);
            const double o = sigmoid(gx[u + H] + gh[u + H] + peep(1) * cell[u]);
            h[u] = o * std::tanh(cell[u]);
          }
        } else if (p.cell == rt::kCellGru) {
          std::vector<double> reset(hs), rh(hs);
          for (int j = 0; j < H; ++j) reset[std::size_t(j)] = sigmoid(gx[std::size_t(H + j)] + gh[std::size_t(H + j)]);
          for (int j = 0; j < H; ++j) rh[std::size_t(j)] = reset[std::size_t(j)] * h[std::size_t(j)];
          std::vector<double> next(hs);
          for (int j = 0; j < H; ++j) {
            const std::size_t u = std::size_t(j), k = std::size_t(d * rows + 2 * H + j);
            const double z = sigmoid(gx[u] + gh[u]);
            const double recurrent = p.linear_before_reset
                                         ? reset[u] * gh[u + 2 * H]
                                         : c.s_r[k] * (c.bias_h[k] / 32768.0 + project(c.r, rh, H, 2 * H + j));
            const double candidate = std::tanh(gx[u + 2 * H] + recurrent);
            next[u] = (1 - z) * candidate + z * h[u];
          }
          h = next;
        } else {
          for (int j = 0; j < H; ++j) {
            const double v = gx[std::size_t(j)] + gh[std::size_t(j)];
            h[std::size_t(j)] = p.relu ? std::clamp(v, 0.0, 32767 * c.s_h) : std::tanh(v);
          }
        }
        if (p.output == rt::kRecurrentY)
          for (int j = 0; j < H; ++j)
            out[std::size_t(((t * p.directions + d) * p.batch + n) * H + j)] = h[std::size_t(j)];
      }
      if (p.output != rt::kRecurrentY)
        for (int j = 0; j < H; ++j)
          out[std::size_t(s0 + j)] = p.output == rt::kRecurrentYc ? cell[std::size_t(j)] : h[std::size_t(j)];
    }
  return out;
}

TEST(RuntimeRecurrent, WithinOneOutputStepOfTheRealEquationsOnRandomLayers) {
  Random rng(1204);
  double worst = 0, total = 0;
  std::int64_t values = 0;
  int cells[3] = {0, 0, 0}, relu = 0;
  for (int trial = 0; trial < 600; ++trial) {
    Case c = random_case(rng);
    const rt::RecurrentParams& p = c.p;
    const int state = p.directions * p.batch * p.hidden;
    std::vector<std::int8_t> got(std::size_t(p.output == rt::kRecurrentY ? p.steps * state : state));
    std::vector<std::int32_t> scratch(rt::recurrent_s8_scratch_bytes(p) / 4);
    rt::recurrent_s8(p, c.x.data(), c.w.data(), c.r.data(), got.data(), scratch.data());
    const std::vector<double> want = reference(c);
    ++cells[p.cell];
    relu += p.relu;
    for (std::size_t i = 0; i < got.size(); ++i) {
      // In output steps; a saturated int8 output is compared with the saturated reference.
      const double expected = std::clamp(want[i] / c.s_y + p.output_offset, -128.0, 127.0);
      const double error = std::abs((got[i] - expected));
      ASSERT_LE(error, 1.0) << "trial " << trial << " cell " << p.cell << " output " << p.output << " value " << i
                            << ": got " << int(got[i]) << ", real " << expected;
      worst = std::max(worst, error), total += error, ++values;
    }
  }
  // Rounding alone gives a mean of 0.25 steps: the fixed-point error must add little to it.
  EXPECT_LT(total / double(values), 0.3) << "worst " << worst;
  for (int n : cells) EXPECT_GT(n, 100);
  EXPECT_GT(relu, 50);
}

TEST(RuntimeRecurrent, SaturatedGatesGiveTheirLimits) {
  // One LSTM unit with huge positive pre-activations: i = f = o = 1, g = 1, so c grows by 1
  // per step (g is 32767/32768 at most) and h = tanh(c); with a clip of 1.5 c stops there.
  rt::RecurrentParams p{};
  p.cell = rt::kCellLstm;
  p.steps = 3, p.batch = 1, p.input = 1, p.hidden = 1, p.directions = 1;
  p.output = rt::kRecurrentYc;
  std::vector<std::int8_t> x(4, 100), w(4, 127), r(4, 0);
  std::vector<std::int32_t> bx(4, 0), bh(4, 0), m(4, 1 << 30), s(4, 10);
  p.bias_x = bx.data(), p.bias_h = bh.data();
  p.x_requant = {m.data(), s.data(), 4};
  p.h_requant = {m.data(), s.data(), 4};
  const auto om = encode_multiplier(1.0 / 1048576 / (8.0 / 127));  // c in steps of 8/127
  p.output_multiplier = om.multiplier, p.output_shift = om.shift;
  std::int8_t out = 0;
  std::vector<std::int32_t> scratch(rt::recurrent_s8_scratch_bytes(p) / 4);
  rt::recurrent_s8(p, x.data(), w.data(), r.data(), &out, scratch.data());
  EXPECT_EQ(out, std::lround(3.0 * 127 / 8));  // c = 3
  p.cell_clip = 3 << 19;                       // 1.5
  rt::recurrent_s8(p, x.data(), w.data(), r.data(), &out, scratch.data());
  EXPECT_EQ(out, std::lround(1.5 * 127 / 8));
}

}  // namespace
