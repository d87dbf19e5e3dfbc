#pragma once
// The recurrent ops (Op::LSTM, Op::GRU, Op::RNN; semantics in op.hpp): their dimensions,
// read from a node's inputs and checked once, for shape inference, the float executor and
// model statistics.
#include <cstdint>

#include "ir/graph.hpp"

namespace tinyq {

bool is_recurrent(Op op);
// Gate blocks per direction: LSTM 4 (i,o,f,c), GRU 3 (z,r,h), RNN 1.
int recurrent_gates(Op op);

struct RecurrentDims {
  std::int64_t steps;       // T
  std::int64_t batch;       // N
  std::int64_t input;       // I
  std::int64_t hidden;      // H
  std::int64_t directions;  // D
  int gates;                // G
};

// Checks the node's inputs against each other and its attributes; throws tinyq::Error naming
// the node.
RecurrentDims recurrent_dims(const Graph& graph, const Node& node);
// [T,D,N,H] for output "Y", [D,N,H] for "Y_h" and "Y_c".
Shape recurrent_output_shape(const Graph& graph, const Node& node);
// Multiply-accumulates of one run (input and recurrent projections of every step).
std::int64_t recurrent_macs(const RecurrentDims& d);

}  // namespace tinyq
