#pragma once
// What deleting a backup does to its CSI snapshots (Velero's internal/delete/actions/csi/volumesnapshotcontent_action.go):
// each snapshot the backup kept is deleted in the driver through a content with deletionPolicy Delete, the original
// content when it is still in the cluster, else a temporary one on the snapshot handle; VolumeSnapshots and contents
// still labelled with the backup (a run that stopped half way) go too.
#include <string>
#include <vector>

#include "kube/discovery.h"
#include "kube/transport.h"

namespace arca::csi {

struct KeptSnapshot {
  std::string vsc_name, snapshot_handle, driver;
};

// The snapshots a backup kept, from its volume information (`<backup>-volumeinfo.json.gz` content).
std::vector<KeptSnapshot> kept_snapshots(const std::string& volume_info_json);

// Deletes them, and the VolumeSnapshots and contents still labelled with the backup (with an empty `snapshots`, what
// a run interrupted by a restart left); returns one line per problem (the backup's deletion reports them as errors).
std::vector<std::string> delete_backup_snapshots(kube::Transport& transport, kube::Discovery& discovery,
                                                 const std::string& backup_name,
                                                 const std::vector<KeptSnapshot>& snapshots);

}  // namespace arca::csi
