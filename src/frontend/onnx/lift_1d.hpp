#pragma once
// Internal: 1-D layers run as 2-D ones. An ONNX (N,C,L) activation that feeds Conv,
// ConvTranspose, MaxPool, AveragePool, global pooling, BatchNormalization or Pad is "lifted"
// to the stored NHWC tensor (N,1,L,C), i.e. the NCHW tensor (N,C,1,L), and the node is
// converted as its 2-D twin (kernel 1 x k, pads [0,b,0,e], weights [O,C/g,1,K]). Elementwise
// ops and Concat on lifted values stay lifted, so a whole 1-D stack is 2-D NHWC inside tinyq
// (BatchNorm folding, activation fusion and Pad folding apply, the DSP/Helium conv kernels
// run it). Any other consumer, and a graph output, gets the (N,C,L) value ONNX describes,
// made once on first use (Transpose + Reshape; a transpose that only moves size-1 axes is
// removed by the passes).
#include <onnx/onnx_pb.h>

#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "ir/graph.hpp"

namespace tinyq::onnx_import {

class Importer;

class Lift1d {
 public:
  using Convert = std::function<void(Importer&, const onnx::NodeProto&)>;

  // Every name the ONNX graph defines, so that names made up here never collide with one.
  void reserve_names(const onnx::GraphProto& graph);
  // Converts `node` when it is a 1-D layer or computes on lifted values (calling `convert`,
  // the node's ordinary converter, on the 2-D node); false: convert it as usual.
  bool convert(Importer& im, const onnx::NodeProto& node, const Convert& convert);
  // The value a converter sees for ONNX name `name`, bound to `bound`: the lifted value while
  // a lifted node converts, the (N,C,L) form of it for everything else.
  ValueId resolve(Importer& im, const std::string& name, ValueId bound);

 private:
  // The ONNX rank of a value (a lifted value is stored with rank 4 but is rank 3 in ONNX).
  std::size_t onnx_rank(Importer& im, const std::string& name, ValueId id) const;
  // A fresh binding name, unused by the ONNX graph and by this importer.
  std::string fresh_name(Importer& im, const std::string& base);
  // The name of the lifted copy of run-time (N,C,L) value `name` (made once).
  std::string lift_value(Importer& im, const std::string& name, ValueId id);
  // The name of a constant operand reshaped to broadcast against lifted values (rank <= 3,
  // right-aligned, with the new axis 2 inserted).
  std::string lift_constant(Importer& im, const std::string& name, const Tensor& value);
  bool lift_layer(Importer& im, onnx::NodeProto& node);
  bool lift_elementwise(Importer& im, onnx::NodeProto& node);
  bool transpose_to_nlc(Importer& im, const onnx::NodeProto& node);

  std::unordered_set<std::string> onnx_names_;
  std::unordered_set<std::string> lifted_;                    // names bound to an (N,1,L,C) NHWC value
  std::unordered_map<std::string, ValueId> flat_;             // their (N,C,L) form, once made
  std::unordered_map<std::string, std::string> lifted_copy_;  // run-time (N,C,L) name -> its lifted copy
  bool converting_lifted_ = false;
};

}  // namespace tinyq::onnx_import
