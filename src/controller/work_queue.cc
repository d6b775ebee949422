#include "controller/work_queue.h"

#include <algorithm>

namespace arca::controller {

void WorkQueue::add_locked(const std::string& key) {
  if (shutting_down_ || !dirty_.insert(key).second) return;
  // A key being processed is queued again by done(), so one key never runs on two workers.
  if (!processing_.count(key)) queue_.push_back(key);
  changed_.notify_one();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mutex_);
  add_locked(key);
}

void WorkQueue::add_after(const std::string& key, std::chrono::milliseconds delay) {
  if (delay <= std::chrono::milliseconds::zero()) return add(key);
  std::lock_guard lock(mutex_);
  if (shutting_down_) return;
  delayed_.emplace(std::chrono::steady_clock::now() + delay, key);
  changed_.notify_all();
}

void WorkQueue::add_rate_limited(const std::string& key) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(mutex_);
    int n = failures_[key]++;
    delay = backoff_.base * (1LL << std::min(n, 20));
    delay = std::min(delay, backoff_.max);
  }
  add_after(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

int WorkQueue::failures(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

bool WorkQueue::get(std::string& key) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (shutting_down_) return false;
    auto now = std::chrono::steady_clock::now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      add_locked(delayed_.begin()->second);
      delayed_.erase(delayed_.begin());
    }
    if (!queue_.empty()) break;
    if (delayed_.empty())
      changed_.wait(lock);
    else
      changed_.wait_until(lock, delayed_.begin()->first);
  }
  key = queue_.front();
  queue_.pop_front();
  dirty_.erase(key);
  processing_.insert(key);
  return true;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mutex_);
  processing_.erase(key);
  if (dirty_.count(key)) {
    queue_.push_back(key);
    changed_.notify_one();
  }
}

void WorkQueue::shutdown() {
  std::lock_guard lock(mutex_);
  shutting_down_ = true;
  changed_.notify_all();
}

}  // namespace arca::controller
