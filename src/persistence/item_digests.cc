#include "persistence/item_digests.h"

#include <cstring>

#include "archive/tarball_reader.h"
#include "crypt/primitives.h"

namespace arca::persistence {

namespace {
constexpr size_t kDigesterChunksInFlight = 4;
}

ItemDigester::ItemDigester() : thread_([this] { run(); }) {}

ItemDigester::~ItemDigester() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ItemDigester::feed(const char* data, size_t size) {
  if (size == 0) return;
  std::unique_lock lock(mutex_);
  if (failed_) return;  // nobody reads any more
  changed_.wait(lock, [&] { return chunks_.size() < kDigesterChunksInFlight || failed_; });
  if (failed_) return;
  chunks_.emplace_back(data, size);
  changed_.notify_all();
}

size_t ItemDigester::pull(char* buffer, size_t capacity) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !chunks_.empty() || closed_; });
  if (chunks_.empty()) return 0;
  std::string& front = chunks_.front();
  size_t n = std::min(capacity, front.size() - offset_);
  std::memcpy(buffer, front.data() + offset_, n);
  offset_ += n;
  if (offset_ == front.size()) {
    chunks_.pop_front();
    offset_ = 0;
    changed_.notify_all();
  }
  return n;
}

void ItemDigester::run() {
  std::map<std::string, std::string> digests;
  try {
    archive::TarballReader reader([this](char* buffer, size_t capacity) { return pull(buffer, capacity); });
    while (auto entry = reader.next()) digests[entry->path] = crypt::hex(crypt::sha256(reader.read_content()));
    char sink[64 * 1024];
    while (pull(sink, sizeof sink) > 0) {  // what follows the archive's end (padding) is read, not parsed
    }
  } catch (const std::exception&) {
    std::lock_guard lock(mutex_);
    failed_ = true;
    chunks_.clear();
    changed_.notify_all();
    return;
  }
  std::lock_guard lock(mutex_);
  digests_ = std::move(digests);
}

std::optional<std::map<std::string, std::string>> ItemDigester::finish() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (failed_) return std::nullopt;
  return std::move(digests_);
}

}  // namespace arca::persistence
