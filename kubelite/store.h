#pragma once
// In-memory object storage: one map per resource ordered by "<namespace>/<name>" bytes, one global
// resourceVersion counter, a bounded history of change events for watches, and (optionally) an
// append-only log that makes the state survive restarts, kill -9 included.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace kubelite {

// Objects are immutable once stored: readers, list snapshots and watch events share them.
struct StoredObject {
  std::string key;   // "<namespace>/<name>", or "<name>" when cluster-scoped
  std::string json;  // compact JSON without apiVersion/kind (the serving version adds them)
  uint64_t rv = 0;
};
using ObjectPtr = std::shared_ptr<const StoredObject>;
using Collection = std::map<std::string, ObjectPtr>;

enum class EventType { Added, Modified, Deleted };

struct Event {
  uint64_t rv;
  std::string storage_id;  // "<group>/<resource>"
  EventType type;
  ObjectPtr object;    // the new state (for Deleted: the last state, at the deletion's resourceVersion)
  ObjectPtr previous;  // the state before (null for Added): watches with selectors need both
};

class Store {
 public:
  explicit Store(size_t history_capacity) : history_capacity_(history_capacity) {}
  ~Store();

  // Readers hold it shared, writers exclusive, for the whole read-modify-write.
  std::shared_mutex& mutex() { return mu_; }

  // --- with the lock held ---
  ObjectPtr get(const std::string& storage_id, const std::string& key) const;
  const Collection& collection(const std::string& storage_id) const;  // empty when none
  uint64_t current_rv() const { return rv_; }
  // How many puts and removes a collection has seen: indexes derived from it rebuild when this moves.
  uint64_t writes(const std::string& storage_id) const {
    auto it = writes_.find(storage_id);
    return it == writes_.end() ? 0 : it->second;
  }
  uint64_t next_rv() { return ++rv_; }
  // Stores `object` (whose json already carries metadata.resourceVersion == object->rv).
  void put(const std::string& storage_id, ObjectPtr object);
  // Removes the object; `last_state` carries the deletion's resourceVersion.
  void remove(const std::string& storage_id, ObjectPtr last_state);
  // Changes with rv > `after` for watches; false when `after` is older than the retained history.
  bool history_since(uint64_t after, std::deque<Event>& out) const;
  uint64_t oldest_watchable_rv() const { return history_start_; }
  // Forgets the history so far (after start-up loading: those objects are not "changes").
  void reset_history();
  // Every storage id that currently holds objects.
  std::vector<std::string> storage_ids() const;

  // The resourceVersion of the last write to a collection, 0 when none since the start (lock held).
  uint64_t last_write_rv(const std::string& storage_id) const {
    auto it = last_write_rv_.find(storage_id);
    return it == last_write_rv_.end() ? 0 : it->second;
  }

  // Watchers wait on their collection's condition (with the store lock held shared), so that a write wakes
  // only the watches of what it changed: with one condition for all, every create woke every watch of every
  // client, and their lock round-trips cost kubelite a sixth of its CPU during a restore.
  std::condition_variable_any& changed(const std::string& storage_id);
  // Wakes the watchers of the collections written since the last call; call after releasing the exclusive lock.
  void notify();
  // Wakes every watcher (the server is stopping).
  void notify_all_watchers();

  // --- persistence (call before serving) ---
  // Replays DIR/objects.log, rewrites it compacted (temp + rename), and appends every later write to it.
  // Throws std::runtime_error naming the file on I/O errors.
  void open_log(const std::string& dir);

 private:
  void record(const std::string& storage_id, EventType type, ObjectPtr object, ObjectPtr previous);
  void append_log(const std::string& storage_id, const StoredObject& object, bool deleted);

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, uint64_t> last_write_rv_;
  // Guards the two members below (not the store lock: watchers hold that shared, writers exclusively).
  std::mutex waiters_mu_;
  std::unordered_map<std::string, std::unique_ptr<std::condition_variable_any>> changed_;
  std::vector<std::string> written_since_notify_;
  std::unordered_map<std::string, Collection> collections_;
  std::unordered_map<std::string, uint64_t> writes_;
  uint64_t rv_ = 0;
  std::deque<Event> history_;
  size_t history_capacity_;
  uint64_t history_start_ = 0;  // watches may start from any rv >= this
  int log_fd_ = -1;
};

}  // namespace kubelite
