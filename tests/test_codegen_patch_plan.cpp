// The patch plan (generate --patch) on the host: which layers a stage may hold, the rows each
// keeps, and the arena the planner gives it. The QEMU runs that prove the stage byte-equal to
// layer-by-layer execution are in test_cli_patch.cpp (and the row bookkeeping is tested
// against whole-tensor kernels in test_runtime_row_stage.cpp).
#include <gtest/gtest.h>

#include <filesystem>

#include "codegen/generated_sources.hpp"
#include "codegen/memory_layout.hpp"
#include "codegen/patch_plan.hpp"
#include "codegen/target.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "quant/quantizer.hpp"
#include "small_cnn.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

const std::filesystem::path kModels = std::filesystem::path(TINYQ_SOURCE_DIR) / "models";

QGraph quantized_zoo(const std::string& name) {
  Graph g = import_onnx_file((kModels / (name + ".onnx")).string());
  simplify(g);
  const Tensor images = Tensor::from_floats({32, 1, 28, 28}, testing::random_values(32 * 784, 3, 0.0f, 1.0f));
  QuantizeOptions o;
  o.preset = "fast";
  return quantize(g, images, o);
}

class PatchPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kModels / "dwsep.onnx")) GTEST_SKIP() << "models/dwsep.onnx absent";
  }
};

TEST_F(PatchPlanTest, StagesHoldOnlyTheRowsTheirWindowsRead) {
  const QGraph q = quantized_zoo("dwsep");
  const std::vector<PatchLayer> chain = patch_candidates(q);
  ASSERT_GE(chain.size(), 2u);
  EXPECT_EQ(chain[0].node, 0);
  EXPECT_EQ(chain[0].in_rows, 28);
  for (std::size_t k = 0; k < chain.size(); ++k) {
    if (k > 0) {
      EXPECT_EQ(q.nodes[std::size_t(chain[k].node)].inputs[0], q.nodes[std::size_t(chain[k - 1].node)].output);
    }
    EXPECT_EQ(chain[k].group, 1);  // one output row per call unless asked
  }
  const PatchPlan plan = patch_plan(q, chain, chain.size());
  const int input = q.inputs[0];
  EXPECT_EQ(plan.value_bytes[std::size_t(input)], std::size_t(std::min<std::int64_t>(chain[0].window, 28)) * 28);
  // A layer keeps min(window, height) rows: fewer than all but where its window spans the
  // whole height (the last 7x7 layers).
  std::size_t partial = 0;
  for (const PatchLayer& l : plan.layers) {
    const int in = q.nodes[std::size_t(l.node)].inputs[0];
    const std::size_t whole = std::size_t(element_count(q.values[std::size_t(in)].shape));
    EXPECT_EQ(plan.value_bytes[std::size_t(in)], std::size_t(std::min(l.window, l.in_rows)) * l.in_row_bytes);
    EXPECT_LE(plan.value_bytes[std::size_t(in)], whole) << q.values[std::size_t(in)].name;
    partial += plan.value_bytes[std::size_t(in)] < whole;
  }
  EXPECT_GE(partial, 2u);
  EXPECT_EQ(plan.value_bytes[std::size_t(plan.output_value)], 0u) << "the stage's output is stored whole";
}

TEST_F(PatchPlanTest, ArenaIsSmallerAndItsPlacementValid) {
  const QGraph q = quantized_zoo("dwsep");
  const Target& m4 = target_by_name("cortex-m4");
  const MemoryLayout whole = plan_memory(q, m4);
  const std::vector<PatchLayer> chain = patch_candidates(q);
  std::size_t best = whole.arena_bytes();
  for (std::size_t count = 1; count <= chain.size(); ++count) {
    const PatchPlan plan = patch_plan(q, chain, count);
    const MemoryLayout m = plan_memory(q, m4, {}, {}, &plan);
    EXPECT_NO_THROW(check_plan(m.buffers, m.plan)) << count << " layers";
    best = std::min(best, m.arena_bytes());
  }
  EXPECT_LT(best * 4, whole.arena_bytes() * 3) << "layer by layer " << whole.arena_bytes() << " B";
  const GeneratedSources g = generate_sources(q, m4, "m", {.patch = true});
  ASSERT_TRUE(g.patch.has_value());
  EXPECT_EQ(g.memory.arena_bytes(), best);
  EXPECT_EQ(g.layer_by_layer_arena_bytes, whole.arena_bytes());
}

TEST_F(PatchPlanTest, NarrowRowsGetSeveralRowsPerCall) {
  const QGraph q = quantized_zoo("dwsep");
  for (const PatchLayer& l : patch_candidates(q, kPixelsPerCall)) {
    const std::int64_t width = q.values[std::size_t(q.nodes[std::size_t(l.node)].output)].shape[2];
    EXPECT_EQ(l.group, std::min<std::int64_t>((kPixelsPerCall + width - 1) / width, l.out_rows));
    EXPECT_GE(l.held_rows(2), l.held_rows(1));
  }
}

TEST_F(PatchPlanTest, ModelsWithoutARowWiseImageStartAreRefused) {
  const QGraph mlp = quantized_zoo("mlp");
  try {
    patch_candidates(mlp);
    FAIL() << "an MLP has no rows to stream";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--patch"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tinyq
