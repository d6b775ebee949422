// Discovery::fetch against servers that answer the way real ones do: a server without aggregated
// discovery (legacy documents, one broken aggregated API) and one with it. The documents are the real
// fixtures, served by cpp-httplib on a real socket.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "kube/discovery.h"
#include "kube/errors.h"
#include "kube/transport.h"

namespace arca::kube {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(std::getenv("ARCA_FIXTURES")) + "/kubernetes/discovery/" + name);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Serves GET <path> from the fixture named after the path (`/apis/apps/v1` → apis__apps__v1.json).
class FixtureServer {
 public:
  explicit FixtureServer(bool aggregated) {
    server_.Get(".*", [this, aggregated](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      std::string accept = req.get_header_value("Accept");
      bool wants_aggregated = accept.find("as=APIGroupDiscoveryList") != std::string::npos;
      if (aggregated && req.path == "/apis" && wants_aggregated) {
        res.set_content(fixture("aggregated_v2.json"), "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
        return;
      }
      if (req.path == "/apis/storage.k8s.io/v1") {  // a broken group-version, like a dead metrics-server
        res.status = 503;
        res.set_content(R"({"kind":"Status","reason":"ServiceUnavailable","message":"the server is currently unable to handle the request","code":503})",
                        "application/json");
        return;
      }
      std::string name = req.path.substr(1);
      for (size_t at; (at = name.find('/')) != std::string::npos;) name.replace(at, 1, "__");
      std::string body = fixture(name + ".json");
      if (body.empty()) {
        res.status = 404;
        res.set_content("404 page not found", "text/plain");
        return;
      }
      res.set_content(body, "application/json");  // the legacy form, whatever the Accept asked for
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FixtureServer() {
    server_.stop();
    thread_.join();
  }
  RestConfig config() const {
    RestConfig config;
    config.cluster.server = "http://127.0.0.1:" + std::to_string(port_);
    return config;
  }
  int requests() const { return requests_; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
};

TEST(DiscoveryFetch, LegacyServerIsReadGroupVersionByGroupVersion) {
  FixtureServer server(/*aggregated=*/false);
  Transport transport(server.config());
  Discovery discovery(transport);
  auto data = discovery.data();
  EXPECT_EQ(discovery.resolve("deploy").group_version(), "apps/v1");
  EXPECT_EQ(discovery.resolve("po").subresource("log")->verbs, std::vector<std::string>{"get"});
  EXPECT_EQ(discovery.resolve("hpa").version, "v2");
  // The broken storage.k8s.io/v1 is skipped, the rest is there.
  EXPECT_EQ(data->find("storage.k8s.io", "v1", "storageclasses"), nullptr);
  EXPECT_NE(data->find("rbac.authorization.k8s.io", "v1", "clusterroles"), nullptr);
  int fetched = server.requests();
  EXPECT_GT(fetched, 20);  // /api, /apis and every group-version listed
  discovery.data();
  EXPECT_EQ(server.requests(), fetched);  // cached
  discovery.refresh();
  EXPECT_EQ(server.requests(), 2 * fetched);
}

TEST(DiscoveryFetch, AggregatedServerNeedsTwoRequests) {
  FixtureServer server(/*aggregated=*/true);
  Transport transport(server.config());
  Discovery discovery(transport);
  auto data = discovery.data();
  // /api answers in legacy form here (the fixtures hold no aggregated core document), so the core
  // group-version is fetched too: /api, /apis, /api/v1.
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(discovery.resolve("sts").group_version(), "apps/v1");
  EXPECT_EQ(discovery.resolve("cm").group_version(), "v1");
  EXPECT_NE(data->find("storage.k8s.io", "v1", "storageclasses"), nullptr);
  // A resource nobody serves: one refresh, then a clear error.
  KubeError e(ErrorKind::UnknownServerError, "");
  try {
    discovery.resolve("widgets");
  } catch (const KubeError& error) {
    e = error;
  }
  EXPECT_EQ(e.kind(), ErrorKind::ResourceNotResolved);
  EXPECT_EQ(server.requests(), 6);
}

}  // namespace
}  // namespace arca::kube
