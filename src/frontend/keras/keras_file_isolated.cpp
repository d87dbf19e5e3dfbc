// The reader child process (keras_file.hpp says why) and the bytes it sends back: a small
// length-prefixed encoding, decoded with bounds checks.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <new>

#include "frontend/keras/keras_file.hpp"
#include "util/bytes.hpp"
#include "util/error.hpp"

namespace tinyq::keras_import {

namespace {

constexpr char kMagic[4] = {'T', 'Q', 'K', 'H'};
enum : std::uint8_t { kContents = 0, kError = 1 };

class Writer {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(char(v)); }
  void u64(std::uint64_t v) { raw(&v, sizeof v); }
  void text(const std::string& s) {
    u64(s.size());
    bytes_ += s;
  }
  void optional_text(const std::optional<std::string>& s) {
    u8(s.has_value());
    if (s) text(*s);
  }
  void raw(const void* data, std::size_t n) {
    if (n != 0) bytes_.append(static_cast<const char*>(data), n);
  }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

class Reader {
 public:
  Reader(const std::string& bytes, std::string where) : bytes_(bytes), where_(std::move(where)) {}
  std::uint8_t u8() { return std::uint8_t(*take(1)); }
  std::uint64_t u64() {
    std::uint64_t v;
    std::memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  // A count of items each at least `min_bytes` long: bounded by what is left.
  std::size_t count(std::size_t min_bytes) {
    const std::uint64_t n = u64();
    if (n > (bytes_.size() - pos_) / std::max<std::size_t>(min_bytes, 1)) broken();
    return std::size_t(n);
  }
  std::string text() {
    const std::size_t n = count(1);
    return std::string(take(n), n);
  }
  std::optional<std::string> optional_text() {
    if (!u8()) return std::nullopt;
    return text();
  }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  const char* take(std::size_t n) {
    if (n > bytes_.size() - pos_) broken();
    const char* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  [[noreturn]] void broken() const { fail(where_, "the HDF5 reader process sent malformed data (a tinyq bug)"); }

 private:
  const std::string& bytes_;
  std::string where_;
  std::size_t pos_ = 0;
};

std::string encode_error(const Error& e) {
  Writer w;
  w.raw(kMagic, 4);
  w.u8(kError);
  w.text(e.where());
  // Error::what() is "where: message"; send the message alone so the parent rebuilds it.
  std::string message = e.what();
  if (!e.where().empty() && message.rfind(e.where() + ": ", 0) == 0) message.erase(0, e.where().size() + 2);
  w.text(message);
  return w.take();
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

[[noreturn]] void run_child(const std::string& path, int fd) {
  // A corrupt file can also make libhdf5 loop: the child ends itself after a while.
  std::signal(SIGALRM, SIG_DFL);
  sigset_t alarm_only;
  sigemptyset(&alarm_only);
  sigaddset(&alarm_only, SIGALRM);
  sigprocmask(SIG_UNBLOCK, &alarm_only, nullptr);
  ::alarm(kReadSeconds);
  std::string bytes;
  try {
    bytes = encode_contents(read_keras_file_here(path));
  } catch (const Error& e) {
    bytes = encode_error(e);
  } catch (const std::bad_alloc&) {
    bytes = encode_error(Error(path, "out of memory reading the file"));
  } catch (const std::exception& e) {
    bytes = encode_error(Error(path, std::string("reading failed: ") + e.what()));
  }
  write_all(fd, bytes);
  ::_exit(0);  // no atexit handlers, no destructors of the parent's objects
}

}  // namespace

std::string encode_contents(const KerasFileContents& c) {
  Writer w;
  w.raw(kMagic, 4);
  w.u8(kContents);
  w.optional_text(c.model_config);
  w.optional_text(c.keras_version);
  w.optional_text(c.backend);
  w.u8(c.has_model_weights);
  w.u8(c.layer_names.has_value());
  if (c.layer_names) {
    w.u64(c.layer_names->size());
    for (auto& name : *c.layer_names) w.text(name);
  }
  w.u64(c.layers.size());
  for (auto& [name, layer] : c.layers) {
    w.text(name);
    w.text(layer.error);
    w.u64(layer.weights.size());
    for (auto& weight : layer.weights) {
      w.text(weight.name);
      w.text(weight.error);
      if (!weight.error.empty()) continue;  // no tensor
      w.u64(weight.tensor.shape().size());
      for (auto d : weight.tensor.shape()) w.u64(std::uint64_t(d));
      w.raw(weight.tensor.bytes().data(), weight.tensor.byte_size());
    }
  }
  return w.take();
}

KerasFileContents decode_contents(const std::string& bytes, const std::string& where) {
  Reader r(bytes, where);
  if (std::memcmp(r.take(4), kMagic, 4) != 0) r.broken();
  if (r.u8() == kError) {
    std::string error_where = r.text();
    throw Error(std::move(error_where), r.text());
  }
  KerasFileContents c;
  c.model_config = r.optional_text();
  c.keras_version = r.optional_text();
  c.backend = r.optional_text();
  c.has_model_weights = r.u8() != 0;
  if (r.u8()) {
    c.layer_names.emplace(r.count(8));
    for (auto& name : *c.layer_names) name = r.text();
  }
  const std::size_t layers = r.count(24);
  for (std::size_t i = 0; i < layers; ++i) {
    std::string name = r.text();
    StoredLayer layer;
    layer.error = r.text();
    layer.weights.resize(r.count(24));
    for (auto& weight : layer.weights) {
      weight.name = r.text();
      weight.error = r.text();
      if (!weight.error.empty()) continue;
      Shape shape(r.count(8));
      for (auto& d : shape) d = std::int64_t(r.u64());
      const std::int64_t count = element_count(shape, where);
      if (std::uint64_t(count) * 4 > r.remaining()) r.broken();  // before allocating
      weight.tensor = Tensor(DType::f32, shape);
      copy_bytes(weight.tensor.bytes().data(), r.take(weight.tensor.byte_size()), weight.tensor.byte_size());
    }
    c.layers[name] = std::move(layer);
  }
  return c;
}

KerasFileContents read_keras_file(const std::string& path) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail(path, "cannot create a pipe for the HDF5 reader: {}", std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    fail(path, "cannot start the HDF5 reader process: {}", std::strerror(error));
  }
  if (pid == 0) {
    ::close(fds[0]);
    run_child(path, fds[1]);
  }
  ::close(fds[1]);
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes.append(buffer, std::size_t(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) fail(path, "lost the HDF5 reader process: {}", std::strerror(errno));
  if (WIFSIGNALED(status)) {
    if (WTERMSIG(status) == SIGALRM)
      fail(path, "reading the HDF5 structure took over {} s: a corrupt file", kReadSeconds);
    fail(path, "libhdf5 crashed reading the file (signal {}): its HDF5 structure is corrupt", WTERMSIG(status));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail(path, "the HDF5 reader process failed (exit status {})", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return decode_contents(bytes, path);
}

}  // namespace tinyq::keras_import
