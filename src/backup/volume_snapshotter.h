#pragma once
// What the backup run asks of a volume snapshot path (CSI snapshots live in src/csi/): a look at each PVC as it is
// backed up, then, once every item is collected, the items its async operations produced (Velero's
// pkg/backup/actions/csi and the backup finalizer's items-to-update, pkg/controller/backup_finalizer_controller.go).
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "backup/backup_log.h"

namespace arca::backup {

class VolumeSnapshotter {
 public:
  virtual ~VolumeSnapshotter() = default;
  // A PVC being backed up, with its bound PV (null when it has none or it is not known). May start a snapshot and
  // change `pvc` (the labels and annotations a restore reads); returns whether it did change it.
  virtual bool on_pvc(nlohmann::json& pvc, const nlohmann::json& pv) = 0;
  // Items the snapshotter writes itself, in their final state: the run leaves them out when it lists them.
  virtual bool defers(const std::string& group, const std::string& resource, const std::string& ns,
                      const std::string& name) const = 0;
  using AddItem = std::function<void(const std::string& group, const std::string& resource, const std::string& ns,
                                     const std::string& name, const std::string& json)>;
  // Every item is collected: waits for the snapshots, adds what they produced through `add`, cleans up.
  virtual void finish(const AddItem& add) = 0;
};

}  // namespace arca::backup
