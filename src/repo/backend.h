#pragma once
// Where a repository's files live: a local directory, or any arca ObjectStore under a key prefix (Velero lays
// repositories out at <prefix>/restic/<namespace>/ in a backup storage location). Names are relative to the
// repository root: "config", "keys/<id>", "data/<id[0:2]>/<id>", "index/<id>", "snapshots/<id>", "locks/<id>".
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace arca::store {
class ObjectStore;
}

namespace arca::repo {

// A pack being assembled on disk, so that no pack sits in memory whole (restic, too, writes packs to temporary
// files): written through `fd`, then save_temp() makes it a repository file.
struct TempFile {
  int fd = -1;
  std::string path;  // where it is, or "" for an unnamed file (O_TMPFILE)
};

struct FileInfo {
  std::string name;  // base name (the ID for everything but config)
  uint64_t size = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Atomic: a reader sees the whole file or none of it. Throws on failure.
  virtual void save(const std::string& name, std::string_view data) = 0;
  virtual std::string load(const std::string& name) = 0;  // throws NotFound-ish std::runtime_error naming it
  virtual std::string load_range(const std::string& name, uint64_t offset, uint64_t length) = 0;
  // The same into `out`, whose memory a caller reading range after range reuses (fresh megabytes per range
  // cost page faults: a tenth of a restore's CPU).
  virtual void load_range_into(const std::string& name, uint64_t offset, uint64_t length, std::string& out) {
    out = load_range(name, offset, length);
  }
  virtual bool exists(const std::string& name) = 0;
  // Files of one type: "data" lists every pack below data/xx/.
  virtual std::vector<FileInfo> list(const std::string& type) = 0;
  virtual void remove(const std::string& name) = 0;
  virtual std::string describe() const = 0;
  // Default: an unnamed file in $TMPDIR. The caller closes it (discard_temp) whatever happens.
  virtual TempFile create_temp();
  // The first `size` bytes of `file` become `name`, as atomically as save(). Default: streamed into save().
  virtual void save_temp(const std::string& name, TempFile& file, uint64_t size);
  virtual void discard_temp(TempFile& file);
  // A directory backend creates data/00..ff, keys, locks, ... as restic's local backend expects them.
  virtual void create_layout() {}
};

// "name" → path of a file of `type` ("data" packs go one directory deeper).
std::string file_name(const std::string& type, const std::string& id);

// Where Velero keeps a namespace's repository in a backup storage location: <prefix>/restic/<namespace>
// (Velero's pkg/repository/config: GetRepoIdentifier for the restic uploader).
std::string velero_repo_prefix(const std::string& location_prefix, const std::string& volume_namespace);

std::unique_ptr<Backend> local_backend(const std::string& dir);
std::unique_ptr<Backend> store_backend(std::shared_ptr<store::ObjectStore> store, std::string prefix);
// `-r` values: a path (or "local:PATH"), s3:HOST/BUCKET[/PREFIX] or azure:CONTAINER:/PATH as restic takes them. Throws std::invalid_argument for a scheme not supported yet.
std::unique_ptr<Backend> open_location(const std::string& location);

}  // namespace arca::repo
