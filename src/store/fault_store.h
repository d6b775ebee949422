#pragma once
// A wrapper that records every call and fails chosen ones: tests use it to check upload order and that a
// failure in the middle leaves storage as it was.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/object_store.h"

namespace arca::store {

struct Fault {
  std::string operation;     // "put", "get", "head", "list", "remove", "signed_get_url"
  std::string key_contains;  // matches keys (or list prefixes) containing this; empty matches all
  int skip = 0;              // let this many matching calls through first
  ErrorKind kind = ErrorKind::Failed;
  // For puts: fail after the body yielded this many bytes (a broken upload), or before reading when < 0.
  long long fail_after_bytes = -1;
};

class FaultStore : public ObjectStore {
 public:
  explicit FaultStore(ObjectStore& inner) : inner_(inner) {}
  void add_fault(Fault fault);
  // "put velero-backup.json"-style lines, one per call, in call order.
  std::vector<std::string> calls() const;

  void put(const std::string& key, const Reader& body) override;
  void get(const std::string& key, const Writer& sink) override;
  HeadResult head(const std::string& key) override;
  ListPage list(const ListRequest& request) override;
  void remove(const std::string& key) override;
  std::string signed_get_url(const std::string& key, std::chrono::seconds ttl) override;
  std::string describe() const override { return inner_.describe(); }
  void remove_abandoned_uploads(const std::string& prefix) override { inner_.remove_abandoned_uploads(prefix); }

 private:
  // Records the call; returns the fault to apply, if any.
  const Fault* record(const std::string& operation, const std::string& key);

  ObjectStore& inner_;
  mutable std::mutex mutex_;
  std::vector<Fault> faults_;
  std::vector<int> seen_;  // matching calls per fault
  std::vector<std::string> calls_;
};

}  // namespace arca::store
