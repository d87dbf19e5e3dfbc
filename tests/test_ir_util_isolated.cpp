// run_isolated: a library call that crashes, hangs or throws in the child becomes one Error in
// the parent, and what the child returns arrives byte for byte.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "util/error.hpp"
#include "util/isolated.hpp"

namespace tinyq {
namespace {

Isolation test_isolation(unsigned seconds = 30) {
  return {.where = "model.bin",
          .worker = "the test worker",
          .on_crash = "the test worker crashed",
          .cause = "the input is hostile",
          .seconds = seconds};
}

std::string error_of(const std::function<std::string()>& work, const Isolation& isolation) {
  try {
    run_isolated(work, isolation);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(RunIsolated, ReturnsTheChildsBytesExactly) {
  std::string bytes(200000, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = char(i * 7 + 3);
  EXPECT_EQ(run_isolated([&] { return bytes; }, test_isolation()), bytes);
  EXPECT_EQ(run_isolated([] { return std::string(); }, test_isolation()), "");
}

TEST(RunIsolated, AnErrorInTheChildKeepsItsPlaceAndMessage) {
  try {
    run_isolated([]() -> std::string { fail("layer 'conv1'", "kernel is {}-D", 5); }, test_isolation());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "layer 'conv1'");
    EXPECT_EQ(std::string(e.what()), "layer 'conv1': kernel is 5-D");
  }
}

TEST(RunIsolated, ACrashIsOneErrorLineNamingTheFile) {
  const std::string what = error_of(
      []() -> std::string {
        std::raise(SIGSEGV);
        return "unreachable";
      },
      test_isolation());
  EXPECT_EQ(what, "model.bin: the test worker crashed (signal 11): the input is hostile");
}

TEST(RunIsolated, AHangEndsAfterTheTimeLimit) {
  const std::string what = error_of(
      []() -> std::string {
        for (;;) ::pause();
      },
      test_isolation(1));
  EXPECT_EQ(what, "model.bin: the test worker took over 1 s: the input is hostile");
}

TEST(RunIsolated, OtherExceptionsAreNamed) {
  const std::string what = error_of([]() -> std::string { throw std::out_of_range("vector::at"); }, test_isolation());
  EXPECT_EQ(what, "model.bin: the test worker failed: vector::at");
}

}  // namespace
}  // namespace tinyq
