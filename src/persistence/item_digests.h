#pragma once
// The SHA-256 of every item inside a backup tarball, for the signed manifest: a digest per stored object says
// that the tarball changed, this one says which item, and it still catches an item rewritten into a tarball
// re-gzipped (and re-digested) around it.
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace arca::persistence {

// Hashes the items of a gzip'd tarball as its bytes stream past on their way to the store: fed chunk by chunk
// (copies, at most a few in flight), parsed on a thread of its own so the upload never waits for a pass of its
// own over the tarball.
class ItemDigester {
 public:
  ItemDigester();
  ~ItemDigester();
  ItemDigester(const ItemDigester&) = delete;
  ItemDigester& operator=(const ItemDigester&) = delete;

  void feed(const char* data, size_t size);
  // Item path → hex SHA-256, once the whole tarball was fed; nullopt when it was no readable tarball (then the
  // manifest has no item digests, and `verify --deep` reports the tarball itself).
  std::optional<std::map<std::string, std::string>> finish();

 private:
  void run();
  size_t pull(char* buffer, size_t capacity);

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> chunks_;
  size_t offset_ = 0;  // into chunks_.front()
  bool closed_ = false, failed_ = false;
  std::map<std::string, std::string> digests_;
  std::thread thread_;
};

}  // namespace arca::persistence
