// The client against a real kubelite process: discovery, every read and write, TLS with a token, a client
// certificate and an exec plugin, and the bad-input cases that must end in one clear line.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "kube/errors.h"
#include "kube/kube_test_support.h"

namespace arca::kube {
namespace {

using testing::Client;
using testing::config_from;
using testing::config_map;
using testing::namespace_object;

// Runs `body` and returns the KubeError it throws (failing the test when none is thrown).
template <typename F>
KubeError error_from(F body) {
  try {
    body();
  } catch (const KubeError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return e;
  }
  ADD_FAILURE() << "no KubeError was thrown";
  return KubeError(ErrorKind::UnknownServerError, "none");
}

class HttpClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    kubelite_ = new testsupport::Kubelite(testsupport::start_kubelite(*dir_));
  }
  static void TearDownTestSuite() {
    delete kubelite_;
    delete dir_;
  }
  void SetUp() override { client = std::make_unique<Client>(config_from(kubelite_->kubeconfig)); }

  // A fresh namespace per test keeps the tests independent.
  std::string make_namespace(const std::string& name) {
    client->dynamic.create(client->discovery.resolve("ns"), "", namespace_object(name));
    return name;
  }

  static testsupport::TempDir* dir_;
  static testsupport::Kubelite* kubelite_;
  std::unique_ptr<Client> client;
};
testsupport::TempDir* HttpClientTest::dir_ = nullptr;
testsupport::Kubelite* HttpClientTest::kubelite_ = nullptr;

TEST_F(HttpClientTest, DiscoveryUsesTheAggregatedDocumentAndResolvesLikeKubectl) {
  auto data = client->discovery.data();
  ASSERT_FALSE(data->groups.empty());
  EXPECT_EQ(data->groups.front().name, "");
  ApiResource deploy = client->discovery.resolve("deploy");
  EXPECT_EQ(deploy.group_version(), "apps/v1");
  EXPECT_EQ(deploy.kind, "Deployment");
  ASSERT_NE(deploy.subresource("scale"), nullptr);
  EXPECT_EQ(deploy.subresource("scale")->group, "autoscaling");
  EXPECT_EQ(client->discovery.resolve("deployments.apps").resource, "deployments");
  EXPECT_EQ(client->discovery.resolve("Deployment").resource, "deployments");
  EXPECT_EQ(client->discovery.resolve("po").resource, "pods");
  EXPECT_FALSE(client->discovery.resolve("ns").namespaced);
  KubeError e = error_from([&] { client->discovery.resolve("nosuchthing"); });
  EXPECT_EQ(e.kind(), ErrorKind::ResourceNotResolved);
  EXPECT_STREQ(e.what(), "error: the server doesn't have a resource type \"nosuchthing\"");
}

TEST_F(HttpClientTest, CreateGetUpdateAndTheirErrors) {
  std::string ns = make_namespace("crud");
  ApiResource cm = client->discovery.resolve("cm");
  nlohmann::json created = client->dynamic.create(cm, ns, config_map(ns, "one"));
  EXPECT_FALSE(created["metadata"]["uid"].get<std::string>().empty());
  nlohmann::json got = client->dynamic.get(cm, ns, "one");
  EXPECT_EQ(got["kind"], "ConfigMap");
  EXPECT_EQ(got["data"]["k"], "v");

  KubeError exists = error_from([&] { client->dynamic.create(cm, ns, config_map(ns, "one")); });
  EXPECT_TRUE(is_already_exists(exists));
  EXPECT_STREQ(exists.what(), "Error from server (AlreadyExists): configmaps \"one\" already exists");

  got["data"]["k"] = "v2";
  nlohmann::json updated = client->dynamic.update(cm, ns, got);
  EXPECT_EQ(updated["data"]["k"], "v2");
  EXPECT_NE(updated["metadata"]["resourceVersion"], got["metadata"]["resourceVersion"]);
  // `got` still carries the old resourceVersion: optimistic concurrency refuses it.
  KubeError conflict = error_from([&] { client->dynamic.update(cm, ns, got); });
  EXPECT_TRUE(is_conflict(conflict));
  EXPECT_NE(std::string(conflict.what()).find("the object has been modified"), std::string::npos);

  KubeError missing = error_from([&] { client->dynamic.get(cm, ns, "ghost"); });
  EXPECT_TRUE(is_not_found(missing));
  EXPECT_STREQ(missing.what(), "Error from server (NotFound): configmaps \"ghost\" not found");

  KubeError no_ns = error_from([&] { client->dynamic.create(cm, "no-such-ns", config_map("no-such-ns", "x")); });
  EXPECT_TRUE(is_not_found(no_ns));
  EXPECT_NE(std::string(no_ns.what()).find("namespaces \"no-such-ns\" not found"), std::string::npos);

  nlohmann::json unnamed = config_map(ns, "");
  unnamed["metadata"].erase("name");
  EXPECT_TRUE(is_invalid(error_from([&] { client->dynamic.create(cm, ns, unnamed); })));

  nlohmann::json with_rv = config_map(ns, "rv");
  with_rv["metadata"]["resourceVersion"] = "5";
  KubeError internal = error_from([&] { client->dynamic.create(cm, ns, with_rv); });
  EXPECT_EQ(internal.kind(), ErrorKind::InternalError);
  EXPECT_NE(std::string(internal.what()).find("resourceVersion should not be set"), std::string::npos);
}

TEST_F(HttpClientTest, PatchesOfEveryType) {
  std::string ns = make_namespace("patches");
  ApiResource cm = client->discovery.resolve("configmaps");
  client->dynamic.create(cm, ns, config_map(ns, "p", {{"a", "1"}, {"b", "2"}}));

  nlohmann::json merged =
      nlohmann::json::parse(client->dynamic.patch(cm, ns, "p", PatchType::Merge, R"({"metadata":{"labels":{"a":null}}})"));
  EXPECT_FALSE(merged["metadata"]["labels"].contains("a"));
  EXPECT_EQ(merged["metadata"]["labels"]["b"], "2");

  nlohmann::json replaced = nlohmann::json::parse(
      client->dynamic.patch(cm, ns, "p", PatchType::Json, R"([{"op":"replace","path":"/data/k","value":"json"}])"));
  EXPECT_EQ(replaced["data"]["k"], "json");
  EXPECT_TRUE(is_invalid(error_from([&] {
    client->dynamic.patch(cm, ns, "p", PatchType::Json, R"([{"op":"replace","path":"/data/missing","value":"x"}])");
  })));

  ApiResource deployments = client->discovery.resolve("deploy");
  client->dynamic.create(deployments, ns, testing::deployment("web"));
  nlohmann::json strategic = nlohmann::json::parse(client->dynamic.patch(
      deployments, ns, "web", PatchType::Strategic,
      R"({"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}})"));
  EXPECT_EQ(strategic["spec"]["template"]["spec"]["containers"].size(), 2u);  // merged by name, not replaced

  WriteOptions apply;
  apply.field_manager = "arca-test";
  nlohmann::json applied = nlohmann::json::parse(client->dynamic.patch(
      cm, ns, "applied", PatchType::Apply,
      R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"x":"1"}})", apply));
  EXPECT_EQ(applied["data"]["x"], "1");
  KubeError no_manager = error_from([&] {
    client->dynamic.patch(cm, ns, "applied", PatchType::Apply,
                          R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"}})");
  });
  EXPECT_TRUE(is_invalid(no_manager));
  ASSERT_FALSE(no_manager.causes().empty());
  EXPECT_EQ(no_manager.causes()[0].field, "fieldManager");

  WriteOptions other;
  other.field_manager = "someone-else";
  KubeError clash = error_from([&] {
    client->dynamic.patch(cm, ns, "applied", PatchType::Apply,
                          R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"x":"2"}})", other);
  });
  EXPECT_TRUE(is_conflict(clash));
  other.force = true;
  nlohmann::json forced = nlohmann::json::parse(client->dynamic.patch(
      cm, ns, "applied", PatchType::Apply,
      R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"x":"2"}})", other));
  EXPECT_EQ(forced["data"]["x"], "2");
}

TEST_F(HttpClientTest, StatusSubresourceDryRunDeleteAndDeleteCollection) {
  std::string ns = make_namespace("lifecycle");
  // An HPA: its status subresource has no controller in kubelite writing it concurrently (Deployments do, as in a
  // real cluster, which would race this test's resourceVersion).
  ApiResource hpas = client->discovery.resolve("horizontalpodautoscalers.autoscaling");
  nlohmann::json created = client->dynamic.create(hpas, ns, nlohmann::json::parse(R"({
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "st"},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
             "minReplicas": 1, "maxReplicas": 5}})"));
  created["status"] = {{"currentReplicas", 3}, {"desiredReplicas", 3}};
  created["spec"]["maxReplicas"] = 7;  // ignored by the status subresource
  nlohmann::json status = client->dynamic.update(hpas, ns, created, {}, "status");
  EXPECT_EQ(status["status"]["currentReplicas"], 3);
  EXPECT_EQ(status["spec"]["maxReplicas"], 5);
  nlohmann::json read_status = client->dynamic.get(hpas, ns, "st", "status");
  EXPECT_EQ(read_status["status"]["currentReplicas"], 3);
  nlohmann::json patched_status = nlohmann::json::parse(
      client->dynamic.patch(hpas, ns, "st", PatchType::Merge, R"({"status":{"currentReplicas":4}})", {}, "status"));
  EXPECT_EQ(patched_status["status"]["currentReplicas"], 4);

  ApiResource cm = client->discovery.resolve("cm");
  WriteOptions dry;
  dry.dry_run = true;
  nlohmann::json dry_created = client->dynamic.create(cm, ns, config_map(ns, "dry"), dry);
  EXPECT_EQ(dry_created["metadata"]["name"], "dry");
  EXPECT_TRUE(is_not_found(error_from([&] { client->dynamic.get(cm, ns, "dry"); })));

  nlohmann::json victim = client->dynamic.create(cm, ns, config_map(ns, "victim"));
  DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "00000000-0000-0000-0000-000000000000";
  KubeError precondition = error_from([&] { client->dynamic.remove(cm, ns, "victim", wrong_uid); });
  EXPECT_TRUE(is_conflict(precondition));
  EXPECT_NE(std::string(precondition.what()).find("Precondition failed"), std::string::npos);
  DeleteOptions dry_delete;
  dry_delete.dry_run = true;
  client->dynamic.remove(cm, ns, "victim", dry_delete);
  EXPECT_NO_THROW(client->dynamic.get(cm, ns, "victim"));
  DeleteOptions right_uid;
  right_uid.precondition_uid = victim["metadata"]["uid"];
  right_uid.propagation_policy = "Foreground";
  right_uid.grace_period_seconds = 0;
  client->dynamic.remove(cm, ns, "victim", right_uid);
  // Foreground deletion keeps the object under the foregroundDeletion finalizer until the garbage collector
  // has looked at its dependents, so it disappears shortly after the DELETE, not necessarily at once.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    try {
      client->dynamic.get(cm, ns, "victim");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } catch (const KubeError& e) {
      gone = is_not_found(e);
      if (!gone) throw;
    }
  }
  EXPECT_TRUE(gone) << "victim still exists 5 s after a Foreground delete";

  for (int i = 0; i < 6; ++i) {
    client->dynamic.create(cm, ns, config_map(ns, "bulk-" + std::to_string(i), {{"tier", i % 2 ? "odd" : "even"}}));
  }
  ListOptions odd;
  odd.label_selector = "tier=odd";
  client->dynamic.remove_collection(cm, ns, odd);
  std::vector<std::string> left;
  client->dynamic.list(cm, ns, {}, [&](const ListItem& item) {
    if (std::string(item.name).rfind("bulk-", 0) == 0) left.emplace_back(item.name);
  });
  EXPECT_EQ(left, (std::vector<std::string>{"bulk-0", "bulk-2", "bulk-4"}));
}

TEST_F(HttpClientTest, CustomResourcesAppearInDiscoveryAndListItemsKeepTheirKind) {
  ApiResource crds = client->discovery.resolve("crd");
  nlohmann::json crd = nlohmann::json::parse(R"j({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "shirts.stable.example.com"},
    "spec": {"group": "stable.example.com", "scope": "Namespaced",
             "names": {"plural": "shirts", "singular": "shirt", "kind": "Shirt", "shortNames": ["sh"]},
             "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": true}}}]}})j");
  client->dynamic.create(crds, "", crd);
  std::string ns = make_namespace("shirts");
  // The first resolve misses the cached discovery and re-reads it, as kubectl does after a CRD appears.
  ApiResource shirts;
  for (int i = 0; i < 50; ++i) {
    try {
      shirts = client->discovery.resolve("sh");
      break;
    } catch (const KubeError& e) {
      ASSERT_EQ(e.kind(), ErrorKind::ResourceNotResolved);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_EQ(shirts.group_version(), "stable.example.com/v1");
  EXPECT_EQ(shirts.kind, "Shirt");
  for (const char* name : {"red", "blue"}) {
    nlohmann::json shirt = nlohmann::json::parse(R"j({"apiVersion": "stable.example.com/v1", "kind": "Shirt",
                                                      "metadata": {"name": ""}, "spec": {"size": "M"}})j");
    shirt["metadata"]["name"] = name;
    shirt["spec"]["color"] = name;
    client->dynamic.create(shirts, ns, shirt);
  }
  std::vector<nlohmann::json> items;
  client->dynamic.list(shirts, ns, {}, [&](const ListItem& item) { items.push_back(item.parse()); });
  ASSERT_EQ(items.size(), 2u);
  for (const auto& item : items) {
    EXPECT_EQ(item["kind"], "Shirt");
    EXPECT_EQ(item["apiVersion"], "stable.example.com/v1");
  }
  KubeError refused = error_from([&] {
    client->dynamic.patch(shirts, ns, "red", PatchType::Strategic, R"({"spec":{"size":"L"}})");
  });
  EXPECT_EQ(refused.kind(), ErrorKind::UnsupportedMediaType);
}

TEST_F(HttpClientTest, RateLimiterSpacesRequestsLikeClientGo) {
  RestConfig config = config_from(kubelite_->kubeconfig);
  config.qps = 10;
  config.burst = 5;
  Transport transport(config);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 15; ++i) {
    HttpRequest request;
    request.path = "/version";
    EXPECT_EQ(transport.send(request).status, 200);
  }
  // 5 at once, then 10 more at 10/s: at least about one second.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
}

TEST(ConnectionErrors, UnreachableServerIsOneLineAndQuick) {
  testsupport::TempDir dir;
  int port = testsupport::free_port();
  std::ofstream(dir.file("config")) << "current-context: c\nclusters:\n- name: k\n  cluster: {server: \"http://127.0.0.1:"
                                    << port << "\"}\ncontexts:\n- name: c\n  context: {cluster: k}\n";
  RestConfig config = config_from(dir.file("config"));
  config.max_retries = 2;
  Client client(config);
  auto start = std::chrono::steady_clock::now();
  KubeError e = error_from([&] { client.discovery.data(); });
  EXPECT_EQ(e.kind(), ErrorKind::Connection);
  EXPECT_EQ(std::string(e.what()).rfind("Unable to connect to the server: ", 0), 0u) << e.what();
  EXPECT_NE(std::string(e.what()).find(std::to_string(port)), std::string::npos) << e.what();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// Over TLS: every way of proving who we are, and every way the server's identity can fail to check out.
class TlsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testsupport::TempDir();
    testsupport::KubeliteOptions options;
    options.tls = true;
    kubelite_ = new testsupport::Kubelite(testsupport::start_kubelite(*dir_, options));
  }
  static void TearDownTestSuite() {
    delete kubelite_;
    delete dir_;
  }
  // A kubeconfig naming kubelite's server and CA, with `user_yaml` as the user and `cluster_extra` added
  // to the cluster entry.
  std::string kubeconfig(const std::string& user_yaml, const std::string& cluster_extra = "") {
    std::string path = dir.file("config");
    std::ofstream(path) << "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: " << kubelite_->server
                        << "\n    certificate-authority: " << kubelite_->ca_file << "\n"
                        << cluster_extra << "users:\n- name: u\n  user:\n" << user_yaml
                        << "contexts:\n- name: c\n  context: {cluster: k, user: u}\n";
    return path;
  }
  int namespace_count(Client& client) {
    int n = 0;
    client.dynamic.list(client.discovery.resolve("namespaces"), "", {}, [&](const ListItem&) { ++n; });
    return n;
  }
  static testsupport::TempDir* dir_;
  static testsupport::Kubelite* kubelite_;
  testsupport::TempDir dir;
};
testsupport::TempDir* TlsClientTest::dir_ = nullptr;
testsupport::Kubelite* TlsClientTest::kubelite_ = nullptr;

TEST_F(TlsClientTest, BearerTokenFromTheKubeconfig) {
  Client client(config_from(kubelite_->kubeconfig));
  EXPECT_GE(namespace_count(client), 4);  // default, kube-system, kube-public, kube-node-lease
}

TEST_F(TlsClientTest, ClientCertificateContext) {
  RestConfig config = config_from(kubelite_->kubeconfig, "kubelite-cert");
  ASSERT_TRUE(config.user.token.empty());
  ASSERT_FALSE(config.user.client_certificate.empty());
  Client client(config);
  EXPECT_GE(namespace_count(client), 4);
}

TEST_F(TlsClientTest, ExecPluginTokenIsCachedAndRenewedAfter401) {
  // The plugin's first answer is a revoked token; after the server's 401 the client runs it again.
  std::string plugin = dir.file("plugin.sh");
  std::ofstream(plugin) << "#!/bin/sh\necho run >> " << dir.file("runs") << "\n"
                        << "if [ $(wc -l < " << dir.file("runs") << ") -eq 1 ]; then token=revoked; else token="
                        << kubelite_->token << "; fi\n"
                        << "echo '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
                           "\"status\":{\"token\":\"'$token'\",\"expirationTimestamp\":\"2200-01-01T00:00:00Z\"}}'\n";
  chmod(plugin.c_str(), 0755);
  Client client(config_from(kubeconfig("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                                       "      command: " + plugin + "\n      interactiveMode: Never\n")));
  EXPECT_GE(namespace_count(client), 4);
  EXPECT_GE(namespace_count(client), 4);
  EXPECT_EQ(testsupport::read_file(dir.file("runs")), "run\nrun\n");  // once revoked, once good, then cached
}

TEST_F(TlsClientTest, InvalidTokenIsUnauthorized) {
  Client client(config_from(kubeconfig("    token: not-the-token\n")));
  KubeError e = error_from([&] { client.discovery.data(); });
  EXPECT_TRUE(is_unauthorized(e));
  EXPECT_STREQ(e.what(), "error: You must be logged in to the server (Unauthorized)");
  EXPECT_EQ(std::string(e.what()).find("not-the-token"), std::string::npos);
}

TEST_F(TlsClientTest, WrongCertificateAuthorityIsATlsError) {
  // Another kubelite's CA did not sign this server's certificate.
  testsupport::TempDir other_dir;
  testsupport::KubeliteOptions options;
  options.tls = true;
  testsupport::Kubelite other = testsupport::start_kubelite(other_dir, options);
  std::string path = dir.file("config");
  std::ofstream(path) << "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: " << kubelite_->server
                      << "\n    certificate-authority: " << other.ca_file << "\nusers:\n- name: u\n  user: {token: "
                      << kubelite_->token << "}\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n";
  Client client(config_from(path));
  KubeError e = error_from([&] { client.discovery.data(); });
  EXPECT_EQ(e.kind(), ErrorKind::Tls) << e.what();
  EXPECT_EQ(std::string(e.what()).rfind("Unable to connect to the server: tls: ", 0), 0u) << e.what();
}

TEST_F(TlsClientTest, WrongTlsServerNameIsATlsErrorAndTheRightOneWorks) {
  Client wrong(config_from(kubeconfig("    token: " + kubelite_->token + "\n", "    tls-server-name: wrong.example\n")));
  KubeError e = error_from([&] { wrong.discovery.data(); });
  EXPECT_EQ(e.kind(), ErrorKind::Tls) << e.what();
  EXPECT_NE(std::string(e.what()).find("wrong.example"), std::string::npos) << e.what();
  // kubelite's certificate names localhost: connecting by IP with that name checks out.
  Client right(config_from(kubeconfig("    token: " + kubelite_->token + "\n", "    tls-server-name: localhost\n")));
  EXPECT_GE(namespace_count(right), 4);
}

TEST_F(TlsClientTest, InsecureSkipVerifyIsHonouredOnlyWhenAsked) {
  std::string path = dir.file("config");
  std::ofstream(path) << "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: " << kubelite_->server
                      << "\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user: {token: " << kubelite_->token
                      << "}\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n";
  Client insecure(config_from(path));
  EXPECT_GE(namespace_count(insecure), 4);
  // Without a CA and without the flag, the system trust store does not know kubelite's CA.
  std::ofstream(path) << "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: " << kubelite_->server
                      << "\nusers:\n- name: u\n  user: {token: " << kubelite_->token
                      << "}\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n";
  Client verifying(config_from(path));
  EXPECT_EQ(error_from([&] { verifying.discovery.data(); }).kind(), ErrorKind::Tls);
}

}  // namespace
}  // namespace arca::kube
