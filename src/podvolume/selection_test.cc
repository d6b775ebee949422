// Volume selection as Velero's volume_policy_helper_test.go / pod_volume_test.go cases, the volume policy
// conditions, and the restore-side lookup of a pod's snapshots.
#include "podvolume/selection.h"

#include <gtest/gtest.h>

namespace arca::podvolume {
namespace {

json pod_with(json annotations = json::object()) {
  json pod = json::parse(R"({
    "metadata": {"namespace": "app", "name": "web-0"},
    "spec": {"volumes": [
      {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}},
      {"name": "cache", "emptyDir": {}},
      {"name": "host", "hostPath": {"path": "/var/log"}},
      {"name": "cfg", "configMap": {"name": "c"}},
      {"name": "sec", "secret": {"secretName": "s"}},
      {"name": "kube-api-access-x", "projected": {"sources": []}},
      {"name": "info", "downwardAPI": {"items": []}},
      {"name": "default-token-abcde", "emptyDir": {}},
      {"name": "nfs", "nfs": {"server": "10.0.0.1", "path": "/export"}}
    ]}})");
  pod["metadata"]["annotations"] = annotations;
  return pod;
}

std::vector<std::string> chosen(const json& pod, const SelectionOptions& options) {
  std::vector<std::string> out;
  for (const auto& d : decide_pod_volumes(pod, options))
    if (d.back_up) out.push_back(d.volume);
  return out;
}

TEST(PodVolumeSelection, OptInAnnotationSelectsOnlyTheNamedVolumes) {
  json pod = pod_with({{kVolumesToBackupAnnotation, "data,cache,host,missing"}});
  SelectionOptions options;
  // hostPath is never copied even when named; "missing" is not a volume of the pod (the backupper warns later).
  EXPECT_EQ(chosen(pod, options), (std::vector<std::string>{"data", "cache"}));
  EXPECT_TRUE(chosen(pod_with(), options).empty());
}

TEST(PodVolumeSelection, OptOutTakesEveryVolumeButVeleroSkipsAndExcludes) {
  SelectionOptions options;
  options.default_volumes_to_fs_backup = true;
  EXPECT_EQ(chosen(pod_with(), options), (std::vector<std::string>{"data", "cache", "nfs"}));
  EXPECT_EQ(chosen(pod_with({{kVolumesToExcludeAnnotation, "cache,nfs"}}), options),
            (std::vector<std::string>{"data"}));
  options.backup_excludes_pvcs = true;
  EXPECT_EQ(chosen(pod_with(), options), (std::vector<std::string>{"cache", "nfs"}));
}

TEST(PodVolumeSelection, DecisionsCarryVelerosLogLines) {
  SelectionOptions options;
  auto decisions = decide_pod_volumes(pod_with({{kVolumesToBackupAnnotation, "data"}}), options);
  ASSERT_EQ(decisions.size(), 9u);
  EXPECT_EQ(decisions[0].why, "Perform fs-backup action for volume data of pod app/web-0 due to opt-in/out way");
  EXPECT_EQ(decisions[1].why, "Skip fs-backup action for volume cache of pod app/web-0 due to opt-in/out way");
  EXPECT_EQ(decisions[2].why, "skip fs-backup action for pod app/web-0's volume host, due to not pass volume check.");
}

TEST(PodVolumeSelection, VolumePolicyWinsOverAnnotations) {
  std::vector<VolumePolicyRule> rules = {
      {json::parse(R"({"storageClass": ["standard"], "capacity": "0,5Gi"})"), "fs-backup"},
      {json::parse(R"({"volumeTypes": ["emptyDir"]})"), "skip"},
      {json::parse(R"({"nfs": {"server": "10.0.0.1"}})"), "fs-backup"},
  };
  SelectionOptions options;
  options.policies = &rules;
  json pvc = json::parse(R"({"metadata": {"name": "data-web-0", "labels": {"tier": "db"}},
                             "spec": {"volumeName": "pv-1"}, "status": {"phase": "Bound"}})");
  json pv = json::parse(R"({"metadata": {"name": "pv-1"}, "spec": {"storageClassName": "standard",
                            "capacity": {"storage": "1Gi"}, "csi": {"driver": "hostpath.csi.k8s.io"}}})");
  int pv_reads = 0;
  options.get_pvc = [&](const std::string& name) { return name == "data-web-0" ? pvc : json(); };
  options.get_pv = [&](const std::string& name) { ++pv_reads; return name == "pv-1" ? pv : json(); };
  // The pod opts cache in by annotation, but the emptyDir policy says skip; data and nfs come from policies.
  json pod = pod_with({{kVolumesToBackupAnnotation, "cache"}});
  EXPECT_EQ(chosen(pod, options), (std::vector<std::string>{"data", "nfs"}));
  EXPECT_EQ(pv_reads, 1);
  // A PV too large for the first rule falls through to opt-in: data is not annotated, so it is not copied.
  pv["spec"]["capacity"]["storage"] = "10Gi";
  EXPECT_EQ(chosen(pod, options), (std::vector<std::string>{"nfs"}));
}

TEST(VolumePolicy, ConditionsMatchAsVelerosStructuredVolume) {
  json pv = json::parse(R"({"spec": {"storageClassName": "fast", "capacity": {"storage": "2Gi"},
      "csi": {"driver": "ebs.csi.aws.com", "volumeAttributes": {"encrypted": "true"}}}})");
  json pvc = json::parse(R"({"metadata": {"labels": {"app": "db", "env": "prod"}}, "status": {"phase": "Bound"}})");
  VolumeFacts facts = facts_from_pv(pv, pvc);
  EXPECT_EQ(facts.volume_type, "csi");
  auto action = [&](const char* conditions) {
    return match_volume_policy({{json::parse(conditions), "skip"}}, facts).value_or("none");
  };
  EXPECT_EQ(action(R"({"capacity": "1Gi,3Gi"})"), "skip");
  EXPECT_EQ(action(R"({"capacity": "3Gi,"})"), "none");   // lower bound only
  EXPECT_EQ(action(R"({"capacity": ",2Gi"})"), "skip");   // upper bound inclusive
  EXPECT_EQ(action(R"({"capacity": "2147483648,"})"), "skip");
  EXPECT_EQ(action(R"({"storageClass": ["gp2", "fast"]})"), "skip");
  EXPECT_EQ(action(R"({"storageClass": ["gp2"]})"), "none");
  EXPECT_EQ(action(R"({"csi": {"driver": "ebs.csi.aws.com"}})"), "skip");
  EXPECT_EQ(action(R"({"csi": {"driver": "ebs.csi.aws.com", "volumeAttributes": {"encrypted": "false"}}})"), "none");
  EXPECT_EQ(action(R"({"csi": {"driver": "other"}})"), "none");
  EXPECT_EQ(action(R"({"nfs": {}})"), "none");  // not an NFS volume
  EXPECT_EQ(action(R"({"pvcLabels": {"app": "db"}})"), "skip");
  EXPECT_EQ(action(R"({"pvcLabels": {"app": "db", "env": "dev"}})"), "none");
  EXPECT_EQ(action(R"({"pvcPhase": ["Pending"]})"), "none");
  EXPECT_EQ(action(R"({"volumeTypes": ["nfs", "csi"]})"), "skip");
  EXPECT_EQ(action(R"({})"), "skip");  // no condition: matches everything
  // The first matching rule wins.
  EXPECT_EQ(match_volume_policy({{json::parse(R"({"storageClass": ["fast"]})"), "fs-backup"},
                                 {json::object(), "skip"}},
                                facts),
            "fs-backup");
  VolumeFacts nfs = facts_from_pod_volume(json::parse(R"({"name": "n", "nfs": {"server": "s1", "path": "/p"}})"));
  EXPECT_EQ(nfs.volume_type, "nfs");
  EXPECT_EQ(match_volume_policy({{json::parse(R"({"nfs": {"path": "/p"}})"), "skip"}}, nfs), "skip");
  EXPECT_FALSE(match_volume_policy({{json::parse(R"({"nfs": {"server": "s2"}})"), "skip"}}, nfs));
}

TEST(VolumePolicy, Quantities) {
  EXPECT_EQ(*parse_quantity("10Gi"), 10.0L * 1024 * 1024 * 1024);
  EXPECT_EQ(*parse_quantity("500M"), 5e8L);
  EXPECT_EQ(*parse_quantity("1.5k"), 1500.0L);
  EXPECT_NEAR(static_cast<double>(*parse_quantity("100m")), 0.1, 1e-12);
  EXPECT_EQ(*parse_quantity("1e3"), 1000.0L);
  EXPECT_FALSE(parse_quantity("10GB"));
  EXPECT_FALSE(parse_quantity("Gi"));
}

TEST(PodVolumeRestoreLookup, SnapshotsOfThePodFromItsBackups) {
  auto pvb = [](const char* ns, const char* pod, const char* volume, const char* snapshot, const char* uploader) {
    return json{{"spec", {{"pod", {{"namespace", ns}, {"name", pod}}}, {"volume", volume}, {"uploaderType", uploader}}},
                {"status", {{"snapshotID", snapshot}, {"progress", {{"totalBytes", 42}}}}}};
  };
  std::vector<json> pvbs = {pvb("app", "web-0", "data", "s1", "restic"), pvb("app", "web-0", "cache", "", "restic"),
                            pvb("app", "web-1", "data", "s2", "restic"), pvb("other", "web-0", "data", "s3", "restic"),
                            pvb("app", "web-0", "kube-api-access-x", "s4", "restic"),
                            pvb("app", "web-0", "nfs", "s5", "kopia")};
  auto snapshots = snapshots_for_pod(pvbs, pod_with(), "app");
  ASSERT_EQ(snapshots.size(), 2u);  // cache has no snapshot; the projected volume is not restorable
  EXPECT_EQ(snapshots[0].volume, "data");
  EXPECT_EQ(snapshots[0].snapshot_id, "s1");
  EXPECT_EQ(snapshots[0].size, 42);
  EXPECT_EQ(snapshots[1].volume, "nfs");
  EXPECT_EQ(snapshots[1].repository_type, "kopia");
  // Backups from before PodVolumeBackups were stored: the pod's snapshot.velero.io/<volume> annotations.
  auto legacy = snapshots_for_pod({}, pod_with({{"snapshot.velero.io/data", "abc123"}}), "app");
  ASSERT_EQ(legacy.size(), 1u);
  EXPECT_EQ(legacy[0].volume, "data");
  EXPECT_EQ(legacy[0].snapshot_id, "abc123");
  EXPECT_EQ(legacy[0].uploader_type, "restic");
}

}  // namespace
}  // namespace arca::podvolume
