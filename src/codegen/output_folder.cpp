#include "codegen/output_folder.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string_view>

#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace fs = std::filesystem;

namespace {

std::vector<std::string_view> split_path(std::string_view rel) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t slash = rel.find('/', start);
    parts.push_back(rel.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return parts;
    start = slash + 1;
  }
}

bool is_identifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// A manifest line goes into a one-line error message: no control characters.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  return out;
}

enum class Kind { missing, file, folder, other };

// What is at `p` itself (lstat: a symlink is `other`, never what it points to).
Kind kind_of(const fs::path& p, const std::string& where) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) return Kind::missing;
    fail(where, "cannot examine {}: {}", p.string(), std::strerror(errno));
  }
  if (S_ISREG(st.st_mode)) return Kind::file;
  if (S_ISDIR(st.st_mode)) return Kind::folder;
  return Kind::other;
}

const char* describe(Kind k) {
  switch (k) {
    case Kind::file: return "a file";
    case Kind::folder: return "a folder";
    default: return "a symbolic link or special file";
  }
}

// The previous generation's files that may be deleted: the manifest's entries, each a name
// tinyq generates and, where it still exists, a regular file reached through real folders
// inside the output folder. Anything else refuses the whole folder before a file is touched.
std::vector<std::string> previous_generation(const fs::path& target, const std::string& dir) {
  const fs::path manifest = target / kManifestName;
  const std::string where = (fs::path(dir) / kManifestName).string();
  const Kind kind = kind_of(manifest, where);
  if (kind == Kind::missing) return {};
  if (kind != Kind::file) fail(where, "is {}, not a manifest tinyq wrote", describe(kind));
  std::ifstream in(manifest, std::ios::binary);
  if (!in) fail(where, "cannot read: {}", std::strerror(errno));
  std::vector<std::string> entries;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    if (!is_generated_file_name(line))
      fail(where, "lists '{}', which is not a file tinyq generates: refusing to delete it (choose another folder)",
           printable(line));
    const auto parts = split_path(line);
    fs::path p = target;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      p /= parts[i];
      const Kind k = kind_of(p, where);
      if (k == Kind::missing) break;
      const Kind expected = i + 1 == parts.size() ? Kind::file : Kind::folder;
      if (k != expected)
        fail(where, "lists '{}', but {} is {}: refusing to delete it (choose another folder)", printable(line),
             printable(p.string()), describe(k));
    }
    entries.push_back(line);
  }
  if (in.bad()) fail(where, "cannot read: {}", std::strerror(errno));
  return entries;
}

struct CheckedFolder {
  fs::path target;  // absolute, normalized, no trailing slash
  bool exists = false;
  std::vector<std::string> previous;  // files of the previous generation, safe to delete
};

CheckedFolder checked_folder(const std::string& dir) {
  if (dir.empty()) fail("-o", "empty output folder name");
  CheckedFolder c;
  try {
    // Absolute, so "fw/", "." and ".." name a folder whose parent (where staging goes) is
    // outside it.
    c.target = fs::absolute(dir).lexically_normal();
    if (c.target.filename().empty()) c.target = c.target.parent_path();
    if (c.target == c.target.root_path()) fail(dir, "cannot generate into the root folder");
    struct stat st {};
    if (::stat(c.target.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) fail(dir, "exists and is not a folder");
      c.exists = true;
    } else if (errno != ENOENT) {  // ENOTDIR (a path through a file), EACCES, ELOOP
      fail(dir, "cannot use as the output folder: {}", std::strerror(errno));
    }
    // The staging folder is created next to the target, in its parent or, when that does
    // not exist yet, in folders created under the nearest existing ancestor.
    fs::path ancestor = c.target.parent_path();
    while (::stat(ancestor.c_str(), &st) != 0) {
      if (errno != ENOENT)
        fail(dir, "cannot create the output folder: {}: {}", ancestor.string(), std::strerror(errno));
      ancestor = ancestor.parent_path();
    }
    if (!S_ISDIR(st.st_mode)) fail(dir, "cannot create the output folder: {} is not a folder", ancestor.string());
    if (::access(ancestor.c_str(), W_OK | X_OK) != 0)
      fail(dir, "cannot write next to the output folder: {}: {}", ancestor.string(), std::strerror(errno));
    if (!c.exists) return c;

    if (::access(c.target.c_str(), W_OK | X_OK) != 0) fail(dir, "folder is not writable: {}", std::strerror(errno));
    c.previous = previous_generation(c.target, dir);
    const std::set<std::string> known(c.previous.begin(), c.previous.end());
    std::error_code ec;
    // Symlinks to folders are not followed: they are listed, and refused, like any foreign file.
    for (auto it = fs::recursive_directory_iterator(c.target, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      const fs::file_type type = it->symlink_status(ec).type();
      if (ec) break;
      if (type == fs::file_type::directory) continue;
      const std::string rel = it->path().lexically_relative(c.target).generic_string();
      if (rel == kManifestName) continue;
      if (type != fs::file_type::regular || !known.contains(rel))
        fail(dir, "holds '{}', which tinyq did not generate: choose an empty or new folder", printable(rel));
    }
    if (ec) fail(dir, "cannot list the folder: {}", ec.message());
  } catch (const fs::filesystem_error& e) {
    fail(dir, "cannot use as the output folder: {}", e.code().message());
  }
  return c;
}

}  // namespace

bool is_generated_file_name(const std::string& relative) {
  const auto parts = split_path(relative);
  for (auto part : parts) {
    if (part.empty() || part.front() == '.') return false;  // "", ".", "..", hidden, leading or double '/'
    for (char c : part)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  }
  const std::string_view last = parts.back();
  const std::size_t dot = last.rfind('.');
  if (dot == std::string_view::npos) return false;
  const std::string_view stem = last.substr(0, dot), ext = last.substr(dot + 1);
  if (parts.size() == 1) return is_identifier(stem) && (ext == "h" || ext == "cpp");
  // The runtime's files, by pattern rather than this build's list: a folder generated by
  // another tinyq version, whose runtime had other files, can still be regenerated.
  return parts.front() == "tinyq" && (ext == "h" || ext == "hpp" || ext == "c" || ext == "cpp");
}

void check_output_folder(const std::string& dir) { (void)checked_folder(dir); }

void write_output_folder(const std::string& dir, const std::vector<GeneratedFile>& files) {
  for (const auto& f : files)
    if (!is_generated_file_name(f.path))
      throw std::logic_error("generated file '" + f.path + "' has a name the manifest check would refuse");
  // Again, right before touching anything: the folder may have changed during generation.
  const CheckedFolder c = checked_folder(dir);
  const fs::path parent = c.target.parent_path();
  fs::path staging;  // created by this run, so the only folder it may remove
  auto remove_staging = [&] {
    std::error_code ignored;
    if (!staging.empty()) fs::remove_all(staging, ignored);
  };
  try {
    fs::create_directories(parent);
    // A fresh unique sibling (mkdtemp), never a fixed name that could be the user's folder.
    std::string stem = c.target.filename().string();
    stem.resize(std::min<std::size_t>(stem.size(), 200));
    std::string tmpl = (parent / fmt::format(".{}.tinyq-XXXXXX", stem)).string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      fail(dir, "cannot create a staging folder in {}: {}", parent.string(), std::strerror(errno));
    staging = tmpl;
    std::vector<std::string> names;
    std::string manifest;
    for (const auto& f : files) {
      fs::create_directories((staging / f.path).parent_path());
      write_file_atomically((staging / f.path).string(), f.content);
      names.push_back(f.path);
      manifest += f.path + "\n";
    }
    write_file_atomically((staging / kManifestName).string(), manifest);
    names.push_back(kManifestName);

    if (!c.exists) {
      // mkdtemp made it private (0700): give it the permissions a new folder gets.
      if (::chmod(staging.c_str(), 0777 & ~process_umask()) != 0)
        fail(dir, "cannot set the folder's permissions: {}", std::strerror(errno));
      if (::rename(staging.c_str(), c.target.c_str()) != 0)
        fail(dir, "cannot move the generated files into place: {}", std::strerror(errno));
      staging.clear();
      return;
    }
    // Only the previous generation's files are here, each checked to be a regular file in
    // the folder. (A failure past this point leaves the folder with part of the new
    // generation; the user's own files are never among those touched.)
    for (const auto& old : c.previous)
      if (::unlink((c.target / old).c_str()) != 0 && errno != ENOENT)
        fail(dir, "cannot remove the previous '{}': {}", old, std::strerror(errno));
    for (const auto& name : names) {
      const fs::path dst = c.target / name;
      fs::create_directories(dst.parent_path());
      if (::rename((staging / name).c_str(), dst.c_str()) != 0)
        fail(dir, "cannot move '{}' into place: {}", name, std::strerror(errno));
    }
    remove_staging();
  } catch (const fs::filesystem_error& e) {
    remove_staging();
    fail(dir, "cannot write the generated files: {}: {}", e.path1().string(), e.code().message());
  } catch (...) {
    remove_staging();
    throw;
  }
}

}  // namespace tinyq
