#include "csi/data_download.h"

#include <thread>

#include "crypt/primitives.h"
#include "kube/errors.h"
#include "util/names.h"
#include "util/timestamp.h"

namespace arca::csi {

DataDownloads::DataDownloads(kube::Transport& transport, kube::Discovery& discovery, const api::Restore& restore,
                             std::string velero_namespace)
    : client_(transport), restore_(restore), namespace_(std::move(velero_namespace)) {
  const auto* dds = discovery.data()->preferred("velero.io", "datadownloads");
  available_ = dds != nullptr;
  if (dds) resource_ = *dds;
}

void DataDownloads::on_data_upload(const json& du) {
  std::string key = string_at(du, "/spec/sourceNamespace"_json_pointer) + "/" +
                    string_at(du, "/spec/sourcePVC"_json_pointer);
  std::lock_guard lock(mu_);
  uploads_[key] = du;
}

std::string DataDownloads::restore_pvc(json& pvc, const json& from_backup, const std::string& target_ns) {
  const std::string source_ns = string_at(from_backup, "/metadata/namespace"_json_pointer);
  const std::string name = string_at(from_backup, "/metadata/name"_json_pointer);
  json du;
  {
    std::lock_guard lock(mu_);
    auto it = uploads_.find(source_ns + "/" + name);
    if (it == uploads_.end())
      return "fail get DataUploadResult for restore: " + restore_.metadata.name + ": no DataUpload of PVC " +
             source_ns + "/" + name + " in the backup";
    du = it->second;
  }
  if (string_at(du, "/status/phase"_json_pointer) != "Completed" || string_at(du, "/status/snapshotID"_json_pointer).empty())
    return "the DataUpload of PVC " + source_ns + "/" + name + " did not complete: no data to restore";
  if (!available_) return "the cluster serves no DataDownload (velero.io/v2alpha1) API";
  // Velero's pvc_action.go: nothing may bind the claim until the node agent gives it the filled volume.
  std::string selector = valid_label_value(target_ns + "." + name + "." + crypt::hex(crypt::random_bytes(3)).substr(0, 5));
  pvc["spec"].erase("volumeName");
  pvc["spec"]["selector"] = {{"matchLabels", {{kDynamicPVRestoreLabel, selector}}}};

  Download d;
  d.name = valid_label_value(restore_.metadata.name + "-" + crypt::hex(crypt::random_bytes(3)).substr(0, 5));
  d.operation_id = valid_label_value("dd-" + restore_.metadata.uid + "." + string_at(from_backup, "/metadata/uid"_json_pointer));
  d.pvc_ns = target_ns;
  d.pvc_name = name;
  d.created = format_rfc3339(now_seconds());
  api::DataDownload dd;
  dd.metadata.name = d.name;
  dd.metadata.namespace_ = namespace_;
  dd.metadata.labels = {{"velero.io/restore-name", valid_label_value(restore_.metadata.name)},
                        {"velero.io/restore-uid", restore_.metadata.uid},
                        {kAsyncOperationIdLabel, d.operation_id}};
  dd.metadata.owner_references.push_back(controller_owner("Restore", restore_.metadata.name, restore_.metadata.uid));
  dd.spec.target_volume.pvc = name;
  dd.spec.target_volume.namespace_ = target_ns;
  dd.spec.backup_storage_location = string_at(du, "/spec/backupStorageLocation"_json_pointer);
  dd.spec.datamover = string_at(du, "/spec/datamover"_json_pointer);
  dd.spec.snapshot_id = string_at(du, "/status/snapshotID"_json_pointer);
  dd.spec.source_namespace = source_ns;
  dd.spec.snapshot_size = du.value("/status/progress/totalBytes"_json_pointer, int64_t{0});
  try {
    auto parsed = du.get<api::DataUpload>();
    dd.spec.operation_timeout = parsed.spec.operation_timeout;
  } catch (const std::exception&) {
  }
  try {
    client_.create(resource_, namespace_, json(dd));
  } catch (const std::exception& e) {
    return std::string("error creating DataDownload: ") + e.what();
  }
  std::lock_guard lock(mu_);
  downloads_.push_back(std::move(d));
  return "";
}

bool DataDownloads::any() const {
  std::lock_guard lock(mu_);
  return !downloads_.empty();
}

std::vector<std::string> DataDownloads::wait_all(std::chrono::milliseconds timeout, std::chrono::milliseconds poll) {
  std::vector<std::string> errors;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::lock_guard lock(mu_);
  for (;;) {
    bool pending = false;
    for (auto& d : downloads_) {
      if (d.phase == "Completed" || d.phase == "Failed" || d.phase == "Canceled") continue;
      try {
        json dd = client_.get(resource_, namespace_, d.name);
        d.phase = string_at(dd, "/status/phase"_json_pointer);
        d.error = string_at(dd, "/status/message"_json_pointer);
      } catch (const kube::KubeError& e) {
        if (kube::is_not_found(e)) {
          d.phase = "Failed";
          d.error = "DataDownload " + d.name + " was deleted";
        }
      }
      if (d.phase == "Completed" || d.phase == "Failed" || d.phase == "Canceled") continue;
      if (std::chrono::steady_clock::now() >= deadline) {
        try {
          client_.patch(resource_, namespace_, d.name, kube::PatchType::Merge, R"({"spec":{"cancel":true}})");
        } catch (const std::exception&) {
        }
        d.phase = "Failed";
        d.error = "timeout waiting for DataDownload " + d.name;
        continue;
      }
      pending = true;
    }
    if (!pending) break;
    std::this_thread::sleep_for(poll);
  }
  for (const auto& d : downloads_)
    if (d.phase != "Completed")
      errors.push_back("DataDownload " + d.name + " of PVC " + d.pvc_ns + "/" + d.pvc_name + " is " + d.phase +
                       (d.error.empty() ? "" : ": " + d.error));
  return errors;
}

std::string DataDownloads::item_operations_json() const {
  std::lock_guard lock(mu_);
  json out = json::array();
  std::string now = format_rfc3339(now_seconds());
  for (const auto& d : downloads_) {
    json status = {{"phase", d.phase == "Completed" ? "Completed" : d.phase.empty() ? "InProgress" : "Failed"},
                   {"created", d.created},
                   {"started", d.created},
                   {"updated", now}};
    if (d.phase != "Completed" && !d.error.empty()) status["error"] = d.error;
    out.push_back({{"spec",
                    {{"restoreName", restore_.metadata.name},
                     {"restoreUID", restore_.metadata.uid},
                     {"restoreItemAction", "velero.io/csi-pvc-restorer"},
                     {"ResourceIdentifier",
                      {{"Group", ""}, {"Resource", "persistentvolumeclaims"}, {"Namespace", d.pvc_ns}, {"Name", d.pvc_name}}},
                     {"OperationID", d.operation_id}}},
                   {"status", status}});
  }
  return out.dump();
}

}  // namespace arca::csi
