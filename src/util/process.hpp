#pragma once
// Running external tools (make, arm-none-eabi-nm, the QEMU script) without a shell: the
// arguments go to the program exactly as given, so file names holding quotes, spaces, `$`,
// backticks or newlines are never interpreted.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tinyq {

struct ProcessOptions {
  std::filesystem::path cwd;          // working folder of the child (empty: ours)
  std::filesystem::path stdout_file;  // created or truncated (empty: inherited)
  // Empty: inherited; the same path as stdout_file: both streams into that one file.
  std::filesystem::path stderr_file;
  // "NAME=value" entries replacing (or adding to) our environment for the child.
  std::vector<std::string> environment;
};

// Runs in `cwd` with stdout and stderr both into `log`.
inline ProcessOptions logged_in(const std::filesystem::path& cwd, const std::filesystem::path& log) {
  ProcessOptions o;
  o.cwd = cwd;
  o.stdout_file = o.stderr_file = log;
  return o;
}

struct ProcessResult {
  int exit_code = -1;   // the child's exit status when it exited normally
  int signal = 0;       // the signal that ended it, else 0
  int spawn_error = 0;  // errno when the program could not be started (ENOENT: not found)
  bool ok() const { return spawn_error == 0 && signal == 0 && exit_code == 0; }
  // "exit 2", "killed by signal 9", "could not be started: No such file or directory".
  std::string describe() const;
};

// Runs argv[0] (looked up in PATH when it holds no '/') with these arguments and waits.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// argv[0] as run_process would find it in PATH, if it is there and executable.
std::optional<std::filesystem::path> find_in_path(const std::string& program);

// A path for a one-line message: control characters (a newline in a folder name) are
// written as escapes so the message stays one line.
std::string printable(const std::filesystem::path& path);

}  // namespace tinyq
