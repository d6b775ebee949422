#include "backup/volume_info.h"

#include <gtest/gtest.h>

namespace arca::backup {
namespace {

using nlohmann::json;

// An entry as Velero's encoding/json writes it from internal/volume/volumes_information.go's struct tags: the
// Go fields without a tag keep their names ("ReadyToUse", "Phase"), `omitempty` strings are absent when empty.
const char* kVeleroEntries = R"([
 {"pvcName":"data-db-0","pvcNamespace":"shop","pvName":"pvc-1","backupMethod":"CSISnapshot",
  "snapshotDataMoved":true,"preserveLocalSnapshot":false,"skipped":false,
  "startTimestamp":"2026-12-01T10:00:00Z","completionTimestamp":"2026-12-01T10:00:09Z","result":"succeeded",
  "csiSnapshotInfo":{"snapshotHandle":"snap-7","size":1073741824,"driver":"hostpath.csi.k8s.io","vscName":"snapcontent-1","operationID":"op-1","ReadyToUse":true},
  "snapshotDataMovementInfo":{"dataMover":"velero","uploaderType":"kopia","snapshotHandle":"9f3c","operationID":"du-1","size":524288,"Phase":"Completed"},
  "pvInfo":{"reclaimPolicy":"Delete","labels":{"app":"db"}}},
 {"pvcName":"logs","pvcNamespace":"shop","pvName":"pvc-2","backupMethod":"PodVolumeBackup",
  "snapshotDataMoved":false,"preserveLocalSnapshot":false,"skipped":false,"result":"failed",
  "pvbInfo":{"snapshotHandle":"ab12","size":42,"uploaderType":"restic","volumeName":"logs","podName":"web-1","podNamespace":"shop","nodeName":"node-a","Phase":"Failed"}},
 {"pvcName":"scratch","pvcNamespace":"shop","pvName":"pvc-3","snapshotDataMoved":false,"preserveLocalSnapshot":false,
  "skipped":true,"skippedReason":"skipped due to volume policy","pvInfo":{"reclaimPolicy":"Retain","labels":null}}
])";

TEST(VolumeInfo, ReadsVeleroEntriesAndWritesThemBackUnchanged) {
  json velero = json::parse(kVeleroEntries);
  VolumeInfoCollector collector;
  for (const auto& entry : velero) collector.add(backup_volume_info_from_json(entry));
  auto entries = collector.entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].backup_method, kMethodCSISnapshot);
  ASSERT_TRUE(entries[0].csi_snapshot_info && entries[0].csi_snapshot_info->ready_to_use);
  EXPECT_TRUE(*entries[0].csi_snapshot_info->ready_to_use);
  EXPECT_EQ(entries[0].snapshot_data_movement_info->phase, "Completed");
  EXPECT_EQ(entries[1].pvb_info->node_name, "node-a");
  EXPECT_EQ(entries[1].pvb_info->size, 42);
  EXPECT_TRUE(entries[2].skipped);

  json written = json::parse(collector.json_text());
  // Velero writes "labels": null for a PV without labels; arca writes {} — the only difference allowed.
  velero[2]["pvInfo"]["labels"] = json::object();
  EXPECT_EQ(written, velero);
}

TEST(VolumeInfo, AnEmptyBackupWritesAnEmptyArray) {
  EXPECT_EQ(VolumeInfoCollector().json_text(), "[]");
}

}  // namespace
}  // namespace arca::backup
