#pragma once
// What `tinyq bench` and `tinyq verify` share: a work folder for the firmware, and moving
// samples between the model's source layout and the stored (MCU) layout.
#include <filesystem>
#include <string>
#include <vector>

#include "ir/qgraph.hpp"
#include "ir/tensor.hpp"

namespace tinyq::cli {

// A folder for one firmware build. With `keep` (--keep): that folder, made absolute, created
// if missing and kept. An existing one must be empty or hold only what an earlier --keep run
// wrote (listed in its .tinyq-keep manifest), else tinyq::Error naming the foreign file:
// tinyq never overwrites a user's Makefile or sources. Without `keep`: a fresh temporary
// folder, removed by the destructor unless the run fails after the build started, in which
// case it stays for its logs (the error message names them).
class WorkFolder {
 public:
  explicit WorkFolder(const std::string& keep);
  ~WorkFolder();
  WorkFolder(const WorkFolder&) = delete;
  WorkFolder& operator=(const WorkFolder&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // The path for a one-line message (control characters escaped).
  std::string shown() const;

 private:
  std::filesystem::path path_;
  bool temporary_ = false;
  int exceptions_ = 0;  // std::uncaught_exceptions() when constructed: > means unwinding
};

inline constexpr const char* kKeepManifestName = ".tinyq-keep";

// int8 samples in the source layout (what Int8Executor::run_int8 takes and returns) → bytes
// in the stored layout the MCU's buffers hold, sample after sample.
std::vector<std::int8_t> to_stored_bytes(const QValue& value, const Tensor& samples);

// Float samples quantized exactly as the host int8 executor quantizes its inputs.
Tensor quantize_samples(const QValue& input, const Tensor& samples);

// MACs of one quantized node (conv, depthwise, dense; 0 for the rest).
std::int64_t node_macs(const QNode& n);

}  // namespace tinyq::cli
