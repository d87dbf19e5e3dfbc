// The streaming plan (generate --streaming) on the host: which rows each layer keeps, what
// one step computes, where the histories live in the arena, and what is refused. The QEMU
// runs that prove the step byte-equal to the windowed model are in test_cli_streaming.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "codegen/generated_sources.hpp"
#include "codegen/streaming_plan.hpp"
#include "codegen/target.hpp"
#include "data/npy.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "qmodel/samples.hpp"
#include "quant/quantizer.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

const std::filesystem::path kDir = std::filesystem::path(TINYQ_SOURCE_DIR) / "models" / "streaming";

QGraph quantized(const std::string& name) {
  Graph g = import_onnx_file((kDir / (name + ".onnx")).string());
  simplify(g);
  return quantize(g, read_npy((kDir / (name + ".input.npy")).string()), {});
}

class StreamingPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kDir / "tcn_1d.onnx")) GTEST_SKIP() << kDir << " absent";
  }
};

std::string refusal(const QGraph& g) {
  try {
    plan_streaming(g);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(StreamingPlanTest, TcnKeepsEachWindowsRowsAndStepsOneRow) {
  const QGraph q = quantized("tcn_1d");
  const StreamingPlan p = plan_streaming(q);
  EXPECT_EQ(p.window_frames, 24);  // 24 frames in, one output row
  EXPECT_EQ(p.frame_bytes, 8u);    // 8 channels of (N, C, L)
  EXPECT_FALSE(p.stateful());
  // conv k=3 reads 3 input frames; the depthwise k=3 dilation 2 reads 5 rows; max pool k=2
  // 2; average pool k=3 3; the last conv reads the 15 rows left of its window.
  std::vector<std::size_t> rows;
  for (const History& h : p.history) rows.push_back(h.rows);
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(rows, (std::vector<std::size_t>{2, 3, 3, 5, 15}));
  EXPECT_EQ(p.history_bytes(), 3 * 8u + 5 * 16 + 2 * 16 + 3 * 24 + 15 * 24);
  // One step is one output row of every layer: its MACs are a small part of the window's.
  std::int64_t window_macs = 0, step_macs = 0;
  for (const QNode& n : q.nodes) window_macs += node_macs(n);
  for (const QNode& n : p.step.nodes) step_macs += node_macs(n);
  EXPECT_GT(step_macs, 0);
  EXPECT_LT(step_macs * 4, window_macs);
  for (const QNode& n : p.step.nodes)
    if (n.kernel == QKernel::Conv || n.kernel == QKernel::Depthwise) {
      EXPECT_EQ(n.get("out_w"), 1) << n.name;
    }
}

TEST_F(StreamingPlanTest, SpectrogramFlattenReadsTheWholeWindow) {
  const StreamingPlan p = plan_streaming(quantized("spec_2d"));
  EXPECT_EQ(p.window_frames, 16);
  EXPECT_EQ(p.frame_bytes, 6u);
  std::vector<std::size_t> rows;
  for (const History& h : p.history) rows.push_back(h.rows);
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(rows, (std::vector<std::size_t>{3, 14}));  // the (3, 1) conv; the 14 rows flattened
}

TEST_F(StreamingPlanTest, RecurrentLayerAfterAConvWaitsForItsFirstRow) {
  const StreamingPlan p = plan_streaming(quantized("conv_lstm"));
  ASSERT_EQ(p.states.size(), 1u);
  EXPECT_EQ(p.states[0].delay, 2);        // conv k=3: its first row needs 3 frames
  EXPECT_EQ(p.states[0].words, 2 * 12u);  // h and c of 12 units
  EXPECT_EQ(p.window_frames, 20);         // stateful: the model's whole input
  for (const QNode& n : p.step.nodes)
    if (n.kernel == QKernel::Recurrent) {
      EXPECT_EQ(n.get("steps"), 1);
    }
}

// A model exported to be called once per frame (T = 1): the state still carries.
TEST_F(StreamingPlanTest, OneFrameRecurrentModelStillCarriesItsState) {
  const StreamingPlan p = plan_streaming(quantized("gru_step"));
  ASSERT_EQ(p.states.size(), 1u);
  EXPECT_EQ(p.states[0].delay, 0);
  EXPECT_EQ(p.states[0].words, 2 * 8u);
  EXPECT_EQ(p.window_frames, 1);
  EXPECT_TRUE(p.history.empty());
}

TEST_F(StreamingPlanTest, HistoriesNeverShareBytesWithAnotherBuffer) {
  const GeneratedSources s =
      generate_sources(quantized("tcn_1d"), target_by_name("cortex-m4"), "m", {.streaming = true});
  ASSERT_TRUE(s.streaming);
  const MemoryLayout& m = s.memory;
  std::vector<std::size_t> history_buffers;
  for (const History& h : s.streaming->history)
    history_buffers.push_back(std::size_t(m.value_buffer[std::size_t(h.value)]));
  for (std::size_t b : history_buffers)
    for (std::size_t o = 0; o < m.buffers.size(); ++o) {
      if (o == b || m.buffers[o].bytes == 0) continue;
      const std::size_t b0 = m.plan.offsets[b], b1 = b0 + m.buffers[b].bytes;
      const std::size_t o0 = m.plan.offsets[o], o1 = o0 + m.buffers[o].bytes;
      EXPECT_TRUE(b1 <= o0 || o1 <= b0) << m.buffers[b].name << " overlaps " << m.buffers[o].name;
    }
  EXPECT_GE(m.arena_bytes(), s.streaming->history_bytes());
}

TEST_F(StreamingPlanTest, RefusesWhatANewFrameCannotComputeAlone) {
  const QGraph base = quantized("tcn_1d");
  auto first = [](QGraph& g, QKernel k) -> QNode& {
    for (QNode& n : g.nodes)
      if (n.kernel == k) return n;
    throw std::runtime_error("no such node");
  };
  QGraph strided = base;
  first(strided, QKernel::MaxPool).ints["stride_w"] = 2;
  EXPECT_NE(refusal(strided).find("stride 2 along time"), std::string::npos) << refusal(strided);
  QGraph padded = base;
  first(padded, QKernel::Conv).ints["pad_left"] = 1;
  EXPECT_NE(refusal(padded).find("pads along time"), std::string::npos) << refusal(padded);
  QGraph two_inputs = base;
  two_inputs.inputs.push_back(two_inputs.inputs[0]);
  EXPECT_NE(refusal(two_inputs).find("streaming needs one"), std::string::npos) << refusal(two_inputs);
  QGraph reverse = quantized("conv_lstm");
  first(reverse, QKernel::Recurrent).ints["reverse"] = 1;
  EXPECT_NE(refusal(reverse).find("runs backward in time"), std::string::npos) << refusal(reverse);
}

}  // namespace
}  // namespace tinyq
