#include "nodeagent/repository_pool.h"

#include <algorithm>

namespace arca::nodeagent {

RepositoryPool::Lease::~Lease() {
  if (pool_ && repository_ && keep_) pool_->give_back(std::move(key_), std::move(repository_));
}

RepositoryPool::Lease RepositoryPool::take(const std::string& key, const std::function<repo::Repository()>& open) {
  std::unique_ptr<repo::Repository> found;
  std::vector<Idle> expired;  // closed outside the lock
  {
    std::lock_guard l(mu_);
    auto now = Clock::now();
    for (auto it = idle_.begin(); it != idle_.end();) {
      if (now - it->since > idle_limit_) {
        expired.push_back(std::move(*it));
        it = idle_.erase(it);
      } else {
        ++it;
      }
    }
    // The most recently used: its index is the most complete.
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it)
      if (it->key == key) {
        found = std::move(it->repository);
        idle_.erase(std::next(it).base());
        break;
      }
  }
  if (found && repo::reusable(*found)) return Lease(this, key, std::move(found), true);
  found.reset();
  return Lease(this, key, std::make_unique<repo::Repository>(open()), false);
}

void RepositoryPool::give_back(std::string key, std::unique_ptr<repo::Repository> r) {
  std::lock_guard l(mu_);
  idle_.push_back({std::move(key), std::move(r), Clock::now()});
}

size_t RepositoryPool::idle() const {
  std::lock_guard l(mu_);
  return idle_.size();
}

}  // namespace arca::nodeagent
