#include "persistence/item_digests.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "archive/paths.h"

namespace arca::persistence {

namespace {

constexpr std::string_view kMagic = "arca-item-digests/1\n";
constexpr size_t kBatch = 64 * 1024;
// Contents handed to the hashing thread at a time, and how many such batches may wait: ~1 MiB in all.
constexpr size_t kHandOver = 256 * 1024;
constexpr size_t kQueued = 3;

// Whether `path` is the preferred-version copy of `item`: resources/R/V-preferredversion/REST of resources/R/REST.
// Compared in place: it runs once per item of a backup.
bool is_copy_of(std::string_view path, std::string_view item) {
  static const std::string suffix = archive::preferred_version_dir("");
  if (!path.starts_with("resources/")) return false;
  size_t resource_end = path.find('/', 10);
  if (resource_end == std::string_view::npos) return false;
  size_t version_end = path.find('/', resource_end + 1);
  if (version_end == std::string_view::npos) return false;
  std::string_view version = path.substr(resource_end + 1, version_end - resource_end - 1);
  if (version.size() <= suffix.size() || !version.ends_with(suffix)) return false;
  return item.size() == resource_end + (path.size() - version_end) && item.starts_with(path.substr(0, resource_end)) &&
         item.substr(resource_end) == path.substr(version_end);
}

}  // namespace

// Contents and their paths back to back; per content, where its bytes and its paths are.
struct ItemDigestList::Batch {
  struct Content {
    size_t at, size;
    size_t first_path, paths;  // into path_spans
  };
  std::string bytes;
  std::vector<Content> contents;
  std::vector<std::pair<size_t, size_t>> path_spans;  // (at, size) in bytes

  void clear() {
    bytes.clear();
    contents.clear();
    path_spans.clear();
  }
  std::string_view view(size_t at, size_t size) const { return std::string_view(bytes).substr(at, size); }
};

ItemDigestList::ItemDigestList() : file_(std::tmpfile(), &std::fclose), filling_(std::make_unique<Batch>()) {
  if (!file_) throw std::runtime_error("cannot create a temporary file for the item digests");
  buffer_.reserve(kBatch + 4096);
  buffer_.append(kMagic);
  hasher_ = std::thread([this] { hash_batches(); });
}

ItemDigestList::~ItemDigestList() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  changed_.notify_all();
  if (hasher_.joinable()) hasher_.join();
}

void ItemDigestList::add(std::span<const std::string_view> paths, std::string_view content) {
  if (paths.empty()) return;
  Batch& b = *filling_;
  b.contents.push_back({b.bytes.size(), content.size(), b.path_spans.size(), paths.size()});
  b.bytes.append(content);
  for (auto path : paths) {
    b.path_spans.emplace_back(b.bytes.size(), path.size());
    b.bytes.append(path);
  }
  if (b.bytes.size() >= kHandOver) hand_over();
}

void ItemDigestList::hand_over() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return queued_.size() < kQueued || failure_; });
  if (failure_) std::rethrow_exception(failure_);
  queued_.push_back(std::move(filling_));
  if (!spare_.empty()) {
    filling_ = std::move(spare_.back());
    spare_.pop_back();
  } else {
    filling_ = std::make_unique<Batch>();
  }
  lock.unlock();
  changed_.notify_all();
}

void ItemDigestList::hash_batches() {
  for (;;) {
    std::unique_ptr<Batch> batch;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return closing_ || !queued_.empty(); });
      if (queued_.empty()) return;
      batch = std::move(queued_.front());
      queued_.pop_front();
    }
    try {
      hash(*batch);
      batch->clear();
    } catch (...) {
      std::lock_guard lock(mutex_);
      failure_ = std::current_exception();
      queued_.clear();
    }
    {
      std::lock_guard lock(mutex_);
      spare_.push_back(std::move(batch));
    }
    changed_.notify_all();
  }
}

void ItemDigestList::hash(const Batch& batch) {
  unsigned char digest[32];
  for (const auto& c : batch.contents) {
    hash_.digest(batch.view(c.at, c.size), digest);
    auto [first_at, first_size] = batch.path_spans[c.first_path];
    std::string_view first = batch.view(first_at, first_size);
    record(digest, first);
    // The preferred-version copy is implied (the reader checks it against its item); any other path is listed.
    for (size_t i = 1; i < c.paths; ++i) {
      auto [at, size] = batch.path_spans[c.first_path + i];
      std::string_view path = batch.view(at, size);
      if (!is_copy_of(path, first)) record(digest, path);
    }
  }
}

void ItemDigestList::record(const unsigned char digest[32], std::string_view path) {
  size_t limit = std::min<size_t>({path.size(), previous_.size(), 255});
  size_t shared = 0;
  while (shared < limit && path[shared] == previous_[shared]) ++shared;
  buffer_.append(reinterpret_cast<const char*>(digest), 32);
  buffer_.push_back(static_cast<char>(shared));
  buffer_.append(path.substr(shared));
  buffer_.push_back('\0');
  previous_.assign(path);
  if (buffer_.size() >= kBatch) flush();
}

void ItemDigestList::flush() {
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_.get()) != buffer_.size())
    throw std::runtime_error("writing the item digests to a temporary file failed");
  buffer_.clear();
}

std::FILE* ItemDigestList::finish() {
  if (!filling_->contents.empty()) hand_over();
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  changed_.notify_all();
  hasher_.join();  // it empties the queue first
  if (failure_) std::rethrow_exception(failure_);
  flush();
  if (std::fflush(file_.get()) != 0) throw std::runtime_error("writing the item digests to a temporary file failed");
  std::rewind(file_.get());
  return file_.get();
}

ItemDigestLookup::ItemDigestLookup(std::string list, std::string what) : list_(std::move(list)), what_(std::move(what)) {
  if (!list_.starts_with(kMagic))
    throw std::runtime_error(what_ + ": not an arca item digest list (\"arca-item-digests/1\" expected)");
  at_ = kMagic.size();
}

bool ItemDigestLookup::next_record(std::string& path, std::string& hex) {
  if (at_ >= list_.size()) return false;
  size_t end = at_ + 33 <= list_.size() ? list_.find('\0', at_ + 33) : std::string::npos;
  size_t shared = end == std::string::npos ? 0 : static_cast<unsigned char>(list_[at_ + 32]);
  if (end == std::string::npos || shared > path_.size())
    throw std::runtime_error(what_ + ": record at byte " + std::to_string(at_) + " is malformed (truncated or altered)");
  path_.resize(shared);
  path_.append(list_, at_ + 33, end - at_ - 33);
  path = path_;
  hex = crypt::hex(std::string_view(list_.data() + at_, 32));
  at_ = end + 1;
  return true;
}

std::optional<std::string> ItemDigestLookup::take(const std::string& path) {
  std::optional<std::string> found;
  if (!last_taken_path_.empty() && is_copy_of(path, last_taken_path_)) return last_taken_hex_;
  if (auto passed = passed_.find(path); passed != passed_.end()) {
    found = std::move(passed->second);
    passed_.erase(passed);
  } else {
    std::string listed, hex;
    while (next_record(listed, hex)) {
      if (listed == path) {
        found = std::move(hex);
        break;
      }
      if (passed_.emplace(listed, hex).second) passed_order_.push_back(listed);
    }
  }
  if (found) {
    last_taken_path_ = path;
    last_taken_hex_ = *found;
  }
  return found;
}

std::vector<std::string> ItemDigestLookup::untaken() {
  std::string listed, hex;
  while (next_record(listed, hex))
    if (passed_.emplace(listed, hex).second) passed_order_.push_back(listed);
  std::vector<std::string> out;
  for (const auto& path : passed_order_)
    if (passed_.count(path)) out.push_back(path);
  return out;
}

}  // namespace arca::persistence
