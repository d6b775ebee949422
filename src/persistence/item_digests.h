#pragma once
// The SHA-256 of every item of a signed backup's tarball, stored beside it as B-arca-item-digests.bin: a digest
// per stored object says that the tarball changed, this list says which item, and it still catches an item
// rewritten into a tarball re-gzipped around it. It is a file of its own, not part of the signed manifest, so
// that the manifest stays small (a restore reads and checks it before every restore) and so that the item
// names are encrypted with the backup's data (the manifest is plaintext); the manifest signs the file's digest.
//
// Format: the line "arca-item-digests/1", then one record per tarball entry, in tarball order:
//   the raw 32-byte SHA-256 of the entry's content; one byte: how many leading bytes its path shares with the
//   previous record's (0-255); the rest of the path; a NUL (tar paths hold none).
// An item's preferred-version copy (resources/R/V-preferredversion/..., written right after the item from the
// same bytes) has no record: it must match its item. Uncompressed on purpose: the digests are the
// incompressible part, and deflating them cost more CPU than hashing every item (issue 20's overhead goal);
// the shared prefixes keep it near gzip's size (~40 bytes an item).
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "crypt/primitives.h"

namespace arca::persistence {

// Written as the backup engine writes the tarball (archive::TarballOptions::on_content): each content is hashed
// once, and the list goes to a temporary file, not into memory. The hashing runs on a thread of its own: the
// tarball writer's thread is the backup's critical path, and SHA-256 of every item there cost a signed backup
// 10-18 % of its wall time at 300k objects (issue 20's goal is 10 %). `add` copies the content into a batch
// (a memcpy is ~10× cheaper than the hash); a few batches in flight bound the memory.
class ItemDigestList {
 public:
  ItemDigestList();
  ~ItemDigestList();
  ItemDigestList(const ItemDigestList&) = delete;
  ItemDigestList& operator=(const ItemDigestList&) = delete;

  // One content and every path it is stored under. Rethrows a failure of the hashing thread.
  void add(std::span<const std::string_view> paths, std::string_view content);
  // The list, rewound for reading (owned by this object); nothing may be added afterwards.
  std::FILE* finish();

 private:
  struct Batch;
  void hash_batches();
  void hash(const Batch& batch);
  void hand_over();
  void record(const unsigned char digest[32], std::string_view path);
  void flush();

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
  std::unique_ptr<Batch> filling_;  // the writer's
  // Shared with the hashing thread, under mutex_.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<Batch>> queued_;
  std::vector<std::unique_ptr<Batch>> spare_;  // hashed, for reuse
  bool closing_ = false;
  std::exception_ptr failure_;
  // The hashing thread's.
  crypt::Sha256 hash_;
  std::string buffer_;  // records batched into writes of a few KiB
  std::string previous_;
  std::thread hasher_;  // last: started once everything above exists
};

// Looks up each tarball entry's signed digest while the tarball is read: in tarball order this walks the list
// once; an entry out of order is found among the records read past it (kept aside until taken).
class ItemDigestLookup {
 public:
  // `list`: the file's content; `what` names it in errors.
  ItemDigestLookup(std::string list, std::string what);
  // The hex digest signed for `path`, nullopt when the list has none. Each path once. Throws
  // std::runtime_error naming the offset when the list is not in the format above.
  std::optional<std::string> take(const std::string& path);
  // The listed paths never taken (the tarball lacks them), in list order.
  std::vector<std::string> untaken();

 private:
  bool next_record(std::string& path, std::string& hex);

  std::string list_, what_;
  size_t at_ = 0;
  std::string path_;  // the last record's, for the shared prefix
  std::unordered_map<std::string, std::string> passed_;  // read, not yet taken: path → hex
  std::vector<std::string> passed_order_;
  std::string last_taken_path_, last_taken_hex_;  // a preferred-version copy follows its item
};

}  // namespace arca::persistence
