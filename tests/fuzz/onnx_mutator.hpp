#pragma once
// Structure-aware mutation of ONNX models for libFuzzer. Byte flips in a protobuf mostly
// break its framing, so the parser rejects them and the importer is never reached; these
// mutations parse the ModelProto, change one meaningful field (an attribute, a dimension, a
// tensor's data size or type, an op type, a wire between nodes) and serialize it again, so
// the importer, the passes and the executor see well-formed but hostile models.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <iterator>
#include <limits>
#include <random>
#include <string>

namespace tinyq::fuzz {

using Rng = std::minstd_rand;

inline std::size_t pick(Rng& rng, std::size_t n) { return n ? std::size_t(rng() % n) : 0; }

// Values at the edges of what shape and window arithmetic handle.
inline std::int64_t interesting_int(Rng& rng, std::int64_t current) {
  static constexpr std::int64_t kValues[] = {0,
                                             1,
                                             -1,
                                             2,
                                             3,
                                             -2,
                                             7,
                                             64,
                                             1000,
                                             std::int64_t(1) << 31,
                                             -(std::int64_t(1) << 31),
                                             std::int64_t(1) << 62,
                                             std::numeric_limits<std::int64_t>::max(),
                                             std::numeric_limits<std::int64_t>::min()};
  switch (rng() % 3) {
    // Wrapping arithmetic: the mutator itself runs under UBSan.
    case 0: return std::int64_t(std::uint64_t(current) + std::uint64_t(rng() % 5) - 2u);
    case 1: return std::int64_t(std::uint64_t(current) * 2);
    default: return kValues[pick(rng, std::size(kValues))];
  }
}

inline float interesting_float(Rng& rng) {
  static constexpr float kValues[] = {0.0f,
                                      -0.0f,
                                      1.0f,
                                      -1.0f,
                                      0.5f,
                                      1e-30f,
                                      1e30f,
                                      6.0f,
                                      std::numeric_limits<float>::infinity(),
                                      -std::numeric_limits<float>::infinity(),
                                      std::numeric_limits<float>::quiet_NaN(),
                                      std::numeric_limits<float>::denorm_min()};
  return kValues[pick(rng, std::size(kValues))];
}

// Every operator the importer has a converter for, and a few it has not.
inline const char* random_op(Rng& rng) {
  static constexpr const char* kOps[] = {"Relu",
                                         "Sigmoid",
                                         "Tanh",
                                         "HardSwish",
                                         "Sqrt",
                                         "Exp",
                                         "Neg",
                                         "LeakyRelu",
                                         "HardSigmoid",
                                         "Clip",
                                         "Identity",
                                         "Dropout",
                                         "Cast",
                                         "Add",
                                         "Sub",
                                         "Mul",
                                         "Div",
                                         "Pow",
                                         "PRelu",
                                         "Softmax",
                                         "ReduceMean",
                                         "Conv",
                                         "ConvTranspose",
                                         "Gemm",
                                         "MatMul",
                                         "BatchNormalization",
                                         "LayerNormalization",
                                         "MaxPool",
                                         "AveragePool",
                                         "GlobalAveragePool",
                                         "GlobalMaxPool",
                                         "Constant",
                                         "Shape",
                                         "ConstantOfShape",
                                         "Gather",
                                         "Slice",
                                         "Concat",
                                         "Reshape",
                                         "Flatten",
                                         "Squeeze",
                                         "Unsqueeze",
                                         "Transpose",
                                         "Pad",
                                         "Resize",
                                         "Upsample",
                                         "Loop",
                                         "If",
                                         "Einsum"};
  return kOps[pick(rng, std::size(kOps))];
}

inline void mutate_attribute(onnx::AttributeProto& a, Rng& rng) {
  switch (a.type()) {
    case onnx::AttributeProto::INT: a.set_i(interesting_int(rng, a.i())); break;
    case onnx::AttributeProto::FLOAT: a.set_f(interesting_float(rng)); break;
    case onnx::AttributeProto::INTS:
      if (a.ints_size() == 0 || rng() % 4 == 0)
        a.add_ints(interesting_int(rng, 1));
      else if (rng() % 4 == 0)
        a.mutable_ints()->RemoveLast();
      else {
        const int i = int(pick(rng, std::size_t(a.ints_size())));
        a.set_ints(i, interesting_int(rng, a.ints(i)));
      }
      break;
    case onnx::AttributeProto::STRING: {
      static constexpr const char* kStrings[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "nearest",
                                                 "linear", "constant",   "reflect",    "edge",  ""};
      a.set_s(kStrings[pick(rng, std::size(kStrings))]);
      break;
    }
    default: a.set_type(onnx::AttributeProto::INT), a.set_i(interesting_int(rng, 0)); break;
  }
}

inline void mutate_tensor(onnx::TensorProto& t, Rng& rng) {
  switch (rng() % 5) {
    case 0:  // a dimension, or the rank
      if (t.dims_size() == 0 || rng() % 4 == 0)
        t.add_dims(interesting_int(rng, 1));
      else if (rng() % 4 == 0)
        t.mutable_dims()->RemoveLast();
      else {
        const int i = int(pick(rng, std::size_t(t.dims_size())));
        t.set_dims(i, interesting_int(rng, t.dims(i)));
      }
      break;
    case 1:  // the data no longer matches the dims
      if (t.float_data_size() && rng() % 2)
        t.mutable_float_data()->RemoveLast();
      else if (t.int64_data_size() && rng() % 2)
        t.mutable_int64_data()->RemoveLast();
      else if (!t.raw_data().empty())
        t.mutable_raw_data()->resize(pick(rng, t.raw_data().size() * 2 + 2));
      else
        t.add_float_data(interesting_float(rng));
      break;
    case 2: {  // move the values into raw_data (the zoo's encoding) or change the element type
      if (t.float_data_size()) {
        std::string raw(reinterpret_cast<const char*>(t.float_data().data()), std::size_t(t.float_data_size()) * 4);
        t.clear_float_data();
        t.set_raw_data(raw);
      } else {
        static constexpr int kTypes[] = {onnx::TensorProto::FLOAT,
                                         onnx::TensorProto::INT64,
                                         onnx::TensorProto::INT32,
                                         onnx::TensorProto::UINT8,
                                         onnx::TensorProto::INT8,
                                         onnx::TensorProto::DOUBLE,
                                         onnx::TensorProto::FLOAT16,
                                         onnx::TensorProto::BOOL,
                                         0,
                                         999};
        t.set_data_type(kTypes[pick(rng, std::size(kTypes))]);
      }
      break;
    }
    case 3:  // one value
      if (t.float_data_size())
        t.set_float_data(int(pick(rng, std::size_t(t.float_data_size()))), interesting_float(rng));
      else if (t.int64_data_size()) {
        const int i = int(pick(rng, std::size_t(t.int64_data_size())));
        t.set_int64_data(i, interesting_int(rng, t.int64_data(i)));
      } else if (!t.raw_data().empty())
        (*t.mutable_raw_data())[pick(rng, t.raw_data().size())] = char(rng());
      break;
    default: t.set_name(t.name() + "x"); break;  // an initializer nobody reads, a dangling name
  }
}

// Returns false when there was nothing to mutate (the caller falls back to byte mutation).
inline bool mutate_model(onnx::ModelProto& m, Rng& rng) {
  onnx::GraphProto& g = *m.mutable_graph();
  switch (rng() % 9) {
    case 0:
    case 1: {  // an attribute of a node (or a new one copied from another node)
      if (g.node_size() == 0) return false;
      onnx::NodeProto& n = *g.mutable_node(int(pick(rng, std::size_t(g.node_size()))));
      if (n.attribute_size() == 0 || rng() % 6 == 0) {
        const onnx::NodeProto& other = g.node(int(pick(rng, std::size_t(g.node_size()))));
        if (other.attribute_size() == 0) return false;
        *n.add_attribute() = other.attribute(int(pick(rng, std::size_t(other.attribute_size()))));
      }
      mutate_attribute(*n.mutable_attribute(int(pick(rng, std::size_t(n.attribute_size())))), rng);
      return true;
    }
    case 2: {  // an initializer or a Constant node's tensor
      if (g.initializer_size() == 0) return false;
      mutate_tensor(*g.mutable_initializer(int(pick(rng, std::size_t(g.initializer_size())))), rng);
      return true;
    }
    case 3: {  // a graph input's shape
      if (g.input_size() == 0) return false;
      auto* shape = g.mutable_input(int(pick(rng, std::size_t(g.input_size()))))
                        ->mutable_type()
                        ->mutable_tensor_type()
                        ->mutable_shape();
      if (shape->dim_size() == 0 || rng() % 4 == 0)
        shape->add_dim()->set_dim_value(interesting_int(rng, 1));
      else if (rng() % 4 == 0)
        shape->mutable_dim()->RemoveLast();
      else {
        auto* d = shape->mutable_dim(int(pick(rng, std::size_t(shape->dim_size()))));
        d->set_dim_value(interesting_int(rng, d->dim_value()));
      }
      return true;
    }
    case 4: {  // another operator on the same wires
      if (g.node_size() == 0) return false;
      g.mutable_node(int(pick(rng, std::size_t(g.node_size()))))->set_op_type(random_op(rng));
      return true;
    }
    case 5: {  // rewire: an input reads another value (maybe one computed later: a cycle)
      if (g.node_size() == 0) return false;
      onnx::NodeProto& n = *g.mutable_node(int(pick(rng, std::size_t(g.node_size()))));
      const onnx::NodeProto& src = g.node(int(pick(rng, std::size_t(g.node_size()))));
      std::string value = rng() % 3 == 0 && g.initializer_size()
                              ? g.initializer(int(pick(rng, std::size_t(g.initializer_size())))).name()
                          : src.output_size() ? src.output(0)
                                              : std::string();
      if (n.input_size() == 0 || rng() % 4 == 0)
        n.add_input(value);
      else if (rng() % 5 == 0)
        n.mutable_input()->RemoveLast();
      else
        n.set_input(int(pick(rng, std::size_t(n.input_size()))), value);
      return true;
    }
    case 6: {  // drop or duplicate a node
      if (g.node_size() == 0) return false;
      const int i = int(pick(rng, std::size_t(g.node_size())));
      if (rng() % 2) {
        g.mutable_node()->DeleteSubrange(i, 1);
      } else {
        *g.add_node() = g.node(i);
      }
      return true;
    }
    case 7: {  // the opset (attribute vs input forms of Clip, Squeeze, ReduceMean, Pad ...)
      static constexpr int kOpsets[] = {1, 6, 7, 9, 10, 11, 12, 13, 14, 17, 18, 21, 99};
      if (m.opset_import_size() == 0) m.add_opset_import();
      m.mutable_opset_import(0)->set_version(kOpsets[pick(rng, std::size(kOpsets))]);
      return true;
    }
    default: {  // graph outputs: an intermediate value, or none
      if (g.output_size() && rng() % 3 == 0) {
        g.mutable_output()->RemoveLast();
      } else if (g.node_size()) {
        const onnx::NodeProto& n = g.node(int(pick(rng, std::size_t(g.node_size()))));
        if (n.output_size() == 0) return false;
        g.add_output()->set_name(n.output(0));
      }
      return true;
    }
  }
}

}  // namespace tinyq::fuzz
