#include "codegen/firmware.hpp"

#include <cxxabi.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "util/error.hpp"
#include "util/process.hpp"

namespace tinyq {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// The target files the Makefile and the QEMU run use, copied into the build folder's
// target/ so that every path in the Makefile and on QEMU's command line is a fixed relative
// name: the recipes run through a shell, and QEMU's -plugin option splits on commas, so
// neither may ever see the user's folder names (quotes, `$`, spaces, newlines).
void copy_target_files(const fs::path& targets, const fs::path& dir) {
  fs::create_directories(dir / "target");
  for (const auto& e : fs::directory_iterator(targets)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".c" || ext == ".h" || ext == ".ld" || e.path().filename() == "run-qemu.sh"))
      fs::copy_file(e.path(), dir / "target" / e.path().filename(), fs::copy_options::overwrite_existing);
  }
}

// The first error line of a tool's log (or its beginning), for a one-line message.
std::string first_error(const fs::path& log_file) {
  const std::string log = slurp(log_file);
  const std::size_t e = log.find("error");
  std::string first = e == std::string::npos ? log.substr(0, 200) : log.substr(e, 200);
  return printable(first.substr(0, first.find('\n')));
}

std::string firmware_main(const std::string& name, std::size_t input_count, std::size_t output_count,
                          std::size_t reset_every, bool input_rows) {
  std::string upper = name;
  for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
  // Inputs after the first, read right after it for each run.
  std::string more_inputs;
  for (std::size_t k = 1; k < input_count; ++k)
    more_inputs += fmt::format(
        "    if (fread({0}_input{2}(), 1, {1}_INPUT{2}_SIZE, in) != {1}_INPUT{2}_SIZE) return 5;\n", name, upper, k);
  // Outputs after the first, written right after it for each input.
  std::string more_outputs;
  for (std::size_t k = 1; k < output_count; ++k)
    more_outputs +=
        fmt::format("    if (fwrite({0}_output{2}(), 1, {1}_OUTPUT{2}_SIZE, out) != {1}_OUTPUT{2}_SIZE) return 4;\n",
                    name, upper, k);
  return fmt::format(
      R"(// Firmware written by tinyq bench / verify: runs the model on every sample of
// tinyq_inputs.bin (semihosting file I/O; all inputs of one sample after another, in the
// model's input order) and writes the outputs to tinyq_outputs.bin (all outputs of one sample
// after another, in the model's output order).
#include <stdio.h>
#include <string.h>

#include "{0}.h"
#include "marker.h"
{5}
int main(void) {{
  FILE* in = fopen("tinyq_inputs.bin", "rb");
  FILE* out = fopen("tinyq_outputs.bin", "wb");
  if (in == NULL || out == NULL) {{
    puts("tinyq firmware: cannot open tinyq_inputs.bin / tinyq_outputs.bin");
    return 3;
  }}
{4}{3}    tinyq_marker();
    {0}_invoke();
    tinyq_marker();
    if (fwrite({0}_output(), 1, {1}_OUTPUT_SIZE, out) != {1}_OUTPUT_SIZE) return 4;
{2}  }}
  fclose(in);
  return fclose(out) == 0 ? 0 : 4;
}}
)",
      name, upper, more_outputs, more_inputs,
      input_rows ? "  while (fread(g_sample, 1, sizeof g_sample, in) == sizeof g_sample) {\n"
      : reset_every
          ? fmt::format("  for (long frame = 0;; ++frame) {{\n"
                        "    if (frame % {2} == 0) {0}_reset();  // a stream per sample\n"
                        "    if (fread({0}_input(), 1, {1}_INPUT_SIZE, in) != {1}_INPUT_SIZE) break;\n",
                        name, upper, reset_every)
          : fmt::format("  while (fread({0}_input(), 1, {1}_INPUT_SIZE, in) == {1}_INPUT_SIZE) {{\n", name, upper),
      input_rows
          ? fmt::format("\n// Patch-based code reads its input by rows: here from the sample in RAM (the copy is\n"
                        "// counted with the inference, as a camera's or decoder's would be).\n"
                        "static int8_t g_sample[{1}_INPUT_SIZE];\n"
                        "extern \"C\" void {0}_read_input_rows(int8_t* rows, int32_t first_row, int32_t count) {{\n"
                        "  memcpy(rows, g_sample + first_row * {1}_INPUT_ROW_BYTES, count * {1}_INPUT_ROW_BYTES);\n"
                        "}}\n",
                        name, upper)
          : "");
}

// Sizes by symbol, from `arm-none-eabi-nm -S -C` of the linked ELF (LTO merges objects, so
// symbols, not object files, say what is whose). Runtime code: tinyq::rt functions and the
// kernels' assembly entry points (tinyq_dsp_*, tinyq_mve_*); model code: the generated
// NAME_* functions (kernels LTO inlined into NAME_invoke count there); constants: the
// generated arrays and parameter structs and the runtime's tables; the arena: g_arena.
// Startup, newlib and the test harness are left out.
// nm -C leaves the names LTO made private mangled ("_ZN12_GLOBAL__N_1L10n7_weightsE.lto_priv.0"):
// without the suffix they demangle like the others ("(anonymous namespace)::n7_weights").
std::string demangled_lto_name(const std::string& symbol) {
  if (!symbol.starts_with("_Z")) return symbol;
  const std::string mangled = symbol.substr(0, symbol.find('.'));
  int status = 0;
  char* text = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
  if (status != 0 || text == nullptr) return symbol;
  std::string out = text;
  std::free(text);
  return out;
}

// A demangled function's qualified name without the return type that templates carry
// ("void tinyq::rt::(anonymous namespace)::few_blocks<0l, true>(...)" is a tinyq::rt one).
std::string qualified_name(const std::string& symbol) {
  const std::size_t open = symbol.find('(');
  const std::string head = symbol.substr(0, open == 0 ? std::string::npos : open);
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '<') ++depth;
    if (head[i] == '>') --depth;
    if (head[i] == ' ' && depth == 0) start = i + 1;
  }
  // "(anonymous namespace)::..." begins with '(': no return type to skip.
  return symbol.starts_with("(anonymous") ? symbol : symbol.substr(start);
}

}  // namespace

FirmwareSizes sizes_from_symbols(const std::string& nm_output, const std::string& name) {
  FirmwareSizes s;
  std::istringstream lines(nm_output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string address, size_hex, type;
    if (!(words >> address >> size_hex >> type) || type.size() != 1) continue;
    std::string symbol;
    std::getline(words >> std::ws, symbol);
    symbol = demangled_lto_name(symbol);
    std::size_t bytes = 0;
    try {
      bytes = std::stoul(size_hex, nullptr, 16);
    } catch (const std::exception&) {
      continue;
    }
    const char kind = char(std::tolower(static_cast<unsigned char>(type[0])));
    const std::string qualified = qualified_name(symbol);
    const bool runtime_symbol = qualified.starts_with("tinyq::rt::") || qualified.starts_with("tinyq_dsp_") ||
                                qualified.starts_with("tinyq_mve_");
    const bool model_symbol = symbol.starts_with(name + "_") || symbol.starts_with("(anonymous namespace)::n") ||
                              symbol.starts_with("(anonymous namespace)::g_");
    if (kind == 't') {
      if (runtime_symbol)
        s.runtime_code += bytes;
      else if (symbol.starts_with(name + "_"))
        s.model_code += bytes;
    } else if (kind == 'r' && (runtime_symbol || model_symbol)) {
      s.const_data += bytes;
    } else if (kind == 'b' && symbol == "(anonymous namespace)::g_arena") {
      s.arena_bytes += bytes;
    }
  }
  return s;
}

// Absolute: the tools run in the build folder, not in ours.
fs::path cortex_m_dir() {
  const char* home = std::getenv("TINYQ_HOME");
  return fs::absolute(fs::path(home && *home ? home : TINYQ_SOURCE_DIR) / "targets" / "cortex-m");
}

fs::path insn_count_plugin() {
  const char* p = std::getenv("TINYQ_INSN_COUNT_PLUGIN");
  return fs::absolute(p && *p ? fs::path(p) : fs::path(TINYQ_INSN_COUNT_PLUGIN_PATH));
}

Firmware build_firmware(const GeneratedSources& sources, const Target& target, const std::string& name,
                        const fs::path& build_dir, const FirmwareOptions& options) {
  if (target.qemu_machine.empty())
    fail("--target", "'{}' has no emulator to run on (use cortex-m4, cortex-m7 or cortex-m55)", target.name);
  if (!find_in_path("arm-none-eabi-g++"))
    fail("arm-none-eabi-g++",
         "not found (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
         "libstdc++-arm-none-eabi-newlib qemu-system-arm)");
  const fs::path targets = cortex_m_dir();
  if (!fs::exists(targets / "startup.c"))
    fail(printable(targets), "the Cortex-M target files are missing (check TINYQ_HOME)");
  const fs::path dir = fs::absolute(build_dir);
  Firmware fw;
  fw.dir = dir;
  fw.elf = dir / "firmware.elf";
  fs::create_directories(dir / "src");
  for (const auto& f : sources.files) write_text(dir / "src" / f.path, f.content);
  write_text(dir / "src" / "main.cpp", firmware_main(name, sources.input_count, sources.output_count,
                                                     options.reset_every, sources.patch.has_value()));
  copy_target_files(targets, dir);

  // Every path below is relative to the build folder, where make runs.
  std::string cpu;
  for (const auto& f : target.cpu_flags) cpu += " " + f;
  std::string common = cpu + " " + options.optimization +
                       " -ffunction-sections -fdata-sections -Wall -Wextra -Werror -Isrc -Isrc/tinyq/include -Itarget";
  const std::string lto = options.lto ? " -flto" : "";
  std::string cxx = "arm-none-eabi-g++ -std=c++17 -fno-exceptions -fno-rtti -fno-threadsafe-statics" + common;
  std::string model_flags;
  if (options.profile_layers) model_flags = " -include marker.h '-DTINYQ_LAYER_HOOK(index)=tinyq_marker()'";
  // A Makefile, so the objects build on both cores and a user can rebuild by hand.
  std::string make = "# Written by tinyq: builds the firmware for " + target.name + ".\n";
  std::string objects;
  auto rule = [&](const std::string& object, const std::string& source, const std::string& command) {
    make += fmt::format("{}: {}\n\t{} -c $< -o $@\n", object, source, command);
    objects += " " + object;
  };
  for (const auto& f : sources.files)
    if (f.path.ends_with(".cpp")) {
      const bool runtime = f.path.starts_with("tinyq/");
      const std::string object =
          "obj/" + (runtime ? "rt_" + fs::path(f.path).stem().string() : std::string("model")) + ".o";
      rule(object, "src/" + f.path, cxx + lto + (runtime ? " -ffreestanding" : model_flags));
    }
  rule("obj/main.o", "src/main.cpp", cxx);  // startup, marker and main stay out of LTO
  const std::string cc = "arm-none-eabi-gcc -std=c11" + common;
  rule("obj/startup.o", "target/startup.c", cc);
  rule("obj/marker.o", "target/marker.c", cc);
  make = fmt::format(
             "firmware.elf:{0}\n\tarm-none-eabi-g++{1} {3}{4} -nostartfiles --specs=rdimon.specs -T target/{2} "
             "-L target -Wl,--gc-sections -Wl,-Map=firmware.map{0} -o $@\n\n",
             objects, cpu, target.qemu_machine + ".ld", options.optimization, lto) +
         make;
  make = "all: firmware.elf\n\n" + make;
  write_text(dir / "Makefile", make);
  fs::create_directories(dir / "obj");
  // The compiler's temporary files go in the build folder under a relative name too: GCC's
  // LTO passes its temporary file names to itself in newline-separated lists, which a
  // $TMPDIR holding a newline breaks.
  fs::create_directories(dir / "tmp");
  ProcessOptions build_options = logged_in(dir, dir / "build.log");
  build_options.environment = {"TMPDIR=tmp"};
  const ProcessResult built = run_process({"make", "-s", "-j2"}, build_options);
  if (built.spawn_error == ENOENT) fail("make", "not found (Debian: apt-get install make)");
  if (!built.ok())
    fail(printable(dir / "build.log"), "building the firmware failed ({}): {}", built.describe(),
         first_error(dir / "build.log"));
  ProcessOptions nm_options;
  nm_options.cwd = dir;
  nm_options.stdout_file = dir / "firmware.nm";
  nm_options.stderr_file = "/dev/null";
  const ProcessResult nm = run_process({"arm-none-eabi-nm", "-S", "-C", "firmware.elf"}, nm_options);
  if (!nm.ok()) fail(printable(dir / "firmware.elf"), "arm-none-eabi-nm failed ({})", nm.describe());
  fw.sizes = sizes_from_symbols(slurp(dir / "firmware.nm"), name);
  return fw;
}

FirmwareRun run_firmware(const Firmware& fw, const Target& target, const std::vector<std::int8_t>& inputs,
                         bool count_instructions, int timeout_seconds, bool instruction_mix) {
  {
    std::ofstream in(fw.dir / "tinyq_inputs.bin", std::ios::binary);
    in.write(reinterpret_cast<const char*>(inputs.data()), std::streamsize(inputs.size()));
  }
  fs::remove(fw.dir / "tinyq_outputs.bin");
  fs::remove(fw.dir / "counts.txt");
  // The script and the plugin run from the build folder under fixed names (see
  // copy_target_files): QEMU's -plugin option would split a path holding a comma.
  std::vector<std::string> argv = {"/bin/sh",      "target/run-qemu.sh", target.name,
                                   "firmware.elf", "--timeout",          std::to_string(timeout_seconds)};
  if (count_instructions) {
    const fs::path plugin = insn_count_plugin();
    if (!fs::is_regular_file(plugin))
      fail(printable(plugin), "the QEMU instruction-count plugin is missing (set TINYQ_INSN_COUNT_PLUGIN)");
    fs::copy_file(plugin, fw.dir / "target" / "libinsn_count.so", fs::copy_options::overwrite_existing);
    for (const char* a : {"--count", "counts.txt", "--plugin", "target/libinsn_count.so"}) argv.push_back(a);
    if (instruction_mix) argv.push_back("--mix");
  }
  const fs::path log = fw.dir / "qemu.log";
  const ProcessResult ran = run_process(argv, logged_in(fw.dir, log));
  if (!ran.ok()) {
    const int code = ran.exit_code;
    fail(target.name, "the firmware failed on QEMU ({}{}); see {}", ran.describe(),
         code == 124 ? ", timed out" : (code == 100 ? ", a fault" : ""), printable(log));
  }
  FirmwareRun run;
  const std::string out = slurp(fw.dir / "tinyq_outputs.bin");
  run.outputs.assign(out.begin(), out.end());
  if (count_instructions) {
    std::istringstream counts(slurp(fw.dir / "counts.txt"));
    for (std::string line; std::getline(counts, line);) {
      std::istringstream words(line);
      std::string kind, index;
      words >> kind >> index;
      if (kind == "marker") {
        std::string address;
        std::uint64_t count = 0;
        words >> address >> count;
        run.marker_counts.push_back(count);
      } else if (kind == "mix" && index != "total") {
        const std::optional<InstructionMix> mix =
            parse_instruction_mix(std::string_view(line).substr(5 + index.size()));
        if (!mix) fail(printable(fw.dir / "counts.txt"), "unreadable instruction mix line (plugin out of date?)");
        run.marker_mix.push_back(*mix);
      }
    }
  }
  return run;
}

}  // namespace tinyq
