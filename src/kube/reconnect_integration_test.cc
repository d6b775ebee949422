// The client against a real kubelite behind the fault proxy when a connection dies under a request: a request
// the server never saw (its sending failed part-way, the "Broken pipe" of a keep-alive connection that the
// server closed as the request started) goes again on a fresh connection, whatever its verb.
//
// The cut requests go out on a transport of their own whose first request they are: libcurl itself sends a
// request again when a connection it reused dies before any answer byte (a small request's whole sending
// happens before then), so a new connection is where arca's own rule is what decides.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "kube/errors.h"
#include "kube/informer.h"
#include "kube/kube_test_support.h"
#include "tests/support/fault_proxy.h"

namespace arca::kube {
namespace {

using testing::Client;
using testing::config_from;
using testing::config_map;
using testing::namespace_object;

class ReconnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kubelite_ = std::make_unique<testsupport::Kubelite>(testsupport::start_kubelite(dir_));
    proxy_ = std::make_unique<testsupport::FaultProxy>(kubelite_->server);
    std::string kubeconfig = dir_.file("proxy.kubeconfig");
    testsupport::write_kubeconfig_for(kubelite_->kubeconfig, proxy_->url(), kubeconfig);
    RestConfig config = config_from(kubeconfig);
    config.max_retries = 0;  // only the resend of a request that never arrived may happen
    client_ = std::make_unique<Client>(config);
    client_->dynamic.create(client_->discovery.resolve("ns"), "", namespace_object("rc"));
    fresh_transport_ = std::make_unique<Transport>(config);
    fresh_ = std::make_unique<DynamicClient>(*fresh_transport_);
  }
  // Cuts the first request of `verb` off while its body is being sent.
  void cut_first(const std::string& verb) {
    auto seen = std::make_shared<int>(0);
    proxy_->reset_while_sending([verb, seen](std::string_view method, std::string_view) {
      return method == verb && (*seen)++ == 0;
    });
  }

  testsupport::TempDir dir_;
  std::unique_ptr<testsupport::Kubelite> kubelite_;
  std::unique_ptr<testsupport::FaultProxy> proxy_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Transport> fresh_transport_;  // no connection yet
  std::unique_ptr<DynamicClient> fresh_;
};

// Far larger than what the proxy reads at once plus what the sockets buffer on the way (the client's send buffer
// grows to 4 MiB here), so that the server's end goes away with part of the body unsent however slow the proxy is.
const std::string kBig(16 << 20, 'x');

TEST_F(ReconnectTest, ACreateCutOffWhileSendingIsSentAgainOnAFreshConnection) {
  auto configmaps = client_->discovery.resolve("configmaps");
  cut_first("POST");
  auto object = config_map("rc", "big");
  object["data"]["k"] = kBig;
  // Before: "Send failure: Broken pipe" (or "Connection reset by peer"), and no ConfigMap.
  fresh_->create(configmaps, "rc", object);
  EXPECT_EQ(proxy_->failed_requests(), 1);
  EXPECT_EQ(client_->dynamic.get(configmaps, "rc", "big")["data"]["k"], kBig);
}

TEST_F(ReconnectTest, APatchCutOffWhileSendingIsSentAgainOnAFreshConnection) {
  auto configmaps = client_->discovery.resolve("configmaps");
  client_->dynamic.create(configmaps, "rc", config_map("rc", "small"));
  cut_first("PATCH");
  fresh_->patch(configmaps, "rc", "small", PatchType::Merge, nlohmann::json{{"data", {{"k", kBig}}}}.dump());
  EXPECT_EQ(proxy_->failed_requests(), 1);
  EXPECT_EQ(client_->dynamic.get(configmaps, "rc", "small")["data"]["k"], kBig);
}

TEST_F(ReconnectTest, ARequestCutOffTwiceFailsWithOneLineNamingTheServer) {
  // The immediate resend is one: a server that keeps going away is reported, not retried without end.
  auto configmaps = client_->discovery.resolve("configmaps");
  proxy_->reset_while_sending([](std::string_view method, std::string_view) { return method == "POST"; });
  auto object = config_map("rc", "never");
  object["data"]["k"] = kBig;
  try {
    fresh_->create(configmaps, "rc", object);
    FAIL() << "the create succeeded through a server that always went away";
  } catch (const KubeError& e) {
    std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find(proxy_->url()), std::string::npos) << message;
  }
  EXPECT_EQ(proxy_->failed_requests(), 2);
  proxy_->clear();
  EXPECT_THROW(client_->dynamic.get(configmaps, "rc", "never"), KubeError);
}

TEST_F(ReconnectTest, AnApiServerThatNeverAnswersEndsTheRequestInBoundedTimeSayingWhatItWaitedFor) {
  // The drill's "304 s of silence": every attempt waited its whole timeout, and the idempotent GET was tried five
  // times. Now a hung request is tried twice at most and the one line names what was waited for.
  std::string kubeconfig = dir_.file("proxy.kubeconfig");
  RestConfig config = config_from(kubeconfig);
  config.request_timeout = std::chrono::milliseconds(1000);  // max_retries stays the default 4
  Client client(config);
  auto configmaps = client.discovery.resolve("configmaps");
  proxy_->hold([](std::string_view method, std::string_view target) {
    return method == "GET" && target.find("/configmaps/held") != std::string_view::npos;
  });
  auto start = std::chrono::steady_clock::now();
  try {
    client.dynamic.get(configmaps, "rc", "held");
    FAIL() << "a held request answered";
  } catch (const KubeError& e) {
    std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find("timed out after 1 s waiting for the answer to GET /api/v1/namespaces/rc/configmaps/held"),
              std::string::npos)
        << message;
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(proxy_->failed_requests(), 2);
  // Two attempts of 1 s and one back-off of at most 0.3 s; before, five attempts and four back-offs (~8 s).
  EXPECT_LT(elapsed, std::chrono::milliseconds(5000));
  proxy_->release();
}

// An API server that stops answering in the middle of a watch (the proxy swallows every byte of the open
// connections, closing none): the stream's own timeoutSeconds is 5-10 minutes away, so before the idle bound the
// informer saw nothing of what changed meanwhile for that long. Now the silent stream is given up after the idle
// bound, resumed on a new connection, and the change arrives; a quiet stream that gets bookmarks is never cut.
TEST_F(ReconnectTest, AWatchThatGoesSilentIsResumedAndTheInformerCatchesUp) {
  RestConfig config = config_from(dir_.file("proxy.kubeconfig"));
  config.watch_idle_timeout = std::chrono::seconds(2);
  Transport transport(config);
  auto configmaps = client_->discovery.resolve("configmaps");
  auto watches = std::make_shared<std::atomic<int>>(0);
  proxy_->delay([watches](std::string_view method, std::string_view target) {
    if (method == "GET" && target.find("watch=true") != std::string_view::npos) ++*watches;
    return false;
  }, std::chrono::milliseconds(0));
  Informer informer(transport, configmaps, "rc");
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(std::chrono::seconds(10)));
  client_->dynamic.create(configmaps, "rc", config_map("rc", "before"));
  ASSERT_TRUE(testsupport::eventually([&] { return informer.get("rc/before") != nullptr; }, std::chrono::seconds(10)));
  // kubelite's bookmarks keep a quiet stream alive past the idle bound: no second watch.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(watches->load(), 1);

  ASSERT_GE(proxy_->stall_open_connections(), 1);
  // Straight to kubelite: the proxy's stalled connections see none of it.
  Client direct(config_from(kubelite_->kubeconfig));
  direct.dynamic.create(configmaps, "rc", config_map("rc", "during-stall"));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(testsupport::eventually([&] { return informer.get("rc/during-stall") != nullptr; }, std::chrono::seconds(15)))
      << "the informer did not notice its silent watch";
  auto noticed = std::chrono::steady_clock::now() - start;
  std::printf("the stall was noticed and caught up after %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(noticed).count()));
  EXPECT_GE(watches->load(), 2);
  EXPECT_LT(noticed, std::chrono::seconds(6));
  informer.stop();
}

}  // namespace
}  // namespace arca::kube
