#include "persistence/item_digests.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "archive/paths.h"

namespace arca::persistence {

namespace {

constexpr std::string_view kMagic = "arca-item-digests/1\n";
constexpr size_t kBatch = 64 * 1024;

// The item a preferred-version copy copies: resources/R/V-preferredversion/REST → resources/R/REST; "" when
// `path` is no such copy.
std::string copied_item(std::string_view path) {
  static const std::string suffix = archive::preferred_version_dir("");
  if (!path.starts_with("resources/")) return "";
  size_t resource_end = path.find('/', 10);
  if (resource_end == std::string_view::npos) return "";
  size_t version_end = path.find('/', resource_end + 1);
  if (version_end == std::string_view::npos) return "";
  std::string_view version = path.substr(resource_end + 1, version_end - resource_end - 1);
  if (version.size() <= suffix.size() || !version.ends_with(suffix)) return "";
  return std::string(path.substr(0, resource_end)) + std::string(path.substr(version_end));
}

}  // namespace

ItemDigestList::ItemDigestList() : file_(std::tmpfile(), &std::fclose) {
  if (!file_) throw std::runtime_error("cannot create a temporary file for the item digests");
  buffer_.reserve(kBatch + 4096);
  buffer_.append(kMagic);
}

ItemDigestList::~ItemDigestList() = default;

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

void ItemDigestList::add(std::span<const std::string_view> paths, std::string_view content) {
  if (paths.empty()) return;
  unsigned char digest[32];
  hash_.digest(content, digest);
  record(digest, paths[0]);
  // The preferred-version copy is implied (the reader checks it against its item); any other path is listed.
  for (auto path : paths.subspan(1))
    if (copied_item(path) != paths[0]) record(digest, path);
}

std::FILE* ItemDigestList::finish() {
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
  if (!last_taken_path_.empty() && copied_item(path) == last_taken_path_) return last_taken_hex_;
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
