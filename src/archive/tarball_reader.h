#pragma once
// Reads a gzip'd tar (a backup tarball) as a stream, refusing anything that could hurt the reader: paths
// that escape (absolute, ".."), links and devices, entries over a size limit, corrupt or truncated input.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace arca::archive {

// One line naming the entry (when there is one) and what is wrong.
class ArchiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Pull-style source: fills up to `capacity` bytes, returns how many; 0 at the end.
using ByteSource = std::function<size_t(char* buffer, size_t capacity)>;

struct ReaderLimits {
  uint64_t max_entry_size = 64ull << 20;  // one Kubernetes object is far smaller (etcd caps at 1.5 MiB)
  size_t max_path_length = 4096;
};

struct TarEntry {
  std::string path;  // relative, normalised (no "./" prefix)
  uint64_t size = 0;
  uint32_t mode = 0;
};

class TarballReader {
 public:
  explicit TarballReader(ByteSource source, ReaderLimits limits = {});
  ~TarballReader();
  TarballReader(const TarballReader&) = delete;
  TarballReader& operator=(const TarballReader&) = delete;

  // The next regular file (directory entries are skipped), or nullopt at the end of the archive.
  std::optional<TarEntry> next();
  // The rest of the current entry's content.
  std::string read_content();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace arca::archive
