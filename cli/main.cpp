// The `tinyq` command. Exit codes: 0 success, 1 a requested check failed, 2 bad input or
// usage (one line on stderr naming the file, node or argument), 3 an internal error.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <new>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "util/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"tinyq: int8 quantization and code generation for microcontrollers"};
  app.set_version_flag("--version", "tinyq 0.1.0");
  app.require_subcommand(1);
  int result = tinyq::cli::kExitOk;
  tinyq::cli::add_inspect_command(app, result);
  tinyq::cli::add_run_command(app, result);
  tinyq::cli::add_quantize_command(app, result);
  tinyq::cli::add_eval_command(app, result);
  tinyq::cli::add_generate_command(app, result);
  tinyq::cli::add_bench_command(app, result);
  tinyq::cli::add_verify_command(app, result);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    // One line, not CLI11's block: the contract is one line on stderr.
    fmt::print(stderr, "tinyq: usage error: {} (see --help)\n", e.what());
    return tinyq::cli::kExitBadInput;
  } catch (const tinyq::Error& e) {
    fmt::print(stderr, "tinyq: error: {}\n", e.what());
    return tinyq::cli::kExitBadInput;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "tinyq: error: out of memory\n");
    return tinyq::cli::kExitBadInput;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tinyq: internal error: {}\n", e.what());
    return 3;
  }
  return result;
}
