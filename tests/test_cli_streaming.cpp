// generate / verify / bench --streaming on the command line. The streaming step runs on
// QEMU over the sample windows played as one stream of frames, and after every frame from
// the first full window on its output must equal the windowed model's (the host int8
// executor) on the window ending there, byte for byte; with recurrent layers, each sample
// is a stream from a reset and every output row must equal the whole sequence's. Models:
// models/streaming/ (an ONNX 1-D temporal conv net whose input is (N, C, L), a spectrogram
// model whose time is H, GRU / conv + LSTM / RNN sequence models), models/recurrent/rnn.onnx,
// and MLPerf Tiny's streaming wakeword model when TINYQ_MLPERF_TINY names its folder.
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"
#include "test_tflite_prequantized_mlperf.hpp"

namespace tinyq::testing {
namespace {

const fs::path kStreaming = kModels / "streaming";

struct StreamingCase {
  std::string name;
  std::int64_t window_frames;  // the receptive field: the windowed model's input length here
};

class CliStreaming : public Cli, public ::testing::WithParamInterface<StreamingCase> {
 protected:
  void SetUp() override {
    Cli::SetUp();
    if (!fs::exists(kStreaming / (GetParam().name + ".onnx"))) GTEST_SKIP() << "models/streaming/ absent";
  }
  std::string input() const { return (kStreaming / (GetParam().name + ".input.npy")).string(); }
  fs::path quantized() {
    const fs::path tqm = dir_ / "model.tqm";
    const Result q = run_argv(
        {"quantize", (kStreaming / (GetParam().name + ".onnx")).string(), "--calib", input(), "-o", tqm.string()});
    EXPECT_EQ(q.code, 0) << q.err;
    return tqm;
  }
};

TEST_P(CliStreaming, GenerateWritesTheStepApi) {
  const fs::path tqm = quantized();
  const fs::path out = dir_ / "fw";
  const Result g = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", out.string(), "--name", "kws",
                             "--streaming", "--json"});
  ASSERT_EQ(g.code, 0) << g.err;
  const auto j = nlohmann::json::parse(g.out);
  EXPECT_EQ(j["window_frames"], GetParam().window_frames);
  EXPECT_GT(j["history_bytes"].get<std::int64_t>(), 0);
  EXPECT_LE(j["history_bytes"].get<std::int64_t>(), j["arena_bytes"].get<std::int64_t>());
  const std::string header = slurp(out / "kws.h");
  for (const char* api : {"void kws_reset(void);", "int kws_step(void);", "#define KWS_WINDOW_FRAMES"})
    EXPECT_NE(header.find(api), std::string::npos) << api;
  const std::string cpp = slurp(out / "kws.cpp");
  EXPECT_NE(cpp.find("memmove(g_arena"), std::string::npos) << "histories move up one row per step";
}

TEST_P(CliStreaming, StepEqualsTheWindowedModelOnCortexM4) {
  const fs::path tqm = quantized();
  const Result v =
      run_argv({"verify", tqm.string(), "--streaming", "--target", "cortex-m4", "--data", input(), "--json"});
  ASSERT_EQ(v.code, 0) << v.err << v.out;
  const auto j = nlohmann::json::parse(v.out);
  const std::int64_t frames = j["frames"], windows = j["windows"];
  EXPECT_EQ(frames, 6 * GetParam().window_frames);  // 6 samples, each one window
  EXPECT_EQ(windows, frames - GetParam().window_frames + 1);
  EXPECT_EQ(j["mismatches"], 0);
  // The step computes one new row per layer: far less than the whole window.
  const Result w = run_argv({"verify", tqm.string(), "--target", "cortex-m4", "--data", input(), "--json"});
  ASSERT_EQ(w.code, 0) << w.err;
  const auto wj = nlohmann::json::parse(w.out);
  EXPECT_LT(j["instructions_per_frame"].get<std::int64_t>() * 3, wj["instructions"].get<std::int64_t>())
      << "per frame " << j["instructions_per_frame"] << ", per window " << wj["instructions"];
}

INSTANTIATE_TEST_SUITE_P(Streaming, CliStreaming,
                         ::testing::Values(StreamingCase{"tcn_1d", 24}, StreamingCase{"spec_2d", 16}),
                         [](const auto& info) { return info.param.name; });

class CliStreamingMore : public Cli {
 protected:
  void SetUp() override {
    Cli::SetUp();
    if (!fs::exists(kStreaming / "tcn_1d.onnx")) GTEST_SKIP() << "models/streaming/ absent";
  }
};

// Helium: the same stream on Cortex-M55, and the step counted by bench.
TEST_F(CliStreamingMore, TcnOnCortexM55AndBench) {
  const fs::path tqm = dir_ / "tcn.tqm";
  const std::string input = (kStreaming / "tcn_1d.input.npy").string();
  ASSERT_EQ(run_argv({"quantize", (kStreaming / "tcn_1d.onnx").string(), "--calib", input, "-o", tqm.string()}).code,
            0);
  const Result v = run_argv(
      {"verify", tqm.string(), "--streaming", "--target", "cortex-m55", "--data", input, "--count", "3", "--json"});
  ASSERT_EQ(v.code, 0) << v.err << v.out;
  EXPECT_EQ(nlohmann::json::parse(v.out)["mismatches"], 0);
  const Result b = run_argv({"bench", tqm.string(), "--streaming", "--target", "cortex-m4", "--json"});
  ASSERT_EQ(b.code, 0) << b.err;
  const auto j = nlohmann::json::parse(b.out);
  EXPECT_TRUE(j["streaming"].get<bool>());
  EXPECT_EQ(j["window_frames"], 24);
  // Per-frame MACs: the layers' new rows only (the windowed model has 25,144).
  EXPECT_GT(j["macs"].get<std::int64_t>(), 0);
  EXPECT_LT(j["macs"].get<std::int64_t>(), 25144 / 4);
  EXPECT_GT(j["history_shift_instructions"].get<std::int64_t>(), 0);
}

// Models whose time axis is not causal are refused before anything is written.
TEST_F(CliStreamingMore, RefusesWhatCannotStream) {
  struct Refusal {
    fs::path model, calib;
    std::string says;
  };
  const std::vector<Refusal> cases = {
      // 'same' padding along time: an output row would need a future frame.
      {kStreaming / "padded_1d.onnx", kStreaming / "padded_1d.input.npy", "pads along time"},
      // An image: no time axis.
      {kModels / "seed_cnn.onnx", kModels / "sequence" / "gru_rows.input.npy", "one time axis"},
      // A bidirectional GRU: its backward direction needs the frames to come.
      {kModels / "recurrent" / "gru.onnx", kModels / "recurrent" / "gru.input.npy", "runs backward in time"},
  };
  for (const Refusal& c : cases) {
    if (!fs::exists(c.model)) GTEST_SKIP() << c.model << " absent";
    const fs::path tqm = dir_ / "m.tqm", out = dir_ / "never";
    ASSERT_EQ(
        run_argv({"quantize", c.model.string(), "--calib", c.calib.string(), "--calib-count", "20", "-o", tqm.string()})
            .code,
        0);
    const Result g = run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", out.string(), "--streaming"});
    EXPECT_EQ(g.code, 2) << c.model;
    EXPECT_NE(g.err.find(c.says), std::string::npos) << g.err;
    EXPECT_EQ(std::count(g.err.begin(), g.err.end(), '\n'), 1) << g.err;
    EXPECT_FALSE(fs::exists(out)) << "nothing written";
  }
}

// Recurrent layers carry their state from step to step; each sample is then a stream of its
// own (verify resets before its first frame), and every output the windowed model gives
// must come out of the step at its frame.
struct StatefulCase {
  std::string name;
  std::int64_t compared;  // outputs compared over the 4 samples
};

class CliStreamingStateful : public Cli, public ::testing::WithParamInterface<StatefulCase> {};

TEST_P(CliStreamingStateful, StepsEqualTheWholeSequenceOnCortexM4) {
  const std::string name = GetParam().name;
  if (!fs::exists(kStreaming / (name + ".onnx"))) GTEST_SKIP() << "models/streaming/ absent";
  const std::string input = (kStreaming / (name + ".input.npy")).string();
  const fs::path tqm = dir_ / "model.tqm", out = dir_ / "fw";
  ASSERT_EQ(run_argv({"quantize", (kStreaming / (name + ".onnx")).string(), "--calib", input, "-o", tqm.string()}).code,
            0);
  const Result g =
      run_argv({"generate", tqm.string(), "--target", "cortex-m4", "-o", out.string(), "--name", "s", "--streaming"});
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_NE(slurp(out / "s.cpp").find("rt::recurrent_s8_step("), std::string::npos);
  EXPECT_NE(slurp(out / "s.h").find("stateful stream"), std::string::npos);
  const Result v =
      run_argv({"verify", tqm.string(), "--streaming", "--target", "cortex-m4", "--data", input, "--json"});
  ASSERT_EQ(v.code, 0) << v.err << v.out;
  const auto j = nlohmann::json::parse(v.out);
  EXPECT_TRUE(j["stateful"].get<bool>());
  EXPECT_EQ(j["compared"], GetParam().compared);
  EXPECT_EQ(j["mismatches"], 0);
}

// gru_frames: every one of 4 x 20 frames; conv_lstm: 18 rows per sample (the conv's first row
// comes 2 frames after a reset, and the LSTM waits for it); rnn_last: the last state only.
INSTANTIATE_TEST_SUITE_P(Streaming, CliStreamingStateful,
                         ::testing::Values(StatefulCase{"gru_frames", 80}, StatefulCase{"conv_lstm", 72},
                                           StatefulCase{"rnn_last", 4}),
                         [](const auto& info) { return info.param.name; });

// A PyTorch export (batch_first, two RNN layers, the second with Relu) on Helium.
TEST_F(CliStreamingMore, PytorchRnnOnCortexM55) {
  const fs::path model = kModels / "recurrent" / "rnn.onnx", input = kModels / "recurrent" / "rnn.input.npy";
  if (!fs::exists(model)) GTEST_SKIP() << "models/recurrent/ absent";
  const fs::path tqm = dir_ / "rnn.tqm";
  ASSERT_EQ(run_argv({"quantize", model.string(), "--calib", input.string(), "-o", tqm.string()}).code, 0);
  const Result v =
      run_argv({"verify", tqm.string(), "--streaming", "--target", "cortex-m55", "--data", input.string(), "--json"});
  ASSERT_EQ(v.code, 0) << v.err << v.out;
  const auto j = nlohmann::json::parse(v.out);
  EXPECT_EQ(j["compared"], 8);
  EXPECT_EQ(j["mismatches"], 0);
}

// MLPerf Tiny's streaming wakeword model, as imported (TFLite Micro's int8 arithmetic).
TEST_F(Cli, StreamingWakewordStepEqualsTheWindowedModel) {
  tinyq_test::MlperfPaths paths;
  const tinyq_test::MlperfModel sww{"sww", "str_ww_ref_model.tflite"};
  if (const std::string why = tinyq_test::mlperf_paths(sww, paths); !why.empty()) GTEST_SKIP() << why;
  const Result v = run_argv({"verify", paths.model.string(), "--streaming", "--target", "cortex-m4", "--data",
                             paths.input.string(), "--count", "4", "--json"});
  ASSERT_EQ(v.code, 0) << v.err << v.out;
  const auto j = nlohmann::json::parse(v.out);
  EXPECT_EQ(j["windows"], 4 * 30 - 30 + 1);
  EXPECT_EQ(j["mismatches"], 0);
  // STM32Cube.AI's runtime needs 10,116 B of RAM for the windowed model.
  EXPECT_LT(j["arena_bytes"].get<std::int64_t>(), 10116);
}

}  // namespace
}  // namespace tinyq::testing
