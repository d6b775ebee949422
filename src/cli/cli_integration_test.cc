// A Velero user's day against kubelite with the real `arca`, `kubectl` and PyYAML: a `velero install`-shaped
// Deployment's arguments start `arca server`; every `-o yaml` reads back with the types of `-o json`; the install
// manifest goes through `kubectl apply`; kubectl-style paths and selectors work; deleting a backup takes its
// restores with it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/cluster.h"

using namespace std::chrono_literals;
using testsupport::Cluster;
using testsupport::eventually;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Velero's pkg/install/deployment.go argument list for an install that sets every flag it turns into a server
// argument (the uploader type is written even by default), as a Velero 1.14–1.18 Deployment carries it.
const std::vector<std::string> kVeleroDeploymentArgs = {
    "--features=EnableCSI,EnableAPIGroupVersions", "--default-volumes-to-fs-backup=true",
    "--default-snapshot-move-data=true", "--disable-informer-cache=true", "--schedule-skip-immediately=true",
    "--uploader-type=kopia", "--default-repo-maintain-frequency=168h0m0s", "--garbage-collection-frequency=1h0m0s",
    "--fs-backup-timeout=4h0m0s", "--keep-latest-maintenance-jobs=3", "--maintenance-job-cpu-limit=1",
    "--maintenance-job-cpu-request=100m", "--maintenance-job-mem-limit=1Gi", "--maintenance-job-mem-request=128Mi",
    "--backup-repository-configmap=repo-config", "--repo-maintenance-job-configmap=maintenance-config",
    "--item-block-worker-count=2", "--concurrent-backups=1",
    // The flags Velero's server has beyond what install writes, at values a hand-edited Deployment would use.
    "--log-level=debug", "--log-format=json", "--plugin-dir=/plugins", "--backup-sync-period=30s",
    "--restore-resource-priorities=customresourcedefinitions,namespaces,-,clusterbootstraps.run.tanzu.vmware.com",
    "--default-backup-storage-location=default", "--store-validation-frequency=1m", "--client-qps=100",
    "--client-burst=100", "--client-page-size=500", "--profiler-address=localhost:6060",
    "--terminating-resource-timeout=10m", "--default-backup-ttl=720h", "--volume-group-snapshot-label-key=velero.io/volume-group",
    "--item-operation-sync-frequency=10s", "--default-item-operation-timeout=4h", "--resource-timeout=10m",
    "--max-concurrent-k8s-connections=30", "--default-volume-snapshot-locations=aws:default",
    "--disable-controllers=backup-operations,restore-operations,backup-repo", "--metrics-address=127.0.0.1:0"};

TEST(VeleroDeployment, EveryArgumentVeleroInstallWritesStartsArcaServer) {
  Cluster c;
  c.start_server(kVeleroDeploymentArgs);
  // Running means answering: the version command goes through a ServerStatusRequest the server processes.
  std::string version;
  ASSERT_TRUE(eventually(
      [&] {
        version = c.arca({"version", "--timeout", "2s"}).output;
        return version.find("Server:") != std::string::npos;
      },
      30s))
      << version << read_text(c.dir().file("server-0.log"));
  EXPECT_TRUE(c.server(0).running());
  std::string log = read_text(c.dir().file("server-0.log"));
  // Each flag of a feature arca has not built says so, once, at start.
  for (const char* flag : {"--uploader-type=kopia: arca writes restic-format repositories",
                           "--backup-repository-configmap: per-repository settings from a ConfigMap is not built"})
    EXPECT_NE(log.find(flag), std::string::npos) << flag << "\n" << log;
  // File-system backup is built: its flags no longer say otherwise.
  EXPECT_EQ(log.find("file-system backup of pod volumes is not built"), std::string::npos) << log;
}

TEST(VeleroDeployment, BadServerArgumentsGetOneLine) {
  Cluster c{Cluster::Bare{}};
  auto controller = c.arca({"server", "--disable-controllers=gc,nosuch"});
  EXPECT_EQ(controller.exit_code, 1);
  EXPECT_NE(controller.output.find("invalid controller name \"nosuch\""), std::string::npos) << controller.output;
  auto uploader = c.arca({"server", "--uploader-type=rsync"});
  EXPECT_EQ(uploader.exit_code, 1);
  EXPECT_EQ(uploader.output, "An error occurred: invalid uploader type 'rsync', valid upload types are: 'restic', 'kopia'\n");
  auto priorities = c.arca({"server", "--restore-resource-priorities=a,-,b,-,c"});
  EXPECT_EQ(priorities.exit_code, 1);
  EXPECT_NE(priorities.output.find("multiple priority separator"), std::string::npos) << priorities.output;
}

// PyYAML is the strict reader here: it takes `8085` for an int and `true` for a bool, as kubectl's decoder would
// refuse them for string fields.
bool yaml_matches_json(Cluster& c, const std::vector<std::string>& args, std::string& detail) {
  auto as = [&](const char* format) {
    auto with = args;
    with.push_back("-o");
    with.push_back(format);
    return c.arca(with);
  };
  auto yaml = as("yaml"), json = as("json");
  if (yaml.exit_code != 0 || json.exit_code != 0) {
    detail = yaml.output + json.output;
    return false;
  }
  std::ofstream(c.dir().file("out.yaml")) << yaml.out;
  std::ofstream(c.dir().file("out.json")) << json.out;
  std::string script = "import json,sys,yaml\n"
                       "y=yaml.safe_load(open(sys.argv[1]))\n"
                       "j=json.load(open(sys.argv[2]))\n"
                       "sys.exit(0 if y==j else 1)\n";
  std::ofstream(c.dir().file("compare.py")) << script;
  std::string command = "python3 " + c.dir().file("compare.py") + " " + c.dir().file("out.yaml") + " " +
                        c.dir().file("out.json");
  if (std::system(command.c_str()) != 0) {
    detail = yaml.out;
    return false;
  }
  return true;
}

TEST(Output, EveryYamlOutputReadsBackWithTheTypesOfJson) {
  Cluster c;
  c.start_server({"--metrics-address=127.0.0.1:0"});
  c.kubectl({"create", "namespace", "app"});
  c.kubectl({"-n", "app", "create", "configmap", "settings", "--from-literal=port=8085"});
  c.arca_ok({"backup", "create", "b1", "--include-namespaces", "app", "--labels", "a=1,t=true,o=0755", "--wait"});
  c.arca_ok({"schedule", "create", "s1", "--schedule", "0 3 * * *", "--labels", "n=null,d=2024-01-01",
             "--ordered-resources", "pods=app/p1"});
  std::vector<std::vector<std::string>> commands = {
      {"backup", "create", "b2", "--labels", "a=1,t=true,o=0755,e=1e3,y=yes", "--ttl", "24h"},
      {"schedule", "create", "s2", "--schedule", "@every 1h", "--labels", "n=null"},
      {"restore", "create", "r1", "--from-backup", "b1", "--labels", "port=8085"},
      {"backup-location", "create", "l2", "--provider", "aws", "--bucket", "123", "--config", "region=0,s3ForcePathStyle=true"},
      {"snapshot-location", "create", "v2", "--provider", "aws", "--config", "apiTimeout=10"},
      {"install", "--provider", "aws", "--bucket", "b", "--no-secret", "--dry-run", "--pod-labels", "tier=1"},
      {"install", "--crds-only", "--dry-run"},
      {"backup", "get"},
      {"get", "schedules"},
      {"backup-location", "get"},
  };
  for (const auto& command : commands) {
    std::string detail;
    std::string line;
    for (const auto& w : command) line += w + " ";
    EXPECT_TRUE(yaml_matches_json(c, command, detail)) << line << "\n" << detail.substr(0, 4000);
  }
}

TEST(Install, DryRunYamlGoesThroughKubectlApply) {
  Cluster c{Cluster::Bare{}};
  auto manifest = c.arca({"install", "--provider", "aws", "--bucket", "backups", "--no-secret",
                             "--use-volume-snapshots=false", "--plugins", "velero/velero-plugin-for-aws:v1.13.0",
                             "--dry-run", "-o", "yaml"});
  ASSERT_EQ(manifest.exit_code, 0) << manifest.output;
  std::ofstream(c.dir().file("install.yaml")) << manifest.out;  // stdout only, as a shell pipe takes it
  // kubelite serves OpenAPI v3 only, which kubectl does not use to validate a `kind: List`. The CRDs and the
  // objects of their kinds are in one manifest, so (as with any such manifest) a second apply finds the kinds.
  testsupport::CommandResult applied;
  ASSERT_TRUE(eventually(
      [&] {
        applied = c.kubectl({"apply", "--validate=false", "-f", c.dir().file("install.yaml")});
        return applied.exit_code == 0;
      },
      20s))
      << applied.output;
  auto deployment = c.kubectl({"-n", "velero", "get", "deployment", "velero", "-o",
                               "jsonpath={.spec.template.metadata.annotations.prometheus\\.io/port}"});
  EXPECT_EQ(deployment.output, "8085");
  // --use-node-agent: Velero's DaemonSet (names, label, the kubelet's pods at /host_pods) running
  // `arca node-agent server`; --uploader-type=kopia is accepted with one warning.
  auto with_agent = c.arca({"install", "--provider", "aws", "--bucket", "b", "--no-secret", "--use-node-agent",
                            "--uploader-type", "kopia", "--dry-run", "-o", "json"});
  ASSERT_EQ(with_agent.exit_code, 0) << with_agent.output;
  EXPECT_NE(with_agent.err.find("Warning: --uploader-type=kopia: arca writes restic-format repositories"),
            std::string::npos) << with_agent.err;
  auto list = nlohmann::json::parse(with_agent.out);
  bool daemonset = false;
  for (const auto& item : list["items"])
    if (item["kind"] == "DaemonSet" && item["metadata"]["name"] == "node-agent") {
      daemonset = true;
      const auto& pod = item["spec"]["template"]["spec"];
      EXPECT_EQ(item["spec"]["selector"]["matchLabels"]["name"], "node-agent");
      EXPECT_EQ(pod["containers"][0]["command"], nlohmann::json::parse(R"(["/arca"])"));
      EXPECT_EQ(pod["containers"][0]["args"], nlohmann::json::parse(R"(["node-agent","server"])"));
      EXPECT_EQ(pod["volumes"][0]["hostPath"]["path"], "/var/lib/kubelet/pods");
      EXPECT_EQ(pod["containers"][0]["volumeMounts"][0]["mountPath"], "/host_pods");
      EXPECT_EQ(pod["containers"][0]["env"][1]["name"], "NODE_NAME");
      // The agent's /healthz (served beside its metrics) is what the kubelet probes.
      EXPECT_EQ(pod["containers"][0]["livenessProbe"]["httpGet"]["path"], "/healthz");
      EXPECT_EQ(pod["containers"][0]["livenessProbe"]["httpGet"]["port"], "metrics");
      EXPECT_EQ(pod["containers"][0]["ports"][0]["containerPort"], 8085);
    }
  EXPECT_TRUE(daemonset);
  // A real install, then --apply: what exists is updated to the new flags instead of left alone.
  std::filesystem::create_directories(c.store_root() + "/demo");
  std::vector<std::string> local = {"install", "--provider", "local", "--bucket", "demo", "--backup-location-config",
                                    "root=" + c.store_root(), "--no-secret", "--use-volume-snapshots=false"};
  auto again = c.arca_ok(local);
  EXPECT_NE(again.find("already exists, proceeding"), std::string::npos) << again;
  local.insert(local.end(), {"--apply", "--velero-pod-cpu-limit", "2", "--wait"});
  auto applied_again = c.arca_ok(local);
  EXPECT_NE(applied_again.find("Deployment/velero: configured"), std::string::npos) << applied_again;
  // --wait returns once the Deployment reports an available replica (kubelite's workload status).
  EXPECT_NE(applied_again.find("Waiting for Velero deployment to be ready.\n"), std::string::npos) << applied_again;
  EXPECT_NE(applied_again.find("arca is installed."), std::string::npos) << applied_again;
  EXPECT_EQ(c.kubectl({"-n", "velero", "get", "deployment", "velero", "-o",
                       "jsonpath={.spec.template.spec.containers[0].resources.limits.cpu}"})
                .output,
            "2");
  // Any other plugin image is named in the one error line.
  auto other = c.arca({"install", "--provider", "aws", "--bucket", "b", "--no-secret", "--dry-run", "-o", "yaml",
                       "--plugins", "velero/velero-plugin-for-aws:v1.13.0,example.com/custom-plugin:v1"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.output.find("--plugins example.com/custom-plugin:v1: arca runs no plugin images"), std::string::npos)
      << other.output;
}

TEST(Commands, KubectlPathsSelectorsAndDeletingABackupTakesItsRestores) {
  Cluster c;
  c.start_server({"--metrics-address=127.0.0.1:0"});
  c.kubectl({"create", "namespace", "app"});
  c.kubectl({"-n", "app", "create", "configmap", "settings", "--from-literal=k=v"});
  c.arca_ok({"create", "backup", "daily-1", "--include-namespaces", "app", "--labels", "velero.io/schedule-name=daily",
             "--wait"});
  c.arca_ok({"create", "backup", "other", "--include-namespaces", "app", "--wait"});
  auto listed = c.arca_ok({"get", "backups", "-l", "velero.io/schedule-name=daily", "--show-labels"});
  EXPECT_NE(listed.find("daily-1"), std::string::npos) << listed;
  EXPECT_EQ(listed.find("other"), std::string::npos) << listed;
  EXPECT_NE(listed.find("velero.io/schedule-name=daily"), std::string::npos) << listed;
  auto described = c.arca_ok({"describe", "backup", "daily-1", "-o", "json"});
  EXPECT_EQ(nlohmann::json::parse(described)["metadata"]["name"], "daily-1");
  // describe says what garbage collection will do: the schedule's rules keep daily-1, TTL alone decides `other`.
  described = c.arca_ok({"describe", "backup", "daily-1"});
  EXPECT_NE(described.find("Retention:  collected after its TTL, at "), std::string::npos) << described;
  c.arca_ok({"schedule", "create", "daily", "--schedule", "@every 24h", "--paused", "--keep-daily", "2"});
  described = c.arca_ok({"describe", "backup", "daily-1"});
  EXPECT_NE(described.find("Retention:  kept (newest successful, keep-daily "), std::string::npos) << described;
  described = c.arca_ok({"describe", "backup", "other"});
  EXPECT_NE(described.find("Retention:  collected after its TTL, at "), std::string::npos) << described;

  c.arca_ok({"create", "restore", "back", "--from-backup", "daily-1", "--namespace-mappings", "app:app-copy", "--wait"});
  std::string restore_dir = c.store_root() + "/bucket/restores/back";
  for (const char* file : {"restore-back-logs.gz", "restore-back-results.gz", "restore-back-resource-list.json.gz",
                           "restore-back-itemoperations.json.gz", "back-volumeinfo.json.gz"})
    EXPECT_TRUE(std::filesystem::exists(restore_dir + "/" + file)) << file;

  // `debug`: a bundle with the velero.io objects and the backup's log; never a Secret's data.
  c.kubectl({"-n", "velero", "create", "secret", "generic", "cloud-credentials", "--from-literal=cloud=TOPSECRET"});
  std::string bundle = c.dir().file("bundle.tar.gz");
  c.arca_ok({"debug", "--backup", "daily-1", "--output", bundle});
  std::filesystem::create_directories(c.dir().file("bundle"));
  ASSERT_EQ(std::system(("tar xzf " + bundle + " -C " + c.dir().file("bundle")).c_str()), 0);
  EXPECT_NE(read_text(c.dir().file("bundle/velero.io/backups.yaml")).find("name: daily-1"), std::string::npos);
  EXPECT_NE(read_text(c.dir().file("bundle/velero.io/backupstoragelocations.yaml")).find("phase: Available"),
            std::string::npos);
  EXPECT_NE(read_text(c.dir().file("bundle/backups/daily-1.log")).find("daily-1"), std::string::npos);
  EXPECT_NE(std::system(("zcat " + bundle + " | grep -q TOPSECRET").c_str()), 0);
  auto bug = c.arca_ok({"bug"});
  EXPECT_NE(bug.find("- arca version: v"), std::string::npos) << bug;

  // Velero's documented clean-up: delete by selector.
  c.arca_ok({"backup", "delete", "--selector", "velero.io/schedule-name=daily", "--confirm"});
  EXPECT_TRUE(eventually([&] { return c.items("restores").empty(); }, 30s));
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(restore_dir); }, 10s));
  EXPECT_TRUE(eventually([&] { return c.items("backups").size() == 1; }, 30s));
  EXPECT_EQ(c.items("backups")[0]["metadata"]["name"], "other");
}

}  // namespace
