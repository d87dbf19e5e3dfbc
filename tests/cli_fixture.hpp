#pragma once
// Runs the tinyq binary in tests: exit code, stdout, stderr, in a private temp folder.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "normal_values.hpp"

namespace tinyq::testing {

namespace fs = std::filesystem;
const fs::path kTinyq = fs::path(TINYQ_BINARY_DIR) / "tinyq";
const fs::path kModels = fs::path(TINYQ_SOURCE_DIR) / "models";
const std::string kImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const std::string kLabels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

struct Result {
  int code;
  std::string out, err;
  int error_lines() const {
    int lines = 0;
    for (char c : err) lines += c == '\n';
    return lines;
  }
};

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tinyq_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result run(const std::string& args) {
    fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    std::string cmd = kTinyq.string() + " " + args + " >" + out.string() + " 2>" + err.string();
    int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }
  // Runs tinyq with exactly these arguments, no shell in between (paths may hold quotes,
  // spaces, `$()`, newlines), optionally in another working folder and with extra
  // environment variables ("NAME=value").
  Result run_argv(const std::vector<std::string>& args, const fs::path& cwd = {},
                  const std::vector<std::string>& env = {}) {
    fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
      std::FILE* o = std::freopen(out.c_str(), "wb", stdout);
      std::FILE* e = std::freopen(err.c_str(), "wb", stderr);
      if (o == nullptr || e == nullptr) ::_exit(126);
      for (const auto& kv : env) ::putenv(const_cast<char*>(kv.c_str()));
      std::vector<char*> argv{const_cast<char*>(kTinyq.c_str())};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(kTinyq.c_str(), argv.data());
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  fs::path write(const std::string& name, const std::string& bytes) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  // A float32 .npy of the given shape filled with `value`.
  fs::path write_npy(const std::string& name, std::vector<std::int64_t> shape, float value = 0.5f) {
    std::string dims;
    std::size_t count = 1;
    for (auto d : shape) {
      dims += std::to_string(d) + ",";
      count *= std::size_t(d);
    }
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
    bytes += char(header.size() & 0xff);
    bytes += char(header.size() >> 8);
    bytes += header;
    std::vector<float> data(count, value);
    bytes.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
    return write(name, bytes);
  }
  void expect_bad_input(const Result& r, const std::string& must_mention) {
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.error_lines(), 1) << r.err;
    EXPECT_NE(r.err.find(must_mention), std::string::npos) << r.err;
  }
  fs::path dir_;
};

}  // namespace tinyq::testing
