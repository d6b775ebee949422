// kubeconfig loading (client-go's merge rules), in-cluster config and exec credential plugins.
#include "kube/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "kube/credentials.h"
#include "kube/errors.h"
#include "tests/support/process.h"

namespace arca::kube {
namespace {

LoadOptions opts(const std::string& kubeconfig, const std::string& context = "", const std::string& ns = "") {
  LoadOptions options;
  options.kubeconfig = kubeconfig;
  options.context = context;
  options.namespace_override = ns;
  return options;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string read(const std::string& path) { return testsupport::read_file(path); }

// Each test starts without the caller's KUBECONFIG or HOME leaking in.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    setenv("HOME", dir.path().c_str(), 1);
  }
  // Throws the KubeError's line so that EXPECT_THROW-style checks can look at it.
  std::string error_of(const LoadOptions& options) {
    try {
      load_config(options);
    } catch (const KubeError& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Config);
      return e.what();
    }
    ADD_FAILURE() << "no error";
    return "";
  }
  testsupport::TempDir dir;
};

const char* kFirst = R"(apiVersion: v1
kind: Config
clusters:
- name: shared
  cluster:
    server: https://first.example:6443
    certificate-authority: certs/ca.pem
- name: only-first
  cluster:
    server: https://only-first.example
users:
- name: alice
  user:
    token: first-token
contexts:
- name: one
  context: {cluster: shared, user: alice, namespace: team-a}
)";

const char* kSecond = R"(apiVersion: v1
kind: Config
current-context: two
clusters:
- name: shared
  cluster:
    server: https://second.example:6443
- name: other
  cluster:
    server: https://other.example
    insecure-skip-tls-verify: true
    tls-server-name: api.internal
    proxy-url: http://proxy.example:3128
users:
- name: alice
  user:
    token: second-token
- name: bob
  user:
    username: bob
    password: secret
contexts:
- name: one
  context: {cluster: other, user: bob}
- name: two
  context: {cluster: other, user: bob}
)";

const char* kThird = R"(current-context: three
contexts:
- name: three
  context: {cluster: shared, user: alice}
)";

TEST_F(ConfigTest, KubeconfigListMergesFirstDefinitionWins) {
  std::filesystem::create_directories(dir.file("a/certs"));
  std::filesystem::create_directories(dir.file("b"));
  write(dir.file("a/certs/ca.pem"), "-----BEGIN CERTIFICATE-----\nfirst\n-----END CERTIFICATE-----\n");
  write(dir.file("a/config"), kFirst);
  write(dir.file("b/config"), kSecond);
  write(dir.file("c"), kThird);
  std::string list = dir.file("a/config") + ":" + dir.file("missing") + ":" + dir.file("b/config") + ":" + dir.file("c");
  setenv("KUBECONFIG", list.c_str(), 1);

  // current-context comes from the first file that sets it (the second), not the last.
  RestConfig config = load_config();
  EXPECT_EQ(config.context, "two");
  EXPECT_EQ(config.cluster.server, "https://other.example");
  EXPECT_TRUE(config.cluster.insecure_skip_tls_verify);
  EXPECT_EQ(config.cluster.tls_server_name, "api.internal");
  EXPECT_EQ(config.cluster.proxy_url, "http://proxy.example:3128");
  EXPECT_EQ(config.user.username, "bob");
  EXPECT_EQ(config.user.password, "secret");
  EXPECT_EQ(config.namespace_name, "default");

  // Context "one" and cluster "shared" and user "alice" exist in two files: the first file's win, and
  // its relative certificate-authority path resolves against that file's directory.
  config = load_config(opts("", "one"));
  EXPECT_EQ(config.cluster.server, "https://first.example:6443");
  EXPECT_EQ(config.cluster.certificate_authority, read(dir.file("a/certs/ca.pem")));
  EXPECT_EQ(config.user.token, "first-token");
  EXPECT_EQ(config.namespace_name, "team-a");

  config = load_config(opts("", "one", "ops"));
  EXPECT_EQ(config.namespace_name, "ops");
}

TEST_F(ConfigTest, ExplicitKubeconfigIgnoresTheEnvironment) {
  write(dir.file("first"), kFirst);
  write(dir.file("third"), std::string(kThird) + "clusters:\n- name: shared\n  cluster: {server: https://x.example}\n"
                                                  "users:\n- name: alice\n  user: {token: t3}\n");
  setenv("KUBECONFIG", dir.file("first").c_str(), 1);
  RestConfig config = load_config(opts(dir.file("third")));
  EXPECT_EQ(config.context, "three");
  EXPECT_EQ(config.cluster.server, "https://x.example");
  EXPECT_EQ(config.user.token, "t3");
}

TEST_F(ConfigTest, HomeKubeconfigIsTheDefault) {
  std::filesystem::create_directories(dir.file(".kube"));
  write(dir.file(".kube/config"), std::string(kSecond));
  EXPECT_EQ(load_config().cluster.server, "https://other.example");
}

TEST_F(ConfigTest, InlineDataIsBase64Decoded) {
  write(dir.file("config"), R"(current-context: c
clusters:
- name: k
  cluster: {server: "https://k.example", certificate-authority-data: "Y2EtcGVt"}
users:
- name: u
  user: {client-certificate-data: "Y2VydC1wZW0=", client-key-data: "a2V5LXBlbQ=="}
contexts:
- name: c
  context: {cluster: k, user: u}
)");
  RestConfig config = load_config(opts(dir.file("config")));
  EXPECT_EQ(config.cluster.certificate_authority, "ca-pem");
  EXPECT_EQ(config.user.client_certificate, "cert-pem");
  EXPECT_EQ(config.user.client_key, "key-pem");
}

TEST_F(ConfigTest, CredentialsAreNotSentToPlainHttpServers) {
  write(dir.file("config"), R"(current-context: c
clusters:
- name: k
  cluster: {server: "http://127.0.0.1:8080"}
users:
- name: u
  user: {token: "must-not-travel"}
contexts:
- name: c
  context: {cluster: k, user: u}
)");
  RestConfig config = load_config(opts(dir.file("config")));
  EXPECT_TRUE(config.user.token.empty());
}

TEST_F(ConfigTest, BadInputGivesOneLineNamingTheProblem) {
  std::string missing = dir.file("nope");
  std::string line = error_of(opts(missing));
  EXPECT_NE(line.find(missing), std::string::npos) << line;
  EXPECT_NE(line.find("No such file"), std::string::npos) << line;

  write(dir.file("broken"), "clusters:\n- name: x\n  cluster: {server: [\n");
  line = error_of(opts(dir.file("broken")));
  EXPECT_NE(line.find("error loading config file \"" + dir.file("broken") + "\": yaml: line"), std::string::npos) << line;

  write(dir.file("ok"), kSecond);
  line = error_of(opts(dir.file("ok"), "ghost"));
  EXPECT_EQ(line.rfind("error: context \"ghost\" does not exist", 0), 0u) << line;

  write(dir.file("insecure"), R"(current-context: c
clusters:
- name: k
  cluster: {server: "https://k", insecure-skip-tls-verify: true, certificate-authority-data: "Y2E="}
contexts:
- name: c
  context: {cluster: k}
)");
  line = error_of(opts(dir.file("insecure")));
  EXPECT_NE(line.find("insecure flag is not allowed"), std::string::npos) << line;

  write(dir.file("unreadable-ca"), R"(current-context: c
clusters:
- name: k
  cluster: {server: "https://k", certificate-authority: "no/such/ca.crt"}
contexts:
- name: c
  context: {cluster: k}
)");
  line = error_of(opts(dir.file("unreadable-ca")));
  EXPECT_NE(line.find(dir.file("no/such/ca.crt")), std::string::npos) << line;

  write(dir.file("provider"), R"(current-context: c
clusters:
- name: k
  cluster: {server: "https://k"}
users:
- name: u
  user: {auth-provider: {name: gcp}}
contexts:
- name: c
  context: {cluster: k, user: u}
)");
  line = error_of(opts(dir.file("provider")));
  EXPECT_NE(line.find("auth-provider \"gcp\", which is not supported"), std::string::npos) << line;

  line = error_of({});  // no file at all, not in a cluster
  EXPECT_NE(line.find("no kubeconfig found"), std::string::npos) << line;
  for (const std::string& l : {line}) EXPECT_EQ(l.find('\n'), std::string::npos);
}

TEST_F(ConfigTest, InClusterConfigFromServiceAccountFiles) {
  std::string root = dir.file("sa");
  std::filesystem::create_directories(root);
  write(root + "/token", "sa-token\n");
  write(root + "/ca.crt", "sa-ca");
  write(root + "/namespace", "velero");
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  // No kubeconfig anywhere: load_config falls back to the in-cluster config, as client-go does.
  RestConfig config = load_config([&] {
    LoadOptions options;
    options.in_cluster_root = root;
    return options;
  }());
  EXPECT_EQ(config.cluster.server, "https://10.96.0.1:443");
  EXPECT_EQ(config.cluster.certificate_authority, "sa-ca");
  EXPECT_EQ(config.namespace_name, "velero");
  EXPECT_EQ(CredentialProvider(config).current().bearer_token, "sa-token");

  setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  EXPECT_EQ(in_cluster_config(root).cluster.server, "https://[fd00::1]:443");
  unsetenv("KUBERNETES_SERVICE_PORT");
  EXPECT_THROW(in_cluster_config(root), KubeError);
}

TEST_F(ConfigTest, TokenFileIsReadAndRereadAfterInvalidate) {
  write(dir.file("token"), "one\n");
  write(dir.file("config"), R"(current-context: c
clusters:
- name: k
  cluster: {server: "https://k"}
users:
- name: u
  user: {token: inline, tokenFile: token}
contexts:
- name: c
  context: {cluster: k, user: u}
)");
  CredentialProvider creds(load_config(opts(dir.file("config"))));
  EXPECT_EQ(creds.current().bearer_token, "one");
  write(dir.file("token"), "two\n");
  EXPECT_EQ(creds.current().bearer_token, "one");  // cached for a minute, like client-go
  creds.invalidate();
  EXPECT_EQ(creds.current().bearer_token, "two");
}

// An exec plugin that counts its runs in a file and prints a token built from its args and env.
class ExecPluginTest : public ConfigTest {
 protected:
  void SetUp() override {
    ConfigTest::SetUp();
    std::filesystem::create_directories(dir.file("bin"));
    write(dir.file("bin/plugin"), R"(#!/bin/sh
count_file="$1"; shift
echo run >> "$count_file"
case "$KUBERNETES_EXEC_INFO" in *'"interactive":false'*) ;; *) echo "bad exec info" >&2; exit 3;; esac
printf '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"%s-%s"%s}}' "$1" "$PLUGIN_SUFFIX" "$EXPIRY"
)");
    chmod(dir.file("bin/plugin").c_str(), 0755);
  }
  std::string kubeconfig(const std::string& expiry_json, const std::string& extra = "interactiveMode: Never") {
    std::string path = dir.file("config");
    write(path, "current-context: c\nclusters:\n- name: k\n  cluster: {server: \"https://k\"}\n"
                "users:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                "      command: ./bin/plugin\n      args: [\"" + dir.file("runs") + "\", \"tok\"]\n"
                "      env: [{name: PLUGIN_SUFFIX, value: abc}, {name: EXPIRY, value: '" + expiry_json + "'}]\n"
                "      installHint: install the plugin\n      " + extra + "\n"
                "contexts:\n- name: c\n  context: {cluster: k, user: u}\n");
    return path;
  }
  size_t runs() {
    std::ifstream in(dir.file("runs"));
    size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }
};

TEST_F(ExecPluginTest, CachesUntilExpiryAndRerunsAfterInvalidate) {
  CredentialProvider creds(load_config(opts(kubeconfig(",\"expirationTimestamp\":\"2999-01-01T00:00:00Z\""))));
  EXPECT_EQ(runs(), 0u);  // nothing runs before the first request
  EXPECT_EQ(creds.current().bearer_token, "tok-abc");
  EXPECT_EQ(creds.current().bearer_token, "tok-abc");
  EXPECT_EQ(runs(), 1u);
  creds.invalidate();  // what the transport does on a 401
  EXPECT_EQ(creds.current().bearer_token, "tok-abc");
  EXPECT_EQ(runs(), 2u);
}

TEST_F(ExecPluginTest, ExpiredCredentialsRunThePluginAgain) {
  CredentialProvider creds(load_config(opts(kubeconfig(",\"expirationTimestamp\":\"2001-01-01T00:00:00Z\""))));
  creds.current();
  creds.current();
  creds.current();
  EXPECT_EQ(runs(), 3u);
}

TEST_F(ExecPluginTest, V1beta1DefaultsAndClusterInfo) {
  // v1beta1 needs no interactiveMode (IfAvailable); provideClusterInfo hands the plugin the cluster.
  write(dir.file("bin/info"), R"(#!/bin/sh
echo "$KUBERNETES_EXEC_INFO" > "$1"
printf '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"beta"}}'
)");
  chmod(dir.file("bin/info").c_str(), 0755);
  write(dir.file("config"), "current-context: c\nclusters:\n- name: k\n  cluster: {server: \"https://k.example:6443\", "
                            "certificate-authority-data: \"Y2EtcGVt\"}\nusers:\n- name: u\n  user:\n    exec:\n"
                            "      apiVersion: client.authentication.k8s.io/v1beta1\n      command: bin/info\n"
                            "      args: [\"" + dir.file("info.json") + "\"]\n      provideClusterInfo: true\n"
                            "contexts:\n- name: c\n  context: {cluster: k, user: u}\n");
  RestConfig config = load_config(opts(dir.file("config")));
  EXPECT_EQ(config.user.exec->interactive_mode, "IfAvailable");
  EXPECT_EQ(CredentialProvider(config).current().bearer_token, "beta");
  std::string info = read(dir.file("info.json"));
  EXPECT_NE(info.find(R"("apiVersion":"client.authentication.k8s.io/v1beta1")"), std::string::npos) << info;
  EXPECT_NE(info.find(R"("server":"https://k.example:6443")"), std::string::npos) << info;
  EXPECT_NE(info.find(R"("certificate-authority-data":"Y2EtcGVt")"), std::string::npos) << info;
}

TEST_F(ExecPluginTest, PluginFailuresAreOneLine) {
  auto failure = [&](const std::string& path) {
    try {
      CredentialProvider(load_config(opts(path))).current();
    } catch (const KubeError& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // interactiveMode is mandatory in client.authentication.k8s.io/v1.
  std::string line = error_of(opts(kubeconfig("", "provideClusterInfo: false")));
  EXPECT_NE(line.find("interactiveMode must be specified"), std::string::npos) << line;

  line = failure(kubeconfig(",\"expirationTimestamp\":\"not a time\""));
  EXPECT_NE(line.find("invalid expirationTimestamp"), std::string::npos) << line;

  write(dir.file("bin/plugin"), "#!/bin/sh\nexit 7\n");
  line = failure(kubeconfig(""));
  EXPECT_NE(line.find("exit status 7"), std::string::npos) << line;

  write(dir.file("bin/plugin"), "#!/bin/sh\necho '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"status\":{\"token\":\"x\"}}'\n");
  line = failure(kubeconfig(""));
  EXPECT_NE(line.find("plugin returned version client.authentication.k8s.io/v1beta1"), std::string::npos) << line;

  std::filesystem::remove(dir.file("bin/plugin"));
  line = failure(kubeconfig(""));
  EXPECT_NE(line.find("not found (install the plugin)"), std::string::npos) << line;
}

TEST(Rfc3339, ParsesZuluOffsetsAndFractions) {
  using std::chrono::system_clock;
  auto base = parse_rfc3339("2026-01-02T03:04:05Z");
  ASSERT_TRUE(base);
  EXPECT_EQ(system_clock::to_time_t(*base), 1767323045);
  EXPECT_EQ(parse_rfc3339("2026-01-02T04:04:05.123+01:00"), base);
  EXPECT_EQ(parse_rfc3339("2026-01-02T01:04:05-02:00"), base);
  EXPECT_FALSE(parse_rfc3339("2026-01-02 03:04:05"));
  EXPECT_FALSE(parse_rfc3339("yesterday"));
}

}  // namespace
}  // namespace arca::kube
