#pragma once
// The node's data-transfer slots: at most `limit` transfers (PodVolumeBackups/Restores, DataUploads/Downloads,
// keyed "pvb/<name>" etc.) run at once (Velero's loadConcurrency). A transfer turned away because the slots are
// full is remembered, and handed back when a slot frees, so that it starts at once rather than at its controller's
// next periodic retry (a one-second requeue made an unchanged 20-volume backup take a second per volume).
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace arca::nodeagent {

class Slots {
 public:
  explicit Slots(int limit = 1) : limit_(limit) {}
  void set_limit(int limit) {
    std::lock_guard l(mu_);
    limit_ = limit;
  }
  int limit() const {
    std::lock_guard l(mu_);
    return limit_;
  }
  // True when `key` got a slot. False when it runs already, or when the slots are full: then it waits.
  bool try_start(const std::string& key) {
    std::lock_guard l(mu_);
    if (running_.count(key)) return false;
    if (static_cast<int>(running_.size()) >= limit_) {
      waiting_.insert(key);
      return false;
    }
    waiting_.erase(key);
    running_.insert(key);
    return true;
  }
  // Frees the slot of `key`; returns the transfers that waited for one (all of them: one that no longer needs a
  // slot must not keep the others waiting), which stop waiting.
  std::vector<std::string> finish(const std::string& key) {
    std::lock_guard l(mu_);
    running_.erase(key);
    canceled_.erase(key);
    std::vector<std::string> woken(waiting_.begin(), waiting_.end());
    waiting_.clear();
    return woken;
  }
  bool is_running(const std::string& key) const {
    std::lock_guard l(mu_);
    return running_.count(key) > 0;
  }
  std::set<std::string> running() const {
    std::lock_guard l(mu_);
    return running_;
  }
  // spec.cancel seen on a transfer this node runs: its thread stops at its next step.
  void request_cancel(const std::string& key) {
    std::lock_guard l(mu_);
    if (running_.count(key)) canceled_.insert(key);
  }
  bool cancel_requested(const std::string& key) const {
    std::lock_guard l(mu_);
    return canceled_.count(key) > 0;
  }

 private:
  mutable std::mutex mu_;
  int limit_;
  std::set<std::string> running_, waiting_, canceled_;
};

}  // namespace arca::nodeagent
