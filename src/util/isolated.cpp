#include "util/isolated.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <exception>
#include <new>

#include "util/error.hpp"

// Present only in sanitizer builds (the fuzzers): the callback libFuzzer sets to save the
// input it was running when the process dies.
extern "C" void __sanitizer_set_death_callback(void (*callback)()) __attribute__((weak));

namespace tinyq {

namespace {

// The child's answer: one tag byte, then either the work's bytes or an error's place and
// message (each length-prefixed).
enum : char { kResult = 'R', kError = 'E' };

void append_text(std::string& out, const std::string& text) {
  const std::uint64_t n = text.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out += text;
}

std::string error_frame(const Error& e) {
  std::string out(1, kError);
  append_text(out, e.where());
  // Error::what() is "where: message"; the message goes alone so the parent rebuilds it.
  std::string message = e.what();
  if (!e.where().empty() && message.rfind(e.where() + ": ", 0) == 0) message.erase(0, e.where().size() + 2);
  append_text(out, message);
  return out;
}

void write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent went away: nothing to report to
    done += std::size_t(n);
  }
}

// A crash in the child must end it by its signal, for the parent to report: handlers the
// process installed (a sanitizer's, libFuzzer's, which would also save the input as the
// fuzzer's own crash) go back to the default.
void restore_default_crash_handling() {
  for (const int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(signal, SIG_DFL);
  if (__sanitizer_set_death_callback != nullptr) __sanitizer_set_death_callback(nullptr);
}

[[noreturn]] void run_child(const std::function<std::string()>& work, const Isolation& isolation, int fd) {
  restore_default_crash_handling();
  // A hostile input can also make the library loop: the child ends itself after a while.
  std::signal(SIGALRM, SIG_DFL);
  sigset_t alarm_only;
  sigemptyset(&alarm_only);
  sigaddset(&alarm_only, SIGALRM);
  sigprocmask(SIG_UNBLOCK, &alarm_only, nullptr);
  ::alarm(isolation.seconds);
  std::string bytes;
  try {
    bytes.assign(1, kResult);
    bytes += work();
  } catch (const Error& e) {
    bytes = error_frame(e);
  } catch (const std::bad_alloc&) {
    bytes = error_frame(Error(isolation.where, "out of memory in " + isolation.worker));
  } catch (const std::exception& e) {
    bytes = error_frame(Error(isolation.where, isolation.worker + " failed: " + e.what()));
  }
  write_all(fd, bytes);
  ::_exit(0);  // no atexit handlers, no destructors of the parent's objects
}

// Reads one length-prefixed text at `pos`, or nothing when the frame is cut short.
bool read_text(const std::string& frame, std::size_t& pos, std::string& text) {
  std::uint64_t n = 0;
  if (frame.size() - pos < sizeof n) return false;
  std::memcpy(&n, frame.data() + pos, sizeof n);
  pos += sizeof n;
  if (n > frame.size() - pos) return false;
  text = frame.substr(pos, std::size_t(n));
  pos += std::size_t(n);
  return true;
}

}  // namespace

std::string run_isolated(const std::function<std::string()>& work, const Isolation& isolation) {
  const std::string& where = isolation.where;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    fail(where, "cannot create a pipe for {}: {}", isolation.worker, std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    fail(where, "cannot start {} process: {}", isolation.worker, std::strerror(error));
  }
  if (pid == 0) {
    ::close(fds[0]);
    run_child(work, isolation, fds[1]);
  }
  ::close(fds[1]);
  std::string frame;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    frame.append(buffer, std::size_t(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) fail(where, "lost {} process: {}", isolation.worker, std::strerror(errno));
  if (WIFSIGNALED(status)) {
    if (WTERMSIG(status) == SIGALRM)
      fail(where, "{} took over {} s: {}", isolation.worker, isolation.seconds, isolation.cause);
    fail(where, "{} (signal {}): {}", isolation.on_crash, WTERMSIG(status), isolation.cause);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail(where, "{} process failed (exit status {}): {}", isolation.worker,
         WIFEXITED(status) ? WEXITSTATUS(status) : -1, isolation.cause);
  if (frame.empty()) fail(where, "{} process sent nothing (a tinyq bug)", isolation.worker);
  if (frame[0] == kResult) return frame.substr(1);
  std::size_t pos = 1;
  std::string error_where, message;
  if (frame[0] != kError || !read_text(frame, pos, error_where) || !read_text(frame, pos, message))
    fail(where, "{} process sent malformed data (a tinyq bug)", isolation.worker);
  throw Error(std::move(error_where), std::move(message));
}

}  // namespace tinyq
