#include "qmodel/tqm_file.hpp"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "qmodel/binary_io.hpp"
#include "qmodel/qgraph_validation.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

constexpr char kMagic[8] = {'T', 'I', 'N', 'Y', 'Q', 'T', 'Q', 'M'};

std::uint64_t fnv1a(const std::uint8_t* data, std::size_t size) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

void write_attrs(BinaryWriter& w, const Attributes& attrs) {
  w.i64(std::int64_t(attrs.all().size()));
  for (auto& [key, value] : attrs.all()) {
    w.str(key);
    w.u8(std::uint8_t(value.index()));
    std::visit(
        [&](auto&& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::int64_t>)
            w.i64(v);
          else if constexpr (std::is_same_v<T, float>)
            w.f32(v);
          else if constexpr (std::is_same_v<T, std::string>)
            w.str(v);
          else
            w.array(v);
        },
        value);
  }
}

// A named-parameter map: count, then (key, value) pairs; each entry takes at least 9 bytes.
template <typename Map, typename ReadValue>
void read_map(BinaryReader& r, Map& map, ReadValue read_value) {
  for (std::size_t n = r.count(9); n-- > 0;) {
    std::string key = r.str();
    map[key] = read_value();
  }
}

Attributes read_attrs(BinaryReader& r) {
  Attributes attrs;
  for (std::size_t n = r.count(2); n-- > 0;) {
    std::string key = r.str();
    switch (r.u8()) {
      case 0: attrs.set(key, r.i64()); break;
      case 1: attrs.set(key, r.f32()); break;
      case 2: attrs.set(key, r.array<std::int64_t>()); break;
      case 3: attrs.set(key, r.array<float>()); break;
      case 4: attrs.set(key, r.str()); break;
      default: fail("", "corrupt file: unknown attribute type");
    }
  }
  return attrs;
}

void write_float_graph(BinaryWriter& w, const Graph& g) {
  w.i64(std::int64_t(g.values.size()));
  for (auto& v : g.values) {
    w.str(v.name);
    w.u8(std::uint8_t(v.dtype));
    w.array(v.shape);
    w.u8(std::uint8_t(v.layout));
    w.u8(v.is_constant());
    if (v.is_constant()) {
      const Tensor& t = *v.constant;
      std::vector<std::uint8_t> bytes(t.byte_size());
      if (!bytes.empty()) std::memcpy(bytes.data(), t.bytes().data(), bytes.size());
      w.array(bytes);
    }
  }
  w.i64(std::int64_t(g.nodes.size()));
  for (auto& n : g.nodes) {
    w.str(n.name);
    w.str(std::string(op_name(n.op)));
    w.array(n.inputs);
    w.array(n.outputs);
    write_attrs(w, n.attrs);
  }
  w.array(g.inputs);
  w.array(g.outputs);
}

Graph read_float_graph(BinaryReader& r, const std::string& where) {
  Graph g;
  for (std::size_t n = r.count(4); n-- > 0;) {
    Value v;
    v.name = r.str();
    std::uint8_t dtype = r.u8();
    if (dtype > std::uint8_t(DType::boolean)) fail(where, "corrupt file: bad dtype");
    v.dtype = DType(dtype);
    v.shape = r.array<std::int64_t>();
    element_count(v.shape, where);
    std::uint8_t layout = r.u8();
    if (layout > 1) fail(where, "corrupt file: bad layout");
    v.layout = Layout(layout);
    if (r.u8()) {
      auto bytes = r.array<std::uint8_t>();
      // Checked before allocating: a shape of 2^40 elements with a few bytes of data must not
      // allocate (and zero) the tensor first (fuzz_tqm_load spent most of its time there).
      if (bytes.size() != std::size_t(element_count(v.shape)) * dtype_size(v.dtype))
        fail(where, "corrupt file: constant '{}' has the wrong size", v.name);
      Tensor t(v.dtype, v.shape);
      if (!bytes.empty()) std::memcpy(t.bytes().data(), bytes.data(), bytes.size());  // empty: data() may be null
      v.constant = std::move(t);
    }
    g.values.push_back(std::move(v));
  }
  auto check_ids = [&](const std::vector<ValueId>& ids, bool allow_none) {
    for (auto id : ids)
      if ((id < 0 && !(allow_none && id == kNoValue)) || id >= ValueId(g.values.size()))
        fail(where, "corrupt file: value index out of range");
  };
  for (std::size_t n = r.count(4); n-- > 0;) {
    Node node;
    node.name = r.str();
    auto op = op_from_name(r.str());
    if (!op) fail(where, "corrupt file: unknown op");
    node.op = *op;
    node.inputs = r.array<ValueId>();
    node.outputs = r.array<ValueId>();
    check_ids(node.inputs, true);
    check_ids(node.outputs, false);
    if (node.outputs.empty()) fail(where, "corrupt file: node without output");
    node.attrs = read_attrs(r);
    g.nodes.push_back(std::move(node));
  }
  g.inputs = r.array<ValueId>();
  g.outputs = r.array<ValueId>();
  check_ids(g.inputs, false);
  check_ids(g.outputs, false);
  g.validate();
  return g;
}

}  // namespace

std::vector<std::uint8_t> serialize_tqm(const QGraph& q) {
  // Version 2 only where needed: int16 tensors or channel-group scales.
  const bool wide = std::any_of(q.values.begin(), q.values.end(),
                                [](const QValue& v) { return v.quant.bits != 8 || !v.channel_scales.empty(); });
  BinaryWriter w;
  w.str(q.settings.preset);
  w.str(q.settings.scheme);
  w.str(q.settings.granularity);
  w.str(q.settings.calibration);
  w.u8(q.settings.bias_correction);
  w.u8(q.settings.equalization);
  w.i64(q.settings.calibration_samples);
  w.i64(std::int64_t(q.values.size()));
  for (auto& v : q.values) {
    w.str(v.name);
    w.array(v.shape);
    w.u8(std::uint8_t(v.layout));
    w.f32(v.quant.scale);
    w.i64(v.quant.zero_point);
    if (wide) {
      w.u8(std::uint8_t(v.quant.bits));
      w.array(v.channel_scales);
    }
    w.str(v.calibration.method);
    w.f32(v.calibration.histogram_min);
    w.f32(v.calibration.histogram_max);
    w.array(v.calibration.histogram);
    w.f32(v.calibration.clip_lo);
    w.f32(v.calibration.clip_hi);
  }
  w.i64(std::int64_t(q.nodes.size()));
  for (auto& n : q.nodes) {
    w.str(n.name);
    w.str(n.op);
    w.u8(std::uint8_t(n.kernel));
    w.array(n.inputs);
    w.i64(n.output);
    w.i64(n.source_output);
    w.i64(std::int64_t(n.ints.size()));
    for (auto& [k, v] : n.ints) w.str(k), w.i64(v);
    w.i64(std::int64_t(n.i8.size()));
    for (auto& [k, v] : n.i8) w.str(k), w.array(v);
    w.i64(std::int64_t(n.i32.size()));
    for (auto& [k, v] : n.i32) w.str(k), w.array(v);
  }
  w.array(q.inputs);
  w.array(q.outputs);
  write_float_graph(w, q.float_graph);

  BinaryWriter file;
  file.raw(kMagic, 8);
  file.u32(wide ? kTqmVersion : kTqmVersionInt8Only);
  file.i64(std::int64_t(w.bytes().size()));
  file.i64(std::int64_t(fnv1a(w.bytes().data(), w.bytes().size())));
  file.raw(w.bytes().data(), w.bytes().size());
  return file.bytes();
}

QGraph deserialize_tqm(const std::uint8_t* data, std::size_t size, const std::string& where) {
  if (size < 28 || std::memcmp(data, kMagic, 8) != 0) fail(where, "not a tinyq .tqm file (bad magic)");
  BinaryReader header(data + 8, 20, where);
  const std::uint32_t version = header.u32();
  if (version != kTqmVersion && version != kTqmVersionInt8Only)
    fail(where, ".tqm version {} is not supported (this tinyq reads versions {} and {})", version, kTqmVersionInt8Only,
         kTqmVersion);
  const std::uint64_t payload = std::uint64_t(header.i64());
  const std::uint64_t checksum = std::uint64_t(header.i64());
  if (payload != size - 28) fail(where, "corrupt .tqm file: {} payload bytes declared, {} present", payload, size - 28);
  if (fnv1a(data + 28, payload) != checksum) fail(where, "corrupt .tqm file: checksum mismatch");

  BinaryReader r(data + 28, payload, where);
  QGraph q;
  q.settings.preset = r.str();
  q.settings.scheme = r.str();
  q.settings.granularity = r.str();
  q.settings.calibration = r.str();
  q.settings.bias_correction = r.u8() != 0;
  q.settings.equalization = r.u8() != 0;
  q.settings.calibration_samples = r.i64();
  if (q.settings.calibration_samples < 0) fail(where, "corrupt file: negative calibration sample count");
  for (std::size_t n = r.count(4); n-- > 0;) {
    QValue v;
    v.name = r.str();
    v.shape = r.array<std::int64_t>();
    element_count(v.shape, where);
    std::uint8_t layout = r.u8();
    if (layout > 1) fail(where, "corrupt file: bad layout");
    v.layout = Layout(layout);
    v.quant.scale = r.f32();
    // Checked as stored, before narrowing: 2^32 would otherwise become zero point 0.
    const std::int64_t zero_point = r.i64();
    if (!(v.quant.scale >= kMinScale && v.quant.scale <= kMaxScale) || zero_point < -128 || zero_point > 127)
      fail(where, "corrupt file: bad quantization of '{}' (scale {}, zero point {})", v.name, v.quant.scale,
           zero_point);
    v.quant.zero_point = std::int32_t(zero_point);
    if (version == kTqmVersion) {
      const std::uint8_t bits = r.u8();
      if ((bits != 8 && bits != 16) || (bits == 16 && zero_point != 0))
        fail(where, "corrupt file: bad bit width {} of '{}'", bits, v.name);
      v.quant.bits = bits;
      v.channel_scales = r.array<float>();
    }
    v.calibration.method = r.str();
    v.calibration.histogram_min = r.f32();
    v.calibration.histogram_max = r.f32();
    v.calibration.histogram = r.array<std::uint32_t>();
    v.calibration.clip_lo = r.f32();
    v.calibration.clip_hi = r.f32();
    q.values.push_back(std::move(v));
  }
  const int value_count = int(q.values.size());
  auto check = [&](int id) {
    if (id < 0 || id >= value_count) fail(where, "corrupt file: value index out of range");
  };
  for (std::size_t n = r.count(4); n-- > 0;) {
    QNode node;
    node.name = r.str();
    node.op = r.str();
    std::uint8_t kernel = r.u8();
    if (kernel > std::uint8_t(QKernel::Requantize)) fail(where, "corrupt file: unknown kernel");
    node.kernel = QKernel(kernel);
    node.inputs = r.array<int>();
    for (int in : node.inputs) check(in);
    const std::int64_t output = r.i64(), source_output = r.i64();
    if (output < 0 || output >= value_count) fail(where, "corrupt file: value index out of range");
    node.output = int(output);
    // A float-graph ValueId; validate_qgraph checks it against the float graph read below.
    if (source_output < 0 || source_output > INT32_MAX)
      fail(where, "corrupt file: node '{}' has source value {}", node.name, source_output);
    node.source_output = int(source_output);
    read_map(r, node.ints, [&] { return r.i64(); });
    read_map(r, node.i8, [&] { return r.array<std::int8_t>(); });
    read_map(r, node.i32, [&] { return r.array<std::int32_t>(); });
    q.nodes.push_back(std::move(node));
  }
  q.inputs = r.array<int>();
  q.outputs = r.array<int>();
  for (int id : q.inputs) check(id);
  for (int id : q.outputs) check(id);
  try {
    q.float_graph = read_float_graph(r, where);
  } catch (const Error& e) {
    fail(where, "corrupt .tqm file: {}", e.what());
  }
  if (!r.at_end()) fail(where, "corrupt .tqm file: trailing bytes");
  validate_qgraph(q, where);
  return q;
}

void save_tqm(const QGraph& graph, const std::string& path) {
  const auto bytes = serialize_tqm(graph);
  write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

QGraph load_tqm(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, "cannot open file");
  auto size = in.tellg();
  if (size < 0) fail(path, "cannot read file");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) fail(path, "cannot read file");
  return deserialize_tqm(bytes.data(), bytes.size(), path);
}

}  // namespace tinyq
