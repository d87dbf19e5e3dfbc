// Shared by the test_keras_*.cpp files: the Python helpers in tests/keras (numpy + h5py,
// Debian's python3 packages), run without a shell into a private temporary folder, and a
// float comparison for reference outputs.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "data/npy.hpp"
#include "ir/tensor.hpp"
#include "util/process.hpp"

namespace tinyq::keras_testing {

namespace fs = std::filesystem;

inline const fs::path kScripts = fs::path(TINYQ_SOURCE_DIR) / "tests" / "keras";

// A folder removed when the test program ends.
class TempDir {
 public:
  explicit TempDir(const std::string& tag)
      : path_(fs::temp_directory_path() / ("tinyq_keras_" + tag + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline const fs::path& scratch() {
  static TempDir dir("scratch");
  return dir.path();
}

// Runs argv with stdout and stderr into a log; empty on success, else what went wrong.
inline std::string run_logged(const std::vector<std::string>& argv, const std::string& log_name) {
  const fs::path log = scratch() / log_name;
  ProcessOptions options;
  options.stdout_file = options.stderr_file = log;
  const ProcessResult r = run_process(argv, options);
  if (r.ok()) return {};
  std::string text;
  if (FILE* f = std::fopen(log.c_str(), "rb")) {
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
    std::fclose(f);
  }
  return r.describe() + ": " + text;
}

// The python3 that has numpy and h5py (Debian's /usr/bin/python3 first), or empty with the
// reason in `why`.
inline std::string python(std::string* why) {
  static std::string program, reason;
  static bool checked = false;
  if (!checked) {
    checked = true;
    if (fs::exists("/usr/bin/python3")) {
      program = "/usr/bin/python3";
    } else if (auto p = find_in_path("python3")) {
      program = p->string();
    } else {
      reason = "python3 is not installed";
    }
    if (!program.empty()) {
      std::string err = run_logged({program, "-c", "import numpy, h5py"}, "python_check.log");
      if (!err.empty()) {
        reason = "python3 lacks numpy or h5py (Debian: python3-numpy python3-h5py): " + err;
        program.clear();
      }
    }
  }
  if (why) *why = reason;
  return program;
}

// tests/keras/make_h5.py's cases, written once per test program; empty with `why` if it
// cannot run.
inline fs::path generated_cases(std::string* why) {
  static fs::path folder;
  static std::string reason;
  static bool made = false;
  if (!made) {
    made = true;
    const std::string py = python(&reason);
    if (!py.empty()) {
      const fs::path out = scratch() / "cases";
      reason = run_logged({py, (kScripts / "make_h5.py").string(), out.string()}, "make_h5.log");
      if (reason.empty())
        folder = out;
      else
        reason = "make_h5.py failed: " + reason;
    }
  }
  if (why) *why = reason;
  return folder;
}

// |got - want| <= rel * max(1, max |want|), element by element, same shapes.
inline void expect_close(const Tensor& got, const Tensor& want, double rel, const std::string& what) {
  ASSERT_EQ(shape_string(got.shape()), shape_string(want.shape())) << what;
  const auto g = got.as_f32(), w = want.as_f32();
  double scale = 1.0;
  for (float v : w) scale = std::max(scale, double(std::fabs(v)));
  double worst = 0.0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double d = std::fabs(double(g[i]) - double(w[i]));
    if (!(d <= worst)) {  // NaN counts as worst
      worst = std::isnan(d) ? INFINITY : d;
      at = i;
    }
  }
  EXPECT_LE(worst, rel * scale) << what << ": element " << at << " is " << (g.empty() ? 0.f : g[at]) << ", reference "
                                << (w.empty() ? 0.f : w[at]) << " (scale " << scale << ")";
}

}  // namespace tinyq::keras_testing
