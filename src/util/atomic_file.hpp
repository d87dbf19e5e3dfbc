#pragma once
// Writing output files without ever leaving a half-written file, following a symlink an
// attacker planted at a predictable temporary name, or destroying a file of the user's.
// Every file tinyq writes goes through AtomicFile: the data goes to a fresh temporary in
// the target's folder (mkstemp: unpredictable name, O_EXCL, never through a symlink) and
// is renamed over the target only when complete. Errors name the path and say why.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tinyq {

class AtomicFile {
 public:
  // Creates the temporary next to `path`. Throws tinyq::Error naming `path` if the folder
  // does not exist or is not writable.
  explicit AtomicFile(std::string path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Without commit(): removes the temporary (and only it); the target is untouched.
  ~AtomicFile();

  void write(const void* data, std::size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }
  // Closes the temporary, gives it a normal file's permissions and renames it over the
  // target. On failure the temporary is removed and the target is untouched.
  void commit();

  const std::string& path() const { return path_; }

 private:
  void discard() noexcept;

  std::string path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

// The whole file at once: AtomicFile, write, commit.
void write_file_atomically(const std::string& path, std::string_view content);

// Throws tinyq::Error naming `path` unless a file can be written there: its folder exists
// and is writable, `path` is not a folder, and it is not the same file (through symlinks
// and hard links too) as any of `inputs`. Call it for every output before the first is
// written, so a bad later output does not leave an earlier one behind.
void check_output_file(const std::string& path, const std::vector<std::string>& inputs = {});

// Throws tinyq::Error if two of `outputs` name the same file.
void check_distinct_outputs(const std::vector<std::string>& outputs);

// The process umask (read once): new files get 0666 and folders 0777 less these bits.
unsigned process_umask();

// True if `a` and `b` name the same existing file (std::filesystem::equivalent), or the
// same path once made absolute and normalized when either does not exist.
bool same_file(const std::string& a, const std::string& b);

}  // namespace tinyq
