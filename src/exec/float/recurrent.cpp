// Per step, the input and the recurrent projections are one GEMM each over the batch. (The
// input projections of all steps could be one GEMM, but its scratch grows with the sequence:
// T * N * 4H floats, gigabytes for a hostile file's 10^6 steps.) The gate
// nonlinearities follow ONNX's operator definitions literally, since the conformance data
// and exporters (PyTorch's nn.LSTM / nn.GRU / nn.RNN) are computed that way.
#include "exec/float/recurrent.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "exec/float/kernels.hpp"

namespace tinyq::fk {

namespace {

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

int gates_of(RecurrentCell cell) {
  switch (cell) {
    case RecurrentCell::LSTM: return 4;
    case RecurrentCell::GRU: return 3;
    default: return 1;
  }
}

const Activation kLinear{-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()};

}  // namespace

std::size_t recurrent_scratch_floats(const RecurrentSpec& s) {
  const std::size_t rows = std::size_t(gates_of(s.cell)) * std::size_t(s.hidden);
  const std::size_t state = std::size_t(s.batch) * std::size_t(s.hidden);
  // Input and recurrent projections of one step, GRU's r.h and R_h*(r.h).
  return 2 * std::size_t(s.batch) * rows + 2 * state;
}

void recurrent_direction(const RecurrentSpec& s, const RecurrentWeights& p, const float* x, bool reverse, float* h,
                         float* c, float* y, std::size_t y_step_stride, float* scratch) {
  const int H = s.hidden, N = s.batch;
  const int rows = gates_of(s.cell) * H;
  float* gx = scratch;                                  // [N, G*H]
  float* gh = gx + std::size_t(N) * std::size_t(rows);  // [N, G*H]
  float* rh = gh + std::size_t(N) * std::size_t(rows);  // [N, H] GRU's r.h
  float* cand = rh + std::size_t(N) * std::size_t(H);   // [N, H] its projection
  const float* wb = p.b;
  const float* rb = p.b + rows;
  for (int step = 0; step < s.steps; ++step) {
    const int t = reverse ? s.steps - 1 - step : step;
    const float* gxt = gx;
    dense(N, s.input, rows, x + std::size_t(t) * std::size_t(N) * std::size_t(s.input), p.w, wb, gx, kLinear);
    switch (s.cell) {
      case RecurrentCell::LSTM: {
        dense(N, H, rows, h, p.r, rb, gh, kLinear);
        for (int n = 0; n < N; ++n) {
          const float* a = gxt + std::size_t(n) * std::size_t(rows);
          const float* b = gh + std::size_t(n) * std::size_t(rows);
          float* hn = h + std::size_t(n) * std::size_t(H);
          float* cn = c + std::size_t(n) * std::size_t(H);
          for (int j = 0; j < H; ++j) {
            // Peepholes: i and f see the previous cell state, o the new one.
            const float pi = p.p ? p.p[j] : 0.0f, po = p.p ? p.p[H + j] : 0.0f, pf = p.p ? p.p[2 * H + j] : 0.0f;
            const float i = sigmoid(a[j] + b[j] + pi * cn[j]);
            const float f = sigmoid(a[2 * H + j] + b[2 * H + j] + pf * cn[j]);
            const float g = std::tanh(a[3 * H + j] + b[3 * H + j]);
            cn[j] = f * cn[j] + i * g;
            if (s.cell_clip > 0.0f) cn[j] = std::clamp(cn[j], -s.cell_clip, s.cell_clip);
            const float o = sigmoid(a[H + j] + b[H + j] + po * cn[j]);
            hn[j] = o * std::tanh(cn[j]);
          }
        }
        break;
      }
      case RecurrentCell::GRU: {
        // z and r see R*h + Rb; the candidate sees r * (R_h*h + Rb_h) with linear_before_reset,
        // else R_h*(r.h) + Rb_h, computed into `cand` [N,H]. gh's row stride is that of the
        // projection made: 3H with linear_before_reset, 2H (z and r only) without.
        const int projected = s.linear_before_reset ? rows : 2 * H;
        dense(N, H, projected, h, p.r, rb, gh, kLinear);
        if (!s.linear_before_reset) {
          for (int n = 0; n < N; ++n)
            for (int j = 0; j < H; ++j) {
              const std::size_t k = std::size_t(n) * std::size_t(H) + std::size_t(j);
              const float r = sigmoid(gxt[std::size_t(n) * std::size_t(rows) + std::size_t(H + j)] +
                                      gh[std::size_t(n) * std::size_t(projected) + std::size_t(H + j)]);
              rh[k] = r * h[k];
            }
          dense(N, H, H, rh, p.r + std::size_t(2 * H) * std::size_t(H), rb + 2 * H, cand, kLinear);
        }
        for (int n = 0; n < N; ++n) {
          const float* a = gxt + std::size_t(n) * std::size_t(rows);
          const float* b = gh + std::size_t(n) * std::size_t(projected);
          const float* cn = cand + std::size_t(n) * std::size_t(H);
          float* hn = h + std::size_t(n) * std::size_t(H);
          for (int j = 0; j < H; ++j) {
            const float z = sigmoid(a[j] + b[j]);
            const float r = sigmoid(a[H + j] + b[H + j]);
            const float g = std::tanh(a[2 * H + j] + (s.linear_before_reset ? r * b[2 * H + j] : cn[j]));
            hn[j] = (1.0f - z) * g + z * hn[j];
          }
        }
        break;
      }
      case RecurrentCell::RNN: {
        dense(N, H, H, h, p.r, rb, gh, kLinear);
        for (std::size_t k = 0; k < std::size_t(N) * std::size_t(H); ++k) {
          const float v = gxt[k] + gh[k];
          h[k] = s.relu ? std::max(v, 0.0f) : std::tanh(v);
        }
        break;
      }
    }
    if (y != nullptr)
      std::memcpy(y + std::size_t(t) * y_step_stride, h, std::size_t(N) * std::size_t(H) * sizeof(float));
  }
}

}  // namespace tinyq::fk
