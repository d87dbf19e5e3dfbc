// Fuzzes the whole path a user's ONNX file takes: parse, import, simplify and,
// for small graphs, one float inference on zeros. tinyq::Error is the expected
// answer to bad input; anything else (a crash, a sanitizer report, another
// exception) is a bug. Seeds: tiny one-operator models from make_seeds
// (scripts/fuzz.sh). Mutations: mostly structure-aware (onnx_mutator.hpp), a
// quarter plain libFuzzer byte mutations.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "onnx_mutator.hpp"
#include "passes/passes.hpp"
#include "util/error.hpp"

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  tinyq::fuzz::Rng rng(seed);
  onnx::ModelProto model;
  if (rng() % 4 == 0 || !model.ParseFromArray(data, int(size)) || !tinyq::fuzz::mutate_model(model, rng))
    return LLVMFuzzerMutate(data, size, max_size);
  std::string out;
  if (!model.SerializeToString(&out) || out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    tinyq::Graph graph = tinyq::import_onnx_bytes(data, size, "fuzz");
    tinyq::simplify(graph);
    std::int64_t total = 0;
    for (auto& v : graph.values) total += tinyq::element_count(v.shape);
    if (total > (1 << 20)) return 0;  // running huge graphs only measures time
    std::vector<tinyq::Tensor> inputs;
    for (auto in : graph.inputs) inputs.emplace_back(tinyq::DType::f32, graph.value(in).source_shape());
    tinyq::FloatExecutor(graph, {.threads = 1}).run(inputs);
  } catch (const tinyq::Error&) {
  }
  return 0;
}
