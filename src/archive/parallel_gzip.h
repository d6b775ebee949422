#pragma once
// gzip compression in parallel blocks: the input is cut into blocks, each compressed by a worker thread into
// its own gzip member (concatenated members are one valid gzip stream, Go's reader included) and written in
// order. A bounded number of blocks is in flight, so memory is independent of the total size.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace arca::archive {

using ByteSink = std::function<void(const char* data, size_t size)>;

struct GzipOptions {
  int level = 6;                // libdeflate level; 6 is gzip's default and ends near `gzip -6` in size
  unsigned threads = 0;         // 0: one per core
  size_t block_size = 1 << 20;  // larger blocks cost memory, smaller ones ratio (each restarts the window)
};

class ParallelGzip {
 public:
  ParallelGzip(ByteSink out, GzipOptions options = {});
  ~ParallelGzip();
  ParallelGzip(const ParallelGzip&) = delete;
  ParallelGzip& operator=(const ParallelGzip&) = delete;

  void write(const char* data, size_t size);
  // Compresses what is left and waits for every block to reach the sink. Rethrows a sink failure.
  void finish();

 private:
  struct Block;
  void submit();
  void emit_front();
  void work();

  ByteSink out_;
  GzipOptions options_;
  std::string current_;
  std::mutex mutex_;
  std::condition_variable wake_workers_, block_done_;
  std::deque<std::shared_ptr<Block>> in_order_;  // submitted, not yet written, in input order
  std::deque<std::shared_ptr<Block>> to_compress_;
  // Block buffers (inputs and outputs alike) kept for reuse: fresh megabytes per block cost page faults.
  std::vector<std::string> spare_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace arca::archive
