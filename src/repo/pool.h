#pragma once
// A fixed set of worker threads fed through a bounded queue: submit() blocks while the queue is full, which is
// what keeps a backup's or restore's memory independent of the number of files. The first exception a task
// throws is kept and rethrown by wait(); later tasks still run (they are usually cheap once one failed).
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace arca::repo {

class TaskPool {
 public:
  TaskPool(int threads, size_t queue_limit);
  ~TaskPool();
  void submit(std::function<void()> task);
  void wait();  // until every submitted task ran; rethrows the first failure
  bool failed() const { return failed_.load(); }
  int threads() const { return static_cast<int>(workers_.size()); }

 private:
  void run();
  std::mutex mu_;
  std::condition_variable has_work_, has_room_, idle_;
  std::deque<std::function<void()>> queue_;
  size_t limit_, running_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
  std::vector<std::thread> workers_;
};

// Threads to use when the caller says 0: every core.
int default_threads();

}  // namespace arca::repo
