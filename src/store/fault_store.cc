#include "store/fault_store.h"

namespace arca::store {

void FaultStore::add_fault(Fault fault) {
  std::lock_guard lock(mutex_);
  faults_.push_back(std::move(fault));
  seen_.push_back(0);
}

std::vector<std::string> FaultStore::calls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

const Fault* FaultStore::record(const std::string& operation, const std::string& key) {
  std::lock_guard lock(mutex_);
  calls_.push_back(operation + " " + key);
  for (size_t i = 0; i < faults_.size(); ++i) {
    const Fault& f = faults_[i];
    if (f.operation != operation || key.find(f.key_contains) == std::string::npos) continue;
    if (seen_[i]++ >= f.skip) return &f;
  }
  return nullptr;
}

static StoreError injected(const Fault& f, const std::string& key) {
  return StoreError(f.kind, "injected " + std::string(to_string(f.kind)) + " on " + f.operation + " \"" + key + "\"");
}

void FaultStore::put(const std::string& key, const Reader& body) {
  const Fault* f = record("put", key);
  if (f && f->fail_after_bytes < 0) throw injected(*f, key);
  if (!f) return inner_.put(key, body);
  long long yielded = 0;
  inner_.put(key, [&](char* buffer, size_t capacity) {
    size_t n = body(buffer, capacity);
    yielded += static_cast<long long>(n);
    if (yielded > f->fail_after_bytes || n == 0) throw injected(*f, key);
    return n;
  });
}

void FaultStore::get(const std::string& key, const Writer& sink) {
  if (const Fault* f = record("get", key)) throw injected(*f, key);
  inner_.get(key, sink);
}

HeadResult FaultStore::head(const std::string& key) {
  if (const Fault* f = record("head", key)) throw injected(*f, key);
  return inner_.head(key);
}

ListPage FaultStore::list(const ListRequest& request) {
  if (const Fault* f = record("list", request.prefix)) throw injected(*f, request.prefix);
  return inner_.list(request);
}

void FaultStore::remove(const std::string& key) {
  if (const Fault* f = record("remove", key)) throw injected(*f, key);
  inner_.remove(key);
}

std::string FaultStore::signed_get_url(const std::string& key, std::chrono::seconds ttl) {
  if (const Fault* f = record("signed_get_url", key)) throw injected(*f, key);
  return inner_.signed_get_url(key, ttl);
}

}  // namespace arca::store
