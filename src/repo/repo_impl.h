#pragma once
// The open repository: key, config, the in-memory index, the pack writers and locks. Internal to src/repo.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "repo/chunker.h"
#include "repo/crypto.h"
#include "repo/format.h"
#include "repo/pool.h"
#include "repo/repository.h"

namespace arca::repo {

constexpr size_t kPackSize = 16 << 20;       // restic 0.14's default target pack size
constexpr size_t kIndexBlobsPerFile = 16384;  // written as packs complete; small files keep the last one cheap
constexpr int kZstdLevel = 3;                 // zstd's default, close to restic's "auto" (klauspost SpeedDefault)
// Blobs under 128 KiB (whole small files, the tails of large ones) at level 1: on small inputs level 3 costs
// 1.15-1.3x level 1's CPU on real text (/usr/include, a source tree: 1-4 % smaller output) and 2.2x on
// repo_bench's small files (the same size), where it was 5 % of a first backup's CPU.
constexpr int kZstdLevelSmall = 1;
constexpr size_t kSmallBlob = 128 << 10;

struct IndexEntry {
  uint32_t pack = 0;  // number in RepositoryImpl::packs
  uint32_t offset = 0, length = 0, uncompressed_length = 0;
  BlobType type = BlobType::Data;
};

class RepoLock;

// Assembles packs of one blob type in a temporary file (Backend::create_temp), hashing as it goes: a pack never
// sits in memory whole, so a backup's memory does not grow with the pack size or the number of workers.
class Packer {
 public:
  Packer(RepositoryImpl& repo, BlobType type) : repo_(repo), type_(type) {}
  ~Packer();
  // Thread-safe. Hands the pack to the upload thread when it reaches kPackSize. Each caller fills a pack of
  // its own (taken from the open ones not in use, or a new one), so blobs are written and hashed in parallel:
  // one shared pack serialized every chunk's write and hash behind one lock (as restic's packer manager
  // keeps several packs open for the same reason).
  void add(const Id& id, std::string_view sealed, uint32_t uncompressed_length);
  void flush();

 private:
  struct Open {
    TempFile file;
    uint64_t size = 0;
    std::unique_ptr<Sha256Stream> hash = std::make_unique<Sha256Stream>();
    std::vector<PackedBlob> blobs;
  };
  void hand_over(Open pack);
  RepositoryImpl& repo_;
  BlobType type_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Open> idle_;  // open packs no caller is writing to
  int busy_ = 0;            // packs being written to
  // A flush waits until no pack is being written to (a blob whose add returned must be in what it uploads, even
  // while another backup of the same repository adds more) and holds new adds off meanwhile.
  int flushing_ = 0;
};

struct RepositoryImpl {
  std::unique_ptr<Backend> backend;
  Key key;
  std::string key_name;  // the key file (under keys/) the repository was opened with
  Config config;
  std::unique_ptr<ChunkerTables> tables;

  // ---- index ----
  std::mutex index_mu;
  std::vector<Id> packs;
  std::unordered_map<Id, uint32_t, IdHash> pack_numbers;
  std::unordered_map<Id, IndexEntry, IdHash> index;  // the first location seen of each blob
  std::unordered_set<Id, IdHash> inflight;           // being stored by this process, not yet in a written pack
  std::vector<Id> index_files;
  bool index_loaded = false;
  IndexFile pending;  // packs written by this process and not yet listed in an index file
  size_t pending_blobs = 0;
  bool index_as_packs_complete = true;  // prune turns it off: it writes one superseding index of its own
  std::atomic<uint64_t> bytes_added{0}, blobs_added{0};

  void load_index();
  std::optional<IndexEntry> lookup(const Id& id);
  bool known(const Id& id);  // in the index or being stored
  // Plaintext of a blob, decrypted, decompressed and checked against its ID; errors name the pack.
  std::string load_blob(const Id& id);
  std::string decode_blob(const Id& id, const IndexEntry& e, std::string_view sealed);
  // The same into `plain` (format.h's open_blob_into), for callers that reuse their buffers.
  void decode_blob_into(const Id& id, const IndexEntry& e, std::string_view sealed, std::string& plain,
                        std::string& scratch);

  // ---- writing ----
  std::unique_ptr<Packer> data_packer, tree_packer;
  // Stores `plaintext` as a blob unless the repository has it; returns its ID.
  Id save_blob(BlobType type, std::string_view plaintext);
  Id save_blob(BlobType type, const Id& id, std::string_view plaintext);
  // Appends the header to a pack file and stores it under its hash; then its blobs are in the index.
  void finish_pack(TempFile& file, uint64_t size, Sha256Stream& hash, std::vector<PackedBlob> blobs);
  // Full packs are finished (synced, renamed or uploaded) by a background thread, so the workers keep chunking
  // meanwhile. A queued pack is a file, not memory; the queue limit bounds the temporary disk space.
  TaskPool uploads{1, 2};
  void flush_packs();  // every blob added so far is in a written pack
  void save_pending_index(bool force);
  void flush();  // packs, then the index (restic's write order: packs, index, snapshot)

  // ---- unpacked files ----
  std::string load_unpacked(const std::string& type, const std::string& id);
  Id save_unpacked(const std::string& type, std::string_view json);
  std::vector<std::pair<Id, Snapshot>> load_snapshots();  // sorted by time

  std::unique_ptr<RepoLock> lock(bool exclusive, std::chrono::seconds wait);
};

// A lock file in locks/, refreshed every 5 minutes (restic treats 30-minute-old locks as stale) and removed
// when this object goes away.
class RepoLock {
 public:
  RepoLock(RepositoryImpl& repo, bool exclusive, std::chrono::seconds wait);
  ~RepoLock();

 private:
  void create();
  // The holder of a conflicting live lock, or "".
  std::string conflict();
  RepositoryImpl& repo_;
  bool exclusive_;
  Id id_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread refresher_;
};

// Sends `sink` a Progress about once a second on its own thread, and a final one from finish(); `fill` sets the
// counters, the reporter the time. With an empty sink nothing runs. The destructor stops the thread without the
// final report (the operation failed).
class ProgressReporter {
 public:
  ProgressReporter(ProgressFn sink, std::function<void(Progress&)> fill);
  ~ProgressReporter() { stop(); }
  void finish();
  void stop();  // without the final report
  const std::atomic<bool>& stopped() const { return stop_; }

 private:
  void report(bool final);
  ProgressFn sink_;
  std::function<void(Progress&)> fill_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// "what path: strerror(errno)"
std::string sys_error(const std::string& what, const std::string& path);
std::string hostname();
std::string username();

}  // namespace arca::repo
