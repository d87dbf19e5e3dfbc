#pragma once
// Typed node attributes: each value is an int, a float, a list of either, or a string.
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace tinyq {

using AttrValue = std::variant<std::int64_t, float, std::vector<std::int64_t>, std::vector<float>, std::string>;

class Attributes {
 public:
  void set(const std::string& key, AttrValue value) { values_[key] = std::move(value); }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  void erase(const std::string& key) { values_.erase(key); }

  std::int64_t get_int(const std::string& key, std::int64_t fallback) const { return get<std::int64_t>(key, fallback); }
  float get_float(const std::string& key, float fallback) const { return get<float>(key, fallback); }
  std::vector<std::int64_t> get_ints(const std::string& key, std::vector<std::int64_t> fallback = {}) const {
    return get<std::vector<std::int64_t>>(key, std::move(fallback));
  }
  std::vector<float> get_floats(const std::string& key, std::vector<float> fallback = {}) const {
    return get<std::vector<float>>(key, std::move(fallback));
  }
  std::string get_string(const std::string& key, std::string fallback) const {
    return get<std::string>(key, std::move(fallback));
  }

  const std::map<std::string, AttrValue>& all() const { return values_; }

 private:
  template <typename T>
  T get(const std::string& key, T fallback) const {
    auto it = values_.find(key);
    if (it == values_.end()) return fallback;
    if (auto* v = std::get_if<T>(&it->second)) return *v;
    return fallback;
  }
  std::map<std::string, AttrValue> values_;
};

}  // namespace tinyq
