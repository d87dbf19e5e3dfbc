// Fuzzes what a .tqm file reaches: the loader and its consistency checks, then,
// for every file they accept, code generation (planner, emitter) and one int8
// inference with the runtime kernels. The fuzzer's bytes are the payload; the
// harness adds a correct header and checksum, so mutations get past the
// checksum into the parser and the validator. tinyq::Error is the expected
// answer; a crash or sanitizer report means a kernel could be fed something the
// validator let through. Seeds: the payloads of tiny quantized one-operator
// models from make_seeds. Work per input is capped (activations, weights) so a
// mutation that inflates a shape is rejected by the validator or skipped here
// instead of costing a second of inference.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "codegen/generated_sources.hpp"
#include "exec/int8_executor.hpp"
#include "qmodel/tqm_file.hpp"
#include "util/error.hpp"

namespace {

// Large enough for every seed (the biggest has a few thousand activation
// values), small enough that inference and planning stay well under a
// millisecond.
constexpr std::int64_t kMaxActivations = 1 << 16;
constexpr std::size_t kMaxParameterBytes = 1 << 18;

bool small(const tinyq::QGraph& q) {
  std::int64_t activations = 0;
  for (auto& v : q.values) activations += tinyq::element_count(v.shape);
  std::size_t parameters = 0;
  for (auto& n : q.nodes) {
    for (auto& [key, a] : n.i8) parameters += a.size();
    for (auto& [key, a] : n.i32) parameters += 4 * a.size();
  }
  return activations <= kMaxActivations && parameters <= kMaxParameterBytes;
}

// One payload under one header version.
void load_and_run(const std::uint8_t* data, std::size_t size, std::uint32_t version) {
  std::vector<std::uint8_t> file(28 + size);
  std::memcpy(file.data(), "TINYQTQM", 8);
  const std::uint64_t payload = size;
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a, as tqm_file.cpp
  for (std::size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * 1099511628211ull;
  std::memcpy(file.data() + 8, &version, 4);
  std::memcpy(file.data() + 12, &payload, 8);
  std::memcpy(file.data() + 20, &hash, 8);
  if (size) std::memcpy(file.data() + 28, data, size);
  try {
    tinyq::QGraph q = tinyq::deserialize_tqm(file.data(), file.size(), "fuzz.tqm");
    if (!small(q)) return;  // huge graphs only measure time
    if (q.inputs.size() == 1 && q.outputs.size() == 1) {
      tinyq::generate_sources(q, tinyq::target_by_name("cortex-m4"), "m");
      try {  // most graphs cannot stream: a refusal is an answer, a crash is not
        tinyq::generate_sources(q, tinyq::target_by_name("cortex-m4"), "m", {.streaming = true});
      } catch (const tinyq::Error&) {
      }
      try {  // patch-based first layers: likewise refused or planned
        tinyq::generate_sources(q, tinyq::target_by_name("cortex-m4"), "m", {.patch = true});
      } catch (const tinyq::Error&) {
      }
    }
    std::vector<tinyq::Tensor> inputs;
    for (int in : q.inputs) inputs.emplace_back(tinyq::DType::i8, q.values[std::size_t(in)].source_shape());
    tinyq::Int8Executor(q, {.threads = 1}).run_int8(inputs);
  } catch (const tinyq::Error&) {
  }
}

}  // namespace

// Every payload as both versions: int8-only models are written as version 1, models with
// int16 tensors or channel-group scales as version 2 (a bit width and channel scales per
// value), and the seeds hold both kinds.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  load_and_run(data, size, tinyq::kTqmVersionInt8Only);
  load_and_run(data, size, tinyq::kTqmVersion);
  return 0;
}
