#pragma once
// The restore spool: the backup tarball is read once as a stream, and its items wait on disk, one file per
// resource directory, until their tier is restored (Velero extracts the whole tarball to a directory instead;
// a spool keeps a 300k-object restore's memory flat).
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace arca::restore {

struct SpooledItem {
  std::string ns;  // "" for cluster-scoped
  std::string name;
  std::string json;
  long offset = -1;  // where it starts in its resource's spool file
};

// resources/<dir>/[<version_dir>/]{cluster|namespaces/<ns>}/<name>.json → resource, version_dir ("" for the
// unversioned copy), item.ns and item.name; false for anything else (deeper paths are not items).
bool parse_item_path(const std::string& path, std::string& resource, std::string& version_dir, SpooledItem& item);

class Spool {
 public:
  // Creates "<parent or $TMPDIR>/arca-restore-spool-<pid>-XXXXXX"; removed with the spool.
  explicit Spool(const std::string& parent);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Returns the item's offset, for read_at.
  long add(const std::string& resource, const SpooledItem& item);
  // After the last add: read_at reads the files directly.
  void flush();

  std::vector<std::string> resources() const;
  size_t items(const std::string& resource) const;
  size_t total_items() const;

  // `resource`'s items become those spooled under `from` (a version directory's, Velero's
  // pkg/restore/prioritize_group_version.go).
  void replace(const std::string& resource, const std::string& from);
  void erase(const std::string& resource);

  // Calls `each` for every item of `resource` in tarball order.
  void read(const std::string& resource, const std::function<void(SpooledItem&&)>& each);
  // The item `add` put at `offset`, for additional items, which are wanted out of order. pread leaves the
  // position of a read() of the same file alone, so any thread may call it once flush() has run.
  SpooledItem read_at(const std::string& resource, long offset) const;

 private:
  struct File {
    std::string path;
    std::FILE* file = nullptr;
    size_t items = 0;
  };
  std::string dir_;
  std::map<std::string, File> files_;
  size_t next_file_ = 0;
};

}  // namespace arca::restore
