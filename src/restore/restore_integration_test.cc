// The restore engine against a real kubelite process: fixture workloads are backed up, deleted and restored,
// then compared field by field; one test per feature (mapping, existing objects, priorities, modifiers, dry run,
// CRDs, a tarball in Velero's layout written by Python's tarfile, filters) and the bad inputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "restore/restore_test_support.h"

namespace arca::restore {
namespace {

using namespace testing;  // arca::restore::testing
using ::testing::HasSubstr;
using nlohmann::json;

std::string fixture(const std::string& name) {
  return std::string(std::getenv("ARCA_FIXTURES")) + "/kubernetes/manifests/" + name;
}

const std::vector<std::string> kWorkloads = {
    "configmaps.yaml", "deployment-nginx.yaml", "guestbook-all-in-one.yaml", "secret-basic-auth.yaml",
    "serviceaccount.yaml", "rbac-role-rolebinding.yaml", "statefulset-web.yaml", "job-pi.yaml",
    "cronjob-hello.kubectl-generated.yaml", "networkpolicy.yaml", "pv-claim.yaml", "ingress-minimal.yaml"};

class RestoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    cluster_ = new Cluster(*dir_);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete dir_;
  }

  // Loads the fixture workloads into a fresh namespace `ns` (labelled) and returns a backup of it.
  std::string workloads_backup(const std::string& ns) {
    cluster_->create_namespace(ns, {{"team", "shop"}});
    for (const auto& file : kWorkloads)
      for (auto object : manifest_objects(fixture(file))) cluster_->create(object, ns);
    return make_backup(*cluster_, {ns});
  }

  void run(const api::Restore& restore, const std::string& tarball, RestoreOutcome& outcome,
           EngineOptions options = {}) {
    RestoreLog log(dir_->file(restore.metadata.name + ".log"), "velero/" + restore.metadata.name);
    run_restore(restore, source_of(tarball), *cluster_->transport, *cluster_->discovery, log, options, outcome);
    last_log_ = log.text();
  }

  static testsupport::TempDir* dir_;
  static Cluster* cluster_;
  std::string last_log_;
};
testsupport::TempDir* RestoreTest::dir_ = nullptr;
Cluster* RestoreTest::cluster_ = nullptr;

// What a restore must reset or what the cluster assigns anew (Velero's restore.go resetMetadata; Velero's pkg/restore/actions service action); the
// status is not restored by default and the cluster's controllers write it afresh.
json comparable(json object) {
  object.erase("status");
  json& metadata = object["metadata"];
  for (const char* field : {"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink"})
    metadata.erase(field);
  if (metadata.contains("labels")) {
    metadata["labels"].erase("velero.io/backup-name");
    metadata["labels"].erase("velero.io/restore-name");
    if (metadata["labels"].empty()) metadata.erase("labels");
  }
  if (object.value("kind", "") == "Job") {  // the job action drops the old uid; the server labels with the new one
    for (const char* path : {"/spec/selector/matchLabels", "/spec/template/metadata/labels"})
      if (object.contains(json::json_pointer(path)))
        for (const char* label : {"controller-uid", "batch.kubernetes.io/controller-uid"})
          object[json::json_pointer(path)].erase(label);
  }
  if (object.value("kind", "") == "Service") {
    object["spec"].erase("clusterIP");
    object["spec"].erase("clusterIPs");
    for (auto& port : object["spec"].value("ports", json::array())) port.erase("nodePort");
  }
  return object;
}

std::vector<std::string> differences(const std::map<std::string, json>& before, const std::map<std::string, json>& after) {
  std::vector<std::string> problems;
  for (const auto& [key, original] : before) {
    auto restored = after.find(key);
    if (restored == after.end()) {
      problems.push_back(key + ": missing after restore");
      continue;
    }
    json patch = json::diff(comparable(original), comparable(restored->second));
    if (!patch.empty()) problems.push_back(key + ": " + patch.dump());
  }
  for (const auto& [key, restored] : after)
    if (before.count(key) == 0) problems.push_back(key + ": not in the backup");
  return problems;
}

TEST_F(RestoreTest, WorkloadsComeBackFieldByField) {
  std::string backup = workloads_backup("shop");
  auto before = cluster_->objects_in("shop");
  ASSERT_GT(before.size(), 15u);
  cluster_->delete_namespace_and_wait("shop");

  RestoreOutcome outcome;
  run(restore_named("r-full", "b-full"), backup, outcome);
  EXPECT_EQ(outcome.errors.count(), 0u) << results_json(outcome.errors, outcome.warnings);
  // The only possible warning is Velero's well-known one: the namespace's CA ConfigMap, recreated by the cluster
  // when the namespace came back, differs from the backed-up one when its managedFields time moved on.
  for (const auto& warning : outcome.warnings.namespaces["shop"]) EXPECT_THAT(warning, HasSubstr("kube-root-ca.crt"));
  EXPECT_LE(outcome.warnings.count(), 1u) << results_json(outcome.errors, outcome.warnings);
  auto restored = cluster_->objects_in("shop");
  EXPECT_THAT(differences(before, restored), ::testing::IsEmpty());
  // Velero's restore.go restoreItem: after each create the managedFields were set back to the backed-up ones. (Objects that the cluster's
  // controllers write to afterwards, such as workload status, gain entries of their own; the CA ConfigMap is the
  // cluster's, recreated with the namespace.)
  size_t compared = 0;
  for (const auto& [key, object] : before) {
    if ((key.rfind("configmaps/", 0) != 0 && key.rfind("secrets/", 0) != 0) || key == "configmaps/kube-root-ca.crt")
      continue;
    ++compared;
    ASSERT_TRUE(object["metadata"].contains("managedFields")) << key;
    EXPECT_EQ(restored[key]["metadata"]["managedFields"], object["metadata"]["managedFields"]) << key;
  }
  EXPECT_GE(compared, 2u);

  json ns = cluster_->client->get(cluster_->resource("namespaces"), "", "shop");
  EXPECT_EQ(ns["metadata"]["labels"]["team"], "shop");
  EXPECT_FALSE(ns["metadata"]["labels"].contains("velero.io/restore-name"));
  json cm = cluster_->client->get(cluster_->resource("configmaps"), "shop", "special-config");
  EXPECT_EQ(cm["metadata"]["labels"]["velero.io/backup-name"], "b-full");
  EXPECT_EQ(cm["metadata"]["labels"]["velero.io/restore-name"], "r-full");
  json list = json::parse(outcome.resources.json());
  EXPECT_THAT(list["v1/Namespace"], ::testing::ElementsAre("shop(created)"));
  EXPECT_THAT(list["apps/v1/Deployment"].dump(), HasSubstr("shop/nginx-deployment(created)"));
  EXPECT_EQ(outcome.items_restored, static_cast<int>(outcome.resources.size()));
  EXPECT_THAT(last_log_, HasSubstr("level=info msg=\"restoring resource configmaps\" restore=velero/r-full"));

  // Restoring again over the same objects creates nothing and changes nothing. (A second Restore has a name of
  // its own: objects labelled with this restore's name and created since it started count as its own creates.)
  auto versions = cluster_->objects_in("shop");
  RestoreOutcome again;
  run(restore_named("r-full-again", "b-full"), backup, again);
  EXPECT_EQ(again.errors.count(), 0u) << results_json(again.errors, again.warnings);
  EXPECT_THAT(again.resources.json(), ::testing::Not(HasSubstr("(created)")));
  // Objects nothing wrote to since are identical now that their managedFields came back, so they raise no
  // "in-cluster version is different" warning; Services (new clusterIPs), the Job (the server's controller-uid
  // labels) and workloads whose status a controller rewrote in a later second may.
  for (const auto& warning : again.warnings.namespaces["shop"]) {
    if (warning.find("kube-root-ca.crt") != std::string::npos) continue;
    EXPECT_THAT(warning, ::testing::Not(HasSubstr("ConfigMap \"")));
    EXPECT_THAT(warning, ::testing::Not(HasSubstr("Secret \"")));
  }
  auto unchanged = cluster_->objects_in("shop");
  for (const auto& [key, object] : versions)
    EXPECT_EQ(unchanged[key]["metadata"]["resourceVersion"], object["metadata"]["resourceVersion"]) << key;
}

TEST_F(RestoreTest, NamespaceMappingMovesItemsAndRoleBindingSubjects) {
  cluster_->create_namespace("src");
  json binding = manifest_objects(fixture("rbac-role-rolebinding.yaml"))[1];
  binding["subjects"][0]["namespace"] = "src";
  cluster_->create(binding, "src");
  for (auto object : manifest_objects(fixture("configmaps.yaml"))) cluster_->create(object, "src");
  std::string backup = make_backup(*cluster_, {"src"});

  auto restore = restore_named("r-map", "b-map");
  restore.spec.namespace_mapping = {{"src", "dst"}};
  restore.spec.included_namespaces = {"src"};
  RestoreOutcome outcome;
  run(restore, backup, outcome);
  EXPECT_EQ(outcome.errors.count(), 0u) << results_json(outcome.errors, outcome.warnings);
  json moved = cluster_->client->get(cluster_->resource("rolebindings.rbac.authorization.k8s.io"), "dst", "elasticsearch");
  EXPECT_EQ(moved["subjects"][0]["namespace"], "dst");
  EXPECT_EQ(cluster_->client->get(cluster_->resource("configmaps"), "dst", "special-config")["data"]["special.how"], "very");
  EXPECT_THAT(outcome.resources.json(), HasSubstr("\"v1/Namespace\":[\"dst(created)\"]"));
  EXPECT_THAT(outcome.resources.json(), HasSubstr("dst/special-config(created)"));
}

TEST_F(RestoreTest, ExistingObjectsAreSkippedWarnedOrUpdated) {  // Velero's restore.go restoreItem
  cluster_->create_namespace("exist");
  for (auto object : manifest_objects(fixture("configmaps.yaml"))) cluster_->create(object, "exist");
  std::string backup = make_backup(*cluster_, {"exist"});
  auto configmaps = cluster_->resource("configmaps");
  cluster_->client->patch(configmaps, "exist", "special-config", kube::PatchType::Merge,
                          R"({"data":{"special.how":"changed"}})");

  RestoreOutcome outcome;
  run(restore_named("r-keep", "b-exist"), backup, outcome);
  EXPECT_EQ(outcome.errors.count(), 0u);
  ASSERT_EQ(outcome.warnings.namespaces["exist"].size(), 1u) << results_json(outcome.errors, outcome.warnings);
  EXPECT_EQ(outcome.warnings.namespaces["exist"][0],
            "could not restore, ConfigMap \"special-config\" already exists. Warning: the in-cluster version is "
            "different than the backed-up version");
  EXPECT_THAT(outcome.resources.json(), HasSubstr("exist/special-config(failed)"));
  EXPECT_EQ(cluster_->client->get(configmaps, "exist", "special-config")["data"]["special.how"], "changed");

  auto restore = restore_named("r-update", "b-exist");
  restore.spec.existing_resource_policy = "update";
  RestoreOutcome updated;
  run(restore, backup, updated);
  EXPECT_EQ(updated.errors.count() + updated.warnings.count(), 0u) << results_json(updated.errors, updated.warnings);
  EXPECT_THAT(updated.resources.json(), HasSubstr("exist/special-config(updated)"));
  json live = cluster_->client->get(configmaps, "exist", "special-config");
  EXPECT_EQ(live["data"]["special.how"], "very");
  EXPECT_EQ(live["metadata"]["labels"]["velero.io/restore-name"], "r-update");
  // Identical objects only get the restore labels under `update`.
  EXPECT_EQ(cluster_->client->get(configmaps, "exist", "env-config")["metadata"]["labels"]["velero.io/restore-name"],
            "r-update");
}

TEST_F(RestoreTest, PrioritiesOrderTheTiers) {
  cluster_->create_namespace("prio");
  for (const char* file : {"configmaps.yaml", "deployment-nginx.yaml", "serviceaccount.yaml"})
    for (auto object : manifest_objects(fixture(file))) cluster_->create(object, "prio");
  std::string backup = make_backup(*cluster_, {"prio"});
  auto created_order = [&](const std::string& target) {
    std::map<std::string, long> versions;
    for (const auto& [key, object] : cluster_->objects_in(target))
      versions[key] = std::stol(object["metadata"]["resourceVersion"].get<std::string>());
    return versions;
  };

  auto restore = restore_named("r-prio", "b-prio");
  restore.spec.namespace_mapping = {{"prio", "prio-default"}};
  RestoreOutcome outcome;
  run(restore, backup, outcome);
  auto v = created_order("prio-default");
  EXPECT_LT(v["serviceaccounts/elasticsearch"], v["configmaps/special-config"]);
  EXPECT_LT(v["configmaps/special-config"], v["deployments.apps/nginx-deployment"]);

  restore.spec.namespace_mapping = {{"prio", "prio-custom"}};
  EngineOptions options;
  options.priorities = parse_priorities("deployments.apps,configmaps,-");
  RestoreOutcome custom;
  run(restore, backup, custom, options);
  auto c = created_order("prio-custom");
  EXPECT_LT(c["deployments.apps/nginx-deployment"], c["configmaps/special-config"]);
  EXPECT_LT(c["configmaps/env-config"], c["serviceaccounts/elasticsearch"]);
}

TEST_F(RestoreTest, ModifiersPatchMatchingItems) {
  cluster_->create_namespace("mod");
  for (const char* file : {"configmaps.yaml", "deployment-nginx.yaml"})
    for (auto object : manifest_objects(fixture(file))) cluster_->create(object, "mod");
  std::string backup = make_backup(*cluster_, {"mod"});
  cluster_->delete_namespace_and_wait("mod");

  auto modifiers = parse_modifiers(R"(version: v1
resourceModifierRules:
- conditions: {groupResource: deployments.apps, resourceNameRegex: "^nginx"}
  patches:
  - {operation: replace, path: /spec/replicas, value: "5"}
  - {operation: add, path: /metadata/annotations, value: '{"patched":"json"}'}
- conditions: {groupResource: configmaps, namespaces: [mod]}
  mergePatches:
  - patchData: '{"data":{"added":"merge"}}'
- conditions: {groupResource: deployments.apps}
  strategicPatches:
  - patchData: |
      spec:
        template:
          spec:
            containers:
            - name: nginx
              image: nginx:1.27
- conditions: {groupResource: configmaps}
  patches:
  - {operation: remove, path: /data/does-not-exist}
)");
  EngineOptions options;
  options.modifiers = &modifiers;
  RestoreOutcome outcome;
  run(restore_named("r-mod", "b-mod"), backup, outcome, options);
  json deployment = cluster_->client->get(cluster_->resource("deployments.apps"), "mod", "nginx-deployment");
  EXPECT_EQ(deployment["spec"]["replicas"], 5);
  EXPECT_EQ(deployment["metadata"]["annotations"]["patched"], "json");
  EXPECT_EQ(deployment["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");
  EXPECT_EQ(deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 80);
  json cm = cluster_->client->get(cluster_->resource("configmaps"), "mod", "special-config");
  EXPECT_EQ(cm["data"]["added"], "merge");
  // The failing remove is an error in the item's namespace; the item is still created.
  EXPECT_GE(outcome.errors.namespaces["mod"].size(), 1u);
  EXPECT_THAT(outcome.errors.namespaces["mod"][0], HasSubstr("resource modifier"));
}

TEST_F(RestoreTest, DryRunChangesNothingAndShowsDiffs) {
  cluster_->create_namespace("dry");
  for (auto object : manifest_objects(fixture("configmaps.yaml"))) cluster_->create(object, "dry");
  for (auto object : manifest_objects(fixture("deployment-nginx.yaml"))) cluster_->create(object, "dry");
  std::string backup = make_backup(*cluster_, {"dry"});
  auto configmaps = cluster_->resource("configmaps");
  cluster_->client->remove(cluster_->resource("deployments.apps"), "dry", "nginx-deployment");
  cluster_->client->patch(configmaps, "dry", "special-config", kube::PatchType::Merge, R"({"data":{"special.how":"x"}})");
  auto before = cluster_->objects_in("dry");

  auto restore = restore_named("r-dry", "b-dry");
  restore.spec.namespace_mapping = {{"dry", "dry-new"}};
  EngineOptions options;
  options.dry_run = true;
  RestoreOutcome mapped;
  run(restore, backup, mapped, options);
  EXPECT_THROW(cluster_->client->get(cluster_->resource("namespaces"), "", "dry-new"), kube::KubeError);
  ASSERT_FALSE(mapped.dry_run.empty());
  EXPECT_EQ(mapped.dry_run[0].verdict, DryRunVerdict::would_create);

  restore.spec.namespace_mapping.clear();
  RestoreOutcome outcome;
  run(restore, backup, outcome, options);
  std::map<std::string, const DryRunItem*> by_id;
  for (const auto& item : outcome.dry_run) by_id[item.resource_id] = &item;
  ASSERT_TRUE(by_id.count("deployments.apps/dry/nginx-deployment"));
  EXPECT_EQ(by_id["deployments.apps/dry/nginx-deployment"]->verdict, DryRunVerdict::would_create);
  ASSERT_TRUE(by_id.count("configmaps/dry/special-config"));
  EXPECT_EQ(by_id["configmaps/dry/special-config"]->verdict, DryRunVerdict::differs);
  EXPECT_THAT(by_id["configmaps/dry/special-config"]->diff,
              HasSubstr("-    \"special.how\": \"x\"\n+    \"special.how\": \"very\"\n"));
  EXPECT_EQ(by_id["configmaps/dry/env-config"]->verdict, DryRunVerdict::identical);
  auto after = cluster_->objects_in("dry");
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [key, object] : before) EXPECT_EQ(after[key], object) << key;
}

TEST_F(RestoreTest, CrdsComeFirstAndAreEstablishedBeforeTheirObjects) {
  cluster_->create_namespace("crd");
  for (auto object : manifest_objects(fixture("crd-shirt-resource-definition.yaml"))) cluster_->create(object, "");
  cluster_->wait_until_served("stable.example.com", "v1", "shirts");
  for (auto object : manifest_objects(fixture("crd-shirt-resources.yaml"))) cluster_->create(object, "crd");
  std::string backup = make_backup(*cluster_, {"crd"}, {"customresourcedefinitions.apiextensions.k8s.io"});
  cluster_->delete_namespace_and_wait("crd");
  auto crds = cluster_->resource("customresourcedefinitions");
  cluster_->client->remove(crds, "", "shirts.stable.example.com");
  ASSERT_TRUE(testsupport::eventually([&] { return !cluster_->exists(crds, "", "shirts.stable.example.com"); },
                                      std::chrono::seconds(5)));
  cluster_->discovery->refresh();

  RestoreOutcome outcome;
  run(restore_named("r-crd", "b-crd"), backup, outcome);
  EXPECT_EQ(outcome.errors.count(), 0u) << results_json(outcome.errors, outcome.warnings);
  json shirts = json::parse(outcome.resources.json())["stable.example.com/v1/Shirt"];
  EXPECT_EQ(shirts.size(), 3u) << outcome.resources.json();
  EXPECT_THAT(outcome.resources.json(), HasSubstr("shirts.stable.example.com(created)"));
  // In the cluster: the CRD is back and Established, and its three objects exist through it.
  json crd = cluster_->client->get(crds, "", "shirts.stable.example.com");
  bool established = false;
  for (const auto& c : crd.value("/status/conditions"_json_pointer, json::array()))
    established |= c.value("type", "") == "Established" && c.value("status", "") == "True";
  EXPECT_TRUE(established) << crd.dump();
  cluster_->discovery->refresh();
  size_t shirts_in_cluster = 0;
  cluster_->client->list(cluster_->resource_of({{"apiVersion", "stable.example.com/v1"}, {"kind", "Shirt"}}), "crd", {},
                         [&](const kube::ListItem&) { ++shirts_in_cluster; });
  EXPECT_EQ(shirts_in_cluster, 3u);
}

// A tarball that arca did not write: testdata/velero/backups/velero-layout-backup.tar.gz, made with Python's tarfile
// following Velero's pkg/backup and pkg/archive (metadata/version first, each preferred-version item twice: under
// <version>-preferredversion/ and unversioned, a non-preferred version only under its version directory, a stray
// entry that is not an item). What is checked is the cluster afterwards.
TEST_F(RestoreTest, VeleroLayoutTarballRestores) {
  std::string tarball = testsupport::read_file(testsupport::fixtures_dir() + "/velero/backups/velero-layout-backup.tar.gz");
  ASSERT_GT(tarball.size(), 500u);
  RestoreOutcome outcome;
  run(restore_named("r-velero", "b-velero"), tarball, outcome);
  EXPECT_EQ(outcome.errors.count() + outcome.warnings.count(), 0u) << results_json(outcome.errors, outcome.warnings);

  json ns = cluster_->client->get(cluster_->resource("namespaces"), "", "velero-made");
  EXPECT_EQ(ns["metadata"]["labels"]["from"], "velero");
  EXPECT_NE(ns["metadata"]["uid"], "1");
  json cm = cluster_->client->get(cluster_->resource("configmaps"), "velero-made", "settings");
  EXPECT_EQ(cm["data"], json({{"k", "v"}}));
  EXPECT_FALSE(cm["metadata"].contains("ownerReferences"));
  EXPECT_NE(cm["metadata"]["uid"], "u1");
  EXPECT_EQ(cluster_->client->get(cluster_->resource("secrets"), "velero-made", "token")["data"]["password"], "czNjcjN0");
  json web = cluster_->client->get(cluster_->resource("deployments"), "velero-made", "web");
  EXPECT_EQ(web["spec"]["replicas"], 2);
  EXPECT_EQ(web["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25");
  // Not restored: the pod that had finished, and the HPA whose only copy is a non-preferred version.
  EXPECT_FALSE(cluster_->exists(cluster_->resource("pods"), "velero-made", "finished"));
  EXPECT_FALSE(cluster_->exists(cluster_->resource("horizontalpodautoscalers"), "velero-made", "old"));
  // Each item once, though the preferred version is in the tarball twice.
  json list = json::parse(outcome.resources.json());
  EXPECT_EQ(list["v1/ConfigMap"], json({"velero-made/settings(created)"})) << outcome.resources.json();
  EXPECT_EQ(list["apps/v1/Deployment"], json({"velero-made/web(created)"})) << outcome.resources.json();
}

TEST_F(RestoreTest, FiltersAndSelectorsChooseItems) {
  cluster_->create_namespace("filt");
  for (auto object : manifest_objects(fixture("configmaps.yaml"))) {
    object["metadata"]["labels"]["pick"] = object["metadata"]["name"] == "special-config" ? "yes" : "no";
    cluster_->create(object, "filt");
  }
  for (auto object : manifest_objects(fixture("deployment-nginx.yaml"))) cluster_->create(object, "filt");
  for (auto object : manifest_objects(fixture("pv-volume.yaml"))) cluster_->create(object, "");
  std::string backup = make_backup(*cluster_, {"filt", "kube-system"}, {"persistentvolumes"});
  cluster_->delete_namespace_and_wait("filt");

  auto restore = restore_named("r-filt", "b-filt");
  restore.spec.included_namespaces = {"fil*"};
  restore.spec.included_resources = {"cm", "deploy"};
  restore.spec.excluded_resources = {"deployments.apps"};
  restore.spec.label_selector = parse_label_selector("pick=yes");
  RestoreOutcome outcome;
  run(restore, backup, outcome);
  EXPECT_EQ(outcome.resources.json(),
            R"j({"v1/ConfigMap":["filt/special-config(created)"],"v1/Namespace":["filt(created)"]})j");
  // The cluster agrees with the report: only the selected ConfigMap came back (nothing else of the namespace).
  auto restored = cluster_->objects_in("filt");
  std::vector<std::string> names;
  for (const auto& [key, object] : restored)
    if (key != "configmaps/kube-root-ca.crt" && key.rfind("serviceaccounts/", 0) != 0) names.push_back(key);
  EXPECT_EQ(names, std::vector<std::string>({"configmaps/special-config"}));
  EXPECT_EQ(restored["configmaps/special-config"]["metadata"]["labels"]["pick"], "yes");
}

TEST_F(RestoreTest, BadTarballsAreVeleroErrorsOrWarnings) {
  RestoreOutcome corrupt;
  run(restore_named("r-corrupt", "b-corrupt"), "this is not gzip", corrupt);
  ASSERT_EQ(corrupt.errors.velero.size(), 1u);
  EXPECT_THAT(corrupt.errors.velero[0], HasSubstr("error extracting backup tarball"));

  std::string empty;
  {
    archive::TarballWriter writer([&](const char* data, size_t size) { empty.append(data, size); });
    writer.finish();
  }
  RestoreOutcome nothing;
  run(restore_named("r-empty", "b-empty"), empty, nothing);
  EXPECT_EQ(nothing.errors.count(), 0u);
  ASSERT_EQ(nothing.warnings.velero.size(), 1u);
  EXPECT_THAT(nothing.warnings.velero[0], ::testing::StartsWith("zero items to be restored"));
}

TEST_F(RestoreTest, StatusIsRestoredOnlyWhenAsked) {
  cluster_->create_namespace("stat");
  json deployment = manifest_objects(fixture("deployment-nginx.yaml"))[0];
  auto deployments = cluster_->resource("deployments.apps");
  cluster_->create(deployment, "stat");
  for (int attempt = 0;; ++attempt) {  // kubelite's deployment controller writes the status too
    json live = cluster_->client->get(deployments, "stat", "nginx-deployment");
    live["status"] = {{"replicas", 3}, {"readyReplicas", 3}};
    try {
      cluster_->client->update(deployments, "stat", live, {}, "status");
      break;
    } catch (const kube::KubeError& e) {
      if (!kube::is_conflict(e) || attempt == 10) throw;
    }
  }
  std::string backup = make_backup(*cluster_, {"stat"});
  cluster_->delete_namespace_and_wait("stat");

  auto restore = restore_named("r-stat", "b-stat");
  restore.spec.included_resources = {"deployments", "namespaces"};
  restore.spec.restore_status = api::RestoreStatusSpec{{"deployments.apps"}, {}, {}};
  RestoreOutcome outcome;
  run(restore, backup, outcome);
  EXPECT_EQ(outcome.errors.count() + outcome.warnings.count(), 0u) << results_json(outcome.errors, outcome.warnings);
  json restored = cluster_->client->get(deployments, "stat", "nginx-deployment");
  EXPECT_EQ(restored["status"]["readyReplicas"], 3) << restored.dump();
}

TEST_F(RestoreTest, PodsBringTheirClaimsAndClaimsTheirVolumes) {  // additional items (Velero's pkg/restore/actions add-pvc-from-pod, pvc)
  cluster_->create_namespace("addl");
  for (auto object : manifest_objects(fixture("pv-volume.yaml"))) {
    object["metadata"]["name"] = "addl-volume";
    cluster_->create(object, "");
  }
  json claim = manifest_objects(fixture("pv-claim.yaml"))[0];
  claim["spec"]["volumeName"] = "addl-volume";
  cluster_->create(claim, "addl");
  auto claims = cluster_->resource("persistentvolumeclaims");
  ASSERT_TRUE(testsupport::eventually([&] {
    return cluster_->client->get(claims, "addl", "task-pv-claim").value("/status/phase"_json_pointer, std::string()) ==
           "Bound";
  }, std::chrono::seconds(5)));
  std::string old_claim_uid = cluster_->client->get(claims, "addl", "task-pv-claim")["metadata"]["uid"];
  json pod = json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"db","labels":{"app":"db"}},
    "spec":{"containers":[{"name":"db","image":"postgres"}],
            "volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"task-pv-claim"}}]}})");
  cluster_->create(pod, "addl");
  std::string backup = make_backup(*cluster_, {"addl"}, {"persistentvolumes"});
  cluster_->delete_namespace_and_wait("addl");
  cluster_->client->remove(cluster_->resource("persistentvolumes"), "", "addl-volume");
  ASSERT_TRUE(testsupport::eventually(
      [&] { return !cluster_->exists(cluster_->resource("persistentvolumes"), "", "addl-volume"); },
      std::chrono::seconds(5)));

  // The namespace filter keeps PVs out of their own tier and the selector picks only the pod: both the claim
  // and its volume still come back, as additional items of the pod and of the claim.
  auto restore = restore_named("r-addl", "b-addl");
  restore.spec.included_namespaces = {"addl"};
  restore.spec.label_selector = parse_label_selector("app=db");
  RestoreOutcome outcome;
  run(restore, backup, outcome);
  EXPECT_EQ(outcome.errors.count(), 0u) << results_json(outcome.errors, outcome.warnings);
  json list = json::parse(outcome.resources.json());
  EXPECT_EQ(list["v1/Pod"], json::parse(R"j(["addl/db(created)"])j"));
  EXPECT_EQ(list["v1/PersistentVolumeClaim"], json::parse(R"j(["addl/task-pv-claim(created)"])j"));
  EXPECT_EQ(list["v1/PersistentVolume"], json::parse(R"j(["addl-volume(created)"])j"));
  json volume = cluster_->client->get(cluster_->resource("persistentvolumes"), "", "addl-volume");
  // The binding to the old claim was reset (claimRef.uid removed), so the volume can bind to the restored claim.
  EXPECT_NE(volume.value("/spec/claimRef/uid"_json_pointer, std::string()), old_claim_uid);
  EXPECT_EQ(volume["spec"]["claimRef"]["name"], "task-pv-claim");
}

TEST_F(RestoreTest, IncludedNamespaceGlobMatchingNothingRestoresNothing) {  // Velero's pkg/restore/restore.go, velero#9587
  cluster_->create_namespace("globbed");
  for (auto object : manifest_objects(fixture("configmaps.yaml"))) cluster_->create(object, "globbed");
  std::string backup = make_backup(*cluster_, {"globbed"});
  cluster_->delete_namespace_and_wait("globbed");

  auto restore = restore_named("r-glob-none", "b-glob");
  restore.spec.included_namespaces = {"prod-*"};
  RestoreOutcome outcome;
  run(restore, backup, outcome);
  EXPECT_EQ(outcome.errors.count(), 0u) << results_json(outcome.errors, outcome.warnings);
  EXPECT_EQ(outcome.resources.size(), 0u) << outcome.resources.json();
  EXPECT_THROW(cluster_->client->get(cluster_->resource("namespaces"), "", "globbed"), kube::KubeError);
  ASSERT_EQ(outcome.warnings.velero.size(), 1u);
  EXPECT_EQ(outcome.warnings.velero[0], "included namespace \"prod-*\" matches no namespace in the backup");

  auto matching = restore_named("r-glob-some", "b-glob");
  matching.spec.included_namespaces = {"glob*"};
  RestoreOutcome restored;
  run(matching, backup, restored);
  EXPECT_TRUE(restored.warnings.velero.empty()) << results_json(restored.errors, restored.warnings);
  EXPECT_NO_THROW(cluster_->client->get(cluster_->resource("configmaps"), "globbed", "special-config"));
}

// Velero's internal/hook. Without kubelite's data plane no container ever runs: the exec hooks wait out their
// wait-timeout and are reported as not executed (they run for real in restore_hooks_integration_test).
TEST_F(RestoreTest, InitHooksGoIntoPodsAndExecHooksThatNeverRunAreReported) {
  cluster_->create_namespace("hooked");
  json annotated = json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"annotated","labels":{"app":"web"},
    "annotations":{"init.hook.restore.velero.io/container-image":"busybox",
                   "init.hook.restore.velero.io/container-name":"warm-cache",
                   "init.hook.restore.velero.io/command":"[\"/bin/sh\",\"-c\",\"echo warm\"]",
                   "post.hook.restore.velero.io/command":"[\"/bin/reload\",\"--now\"]",
                   "post.hook.restore.velero.io/wait-timeout":"1s"}},
    "spec":{"containers":[{"name":"web","image":"nginx"}],
            "initContainers":[{"name":"own-init","image":"busybox","command":["true"]}]}})");
  json plain = json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"plain","labels":{"app":"db"}},
    "spec":{"containers":[{"name":"db","image":"postgres"},{"name":"sidecar","image":"envoy"}]}})");
  json other = json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"other","labels":{"app":"cache"}},
    "spec":{"containers":[{"name":"cache","image":"redis"}]}})");
  for (const auto& pod : {annotated, plain, other}) cluster_->create(pod, "hooked");
  std::string backup = make_backup(*cluster_, {"hooked"});
  cluster_->delete_namespace_and_wait("hooked");

  auto restore = restore_named("r-hooks", "b-hooks");
  restore.spec.namespace_mapping = {{"hooked", "hooked-copy"}};
  api::RestoreResourceHookSpec spec;
  spec.name = "db-hooks";
  spec.included_namespaces = {"hooked-copy"};  // init hooks select on the target namespace
  spec.label_selector = parse_label_selector("app in (db,web)");
  api::RestoreResourceHook init;
  init.init = api::InitRestoreHook{{json::parse(R"({"name":"migrate","image":"flyway","command":["migrate"]})")}, {}, {}};
  api::RestoreResourceHook exec;
  exec.exec = api::ExecRestoreHook{"sidecar", {"/bin/flush"}, api::HookErrorMode::Fail, {}, std::chrono::seconds(1), {}, {}};
  spec.post_hooks = {init, exec};
  restore.spec.hooks.resources = {spec};
  RestoreOutcome outcome;
  run(restore, backup, outcome);
  // The Fail hook that never ran is a restore error in its pod's namespace; the annotation hook (onError defaults
  // to Continue) only an error line in the log. Neither was attempted.
  ASSERT_EQ(outcome.errors.count(), 1u) << results_json(outcome.errors, outcome.warnings);
  EXPECT_EQ(outcome.errors.namespaces["hooked-copy"][0],
            "Hook db-hooks in container sidecar in pod hooked-copy/plain not executed: context deadline exceeded");
  EXPECT_THAT(last_log_, HasSubstr("Hook <from-annotation> in container web in pod hooked-copy/annotated not executed"));
  EXPECT_FALSE(outcome.hooks_ran);
  EXPECT_EQ(outcome.hook_status.hooks_attempted, 0);

  auto pods = cluster_->resource("pods");
  auto init_names = [&](const std::string& name) {
    std::vector<std::string> names;
    for (const auto& c : cluster_->client->get(pods, "hooked-copy", name).value("/spec/initContainers"_json_pointer, json::array()))
      names.push_back(c["name"]);
    return names;
  };
  // Annotations win over the spec for that pod; hook containers run before the pod's own.
  EXPECT_EQ(init_names("annotated"), (std::vector<std::string>{"warm-cache", "own-init"}));
  json warm = cluster_->client->get(pods, "hooked-copy", "annotated")["spec"]["initContainers"][0];
  EXPECT_EQ(warm["image"], "busybox");
  EXPECT_EQ(warm["command"], json::parse(R"(["/bin/sh","-c","echo warm"])"));
  EXPECT_EQ(init_names("plain"), (std::vector<std::string>{"migrate"}));
  EXPECT_TRUE(init_names("other").empty());

  for (const auto& warning : outcome.warnings.namespaces["hooked-copy"])
    EXPECT_THAT(warning, ::testing::Not(HasSubstr("exec hook")));

  // A spec init container without an image fails the pod, with the reason, and nothing else.
  cluster_->delete_namespace_and_wait("hooked-copy");
  restore.spec.hooks.resources[0].post_hooks[0].init->init_containers = {json::parse(R"({"name":"x","command":["y"]})")};
  RestoreOutcome invalid;
  run(restore, backup, invalid);
  ASSERT_EQ(invalid.errors.namespaces["hooked-copy"].size(), 1u) << results_json(invalid.errors, invalid.warnings);
  EXPECT_THAT(invalid.errors.namespaces["hooked-copy"][0], HasSubstr("doesn't have Command, Name or Image field"));
  EXPECT_THAT(invalid.errors.namespaces["hooked-copy"][0], HasSubstr("pods/hooked-copy/plain"));
}

}  // namespace
}  // namespace arca::restore
