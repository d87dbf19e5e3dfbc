#include "codegen/firmware.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "util/error.hpp"

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

int run_command(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Single-quoted for the shell (appended piecewise: GCC 12 reports a false -Wrestrict on
// "'" + s + "'").
std::string quoted(const fs::path& p) {
  std::string q(1, '\'');
  q += p.string();
  q += '\'';
  return q;
}

std::string firmware_main(const std::string& name) {
  std::string upper = name;
  for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
  return fmt::format(R"(// Firmware written by tinyq bench / verify: runs the model on every input of
// tinyq_inputs.bin (semihosting file I/O) and writes the outputs to tinyq_outputs.bin.
#include <stdio.h>

#include "{0}.h"
#include "marker.h"

int main(void) {{
  FILE* in = fopen("tinyq_inputs.bin", "rb");
  FILE* out = fopen("tinyq_outputs.bin", "wb");
  if (in == NULL || out == NULL) {{
    puts("tinyq firmware: cannot open tinyq_inputs.bin / tinyq_outputs.bin");
    return 3;
  }}
  while (fread({0}_input(), 1, {1}_INPUT_SIZE, in) == {1}_INPUT_SIZE) {{
    tinyq_marker();
    {0}_invoke();
    tinyq_marker();
    if (fwrite({0}_output(), 1, {1}_OUTPUT_SIZE, out) != {1}_OUTPUT_SIZE) return 4;
  }}
  fclose(in);
  return fclose(out) == 0 ? 0 : 4;
}}
)",
                     name, upper);
}

// Sizes by symbol, from `arm-none-eabi-nm -S -C` of the linked ELF (LTO merges objects, so
// symbols, not object files, say what is whose). Runtime code: tinyq::rt functions and the
// kernels' assembly entry points (tinyq_dsp_*, tinyq_mve_*); model code: the generated
// NAME_* functions (kernels LTO inlined into NAME_invoke count there); constants: the
// generated arrays and parameter structs and the runtime's tables; the arena: g_arena.
// Startup, newlib and the test harness are left out.
FirmwareSizes sizes_from_symbols(const std::string& nm_output, const std::string& name) {
  FirmwareSizes s;
  std::istringstream lines(nm_output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string address, size_hex, type;
    if (!(words >> address >> size_hex >> type) || type.size() != 1) continue;
    std::string symbol;
    std::getline(words >> std::ws, symbol);
    std::size_t bytes = 0;
    try {
      bytes = std::stoul(size_hex, nullptr, 16);
    } catch (const std::exception&) {
      continue;
    }
    const char kind = char(std::tolower(static_cast<unsigned char>(type[0])));
    const bool runtime_symbol =
        symbol.starts_with("tinyq::rt::") || symbol.starts_with("tinyq_dsp_") || symbol.starts_with("tinyq_mve_");
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

}  // namespace

fs::path cortex_m_dir() {
  if (const char* home = std::getenv("TINYQ_HOME")) return fs::path(home) / "targets" / "cortex-m";
  return fs::path(TINYQ_SOURCE_DIR) / "targets" / "cortex-m";
}

fs::path insn_count_plugin() {
  if (const char* p = std::getenv("TINYQ_INSN_COUNT_PLUGIN")) return p;
  return fs::path(TINYQ_INSN_COUNT_PLUGIN_PATH);
}

Firmware build_firmware(const GeneratedSources& sources, const Target& target, const std::string& name,
                        const fs::path& dir, const FirmwareOptions& options) {
  if (target.qemu_machine.empty())
    fail("--target", "'{}' has no emulator to run on (use cortex-m4, cortex-m7 or cortex-m55)", target.name);
  if (run_command("command -v arm-none-eabi-g++ >/dev/null 2>&1") != 0)
    fail("arm-none-eabi-g++",
         "not found (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
         "libstdc++-arm-none-eabi-newlib qemu-system-arm)");
  const fs::path targets = cortex_m_dir();
  if (!fs::exists(targets / "startup.c")) fail(targets.string(), "the Cortex-M target files are missing");
  Firmware fw;
  fw.dir = dir;
  fw.elf = dir / "firmware.elf";
  fs::create_directories(dir / "src");
  for (const auto& f : sources.files) write_text(dir / "src" / f.path, f.content);
  write_text(dir / "src" / "main.cpp", firmware_main(name));

  std::string cpu;
  for (const auto& f : target.cpu_flags) cpu += " " + f;
  std::string common = cpu + " " + options.optimization +
                       " -ffunction-sections -fdata-sections -Wall -Wextra -Werror -I" + quoted(dir / "src") + " -I" +
                       quoted(dir / "src" / "tinyq" / "include") + " -I" + quoted(targets);
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
  rule("obj/startup.o", (targets / "startup.c").string(), cc);
  rule("obj/marker.o", (targets / "marker.c").string(), cc);
  make =
      fmt::format(
          "firmware.elf:{0}\n\tarm-none-eabi-g++{1} {4}{5} -nostartfiles --specs=rdimon.specs -T {2} -L {3} "
          "-Wl,--gc-sections -Wl,-Map=firmware.map{0} -o $@\n\n",
          objects, cpu, quoted(targets / (target.qemu_machine + ".ld")), quoted(targets), options.optimization, lto) +
      make;
  make = "all: firmware.elf\n\n" + make;
  write_text(dir / "Makefile", make);
  fs::create_directories(dir / "obj");
  if (run_command("cd " + quoted(dir) + " && make -s -j2 > build.log 2>&1") != 0)
    fail((dir / "build.log").string(), "building the firmware failed: {}", [&] {
      std::string log = slurp(dir / "build.log");
      const std::size_t e = log.find("error");
      std::string first = e == std::string::npos ? log.substr(0, 200) : log.substr(e, 200);
      return first.substr(0, first.find('\n'));
    }());
  if (run_command("cd " + quoted(dir) + " && arm-none-eabi-nm -S -C firmware.elf > firmware.nm 2>/dev/null") != 0)
    fail((dir / "firmware.elf").string(), "arm-none-eabi-nm failed");
  fw.sizes = sizes_from_symbols(slurp(dir / "firmware.nm"), name);
  return fw;
}

FirmwareRun run_firmware(const Firmware& fw, const Target& target, const std::vector<std::int8_t>& inputs,
                         bool count_instructions, int timeout_seconds) {
  {
    std::ofstream in(fw.dir / "tinyq_inputs.bin", std::ios::binary);
    in.write(reinterpret_cast<const char*>(inputs.data()), std::streamsize(inputs.size()));
  }
  fs::remove(fw.dir / "tinyq_outputs.bin");
  fs::remove(fw.dir / "counts.txt");
  std::string cmd = "cd " + quoted(fw.dir) + " && " + quoted(cortex_m_dir() / "run-qemu.sh") + " " + target.name +
                    " firmware.elf --timeout " + std::to_string(timeout_seconds);
  if (count_instructions) cmd += " --count counts.txt --plugin " + quoted(insn_count_plugin());
  cmd += " > qemu.log 2>&1";
  const int code = run_command(cmd);
  if (code != 0)
    fail(target.name, "the firmware failed on QEMU (exit {}{}); see {}", code,
         code == 124 ? ", timed out" : (code == 100 ? ", a fault" : ""), (fw.dir / "qemu.log").string());
  FirmwareRun run;
  const std::string out = slurp(fw.dir / "tinyq_outputs.bin");
  run.outputs.assign(out.begin(), out.end());
  if (count_instructions) {
    std::istringstream counts(slurp(fw.dir / "counts.txt"));
    for (std::string word; counts >> word;)
      if (word == "marker") {
        std::string index, address;
        std::uint64_t count = 0;
        counts >> index >> address >> count;
        run.marker_counts.push_back(count);
      }
  }
  return run;
}

}  // namespace tinyq
