#include "codegen/output_folder.hpp"

#include <filesystem>
#include <fstream>
#include <set>

#include "util/error.hpp"

namespace tinyq {

namespace fs = std::filesystem;

namespace {

std::set<std::string> manifest_entries(const fs::path& dir) {
  std::set<std::string> entries;
  std::ifstream in(dir / kManifestName);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) entries.insert(line);
  return entries;
}

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
  out.close();
  if (!out) fail(path.string(), "cannot write the file");
}

}  // namespace

void check_output_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  if (!fs::is_directory(dir, ec)) fail(dir, "exists and is not a folder");
  const auto known = manifest_entries(dir);
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) fail(dir, "cannot list the folder: {}", ec.message());
    if (it->is_directory()) continue;
    const std::string rel = fs::relative(it->path(), dir).generic_string();
    if (rel != kManifestName && !known.contains(rel))
      fail(dir, "holds '{}', which tinyq did not generate: choose an empty or new folder", rel);
  }
}

void write_output_folder(const std::string& dir, const std::vector<GeneratedFile>& files) {
  // "fw/" names the folder fw: its staging sibling must sit next to it, not inside it.
  fs::path target = fs::path(dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  fs::create_directories(parent);
  const fs::path staging = parent / (target.filename().string() + ".tinyq-partial");
  fs::remove_all(staging);
  try {
    std::string manifest;
    for (const auto& f : files) {
      write_file(staging / f.path, f.content);
      manifest += f.path + "\n";
    }
    write_file(staging / kManifestName, manifest);
    if (fs::exists(target)) {
      // Only files of the previous generation are here (check_output_folder): replace them.
      for (const auto& old : manifest_entries(target)) fs::remove(target / old);
      fs::remove(target / kManifestName);
      for (auto it = fs::recursive_directory_iterator(staging); it != fs::recursive_directory_iterator(); ++it) {
        if (it->is_directory()) continue;
        const fs::path dst = target / fs::relative(it->path(), staging);
        fs::create_directories(dst.parent_path());
        fs::rename(it->path(), dst);
      }
      fs::remove_all(staging);
    } else {
      fs::rename(staging, target);
    }
  } catch (const fs::filesystem_error& e) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    fail(dir, "cannot write the generated files: {}", e.what());
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    throw;
  }
}

}  // namespace tinyq
