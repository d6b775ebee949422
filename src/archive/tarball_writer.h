#pragma once
// Writes a backup tarball as Velero does (Velero's pkg/backup/backup.go and pkg/archive): gzip'd tar of regular files with mode 0755,
// no directory entries, `metadata/version` first, preferred-version items twice. Streams: memory does not
// grow with the number or size of entries.
#include <ctime>
#include <functional>
#include <span>
#include <string_view>

#include "archive/parallel_gzip.h"
#include "archive/paths.h"

namespace arca::archive {

// Called once per content written, with every path it was stored under (an item and its preferred-version copy
// in one call), after its entries went to the gzip stream: a signed backup hashes each content once here, while
// its bytes are at hand, instead of reading the tarball back.
using ContentObserver = std::function<void(std::span<const std::string_view> paths, std::string_view content)>;

struct TarballOptions {
  GzipOptions gzip;
  std::time_t mtime = 0;  // 0: now (Velero stamps entries with the time of writing)
  ContentObserver on_content;  // unset: nobody watches
};

class TarballWriter {
 public:
  // Writes `metadata/version` at once.
  explicit TarballWriter(ByteSink out, TarballOptions options = {});
  TarballWriter(const TarballWriter&) = delete;
  TarballWriter& operator=(const TarballWriter&) = delete;

  // One regular file. Paths are relative, without "..", as Velero's extractor requires.
  void add_file(std::string_view path, std::string_view content);
  // An item under resources/: the unversioned path, then, when `version` is the resource's preferred version,
  // the `<version>-preferredversion` copy; a non-preferred version goes only under `<version>/`.
  void add_item(const ItemLocation& item, std::string_view version, bool preferred, std::string_view json);
  // The end-of-archive blocks and the last gzip blocks. The tarball is incomplete without it.
  void finish();

 private:
  void write_header(std::string_view path, char type, size_t size);
  void write_padded(std::string_view data);
  void write_file(std::string_view path, std::string_view content);

  ParallelGzip gzip_;
  std::time_t mtime_;
  ContentObserver on_content_;
};

}  // namespace arca::archive
