// `arca install` / `arca uninstall` against kubelite, checked by the real kubectl.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "install/resources.h"
#include "tests/support/cluster.h"

using namespace std::chrono_literals;
using testsupport::Cluster;

TEST(Install, DryRunYamlIsAcceptedByKubectlServerSideDryRun) {
  Cluster c;  // CRDs installed: a server-side dry run cannot create them and then validate a BSL against them
  auto yaml = c.arca_ok({"install", "--provider", "aws", "--bucket", "backups", "--prefix", "cluster-a",
                         "--secret-file", c.kubeconfig(), "--backup-location-config", "region=us-east-1,s3ForcePathStyle=true",
                         "--snapshot-location-config", "region=us-east-1", "--image", "example.com/arca:test",
                         "--features", "EnableAPIGroupVersions,EnableCSI", "--dry-run", "-o", "yaml"});
  // kubectl validates a `kind: List` against /openapi/v2, which kubelite does not serve; each item on its own
  // is validated against /openapi/v3. So the same objects go in as a YAML stream.
  auto list = YAML::Load(yaml);
  ASSERT_EQ(list["kind"].as<std::string>(), "List");
  // Velero's install hands --features to the server, and its uploader type (kopia unless told otherwise), which
  // arca's server accepts with a warning.
  bool deployment_seen = false;
  for (const auto& item : list["items"]) {
    if (item["kind"].as<std::string>() != "Deployment") continue;
    deployment_seen = true;
    auto args = item["spec"]["template"]["spec"]["containers"][0]["args"].as<std::vector<std::string>>();
    EXPECT_EQ(args, (std::vector<std::string>{"server", "--features=EnableAPIGroupVersions,EnableCSI",
                                              "--uploader-type=kopia"}));
  }
  EXPECT_TRUE(deployment_seen);
  std::ofstream stream(c.dir().file("install.yaml"));
  for (const auto& item : list["items"]) stream << "---\n" << YAML::Dump(item) << "\n";
  stream.close();
  auto applied = c.kubectl({"apply", "--dry-run=server", "-f", c.dir().file("install.yaml")});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  for (const char* expected : {"namespace/velero", "customresourcedefinition.apiextensions.k8s.io/backups.velero.io",
                               "serviceaccount/velero", "clusterrolebinding.rbac.authorization.k8s.io/velero",
                               "secret/cloud-credentials", "backupstoragelocation.velero.io/default",
                               "volumesnapshotlocation.velero.io/default", "deployment.apps/velero"})
    EXPECT_NE(applied.output.find(expected), std::string::npos) << expected << "\n" << applied.output;
  // A dry run stores nothing.
  EXPECT_NE(c.kubectl({"-n", "velero", "get", "deployment", "velero"}).exit_code, 0);
  EXPECT_EQ(c.kubectl({"-n", "velero", "get", "secret", "cloud-credentials"}).exit_code, 1);
}

TEST(Install, LocalProviderInstallsEverythingAndUninstallRemovesIt) {
  Cluster c{Cluster::Bare{}};
  std::filesystem::create_directories(c.store_root() + "/demo");
  auto out = c.arca_ok({"install", "--provider", "local", "--bucket", "demo", "--backup-location-config",
                        "root=" + c.store_root(), "--no-secret", "--use-volume-snapshots=false"});
  EXPECT_NE(out.find("Deployment/velero: created"), std::string::npos) << out;
  // What the user sees names the product they ran; the objects keep Velero's names.
  EXPECT_NE(out.find("arca is installed. Use 'kubectl logs deployment/velero -n velero'"), std::string::npos) << out;
  EXPECT_EQ(out.find("Velero is installed"), std::string::npos) << out;
  auto bsl = c.items("backupstoragelocations");
  ASSERT_EQ(bsl.size(), 1u);
  EXPECT_EQ(bsl[0]["spec"]["provider"], "local");
  EXPECT_EQ(bsl[0]["spec"]["default"], true);
  EXPECT_EQ(bsl[0]["spec"]["config"]["root"], c.store_root());
  EXPECT_TRUE(c.items("volumesnapshotlocations").empty());
  EXPECT_EQ(c.kubectl({"get", "clusterrolebinding", "velero"}).exit_code, 0);

  // The installed location works: a local server backs up into it.
  c.start_server();
  c.arca_ok({"backup", "create", "first", "--include-namespaces", "velero", "--wait"});
  EXPECT_TRUE(std::filesystem::exists(c.store_root() + "/demo/backups/first/velero-backup.json"));
  c.server(0).stop();

  // Again: everything exists, nothing fails.
  auto again = c.arca_ok({"install", "--provider", "local", "--bucket", "demo", "--backup-location-config",
                          "root=" + c.store_root(), "--no-secret", "--use-volume-snapshots=false"});
  EXPECT_NE(again.find("already exists"), std::string::npos) << again;

  EXPECT_NE(c.arca_ok({"uninstall", "--force"}).find("arca uninstalled."), std::string::npos);
  EXPECT_NE(c.kubectl({"get", "namespace", "velero"}).exit_code, 0);
  EXPECT_NE(c.kubectl({"get", "crd", "backups.velero.io"}).exit_code, 0);
  EXPECT_NE(c.kubectl({"get", "clusterrolebinding", "velero"}).exit_code, 0);
}

TEST(Install, BadFlagsGetOneClearLine) {
  Cluster c{Cluster::Bare{}};
  auto no_secret = c.arca({"install", "--provider", "aws", "--bucket", "b", "--dry-run", "-o", "yaml"});
  EXPECT_EQ(no_secret.exit_code, 1);
  EXPECT_EQ(no_secret.output, "An error occurred: One of --secret-file or --no-secret is required\n");
  auto no_bucket = c.arca({"install", "--provider", "aws", "--no-secret", "--dry-run", "-o", "yaml"});
  EXPECT_EQ(no_bucket.output, "An error occurred: --bucket is required\n");
  auto dash = c.arca({"install", "--provider", "aws", "--bucket=-x", "--no-secret", "--dry-run", "-o", "yaml"});
  EXPECT_EQ(dash.output, "An error occurred: Bucket names cannot begin with a '-'\n");
}
