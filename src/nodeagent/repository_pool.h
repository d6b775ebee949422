#pragma once
// Open repositories kept between the node agent's transfers. Opening one costs a key derivation (scrypt, about
// 0.1 s of CPU) and reading every index file; a namespace of 20 volumes paid that 20 times per backup. A transfer
// takes an open repository of its (location, volume namespace) from the pool, or opens one; when it succeeded it
// gives it back. Each repository serves one transfer at a time (concurrent transfers of one namespace get one each),
// and each operation takes its own lock as restic's commands do. Before reuse the store must still hold the same
// repository (repo::reusable); the operation then reads only index files added since (all of them after a prune).
// A repository whose transfer failed is dropped: its in-memory state may name blobs that were never stored.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "repo/repository.h"

namespace arca::nodeagent {

class RepositoryPool {
 public:
  using Clock = std::chrono::steady_clock;
  // Unused this long, a repository is closed: its index memory goes, and changed store credentials are read again.
  explicit RepositoryPool(Clock::duration idle_limit = std::chrono::minutes(10)) : idle_limit_(idle_limit) {}

  class Lease {
   public:
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    repo::Repository& operator*() { return *repository_; }
    repo::Repository* operator->() { return repository_.get(); }
    // The transfer succeeded: the repository goes back to the pool when the lease ends.
    void keep() { keep_ = true; }
    bool reused() const { return reused_; }

   private:
    friend class RepositoryPool;
    Lease(RepositoryPool* pool, std::string key, std::unique_ptr<repo::Repository> r, bool reused)
        : pool_(pool), key_(std::move(key)), repository_(std::move(r)), reused_(reused) {}
    RepositoryPool* pool_;
    std::string key_;
    std::unique_ptr<repo::Repository> repository_;
    bool reused_ = false, keep_ = false;
  };

  // An idle repository under `key` that the store still holds, else `open()`'s.
  Lease take(const std::string& key, const std::function<repo::Repository()>& open);
  size_t idle() const;

 private:
  struct Idle {
    std::string key;
    std::unique_ptr<repo::Repository> repository;
    Clock::time_point since;
  };
  void give_back(std::string key, std::unique_ptr<repo::Repository> r);
  Clock::duration idle_limit_;
  mutable std::mutex mu_;
  std::vector<Idle> idle_;
};

}  // namespace arca::nodeagent
