#include "api/types.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/crds.h"
#include "api/mapping.h"

namespace arca::api {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// A velero-backup.json as Velero 1.18 writes it, plus fields no Velero version has (to prove they survive).
const char* kVeleroBackup = R"({
  "kind": "Backup",
  "apiVersion": "velero.io/v1",
  "metadata": {
    "name": "nightly",
    "namespace": "velero",
    "uid": "0b7f1c5e-3b1a-4a53-9a4e-2f9d0c1f8e11",
    "resourceVersion": "1234",
    "generation": 3,
    "creationTimestamp": "2024-01-02T03:04:05Z",
    "labels": {"velero.io/storage-location": "default", "velero.io/schedule-name": "daily"},
    "annotations": {"velero.io/resource-timeout": "10m0s", "velero.io/source-cluster-k8s-gitversion": "v1.29.0"},
    "managedFields": [{"manager": "velero-server", "operation": "Update"}],
    "ownerReferences": [{"apiVersion": "velero.io/v1", "kind": "Schedule", "name": "daily", "uid": "u-1", "controller": true}]
  },
  "spec": {
    "metadata": {},
    "includedNamespaces": ["*"],
    "excludedNamespaces": ["kube-system"],
    "excludedNamespaceScopedResources": ["volumesnapshots.snapshot.storage.k8s.io"],
    "excludedClusterScopedResources": ["volumesnapshotcontents.snapshot.storage.k8s.io"],
    "labelSelector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}]},
    "ttl": "720h0m0s",
    "hooks": {"resources": [{"name": "freeze", "includedNamespaces": ["app"], "pre": [{"exec": {"container": "db", "command": ["/bin/sh", "-c", "sync"], "onError": "Fail", "timeout": "30s"}}]}]},
    "storageLocation": "default",
    "volumeSnapshotLocations": ["aws-default"],
    "defaultVolumesToFsBackup": false,
    "orderedResources": {"pods": "ns1/p1,ns1/p2"},
    "csiSnapshotTimeout": "10m0s",
    "itemOperationTimeout": "4h0m0s",
    "snapshotMoveData": false,
    "uploaderConfig": {"parallelFilesUpload": 4},
    "volumeGroupSnapshotLabelKey": "velero.io/volume-group",
    "someFutureSpecField": {"nested": [1, 2, 3]}
  },
  "status": {
    "version": 1,
    "formatVersion": "1.1.0",
    "expiration": "2024-02-01T03:04:05Z",
    "phase": "Completed",
    "startTimestamp": "2024-01-02T03:04:06Z",
    "completionTimestamp": "2024-01-02T03:05:00Z",
    "warnings": 2,
    "progress": {"totalItems": 120, "itemsBackedUp": 120},
    "hookStatus": {"hooksAttempted": 1, "hooksSkippedInAFutureVersion": 2},
    "someFutureCounter": 7
  },
  "someFutureTopLevelField": "kept"
})";

TEST(ApiTypes, LoadsAVeleroBackupIntoTypedFields) {
  Backup b = json::parse(kVeleroBackup).get<Backup>();
  EXPECT_EQ(b.metadata.name, "nightly");
  EXPECT_EQ(b.metadata.namespace_, "velero");
  EXPECT_EQ(b.metadata.generation, 3);
  EXPECT_EQ(format_rfc3339(*b.metadata.creation_timestamp), "2024-01-02T03:04:05Z");
  EXPECT_EQ(b.metadata.labels.at("velero.io/schedule-name"), "daily");
  ASSERT_EQ(b.metadata.owner_references.size(), 1u);
  EXPECT_EQ(b.metadata.owner_references[0].controller, true);
  EXPECT_EQ(b.spec.included_namespaces, std::vector<std::string>{"*"});
  EXPECT_EQ(b.spec.ttl, 720h);
  EXPECT_EQ(to_selector_string(*b.spec.label_selector), "app=web,tier in (be,fe)");
  ASSERT_EQ(b.spec.hooks.resources.size(), 1u);
  EXPECT_EQ(b.spec.hooks.resources[0].pre[0].exec->on_error, HookErrorMode::Fail);
  EXPECT_EQ(b.spec.hooks.resources[0].pre[0].exec->timeout, 30s);
  EXPECT_EQ(b.spec.default_volumes_to_fs_backup, false);  // explicit false is kept, not treated as unset
  EXPECT_FALSE(b.spec.snapshot_volumes.has_value());
  EXPECT_EQ(b.spec.uploader_config->parallel_files_upload, 4);
  EXPECT_EQ(b.status.phase, BackupPhase::Completed);
  EXPECT_EQ(to_string(b.status.phase), "Completed");
  EXPECT_EQ(b.status.progress->items_backed_up, 120);
  EXPECT_EQ(b.status.version, 1);
}

TEST(ApiTypes, RoundTripKeepsEveryFieldIncludingUnknownOnes) {
  json original = json::parse(kVeleroBackup);
  json written = json(original.get<Backup>());
  // `spec.metadata: {}` is empty and omitted, as Go's omitempty would for a pointer; everything else is equal.
  json expected = original;
  expected["spec"].erase("metadata");
  EXPECT_EQ(written, expected) << written.dump(2);
}

TEST(ApiTypes, SpecAndStatusConvertOnTheirOwn) {
  BackupStatus status;
  status.phase = BackupPhase::InProgress;
  status.progress.emplace();
  status.progress->total_items = 5;
  json patch{{"status", status}};  // what a controller sends as a merge patch
  EXPECT_EQ(patch.dump(), R"({"status":{"phase":"InProgress","progress":{"totalItems":5}}})");
  EXPECT_EQ(patch["status"].get<BackupStatus>().progress->total_items, 5);
  EXPECT_THROW(json::parse(R"({"phase":7})").get<RestoreStatus>(), DecodeError);
}

TEST(ApiTypes, OmitsEmptyFieldsLikeOmitempty) {
  Backup b;
  b.metadata.name = "b1";
  b.metadata.namespace_ = "velero";
  b.spec.include_cluster_resources = false;  // a set *bool is written even when false
  json j = b;
  EXPECT_EQ(j, json::parse(R"({"apiVersion":"velero.io/v1","kind":"Backup",
                              "metadata":{"name":"b1","namespace":"velero"},
                              "spec":{"includeClusterResources":false}})"));
}

TEST(ApiTypes, EveryKindWritesItsKindAndApiVersion) {
  EXPECT_EQ(json(Restore{})["kind"], "Restore");
  EXPECT_EQ(json(Schedule{})["kind"], "Schedule");
  EXPECT_EQ(json(BackupStorageLocation{})["kind"], "BackupStorageLocation");
  EXPECT_EQ(json(VolumeSnapshotLocation{})["kind"], "VolumeSnapshotLocation");
  EXPECT_EQ(json(DeleteBackupRequest{})["kind"], "DeleteBackupRequest");
  EXPECT_EQ(json(DownloadRequest{})["kind"], "DownloadRequest");
  EXPECT_EQ(json(ServerStatusRequest{})["kind"], "ServerStatusRequest");
  EXPECT_EQ(json(BackupRepository{})["kind"], "BackupRepository");
  EXPECT_EQ(json(PodVolumeBackup{})["kind"], "PodVolumeBackup");
  EXPECT_EQ(json(PodVolumeRestore{})["kind"], "PodVolumeRestore");
  EXPECT_EQ(json(DataUpload{})["apiVersion"], "velero.io/v2alpha1");
  EXPECT_EQ(json(DataDownload{})["apiVersion"], "velero.io/v2alpha1");
}

TEST(ApiTypes, BadDocumentsGiveOneLineWithThePath) {
  auto error_of = [](const char* text) {
    try {
      json::parse(text).get<Backup>();
    } catch (const DecodeError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of(R"({"spec":{"ttl":"30d"}})"), "spec.ttl: time: unknown unit \"d\" in duration \"30d\"");
  EXPECT_EQ(error_of(R"({"status":{"phase":"Done"}})"),
            "status.phase: unknown value \"Done\" (expected one of New, Queued, ReadyToStart, FailedValidation, "
            "InProgress, WaitingForPluginOperations, WaitingForPluginOperationsPartiallyFailed, Finalizing, "
            "FinalizingPartiallyFailed, Completed, PartiallyFailed, Failed, Deleting)");
  EXPECT_EQ(error_of(R"({"spec":{"includedNamespaces":"ns1"}})"),
            "spec.includedNamespaces: expected an array, got a string");
  EXPECT_EQ(error_of(R"({"spec":{"hooks":{"resources":[{"name":"x","pre":[{"exec":{"command":[1]}}]}]}}})"),
            "spec.hooks.resources[0].pre[0].exec.command[0]: expected a string, got an integer");
  EXPECT_EQ(error_of(R"({"kind":"Restore"})"), "kind: expected Backup, got Restore");
  EXPECT_EQ(error_of(R"({"status":{"expiration":"tomorrow"}})"),
            "status.expiration: invalid RFC 3339 timestamp \"tomorrow\" (expected e.g. 2024-01-02T03:04:05Z)");
  EXPECT_EQ(error_of("[]"), "document: expected an object, got an array");
}

TEST(ApiTypes, NullsReadAsUnset) {
  Backup b = json::parse(R"({"metadata":{"creationTimestamp":null},"spec":{"labelSelector":null,"ttl":null}})")
                 .get<Backup>();
  EXPECT_FALSE(b.metadata.creation_timestamp.has_value());
  EXPECT_FALSE(b.spec.label_selector.has_value());
  EXPECT_FALSE(b.spec.ttl.has_value());
}

TEST(ApiTypes, OtherKindsRoundTrip) {
  const char* restore = R"({"apiVersion":"velero.io/v1","kind":"Restore","metadata":{"name":"r1","namespace":"velero"},
    "spec":{"backupName":"nightly","includedNamespaces":["app-*"],"namespaceMapping":{"app":"app-copy"},
            "restoreStatus":{"includedResources":["workflows"]},"existingResourcePolicy":"update",
            "hooks":{"resources":[{"name":"h","postHooks":[{"init":{"initContainers":[{"name":"c","image":"busybox","x":{"y":1}}],"timeout":"1m0s"}},
                                                        {"exec":{"command":["true"],"waitForReady":true,"execTimeout":"30s"}}]}]},
            "resourceModifier":{"kind":"configmap","name":"mods"},"uploaderConfig":{"writeSparseFiles":true},
            "itemOperationTimeout":"4h0m0s"},
    "status":{"phase":"PartiallyFailed","errors":1,"progress":{"totalItems":3,"itemsRestored":3}}})";
  EXPECT_EQ(json(json::parse(restore).get<Restore>()), json::parse(restore));
  const char* bsl = R"({"apiVersion":"velero.io/v1","kind":"BackupStorageLocation","metadata":{"name":"default"},
    "spec":{"provider":"aws","default":true,"objectStorage":{"bucket":"b","prefix":"velero","caCertRef":{"name":"ca","key":"ca.crt"}},
            "credential":{"name":"cloud-credentials","key":"cloud"},"config":{"region":"minio","s3ForcePathStyle":"true"},
            "accessMode":"ReadWrite","backupSyncPeriod":"1m0s"},
    "status":{"phase":"Available","lastValidationTime":"2024-01-02T03:04:05Z"}})";
  auto location = json::parse(bsl).get<BackupStorageLocation>();
  EXPECT_TRUE(location.spec.is_default);
  EXPECT_EQ(location.status.phase, LocationPhase::Available);
  EXPECT_EQ(json(location), json::parse(bsl));
  const char* schedule = R"({"apiVersion":"velero.io/v1","kind":"Schedule","metadata":{"name":"daily"},
    "spec":{"schedule":"0 1 * * *","paused":true,"useOwnerReferencesInBackup":false,
            "template":{"metadata":{"labels":{"team":"a"}},"ttl":"240h0m0s","includedNamespaces":["a"]}},
    "status":{"phase":"Enabled","lastBackup":"2024-01-02T01:00:00Z"}})";
  auto s = json::parse(schedule).get<Schedule>();
  EXPECT_EQ(s.spec.backup_template.metadata.labels.at("team"), "a");
  EXPECT_EQ(json(s), json::parse(schedule));
  const char* pvb = R"({"apiVersion":"velero.io/v1","kind":"PodVolumeBackup","metadata":{"generateName":"nightly-"},
    "spec":{"node":"n1","pod":{"kind":"Pod","namespace":"app","name":"p","uid":"u"},"volume":"data",
            "backupStorageLocation":"default","repoIdentifier":"","uploaderType":"kopia","tags":{"backup":"nightly"}},
    "status":{"phase":"Completed","progress":{"totalBytes":10737418240,"bytesDone":10737418240},"snapshotID":"k1"}})";
  auto p = json::parse(pvb).get<PodVolumeBackup>();
  EXPECT_EQ(p.status.progress.total_bytes, 10737418240);
  EXPECT_EQ(json(p), json::parse(pvb));
  const char* dr = R"({"apiVersion":"velero.io/v1","kind":"DownloadRequest","metadata":{"name":"nightly-x"},
    "spec":{"target":{"kind":"BackupLog","name":"nightly"}},
    "status":{"phase":"Processed","downloadURL":"http://127.0.0.1/x","expiration":"2024-01-02T03:14:05Z"}})";
  EXPECT_EQ(json(json::parse(dr).get<DownloadRequest>()), json::parse(dr));
  const char* du = R"({"apiVersion":"velero.io/v2alpha1","kind":"DataUpload","metadata":{"name":"du"},
    "spec":{"snapshotType":"CSI","csiSnapshot":{"volumeSnapshot":"vs","storageClass":"sc"},"sourcePVC":"data",
            "backupStorageLocation":"default","sourceNamespace":"app","operationTimeout":"10m0s"},
    "status":{"phase":"InProgress","nodeOS":"linux","dataMoverResult":{"a":"b"}}})";
  EXPECT_EQ(json(json::parse(du).get<DataUpload>()), json::parse(du));
}

// ---- every property of every generated CRD maps to a struct member -----------------------------------------

// A document that sets every property of a schema; plain strings get "1h0m0s", which is also a valid duration.
json sample(const json& schema) {
  if (schema.contains("enum")) return schema["enum"][0];
  const std::string type = schema.value("type", "");
  if (type == "string") return schema.value("format", "") == "date-time" ? "2024-01-02T03:04:05Z" : "1h0m0s";
  if (type == "integer") return 7;
  if (type == "boolean") return true;
  if (type == "array") return json::array({sample(schema["items"])});
  if (schema.contains("properties")) {
    json out = json::object();
    for (const auto& [name, property] : schema["properties"].items()) {
      json value = sample(property);
      // Empty objects are omitted on output (omitempty), and top-level metadata belongs to the API server.
      if (!(value.is_object() && value.empty()) && (name != "metadata" || property.contains("properties")))
        out[name] = value;
    }
    return out;
  }
  if (schema.contains("additionalProperties")) return json{{"k", sample(schema["additionalProperties"])}};
  if (schema.value("x-kubernetes-preserve-unknown-fields", false)) return json::object({{"anything", 1}});
  return json::object();
}

// True when some struct in the tree holds a field that no description claims.
template <class T>
bool has_unknown(const T& value) {
  using namespace mapping;
  if constexpr (is_optional<T>::value) {
    return value && has_unknown(*value);
  } else if constexpr (is_vector<T>::value) {
    for (const auto& item : value) {
      if (has_unknown(item)) return true;
    }
    return false;
  } else if constexpr (Described<T>) {
    bool found = false;
    if constexpr (requires { value.unknown; }) found = value.unknown.is_object() && !value.unknown.empty();
    std::apply([&](const auto&... f) { found = (found || ... || has_unknown(value.*(f.member))); },
               Describe<T>::fields);
    return found;
  } else {
    return false;
  }
}

template <class T>
void expect_schema_covered(const std::string& plural) {
  SCOPED_TRACE(plural);
  for (const auto& crd : velero_crds()) {
    if (crd["spec"]["names"]["plural"] != plural) continue;
    json document = sample(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]);
    document["apiVersion"] = crd["spec"]["group"].get<std::string>() + "/" +
                             crd["spec"]["versions"][0]["name"].get<std::string>();
    document["kind"] = crd["spec"]["names"]["kind"];
    T value = document.get<T>();
    EXPECT_FALSE(has_unknown(value)) << document.dump();
    EXPECT_EQ(json(value), document);
    return;
  }
  ADD_FAILURE() << "no CRD named " << plural;
}

TEST(ApiTypes, EverySchemaPropertyIsATypedField) {
  expect_schema_covered<Backup>("backups");
  expect_schema_covered<Restore>("restores");
  expect_schema_covered<Schedule>("schedules");
  expect_schema_covered<BackupStorageLocation>("backupstoragelocations");
  expect_schema_covered<VolumeSnapshotLocation>("volumesnapshotlocations");
  expect_schema_covered<DeleteBackupRequest>("deletebackuprequests");
  expect_schema_covered<DownloadRequest>("downloadrequests");
  expect_schema_covered<ServerStatusRequest>("serverstatusrequests");
  expect_schema_covered<BackupRepository>("backuprepositories");
  expect_schema_covered<PodVolumeBackup>("podvolumebackups");
  expect_schema_covered<PodVolumeRestore>("podvolumerestores");
  expect_schema_covered<DataUpload>("datauploads");
  expect_schema_covered<DataDownload>("datadownloads");
}

}  // namespace
}  // namespace arca::api
