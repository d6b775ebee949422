#pragma once
// A bounded worker pool: the items of one restore tier in parallel, tiers one after another (wait_idle).
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace arca::restore {

class WorkerPool {
 public:
  // `queue_limit` bounds the tasks waiting, so submit blocks rather than reading the whole tier into memory.
  WorkerPool(int workers, size_t queue_limit);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(std::function<void()> task);
  void wait_idle();

 private:
  void work();
  size_t limit_;
  std::mutex mutex_;
  std::condition_variable ready_, room_, idle_;
  std::deque<std::function<void()>> queue_;
  int busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace arca::restore
