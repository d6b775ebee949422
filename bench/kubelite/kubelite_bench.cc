// kubelite throughput: LIST of 100k objects (MB/s), creates/s from 8 concurrent keep-alive clients, and the
// server's memory against the JSON it stores. Issue 2 targets: ≥ 200 MB/s, ≥ 5,000 creates/s, ≤ 3×.
//   kubelite_bench [--objects N] [--creates N] [--clients N]
#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/kubelite_process.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

size_t append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// The kind of ConfigMap backups meet: labels, an annotation, ~600 bytes of data.
json sample_config_map(int i, const std::string& ns) {
  std::string payload(480, 'x');
  for (size_t k = 0; k < payload.size(); ++k) payload[k] = static_cast<char>('a' + (i * 7 + k) % 26);
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata",
           {{"name", "config-" + std::to_string(i)},
            {"namespace", ns},
            {"labels", {{"app", "bench-" + std::to_string(i % 50)}, {"tier", i % 2 ? "web" : "db"}}},
            {"annotations", {{"example.com/owner", "team-" + std::to_string(i % 13)}}}}},
          {"data", {{"settings.conf", payload}, {"mode", "production"}}}};
}

long rss_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  return -1;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void bench_list(int objects) {
  testsupport::TempDir dir;
  json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array()}};
  for (int i = 0; i < objects; ++i) list["items"].push_back(sample_config_map(i, "bench"));
  std::filesystem::create_directories(dir.file("load"));
  std::ofstream(dir.file("load/objects.json")) << list.dump();
  list = nullptr;

  // Started by hand rather than with start_kubelite: loading 100k objects takes longer than its 10 s limit.
  std::string kubeconfig = dir.file("kubeconfig");
  auto start = Clock::now();
  testsupport::ChildProcess server({testsupport::build_dir() + "/kubelite/kubelite", "--port", "0", "--kubeconfig-out",
                                    kubeconfig, "--load", dir.file("load")},
                                   dir.file("kubelite.log"));
  if (!testsupport::wait_for_file(kubeconfig, std::chrono::minutes(5)))
    throw std::runtime_error("kubelite did not start: " + server.log());
  double load_s = seconds_since(start);
  std::string config = testsupport::read_file(kubeconfig);
  size_t at = config.find("server: ") + 8;
  std::string server_url = config.substr(at, config.find('\n', at) - at);
  std::printf("load:   %d objects via --load in %.2f s (%.0f objects/s)\n", objects, load_s, objects / load_s);

  CURL* curl = curl_easy_init();
  std::string url = server_url + "/api/v1/namespaces/bench/configmaps";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  std::string body;
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  double best = 0;
  size_t bytes = 0;
  for (int round = 0; round < 3; ++round) {
    body.clear();
    body.reserve(bytes);
    auto t = Clock::now();
    if (curl_easy_perform(curl) != CURLE_OK) throw std::runtime_error("LIST failed");
    double s = seconds_since(t);
    bytes = body.size();
    best = std::max(best, bytes / 1e6 / s);
  }
  curl_easy_cleanup(curl);
  size_t items = json::parse(body)["items"].size();
  long rss = rss_kib(server.pid(), "VmRSS:");
  long hwm = rss_kib(server.pid(), "VmHWM:");
  std::printf("list:   %zu objects, %.1f MB per LIST, best of 3: %.0f MB/s (%.0f objects/s)\n", items, bytes / 1e6, best,
              items * best / (bytes / 1e6));
  std::printf("memory: server RSS %.1f MB (peak %.1f MB) for %.1f MB of stored JSON: %.2fx\n", rss / 1024.0,
              hwm / 1024.0, bytes / 1e6, rss * 1024.0 / bytes);
}

void bench_creates(int creates, int clients) {
  testsupport::TempDir dir;
  testsupport::Kubelite k = testsupport::start_kubelite(dir);
  {
    CURL* curl = curl_easy_init();
    std::string url = k.server + "/api/v1/namespaces", out;
    std::string ns = R"({"metadata":{"name":"bench"}})";
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, ns.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
    curl_easy_perform(curl);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
  }
  std::atomic<int> next{0}, failures{0};
  std::string url = k.server + "/api/v1/namespaces/bench/configmaps";
  auto worker = [&] {
    // One handle per client: libcurl keeps its connection alive between requests.
    CURL* curl = curl_easy_init();
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    std::string out;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
    for (int i = next++; i < creates; i = next++) {
      std::string body = sample_config_map(i, "bench").dump();
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
      out.clear();
      long status = 0;
      if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
      if (status != 201) ++failures;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
  };
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  double s = seconds_since(start);
  std::printf("create: %d objects from %d keep-alive clients in %.2f s: %.0f creates/s (%d failed)\n", creates, clients,
              s, creates / s, failures.load());
}

}  // namespace

int main(int argc, char** argv) {
  int objects = 100000, creates = 50000, clients = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int value = std::atoi(argv[i + 1]);
    if (flag == "--objects") objects = value;
    else if (flag == "--creates") creates = value;
    else if (flag == "--clients") clients = value;
    else {
      std::fprintf(stderr, "kubelite_bench: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  // Run from anywhere: the kubelite binary is found through the build directory compiled in.
  setenv("ARCA_BUILD_DIR", ARCA_BUILD_DIR_DEFAULT, 0);
  curl_global_init(CURL_GLOBAL_ALL);
  try {
    bench_list(objects);
    bench_creates(creates, clients);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kubelite_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
