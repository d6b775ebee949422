// The console's HTTP API without a browser, against kubelite and `arca server --console-address` (real
// processes): the dry run of an encrypted backup decrypts the tarball with the key of the Secret the form names,
// as the restore would, and refuses in one line without a matching key.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "crypt/age.h"
#include "kube/config.h"
#include "kube/discovery.h"
#include "kube/dynamic.h"
#include "kube/transport.h"
#include "tests/support/kubelite_process.h"
#include "tests/support/process.h"

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(ConsoleApi, DryRunOfAnEncryptedBackupDecryptsWithTheNamedSecretOrRefusesInOneLine) {
  testsupport::TempDir dir;
  testsupport::Kubelite k = testsupport::start_kubelite(dir);
  std::string arca = testsupport::build_dir() + "/src/cli/arca";
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {arca, "--kubeconfig", k.kubeconfig});
    auto result = testsupport::run_command(args, dir, 60s);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return result.output;
  };
  cli({"install", "--crds-only"});
  arca::kube::LoadOptions load;
  load.kubeconfig = k.kubeconfig;
  arca::kube::Transport transport(arca::kube::load_config(load));
  arca::kube::Discovery discovery(transport);
  arca::kube::DynamicClient client(transport);
  auto core = [&](const std::string& r) { return discovery.lookup("", "v1", r); };
  for (const char* ns : {"velero", "app"})
    client.create(core("namespaces"), "", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
  client.create(core("configmaps"), "app",
                {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "settings"}}}, {"data", {{"color", "blue"}}}});
  auto key = arca::crypt::generate_age_identity(), other = arca::crypt::generate_age_identity();
  auto secret = [&](const std::string& name, const std::string& identity) {
    client.create(core("secrets"), "velero",
                  {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", name}}},
                   {"stringData", {{"key.txt", "# age\n" + identity + "\n"}}}});
  };
  secret("backup-key", key.identity);
  secret("other-key", other.identity);
  fs::create_directories(dir.file("store/bucket"));
  cli({"backup-location", "create", "default", "--provider", "local", "--bucket", "bucket", "--config",
       "root=" + dir.file("store") + ",encryptionRecipients=" + key.recipient, "--default"});

  int port = testsupport::free_port();
  testsupport::ChildProcess server({arca, "server", "--kubeconfig", k.kubeconfig, "--store-validation-frequency", "1s",
                                    "--metrics-address", "127.0.0.1:0", "--console-address",
                                    "127.0.0.1:" + std::to_string(port)},
                                   dir.file("server.log"));
  ASSERT_TRUE(testsupport::wait_for_port(port, 15s)) << server.log();
  auto bsl = discovery.lookup("velero.io", "v1", "backupstoragelocations");
  ASSERT_TRUE(testsupport::eventually([&] {
    return client.get(bsl, "velero", "default").value("/status/phase"_json_pointer, std::string()) == "Available";
  }, 10s)) << server.log();
  cli({"backup", "create", "sealed", "--include-namespaces", "app", "--wait"});
  auto backup = client.get(discovery.lookup("velero.io", "v1", "backups"), "velero", "sealed");
  ASSERT_EQ(backup.value("/status/phase"_json_pointer, std::string()), "Completed") << server.log();
  ASSERT_EQ(backup.value("/metadata/annotations/arca.dev~1encrypted-to"_json_pointer, std::string()), key.recipient);

  httplib::Client console("127.0.0.1", port);
  console.set_read_timeout(60, 0);
  auto login = console.Post("/api/login", json({{"token", k.token}}).dump(), "application/json");
  ASSERT_TRUE(login && login->status == 200) << (login ? login->body : "no answer") << server.log();
  std::string cookie = login->get_header_value("Set-Cookie");
  cookie = cookie.substr(0, cookie.find(';'));
  httplib::Headers headers = {{"Cookie", cookie}, {"X-CSRF-Token", json::parse(login->body).value("csrf", "")}};
  auto dry_run = [&](json form) {
    form["backup"] = "sealed";
    form["dryRun"] = true;
    form["namespaceMappings"] = "app:app-copy";
    auto r = console.Post("/api/restores", headers, form.dump(), "application/json");
    EXPECT_TRUE(r) << server.log();
    return std::make_pair(r ? r->status : 0, r ? json::parse(r->body, nullptr, false) : json());
  };
  auto one_line = [](const json& answer) {
    std::string message = answer.value("error", answer.value("message", ""));
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  };

  // No key named: refused, saying the backup is encrypted and what to give.
  auto [no_key, no_key_answer] = dry_run({});
  EXPECT_EQ(no_key, 400) << no_key_answer.dump();
  EXPECT_NE(one_line(no_key_answer).find("is encrypted"), std::string::npos) << no_key_answer.dump();
  EXPECT_NE(one_line(no_key_answer).find("decryption key"), std::string::npos) << no_key_answer.dump();
  // A key of another recipient, a Secret that does not exist.
  auto [wrong, wrong_answer] = dry_run({{"decryptionKeySecret", "other-key"}});
  EXPECT_EQ(wrong, 400) << wrong_answer.dump();
  EXPECT_NE(one_line(wrong_answer).find("none of the 1 decryption keys given matches"), std::string::npos)
      << wrong_answer.dump();
  auto [missing, missing_answer] = dry_run({{"decryptionKeySecret", "no-such-secret"}});
  EXPECT_EQ(missing, 400) << missing_answer.dump();
  EXPECT_NE(one_line(missing_answer).find("no-such-secret"), std::string::npos) << missing_answer.dump();
  EXPECT_EQ(server.log().find(key.identity), std::string::npos) << "a key reached the log";

  // The right Secret: the dry run reads the decrypted tarball and says what the restore would create.
  auto [ok, answer] = dry_run({{"decryptionKeySecret", "backup-key"}});
  ASSERT_EQ(ok, 200) << answer.dump() << server.log();
  bool settings = false;
  for (const auto& item : answer["items"])
    if (item.value("id", "").find("app-copy/settings") != std::string::npos) {
      settings = true;
      EXPECT_EQ(item.value("verdict", ""), "would create") << item.dump();
    }
  EXPECT_TRUE(settings) << answer.dump();
  EXPECT_TRUE(answer["errors"].empty()) << answer.dump();
  // A dry run changes nothing.
  EXPECT_THROW(client.get(core("namespaces"), "", "app-copy"), std::exception);
}

}  // namespace
