#pragma once
// Small pieces the HTML report is made of (internal to src/report): escaping, number
// formatting, axis ticks and colours.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tinyq::report_detail {

// Text or attribute value safe to place anywhere in HTML or inline SVG: & < > " ' become
// entities, control characters become U+FFFD, so a hostile ONNX name cannot open a tag,
// close an attribute or start a script.
std::string escape(std::string_view text);

// At most `max_chars` code points of UTF-8 `text` (never splitting one), with "…" appended
// when something was cut.
std::string truncate_utf8(std::string_view text, std::size_t max_chars);
// At most `max_chars` code points, cutting the middle ("/features/f…4.0/Conv"): exporters'
// long names differ at the end.
std::string truncate_middle(std::string_view text, std::size_t max_chars);

// A short human number: 4 significant digits, "-0" printed as "0", non-finite as "n/a".
std::string number(double x);
// A fraction in [0,1] as a percentage with `decimals` decimals, e.g. "91.20%".
std::string percent(double fraction, int decimals = 2);

// About `target` round tick values (steps of 1, 2 or 5 × 10^k) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

// Tick label for counts: 1, 10, 100, 1k, 10k, 100k, 1M, ...
std::string count_label(double count);

// SQNR quality class: "bad" (< 20 dB), "fair" (20–30 dB), "good" (>= 30 dB).
const char* sqnr_class(double db);
// Colour of a quality class, e.g. for SVG fills.
const char* sqnr_colour(double db);
// measure_layer_error reports an exact layer (no noise) as this ceiling.
inline constexpr double kExactSqnr = 200.0;
inline bool is_exact(double db) { return db >= kExactSqnr - 1e-9; }

}  // namespace tinyq::report_detail
