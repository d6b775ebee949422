// Retry behaviour of the transport against a scripted HTTP server on a real socket (cpp-httplib in
// this process): kubelite never throttles or fails on purpose, so these answers are staged here.
#include "kube/transport.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

#include "kube/errors.h"

namespace arca::kube {
namespace {

class ScriptedServer {
 public:
  ScriptedServer() {
    server_.Get("/throttled", [this](const httplib::Request&, httplib::Response& res) {
      if (throttled_++ < 2) {
        res.status = 429;
        res.set_header("Retry-After", "1");
        res.set_content(R"({"kind":"Status","reason":"TooManyRequests","message":"slow down","code":429})", "application/json");
        return;
      }
      res.set_content("{}", "application/json");
    });
    auto unavailable = [this](const httplib::Request& req, httplib::Response& res) {
      ++unavailable_;
      res.status = 503;
      res.set_header("Warning", "299 - \"the sky is falling\"");
      res.set_content(R"({"kind":"Status","reason":"ServiceUnavailable","message":"down","code":503})", "application/json");
    };
    server_.Get("/unavailable", unavailable);
    server_.Post("/unavailable", unavailable);
    // Through a proxy the request line carries the absolute URL; record it.
    server_.Get(R"(http://.*)", [this](const httplib::Request& req, httplib::Response& res) {
      proxied_ = req.path;
      res.set_content("{}", "application/json");
    });
    server_.Get("/agent", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.get_header_value("User-Agent") + "|" + req.get_header_value("Authorization"), "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~ScriptedServer() {
    server_.stop();
    thread_.join();
  }
  RestConfig config() const {
    RestConfig config;
    config.cluster.server = "http://127.0.0.1:" + std::to_string(port_);
    return config;
  }
  int throttled() const { return throttled_; }
  int unavailable() const { return unavailable_; }
  int port() const { return port_; }
  std::string proxied() const { return proxied_; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> throttled_{0}, unavailable_{0};
  std::string proxied_;
};

TEST(Transport, TooManyRequestsIsRetriedAfterRetryAfter) {
  ScriptedServer server;
  Transport transport(server.config());
  HttpRequest request;
  request.path = "/throttled";
  auto start = std::chrono::steady_clock::now();
  HttpResponse response = transport.send(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(server.throttled(), 3);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1900));  // two Retry-After: 1
}

TEST(Transport, ServerErrorsAreRetriedForIdempotentVerbsOnly) {
  ScriptedServer server;
  RestConfig config = server.config();
  config.max_retries = 2;
  Transport transport(config);
  HttpRequest get;
  get.path = "/unavailable";
  HttpResponse response = transport.send(get);
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(server.unavailable(), 3);  // first try + 2 retries
  ASSERT_EQ(response.warnings.size(), 1u);
  EXPECT_EQ(response.warnings[0], "the sky is falling");
  HttpRequest post = get;
  post.method = "POST";
  post.body = "{}";
  EXPECT_EQ(transport.send(post).status, 503);
  EXPECT_EQ(server.unavailable(), 4);  // a POST may have been applied: never repeated
}

TEST(Transport, SendsArcaUserAgentAndBearerToken) {
  ScriptedServer server;
  RestConfig config = server.config();
  config.user.token = "programmatic-token";  // set in code (not from a kubeconfig): sent as given
  Transport transport(config);
  HttpRequest request;
  request.path = "/agent";
  std::string body = transport.send(request).body;
  EXPECT_EQ(body.rfind("arca/", 0), 0u) << body;
  EXPECT_NE(body.find("|Bearer programmatic-token"), std::string::npos) << body;
}

TEST(Transport, ProxyUrlCarriesTheRequests) {
  ScriptedServer proxy;
  RestConfig config;
  config.cluster.server = "http://api.cluster.invalid:6443";
  config.cluster.proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
  Transport transport(config);
  HttpRequest request;
  request.path = "/api/v1/namespaces";
  EXPECT_EQ(transport.send(request).status, 200);
  EXPECT_EQ(proxy.proxied(), "http://api.cluster.invalid:6443/api/v1/namespaces");
}

TEST(QueryEscape, EncodesSelectorsAndTokens) {
  EXPECT_EQ(query_escape("app in (a,b),tier!=x"), "app%20in%20%28a%2Cb%29%2Ctier%21%3Dx");
  EXPECT_EQ(query_escape("eyJ2Ijo+/="), "eyJ2Ijo%2B%2F%3D");
}

}  // namespace
}  // namespace arca::kube
