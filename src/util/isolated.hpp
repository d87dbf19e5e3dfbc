#pragma once
// Running a library call that may crash, hang or exhaust memory on hostile input in a forked
// child process, so that its failure becomes one error line instead of taking tinyq down.
// Used where a Debian library is known not to validate what it reads (libhdf5 1.10 on corrupt
// files, libonnx 1.13's version converter and legacy shape inference on malformed graphs).
#include <functional>
#include <string>

namespace tinyq {

struct Isolation {
  std::string where;     // the file or item the error lines name
  std::string worker;    // what runs in the child, for messages: "the HDF5 reader"
  std::string on_crash;  // why it would crash: "libhdf5 crashed reading the file"
  std::string cause;     // what a crash or timeout says about the input: "its HDF5 structure is corrupt"
  unsigned seconds = 120;
};

// Runs `work` in a child process and returns the bytes it returned. A tinyq::Error thrown in
// the child is rethrown here with its place and message; any other exception, a signal or
// running past `seconds` becomes an Error naming `isolation.where`.
std::string run_isolated(const std::function<std::string()>& work, const Isolation& isolation);

}  // namespace tinyq
