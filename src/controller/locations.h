#pragma once
// From a BackupStorageLocation to an open object store and its bucket layout; the BSL's credential
// Secret key is written to a private temporary file for the driver and removed with the location.
#include <memory>
#include <string>

#include "api/types.h"
#include "kube/discovery.h"
#include "persistence/layout.h"
#include "store/object_store.h"

namespace arca::kube {
class Transport;
}

namespace arca::controller {

class OpenLocation {
 public:
  OpenLocation(std::unique_ptr<store::ObjectStore> store, persistence::Layout layout, std::string credentials_file);
  ~OpenLocation();
  OpenLocation(const OpenLocation&) = delete;
  OpenLocation& operator=(const OpenLocation&) = delete;
  store::ObjectStore& store() { return *store_; }
  const persistence::Layout& layout() const { return layout_; }

 private:
  std::unique_ptr<store::ObjectStore> store_;
  persistence::Layout layout_;
  std::string credentials_file_;
};

// Throws store::StoreError (bad provider/config) or kube::KubeError (credential Secret unreadable), one line.
std::unique_ptr<OpenLocation> open_location(const api::BackupStorageLocation& location, kube::Transport& transport,
                                            const kube::ApiResource& secrets);

// Velero's availability check (Velero's pkg/persistence/object_store.go IsValid): the store answers and holds no unknown top-level directory.
// Returns "" when usable, else the reason.
std::string check_location(const api::BackupStorageLocation& location, kube::Transport& transport,
                           const kube::ApiResource& secrets);

}  // namespace arca::controller
