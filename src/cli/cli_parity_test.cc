// Every flag of Velero 1.18's CLI and of `velero server`, by command path, with its pflag type and default, read
// from Velero's sources (pkg/cmd/cli/<noun>/*.go BindFlags, pkg/cmd/util/output/output.go, pkg/cmd/cli/
// select_option.go, pkg/cmd/util/confirm/confirm.go, pkg/cmd/cli/install/install.go, pkg/cmd/server/config/
// config.go, pkg/cmd/velero/velero.go). The test builds arca's command tree in-process and checks, for each flag,
// that the command exists, the flag has the same type and default, and that a command line using it parses.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "cli/app.h"
#include "util/duration.h"

namespace {

using namespace arca;

struct VeleroFlag {
  const char* path;   // command path after the binary ("" for the root's persistent flags)
  const char* flag;   // long name, or -s,--long
  const char* type;   // pflag type; "enum" for Velero's flag.Enum (any value-taking type)
  const char* value;  // Velero's default as its --help prints it ("" for none)
};

// Velero's kubectl-style paths reuse the noun commands (pkg/cmd/cli/get/get.go, describe.go, create.go, delete.go).
const std::map<std::string, std::string> kAliases = {
    {"get backups", "backup get"}, {"get schedules", "schedule get"}, {"get restores", "restore get"},
    {"get backup-locations", "backup-location get"}, {"get snapshot-locations", "snapshot-location get"},
    {"get plugins", "plugin get"}, {"describe backups", "backup describe"}, {"describe schedules", "schedule describe"},
    {"describe restores", "restore describe"}, {"create backup", "backup create"}, {"create schedule", "schedule create"},
    {"create restore", "restore create"}, {"create backup-location", "backup-location create"},
    {"create snapshot-location", "snapshot-location create"}, {"delete backup", "backup delete"},
    {"delete backup-location", "backup-location delete"}, {"delete restore", "restore delete"},
    {"delete schedule", "schedule delete"}};

#define BACKUP_TEMPLATE(P)                                                                                            \
  {P, "--ttl", "duration", "0s"}, {P, "--include-namespaces", "stringArray", "*"},                                   \
      {P, "--exclude-namespaces", "stringArray", ""}, {P, "--include-resources", "stringArray", ""},                 \
      {P, "--exclude-resources", "stringArray", ""}, {P, "--include-cluster-scoped-resources", "stringArray", ""},   \
      {P, "--exclude-cluster-scoped-resources", "stringArray", ""},                                                 \
      {P, "--include-namespace-scoped-resources", "stringArray", ""},                                               \
      {P, "--exclude-namespace-scoped-resources", "stringArray", ""}, {P, "--labels", "mapStringString", ""},       \
      {P, "--annotations", "mapStringString", ""}, {P, "--storage-location", "string", ""},                         \
      {P, "--volume-snapshot-locations", "strings", ""}, {P, "-l,--selector", "labelSelector", ""},                 \
      {P, "--or-selector", "orLabelSelector", ""}, {P, "--ordered-resources", "string", ""},                        \
      {P, "--csi-snapshot-timeout", "duration", "0s"}, {P, "--item-operation-timeout", "duration", "0s"},           \
      {P, "--snapshot-volumes", "optionalBool[=true]", ""}, {P, "--snapshot-move-data", "optionalBool[=true]", ""}, \
      {P, "--include-cluster-resources", "optionalBool[=true]", ""},                                                \
      {P, "--default-volumes-to-fs-backup", "optionalBool[=true]", ""},                                             \
      {P, "--resource-policies-configmap", "string", ""}, {P, "--data-mover", "string", ""},                        \
      {P, "--parallel-files-upload", "int", "0"}, {P, "-o,--output", "string", ""},                                 \
      {P, "--backup-type", "string", ""}, /* Velero 1.19 (pkg/cmd/cli/backup/create.go) */                          \
      {P, "-L,--label-columns", "stringArray", ""}, {P, "--show-labels", "bool", "false"}

#define GET_FLAGS(P)                                                                                      \
  {P, "-l,--selector", "labelSelector", ""}, {P, "-o,--output", "string", "table"},                      \
      {P, "-L,--label-columns", "stringArray", ""}, {P, "--show-labels", "bool", "false"}
#define DELETE_FLAGS(P) \
  {P, "--confirm", "bool", "false"}, {P, "--all", "bool", "false"}, {P, "-l,--selector", "labelSelector", ""}
#define TLS_FLAGS(P) {P, "--insecure-skip-tls-verify", "bool", "false"}, {P, "--cacert", "string", ""}

const std::vector<VeleroFlag> kVeleroFlags = {
    // pkg/client/factory.go, pkg/cmd/velero/velero.go (klog's flag set: the ones scripts use)
    {"", "--kubeconfig", "string", ""}, {"", "--kubecontext", "string", ""}, {"", "-n,--namespace", "string", "velero"},
    {"", "--features", "stringArray", ""}, {"", "--colorized", "optionalBool", ""}, {"", "-v,--v", "Level", "0"},
    {"", "--vmodule", "moduleSpec", ""}, {"", "--log_dir", "string", ""}, {"", "--logtostderr", "bool", "true"},
    {"", "--alsologtostderr", "bool", "false"}, {"", "--stderrthreshold", "severity", "2"},
    // pkg/cmd/cli/backup/
    BACKUP_TEMPLATE("backup create"), {"backup create", "-w,--wait", "bool", "false"},
    {"backup create", "--from-schedule", "string", ""},
    GET_FLAGS("backup get"),
    {"backup describe", "-l,--selector", "labelSelector", ""}, {"backup describe", "--details", "bool", "false"},
    TLS_FLAGS("backup describe"), {"backup describe", "-o,--output", "string", "plaintext"},
    {"backup logs", "--timeout", "duration", "1m0s"}, TLS_FLAGS("backup logs"),
    {"backup download", "-o,--output", "string", ""}, {"backup download", "--force", "bool", "false"},
    {"backup download", "--timeout", "duration", "1m0s"}, TLS_FLAGS("backup download"),
    DELETE_FLAGS("backup delete"),
    // pkg/cmd/cli/restore/
    {"restore create", "--from-backup", "string", ""}, {"restore create", "--from-schedule", "string", ""},
    {"restore create", "--include-namespaces", "stringArray", "*"},
    {"restore create", "--exclude-namespaces", "stringArray", ""},
    {"restore create", "--namespace-mappings", "mapStringString", ""},
    {"restore create", "--labels", "mapStringString", ""}, {"restore create", "--annotations", "mapStringString", ""},
    {"restore create", "--include-resources", "stringArray", ""},
    {"restore create", "--exclude-resources", "stringArray", ""},
    {"restore create", "--existing-resource-policy", "string", ""},
    {"restore create", "--status-include-resources", "stringArray", ""},
    {"restore create", "--status-exclude-resources", "stringArray", ""},
    {"restore create", "-l,--selector", "labelSelector", ""}, {"restore create", "--or-selector", "orLabelSelector", ""},
    {"restore create", "--restore-volumes", "optionalBool[=true]", ""},
    {"restore create", "--preserve-nodeports", "optionalBool[=true]", ""},
    {"restore create", "--include-cluster-resources", "optionalBool[=true]", ""},
    {"restore create", "--allow-partially-failed", "optionalBool[=true]", ""},
    {"restore create", "--item-operation-timeout", "duration", "0s"},
    {"restore create", "--resource-modifier-configmap", "string", ""},
    // Velero 1.19 (design: server default restore resource modifier)
    {"restore create", "--skip-default-resource-modifier", "bool", "false"},
    // Velero 1.19 (design: fine-grained restore filters; issue #9937, the CLI for a restore's resource policy)
    {"restore create", "--resource-policies-configmap", "string", ""},
    {"restore create", "--write-sparse-files", "optionalBool[=true]", ""},
    {"restore create", "--parallel-files-download", "int", "0"}, {"restore create", "-w,--wait", "bool", "false"},
    {"restore create", "-o,--output", "string", ""}, {"restore create", "-L,--label-columns", "stringArray", ""},
    {"restore create", "--show-labels", "bool", "false"},
    GET_FLAGS("restore get"),
    {"restore describe", "-l,--selector", "labelSelector", ""}, {"restore describe", "--details", "bool", "false"},
    TLS_FLAGS("restore describe"),
    {"restore logs", "--timeout", "duration", "1m0s"}, TLS_FLAGS("restore logs"),
    DELETE_FLAGS("restore delete"),
    // pkg/cmd/cli/schedule/
    BACKUP_TEMPLATE("schedule create"), {"schedule create", "--schedule", "string", ""},
    {"schedule create", "--use-owner-references-in-backup", "bool", "false"},
    {"schedule create", "--paused", "bool", "false"}, {"schedule create", "--skip-immediately", "optionalBool", ""},
    GET_FLAGS("schedule get"), {"schedule describe", "-l,--selector", "labelSelector", ""},
    DELETE_FLAGS("schedule delete"),
    {"schedule pause", "--all", "bool", "false"}, {"schedule pause", "-l,--selector", "labelSelector", ""},
    {"schedule pause", "--skip-immediately", "optionalBool", ""},
    {"schedule unpause", "--all", "bool", "false"}, {"schedule unpause", "-l,--selector", "labelSelector", ""},
    {"schedule unpause", "--skip-immediately", "optionalBool", ""},
    // pkg/cmd/cli/backuplocation/
    {"backup-location create", "--provider", "string", ""}, {"backup-location create", "--bucket", "string", ""},
    {"backup-location create", "--prefix", "string", ""},
    {"backup-location create", "--backup-sync-period", "duration", "0s"},
    {"backup-location create", "--validation-frequency", "duration", "0s"},
    {"backup-location create", "--config", "mapStringString", ""},
    {"backup-location create", "--labels", "mapStringString", ""}, {"backup-location create", "--cacert", "string", ""},
    {"backup-location create", "--credential", "mapStringString", ""},
    {"backup-location create", "--default", "bool", "false"},
    {"backup-location create", "--access-mode", "enum", "ReadWrite"},
    {"backup-location create", "-o,--output", "string", ""},
    {"backup-location create", "-L,--label-columns", "stringArray", ""},
    {"backup-location create", "--show-labels", "bool", "false"},
    GET_FLAGS("backup-location get"), {"backup-location get", "--default", "bool", "false"},
    {"backup-location set", "--cacert", "string", ""}, {"backup-location set", "--credential", "mapStringString", ""},
    {"backup-location set", "--default", "optionalBool[=true]", ""},
    DELETE_FLAGS("backup-location delete"),
    // pkg/cmd/cli/snapshotlocation/
    {"snapshot-location create", "--provider", "string", ""},
    {"snapshot-location create", "--config", "mapStringString", ""},
    {"snapshot-location create", "--labels", "mapStringString", ""},
    {"snapshot-location create", "--credential", "mapStringString", ""},
    {"snapshot-location create", "-o,--output", "string", ""},
    {"snapshot-location create", "-L,--label-columns", "stringArray", ""},
    {"snapshot-location create", "--show-labels", "bool", "false"},
    GET_FLAGS("snapshot-location get"), {"snapshot-location set", "--credential", "mapStringString", ""},
    // pkg/cmd/cli/plugin/
    {"plugin add", "--image-pull-policy", "enum", "IfNotPresent"}, {"plugin add", "--confirm", "bool", "false"},
    {"plugin get", "--timeout", "duration", "5s"}, {"plugin get", "-o,--output", "string", "table"},
    // pkg/cmd/cli/install/install.go
    {"install", "--provider", "string", ""}, {"install", "--bucket", "string", ""},
    {"install", "--secret-file", "string", ""}, {"install", "--no-secret", "bool", "false"},
    {"install", "--no-default-backup-location", "bool", "false"}, {"install", "--image", "string", "*"},
    {"install", "--prefix", "string", ""}, {"install", "--pod-annotations", "mapStringString", ""},
    {"install", "--pod-labels", "mapStringString", ""}, {"install", "--sa-annotations", "mapStringString", ""},
    {"install", "--service-account-name", "string", ""}, {"install", "--velero-pod-cpu-request", "string", "500m"},
    {"install", "--velero-pod-mem-request", "string", "128Mi"}, {"install", "--velero-pod-cpu-limit", "string", "1000m"},
    {"install", "--velero-pod-mem-limit", "string", "512Mi"}, {"install", "--node-agent-pod-cpu-request", "string", "0"},
    {"install", "--node-agent-pod-mem-request", "string", "0"}, {"install", "--node-agent-pod-cpu-limit", "string", "0"},
    {"install", "--node-agent-pod-mem-limit", "string", "0"},
    {"install", "--backup-location-config", "mapStringString", ""},
    {"install", "--snapshot-location-config", "mapStringString", ""},
    {"install", "--use-volume-snapshots", "bool", "true"}, {"install", "--restore-only", "bool", "false"},
    {"install", "--dry-run", "bool", "false"}, {"install", "--apply", "bool", "false"},
    {"install", "--use-node-agent", "bool", "false"}, {"install", "--use-node-agent-windows", "bool", "false"},
    {"install", "--privileged-node-agent", "bool", "false"}, {"install", "--wait", "bool", "false"},
    {"install", "--default-repo-maintain-frequency", "duration", "0s"},
    {"install", "--garbage-collection-frequency", "duration", "0s"},
    {"install", "--pod-volume-operation-timeout", "duration", "0s"}, {"install", "--plugins", "stringArray", ""},
    {"install", "--crds-only", "bool", "false"}, {"install", "--cacert", "string", ""},
    {"install", "--features", "string", ""}, {"install", "--default-volumes-to-fs-backup", "bool", "false"},
    {"install", "--uploader-type", "string", "kopia"}, {"install", "--default-snapshot-move-data", "bool", "false"},
    {"install", "--disable-informer-cache", "bool", "false"},
    {"install", "--schedule-skip-immediately", "bool", "false"},
    {"install", "--node-agent-disable-host-path", "bool", "false"},
    {"install", "--kubelet-root-dir", "string", "/var/lib/kubelet"},
    {"install", "--keep-latest-maintenance-jobs", "int", "0"},
    {"install", "--maintenance-job-cpu-request", "string", ""}, {"install", "--maintenance-job-mem-request", "string", ""},
    {"install", "--maintenance-job-cpu-limit", "string", ""}, {"install", "--maintenance-job-mem-limit", "string", ""},
    {"install", "--backup-repository-configmap", "string", ""},
    {"install", "--repo-maintenance-job-configmap", "string", ""}, {"install", "--node-agent-configmap", "string", ""},
    {"install", "--default-resource-modifier-configmap", "string", ""},  // Velero 1.19

    {"install", "--item-block-worker-count", "int", "0"}, {"install", "--concurrent-backups", "int", "0"},
    {"install", "--server-priority-class-name", "string", ""},
    {"install", "--node-agent-priority-class-name", "string", ""}, {"install", "-o,--output", "string", ""},
    {"install", "-L,--label-columns", "stringArray", ""}, {"install", "--show-labels", "bool", "false"},
    // pkg/cmd/cli/uninstall, version, debug
    {"uninstall", "--force", "bool", "false"}, {"uninstall", "--wait", "bool", "false"},
    {"version", "--client-only", "bool", "false"}, {"version", "--timeout", "duration", "5s"},
    {"debug", "--output", "string", ""}, {"debug", "--backup", "string", ""}, {"debug", "--restore", "string", ""},
    {"debug", "--verbose", "bool", "false"},
    // pkg/cmd/server/config/config.go
    {"server", "--log-level", "enum", "info"}, {"server", "--log-format", "enum", "text"},
    {"server", "--plugin-dir", "string", "/plugins"}, {"server", "--metrics-address", "string", ":8085"},
    {"server", "--backup-sync-period", "duration", "1m0s"}, {"server", "--fs-backup-timeout", "duration", "4h0m0s"},
    {"server", "--restore-only", "bool", "false"}, {"server", "--disable-controllers", "strings", ""},
    {"server", "--restore-resource-priorities", "priorities", ""},
    {"server", "--default-backup-storage-location", "string", "default"},
    {"server", "--store-validation-frequency", "duration", "1m0s"},
    {"server", "--client-qps", "float32", "100"}, {"server", "--client-burst", "int", "100"},
    {"server", "--client-page-size", "int", "500"}, {"server", "--profiler-address", "string", "localhost:6060"},
    {"server", "--terminating-resource-timeout", "duration", "10m0s"},
    {"server", "--default-backup-ttl", "duration", "720h0m0s"},
    {"server", "--volume-group-snapshot-label-key", "string", "velero.io/volume-group"},
    {"server", "--default-repo-maintain-frequency", "duration", "0s"},
    {"server", "--garbage-collection-frequency", "duration", "0s"},
    {"server", "--item-operation-sync-frequency", "duration", "0s"},
    {"server", "--default-volumes-to-fs-backup", "bool", "false"}, {"server", "--uploader-type", "string", "kopia"},
    {"server", "--default-item-operation-timeout", "duration", "4h0m0s"},
    {"server", "--resource-timeout", "duration", "10m0s"}, {"server", "--max-concurrent-k8s-connections", "int", "30"},
    {"server", "--default-snapshot-move-data", "bool", "false"}, {"server", "--disable-informer-cache", "bool", "false"},
    {"server", "--schedule-skip-immediately", "bool", "false"},
    {"server", "--default-volume-snapshot-locations", "mapStringString", ""},
    {"server", "--backup-repository-configmap", "string", ""},
    {"server", "--repo-maintenance-job-configmap", "string", ""},
    {"server", "--default-resource-modifier-configmap", "string", ""},  // Velero 1.19
    {"server", "--item-block-worker-count", "int", "1"}, {"server", "--concurrent-backups", "int", "1"},
};

// Deliberate differences, each explained in the flag's --help (README: "Beyond Velero").
const std::map<std::string, std::string> kDocumentedDefaults = {
    {"server --client-qps", "10000"}, {"server --client-burst", "1000"}, {"install --image", "*"}};

// Positional words a command needs so that only the flag under test decides whether the line parses.
std::vector<std::string> base_args(const std::string& path) {
  if (path == "backup create" || path == "create backup") return {"b1"};
  if (path == "schedule create" || path == "create schedule") return {"s1", "--schedule", "@every 1h"};
  if (path == "backup-location create" || path == "create backup-location")
    return {"l1", "--provider", "aws", "--bucket", "b"};
  if (path == "snapshot-location create" || path == "create snapshot-location") return {"v1", "--provider", "aws"};
  if (path == "backup logs" || path == "backup download" || path == "restore logs" || path == "backup-location set" ||
      path == "snapshot-location set" || path == "plugin add")
    return {"x"};
  if (path == "install") return {"--use-node-agent"};  // --default-volumes-to-fs-backup needs it
  return {};
}

// A value of `type` for the flag (an invalid one when `valid` is false, for the types that check theirs).
std::vector<std::string> use(const std::string& flag, const std::string& type, const std::string& dflt) {
  std::string name = flag.substr(flag.rfind("--"));
  if (type == "bool") return {name + "=" + (dflt == "true" ? "false" : "true")};
  if (type == "optionalBool[=true]") return {name};
  if (type == "optionalBool") return {name + "=true"};
  if (type == "duration") return {name, "90s"};
  if (type == "int" || type == "Level" || type == "float32") return {name, "3"};
  if (name == "--default-volume-snapshot-locations" || name == "--namespace-mappings") return {name, "aws:east"};
  if (type == "mapStringString" || type == "labelSelector") return {name, "a=b"};
  if (type == "orLabelSelector") return {name, "a=b or c=d"};
  if (name == "--log-level") return {name, "debug"};
  if (name == "--log-format") return {name, "json"};
  if (name == "--access-mode") return {name, "ReadOnly"};
  if (name == "--image-pull-policy") return {name, "Always"};
  if (name == "--uploader-type") return {name, "restic"};
  if (name == "--backup-type") return {name, "Full"};
  if (name == "--disable-controllers") return {name, "gc,schedule"};
  if (name == "--restore-resource-priorities") return {name, "namespaces,-,pods"};
  if (name == "--plugins") return {name, "velero/velero-plugin-for-aws:v1.13.0"};
  if (name == "-o,--output" || name == "--output") return {name, dflt == "plaintext" ? "json" : "yaml"};
  return {name, "x"};
}

struct Parsed {
  int code;
  std::string out, err;
};

Parsed parse(std::vector<std::string> args) {
  CLI::App root;
  cli::Cli state;
  cli::build_cli(root, state);
  std::ostringstream out, err;
  int code = cli::parse_cli(root, state, std::move(args), out, err);
  return {code, out.str(), err.str()};
}

std::vector<std::string> words(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(path);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

class VeleroParity : public ::testing::Test {
 protected:
  void SetUp() override { setenv("HOME", ::testing::TempDir().c_str(), 1); }
};

const CLI::App* command(const CLI::App& root, const std::string& path) {
  const CLI::App* cmd = &root;
  for (const auto& word : words(path)) {
    const CLI::App* next = nullptr;
    for (const auto* sub : cmd->get_subcommands({}))
      if (sub->check_name(word)) next = sub;
    if (next == nullptr) return nullptr;
    cmd = next;
  }
  return cmd;
}

void check_flag(const CLI::App& root, const std::string& path, const VeleroFlag& f) {
  std::string where = "arca " + path + " " + f.flag;
  const CLI::App* cmd = command(root, path);
  ASSERT_NE(cmd, nullptr) << "no command arca " << path;
  std::string flag = f.flag;
  std::string long_name = flag.substr(flag.rfind("--"));
  const CLI::Option* option = nullptr;
  for (const auto* c = cmd; c != nullptr && option == nullptr; c = c->get_parent())
    option = c->get_option_no_throw(long_name);
  ASSERT_NE(option, nullptr) << where << ": missing";
  if (flag.rfind("-", 0) == 0 && flag[1] != '-')  // a short form: the same letter
    EXPECT_TRUE(option->check_sname(flag.substr(1, 1))) << where << ": short form";
  std::string type = f.type;
  bool takes_value = type != "bool" && type != "optionalBool[=true]";
  if (!(type == "optionalBool" && path != ""))  // --skip-immediately: bare means unset, `=true` sets it
    EXPECT_EQ(option->get_expected_min() > 0, takes_value) << where << ": value or not";
  std::string arca_type = option->get_type_name();
  arca_type = arca_type.substr(0, arca_type.find(':'));  // without a validator's description
  if (type != "enum") EXPECT_EQ(arca_type, type) << where << ": type";
  std::string key = path + " " + long_name;
  std::string expected = kDocumentedDefaults.count(key) ? kDocumentedDefaults.at(key) : f.value;
  if (expected == "*" && long_name == "--image") {
    EXPECT_FALSE(option->get_default_str().empty()) << where;
  } else if (type == "duration") {
    EXPECT_EQ(parse_duration(option->get_default_str()), parse_duration(expected)) << where << ": default";
  } else {
    EXPECT_EQ(option->get_default_str(), expected) << where << ": default";
  }
  // Accepted on a command line, with Velero's syntax for its type.
  auto args = words(path);
  for (const auto& a : base_args(path)) args.push_back(a);
  for (const auto& a : use(flag, type, f.value)) args.push_back(a);
  if (path.empty()) args.insert(args.end(), {"version", "--client-only"});  // root flags need a command
  auto parsed = parse(args);
  EXPECT_EQ(parsed.code, -1) << where << ": " << parsed.err << parsed.out;
}

TEST_F(VeleroParity, EveryVeleroFlagHasItsTypeAndDefault) {
  CLI::App root;
  cli::Cli state;
  cli::build_cli(root, state);
  std::map<std::string, int> per_path;
  for (const auto& f : kVeleroFlags) {
    check_flag(root, f.path, f);
    ++per_path[f.path];
    for (const auto& [alias, noun] : kAliases)
      if (noun == f.path) check_flag(root, alias, f);
  }
  // The counts of Velero's flags the table holds (Velero 1.18's: backup create 30, schedule create 32, install 58,
  // server 34; 1.19 adds one each to restore create, install and server: the default resource modifier; one to
  // backup and schedule create: --backup-type; one more to restore create: its resource policy).
  EXPECT_EQ(per_path["backup create"], 30 + 1);
  EXPECT_EQ(per_path["schedule create"], 32 + 1);
  EXPECT_EQ(per_path["restore create"], 26 + 2);
  EXPECT_EQ(per_path["install"], 58 + 1);
  EXPECT_EQ(per_path["server"], 34 + 1);
}

TEST_F(VeleroParity, BadValuesFailInOneLineNamingTheFlag) {
  auto ttl = parse({"backup", "create", "b1", "--ttl", "5x"});
  EXPECT_EQ(ttl.code, 1);
  EXPECT_EQ(ttl.err, "An error occurred: invalid argument for \"--ttl\" flag: time: unknown unit \"x\" in duration \"5x\"\n");
  auto flag = parse({"backup", "create", "b1", "--bogus"});
  EXPECT_EQ(flag.err, "An error occurred: unknown flag: --bogus\n");
  auto shorthand = parse({"backup", "get", "-Z"});
  EXPECT_EQ(shorthand.err, "An error occurred: unknown shorthand flag: 'Z' in -Z\n");
  auto server = parse({"server", "--garbage-collection-frequency", "soon"});
  EXPECT_EQ(server.code, 1);
  EXPECT_NE(server.err.find("--garbage-collection-frequency"), std::string::npos) << server.err;
  auto backup_type = parse({"schedule", "create", "s1", "--schedule", "@daily", "--backup-type", "Differential"});
  EXPECT_EQ(backup_type.code, 1);
  EXPECT_EQ(backup_type.err,
            "An error occurred: invalid argument \"Differential\" for \"--backup-type\" flag: must be Full or "
            "Incremental\n");
}

TEST_F(VeleroParity, BareNounsPrintHelpUnknownWordsAreNamed) {
  for (const auto& noun : {"backup", "restore", "schedule", "backup-location", "snapshot-location", "get", "describe",
                           "create", "delete", "client", "plugin"}) {
    auto p = parse({noun});
    EXPECT_EQ(p.code, 0) << noun;
    EXPECT_NE(p.out.find(std::string("Usage: arca ") + noun), std::string::npos) << p.out;
  }
  auto bare = parse({});
  EXPECT_EQ(bare.code, 0);
  EXPECT_NE(bare.out.find("Usage: arca"), std::string::npos);
  auto bogus = parse({"bogus"});
  EXPECT_EQ(bogus.code, 1);
  EXPECT_EQ(bogus.err, "An error occurred: unknown command \"bogus\" for \"arca\"\nRun 'arca --help' for usage.\n");
  auto deeper = parse({"backup", "craete"});
  EXPECT_NE(deeper.err.find("unknown command \"craete\" for \"arca backup\""), std::string::npos) << deeper.err;
  auto help = parse({"help", "schedule", "create"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("Usage: arca schedule create"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--ordered-resources"), std::string::npos);
}

// `--features=` is an empty list, not "take the next word" (the word after it is the command).
TEST_F(VeleroParity, EmptyFlagValueDoesNotSwallowTheNextWord) {
  auto p = parse({"--features=", "version", "--client-only"});
  EXPECT_EQ(p.code, -1) << p.err;
  // A stringArray takes one value per occurrence: the word after it is the backup's name.
  CLI::App root;
  cli::Cli state;
  cli::build_cli(root, state);
  std::ostringstream out, err;
  EXPECT_EQ(cli::parse_cli(root, state, {"backup", "create", "--include-namespaces", "app", "nightly", "-o", "json"},
                           out, err),
            -1)
      << err.str();
  auto* create = root.get_subcommand("backup")->get_subcommand("create");
  EXPECT_EQ(create->get_option("NAME")->as<std::string>(), "nightly");
}

}  // namespace
