#pragma once
// Writing generated files into a folder without ever leaving a half-written result or
// touching files tinyq did not write. A manifest (.tinyq-generated) lists what the last
// generation wrote; a folder holding anything else is refused. The manifest is a file in
// the user's folder, so it is not trusted either: an entry is only ever deleted if it is a
// name tinyq generates (no "..", not absolute) and a regular file (not a symlink) inside
// the folder; a manifest listing anything else is refused before anything is touched.
#include <string>
#include <vector>

#include "codegen/generated_sources.hpp"

namespace tinyq {

inline constexpr const char* kManifestName = ".tinyq-generated";

// True for the relative paths generate writes: "<C identifier>.h" / ".cpp" at the top and
// runtime sources under "tinyq/" (plain names, no "..", no hidden or absolute parts).
bool is_generated_file_name(const std::string& relative);

// Throws tinyq::Error naming the folder (and the first foreign file, or the manifest and
// its bad entry) unless `dir` can be generated into: it does not exist and its nearest
// existing ancestor is a writable folder, or it is a folder that is empty or holds only
// files a previous generation listed.
void check_output_folder(const std::string& dir);

// Writes every file into a fresh staging folder next to `dir` (a unique name from
// mkdtemp), then moves them into `dir`, replacing the previous generation's files. Checks
// the folder again first. Every failure is a tinyq::Error naming `dir`.
void write_output_folder(const std::string& dir, const std::vector<GeneratedFile>& files);

}  // namespace tinyq
