// Backups end to end: kubelite (fixtures + test workloads), `arca server` and the `arca` CLI as real
// processes, the local object store checked file by file and the tarball entry by entry
// (Velero's pkg/backup/actions; Velero's pkg/controller/gc_controller.go; Velero's pkg/features).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include <fstream>

#include "archive/tarball_reader.h"
#include "kube/errors.h"
#include "persistence/backup_store.h"
#include "persistence/layout.h"
#include "store/local_store.h"
#include "tests/integration/harness.h"
#include "tests/integration/manifests.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/object_servers.h"
#include "util/timestamp.h"

using integration::Cluster;
using nlohmann::json;

namespace {

Cluster* cluster = nullptr;

bool has(const std::map<std::string, std::string>& entries, const std::string& path) { return entries.count(path) > 0; }

size_t count_prefix(const std::map<std::string, std::string>& entries, const std::string& prefix) {
  size_t n = 0;
  for (const auto& [path, _] : entries) n += path.rfind(prefix, 0) == 0;
  return n;
}

std::string one_line(const std::string& s) { return s.substr(0, s.find('\n')); }

class BackupIntegration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster = new Cluster({{"00-namespaces.yaml", testmanifests::kNamespaces},
                           {"01-workloads.yaml", testmanifests::kWorkloads},
                           {"zz-custom-resources.yaml", testmanifests::kCustomResources}});
    // p1's pre hook runs in its container, so the pod must be running before a backup includes it.
    testsupport::TempDir dir;
    ASSERT_TRUE(testsupport::wait_for_pod_running(cluster->kubeconfig(), "ns1", "p1", dir));
  }
  static void TearDownTestSuite() {
    delete cluster;
    cluster = nullptr;
  }

  // `arca backup create NAME ARGS --wait`, expecting success; returns the tarball entries.
  std::map<std::string, std::string> backup(const std::string& name, std::vector<std::string> args = {}) {
    std::vector<std::string> argv = {"backup", "create", name, "--wait"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = cluster->arca(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Backup completed with status: Completed"), std::string::npos) << r.out << r.err;
    return cluster->tarball(name);
  }
};

// No filters: PV via PVC, CRD via its custom resource, the pod's priority
// class, the service account's ClusterRoleBinding and ClusterRole; nothing unrelated cluster-scoped.
TEST_F(BackupIntegration, EverythingWithoutFilters) {
  auto entries = backup("full");
  EXPECT_EQ(entries.at("metadata/version"), "1.1.0\n");
  ASSERT_TRUE(has(entries, "resources/pods/namespaces/ns1/p1.json"));
  EXPECT_EQ(entries.at("resources/pods/namespaces/ns1/p1.json"),
            entries.at("resources/pods/v1-preferredversion/namespaces/ns1/p1.json"));
  auto pod = json::parse(entries.at("resources/pods/namespaces/ns1/p1.json"));
  EXPECT_EQ(pod["kind"], "Pod");
  EXPECT_EQ(pod["apiVersion"], "v1");
  EXPECT_TRUE(has(entries, "resources/persistentvolumes/cluster/pv1.json"));
  EXPECT_TRUE(has(entries, "resources/persistentvolumes/v1-preferredversion/cluster/pv1.json"));
  EXPECT_TRUE(has(entries, "resources/deployments.apps/namespaces/default/nginx-deployment.json"));
  EXPECT_TRUE(has(entries, "resources/deployments.apps/v1-preferredversion/namespaces/default/nginx-deployment.json"));
  EXPECT_TRUE(has(entries, "resources/customresourcedefinitions.apiextensions.k8s.io/cluster/shirts.stable.example.com.json"));
  EXPECT_TRUE(has(entries, "resources/shirts.stable.example.com/namespaces/ns1/s1.json"));
  EXPECT_TRUE(has(entries, "resources/priorityclasses.scheduling.k8s.io/cluster/high.json"));
  EXPECT_TRUE(has(entries, "resources/clusterrolebindings.rbac.authorization.k8s.io/cluster/crb1.json"));
  EXPECT_TRUE(has(entries, "resources/clusterroles.rbac.authorization.k8s.io/cluster/cr1.json"));
  EXPECT_TRUE(has(entries, "resources/namespaces/cluster/ns1.json"));
  // New mode without cluster filters: cluster-scoped objects only as additional items (Velero's pkg/util/collections/includes_excludes.go).
  EXPECT_FALSE(has(entries, "resources/clusterroles.rbac.authorization.k8s.io/cluster/unrelated.json"));
  EXPECT_EQ(count_prefix(entries, "resources/storageclasses.storage.k8s.io/"), 0u);
  // Excluded by label: the namespace and everything in it, and the labelled config map.
  EXPECT_FALSE(has(entries, "resources/namespaces/cluster/secret-ns.json"));
  EXPECT_FALSE(has(entries, "resources/configmaps/namespaces/secret-ns/hidden.json"));
  EXPECT_FALSE(has(entries, "resources/configmaps/namespaces/ns1/cm-excluded.json"));
  // The PVC copy in the tarball lost its dataSource (velero.io/pv action), the PV came before the PVC.
  auto pvc = json::parse(entries.at("resources/persistentvolumeclaims/namespaces/ns1/claim1.json"));
  EXPECT_FALSE(pvc["spec"].contains("dataSource"));

  auto list = cluster->gz_json("full", "full-resource-list.json.gz");
  // A real cluster's pods: the fixture's own, and those the workload controllers made (nginx-deployment's three,
  // through its ReplicaSet), which a backup holds as Velero's does.
  std::vector<std::string> pods = list["v1/Pod"];
  EXPECT_NE(std::find(pods.begin(), pods.end(), "ns1/p1"), pods.end());
  auto made_for = [](const json& names, const std::string& prefix) {
    return std::count_if(names.begin(), names.end(), [&](const json& n) { return n.get<std::string>().rfind(prefix, 0) == 0; });
  };
  EXPECT_EQ(made_for(list["v1/Pod"], "default/nginx-deployment-"), 3);
  EXPECT_EQ(made_for(list["apps/v1/ReplicaSet"], "default/nginx-deployment-"), 1);
  EXPECT_TRUE(std::find(list["apps/v1/Deployment"].begin(), list["apps/v1/Deployment"].end(),
                        "default/nginx-deployment") != list["apps/v1/Deployment"].end());
  auto pvs = list["v1/PersistentVolume"];
  EXPECT_NE(std::find(pvs.begin(), pvs.end(), "pv1"), pvs.end());
  EXPECT_FALSE(list.contains("storage.k8s.io/v1/StorageClass"));

  auto meta = cluster->metadata("full");
  EXPECT_EQ(meta["kind"], "Backup");
  EXPECT_EQ(meta["apiVersion"], "velero.io/v1");
  EXPECT_EQ(meta["status"]["phase"], "Completed");
  EXPECT_EQ(meta["status"]["formatVersion"], "1.1.0");
  EXPECT_EQ(meta["status"]["version"], 1);
  EXPECT_EQ(meta["spec"]["ttl"], "720h0m0s");
  EXPECT_EQ(meta["spec"]["includedNamespaces"], json({"*"}));
  EXPECT_EQ(meta["spec"]["excludedNamespaceScopedResources"], json({"volumesnapshots.snapshot.storage.k8s.io"}));
  EXPECT_EQ(meta["spec"]["excludedClusterScopedResources"], json({"volumesnapshotcontents.snapshot.storage.k8s.io"}));
  EXPECT_EQ(meta["metadata"]["labels"]["velero.io/storage-location"], "default");
  for (const char* f : {"full.tar.gz", "full-logs.gz", "full-results.gz", "full-podvolumebackups.json.gz",
                        "full-volumesnapshots.json.gz", "full-itemoperations.json.gz", "full-volumeinfo.json.gz"})
    EXPECT_TRUE(cluster->exists(cluster->backup_file("full", f))) << f;

  // Status on the object: counts, progress, the hook that ran, expiration.
  auto b = cluster->get_backup("full");
  int items = b["status"]["progress"]["itemsBackedUp"];
  EXPECT_EQ(items, b["status"]["progress"]["totalItems"]);
  size_t listed = 0;
  for (auto& [type, names] : list.items()) listed += names.size();
  EXPECT_EQ(static_cast<size_t>(items), listed);
  // p1's pre hook ran in its container (hooksFailed 0 is left out, as Velero's omitempty does).
  EXPECT_EQ(b["status"]["hookStatus"], json({{"hooksAttempted", 1}})) << b["status"].dump();
  EXPECT_EQ(b["status"].value("errors", 0), 0);
  auto start = arca::parse_rfc3339(b["status"]["startTimestamp"].get<std::string>());
  auto expiration = arca::parse_rfc3339(b["status"]["expiration"].get<std::string>());
  EXPECT_NEAR(std::chrono::duration_cast<std::chrono::hours>(expiration - start).count(), 720, 1);
  auto results = cluster->gz_json("full", "full-results.gz");
  EXPECT_FALSE(results.contains("errors") && results["errors"].contains("namespaces")) << results.dump();
}

// Vector 12.
TEST_F(BackupIntegration, IncludedNamespaceOnly) {
  auto entries = backup("only-ns1", {"--include-namespaces", "ns1"});
  EXPECT_TRUE(has(entries, "resources/pods/namespaces/ns1/p1.json"));
  EXPECT_TRUE(has(entries, "resources/namespaces/cluster/ns1.json"));
  EXPECT_FALSE(has(entries, "resources/namespaces/cluster/ns2.json"));
  EXPECT_TRUE(has(entries, "resources/persistentvolumes/cluster/pv1.json"));
  EXPECT_TRUE(has(entries, "resources/customresourcedefinitions.apiextensions.k8s.io/cluster/shirts.stable.example.com.json"));
  EXPECT_EQ(count_prefix(entries, "resources/storageclasses.storage.k8s.io/"), 0u);
  EXPECT_FALSE(has(entries, "resources/clusterroles.rbac.authorization.k8s.io/cluster/unrelated.json"));
  EXPECT_EQ(count_prefix(entries, "resources/configmaps/namespaces/ns2/"), 0u);
  EXPECT_EQ(count_prefix(entries, "resources/deployments.apps/"), 0u);
}

// Vector 13: old mode with includeClusterResources=false.
TEST_F(BackupIntegration, OldModeWithoutClusterResources) {
  auto entries = backup("no-cluster", {"--include-namespaces", "ns1", "--include-cluster-resources=false"});
  EXPECT_TRUE(has(entries, "resources/pods/namespaces/ns1/p1.json"));
  EXPECT_TRUE(has(entries, "resources/persistentvolumeclaims/namespaces/ns1/claim1.json"));
  EXPECT_EQ(count_prefix(entries, "resources/persistentvolumes/"), 0u);
  EXPECT_EQ(count_prefix(entries, "resources/namespaces/"), 0u);
  EXPECT_EQ(count_prefix(entries, "resources/customresourcedefinitions.apiextensions.k8s.io/"), 0u);
  EXPECT_EQ(count_prefix(entries, "resources/priorityclasses.scheduling.k8s.io/"), 0u);
  EXPECT_EQ(cluster->metadata("no-cluster")["spec"]["excludedResources"],
            json({"volumesnapshots.snapshot.storage.k8s.io", "volumesnapshotcontents.snapshot.storage.k8s.io"}));
}

// Old mode, includeClusterResources=true: every cluster-scoped type is listed.
TEST_F(BackupIntegration, OldModeWithClusterResources) {
  auto entries = backup("with-cluster", {"--include-namespaces", "ns2", "--include-cluster-resources"});
  EXPECT_TRUE(has(entries, "resources/storageclasses.storage.k8s.io/cluster/sc1.json"));
  EXPECT_TRUE(has(entries, "resources/clusterroles.rbac.authorization.k8s.io/cluster/unrelated.json"));
  EXPECT_TRUE(has(entries, "resources/configmaps/namespaces/ns2/cm-a.json"));
  EXPECT_EQ(count_prefix(entries, "resources/pods/"), 0u);
}

// The persisted spec, and selectors (Velero's pkg/backup/item_collector.go): labelSelector, orLabelSelectors.
TEST_F(BackupIntegration, ExcludeLabelAndSelectors) {
  auto entries = backup("by-label", {"-l", "app=web"});
  EXPECT_TRUE(has(entries, "resources/pods/namespaces/ns1/p1.json"));
  EXPECT_FALSE(has(entries, "resources/configmaps/namespaces/ns2/cm-a.json"));
  // Additional items ignore the selector: the pod still brings its PVC and PV.
  EXPECT_TRUE(has(entries, "resources/persistentvolumeclaims/namespaces/ns1/claim1.json"));
  EXPECT_TRUE(has(entries, "resources/persistentvolumes/cluster/pv1.json"));
  auto excluded = cluster->metadata("by-label")["spec"]["excludedNamespaces"];
  EXPECT_NE(std::find(excluded.begin(), excluded.end(), "secret-ns"), excluded.end());

  auto either = backup("by-or", {"--or-selector", "app=a or tier=web"});
  EXPECT_TRUE(has(either, "resources/configmaps/namespaces/ns2/cm-a.json"));
  EXPECT_TRUE(has(either, "resources/configmaps/namespaces/ns2/cm-web.json"));
  EXPECT_FALSE(has(either, "resources/pods/namespaces/ns1/p1.json"));
  EXPECT_FALSE(has(either, "resources/configmaps/namespaces/nsx-1/cm-x.json"));
  EXPECT_TRUE(has(either, "resources/namespaces/cluster/ns2.json"));
  // secret-ns, excluded by label, is appended to excludedNamespaces, so the namespace filter is no longer
  // "include everything" and Velero tracks every Active included namespace despite the selector (Velero's pkg/backup/item_collector.go).
  EXPECT_TRUE(has(either, "resources/namespaces/cluster/nsx-1.json"));
  EXPECT_FALSE(has(either, "resources/namespaces/cluster/secret-ns.json"));
}

// Velero's pkg/backup/item_collector.go globs, and new-mode type filters with short names resolved through discovery.
TEST_F(BackupIntegration, NamespaceGlobsAndTypeFilters) {
  auto entries = backup("globs", {"--include-namespaces", "ns*", "--exclude-namespaces", "ns2",
                                  "--include-namespace-scoped-resources", "cm,po"});
  EXPECT_TRUE(has(entries, "resources/configmaps/namespaces/nsx-1/cm-x.json"));
  EXPECT_TRUE(has(entries, "resources/pods/namespaces/ns1/p1.json"));
  EXPECT_FALSE(has(entries, "resources/configmaps/namespaces/ns2/cm-a.json"));
  EXPECT_EQ(count_prefix(entries, "resources/serviceaccounts/"), 0u);
  EXPECT_EQ(count_prefix(entries, "resources/shirts.stable.example.com/"), 0u);
  // The pod's PVC is a namespaced type that is not included: not pulled in; its PV therefore neither.
  EXPECT_EQ(count_prefix(entries, "resources/persistentvolumeclaims/"), 0u);
  EXPECT_TRUE(has(entries, "resources/namespaces/cluster/nsx-1.json"));
  EXPECT_EQ(cluster->metadata("globs")["spec"]["includedNamespaceScopedResources"], json({"cm", "po"}));
}

// Vectors 7, 8, 9 and bad input: FailedValidation with the reason, nothing written to the store.
TEST_F(BackupIntegration, InvalidSpecsFailValidation) {
  auto before = cluster->store_listing();
  auto backups = cluster->resource("velero.io", "backups");
  std::vector<std::pair<std::string, json>> cases = {
      {"both-selectors", {{"labelSelector", {{"matchLabels", {{"a", "b"}}}}}, {"orLabelSelectors", {{{"matchLabels", {{"c", "d"}}}}}}}},
      {"old-and-new", {{"includedResources", {"pods"}}, {"includedClusterScopedResources", {"storageclasses"}}}},
      {"exclude-star", {{"excludedResources", {"*"}}}},
      {"unknown-location", {{"storageLocation", "nowhere"}}},
      {"unreadable-ttl", {{"ttl", "3 days"}}},  // the API accepts any string; arca cannot read it
  };
  for (const auto& [name, spec] : cases)
    cluster->client().create(backups, "velero",
                             {{"apiVersion", "velero.io/v1"}, {"kind", "Backup"},
                              {"metadata", {{"name", name}, {"namespace", "velero"}}}, {"spec", spec}});
  for (const auto& [name, spec] : cases) {
    auto b = cluster->wait_for_phase(name, {"FailedValidation"});
    EXPECT_EQ(b["status"]["phase"], "FailedValidation") << name;
    EXPECT_FALSE(b["status"]["validationErrors"].empty()) << name;
  }
  // No client reads a Backup with that ttl (Velero's neither): it would break every later `backup get`.
  cluster->client().remove(backups, "velero", "unreadable-ttl");
  // Unknown resource name through the CLI: the CLI submits, the server refuses, describe says why.
  auto r = cluster->arca({"backup", "create", "unknown-type", "--include-resources", "nosuchthings", "--wait"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("FailedValidation"), std::string::npos) << r.out;
  auto describe = cluster->arca({"backup", "describe", "unknown-type"});
  EXPECT_NE(describe.out.find("nosuchthings"), std::string::npos) << describe.out;
  EXPECT_EQ(cluster->store_listing(), before);
}

// The CLI refuses bad input itself: one line on stderr, exit 1, nothing created.
TEST_F(BackupIntegration, CliBadInputIsOneLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"backup", "create", "bad1", "--storage-location", "nowhere"},
           {"backup", "create", "bad2", "-l", "a in (b"},
           {"backup", "create", "bad3", "-l", "a=b", "--or-selector", "c=d"},
           {"backup", "create", "bad4", "--ttl", "3 days"},
           {"backup", "logs", "no-such-backup"}}) {
    auto r = cluster->arca(args);
    EXPECT_EQ(r.exit_code, 1) << args[2];
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("An error occurred: ", 0), 0u) << r.err;
  }
  auto get = cluster->arca({"backup", "get", "bad1"});
  EXPECT_EQ(get.exit_code, 1);
}

// -o prints and does not submit.
TEST_F(BackupIntegration, OutputFlagPrintsWithoutSubmitting) {
  auto r = cluster->arca({"backup", "create", "printed", "--include-namespaces", "a", "--include-namespaces", "b",
                          "--labels", "x=1", "--labels", "y=2", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto b = json::parse(r.out);
  EXPECT_EQ(b["spec"]["includedNamespaces"], json({"b"}));
  EXPECT_EQ(b["metadata"]["labels"], json({{"x", "1"}, {"y", "2"}}));
  EXPECT_EQ(cluster->arca({"backup", "get", "printed"}).exit_code, 1);
}

// An unreadable store: the BSL turns Unavailable and backups to it fail validation with the reason.
TEST_F(BackupIntegration, UnreadableStore) {
  auto before = cluster->store_listing();
  auto bsl = cluster->arca({"backup-location", "create", "broken", "--provider", "local", "--bucket", "missing-bucket",
                            "--config", "root=" + cluster->store_root()});
  ASSERT_EQ(bsl.exit_code, 0) << bsl.err;
  auto r = cluster->arca({"backup", "create", "to-broken", "--storage-location", "broken", "--wait"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto b = cluster->get_backup("to-broken");
  EXPECT_EQ(b["status"]["phase"], "FailedValidation");
  auto describe = cluster->arca({"backup", "describe", "to-broken"});
  EXPECT_NE(describe.out.find("missing-bucket"), std::string::npos) << describe.out;
  EXPECT_EQ(cluster->store_listing(), before);
  auto get = cluster->arca({"backup-location", "get", "broken"});
  EXPECT_NE(get.out.find("Unavailable"), std::string::npos) << get.out;
}

// Vector 15: the name is already taken in storage; what is there stays untouched.
TEST_F(BackupIntegration, BackupAlreadyInStorage) {
  backup("taken");
  cluster->client().remove(cluster->resource("velero.io", "backups"), "velero", "taken");
  auto before = cluster->store_listing();
  auto tarball_before = testsupport::read_file(cluster->backup_file("taken", "taken.tar.gz"));
  auto r = cluster->arca({"backup", "create", "taken", "--wait"});
  EXPECT_EQ(r.exit_code, 0);
  auto b = cluster->get_backup("taken");
  EXPECT_EQ(b["status"]["phase"], "Failed");
  EXPECT_EQ(b["status"]["failureReason"], "backup already exists in object storage");
  EXPECT_EQ(cluster->store_listing(), before);
  EXPECT_EQ(testsupport::read_file(cluster->backup_file("taken", "taken.tar.gz")), tarball_before);
}

// logs and download go through DownloadRequests; delete through a DeleteBackupRequest.
TEST_F(BackupIntegration, LogsDownloadAndDelete) {
  backup("served", {"--include-namespaces", "ns1"});
  auto logs = cluster->arca({"backup", "logs", "served"});
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("running exec hook hookSource=annotation hookType=exec hookPhase=pre"), std::string::npos)
      << logs.out;

  std::string path = cluster->store_root() + "/../served-download.tar.gz";
  auto dl = cluster->arca({"backup", "download", "served", "-o", path});
  ASSERT_EQ(dl.exit_code, 0) << dl.err;
  EXPECT_EQ(testsupport::read_file(path), testsupport::read_file(cluster->backup_file("served", "served.tar.gz")));
  auto again = cluster->arca({"backup", "download", "served", "-o", path});
  EXPECT_EQ(again.exit_code, 1);  // O_EXCL without --force

  auto details = cluster->arca({"backup", "describe", "served", "--details"});
  EXPECT_NE(details.out.find("ns1/p1"), std::string::npos) << details.out;

  auto del = cluster->arca({"backup", "delete", "served", "--confirm"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  // The server removes the stored objects first, then the Backup object.
  EXPECT_TRUE(testsupport::eventually([&] { return cluster->arca({"backup", "get", "served"}).exit_code == 1; },
                                      std::chrono::seconds(10)));
  EXPECT_FALSE(cluster->exists(cluster->backup_file("served", "served.tar.gz")));
  EXPECT_FALSE(cluster->exists(cluster->backup_file("served", "velero-backup.json")));
}

// `backup get` prints Velero's columns; -o json gives the object.
TEST_F(BackupIntegration, GetTableAndJson) {
  backup("listed", {"--include-namespaces", "ns2"});
  auto table = cluster->arca({"backup", "get"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(one_line(table.out).substr(0, 4), "NAME");
  EXPECT_NE(one_line(table.out).find("STORAGE LOCATION"), std::string::npos);
  EXPECT_NE(table.out.find("listed"), std::string::npos);
  auto j = cluster->arca({"backup", "get", "listed", "-o", "json"});
  EXPECT_EQ(json::parse(j.out)["status"]["phase"], "Completed");
}

// The same flow against S3 (s3rver): credentials from a Secret, upload, presigned download URL.
TEST_F(BackupIntegration, S3StorageLocation) {
  testsupport::TempDir dir;
  auto s3 = testsupport::start_s3rver(dir);
  testsupport::create_bucket(s3, "velero-bucket");
  std::string ini = std::string("[default]\naws_access_key_id=") + testsupport::S3rver::kAccessKey +
                    "\naws_secret_access_key=" + testsupport::S3rver::kSecretKey + "\n";
  cluster->client().create(cluster->resource("", "secrets"), "velero",
                           {{"apiVersion", "v1"}, {"kind", "Secret"},
                            {"metadata", {{"name", "cloud-credentials"}, {"namespace", "velero"}}},
                            {"stringData", {{"cloud", ini}}}});
  auto bsl = cluster->arca({"backup-location", "create", "s3", "--provider", "aws", "--bucket", "velero-bucket",
                            "--prefix", "/team/", "--credential", "cloud-credentials=cloud", "--config",
                            "region=us-east-1,s3ForcePathStyle=true,s3Url=" + s3.url});
  ASSERT_EQ(bsl.exit_code, 0) << bsl.err;
  auto created = cluster->arca(
      {"backup", "create", "to-s3", "--include-namespaces", "ns1", "--storage-location", "s3", "--wait"});
  ASSERT_NE(created.out.find("status: Completed"), std::string::npos) << created.out << created.err;
  std::string path = dir.file("to-s3.tar.gz");
  auto dl = cluster->arca({"backup", "download", "to-s3", "-o", path});
  ASSERT_EQ(dl.exit_code, 0) << dl.err;
  std::ifstream in(path, std::ios::binary);
  arca::archive::TarballReader reader([&](char* buffer, size_t capacity) {
    in.read(buffer, static_cast<std::streamsize>(capacity));
    return static_cast<size_t>(in.gcount());
  });
  std::map<std::string, std::string> entries;
  while (auto entry = reader.next()) entries[entry->path] = reader.read_content();
  EXPECT_EQ(entries.at("metadata/version"), "1.1.0\n");
  EXPECT_TRUE(has(entries, "resources/pods/namespaces/ns1/p1.json"));
  EXPECT_TRUE(has(entries, "resources/persistentvolumes/cluster/pv1.json"));
  auto logs = cluster->arca({"backup", "logs", "to-s3"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("Backed up a total of"), std::string::npos);
}

// Runs `arca server` through `kubeconfig` for the scope of a test, then gives the suite its plain server
// back, also when an expectation failed on the way.
class ServerThrough {
 public:
  explicit ServerThrough(const std::string& kubeconfig, const std::vector<std::string>& args = {}) {
    restart(kubeconfig, args);
  }
  ~ServerThrough() { restart("", {}); }

 private:
  static void restart(const std::string& kubeconfig, const std::vector<std::string>& args) {
    cluster->server().signal(SIGTERM);
    cluster->server().wait(std::chrono::seconds(10));
    cluster->start_server(args, kubeconfig);
  }
};

// Velero's backup_types.go phases: backups queue behind the running one (Queued with a position, shown by get and describe) and run
// one at a time in order. A deliberately slow server keeps the first one running.
TEST_F(BackupIntegration, QueuedBackupsRunOneAtATime) {
  // Two VSLs of one provider: the server's --default-volume-snapshot-locations picks one.
  for (const char* name : {"az-1", "az-2"})
    ASSERT_EQ(cluster->arca({"snapshot-location", "create", name, "--provider", "azure"}).exit_code, 0);
  struct RemoveVsls {
    ~RemoveVsls() {
      for (const char* name : {"az-1", "az-2"})
        cluster->client().remove(cluster->resource("velero.io", "volumesnapshotlocations"), "velero", name);
    }
  } remove_vsls;
  ServerThrough slow("", {"--client-page-size", "1", "--client-qps", "20", "--client-burst", "1",
                          "--default-volume-snapshot-locations", "azure:az-2"});
  ASSERT_EQ(cluster->arca({"backup", "create", "queue-first", "--include-namespaces", "ns2"}).exit_code, 0);
  auto first = cluster->wait_for_phase("queue-first", {"InProgress"});
  ASSERT_EQ(first["status"]["phase"], "InProgress") << first.dump();
  ASSERT_EQ(cluster->arca({"backup", "create", "queue-second", "--include-namespaces", "ns2"}).exit_code, 0);
  auto second = cluster->wait_for_phase("queue-second", {"Queued"});
  EXPECT_EQ(second["status"]["phase"], "Queued");
  EXPECT_EQ(second["status"]["queuePosition"], 1);
  auto table = cluster->arca({"backup", "get", "queue-second"});
  EXPECT_NE(one_line(table.out).find("QUEUE POSITION"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("Queued"), std::string::npos) << table.out;
  auto describe = cluster->arca({"backup", "describe", "queue-second"});
  EXPECT_NE(describe.out.find("Queue position:  1"), std::string::npos) << describe.out;

  second = cluster->wait_for_phase("queue-second", {"Completed", "PartiallyFailed", "Failed"}, 120);
  EXPECT_EQ(second["status"]["phase"], "Completed");
  EXPECT_FALSE(second["status"].contains("queuePosition"));  // reset to 0 (omitted) on dequeue
  first = cluster->get_backup("queue-first");
  EXPECT_EQ(first["status"]["phase"], "Completed");
  EXPECT_EQ(cluster->metadata("queue-first")["spec"]["volumeSnapshotLocations"], json({"az-2"}));
  // One at a time: the second started only after the first completed.
  EXPECT_GE(arca::parse_rfc3339(second["status"]["startTimestamp"].get<std::string>()),
            arca::parse_rfc3339(first["status"]["completionTimestamp"].get<std::string>()));
}

// A run that throws (here: the namespace LIST is forbidden, as RBAC would answer) ends Failed with the
// reason, and — as Velero's persistBackup does — its log, results and velero-backup.json (phase Failed) are
// uploaded: `backup logs` and `describe` explain it; a reader of the store sees a Failed backup, not a usable one.
TEST_F(BackupIntegration, FailedRunStillUploadsLogAndMetadata) {
  testsupport::TempDir dir;
  testsupport::FaultProxy proxy(cluster->api_server_url());
  testsupport::write_kubeconfig_for(cluster->kubeconfig(), proxy.url(), dir.file("proxied.kubeconfig"));
  ServerThrough through_proxy(dir.file("proxied.kubeconfig"));
  const std::string forbidden =
      "namespaces is forbidden: User \"system:serviceaccount:velero:velero\" cannot list resource \"namespaces\" in "
      "API group \"\" at the cluster scope";
  // Only the run's own LIST of every namespace: the controller's exclude-label LIST and watches pass.
  proxy.fail(
      [](std::string_view method, std::string_view target) {
        return method == "GET" && (target == "/api/v1/namespaces" || target.rfind("/api/v1/namespaces?", 0) == 0) &&
               target.find("labelSelector") == std::string_view::npos && target.find("watch") == std::string_view::npos;
      },
      403, forbidden);

  auto r = cluster->arca({"backup", "create", "failed-run", "--include-namespaces", "ns1", "--wait"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Backup completed with status: Failed"), std::string::npos) << r.out;
  EXPECT_GE(proxy.failed_requests(), 1);

  auto b = cluster->get_backup("failed-run");
  EXPECT_EQ(b["status"]["phase"], "Failed");
  std::string reason = b["status"].value("failureReason", "");
  EXPECT_NE(reason.find("cannot list resource \"namespaces\""), std::string::npos) << b.dump();
  EXPECT_TRUE(b["status"].contains("completionTimestamp"));
  EXPECT_GE(b["status"].value("errors", 0), 1);

  auto stored = cluster->metadata("failed-run");
  EXPECT_EQ(stored["kind"], "Backup");
  EXPECT_EQ(stored["status"]["phase"], "Failed");
  EXPECT_EQ(stored["status"].value("failureReason", ""), reason);
  EXPECT_EQ(stored["status"]["formatVersion"], "1.1.0");
  EXPECT_TRUE(stored["status"].contains("completionTimestamp"));
  auto results = cluster->gz_json("failed-run", "failed-run-results.gz");
  EXPECT_NE(results["errors"]["velero"].dump().find("cannot list resource"), std::string::npos) << results.dump();

  auto logs = cluster->arca({"backup", "logs", "failed-run"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("level=error"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("cannot list resource"), std::string::npos) << logs.out;
  auto describe = cluster->arca({"backup", "describe", "failed-run"});
  EXPECT_NE(describe.out.find("Phase:  Failed"), std::string::npos) << describe.out;
  EXPECT_NE(describe.out.find("cannot list resource"), std::string::npos) << describe.out;
}

// Velero's pkg/controller/backup_controller.go prepareBackupRequest steps 4 and 10: snapshot locations resolved (unknown → FailedValidation, the only one of a provider
// chosen), the resource-policy ConfigMap must exist and parse, and its include/exclude policy steers the
// run while the Backup's own lists win.
TEST_F(BackupIntegration, SnapshotLocationsAndResourcePolicy) {
  auto before = cluster->store_listing();
  auto cli = cluster->arca({"backup", "create", "vsl-cli", "--volume-snapshot-locations", "nowhere"});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_EQ(cli.err, "An error occurred: volumesnapshotlocations.velero.io \"nowhere\" not found\n");
  auto backups = cluster->resource("velero.io", "backups");
  cluster->client().create(backups, "velero",
                           {{"apiVersion", "velero.io/v1"}, {"kind", "Backup"},
                            {"metadata", {{"name", "vsl-unknown"}, {"namespace", "velero"}}},
                            {"spec", {{"volumeSnapshotLocations", {"nowhere"}}}}});
  auto b = cluster->wait_for_phase("vsl-unknown", {"FailedValidation"});
  EXPECT_EQ(b["status"]["phase"], "FailedValidation");
  EXPECT_NE(b["status"]["validationErrors"].dump().find("nowhere"), std::string::npos) << b.dump();

  auto missing = cluster->arca({"backup", "create", "policy-missing", "--resource-policies-configmap", "no-policy", "--wait"});
  EXPECT_NE(missing.out.find("FailedValidation"), std::string::npos) << missing.out << missing.err;
  auto describe = cluster->arca({"backup", "describe", "policy-missing"});
  EXPECT_NE(describe.out.find("failed to get resource policies velero/no-policy configmap"), std::string::npos)
      << describe.out;

  auto config_maps = cluster->resource("", "configmaps");
  cluster->client().create(config_maps, "velero",
                           {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                            {"metadata", {{"name", "bad-policy"}, {"namespace", "velero"}}},
                            {"data", {{"policy.yaml", "version: v2\n"}}}});
  auto bad = cluster->arca({"backup", "create", "policy-bad", "--resource-policies-configmap", "bad-policy", "--wait"});
  EXPECT_NE(bad.out.find("FailedValidation"), std::string::npos) << bad.out << bad.err;
  EXPECT_EQ(cluster->store_listing(), before);  // nothing of the refused backups reached the store

  auto vsl = cluster->arca({"snapshot-location", "create", "only-aws", "--provider", "aws"});
  ASSERT_EQ(vsl.exit_code, 0) << vsl.err;
  cluster->client().create(config_maps, "velero",
                           {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                            {"metadata", {{"name", "no-config-maps"}, {"namespace", "velero"}}},
                            {"data", {{"policy.yaml", "version: v1\nincludeExcludePolicy:\n"
                                                      "  excludedNamespaceScopedResources: [configmaps]\n"}}}});
  auto entries = backup("policy-applied", {"--include-namespaces", "ns2", "--resource-policies-configmap", "no-config-maps"});
  EXPECT_EQ(count_prefix(entries, "resources/configmaps/"), 0u);
  EXPECT_TRUE(has(entries, "resources/namespaces/cluster/ns2.json"));
  auto stored = cluster->metadata("policy-applied");
  EXPECT_EQ(stored["spec"]["volumeSnapshotLocations"], json({"only-aws"}));
  EXPECT_EQ(stored["spec"]["resourcePolicy"]["name"], "no-config-maps");
  // The stored spec is the user's: the policy's exclusion is not written into it.
  EXPECT_EQ(stored["spec"]["excludedNamespaceScopedResources"], json({"volumesnapshots.snapshot.storage.k8s.io"}));

  entries = backup("spec-wins", {"--include-namespaces", "ns2", "--resource-policies-configmap", "no-config-maps",
                                 "--include-namespace-scoped-resources", "configmaps"});
  EXPECT_TRUE(has(entries, "resources/configmaps/namespaces/ns2/cm-a.json"));

  // Two VSLs of one provider and no server default: the backup cannot pick one.
  for (const char* name : {"gcp-1", "gcp-2"})
    ASSERT_EQ(cluster->arca({"snapshot-location", "create", name, "--provider", "gcp"}).exit_code, 0);
  auto ambiguous = cluster->arca({"backup", "create", "vsl-ambiguous", "--include-namespaces", "ns2", "--wait"});
  EXPECT_NE(ambiguous.out.find("FailedValidation"), std::string::npos) << ambiguous.out << ambiguous.err;
  EXPECT_NE(cluster->get_backup("vsl-ambiguous")["status"]["validationErrors"].dump().find(
                "provider gcp has more than one possible volume snapshot location"),
            std::string::npos);
  // Naming one resolves it; the other providers' only VSL is added.
  backup("vsl-named", {"--include-namespaces", "ns2", "--volume-snapshot-locations", "gcp-2"});
  EXPECT_EQ(cluster->metadata("vsl-named")["spec"]["volumeSnapshotLocations"], json({"only-aws", "gcp-2"}));
  cluster->client().remove(cluster->resource("velero.io", "volumesnapshotlocations"), "velero", "gcp-2");
}

// Velero's source-cluster annotations and the status fields it sets on a finished backup.
TEST_F(BackupIntegration, AnnotationsAndStatusFields) {
  backup("annotated", {"--include-namespaces", "ns1"});
  for (const auto& b : {cluster->get_backup("annotated"), cluster->metadata("annotated")}) {
    const auto& annotations = b["metadata"]["annotations"];
    EXPECT_EQ(annotations["velero.io/source-cluster-k8s-gitversion"], "v1.31.0");
    EXPECT_EQ(annotations["velero.io/source-cluster-k8s-major-version"], "1");
    EXPECT_EQ(annotations["velero.io/source-cluster-k8s-minor-version"], "31");
    EXPECT_EQ(annotations["velero.io/resource-timeout"], "10m0s");
    const auto& status = b["status"];
    EXPECT_EQ(status["phase"], "Completed");
    EXPECT_EQ(status["version"], 1);
    EXPECT_EQ(status["formatVersion"], "1.1.0");
    for (const char* field : {"startTimestamp", "completionTimestamp", "expiration"})
      EXPECT_TRUE(status.contains(field)) << field;
    EXPECT_GT(status["progress"]["totalItems"].get<int>(), 0);
    EXPECT_EQ(status["progress"]["totalItems"], status["progress"]["itemsBackedUp"]);
    EXPECT_EQ(status.value("errors", 0), 0);
    EXPECT_FALSE(status.contains("failureReason"));
  }
}

// kill -9 of the server in the middle of a backup, then a restart: Failed with the reason, nothing
// half-written listed in storage. A deliberately slow server (page size 1, 10 requests/s) keeps the backup
// running long enough. It replaces the suite's server, and however it ends (an ASSERT returns early) a server with
// the suite's usual flags runs again afterwards, so the tests defined after it do not inherit the slow one.
TEST_F(BackupIntegration, KilledServerLeavesNoUsableBackup) {
  struct UsualServerAfterwards {
    Cluster& cluster;
    bool replaced = false;
    ~UsualServerAfterwards() {
      if (!replaced) return;
      try {
        cluster.server().stop();
        cluster.start_server();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "could not start the suite's server again: " << e.what();
      }
    }
  } usual{*cluster};
  cluster->server().signal(SIGTERM);  // graceful stop of the suite's server
  EXPECT_NE(cluster->server().wait(std::chrono::seconds(10)), -1);
  usual.replaced = true;
  cluster->start_server({"--client-page-size", "1", "--client-qps", "10", "--client-burst", "1"});
  auto r = cluster->arca({"backup", "create", "interrupted"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // In the middle of the backup: items are being written (a condition, not a guess of how long that takes).
  json b;
  ASSERT_TRUE(testsupport::eventually([&] {
    b = cluster->get_backup("interrupted");
    return b.value("/status/phase"_json_pointer, std::string()) == "InProgress" &&
           b.value("/status/progress/itemsBackedUp"_json_pointer, 0) > 0;
  }, std::chrono::seconds(20))) << b.dump();
  cluster->server().signal(SIGKILL);
  cluster->server().wait(std::chrono::seconds(5));

  cluster->start_server();
  b = cluster->wait_for_phase("interrupted", {"Failed"});
  EXPECT_EQ(b["status"]["phase"], "Failed");
  EXPECT_NE(b["status"]["failureReason"].get<std::string>().find("server starting"), std::string::npos);
  // As in Velero nothing of an interrupted run is uploaded: describe gives the reason, logs say in one line
  // that there are none.
  auto describe = cluster->arca({"backup", "describe", "interrupted"});
  EXPECT_NE(describe.out.find("Failure reason:  found a backup with status \"InProgress\" during the server starting"),
            std::string::npos)
      << describe.out;
  auto logs = cluster->arca({"backup", "logs", "interrupted"});
  EXPECT_EQ(logs.exit_code, 1);
  EXPECT_EQ(logs.err, "An error occurred: logs for backup \"interrupted\" are not available in object storage\n");
  auto store = arca::store::open_local_store(cluster->store_root(), "bucket");
  auto usable = arca::persistence::list_backups(*store, arca::persistence::make_layout(""));
  EXPECT_EQ(std::count(usable.begin(), usable.end(), "interrupted"), 0);
  EXPECT_FALSE(cluster->exists(cluster->bucket_dir() + "/backups/interrupted"));
  // The restarted server works.
  backup("after-restart", {"--include-namespaces", "ns2"});
}

}  // namespace

// Discovery is re-read for each backup: a CRD created while the server runs is collected with its resources.
TEST_F(BackupIntegration, CrdCreatedWhileTheServerRunsIsBackedUp) {
  auto& client = cluster->client();
  client.create(cluster->resource("", "namespaces"), "", {{"apiVersion", "v1"}, {"kind", "Namespace"},
                                                         {"metadata", {{"name", "late"}}}});
  client.create(cluster->resource("apiextensions.k8s.io", "customresourcedefinitions"), "", nlohmann::json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gizmos.late.example.com"},
    "spec": {"group": "late.example.com", "scope": "Namespaced",
             "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
             "versions": [{"name": "v1", "served": true, "storage": true,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                      "x-kubernetes-preserve-unknown-fields": true}}}]}})"));
  arca::kube::ApiResource gizmos;
  testsupport::eventually([&] {
    try {
      gizmos = cluster->resource("late.example.com", "gizmos");
      return true;
    } catch (const arca::kube::KubeError&) {
      return false;
    }
  }, std::chrono::seconds(5));
  ASSERT_FALSE(gizmos.resource.empty()) << "gizmos.late.example.com never became served";
  client.create(gizmos, "late", {{"apiVersion", "late.example.com/v1"}, {"kind", "Gizmo"},
                                 {"metadata", {{"name", "g1"}}}, {"spec", {{"size", 3}}}});

  auto entries = backup("late-crd", {"--include-namespaces", "late"});
  EXPECT_TRUE(has(entries, "resources/gizmos.late.example.com/namespaces/late/g1.json"));
  EXPECT_TRUE(has(entries, "resources/customresourcedefinitions.apiextensions.k8s.io/cluster/gizmos.late.example.com.json"));
}
