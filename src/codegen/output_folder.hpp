#pragma once
// Writing generated files into a folder without ever leaving a half-written result or
// touching files tinyq did not write. A manifest (.tinyq-generated) lists what the last
// generation wrote; a folder holding anything else is refused.
#include <string>
#include <vector>

#include "codegen/generated_sources.hpp"

namespace tinyq {

inline constexpr const char* kManifestName = ".tinyq-generated";

// Throws tinyq::Error naming the folder (and the first foreign file) if `dir` exists and
// is not a folder that is empty or holds only files a previous generation listed.
void check_output_folder(const std::string& dir);

// Writes every file into a temporary sibling folder, then moves them into `dir`
// (replacing the previous generation's files). Call check_output_folder first.
void write_output_folder(const std::string& dir, const std::vector<GeneratedFile>& files);

}  // namespace tinyq
