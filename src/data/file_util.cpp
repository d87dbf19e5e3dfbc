#include "data/file_util.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

#include "util/error.hpp"

namespace tinyq::data_detail {

std::uint64_t regular_file_size(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) fail(path, "no such file");
  if (fs::is_directory(status)) fail(path, "is a directory, expected a file");
  if (!fs::is_regular_file(status)) fail(path, "not a regular file");
  const auto size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot read file size: {}", ec.message());
  return size;
}

void swap_bytes(std::span<std::byte> bytes, std::size_t element_size) {
  for (std::size_t i = 0; i + element_size <= bytes.size(); i += element_size)
    std::reverse(bytes.begin() + std::ptrdiff_t(i), bytes.begin() + std::ptrdiff_t(i + element_size));
}

bool has_suffix(const std::string& path, const std::string& suffix) {
  if (path.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), path.end() - std::ptrdiff_t(suffix.size()),
                    [](char a, char b) { return std::tolower((unsigned char)a) == std::tolower((unsigned char)b); });
}

}  // namespace tinyq::data_detail
