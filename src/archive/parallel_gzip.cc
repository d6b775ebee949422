#include "archive/parallel_gzip.h"

#include <libdeflate.h>

#include <stdexcept>

namespace arca::archive {

struct ParallelGzip::Block {
  std::string input;
  std::string output;  // the gzip member is its first output_size bytes
  size_t output_size = 0;
  bool done = false;
  bool failed = false;
};

ParallelGzip::ParallelGzip(ByteSink out, GzipOptions options) : out_(std::move(out)), options_(options) {
  if (options_.threads == 0) options_.threads = std::max(1u, std::thread::hardware_concurrency());
  if (options_.block_size < 64 * 1024) options_.block_size = 64 * 1024;
  for (unsigned i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { work(); });
}

ParallelGzip::~ParallelGzip() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_workers_.notify_all();
  for (auto& t : workers_) t.join();
}

void ParallelGzip::work() {
  libdeflate_compressor* compressor = libdeflate_alloc_compressor(options_.level);
  for (;;) {
    std::shared_ptr<Block> block;
    {
      std::unique_lock lock(mutex_);
      wake_workers_.wait(lock, [&] { return stopping_ || !to_compress_.empty(); });
      if (to_compress_.empty()) break;
      block = to_compress_.front();
      to_compress_.pop_front();
      if (!spare_.empty()) {
        block->output = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    bool ok = compressor != nullptr;
    if (ok) {
      // Grown, never shrunk: resizing a reused buffer down and up again would zero-fill it every time.
      size_t bound = libdeflate_gzip_compress_bound(compressor, block->input.size());
      if (block->output.size() < bound) block->output.resize(bound);
      block->output_size = libdeflate_gzip_compress(compressor, block->input.data(), block->input.size(),
                                                    block->output.data(), block->output.size());
      ok = block->output_size > 0;
    }
    {
      std::lock_guard lock(mutex_);
      // The input buffer is reused by a later block before this one waits its turn to be written.
      spare_.push_back(std::move(block->input));
      block->done = true;
      block->failed = !ok;
    }
    block_done_.notify_all();
  }
  if (compressor) libdeflate_free_compressor(compressor);
}

void ParallelGzip::write(const char* data, size_t size) {
  if (current_.capacity() < options_.block_size) current_.reserve(options_.block_size);
  while (size > 0) {
    size_t n = std::min(size, options_.block_size - current_.size());
    current_.append(data, n);
    data += n;
    size -= n;
    if (current_.size() == options_.block_size) submit();
  }
}

void ParallelGzip::submit() {
  // Two blocks per worker in flight keeps every core busy while the sink writes; more would only cost memory.
  while (in_order_.size() >= 2 * workers_.size()) emit_front();
  auto block = std::make_shared<Block>();
  block->input.swap(current_);
  {
    std::lock_guard lock(mutex_);
    if (!spare_.empty()) {
      current_ = std::move(spare_.back());
      current_.clear();
      spare_.pop_back();
    }
    in_order_.push_back(block);
    to_compress_.push_back(block);
  }
  wake_workers_.notify_one();
}

void ParallelGzip::emit_front() {
  std::shared_ptr<Block> block;
  {
    std::unique_lock lock(mutex_);
    block = in_order_.front();
    block_done_.wait(lock, [&] { return block->done; });
    in_order_.pop_front();
  }
  if (block->failed) throw std::runtime_error("gzip compression failed");
  out_(block->output.data(), block->output_size);
  std::lock_guard lock(mutex_);
  spare_.push_back(std::move(block->output));
}

void ParallelGzip::finish() {
  if (!current_.empty() || in_order_.empty()) submit();  // an empty input still makes one (empty) member
  while (!in_order_.empty()) emit_front();
}

}  // namespace arca::archive
