// Lists N ConfigMaps from kubelite with arca's client (paged, streamed, kind/apiVersion spliced in) and
// with a plain libcurl loop fetching the same pages, and prints objects/s, MB/s, the client's own share
// of the wall time and the peak RSS. Run at 10k and 100k objects: the RSS must not grow with N.
//
//   list_bench [N ...]          (default: 10000 100000)
#include <curl/curl.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kube/config.h"
#include "kube/discovery.h"
#include "kube/dynamic.h"
#include "kube/transport.h"
#include "tests/support/kubelite_process.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPageSize = 500;  // kubectl's and client-go's default chunk size
constexpr int kRounds = 3;      // best of three, alternating, to keep noise out of the comparison

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// CPU time of this process: what the client itself costs, whatever the server's latency.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// ConfigMaps of about 700 bytes each, with the labels and annotations real ones carry.
void write_manifests(const std::string& dir, int count) {
  std::filesystem::create_directories(dir);
  std::ofstream ns(dir + "/00-namespace.yaml");
  ns << "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench\n";
  const int per_file = 10000;
  for (int file = 0; file * per_file < count; ++file) {
    std::ofstream out(dir + "/cm-" + std::to_string(file) + ".yaml");
    for (int i = file * per_file; i < std::min(count, (file + 1) * per_file); ++i) {
      out << "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config-" << i
          << "\n  namespace: bench\n  labels:\n    app.kubernetes.io/name: service-" << i % 97
          << "\n    app.kubernetes.io/part-of: shop\n    tier: backend\n  annotations:\n"
             "    meta.helm.sh/release-name: shop\n    meta.helm.sh/release-namespace: bench\n"
             "data:\n  LOG_LEVEL: info\n  FEATURE_FLAGS: \"checkout,recommendations,search-v2\"\n"
             "  DATABASE_URL: postgres://db.bench.svc.cluster.local:5432/shop\n"
             "  settings.json: '{\"timeoutSeconds\": 30, \"retries\": 5, \"replica\": "
          << i << "}'\n";
    }
  }
}

struct Run {
  double seconds = 0;
  double cpu = 0;
  size_t objects = 0;
  size_t bytes = 0;
};

Run list_with_client(arca::kube::DynamicClient& client, const arca::kube::ApiResource& resource) {
  Run run;
  arca::kube::ListOptions options;
  options.page_size = kPageSize;
  auto start = Clock::now();
  double cpu_start = cpu_seconds();
  client.list(resource, "bench", options, [&](const arca::kube::ListItem& item) {
    ++run.objects;
    run.bytes += item.json.size();
  });
  run.seconds = seconds_since(start);
  run.cpu = cpu_seconds() - cpu_start;
  return run;
}

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// The same pages, fetched by a bare libcurl handle (keep-alive, same Accept-Encoding) with the continue
// token found by a string search: the floor of what any client could do.
Run list_with_plain_libcurl(const std::string& server) {
  Run run;
  CURL* curl = curl_easy_init();
  std::string body, token;
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
  auto start = Clock::now();
  double cpu_start = cpu_seconds();
  do {
    std::string url = server + "/api/v1/namespaces/bench/configmaps?limit=" + std::to_string(kPageSize);
    if (!token.empty()) {
      char* escaped = curl_easy_escape(curl, token.c_str(), static_cast<int>(token.size()));
      url += std::string("&continue=") + escaped;
      curl_free(escaped);
    }
    body.clear();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    if (curl_easy_perform(curl) != CURLE_OK) {
      std::fprintf(stderr, "plain libcurl fetch failed\n");
      std::exit(1);
    }
    run.bytes += body.size();
    token.clear();
    if (auto at = body.find("\"continue\":\""); at != std::string::npos) {
      at += 12;
      token = body.substr(at, body.find('"', at) - at);
    }
  } while (!token.empty());
  run.seconds = seconds_since(start);
  run.cpu = cpu_seconds() - cpu_start;
  curl_easy_cleanup(curl);
  return run;
}

void bench(int count) {
  testsupport::TempDir dir;
  write_manifests(dir.file("load"), count);
  // Started by hand rather than with start_kubelite: loading 100k objects takes longer than its 10 s.
  std::string kubeconfig = dir.file("kubeconfig");
  auto load_start = Clock::now();
  testsupport::ChildProcess kubelite({testsupport::build_dir() + "/kubelite/kubelite", "--port", "0", "--kubeconfig-out",
                                      kubeconfig, "--load", dir.file("load")},
                                     dir.file("kubelite.log"));
  if (!testsupport::wait_for_file(kubeconfig, std::chrono::minutes(10))) {
    std::fprintf(stderr, "kubelite did not start:\n%s\n", kubelite.log().c_str());
    std::exit(1);
  }
  std::printf("kubelite loaded %d ConfigMaps in %.1f s\n", count, seconds_since(load_start));

  arca::kube::LoadOptions load;
  load.kubeconfig = kubeconfig;
  arca::kube::RestConfig config = arca::kube::load_config(load);
  std::string server = config.cluster.server;
  arca::kube::Transport transport(config);
  arca::kube::Discovery discovery(transport);
  arca::kube::DynamicClient client(transport);
  arca::kube::ApiResource configmaps = discovery.resolve("configmaps");

  Run best_client, best_plain;
  for (int round = 0; round < kRounds; ++round) {
    Run plain = list_with_plain_libcurl(server);
    Run ours = list_with_client(client, configmaps);
    if (round == 0 || plain.seconds < best_plain.seconds) best_plain = plain;
    if (round == 0 || ours.seconds < best_client.seconds) best_client = ours;
  }
  double overhead = (best_client.seconds - best_plain.seconds) / best_client.seconds * 100;
  std::printf("list %zu objects (page %d): arca client %.3f s = %.0f objects/s, %.1f MB/s of objects\n",
              best_client.objects, kPageSize, best_client.seconds, best_client.objects / best_client.seconds,
              best_client.bytes / 1e6 / best_client.seconds);
  std::printf("  plain libcurl, same pages: %.3f s = %.1f MB/s of page bytes\n", best_plain.seconds,
              best_plain.bytes / 1e6 / best_plain.seconds);
  std::printf("  CPU: arca client %.3f s, plain libcurl %.3f s; client processing %.0f MB/s of objects per core\n",
              best_client.cpu, best_plain.cpu, best_client.bytes / 1e6 / std::max(1e-9, best_client.cpu - best_plain.cpu));
  std::printf("  client overhead: %.1f%% of wall time (target <= 20%%)\n", overhead);
  std::printf("  peak RSS of this process so far: %.1f MB\n", peak_rss_kb() / 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  setenv("ARCA_BUILD_DIR", ARCA_BUILD_DIR, 0);
  setvbuf(stdout, nullptr, _IOLBF, 0);  // where kubelite is, when not run by ctest
  std::vector<int> counts;
  for (int i = 1; i < argc; ++i) counts.push_back(std::atoi(argv[i]));
  if (counts.empty()) counts = {10000, 100000};
  std::printf("peak RSS before listing: %.1f MB\n", peak_rss_kb() / 1024.0);
  for (int count : counts) bench(count);
  return 0;
}
