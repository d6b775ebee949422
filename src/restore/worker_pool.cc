#include "restore/worker_pool.h"

#include <algorithm>

namespace arca::restore {

WorkerPool::WorkerPool(int workers, size_t queue_limit) : limit_(queue_limit) {
  for (int i = 0; i < std::max(1, workers); ++i) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void WorkerPool::submit(std::function<void()> task) {
  std::unique_lock lock(mutex_);
  room_.wait(lock, [&] { return queue_.size() < limit_; });
  queue_.push_back(std::move(task));
  ready_.notify_one();
}

void WorkerPool::wait_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return queue_.empty() && busy_ == 0; });
}

void WorkerPool::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
      room_.notify_one();
    }
    task();
    std::lock_guard lock(mutex_);
    if (--busy_ == 0 && queue_.empty()) idle_.notify_all();
  }
}

}  // namespace arca::restore
