#pragma once
// The restore's side of the data mover (Velero's pkg/restore/actions/csi/pvc_action.go for a backup with
// snapshotMoveData, dataupload_retrieve_action.go, and the restore operations controller's waiting): each restored
// PVC whose backup moved its snapshot's data gets a selector no volume carries (so nothing binds it) and a
// DataDownload that a node agent fulfils (src/nodeagent/data_download.cc) by binding a volume filled from the
// repository; the restore waits for every DataDownload (WaitingForPluginOperations).
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "api/types.h"
#include "csi/csi.h"
#include "kube/discovery.h"
#include "kube/dynamic.h"

namespace arca::csi {

class DataDownloads {
 public:
  DataDownloads(kube::Transport& transport, kube::Discovery& discovery, const api::Restore& restore,
                std::string velero_namespace);

  // A DataUpload of the backup, as backed up (its status holds the snapshot ID). Thread-safe.
  void on_data_upload(const json& data_upload);
  // The PVC action: the error that fails the item, "" when its DataDownload was created. Thread-safe.
  std::string restore_pvc(json& pvc, const json& from_backup, const std::string& target_ns);

  bool any() const;
  // Waits for every DataDownload to end (Completed, Failed, Canceled) within `timeout` (then they are canceled);
  // returns one error line per one that did not complete.
  std::vector<std::string> wait_all(std::chrono::milliseconds timeout,
                                    std::chrono::milliseconds poll = std::chrono::milliseconds(250));
  // `<restore>-itemoperations.json.gz` before gzip (Velero's itemoperation.RestoreOperation list).
  std::string item_operations_json() const;

 private:
  struct Download {
    std::string name, operation_id, pvc_ns, pvc_name, created, phase, error;
  };
  kube::DynamicClient client_;
  const api::Restore& restore_;
  std::string namespace_;
  kube::ApiResource resource_;
  bool available_ = false;
  mutable std::mutex mu_;
  std::map<std::string, json> uploads_;  // "<source ns>/<source pvc>" -> DataUpload
  std::vector<Download> downloads_;
};

}  // namespace arca::csi
