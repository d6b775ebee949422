// The README's claims about how a restore loads the API server, checked against a slow API server (a FaultProxy
// holding each ConfigMap create 40 ms) in front of kubelite, with `arca server` at its default flags:
// - one restore runs at a time, with at most 16 requests in flight;
// - creates inside a priority tier run in parallel (many in flight, not one);
// - --client-qps/--client-burst default to 10000/1000, so the rate is not capped at Velero's 100 requests/s.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "tests/support/cluster.h"
#include "tests/support/fault_proxy.h"
#include "util/timestamp.h"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testsupport::Cluster;

constexpr int kConfigMaps = 400;

json restore_status(Cluster& c, const std::string& name) {
  for (const auto& r : c.items("restores"))
    if (r["metadata"]["name"] == name) return r.value("status", json::object());
  return json::object();
}

TEST(RestoreConcurrency, OneRestoreAtATimeAtMost16InFlightParallelInATierNoVeleroRateCap) {
  Cluster c;
  testsupport::FaultProxy proxy(c.api_server_url());
  std::string proxied = c.dir().file("proxied.kubeconfig");
  testsupport::write_kubeconfig_for(c.kubeconfig(), proxy.url(), proxied);
  c.start_server({}, proxied);  // no --client-qps/--client-burst: the defaults are under test

  json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array()}};
  for (int i = 0; i < kConfigMaps; ++i)
    list["items"].push_back({{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                             {"metadata", {{"name", "cm-" + std::to_string(i)}, {"namespace", "conc"}}},
                             {"data", {{"i", std::to_string(i)}}}});
  std::ofstream(c.dir().file("configmaps.json")) << list.dump();
  ASSERT_EQ(c.kubectl({"create", "namespace", "conc"}).exit_code, 0);
  auto created = c.kubectl({"create", "-f", c.dir().file("configmaps.json")});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  c.arca_ok({"backup", "create", "conc", "--include-namespaces", "conc", "--wait"});
  auto deleted = c.kubectl({"delete", "namespace", "conc", "--wait=true", "--timeout=60s"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;

  proxy.delay([](std::string_view method, std::string_view target) {
    return method == "POST" && target.find("/configmaps") != std::string_view::npos;
  }, 40ms);
  // Two restores requested together, each with 400 creates in one tier.
  c.arca_ok({"restore", "create", "first", "--from-backup", "conc"});
  c.arca_ok({"restore", "create", "second", "--from-backup", "conc", "--namespace-mappings", "conc:conc-copy"});
  ASSERT_TRUE(testsupport::eventually([&] {
    return restore_status(c, "first").value("phase", "") == "Completed" &&
           restore_status(c, "second").value("phase", "") == "Completed";
  }, 90s, 200ms)) << restore_status(c, "first").dump() << restore_status(c, "second").dump() << c.server(0).log();

  auto stats = proxy.delay_stats();
  ASSERT_GE(stats.requests, 2 * kConfigMaps);
  // Two restores at once would have had up to 32 creates in flight; one at a time, 16 at most.
  EXPECT_LE(stats.max_concurrent, 16);
  // In parallel inside the tier: creates one after the other would never overlap.
  EXPECT_GE(stats.max_concurrent, 8);
  // One after the other, also by the restores' own timestamps.
  json first = restore_status(c, "first"), second = restore_status(c, "second");
  auto start_1 = arca::parse_rfc3339(first["startTimestamp"].get<std::string>());
  auto end_1 = arca::parse_rfc3339(first["completionTimestamp"].get<std::string>());
  auto start_2 = arca::parse_rfc3339(second["startTimestamp"].get<std::string>());
  auto end_2 = arca::parse_rfc3339(second["completionTimestamp"].get<std::string>());
  EXPECT_TRUE(start_2 >= end_1 || start_1 >= end_2) << first.dump() << "\n" << second.dump();
  // No Velero rate cap: the server started without --client-qps/--client-burst runs its API client at 10000/1000,
  // not Velero's 100/100. That the limiter enforces what it is given is tested by
  // HttpClientTest.RateLimiterSpacesRequestsLikeClientGo; timing this run against 100/s would depend on the load.
  EXPECT_NE(c.server(0).log().find("API client rate limit: 10000 requests/s, burst 1000"), std::string::npos)
      << c.server(0).log();
  auto held = stats.held_at_arrival;
  std::nth_element(held.begin(), held.begin() + held.size() / 2, held.end());
  int median = held[held.size() / 2];
  double seconds = std::chrono::duration<double>(stats.last - stats.first).count();
  std::printf("restore concurrency: %d creates in %.2f s (%.0f/s), at most %d and a median of %d in flight\n",
              stats.requests, seconds, stats.requests / std::max(seconds, 1e-3), stats.max_concurrent, median);
}

}  // namespace
