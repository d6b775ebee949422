#pragma once
// client-go's rate-limited work queue, reduced to what arca's controllers need: a key is queued at most
// once, is never handed to two workers at once (a key re-added while it is processed runs again after),
// may be delayed, and failing keys come back with exponential backoff.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace arca::controller {

struct Backoff {
  std::chrono::milliseconds base{100};
  std::chrono::milliseconds max{30000};
};

class WorkQueue {
 public:
  explicit WorkQueue(Backoff backoff = {}) : backoff_(backoff) {}

  void add(const std::string& key);
  void add_after(const std::string& key, std::chrono::milliseconds delay);
  // add_after with base·2^failures, capped; forget() resets the count once the key succeeds.
  void add_rate_limited(const std::string& key);
  void forget(const std::string& key);
  int failures(const std::string& key) const;

  // Blocks until a key is ready; false once shut down.
  bool get(std::string& key);
  void done(const std::string& key);
  void shutdown();

 private:
  void add_locked(const std::string& key);
  Backoff backoff_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_, processing_;
  std::multimap<std::chrono::steady_clock::time_point, std::string> delayed_;
  std::map<std::string, int> failures_;
  bool shutting_down_ = false;
};

}  // namespace arca::controller
