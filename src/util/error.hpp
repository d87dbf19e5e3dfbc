#pragma once
// One error type for every bad input the host side can meet. It carries the place at
// fault (file, node, argument) so the CLI can print exactly one line naming it.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace tinyq {

class Error : public std::runtime_error {
 public:
  Error(std::string where, const std::string& what)
      : std::runtime_error(where.empty() ? what : where + ": " + what), where_(std::move(where)) {}
  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

template <typename... Args>
[[noreturn]] void fail(std::string where, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(std::move(where), fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace tinyq
