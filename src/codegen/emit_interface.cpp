// Writes <name>.h (the C interface) and the input/output helpers appended to <name>.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "codegen/generated_sources.hpp"
#include "util/error.hpp"

namespace tinyq {

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Float literal that reads back as exactly `v`.
std::string float_literal(float v) {
  std::string s = fmt::format("{:.9g}", v);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s + "f";
}

std::string dims(const Shape& s) {
  std::string out;
  for (auto d : s) out += fmt::format("{}{}", out.empty() ? "" : "x", d);
  return out;
}

}  // namespace

std::string emit_model_header(const QGraph& g, const Target& target, const std::string& name,
                              const MemoryLayout& memory, const StreamingPlan* streaming, const PatchPlan* patch) {
  const QValue& in = g.values[std::size_t(g.inputs.at(0))];
  const QValue& out = g.values[std::size_t(g.outputs.at(0))];
  const std::string N = upper(name);
  // Output 0 keeps the single-output names ({N}_OUTPUT_SIZE, {n}_output()); output k >= 1
  // gets its own ({N}_OUTPUTk_SIZE, {n}_outputk()).
  std::string more_outputs;
  for (std::size_t k = 1; k < g.outputs.size(); ++k) {
    const QValue& o = g.values[std::size_t(g.outputs[k])];
    fmt::format_to(std::back_inserter(more_outputs),
                   "/* Output {k} '{name}': {src} in the model, stored {dims}. */\n"
                   "#define {N}_OUTPUT{k}_SIZE {size}\n"
                   "#define {N}_OUTPUT{k}_SCALE {scale}\n"
                   "#define {N}_OUTPUT{k}_ZERO_POINT ({zp})\n"
                   "const int8_t* {n}_output{k}(void);\n"
                   "void {n}_dequantize_output{k}(float* output);\n\n",
                   fmt::arg("k", k), fmt::arg("name", comment_text(o.name)), fmt::arg("src", dims(o.source_shape())),
                   fmt::arg("dims", dims(o.shape)), fmt::arg("N", N), fmt::arg("n", name),
                   fmt::arg("size", element_count(o.shape)), fmt::arg("scale", float_literal(o.quant.scale)),
                   fmt::arg("zp", o.quant.zero_point));
  }
  // Input 0 keeps the single-input names; input k >= 1 gets {N}_INPUTk_SIZE, {n}_inputk(),
  // {n}_quantize_inputk().
  std::string more_inputs;
  if (g.inputs.size() > 1)
    more_inputs =
        fmt::format("/* Every input is written (or quantized into) before {}_invoke(), as input 0. */\n", name);
  for (std::size_t k = 1; k < g.inputs.size(); ++k) {
    const QValue& v = g.values[std::size_t(g.inputs[k])];
    fmt::format_to(std::back_inserter(more_inputs),
                   "/* Input {k} '{name}': {src} in the model ({note}), stored {dims}. */\n"
                   "#define {N}_INPUT{k}_SIZE {size}\n"
                   "#define {N}_INPUT{k}_SCALE {scale}\n"
                   "#define {N}_INPUT{k}_ZERO_POINT ({zp})\n"
                   "int8_t* {n}_input{k}(void);\n"
                   "void {n}_quantize_input{k}(const float* input);\n\n",
                   fmt::arg("k", k), fmt::arg("name", comment_text(v.name)), fmt::arg("src", dims(v.source_shape())),
                   fmt::arg("note", v.layout == Layout::NHWC ? "NCHW" : "plain"), fmt::arg("dims", dims(v.shape)),
                   fmt::arg("N", N), fmt::arg("n", name), fmt::arg("size", element_count(v.shape)),
                   fmt::arg("scale", float_literal(v.quant.scale)), fmt::arg("zp", v.quant.zero_point));
  }
  std::string usage = fmt::format(
      " * Usage:   {0}_quantize_input(image);   (or write int8 data to {0}_input())\n"
      " *          {0}_invoke();\n"
      " *          int cls = {0}_argmax();\n",
      name);
  std::string streaming_api;
  if (streaming != nullptr) {
    usage = fmt::format(
        " * Streaming: one call per input frame; each computes only the newest row of every layer.\n"
        " * Usage:   {0}_reset();                        (once, and whenever the stream restarts)\n"
        " *          for each frame:\n"
        " *            {0}_quantize_input(frame);        (or write int8 data to {0}_input())\n"
        " *            if ({0}_step()) {{ int cls = {0}_argmax(); }}\n"
        "{2}"
        " * The layers' histories live in the arena between calls: keep the arena to the model.\n",
        name, streaming->window_frames,
        streaming->stateful()
            ? fmt::format(" * After {} frames from a reset, the output equals the windowed model's on them; later\n"
                          " * frames continue the recurrent layers' state (a stateful stream).\n",
                          streaming->window_frames)
            : fmt::format(
                  " * From the {0}th frame on, the output equals the windowed model's on the last {0} frames.\n",
                  streaming->window_frames));
    streaming_api = fmt::format(
        "/* Streaming: the frames a window spans; the step's output is valid once it has seen them. */\n"
        "#define {N}_WINDOW_FRAMES {frames}\n"
        "/* Forgets every frame seen: histories back to their zero points. */\n"
        "void {n}_reset(void);\n"
        "/* Consumes the frame in {n}_input() and updates {n}_output(); returns 1 when at least\n"
        "   {N}_WINDOW_FRAMES frames have been seen since the last reset (the output is then the\n"
        "   windowed model's), 0 before. {n}_invoke() is the same step. */\n"
        "int {n}_step(void);\n\n",
        fmt::arg("N", N), fmt::arg("n", name), fmt::arg("frames", streaming->window_frames));
  }
  std::string input_api = fmt::format(
      "/* The int8 input buffer, in the stored order above (NHWC for images). */\n"
      "int8_t* {0}_input(void);\n"
      "/* The int8 output, valid after {0}_invoke() until the next call. */\n"
      "const int8_t* {0}_output(void);\n"
      "/* Runs the model on {0}_input(); writes {0}_output(). */\n"
      "void {0}_invoke(void);\n"
      "/* Quantizes a float input given in the model file's own layout ({1}) into\n"
      "   {0}_input(): q = clamp(round_half_even(x / scale) + zero_point). */\n"
      "void {0}_quantize_input(const float* input);\n",
      name, dims(in.source_shape()));
  if (patch != nullptr) {
    const std::size_t rows = std::size_t(in.shape[1]), row_bytes = std::size_t(element_count(in.shape)) / rows;
    usage = fmt::format(
        " * Patch-based: the first {1} layers run row by row, so the input image is never whole in\n"
        " * the arena: {0}_invoke() asks the application for its rows, in increasing order, through\n"
        " * {0}_read_input_rows() (from a camera's lines, a decoder, a buffer in flash).\n"
        " * Usage:   {0}_invoke();   (calls {0}_read_input_rows)\n"
        " *          int cls = {0}_argmax();\n",
        name, patch->layers.size());
    input_api = fmt::format(
        "/* The input, {2} rows of {3} int8 values (stored order: NHWC, one row = W x C). */\n"
        "#define {1}_INPUT_ROWS {2}\n#define {1}_INPUT_ROW_BYTES {3}\n"
        "/* Written by the application: copies `count` int8 input rows, from `first_row` on, to\n"
        "   `rows` (count * {1}_INPUT_ROW_BYTES bytes). {0}_invoke() asks for rows in increasing\n"
        "   order, each at most once (rows that no layer reads are skipped). */\n"
        "void {0}_read_input_rows(int8_t* rows, int32_t first_row, int32_t count);\n"
        "/* The int8 output, valid after {0}_invoke() until the next call. */\n"
        "const int8_t* {0}_output(void);\n"
        "/* Runs the model on the rows {0}_read_input_rows() gives; writes {0}_output(). */\n"
        "void {0}_invoke(void);\n",
        name, N, rows, row_bytes);
  }
  std::string h;
  fmt::format_to(std::back_inserter(h),
                 "/* Generated by tinyq for {target}. Do not edit: regenerate instead.\n"
                 " *\n"
                 "{usage}"
                 " * No heap, no exceptions, no static constructors: all state is one static arena\n"
                 " * of {N}_ARENA_BYTES bytes; {n}_invoke() is not reentrant.\n"
                 " */\n"
                 "#ifndef {N}_H\n#define {N}_H\n\n#include <stdint.h>\n\n"
                 "#ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n"
                 "/* Input '{in_name}': {in_src} in the model ({in_note}), stored {in_dims}. */\n"
                 "#define {N}_INPUT_SIZE {in_size}\n"
                 "#define {N}_INPUT_SCALE {in_scale}\n"
                 "#define {N}_INPUT_ZERO_POINT ({in_zp})\n"
                 "/* Output '{out_name}': {out_src} in the model, stored {out_dims}. */\n"
                 "#define {N}_OUTPUT_SIZE {out_size}\n"
                 "#define {N}_OUTPUT_SCALE {out_scale}\n"
                 "#define {N}_OUTPUT_ZERO_POINT ({out_zp})\n"
                 "#define {N}_ARENA_BYTES {arena}\n\n"
                 "{input_api}"
                 "/* Dequantizes {n}_output() into `output`, in the model's own output layout. */\n"
                 "void {n}_dequantize_output(float* output);\n"
                 "/* Index of the largest output value (the first one on ties). */\n"
                 "int {n}_argmax(void);\n"
                 "/* The k indices of the largest outputs, largest first (ties: lower index first). */\n"
                 "void {n}_top_k(int k, int* indices);\n\n"
                 "{streaming_api}"
                 "#define {N}_INPUT_COUNT {input_count}\n"
                 "{more_inputs}"
                 "#define {N}_OUTPUT_COUNT {output_count}\n"
                 "{more_outputs}"
                 "#ifdef __cplusplus\n}}\n#endif\n\n#endif\n",
                 fmt::arg("usage", usage), fmt::arg("streaming_api", streaming_api), fmt::arg("input_api", input_api),
                 fmt::arg("input_count", g.inputs.size()), fmt::arg("more_inputs", more_inputs),
                 fmt::arg("output_count", g.outputs.size()), fmt::arg("more_outputs", more_outputs),
                 fmt::arg("target", target.name), fmt::arg("n", name), fmt::arg("N", N),
                 fmt::arg("in_name", comment_text(in.name)), fmt::arg("in_src", dims(in.source_shape())),
                 fmt::arg("in_note", in.layout == Layout::NHWC ? "NCHW" : "plain"), fmt::arg("in_dims", dims(in.shape)),
                 fmt::arg("in_size", element_count(in.shape)), fmt::arg("in_scale", float_literal(in.quant.scale)),
                 fmt::arg("in_zp", in.quant.zero_point), fmt::arg("out_name", comment_text(out.name)),
                 fmt::arg("out_src", dims(out.source_shape())), fmt::arg("out_dims", dims(out.shape)),
                 fmt::arg("out_size", element_count(out.shape)), fmt::arg("out_scale", float_literal(out.quant.scale)),
                 fmt::arg("out_zp", out.quant.zero_point), fmt::arg("arena", memory.arena_bytes()));
  return h;
}

// The helpers behind the header's declarations. Rounding uses the 1.5 * 2^23 trick: adding
// and subtracting it rounds a float to an integer, half to even, exactly like the host's
// std::nearbyint, with no libm call (|x / scale| is clamped below 2^22 first).
std::string emit_io_functions(const QGraph& g, const std::string& name, const MemoryLayout& memory,
                              const PatchPlan* patch) {
  const QValue& in = g.values[std::size_t(g.inputs.at(0))];
  const QValue& out = g.values[std::size_t(g.outputs.at(0))];
  const std::string N = upper(name);
  // A loop over every element whose body sees `s`, the index in the model's own (source)
  // layout, and `d`, the index in the stored layout (NCHW vs NHWC for images).
  auto loops = [&](const QValue& v, const std::string& body_src_to_stored) {
    if (!(v.layout == Layout::NHWC && v.shape.size() == 4))
      return fmt::format("  for (int32_t i = 0; i < {}; ++i) {{\n    const int32_t s = i, d = i;\n{}  }}\n",
                         element_count(v.shape), body_src_to_stored);
    const auto& s = v.shape;  // stored N, H, W, C
    return fmt::format(
        "  for (int32_t n = 0; n < {0}; ++n)\n  for (int32_t c = 0; c < {3}; ++c)\n"
        "  for (int32_t h = 0; h < {1}; ++h)\n  for (int32_t w = 0; w < {2}; ++w) {{\n"
        "    const int32_t s = ((n * {3} + c) * {1} + h) * {2} + w, d = ((n * {1} + h) * {2} + w) * {3} + c;\n"
        "{4}  }}\n",
        s[0], s[1], s[2], s[3], body_src_to_stored);
  };
  // The quantizing loop body for the input whose macros start with `prefix`, into `buffer`.
  auto quantize_body = [](const std::string& prefix, const std::string& buffer) {
    return fmt::format(
        "    float q = input[s] / {0}_SCALE;\n"
        "    q = q > 4.0e6f ? 4.0e6f : (q < -4.0e6f ? -4.0e6f : q);\n"
        "    q = (q + 12582912.0f) - 12582912.0f;\n"
        "    q += static_cast<float>({0}_ZERO_POINT);\n"
        "    {1}[d] = static_cast<int8_t>(q > 127.0f ? 127 : (q < -128.0f ? -128 : static_cast<int32_t>(q)));\n",
        prefix, buffer);
  };
  std::string c;
  if (patch != nullptr) {
    fmt::format_to(std::back_inserter(c),
                   "\nnamespace {{\nconst int8_t* const g_output = g_arena + {0};\n}}  // namespace\n\n"
                   "extern \"C\" const int8_t* {1}_output(void) {{ return g_output; }}\n\n",
                   memory.access_offset(-1, g.outputs.at(0)), name);
  } else {
    fmt::format_to(std::back_inserter(c),
                   "\nnamespace {{\n"
                   "int8_t* const g_input = g_arena + {in_off};\n"
                   "const int8_t* const g_output = g_arena + {out_off};\n"
                   "}}  // namespace\n\n"
                   "extern \"C\" int8_t* {n}_input(void) {{ return g_input; }}\n"
                   "extern \"C\" const int8_t* {n}_output(void) {{ return g_output; }}\n\n"
                   "extern \"C\" void {n}_quantize_input(const float* input) {{\n",
                   fmt::arg("in_off", memory.access_offset(-1, g.inputs.at(0))),
                   fmt::arg("out_off", memory.access_offset(-1, g.outputs.at(0))), fmt::arg("n", name));
    c += loops(in, quantize_body(N + "_INPUT", "g_input"));
    c += "}\n\n";
  }
  for (std::size_t k = 1; k < g.inputs.size(); ++k) {
    const QValue& v = g.values[std::size_t(g.inputs[k])];
    fmt::format_to(std::back_inserter(c),
                   "extern \"C\" int8_t* {n}_input{k}(void) {{ return g_arena + {off}; }}\n\n"
                   "extern \"C\" void {n}_quantize_input{k}(const float* input) {{\n"
                   "  int8_t* const q_input = g_arena + {off};\n",
                   fmt::arg("n", name), fmt::arg("k", k), fmt::arg("off", memory.access_offset(-1, g.inputs[k])));
    c += loops(v, quantize_body(fmt::format("{}_INPUT{}", N, k), "q_input"));
    c += "}\n\n";
  }
  fmt::format_to(std::back_inserter(c), "extern \"C\" void {}_dequantize_output(float* output) {{\n", name);
  c += loops(
      out,
      fmt::format("    output[s] = {0}_OUTPUT_SCALE * static_cast<float>(g_output[d] - {0}_OUTPUT_ZERO_POINT);\n", N));
  c += "}\n\n";
  for (std::size_t k = 1; k < g.outputs.size(); ++k) {
    const QValue& o = g.values[std::size_t(g.outputs[k])];
    fmt::format_to(std::back_inserter(c),
                   "extern \"C\" const int8_t* {n}_output{k}(void) {{ return g_arena + {off}; }}\n\n"
                   "extern \"C\" void {n}_dequantize_output{k}(float* output) {{\n"
                   "  const int8_t* const q = g_arena + {off};\n",
                   fmt::arg("n", name), fmt::arg("k", k), fmt::arg("off", memory.access_offset(-1, g.outputs[k])));
    c += loops(
        o, fmt::format("    output[s] = {0}_OUTPUT{1}_SCALE * static_cast<float>(q[d] - {0}_OUTPUT{1}_ZERO_POINT);\n",
                       N, k));
    c += "}\n\n";
  }
  fmt::format_to(std::back_inserter(c),
                 "extern \"C\" int {n}_argmax(void) {{\n"
                 "  int best = 0;\n"
                 "  for (int i = 1; i < {N}_OUTPUT_SIZE; ++i)\n"
                 "    if (g_output[i] > g_output[best]) best = i;\n"
                 "  return best;\n"
                 "}}\n\n"
                 "extern \"C\" void {n}_top_k(int k, int* indices) {{\n"
                 "  if (k > {N}_OUTPUT_SIZE) k = {N}_OUTPUT_SIZE;\n"
                 "  for (int j = 0; j < k; ++j) {{\n"
                 "    int best = -1;\n"
                 "    for (int i = 0; i < {N}_OUTPUT_SIZE; ++i) {{\n"
                 "      bool taken = false;\n"
                 "      for (int t = 0; t < j; ++t) taken = taken || indices[t] == i;\n"
                 "      if (!taken && (best < 0 || g_output[i] > g_output[best])) best = i;\n"
                 "    }}\n"
                 "    indices[j] = best;\n"
                 "  }}\n"
                 "}}\n",
                 fmt::arg("n", name), fmt::arg("N", N));
  return c;
}

}  // namespace tinyq
