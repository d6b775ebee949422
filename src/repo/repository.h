#pragma once
// arca's volume data engine: repositories in restic's format, version 2 (restic's doc/design.rst), readable and
// writable by Debian's `restic` and by arca. Every operation takes an open Repository; errors are exceptions
// whose what() is one line naming the file or path at fault.
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "repo/backend.h"

namespace arca::repo {

struct RepositoryImpl;

class Repository {
 public:
  explicit Repository(std::unique_ptr<RepositoryImpl> impl);
  ~Repository();
  Repository(Repository&&) noexcept;
  RepositoryImpl& impl() { return *impl_; }
  std::string describe() const;

 private:
  std::unique_ptr<RepositoryImpl> impl_;
};

// Thrown when no key file opens with the password: "wrong password or no key found".
struct WrongPassword : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Repository init_repository(std::unique_ptr<Backend> backend, const std::string& password);
Repository open_repository(std::unique_ptr<Backend> backend, const std::string& password);
// For a repository kept open between operations (the node agent keeps one per volume namespace): true while its
// store still holds the repository it opened (the same config ID, readable with its key). Each operation then
// reads only the index files added since the previous one (all of them again when one it read is gone, as after a
// prune). A repository whose operation failed is not reused: its in-memory state may name blobs never stored.
bool reusable(Repository& repo);

// restic's `key list|add|remove`: each key file under keys/ holds the repository's master key encrypted with a
// key derived (scrypt) from one password, so passwords are added and removed without touching the data.
struct KeyInfo {
  std::string id;  // the key file's name
  bool current = false;  // the key the repository was opened with
  std::string username, hostname, created;
};
std::vector<KeyInfo> list_keys(Repository& repo);  // sorted by creation time
// A new key file for `new_password` (refused when empty); returns its ID. Empty username/hostname: this machine's.
std::string add_key(Repository& repo, const std::string& new_password, const std::string& username = "",
                    const std::string& hostname = "");
// Removes the key `id` (a full ID or a unique prefix). Refuses, as restic does, the key the repository was opened
// with, and an ID that names no key or several.
void remove_key(Repository& repo, const std::string& id);

// Progress of a long operation, reported about once a second and once at the end.
struct Progress {
  double seconds = 0;
  uint64_t files_done = 0, bytes_done = 0;
  uint64_t files_total = 0, bytes_total = 0;  // 0 while unknown
  bool final = false;
};
using ProgressFn = std::function<void(const Progress&)>;
// "[0:12] 1234 / 5000 files, 1.2 GiB / 2.0 GiB, 95.3 MiB/s, ETA 0:08"
std::string format_progress(const Progress& p);

struct BackupOptions {
  std::string source;               // a directory; the snapshot's root tree is its content (as `restic backup .`)
  std::vector<std::string> tags;
  std::string host;                 // default: this machine's hostname
  std::optional<std::string> parent;  // snapshot ID (prefix) for change detection; default: latest of host+path
  bool force = false;               // read every file even when the parent says it is unchanged
  int threads = 0;                  // 0: one per core
  std::chrono::seconds retry_lock{0};  // wait this long for an exclusive lock (a prune) to go away
  ProgressFn progress;
  // Asked between files and chunks: true stops the backup with Canceled (no snapshot; the data stored so far is
  // unreferenced until a prune, as after any failed backup).
  std::function<bool()> canceled;
};
struct Canceled : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct BackupResult {
  std::string snapshot_id;
  uint64_t files_new = 0, files_changed = 0, files_unmodified = 0, dirs = 0;
  uint64_t bytes_read = 0;         // file content read from disk
  uint64_t blobs_added = 0, bytes_added = 0;  // stored in new packs (encrypted, compressed)
};
BackupResult backup(Repository& repo, const BackupOptions& options);

struct RestoreOptions {
  std::string snapshot = "latest";  // ID, unique prefix, or "latest"
  std::string target;
  std::string include;  // a path inside the snapshot ("/dir/file"): restore only it (and its parents)
  int threads = 0;
  ProgressFn progress;
  // Asked between files and packs: true stops the restore with Canceled (what was written stays, partly).
  std::function<bool()> canceled;
};
struct RestoreResult {
  uint64_t files = 0, dirs = 0, symlinks = 0, hardlinks = 0, bytes = 0;
};
RestoreResult restore(Repository& repo, const RestoreOptions& options);

struct SnapshotInfo {
  std::string id;
  std::string time;  // RFC 3339
  std::string hostname;
  std::vector<std::string> paths, tags;
  std::string tree, parent;
};
std::vector<SnapshotInfo> list_snapshots(Repository& repo);  // oldest first
// Resolves "latest", a full ID or a unique prefix; throws naming the reference when none or several match.
std::string find_snapshot(Repository& repo, const std::string& ref);

struct CheckOptions {
  bool read_data = false;
};
struct CheckResult {
  std::vector<std::string> errors;  // one line each, naming the file or blob
  uint64_t packs = 0, snapshots = 0, trees = 0, blobs_read = 0;
  bool ok() const { return errors.empty(); }
};
CheckResult check(Repository& repo, const CheckOptions& options, std::ostream& log);

struct ForgetPolicy {
  std::vector<std::string> snapshot_ids;  // forget these (prefixes allowed)
  int keep_last = 0, keep_hourly = 0, keep_daily = 0, keep_weekly = 0, keep_monthly = 0, keep_yearly = 0;
  std::vector<std::string> keep_tags;
  bool dry_run = false;
};
struct ForgetResult {
  std::vector<std::string> kept, removed;
};
ForgetResult forget(Repository& repo, const ForgetPolicy& policy);

// restic's `unlock`: removes the stale locks (older than 30 minutes, or taken on this host by a process that no
// longer runs) and those `also_remove` accepts (hostname, PID): e.g. a restarted node agent knows its previous run's
// locks are dead even when its new process got the same PID (PID 1 in a container). Returns how many went.
size_t unlock(Repository& repo, const std::function<bool(const std::string& hostname, int64_t pid)>& also_remove = {});

struct PruneResult {
  uint64_t packs_deleted = 0, packs_rewritten = 0, blobs_removed = 0, bytes_before = 0, bytes_after = 0;
};
// `dry_run`: restic's `prune --dry-run`: prints what would be repacked and deleted, changes nothing.
PruneResult prune(Repository& repo, std::ostream& log, bool dry_run = false);

}  // namespace arca::repo
