#include "commands/verify_streaming.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "codegen/firmware.hpp"
#include "commands/common.hpp"
#include "commands/mcu_common.hpp"
#include "exec/int8_executor.hpp"
#include "qmodel/samples.hpp"
#include "util/error.hpp"

namespace tinyq::cli {

namespace {

// One comparison: the step's output after frame `frame` against `expected` bytes.
struct Check {
  std::size_t frame;
  const std::int8_t* expected;
};

}  // namespace

int verify_streaming(const StreamingVerifyInput& in) {
  const QGraph& g = *in.windowed;
  const StreamingPlan& plan = *in.sources->streaming;
  if (g.outputs.size() != 1)
    fail(in.model, "verify --streaming checks single-output models ({} outputs)", g.outputs.size());
  const QValue& input = g.values[std::size_t(g.inputs[0])];
  const QValue& output = g.values[std::size_t(g.outputs[0])];
  const TimeAxis& time = plan.time[std::size_t(g.inputs[0])];
  const std::size_t frame = plan.frame_bytes, outer = time.outer, inner = frame / outer;
  const std::size_t window_bytes = std::size_t(element_count(input.shape));
  const std::size_t frames_per_window = std::size_t(time.frames);
  const std::size_t out_bytes = std::size_t(element_count(output.shape));
  const std::size_t step_bytes = std::size_t(element_count(plan.step.values[std::size_t(g.outputs[0])].shape));
  const std::size_t out_rows = out_bytes / step_bytes;  // the windowed output's rows along time (or 1)
  // Stored window byte (o, t, i) <-> byte o * inner + i of frame t: frames are contiguous
  // unless the input is an ONNX 1-D [1, C, L] (time last).
  auto window_index = [&](std::size_t t, std::size_t k) {
    return ((k / inner) * frames_per_window + t) * inner + k % inner;
  };
  // The stream: the samples' frames one after another.
  const std::vector<std::int8_t> stored = to_stored_bytes(input, in.samples);
  const std::size_t samples = stored.size() / window_bytes;
  std::vector<std::int8_t> stream(stored.size());
  for (std::size_t s = 0; s < samples; ++s)
    for (std::size_t t = 0; t < frames_per_window; ++t)
      for (std::size_t k = 0; k < frame; ++k)
        stream[(s * frames_per_window + t) * frame + k] = stored[s * window_bytes + window_index(t, k)];
  const std::size_t frames = stream.size() / frame;
  if (samples == 0) fail(in.model, "no samples to stream");

  std::vector<std::int8_t> expected;
  std::vector<Check> checks;
  std::vector<std::size_t> labelled;  // per sample: the check whose output is its classification
  if (plan.stateful()) {
    // Recurrent state: each sample is a stream of its own (reset before its first frame).
    // The windowed output's row j belongs to frame j + (frames - rows) of the sample; an
    // output with no time axis to its last frame.
    expected = to_stored_bytes(output, Int8Executor(g).run_int8({in.samples})[0]);
    for (std::size_t s = 0; s < samples; ++s)
      for (std::size_t j = 0; j < out_rows; ++j)
        checks.push_back({s * frames_per_window + j + frames_per_window - out_rows,
                          expected.data() + s * out_bytes + j * step_bytes});
    for (std::size_t s = 0; s < samples; ++s) labelled.push_back((s + 1) * out_rows - 1);
  } else {
    // Every window of the stream that ends at a frame, through the windowed model: after
    // that frame the step's output is the window's newest output row.
    const std::size_t windows = frames - frames_per_window + 1;
    Shape shape = input.source_shape();
    shape[0] = std::int64_t(windows) * shape[0];
    Tensor host_in(DType::i8, shape);
    std::vector<std::int8_t> window(window_bytes);
    for (std::size_t w = 0; w < windows; ++w) {
      for (std::size_t t = 0; t < frames_per_window; ++t)
        for (std::size_t k = 0; k < frame; ++k) window[window_index(t, k)] = stream[(w + t) * frame + k];
      sample_to_source(input, window.data(), host_in.data<std::int8_t>().data() + w * window_bytes);
    }
    expected = to_stored_bytes(output, Int8Executor(g).run_int8({host_in})[0]);
    for (std::size_t w = 0; w < windows; ++w)
      checks.push_back({w + frames_per_window - 1, expected.data() + (w + 1) * out_bytes - step_bytes});
    for (std::size_t s = 0; s < samples; ++s) labelled.push_back(s * frames_per_window);
  }

  // MCU: one step per frame.
  WorkFolder work(in.keep);
  FirmwareOptions options;
  if (plan.stateful()) options.reset_every = frames_per_window;
  Firmware fw = build_firmware(*in.sources, *in.target, "model", work.path(), options);
  FirmwareRun run = run_firmware(fw, *in.target, stream, true, 1800);
  if (run.outputs.size() != frames * step_bytes)
    fail(in.target->name, "the firmware produced {} output bytes, expected {} ({} frames); see {}", run.outputs.size(),
         frames * step_bytes, frames, work.shown());
  auto mcu_output = [&](std::size_t t) {
    return reinterpret_cast<const std::int8_t*>(run.outputs.data()) + t * step_bytes;
  };
  std::vector<std::size_t> mismatches;  // frame indices
  for (const Check& c : checks)
    if (!std::equal(mcu_output(c.frame), mcu_output(c.frame) + step_bytes, c.expected)) mismatches.push_back(c.frame);
  std::int64_t correct = 0;
  if (!in.labels.empty())
    for (std::size_t s = 0; s < samples && s < in.labels.size(); ++s) {
      const std::int8_t* y = mcu_output(checks[labelled[s]].frame);
      correct += std::max_element(y, y + step_bytes) - y == in.labels[s];
    }
  std::vector<std::uint64_t> per_step;
  for (std::size_t k = 0; k + 1 < run.marker_counts.size(); k += 2)
    per_step.push_back(run.marker_counts[k + 1] - run.marker_counts[k] - kMarkerOverhead);
  std::sort(per_step.begin(), per_step.end());
  const std::uint64_t median = per_step.empty() ? 0 : per_step[per_step.size() / 2];
  const std::size_t arena = in.sources->memory.arena_bytes();
  const char* compared = plan.stateful() ? "outputs" : "windows";
  if (in.json) {
    nlohmann::json j = {{"target", in.target->name},        {"streaming", true},
                        {"stateful", plan.stateful()},      {"frames", frames},
                        {"compared", checks.size()},        {"mismatches", mismatches.size()},
                        {"mismatched_frames", mismatches},  {"window_frames", plan.window_frames},
                        {"instructions_per_frame", median}, {"arena_bytes", arena},
                        {"flash_bytes", fw.sizes.flash()}};
    if (!plan.stateful()) j["windows"] = checks.size();
    if (!in.labels.empty()) j["top1"] = double(correct) / double(std::min(samples, in.labels.size()));
    print_json(j);
  } else {
    fmt::print(
        "{} streaming on {} (QEMU): {} frames{}, {} {} compared, {} differ from the windowed host int8 "
        "executor\n",
        in.model, in.target->name, frames, plan.stateful() ? " (a reset before each sample)" : "", checks.size(),
        compared, mismatches.size());
    if (!in.labels.empty())
      fmt::print("on-MCU top-1 accuracy on the samples: {:.2f}% ({}/{})\n",
                 100.0 * double(correct) / double(std::min(samples, in.labels.size())), correct,
                 std::min(samples, in.labels.size()));
    fmt::print("instructions per frame: {} (median); arena {} B ({} B of history and state), flash {} B\n", median,
               arena, plan.history_bytes(), fw.sizes.flash());
  }
  if (!mismatches.empty()) {
    fmt::print(stderr, "tinyq: {} of {} {} differ between the streaming step on {} and the host (first at frame {})\n",
               mismatches.size(), checks.size(), compared, in.target->name, mismatches[0]);
    return kExitCheckFailed;
  }
  return kExitOk;
}

}  // namespace tinyq::cli
