// The web console end to end: kubelite (TLS, RBAC, two more users from a token file), `arca server
// --console-address` and headless Chromium driven by playwright-core (console_e2e.mjs), all real processes.
// This file sets the cluster up, runs the browser script, then checks in the cluster what the UI did.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "kube/config.h"
#include "kube/discovery.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/transport.h"
#include "tests/support/kubelite_process.h"
#include "tests/support/process.h"
#include "util/timestamp.h"

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kViewerToken = "console-e2e-viewer-token";

// run_command's exit status and combined output; `env` as NAME=VALUE through env(1).
std::pair<int, std::string> run(const testsupport::TempDir& dir, std::vector<std::string> argv, std::chrono::seconds limit,
                                const std::map<std::string, std::string>& env = {}) {
  if (!env.empty()) {
    std::vector<std::string> prefix = {"env"};
    for (const auto& [name, value] : env) prefix.push_back(name + "=" + value);
    argv.insert(argv.begin(), prefix.begin(), prefix.end());
  }
  auto result = testsupport::run_command(argv, dir, limit);
  return {result.exit_code, result.output};
}

class ConsoleE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/chromium")) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh)";
    if (!fs::exists(testsupport::source_dir() + "/node_modules/playwright-core"))
      GTEST_SKIP() << "playwright-core is not installed (npm install)";
  }
};

TEST_F(ConsoleE2E, SignInWatchBackupsDryRunRestoreAndRbac) {
  testsupport::TempDir dir;
  std::ofstream(dir.file("tokens.csv")) << kViewerToken << ",viewer,viewer-uid,\"console-viewers\"\n";
  testsupport::KubeliteOptions kubelite_options;
  kubelite_options.tls = true;
  kubelite_options.extra_args = {"--token-auth-file", dir.file("tokens.csv")};
  testsupport::Kubelite k = testsupport::start_kubelite(dir, kubelite_options);
  std::string arca = testsupport::build_dir() + "/src/cli/arca";
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {arca, "--kubeconfig", k.kubeconfig});
    auto [code, out] = run(dir, args, 60s);
    EXPECT_EQ(code, 0) << out;
    return out;
  };
  cli({"install", "--crds-only"});

  arca::kube::LoadOptions load;
  load.kubeconfig = k.kubeconfig;
  arca::kube::Transport transport(arca::kube::load_config(load));
  arca::kube::Discovery discovery(transport);
  arca::kube::DynamicClient client(transport);
  auto core = [&](const std::string& r) { return discovery.lookup("", "v1", r); };
  auto velero = [&](const std::string& r) { return discovery.lookup("velero.io", "v1", r); };
  auto rbac = [&](const std::string& r) { return discovery.lookup("rbac.authorization.k8s.io", "v1", r); };

  client.create(core("namespaces"), "", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "velero"}}}});
  fs::create_directories(dir.file("store/bucket"));
  cli({"backup-location", "create", "default", "--provider", "local", "--bucket", "bucket", "--config",
       "root=" + dir.file("store"), "--default"});

  // The application, and a user (group console-viewers) who may only read backups.
  client.create(core("namespaces"), "", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "app"}}}});
  client.create(core("configmaps"), "app",
                {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "settings"}}},
                 {"data", {{"color", "blue"}, {"size", "m"}}}});
  client.create(core("secrets"), "app",
                {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "db"}}},
                 {"data", {{"password", "czNjcjN0LXZhbHVl"}}}});  // "s3cr3t-value"
  client.create(rbac("roles"), "velero",
                {{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "Role"}, {"metadata", {{"name", "backup-reader"}}},
                 {"rules", {{{"apiGroups", {"velero.io"}}, {"resources", {"backups"}}, {"verbs", {"get", "list", "watch"}}}}}});
  client.create(rbac("rolebindings"), "velero",
                {{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "RoleBinding"},
                 {"metadata", {{"name", "backup-readers"}}},
                 {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", "backup-reader"}}},
                 {"subjects", {{{"kind", "Group"}, {"name", "console-viewers"}, {"apiGroup", "rbac.authorization.k8s.io"}}}}});

  // kubelite's RBAC as the real kubectl sees it: the viewer may read backups, not create them or read Secrets.
  auto kubectl_as_viewer = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"kubectl", "--kubeconfig", k.kubeconfig, "--token", kViewerToken});
    return run(dir, args, 30s);
  };
  EXPECT_EQ(kubectl_as_viewer({"auth", "can-i", "list", "backups.velero.io", "-n", "velero"}).second, "yes\n");
  EXPECT_EQ(kubectl_as_viewer({"auth", "can-i", "create", "backups.velero.io", "-n", "velero"}).second, "no\n");
  auto [secret_code, secret_out] = kubectl_as_viewer({"get", "secret", "db", "-n", "app", "-o", "json"});
  EXPECT_NE(secret_code, 0);
  EXPECT_NE(secret_out.find("Forbidden"), std::string::npos) << secret_out;
  EXPECT_EQ(secret_out.find("czNjcjN0LXZhbHVl"), std::string::npos);

  int port = testsupport::free_port();
  testsupport::ChildProcess server({arca, "server", "--kubeconfig", k.kubeconfig, "--store-validation-frequency", "1s",
                                    "--metrics-address", "127.0.0.1:0", "--console-address",
                                    "127.0.0.1:" + std::to_string(port)},
                                   dir.file("server.log"));
  ASSERT_TRUE(testsupport::wait_for_port(port, 15s)) << server.log();
  ASSERT_TRUE(testsupport::eventually([&] {
    return client.get(velero("backupstoragelocations"), "velero", "default").value("/status/phase"_json_pointer,
                                                                                  std::string()) == "Available";
  }, 10s)) << server.log();
  cli({"backup", "create", "first", "--include-namespaces", "app", "--wait"});
  ASSERT_EQ(client.get(velero("backups"), "velero", "first").value("/status/phase"_json_pointer, std::string()), "Completed");

  // 1,000 more finished backups for the load-time measurement (no storage-location label: backup sync leaves
  // them alone).
  for (int i = 0; i < 1000; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "seeded-%04d", i);
    client.create(velero("backups"), "velero",
                  {{"apiVersion", "velero.io/v1"}, {"kind", "Backup"}, {"metadata", {{"name", name}}},
                   {"spec", {{"includedNamespaces", {"app"}}, {"storageLocation", "default"}, {"ttl", "720h0m0s"}}},
                   {"status", {{"phase", i % 97 == 0 ? "PartiallyFailed" : "Completed"},
                               {"startTimestamp", "2026-01-01T00:00:00Z"}, {"completionTimestamp", "2026-01-01T00:01:00Z"},
                               {"expiration", "2099-01-01T00:00:00Z"}, {"warnings", i % 7},
                               {"progress", {{"totalItems", 10 + i}, {"itemsBackedUp", 10 + i}}}}}});
  }

  // A schedule with a failed run yesterday and a good one today, for its calendar; `first` verified.
  client.create(velero("schedules"), "velero",
                {{"apiVersion", "velero.io/v1"}, {"kind", "Schedule"}, {"metadata", {{"name", "hourly"}}},
                 {"spec", {{"schedule", "0 * * * *"}, {"paused", true}, {"template", {{"includedNamespaces", {"app"}}}}}}});
  for (auto [name, phase, hours_ago] : {std::tuple{"hourly-today", "Completed", 0}, std::tuple{"hourly-yesterday", "Failed", 24}}) {
    std::string started = arca::format_rfc3339(arca::now_seconds() - std::chrono::hours(hours_ago));
    client.create(velero("backups"), "velero",
                  {{"apiVersion", "velero.io/v1"}, {"kind", "Backup"},
                   {"metadata", {{"name", name}, {"labels", {{"velero.io/schedule-name", "hourly"}}}}},
                   {"spec", {{"includedNamespaces", {"app"}}, {"storageLocation", "default"}}},
                   {"status", {{"phase", phase}, {"startTimestamp", started}, {"completionTimestamp", started}}}});
  }
  json verified = {{"request", "e2e"}, {"result", "Verified"}, {"message", "backup first verified: signature valid"},
                   {"time", arca::format_rfc3339(arca::now_seconds())}};
  client.patch(velero("backups"), "velero", "first", arca::kube::PatchType::Merge,
               json{{"metadata", {{"annotations", {{"arca.dev/verification", verified.dump()}}}}}}.dump());

  fs::create_directories(testsupport::source_dir() + "/docs");
  auto [code, out] = run(dir, {"node", testsupport::source_dir() + "/src/console/console_e2e.mjs"}, 150s,
                         {{"CONSOLE_URL", "http://127.0.0.1:" + std::to_string(port) + "/"},
                          {"ADMIN_TOKEN", k.token},
                          {"VIEWER_TOKEN", kViewerToken},
                          {"KUBECONFIG", k.kubeconfig},
                          {"BACKUPS_LISTED", "1001"},
                          {"SCREENSHOT", testsupport::source_dir() + "/docs/console.png"},
                          {"PROFILE_DIR", dir.file("chromium-profile")}});
  std::cout << out;
  ASSERT_EQ(code, 0) << out << "\n--- server log\n" << server.log();

  // What the UI did, as the cluster sees it: the same objects the CLI makes. A fresh connection: kubelite has
  // closed the idle one while the browser ran, and arca's client does not retry a send on a dead connection.
  arca::kube::Transport fresh(arca::kube::load_config(load));
  arca::kube::DynamicClient after(fresh);
  json ui_backup = after.get(velero("backups"), "velero", "ui-backup");
  EXPECT_EQ(ui_backup.value("/status/phase"_json_pointer, std::string()), "Completed");
  EXPECT_EQ(ui_backup["spec"]["includedNamespaces"], json({"app"}));
  bool restored = false;
  after.list(velero("restores"), "velero", {}, [&](const arca::kube::ListItem& item) {
    json r = item.parse();
    if (r.value("/spec/backupName"_json_pointer, std::string()) == "first" &&
        r.value("/spec/namespaceMapping/app"_json_pointer, std::string()) == "app-copy")
      restored = r.value("/status/phase"_json_pointer, std::string()) == "Completed";
  });
  EXPECT_TRUE(restored);
  EXPECT_EQ(after.get(core("configmaps"), "app-copy", "settings")["data"]["color"], "blue");
  json schedule = after.get(velero("schedules"), "velero", "nightly");
  EXPECT_TRUE(schedule["spec"].value("paused", false));
  EXPECT_EQ(schedule["spec"]["template"]["includedNamespaces"], json({"app"}));
  EXPECT_EQ(schedule["metadata"]["annotations"]["arca.dev/keep-last-backups"], "3");
  EXPECT_THROW(after.get(velero("backups"), "velero", "seeded-0001"), arca::kube::KubeError);  // deleted from the UI
  // The dry run changed nothing; the read-only user created nothing.
  EXPECT_EQ(after.get(core("configmaps"), "app", "settings")["data"]["color"], "green");
  EXPECT_THROW(after.get(velero("backups"), "velero", "viewer-backup"), arca::kube::KubeError);
  // No Secret value in anything the server logged.
  EXPECT_EQ(server.log().find("czNjcjN0LXZhbHVl"), std::string::npos);

  // With a certificate the console speaks only HTTPS, and its session cookie is Secure.
  server.stop();
  auto [made, openssl_out] = run(dir, {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.file("key.pem"),
                                  "-out", dir.file("cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                                  "subjectAltName=IP:127.0.0.1"},
                                 30s);
  ASSERT_EQ(made, 0) << openssl_out;
  int tls_port = testsupport::free_port();
  testsupport::ChildProcess tls_server({arca, "server", "--kubeconfig", k.kubeconfig, "--metrics-address", "127.0.0.1:0",
                                        "--console-address", "127.0.0.1:" + std::to_string(tls_port), "--console-tls-cert",
                                        dir.file("cert.pem"), "--console-tls-key", dir.file("key.pem")},
                                       dir.file("tls-server.log"));
  ASSERT_TRUE(testsupport::wait_for_port(tls_port, 20s)) << tls_server.log();
  std::string https = "https://127.0.0.1:" + std::to_string(tls_port);
  auto curl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"curl", "-sS", "-i", "--max-time", "10", "--cacert", dir.file("cert.pem")});
    return run(dir, args, 20s);
  };
  auto [page_code, page] = curl({https + "/"});
  EXPECT_EQ(page_code, 0) << page;
  EXPECT_NE(page.find("Content-Security-Policy: default-src 'none'"), std::string::npos) << page;
  EXPECT_NE(page.find("/assets/app.js"), std::string::npos) << page;
  auto [plain_code, plain] = curl({"http://127.0.0.1:" + std::to_string(tls_port) + "/api/session"});
  EXPECT_EQ(plain.find("HTTP/1.1 200"), std::string::npos) << plain;  // no plain HTTP on the TLS port
  auto [wrong_code, wrong] = curl({"-H", "Content-Type: application/json", "--data", R"({"token":"wrong"})", https + "/api/login"});
  EXPECT_NE(wrong.find("HTTP/1.1 401"), std::string::npos) << wrong;
  auto [login_code, login] =
      curl({"-H", "Content-Type: application/json", "--data", json({{"token", k.token}}).dump(), https + "/api/login"});
  EXPECT_NE(login.find("HTTP/1.1 200"), std::string::npos) << login;
  EXPECT_NE(login.find("HttpOnly; SameSite=Strict; Max-Age=28800; Secure"), std::string::npos) << login;
  EXPECT_EQ(login.find(k.token), std::string::npos) << "the token came back";
  // A cross-site sign-in (another Origin) is refused before the token is even checked.
  auto [cross_code, cross] = curl({"-H", "Content-Type: application/json", "-H", "Origin: https://evil.example", "--data",
                                   json({{"token", k.token}}).dump(), https + "/api/login"});
  EXPECT_NE(cross.find("HTTP/1.1 403"), std::string::npos) << cross;
}

}  // namespace
