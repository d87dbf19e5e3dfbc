#include "report/html_util.hpp"

#include <fmt/format.h>

#include <cmath>

namespace tinyq::report_detail {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
          out += "\xEF\xBF\xBD";  // U+FFFD
        else
          out += c;
    }
  }
  return out;
}

std::string truncate_utf8(std::string_view text, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;              // continuation byte
    if (chars == max_chars) return std::string(text.substr(0, i)) + "\xE2\x80\xA6";  // …
    ++chars;
  }
  return std::string(text);
}

std::string truncate_middle(std::string_view text, std::size_t max_chars) {
  std::vector<std::size_t> starts;  // byte offset of each code point
  for (std::size_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts.push_back(i);
  if (starts.size() <= max_chars || max_chars < 2) return truncate_utf8(text, max_chars);
  const std::size_t head = (max_chars - 1) / 3, tail = max_chars - 1 - head;
  return std::string(text.substr(0, starts[head])) + "\xE2\x80\xA6" +
         std::string(text.substr(starts[starts.size() - tail]));
}

std::string number(double x) {
  if (!std::isfinite(x)) return "n/a";
  if (x == 0) return "0";
  return fmt::format("{:.4g}", x);
}

std::string percent(double fraction, int decimals) {
  if (!std::isfinite(fraction)) return "n/a";
  return fmt::format("{:.{}f}%", 100.0 * fraction, decimals);
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi <= lo || target < 1) return ticks;
  // d3's rule: the 1, 2 or 5 × 10^k step whose tick count is nearest `target` on a log scale.
  const double raw = (hi - lo) / target;
  double step = std::pow(10.0, std::floor(std::log10(raw)));
  const double error = raw / step;
  if (error >= std::sqrt(50.0))
    step *= 10;
  else if (error >= std::sqrt(10.0))
    step *= 5;
  else if (error >= std::sqrt(2.0))
    step *= 2;
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (int k = 0; k < 100; ++k) {
    double t = first + k * step;
    if (t > hi + step * 1e-9) break;
    if (std::abs(t) < step * 1e-9) t = 0;  // no "-1.2e-17"
    ticks.push_back(t);
  }
  return ticks;
}

std::string count_label(double count) {
  if (count >= 1e9) return fmt::format("{:g}G", count / 1e9);
  if (count >= 1e6) return fmt::format("{:g}M", count / 1e6);
  if (count >= 1e3) return fmt::format("{:g}k", count / 1e3);
  return fmt::format("{:g}", count);
}

const char* sqnr_class(double db) { return !(db >= 20) ? "bad" : db < 30 ? "fair" : "good"; }

const char* sqnr_colour(double db) { return !(db >= 20) ? "#dc2626" : db < 30 ? "#f59e0b" : "#16a34a"; }

}  // namespace tinyq::report_detail
