#include "util/process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

extern char** environ;

namespace tinyq {

namespace fs = std::filesystem;

std::string ProcessResult::describe() const {
  if (spawn_error != 0) return fmt::format("could not be started: {}", std::strerror(spawn_error));
  if (signal != 0) return fmt::format("killed by signal {}", signal);
  return fmt::format("exit {}", exit_code);
}

namespace {

// Owns a posix_spawn_file_actions_t (destroyed on every path out of run_process).
struct FileActions {
  posix_spawn_file_actions_t actions;
  FileActions() { posix_spawn_file_actions_init(&actions); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
};

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  ProcessResult result;
  if (argv.empty()) {
    result.spawn_error = EINVAL;
    return result;
  }
  FileActions fa;
  // The redirections are opened before the chdir, so relative names are relative to our
  // folder, as the caller wrote them.
  const int flags = O_WRONLY | O_CREAT | O_TRUNC;
  int error = 0;
  if (!options.stdout_file.empty())
    error = posix_spawn_file_actions_addopen(&fa.actions, STDOUT_FILENO, options.stdout_file.c_str(), flags, 0644);
  if (error == 0 && !options.stderr_file.empty())
    error =
        options.stderr_file == options.stdout_file
            ? posix_spawn_file_actions_adddup2(&fa.actions, STDOUT_FILENO, STDERR_FILENO)
            : posix_spawn_file_actions_addopen(&fa.actions, STDERR_FILENO, options.stderr_file.c_str(), flags, 0644);
  if (error == 0 && !options.cwd.empty())
    error = posix_spawn_file_actions_addchdir_np(&fa.actions, options.cwd.c_str());
  if (error != 0) {
    result.spawn_error = error;
    return result;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (const auto& kv : options.environment) env.push_back(const_cast<char*>(kv.c_str()));
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const bool replaced =
        std::any_of(options.environment.begin(), options.environment.end(), [&](const std::string& kv) {
          const std::size_t eq = kv.find('=');
          return entry.substr(0, entry.find('=')) == std::string_view(kv).substr(0, eq);
        });
    if (!replaced) env.push_back(*e);
  }
  env.push_back(nullptr);
  pid_t pid = 0;
  // glibc's posix_spawnp reports a failed open, chdir or exec in the child as its return
  // value (ENOENT for a missing program), not as exit status 127.
  error = posix_spawnp(&pid, args[0], &fa.actions, nullptr, args.data(), env.data());
  if (error != 0) {
    result.spawn_error = error;
    return result;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      result.spawn_error = errno;
      return result;
    }
  if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.signal = WTERMSIG(status);
  return result;
}

std::optional<fs::path> find_in_path(const std::string& program) {
  if (program.find('/') != std::string::npos)
    return ::access(program.c_str(), X_OK) == 0 ? std::optional<fs::path>(program) : std::nullopt;
  const char* path = std::getenv("PATH");
  const std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir = dirs.substr(start, end - start);
    const fs::path candidate = fs::path(dir.empty() ? "." : dir) / program;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

std::string printable(const fs::path& path) {
  std::string out;
  for (char c : path.string()) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n')
      out += "\\n";
    else if (u < 0x20 || u == 0x7f)
      out += fmt::format("\\x{:02x}", u);
    else
      out += c;
  }
  return out;
}

}  // namespace tinyq
