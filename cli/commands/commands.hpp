#pragma once
#include <CLI/CLI.hpp>

namespace tinyq::cli {

// Each adds one subcommand to `app`; its callback stores the exit code in `result`.
void add_inspect_command(CLI::App& app, int& result);
void add_run_command(CLI::App& app, int& result);
void add_eval_command(CLI::App& app, int& result);
void add_quantize_command(CLI::App& app, int& result);
void add_generate_command(CLI::App& app, int& result);
void add_bench_command(CLI::App& app, int& result);
void add_verify_command(CLI::App& app, int& result);

}  // namespace tinyq::cli
