#include "kubelite/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace kubelite {

// Log format: one line per write, "<rv>\t<storage id>\t<key>\t<compact json>" or "...\t-" for a deletion.
// Names, keys and compact JSON never contain a tab or a newline, so lines need no escaping; a torn
// last line (a crash mid-write) has no newline and is ignored on replay.

Store::~Store() {
  if (log_fd_ >= 0) ::close(log_fd_);
}

ObjectPtr Store::get(const std::string& storage_id, const std::string& key) const {
  auto c = collections_.find(storage_id);
  if (c == collections_.end()) return nullptr;
  auto it = c->second.find(key);
  return it == c->second.end() ? nullptr : it->second;
}

const Collection& Store::collection(const std::string& storage_id) const {
  static const Collection empty;
  auto c = collections_.find(storage_id);
  return c == collections_.end() ? empty : c->second;
}

void Store::put(const std::string& storage_id, ObjectPtr object) {
  ++writes_[storage_id];
  ObjectPtr& slot = collections_[storage_id][object->key];
  ObjectPtr previous = slot;
  slot = object;
  append_log(storage_id, *object, false);
  record(storage_id, previous ? EventType::Modified : EventType::Added, std::move(object), std::move(previous));
}

void Store::remove(const std::string& storage_id, ObjectPtr last_state) {
  auto c = collections_.find(storage_id);
  if (c == collections_.end()) return;
  auto it = c->second.find(last_state->key);
  if (it == c->second.end()) return;
  ++writes_[storage_id];
  ObjectPtr previous = it->second;
  c->second.erase(it);
  append_log(storage_id, *last_state, true);
  record(storage_id, EventType::Deleted, std::move(last_state), std::move(previous));
}

std::condition_variable_any& Store::changed(const std::string& storage_id) {
  std::lock_guard lock(waiters_mu_);
  auto& slot = changed_[storage_id];
  if (!slot) slot = std::make_unique<std::condition_variable_any>();
  return *slot;
}

void Store::notify() {
  std::lock_guard lock(waiters_mu_);
  std::sort(written_since_notify_.begin(), written_since_notify_.end());
  written_since_notify_.erase(std::unique(written_since_notify_.begin(), written_since_notify_.end()),
                              written_since_notify_.end());
  for (const std::string& id : written_since_notify_)
    if (auto it = changed_.find(id); it != changed_.end()) it->second->notify_all();
  written_since_notify_.clear();
}

void Store::notify_all_watchers() {
  std::lock_guard lock(waiters_mu_);
  for (auto& [id, condition] : changed_) condition->notify_all();
}

void Store::record(const std::string& storage_id, EventType type, ObjectPtr object, ObjectPtr previous) {
  last_write_rv_[storage_id] = object->rv;
  {
    std::lock_guard lock(waiters_mu_);
    if (written_since_notify_.empty() || written_since_notify_.back() != storage_id)
      written_since_notify_.push_back(storage_id);
  }
  history_.push_back({object->rv, storage_id, type, std::move(object), std::move(previous)});
  while (history_.size() > history_capacity_) {
    history_start_ = history_.front().rv;
    history_.pop_front();
  }
}

bool Store::history_since(uint64_t after, std::deque<Event>& out) const {
  if (after < history_start_) return false;
  // Events are in rv order: binary search for the first one after `after`.
  auto it = std::upper_bound(history_.begin(), history_.end(), after,
                             [](uint64_t rv, const Event& e) { return rv < e.rv; });
  out.insert(out.end(), it, history_.end());
  return true;
}

void Store::reset_history() {
  history_.clear();
  history_start_ = rv_;
}

std::vector<std::string> Store::storage_ids() const {
  std::vector<std::string> out;
  for (const auto& [id, c] : collections_)
    if (!c.empty()) out.push_back(id);
  return out;
}

void Store::append_log(const std::string& storage_id, const StoredObject& object, bool deleted) {
  if (log_fd_ < 0) return;
  std::string line = std::to_string(object.rv);
  line.reserve(line.size() + storage_id.size() + object.key.size() + object.json.size() + 8);
  line += '\t';
  line += storage_id;
  line += '\t';
  line += object.key;
  line += '\t';
  if (deleted) line += '-';
  else line += object.json;
  line += '\n';
  // A plain write survives kill -9 (the kernel owns the data once write returns); no fsync needed for
  // the crash cases tests exercise, and fsync per write would cap creates/s far below the target.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(log_fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(std::string("cannot append to the object log: ") + std::strerror(errno));
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void Store::open_log(const std::string& dir) {
  std::string path = dir + "/objects.log";
  {
    std::ifstream in(path, std::ios::binary);
    std::string line;
    while (in.good()) {
      std::getline(in, line);
      if (in.eof()) break;  // no newline: torn final record from a crash
      size_t t1 = line.find('\t');
      size_t t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
      size_t t3 = t2 == std::string::npos ? t2 : line.find('\t', t2 + 1);
      if (t3 == std::string::npos) throw std::runtime_error("corrupt record in " + path);
      uint64_t rv = std::stoull(line.substr(0, t1));
      std::string storage_id = line.substr(t1 + 1, t2 - t1 - 1);
      std::string key = line.substr(t2 + 1, t3 - t2 - 1);
      rv_ = std::max(rv_, rv);
      if (line.size() == t3 + 2 && line[t3 + 1] == '-') {
        collections_[storage_id].erase(key);
      } else {
        auto object = std::make_shared<StoredObject>();
        object->key = std::move(key);
        object->json = line.substr(t3 + 1);
        object->rv = rv;
        collections_[storage_id][object->key] = std::move(object);
      }
    }
  }
  // Compact: the new log holds each live object once, written beside the old one and renamed over it.
  std::string temp = path + ".compacting";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + temp + ": " + std::strerror(errno));
  log_fd_ = fd;
  for (const auto& [id, c] : collections_)
    for (const auto& [key, object] : c) append_log(id, *object, false);
  if (::fsync(fd) != 0 || ::rename(temp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot replace " + path + ": " + std::strerror(errno));
  history_.clear();
  history_start_ = rv_;
}

}  // namespace kubelite
