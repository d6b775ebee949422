#include "csi/cleanup.h"

#include <chrono>
#include <thread>

#include "backup/volume_info.h"
#include "crypt/primitives.h"
#include "csi/csi.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "util/names.h"

namespace arca::csi {

std::vector<KeptSnapshot> kept_snapshots(const std::string& volume_info_json) {
  std::vector<KeptSnapshot> out;
  auto doc = json::parse(volume_info_json, nullptr, false);
  if (!doc.is_array()) return out;
  for (const auto& entry : doc) {
    backup::BackupVolumeInfo info;
    try {
      info = backup::backup_volume_info_from_json(entry);
    } catch (const json::exception&) {
      continue;
    }
    // A moved snapshot was deleted by the node agent once its data was in the repository.
    if (info.snapshot_data_moved || !info.csi_snapshot_info || info.csi_snapshot_info->snapshot_handle.empty() ||
        info.result == backup::kVolumeFailed)
      continue;
    out.push_back({info.csi_snapshot_info->vsc_name, info.csi_snapshot_info->snapshot_handle,
                   info.csi_snapshot_info->driver});
  }
  return out;
}

namespace {

bool exists(kube::DynamicClient& client, const kube::ApiResource& r, const std::string& name) {
  try {
    client.get(r, "", name);
    return true;
  } catch (const kube::KubeError& e) {
    if (kube::is_not_found(e)) return false;
    throw;
  }
}

// Deleting a content before the snapshot controller put its finalizer on it would remove only the object: wait
// (bounded) for the finalizer, which says the controller took the content on.
void wait_for_finalizer(kube::DynamicClient& client, const kube::ApiResource& r, const std::string& name) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    json vsc = client.get(r, "", name);
    if (vsc.contains("/metadata/finalizers"_json_pointer) && !vsc["metadata"]["finalizers"].empty()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

std::vector<std::string> delete_backup_snapshots(kube::Transport& transport, kube::Discovery& discovery,
                                                 const std::string& backup_name,
                                                 const std::vector<KeptSnapshot>& snapshots) {
  std::vector<std::string> errors;
  auto data = discovery.data();
  const auto* contents_p = data->preferred(kSnapshotGroup, "volumesnapshotcontents");
  const auto* snapshots_p = data->preferred(kSnapshotGroup, "volumesnapshots");
  if (!contents_p || !snapshots_p) {
    if (!snapshots.empty())
      errors.push_back("the cluster serves no snapshot.storage.k8s.io API: the backup's CSI snapshots were not deleted");
    return errors;
  }
  const kube::ApiResource contents = *contents_p, vss = *snapshots_p;
  kube::DynamicClient client(transport);
  const std::string delete_patch = R"({"spec":{"deletionPolicy":"Delete"}})";
  for (const auto& s : snapshots) {
    try {
      // tryDeleteOriginalVSC: the content is still there, set it to Delete and delete it.
      if (!s.vsc_name.empty() && exists(client, contents, s.vsc_name)) {
        client.patch(contents, "", s.vsc_name, kube::PatchType::Merge, delete_patch);
        client.remove(contents, "", s.vsc_name);
        continue;
      }
      std::string id = crypt::hex(crypt::random_bytes(16));
      json temp = {{"apiVersion", "snapshot.storage.k8s.io/v1"},
                   {"kind", "VolumeSnapshotContent"},
                   {"metadata", {{"name", "vsc-" + id}, {"labels", {{kBackupNameLabel, valid_label_value(backup_name)}}}}},
                   {"spec",
                    {{"deletionPolicy", "Delete"},
                     {"driver", s.driver},
                     {"source", {{"snapshotHandle", s.snapshot_handle}}},
                     {"volumeSnapshotRef",
                      {{"apiVersion", "snapshot.storage.k8s.io/v1"},
                       {"kind", "VolumeSnapshot"},
                       {"namespace", "ns-" + id},
                       {"name", "name-" + id}}}}}};
      client.create(contents, "", temp);
      wait_for_finalizer(client, contents, "vsc-" + id);
      client.remove(contents, "", "vsc-" + id);
    } catch (const std::exception& e) {
      errors.push_back("error deleting the CSI snapshot " + s.snapshot_handle + ": " + e.what());
    }
  }
  // Leftovers of a run that stopped before its cleanup: labelled with the backup.
  kube::ListOptions labelled;
  labelled.label_selector = std::string(kBackupNameLabel) + "=" + valid_label_value(backup_name);
  try {
    std::vector<std::pair<std::string, std::string>> found;
    // A restore labels what it creates with the backup's name too: those are the user's now.
    auto restored = [](const kube::ListItem& item) {
      return item.json.find("velero.io/restore-name") != std::string_view::npos;
    };
    client.list(vss, "", labelled, [&](const kube::ListItem& item) {
      if (!restored(item)) found.emplace_back(std::string(item.namespace_name), std::string(item.name));
    });
    // csi.CleanupVolumeSnapshot: the bound content is set to Delete first, so the driver's snapshot goes too.
    for (const auto& [ns, name] : found) {
      json vs = client.get(vss, ns, name);
      std::string bound = string_at(vs, "/status/boundVolumeSnapshotContentName"_json_pointer);
      if (!bound.empty() && exists(client, contents, bound))
        client.patch(contents, "", bound, kube::PatchType::Merge, delete_patch);
      client.remove(vss, ns, name);
    }
    std::vector<std::string> names;
    client.list(contents, "", labelled, [&](const kube::ListItem& item) {
      if (!restored(item)) names.emplace_back(item.name);
    });
    for (const auto& name : names) {
      client.patch(contents, "", name, kube::PatchType::Merge, delete_patch);
      client.remove(contents, "", name);
    }
  } catch (const kube::KubeError& e) {
    if (!kube::is_not_found(e)) errors.push_back(std::string("error deleting the backup's VolumeSnapshots: ") + e.what());
  }
  return errors;
}

}  // namespace arca::csi
