// Generated sources for every zoo model, compiled with the host compiler at -Werror and
// run: their outputs must equal the host int8 executor's byte for byte, and the arena must
// sit at the lower bound of live bytes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "codegen/generated_sources.hpp"
#include "data/dataset.hpp"
#include "exec/int8_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "ir/model_stats.hpp"
#include "passes/passes.hpp"
#include "quant/quantizer.hpp"

namespace tinyq {
namespace {

namespace fs = std::filesystem;
const fs::path kModels = fs::path(TINYQ_SOURCE_DIR) / "models";

// Reads float inputs (source layout), quantizes each with the generated helper, runs the
// model and writes the int8 outputs: the whole C interface in one loop.
const char* kDriver = R"(#include <stdio.h>
#include <stdlib.h>
#include "MODEL.h"
int main(int argc, char** argv) {
  if (argc != 3) return 2;
  FILE* in = fopen(argv[1], "rb");
  FILE* out = fopen(argv[2], "wb");
  if (!in || !out) return 2;
  static float x[MODEL_UPPER_INPUT_SIZE];
  while (fread(x, sizeof(float), MODEL_UPPER_INPUT_SIZE, in) == MODEL_UPPER_INPUT_SIZE) {
    MODEL_quantize_input(x);
    MODEL_invoke();
    fwrite(MODEL_output(), 1, MODEL_UPPER_OUTPUT_SIZE, out);
  }
  fclose(in);
  return fclose(out) == 0 ? 0 : 3;
}
)";

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p; (p = s.find(from)) != std::string::npos;) s.replace(p, from.size(), to);
  return s;
}

struct Quantized {
  QGraph graph;
  Tensor test;  // 32 test images, f32 source layout
};

Quantized quantized_zoo_model(const std::string& name) {
  Graph g = import_onnx_file((kModels / (name + ".onnx")).string());
  simplify(g);
  Tensor train = fashion_mnist(true, false), test = fashion_mnist(false, false);
  auto head = [](const Tensor& t, std::int64_t n) {
    Shape s = t.shape();
    s[0] = n;
    const std::int64_t per = element_count(t.shape()) / t.shape()[0];
    return Tensor::from_floats(s, std::vector<float>(t.f32().begin(), t.f32().begin() + n * per));
  };
  QuantizeOptions options;
  options.threads = 2;
  return {quantize(g, head(train, 64), options), head(test, 32)};
}

class GeneratedZooModel : public ::testing::TestWithParam<std::string> {};

TEST_P(GeneratedZooModel, MatchesTheHostInt8ExecutorByteForByte) {
  const std::string name = GetParam();
  Quantized q = quantized_zoo_model(name);
  const Target& target = target_by_name("portable");
  GeneratedSources sources = generate_sources(q.graph, target, name);

  // Memory: at the lower bound, and never above TFLM's greedy planner.
  EXPECT_EQ(sources.memory.arena_bytes(), sources.memory.lower_bound) << sources.memory.plan.method;
  EXPECT_LE(sources.memory.arena_bytes(), sources.memory.tflm_greedy_bytes);
  // What `inspect` promises before quantization: no layer-by-layer arena goes below it.
  EXPECT_LE(compute_stats(q.graph.float_graph).arena_lower_bound_bytes_int8, sources.memory.lower_bound);

  // Deterministic: a second generation gives the same bytes.
  GeneratedSources again = generate_sources(q.graph, target, name);
  ASSERT_EQ(again.files.size(), sources.files.size());
  for (std::size_t i = 0; i < sources.files.size(); ++i)
    EXPECT_EQ(again.files[i].content, sources.files[i].content) << sources.files[i].path;

  const fs::path dir = fs::temp_directory_path() / ("tinyq_codegen_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  std::string upper = name;
  for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
  std::vector<std::string> cpp_files;
  for (const auto& f : sources.files) {
    fs::create_directories((dir / f.path).parent_path());
    std::ofstream(dir / f.path, std::ios::binary) << f.content;
    if (f.path.ends_with(".cpp")) cpp_files.push_back((dir / f.path).string());
  }
  std::ofstream(dir / "driver.c") << replace_all(replace_all(kDriver, "MODEL_UPPER", upper), "MODEL", name);

  // The generated C++ must compile warning-free as C++17 freestanding-style code, and the
  // header as C.
  std::string cmd = "cd " + dir.string() + " && cc -std=c11 -Wall -Wextra -Werror -O1 -c driver.c -o driver.o";
  cmd += " && c++ -std=c++17 -O1 -Wall -Wextra -Werror -fno-exceptions -fno-rtti -Itinyq/include -I. -o model";
  for (const auto& f : cpp_files) cmd += " " + f;
  cmd += " driver.o > build.log 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "compiling the generated sources failed; see " << dir / "build.log";

  {
    std::ofstream in(dir / "input.bin", std::ios::binary);
    in.write(reinterpret_cast<const char*>(q.test.f32().data()), std::streamsize(q.test.f32().size() * sizeof(float)));
  }
  ASSERT_EQ(std::system(("cd " + dir.string() + " && ./model input.bin output.bin").c_str()), 0);
  std::ifstream out(dir / "output.bin", std::ios::binary);
  std::string mcu((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());

  // The host executor on the same int8 inputs (quantized exactly as the executor does).
  const QValue& in_value = q.graph.values[std::size_t(q.graph.inputs[0])];
  Tensor q_in(DType::i8, q.test.shape());
  auto src = q.test.f32();
  auto dst = q_in.data<std::int8_t>();
  for (std::size_t i = 0; i < src.size(); ++i) {
    const float v = std::nearbyint(src[i] / in_value.quant.scale) + float(in_value.quant.zero_point);
    dst[i] = std::int8_t(std::clamp(v, -128.0f, 127.0f));
  }
  Int8Executor exec(q.graph, {.threads = 2});
  Tensor host = exec.run_int8({q_in})[0];
  auto host_bytes = host.data<std::int8_t>();
  ASSERT_EQ(mcu.size(), host_bytes.size());
  for (std::size_t i = 0; i < mcu.size(); ++i)
    ASSERT_EQ(std::int8_t(mcu[i]), host_bytes[i]) << "first difference at output byte " << i;
  fs::remove_all(dir);
}

// Sources generated for a Cortex-M target also build on the host (the portable kernels):
// warning-free, and the scratch the plan reserved passes the kernels' static_asserts there.
TEST(GeneratedSources, CortexMTargetsAlsoCompileWithTheHostCompiler) {
  Quantized q = quantized_zoo_model("dwsep");
  for (const char* name : {"cortex-m4", "cortex-m7", "cortex-m55"}) {
    GeneratedSources sources = generate_sources(q.graph, target_by_name(name), "net");
    const fs::path dir = fs::temp_directory_path() / ("tinyq_codegen_host_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(dir);
    for (const auto& f : sources.files) {
      fs::create_directories((dir / f.path).parent_path());
      std::ofstream(dir / f.path, std::ios::binary) << f.content;
    }
    const std::string cmd = "cd " + dir.string() +
                            " && c++ -std=c++17 -fsyntax-only -Wall -Wextra -Werror -fno-exceptions -fno-rtti "
                            "-Itinyq/include -I. net.cpp > build.log 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << name << ": see " << dir / "build.log";
    fs::remove_all(dir);
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, GeneratedZooModel,
                         ::testing::Values("seed_cnn", "cnn_bn", "avgpool_cnn", "inception", "densenet", "dwsep",
                                           "resnet", "mlp"));

}  // namespace
}  // namespace tinyq
