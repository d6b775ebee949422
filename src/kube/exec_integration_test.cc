// pods/exec through arca's own WebSocket client against a real kubelite over TLS, with its containers running as
// processes: the channel codec (stdout, stderr, stdin and v5's close, the exit status on channel 3), the server's
// refusals, a timeout that closes the stream, both kinds of credentials and a CA that does not match, and the same
// command through the real kubectl on the same pod as the reference. And the fallback to SPDY/3.1 (client-go's
// tools/remotecommand/fallback.go) against a kubelite that refuses WebSocket upgrades for exec, as API servers
// before 1.30 do.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "kube/errors.h"
#include "kube/exec.h"
#include "kube/kube_test_support.h"

namespace arca::kube {
namespace {

using namespace std::chrono_literals;
using testing::config_from;

class ExecTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { start({}); }
  static void start(std::vector<std::string> extra_args) {
    dir_ = new testsupport::TempDir();
    testsupport::KubeliteOptions options;
    options.tls = true;
    options.extra_args = std::move(extra_args);
    kubelite_ = new testsupport::Kubelite(testsupport::start_kubelite(*dir_, options));
    kubectl_ok({"create", "namespace", "ex"});
    std::string manifest = dir_->file("pod.yaml");
    std::ofstream(manifest) << R"(apiVersion: v1
kind: Pod
metadata: {name: box, namespace: ex}
spec:
  volumes: [{name: data, emptyDir: {}}]
  containers:
  - {name: app, image: busybox, command: ["sleep", "1000"], volumeMounts: [{name: data, mountPath: /data}]}
  - {name: side, image: busybox, command: ["sleep", "1000"]}
)";
    kubectl_ok({"apply", "-f", manifest});
    ASSERT_TRUE(testsupport::wait_for_pod_running(kubelite_->kubeconfig, "ex", "box", *dir_))
        << kubectl({"-n", "ex", "get", "pod", "box", "-o", "yaml"}).output;
  }
  static void TearDownTestSuite() {
    delete kubelite_;
    delete dir_;
  }
  static testsupport::CommandResult kubectl(const std::vector<std::string>& args) {
    return testsupport::kubectl(kubelite_->kubeconfig, args, *dir_);
  }
  static void kubectl_ok(const std::vector<std::string>& args) {
    auto r = kubectl(args);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  void SetUp() override { transport = std::make_unique<Transport>(config_from(kubelite_->kubeconfig)); }

  ExecResult run(const std::string& container, std::vector<std::string> command, std::chrono::milliseconds timeout = 20s) {
    ExecRequest request{"ex", "box", container, std::move(command), std::nullopt, timeout};
    return exec_in_pod(*transport, request);
  }

  void expect_certificate_works_and_no_credentials_are_refused() {
    Transport by_cert(config_from(kubelite_->kubeconfig, "kubelite-cert"));
    ExecResult r = exec_in_pod(by_cert, {"ex", "box", "side", {"sh", "-c", "echo via cert"}, std::nullopt, 20s});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.stdout_data, "via cert\n");

    RestConfig no_token = config_from(kubelite_->kubeconfig);
    no_token.user.token.clear();
    Transport anonymous(no_token);
    ExecResult refused = exec_in_pod(anonymous, {"ex", "box", "app", {"true"}, std::nullopt, 20s});
    EXPECT_NE(refused.error.find("Unauthorized"), std::string::npos) << refused.error;
  }

  static testsupport::TempDir* dir_;
  static testsupport::Kubelite* kubelite_;
  std::unique_ptr<Transport> transport;
};
testsupport::TempDir* ExecTest::dir_ = nullptr;
testsupport::Kubelite* ExecTest::kubelite_ = nullptr;

TEST_F(ExecTest, StdoutStderrAndExitCodeMatchKubectl) {
  const std::vector<std::string> command = {"sh", "-c", "printf 'out 1\\nout 2\\n'; echo 'to err' >&2; exit 7"};
  ExecResult r = run("app", command);
  EXPECT_EQ(r.protocol, "v5.channel.k8s.io");
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.stdout_data, "out 1\nout 2\n");
  // kubelite's exec starts in a working directory the sandbox lacks, so sh may complain about getcwd first.
  EXPECT_TRUE(r.stderr_data.ends_with("to err\n")) << r.stderr_data;
  EXPECT_FALSE(r.ok());

  // The reference: kubectl's own exec of the same command on the same pod.
  std::vector<std::string> args = {"-n", "ex", "exec", "box", "-c", "app", "--"};
  args.insert(args.end(), command.begin(), command.end());
  auto k = kubectl(args);
  EXPECT_EQ(k.exit_code, 7) << k.output;
  EXPECT_EQ(k.out, r.stdout_data);
  EXPECT_NE(k.err.find(r.stderr_data), std::string::npos) << k.err;

  ExecResult ok = run("app", {"true"});
  EXPECT_TRUE(ok.ok()) << ok.error;
  EXPECT_EQ(ok.exit_code, 0);
}

TEST_F(ExecTest, WritesReachTheContainersVolumeAndLargeOutputArrivesWhole) {
  ASSERT_TRUE(run("app", {"sh", "-c", "echo marker > /data/m"}).ok());
  auto k = kubectl({"-n", "ex", "exec", "box", "-c", "app", "--", "cat", "/data/m"});
  EXPECT_EQ(k.out, "marker\n");
  // 300 kB crosses many WebSocket messages and frames of both sizes.
  ExecResult big = run("app", {"sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"});
  ASSERT_TRUE(big.ok()) << big.error;
  EXPECT_EQ(big.stdout_data, std::string(300000, 'x'));
}

TEST_F(ExecTest, StdinIsSentAndClosed) {
  ExecRequest request{"ex", "box", "app", {"sh", "-c", "tr a-z A-Z; echo done"}, std::string("hello\nworld\n"), 20s};
  ExecResult r = exec_in_pod(*transport, request);
  ASSERT_TRUE(r.ok()) << r.error;  // `tr` ends only because v5's close signal ended its stdin
  EXPECT_EQ(r.stdout_data, "HELLO\nWORLD\ndone\n");
}

TEST_F(ExecTest, TimeoutClosesTheStreamAndSaysSo) {
  auto start = std::chrono::steady_clock::now();
  ExecResult r = run("app", {"sh", "-c", "echo started; sleep 30"}, 700ms);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_LT(elapsed, 5s);
  EXPECT_GE(elapsed, 700ms);
}

TEST_F(ExecTest, ServerRefusalsComeBackAsOneLine) {
  ExecResult wrong = run("nope", {"true"});
  EXPECT_EQ(wrong.exit_code, -1);
  EXPECT_NE(wrong.error.find("container nope is not valid for pod box"), std::string::npos) << wrong.error;
  ExecResult choose = run("", {"true"});  // two containers: the server wants a name
  EXPECT_NE(choose.error.find("a container name must be specified"), std::string::npos) << choose.error;
  ExecRequest missing{"ex", "no-such-pod", "app", {"true"}, std::nullopt, 10s};
  ExecResult gone = exec_in_pod(*transport, missing);
  EXPECT_NE(gone.error.find("NotFound"), std::string::npos) << gone.error;
  ExecResult not_found = run("app", {"no-such-program-here"});
  EXPECT_FALSE(not_found.ok());
  EXPECT_TRUE(not_found.exit_code > 0 || !not_found.error.empty());
}

TEST_F(ExecTest, ClientCertificateAndTokenBothWorkAndAForeignCaIsRefused) {
  expect_certificate_works_and_no_credentials_are_refused();

  // A CA that did not sign kubelite's certificate: the handshake fails, nothing runs.
  testsupport::TempDir other_dir;
  testsupport::KubeliteOptions options;
  options.tls = true;
  options.extra_args = {"--no-workloads"};
  auto other = testsupport::start_kubelite(other_dir, options);
  RestConfig foreign = config_from(kubelite_->kubeconfig);
  foreign.cluster.certificate_authority = testsupport::read_file(other.ca_file);
  Transport mistrusting(foreign);
  ExecResult tls = exec_in_pod(mistrusting, {"ex", "box", "app", {"sh", "-c", "echo ran > /data/tls"}, std::nullopt, 20s});
  EXPECT_NE(tls.error.find("Unable to connect to the server"), std::string::npos) << tls.error;
  EXPECT_NE(kubectl({"-n", "ex", "exec", "box", "-c", "app", "--", "cat", "/data/tls"}).exit_code, 0);
}

// kubelite answers WebSocket upgrades for exec with 400 "Upgrade request required": arca goes on over SPDY.
class ExecOverSpdyTest : public ExecTest {
 protected:
  static void SetUpTestSuite() { start({"--nodes", "1", "--no-exec-websocket"}); }
};

TEST_F(ExecOverSpdyTest, FallsBackAndCarriesStdoutStderrAndTheExitStatus) {
  const std::vector<std::string> command = {"sh", "-c", "printf 'out 1\\nout 2\\n'; echo 'to err' >&2; exit 7"};
  ExecResult r = run("app", command);
  EXPECT_EQ(r.protocol, "SPDY/3.1+v4.channel.k8s.io");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.exit_code, 7);  // from the NonZeroExitCode status on the error stream
  EXPECT_EQ(r.stdout_data, "out 1\nout 2\n");
  EXPECT_TRUE(r.stderr_data.ends_with("to err\n")) << r.stderr_data;
  // The reference: kubectl falls back the same way on the same pod.
  std::vector<std::string> args = {"-n", "ex", "exec", "box", "-c", "app", "--"};
  args.insert(args.end(), command.begin(), command.end());
  auto k = kubectl(args);
  EXPECT_EQ(k.exit_code, 7) << k.output;
  EXPECT_EQ(k.out, r.stdout_data);

  ExecResult ok = run("app", {"true"});
  EXPECT_TRUE(ok.ok()) << ok.error;
  EXPECT_EQ(ok.exit_code, 0);
  ExecResult killed = run("app", {"sh", "-c", "kill -9 $$"});
  EXPECT_EQ(killed.exit_code, 137) << killed.error;
}

TEST_F(ExecOverSpdyTest, StdinEndsAndLargeDataCrossesBothWays) {
  std::string input(2'000'000, 'a');
  for (size_t i = 0; i < input.size(); i += 1000) input[i] = '\n';
  ExecRequest request{"ex", "box", "app", {"sh", "-c", "tr a-z A-Z > /data/up; wc -c < /data/up; cat /data/up"}, input,
                      30s};
  ExecResult r = exec_in_pod(*transport, request);
  ASSERT_TRUE(r.ok()) << r.error;  // `tr` ends only because the stdin stream's end reached it
  std::string upper = input;
  for (char& c : upper) c = c == 'a' ? 'A' : c;
  ASSERT_GT(r.stdout_data.size(), upper.size());
  EXPECT_EQ(r.stdout_data.substr(0, r.stdout_data.size() - upper.size()), "2000000\n");
  EXPECT_TRUE(r.stdout_data.ends_with(upper));
  ExecRequest empty{"ex", "box", "app", {"wc", "-c"}, std::string(), 20s};
  ExecResult none = exec_in_pod(*transport, empty);
  ASSERT_TRUE(none.ok()) << none.error;
  EXPECT_EQ(none.stdout_data, "0\n");
}

TEST_F(ExecOverSpdyTest, TimeoutRefusalsAndCredentials) {
  auto start = std::chrono::steady_clock::now();
  ExecResult slow = run("app", {"sh", "-c", "echo started; sleep 30"}, 700ms);
  EXPECT_TRUE(slow.timed_out);
  EXPECT_EQ(slow.exit_code, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);

  ExecResult wrong = run("nope", {"true"});  // refused before the SPDY upgrade, in the server's words
  EXPECT_NE(wrong.error.find("container nope is not valid for pod box"), std::string::npos) << wrong.error;
  ExecRequest missing{"ex", "no-such-pod", "app", {"true"}, std::nullopt, 10s};
  EXPECT_NE(exec_in_pod(*transport, missing).error.find("NotFound"), std::string::npos);

  expect_certificate_works_and_no_credentials_are_refused();
}

TEST(ExecCodec, ChannelMessagesAndStatuses) {
  EXPECT_EQ(encode_channel_message(0, "ab"), std::string("\0ab", 3));
  EXPECT_EQ(encode_channel_message(255, std::string(1, '\0')), std::string("\xff\0", 2));
  std::string error;
  EXPECT_EQ(decode_exit_status(R"({"metadata":{},"status":"Success"})", error), 0);
  EXPECT_EQ(decode_exit_status(R"({"status":"Failure","reason":"NonZeroExitCode",
      "details":{"causes":[{"reason":"ExitCode","message":"42"}]}})", error), 42);
  EXPECT_EQ(decode_exit_status(R"({"status":"Failure","reason":"InternalError","message":"no such file"})", error),
            std::nullopt);
  EXPECT_EQ(error, "no such file");
  EXPECT_EQ(decode_exit_status("not json", error), std::nullopt);
  EXPECT_EQ(decode_exit_status(R"({"status":"Failure","reason":"NonZeroExitCode"})", error), std::nullopt);
}

}  // namespace
}  // namespace arca::kube
