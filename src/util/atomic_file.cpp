#include "util/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "util/error.hpp"

namespace tinyq {

namespace fs = std::filesystem;

namespace {

std::string folder_of(const fs::path& path) {
  const fs::path parent = path.parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace

unsigned process_umask() {
  // /proc tells without changing anything; the umask(2) round trip is the fallback (it
  // briefly sets the mask to 0, harmless here since tinyq creates files from one thread).
  static const unsigned mask = [] {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("Umask:", 0) == 0) return unsigned(std::stoul(line.substr(6), nullptr, 8));
    const mode_t m = ::umask(0);
    ::umask(m);
    return unsigned(m);
  }();
  return mask;
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  const fs::path target(path_);
  if (target.filename().empty() || target.filename() == "." || target.filename() == "..")
    fail(path_, "names a folder, not a file");
  // Hidden, next to the target (so rename() stays within one file system), and short
  // enough for NAME_MAX whatever the target's name.
  std::string name = target.filename().string().substr(0, 200);
  std::string tmpl = (fs::path(folder_of(target)) / ("." + name + ".tinyq-XXXXXX")).string();
  // mkstemp: O_CREAT | O_EXCL on a random name, so an existing file or symlink there is
  // never opened (and never removed: it was not ours).
  const int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) fail(path_, "cannot create a temporary file in {}: {}", folder_of(target), std::strerror(errno));
  fd_ = fd;
  tmp_ = std::move(tmpl);
}

AtomicFile::~AtomicFile() {
  if (!committed_) discard();
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
}

void AtomicFile::write(const void* data, std::size_t size) {
  if (fd_ < 0) fail(path_, "write after the file was committed or discarded");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      discard();
      fail(path_, "cannot write: {}", std::strerror(err));
    }
    p += n;
    size -= std::size_t(n);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) fail(path_, "commit after the file was committed or discarded");
  // A replaced file keeps its permissions; a new one gets what open(2) would give it
  // (0666 less the umask), not mkstemp's 0600.
  struct stat st {};
  mode_t mode = mode_t(0666 & ~process_umask());
  if (::lstat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode)) mode = st.st_mode & 0777;
  if (::fchmod(fd_, mode) != 0) {
    const int err = errno;
    discard();
    fail(path_, "cannot set the permissions of the temporary file: {}", std::strerror(err));
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    discard();
    fail(path_, "cannot write: {}", std::strerror(err));
  }
  // rename() replaces a symlink at the target itself, never the file it points to.
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    discard();
    fail(path_, "cannot write: {}", std::strerror(err));
  }
  tmp_.clear();
  committed_ = true;
}

void write_file_atomically(const std::string& path, std::string_view content) {
  AtomicFile file(path);
  file.write(content);
  file.commit();
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec) && !ec;
  const fs::path ca = fs::weakly_canonical(fs::absolute(a, ec), ec);
  if (ec) return false;
  const fs::path cb = fs::weakly_canonical(fs::absolute(b, ec), ec);
  return !ec && ca == cb;
}

void check_output_file(const std::string& path, const std::vector<std::string>& inputs) {
  if (path.empty()) fail("-o", "empty output path");
  const fs::path target(path);
  if (target.filename().empty() || target.filename() == "." || target.filename() == "..")
    fail(path, "names a folder, not a file");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) fail(path, "is a folder, not a file");
  } else if (errno != ENOENT) {
    // ENOTDIR: a path through a regular file; ELOOP, EACCES, ...
    fail(path, "cannot write here: {}", std::strerror(errno));
  }
  const std::string folder = folder_of(target);
  if (::stat(folder.c_str(), &st) != 0) {
    if (errno == ENOENT) fail(path, "folder {} does not exist", folder);
    fail(path, "cannot use folder {}: {}", folder, std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) fail(path, "{} is not a folder", folder);
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    fail(path, "folder {} is not writable: {}", folder, std::strerror(errno));
  for (const auto& input : inputs)
    if (!input.empty() && same_file(path, input))
      fail(path, "is the same file as the input {}: refusing to overwrite it (choose another output)", input);
}

void check_distinct_outputs(const std::vector<std::string>& outputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i)
    for (std::size_t j = i + 1; j < outputs.size(); ++j)
      if (same_file(outputs[i], outputs[j]))
        fail(outputs[j], "is also given as output {}: each output needs its own file", outputs[i]);
}

}  // namespace tinyq
