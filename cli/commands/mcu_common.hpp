#pragma once
// What `tinyq bench` and `tinyq verify` share: a work folder for the firmware.
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

}  // namespace tinyq::cli
