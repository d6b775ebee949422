// The pure CSI rules: Velero's VolumeSnapshotClass choice (pkg/util/csi/volume_snapshot.go), quantities, volume
// policy conditions, the restore actions' rewrites (pkg/restore/actions/csi) and the item-operation JSON.
#include <gtest/gtest.h>

#include "csi/csi.h"

using namespace arca::csi;

namespace {

json vs_class(const std::string& name, const std::string& driver, json labels = json::object(),
              json annotations = json::object()) {
  return {{"metadata", {{"name", name}, {"labels", labels}, {"annotations", annotations}}}, {"driver", driver}};
}
json with_annotations(json annotations) { return {{"metadata", {{"name", "x"}, {"annotations", annotations}}}}; }

std::string pick(const std::vector<json>& classes, const json& pvc = json::object(), const json& sc = json::object(),
                 const json& backup = json::object(), std::string* error = nullptr) {
  std::string e;
  auto c = choose_snapshot_class(classes, "hostpath.csi.k8s.io", pvc, sc, backup, e);
  if (error) *error = e;
  return c ? (*c)["metadata"]["name"].get<std::string>() : "";
}

}  // namespace

TEST(SnapshotClass, VelerosOrderOfPreference) {
  const std::string d = "hostpath.csi.k8s.io";
  std::vector<json> classes = {vs_class("other-driver", "ebs.csi.aws.com", {{kClassSelectorLabel, "true"}}),
                               vs_class("plain", d),
                               vs_class("default", d, json::object(), {{kKubernetesDefaultClass, "true"}}),
                               vs_class("labelled", d, {{kClassSelectorLabel, "true"}}),
                               vs_class("chosen", d)};
  // The label wins over the Kubernetes default; nothing else names a class.
  EXPECT_EQ(pick(classes), "labelled");
  // The backup's per-driver annotation (lower-cased driver) wins over the label.
  EXPECT_EQ(pick(classes, {}, {}, with_annotations({{"velero.io/csi-volumesnapshot-class_hostpath.csi.k8s.io", "chosen"}})),
            "chosen");
  // The PVC's annotation wins over the backup's.
  EXPECT_EQ(pick(classes, with_annotations({{kClassPVCAnnotation, "plain"}}), {},
                 with_annotations({{"velero.io/csi-volumesnapshot-class_hostpath.csi.k8s.io", "chosen"}})),
            "plain");
  // A class of another driver named by an annotation is refused and the next source is used.
  EXPECT_EQ(pick(classes, with_annotations({{kClassPVCAnnotation, "other-driver"}})), "labelled");
  // Without a label: the default; without that, the only class of the driver.
  classes.erase(classes.begin() + 3);
  EXPECT_EQ(pick(classes), "default");
  EXPECT_EQ(pick({vs_class("alone", d)}), "alone");
  std::string error;
  EXPECT_EQ(pick({vs_class("a", d), vs_class("b", d)}, {}, {}, {}, &error), "");
  EXPECT_NE(error.find("ensure that the desired VolumeSnapshot class has the velero.io/csi-volumesnapshot-class label"),
            std::string::npos)
      << error;
}

TEST(Quantity, ParsesAndFormatsAsKubernetesDoes) {
  EXPECT_EQ(parse_quantity("1Gi"), 1073741824);
  EXPECT_EQ(parse_quantity("500M"), 500000000);
  EXPECT_EQ(parse_quantity("1.5Ki"), 1536);
  EXPECT_EQ(parse_quantity("12345"), 12345);
  EXPECT_FALSE(parse_quantity("ten"));
  EXPECT_FALSE(parse_quantity("5Qi"));
  EXPECT_EQ(format_binary_quantity(1073741824), "1Gi");
  EXPECT_EQ(format_binary_quantity(104857600), "100Mi");
  EXPECT_EQ(format_binary_quantity(1536), "1536");
  EXPECT_EQ(format_binary_quantity(0), "0");
}

TEST(VolumeConditions, MatchOnTheVolumeAndTheClaim) {
  json pvc = {{"metadata", {{"labels", {{"tier", "db"}}}}},
              {"spec", {{"storageClassName", "standard"}, {"resources", {{"requests", {{"storage", "1Gi"}}}}}}},
              {"status", {{"phase", "Bound"}}}};
  json pv = {{"spec", {{"capacity", {{"storage", "1Gi"}}}, {"csi", {{"driver", "hostpath.csi.k8s.io"}}}}}};
  EXPECT_TRUE(volume_conditions_match({{"storageClass", {"gold", "standard"}}}, pvc, pv));
  EXPECT_FALSE(volume_conditions_match({{"storageClass", {"gold"}}}, pvc, pv));
  EXPECT_TRUE(volume_conditions_match({{"csi", {{"driver", "hostpath.csi.k8s.io"}}}}, pvc, pv));
  EXPECT_FALSE(volume_conditions_match({{"csi", {{"driver", "ebs.csi.aws.com"}}}}, pvc, pv));
  EXPECT_TRUE(volume_conditions_match({{"capacity", "0,2Gi"}}, pvc, pv));
  EXPECT_FALSE(volume_conditions_match({{"capacity", "2Gi,"}}, pvc, pv));
  EXPECT_TRUE(volume_conditions_match({{"pvcLabels", {{"tier", "db"}}}, {"pvcPhase", {"Bound"}}}, pvc, pv));
  EXPECT_FALSE(volume_conditions_match({{"pvcLabels", {{"tier", "web"}}}}, pvc, pv));
  EXPECT_FALSE(volume_conditions_match({{"nfs", json::object()}}, pvc, pv));
}

TEST(RestoreActions, SnapshotAndContentBindStaticallyAndTheClaimUsesThem) {
  RestoreContext context;
  context.restore_uid = "r-uid";
  context.namespace_mapping = {{"app", "app2"}};
  context.class_for_driver = [](const std::string& driver) { return driver == "hostpath.csi.k8s.io" ? "csi-hostpath-snapclass" : ""; };
  context.restore_size_of = [](const std::string& ns, const std::string&) { return ns == "app2" ? "2Gi" : ""; };
  const std::string generated = restored_snapshot_name("r-uid", "velero-data-abcde");
  EXPECT_EQ(generated.size(), 64u);

  json vs_backup = {{"metadata", {{"name", "velero-data-abcde"}, {"namespace", "app"}}},
                    {"spec", {{"source", {{"persistentVolumeClaimName", "data"}}}}},
                    {"status", {{"boundVolumeSnapshotContentName", "snapcontent-1"}}}};
  json vs = vs_backup;
  vs.erase("status");
  bool skip = false;
  EXPECT_EQ(run_restore_action("volumesnapshots.snapshot.storage.k8s.io", vs, vs_backup, "app2", context, skip), "");
  EXPECT_FALSE(skip);
  EXPECT_EQ(vs["metadata"]["name"], generated);
  EXPECT_EQ(vs["spec"]["source"], json({{"volumeSnapshotContentName", generated}}));
  EXPECT_EQ(vs["metadata"]["annotations"][kVSCDeletionPolicy], "Retain");

  json vsc_backup = {{"metadata", {{"name", "snapcontent-1"}}},
                     {"spec",
                      {{"deletionPolicy", "Delete"},
                       {"driver", "hostpath.csi.k8s.io"},
                       {"volumeSnapshotClassName", "gone"},
                       {"source", {{"volumeHandle", "vol-1"}}},
                       {"volumeSnapshotRef",
                        {{"name", "velero-data-abcde"}, {"namespace", "app"}, {"uid", "u1"}, {"resourceVersion", "7"}}}}},
                     {"status", {{"snapshotHandle", "snap-1"}, {"readyToUse", true}}}};
  json vsc = vsc_backup;
  vsc.erase("status");
  EXPECT_EQ(run_restore_action("volumesnapshotcontents.snapshot.storage.k8s.io", vsc, vsc_backup, "", context, skip), "");
  EXPECT_EQ(vsc["metadata"]["name"], generated);
  EXPECT_EQ(vsc["spec"]["deletionPolicy"], "Retain");
  EXPECT_EQ(vsc["spec"]["source"], json({{"snapshotHandle", "snap-1"}}));
  EXPECT_EQ(vsc["spec"]["volumeSnapshotRef"], json({{"name", generated}, {"namespace", "app2"}}));
  EXPECT_EQ(vsc["spec"]["volumeSnapshotClassName"], "csi-hostpath-snapclass");
  // No handle: the content cannot be recreated.
  json no_handle = vsc_backup;
  no_handle["status"].erase("snapshotHandle");
  json copy = no_handle;
  EXPECT_NE(run_restore_action("volumesnapshotcontents.snapshot.storage.k8s.io", copy, no_handle, "", context, skip), "");

  json pvc_backup = {{"metadata",
                      {{"name", "data"},
                       {"annotations",
                        {{kVolumeSnapshotLabel, "velero-data-abcde"}, {"pv.kubernetes.io/bind-completed", "yes"}}}}},
                     {"spec",
                      {{"volumeName", "pvc-1"},
                       {"storageClassName", "standard"},
                       {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
  json pvc = pvc_backup;
  EXPECT_EQ(run_restore_action("persistentvolumeclaims", pvc, pvc_backup, "app2", context, skip), "");
  EXPECT_FALSE(pvc["spec"].contains("volumeName"));
  EXPECT_EQ(pvc["spec"]["dataSource"],
            json({{"apiGroup", "snapshot.storage.k8s.io"}, {"kind", "VolumeSnapshot"}, {"name", generated}}));
  EXPECT_EQ(pvc["spec"]["resources"]["requests"]["storage"], "2Gi");  // the snapshot is larger than the request
  EXPECT_FALSE(pvc["metadata"]["annotations"].contains(kVolumeSnapshotLabel));
  EXPECT_FALSE(pvc["metadata"]["annotations"].contains("pv.kubernetes.io/bind-completed"));
  // restorePVs false: the claim is provisioned empty and the snapshot objects are not restored.
  context.restore_pvs = false;
  pvc = pvc_backup;
  EXPECT_EQ(run_restore_action("persistentvolumeclaims", pvc, pvc_backup, "app2", context, skip), "");
  EXPECT_FALSE(pvc["spec"].contains("dataSource"));
  vs = vs_backup;
  run_restore_action("volumesnapshots.snapshot.storage.k8s.io", vs, vs_backup, "app2", context, skip);
  EXPECT_TRUE(skip);
  // A claim no CSI snapshot was taken of is left alone.
  json plain = {{"metadata", {{"name", "p"}}}, {"spec", {{"volumeName", "pv1"}}}};
  json before = plain;
  run_restore_action("persistentvolumeclaims", plain, before, "ns", context, skip);
  EXPECT_EQ(plain, before);
}

TEST(ItemOperations, VelerosJsonKeys) {
  BackupOperation op;
  op.backup_name = "b";
  op.backup_uid = "u";
  op.action = "velero.io/csi-volumesnapshot-backupper";
  op.item = {"snapshot.storage.k8s.io", "volumesnapshots", "app", "velero-data-x"};
  op.operation_id = "app/velero-data-x/2026-01-01T00:00:00Z";
  op.post_operation_items = {{"snapshot.storage.k8s.io", "volumesnapshotcontents", "", "snapcontent-1"}};
  op.phase = "Failed";
  op.error = "boom";
  op.created = "2026-01-01T00:00:00Z";
  json j = to_json(op);
  EXPECT_EQ(j["spec"]["backupItemAction"], "velero.io/csi-volumesnapshot-backupper");
  EXPECT_EQ(j["spec"]["ResourceIdentifier"],
            json({{"Group", "snapshot.storage.k8s.io"}, {"Resource", "volumesnapshots"}, {"Namespace", "app"},
                  {"Name", "velero-data-x"}}));
  EXPECT_EQ(j["spec"]["OperationID"], op.operation_id);
  EXPECT_EQ(j["spec"]["PostOperationItems"][0]["Name"], "snapcontent-1");
  EXPECT_EQ(j["status"], json({{"phase", "Failed"}, {"error", "boom"}, {"created", "2026-01-01T00:00:00Z"}}));
}
