#include "commands/mcu_common.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <fstream>
#include <set>

#include "util/error.hpp"
#include "util/process.hpp"

namespace tinyq::cli {

namespace fs = std::filesystem;

namespace {

std::set<std::string> read_manifest(const fs::path& file) {
  std::set<std::string> names;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) names.insert(line);
  return names;
}

// The --keep folder's rule (generate's, for the build folder): new, empty, or holding only
// entries the manifest of an earlier --keep run lists.
void check_keep_folder(const fs::path& dir) {
  if (!fs::exists(dir)) return;
  if (!fs::is_directory(dir)) fail(printable(dir), "--keep needs a folder; this is a file");
  const std::set<std::string> ours = read_manifest(dir / kKeepManifestName);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = fs::relative(it->path(), dir).string();
    // tinyq writes no symbolic links: one where its file was would redirect the write.
    if ((name == kKeepManifestName || ours.contains(name)) && !it->is_symlink()) continue;
    fail(printable(dir), "holds '{}', which tinyq did not write; give --keep a new or empty folder", printable(name));
  }
  if (ec) fail(printable(dir), "cannot read the --keep folder: {}", ec.message());
}

}  // namespace

WorkFolder::WorkFolder(const std::string& keep) : exceptions_(std::uncaught_exceptions()) {
  if (!keep.empty()) {
    // Absolute up front: the tools run inside the folder, not where tinyq was started.
    path_ = fs::absolute(keep);
    check_keep_folder(path_);
    std::error_code ec;
    fs::create_directories(path_, ec);
    if (ec) fail(printable(path_), "cannot create the --keep folder: {}", ec.message());
    return;
  }
  fs::path tmp;
  std::error_code ec;
  tmp = fs::temp_directory_path(ec);
  if (ec) fail("TMPDIR", "no usable temporary folder: {}", ec.message());
  std::string pattern = (fs::absolute(tmp) / "tinyq-fw-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    fail(printable(tmp), "cannot create a temporary folder: {} (set TMPDIR)", std::strerror(errno));
  path_ = pattern;
  temporary_ = true;
}

WorkFolder::~WorkFolder() {
  std::error_code ignored;
  if (!temporary_) {
    // Everything in the folder now is this or an earlier --keep run's: list it, so the next
    // --keep into the same folder may overwrite it.
    try {
      std::vector<std::string> names;
      for (auto it = fs::recursive_directory_iterator(path_); it != fs::recursive_directory_iterator(); ++it) {
        std::string name = fs::relative(it->path(), path_).string();
        if (name != kKeepManifestName && name.find('\n') == std::string::npos) names.push_back(std::move(name));
      }
      std::sort(names.begin(), names.end());
      std::ofstream out(path_ / kKeepManifestName);
      for (const auto& n : names) out << n << '\n';
    } catch (const std::exception&) {
      // A destructor must not throw; the next --keep run then refuses the folder, safely.
    }
    return;
  }
  // A run that fails once the build started leaves the folder for the logs its error names.
  const bool failed = std::uncaught_exceptions() > exceptions_;
  if (failed && (fs::exists(path_ / "build.log", ignored) || fs::exists(path_ / "run.log", ignored))) return;
  fs::remove_all(path_, ignored);
}

std::string WorkFolder::shown() const { return printable(path_); }

}  // namespace tinyq::cli
