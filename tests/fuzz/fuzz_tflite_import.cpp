// Fuzzes the whole path a user's .tflite file takes: FlatBuffers verification, the parse
// layer, conversion to the float IR, simplify and, for small graphs, one float inference on
// zeros. tinyq::Error is the expected answer to bad input; anything else (a crash, a
// sanitizer report, another exception) is a bug. Seeds: tiny one-operator models from
// make_tflite_seeds (scripts/fuzz.sh). Mutations: libFuzzer's byte mutations, which reach
// the FlatBuffer's scalars (indices, shapes, options, quantization) in place.
#include <cstddef>
#include <cstdint>

#include "exec/float_executor.hpp"
#include "frontend/tflite/tflite_import.hpp"
#include "passes/passes.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    tinyq::Graph graph = tinyq::import_tflite_bytes(data, size, "fuzz");
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
