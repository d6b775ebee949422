#include "repo/pool.h"

namespace arca::repo {

TaskPool::TaskPool(int threads, size_t queue_limit) : limit_(queue_limit) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
}

TaskPool::~TaskPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  has_work_.notify_all();
  for (auto& t : workers_) t.join();
}

void TaskPool::submit(std::function<void()> task) {
  std::unique_lock lock(mu_);
  has_room_.wait(lock, [&] { return queue_.size() < limit_; });
  queue_.push_back(std::move(task));
  has_work_.notify_one();
}

void TaskPool::wait() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return queue_.empty() && running_ == 0; });
  if (error_) {
    auto e = error_;
    error_ = nullptr;
    failed_ = false;
    std::rethrow_exception(e);
  }
}

void TaskPool::run() {
  std::unique_lock lock(mu_);
  while (true) {
    has_work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;
    auto task = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    has_room_.notify_one();
    lock.unlock();
    try {
      task();
    } catch (...) {
      std::lock_guard g(mu_);
      if (!error_) error_ = std::current_exception();
      failed_ = true;
    }
    lock.lock();
    --running_;
    if (queue_.empty() && running_ == 0) idle_.notify_all();
  }
}

int default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 2 : static_cast<int>(n);
}

}  // namespace arca::repo
