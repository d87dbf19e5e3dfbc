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

int verify_streaming(const StreamingVerifyInput& in) {
  const QGraph& g = *in.windowed;
  const StreamingPlan& plan = *in.sources->streaming;
  if (g.outputs.size() != 1)
    fail(in.model, "verify --streaming checks single-output models ({} outputs)", g.outputs.size());
  const QValue& input = g.values[std::size_t(g.inputs[0])];
  const QValue& output = g.values[std::size_t(g.outputs[0])];
  const std::int64_t n = in.samples.shape()[0] / input.source_shape()[0];
  const TimeAxis& time = plan.time[std::size_t(g.inputs[0])];
  const std::size_t frame = plan.frame_bytes, outer = time.outer, inner = frame / outer;
  const std::size_t window_bytes = std::size_t(element_count(input.shape));
  const std::size_t frames_per_window = std::size_t(time.frames);
  // Stored window byte (o, t, i) <-> byte o * inner + i of frame t: frames are contiguous
  // unless the input is an ONNX 1-D [1, C, L] (time last).
  auto window_index = [&](std::size_t t, std::size_t k) {
    return ((k / inner) * frames_per_window + t) * inner + k % inner;
  };
  // The stream: the windows' frames one after another.
  const std::vector<std::int8_t> stored = to_stored_bytes(input, in.samples);
  std::vector<std::int8_t> stream(stored.size());
  for (std::size_t s = 0; s < stored.size() / window_bytes; ++s)
    for (std::size_t t = 0; t < frames_per_window; ++t)
      for (std::size_t k = 0; k < frame; ++k)
        stream[(s * frames_per_window + t) * frame + k] = stored[s * window_bytes + window_index(t, k)];
  const std::size_t frames = stream.size() / frame;
  if (frames < frames_per_window) fail(in.model, "no samples to stream");

  // Host: every window of the stream that ends at a frame, through the windowed model.
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
  const Tensor host_out = Int8Executor(g).run_int8({host_in})[0];
  const std::vector<std::int8_t> expected = to_stored_bytes(output, host_out);
  const std::size_t out_bytes = std::size_t(element_count(output.shape));
  const std::size_t step_bytes = std::size_t(element_count(plan.step.values[std::size_t(g.outputs[0])].shape));

  // MCU: one step per frame.
  WorkFolder work(in.keep);
  Firmware fw = build_firmware(*in.sources, *in.target, "model", work.path(), {});
  FirmwareRun run = run_firmware(fw, *in.target, stream, true, 1800);
  if (run.outputs.size() != frames * step_bytes)
    fail(in.target->name, "the firmware produced {} output bytes, expected {} ({} frames); see {}", run.outputs.size(),
         frames * step_bytes, frames, work.shown());
  std::vector<std::size_t> mismatches;  // frame indices
  std::int64_t correct = 0, labelled = 0;
  for (std::size_t w = 0; w < windows; ++w) {
    const std::size_t t = w + frames_per_window - 1;  // the frame the window ends at
    const auto* mcu = reinterpret_cast<const std::int8_t*>(run.outputs.data()) + t * step_bytes;
    const std::int8_t* host = expected.data() + (w + 1) * out_bytes - step_bytes;  // its newest row
    if (!std::equal(mcu, mcu + step_bytes, host)) mismatches.push_back(t);
    if (w % frames_per_window == 0 && !in.labels.empty() && std::int64_t(w / frames_per_window) < n) {
      correct += std::max_element(mcu, mcu + step_bytes) - mcu == in.labels[w / frames_per_window];
      ++labelled;
    }
  }
  std::vector<std::uint64_t> per_step;
  for (std::size_t k = 0; k + 1 < run.marker_counts.size(); k += 2)
    per_step.push_back(run.marker_counts[k + 1] - run.marker_counts[k] - kMarkerOverhead);
  std::sort(per_step.begin(), per_step.end());
  const std::uint64_t median = per_step.empty() ? 0 : per_step[per_step.size() / 2];
  const std::size_t arena = in.sources->memory.arena_bytes();
  if (in.json) {
    nlohmann::json j = {{"target", in.target->name},
                        {"streaming", true},
                        {"frames", frames},
                        {"windows", windows},
                        {"mismatches", mismatches.size()},
                        {"mismatched_frames", mismatches},
                        {"window_frames", plan.window_frames},
                        {"instructions_per_frame", median},
                        {"arena_bytes", arena},
                        {"flash_bytes", fw.sizes.flash()}};
    if (labelled) j["top1"] = double(correct) / double(labelled);
    print_json(j);
  } else {
    fmt::print(
        "{} streaming on {} (QEMU): {} frames, {} windows compared, {} differ from the windowed host int8 "
        "executor\n",
        in.model, in.target->name, frames, windows, mismatches.size());
    if (labelled)
      fmt::print("on-MCU top-1 accuracy on the sample-aligned windows: {:.2f}% ({}/{})\n",
                 100.0 * double(correct) / double(labelled), correct, labelled);
    fmt::print("instructions per frame: {} (median); arena {} B ({} B of history), flash {} B\n", median, arena,
               plan.history_bytes(), fw.sizes.flash());
  }
  if (!mismatches.empty()) {
    fmt::print(stderr,
               "tinyq: {} of {} windows differ between the streaming step on {} and the host (first at frame {})\n",
               mismatches.size(), windows, in.target->name, mismatches[0]);
    return kExitCheckFailed;
  }
  return kExitOk;
}

}  // namespace tinyq::cli
