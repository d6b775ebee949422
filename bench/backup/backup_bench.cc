// End-to-end backup throughput: kubelite seeded (--load) with N objects in 1,000 namespaces, built from the
// fixtures' namespaced manifests (Deployments, StatefulSets, Services, ConfigMaps, Secrets, Jobs, Ingresses,
// RBAC, PVCs, ...), then `arca server` backs everything up to the local store. Prints objects/s, the arca
// server's peak RSS for 30k and 300k objects, and arca's wall time against a plain libcurl download of the
// same list pages (limit=500). Issue 5 targets: ≥ 30,000 objects/s, peak RSS ≤ 64 MiB and flat (≤ 1.2×),
// wall time ≤ 1.5× the download.
// Seeding goes through kubelite's --load (30k objects: ~3 s; 300k: ~2 min).
//   backup_bench [--objects N ...] [--pairs P]   (default: 30000 300000; 2 pairs of plain and sealed backups)
#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "archive/parallel_gzip.h"
#include "crypt/age.h"
#include "crypt/sign.h"
#include "bench/support/seeded_cluster.h"
#include "persistence/backup_store.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using benchsupport::SeededCluster;
using benchsupport::arca;
using benchsupport::cpu_seconds;
using benchsupport::status_kib;

// The list pages the backup reads, fetched with plain libcurl: every namespaced type that holds objects,
// cluster-wide, limit=500, following continue tokens. Returns seconds and bytes.
std::pair<double, size_t> curl_lists(const SeededCluster& s, const std::vector<std::string>& paths) {
  CURL* curl = curl_easy_init();
  std::string auth = "Authorization: Bearer " + s.token;
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  size_t bytes = 0;
  auto start = Clock::now();
  for (const auto& path : paths) {
    std::string token;
    do {
      std::string body;
      std::string url = s.server + path + "?limit=500" + (token.empty() ? "" : "&continue=" + token);
      curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
      curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char* d, size_t size, size_t n, void* out) {
        static_cast<std::string*>(out)->append(d, size * n);
        return size * n;
      });
      curl_easy_perform(curl);
      bytes += body.size();
      // Only the continue token is read: the client does no work on the items.
      auto at = body.find("\"continue\":\"");
      token.clear();
      if (at != std::string::npos) {
        at += 12;
        token = body.substr(at, body.find('"', at) - at);
        char* escaped = curl_easy_escape(curl, token.c_str(), static_cast<int>(token.size()));
        token = escaped;
        curl_free(escaped);
      }
    } while (!token.empty());
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return {seconds, bytes};
}

// The tarball's gzip alone: the stored tarball is inflated and compressed again exactly as arca writes it
// (ParallelGzip, default options), so the figure is the part of the wall time no list handling can remove.
// Returns seconds and the uncompressed tar size.
std::pair<double, size_t> gzip_alone(const std::string& tarball_path) {
  std::ifstream in(tarball_path, std::ios::binary);
  std::string compressed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string tar = arca::persistence::gunzip_bytes(compressed, "the stored tarball");
  auto start = Clock::now();
  arca::archive::ParallelGzip gzip([](const char*, size_t) {});
  gzip.write(tar.data(), tar.size());
  gzip.finish();
  return {std::chrono::duration<double>(Clock::now() - start).count(), tar.size()};
}

void run(int objects, int pairs) {
  SeededCluster s;
  auto seed_start = Clock::now();
  benchsupport::start_seeded(s, objects);
  std::printf("[%d objects] seeded kubelite in %.1f s\n", objects,
              std::chrono::duration<double>(Clock::now() - seed_start).count());
  if (arca(s, "install --crds-only") != 0) throw std::runtime_error("install failed: " + testsupport::read_file(s.dir.file("cli.log")));
  fs::create_directories(s.dir.file("store/bucket"));
  if (arca(s, "backup-location create default --provider local --bucket bucket --config root=" + s.dir.file("store")) != 0)
    throw std::runtime_error("bsl failed");
  // ARCA_BENCH_SERVER_WRAPPER="heaptrack -o /tmp/ht" profiles the server (its RSS/CPU figures are then the wrapper's).
  std::vector<std::string> argv;
  if (const char* wrapper = getenv("ARCA_BENCH_SERVER_WRAPPER")) {
    std::istringstream words(wrapper);
    for (std::string w; words >> w;) argv.push_back(w);
  }
  for (const auto& a : {testsupport::build_dir() + "/src/cli/arca", std::string("server"), std::string("--kubeconfig"),
                        s.kubeconfig})
    argv.push_back(a);
  testsupport::ChildProcess server(argv, s.dir.file("server.log"));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  long idle_kib = status_kib(server.pid(), "VmRSS:");

  // The plain backup, then the same data to an encrypting, signing location (issue 20), alternated.
  auto keys = arca::crypt::generate_age_identity();
  auto signing = arca::crypt::generate_signing_key();
  std::string secret_cmd = "kubectl --kubeconfig " + s.kubeconfig + " -n velero create secret generic arca-signing " +
                           "--from-literal=signing-key=" + signing.private_key + " > " + s.dir.file("kubectl.log") + " 2>&1";
  if (std::system(secret_cmd.c_str()) != 0) throw std::runtime_error("kubectl create secret failed");
  fs::create_directories(s.dir.file("store/sealed"));
  if (arca(s, "backup-location create sealed --provider local --bucket sealed --config root=" + s.dir.file("store") +
                  ",encryptionRecipients=" + keys.recipient + ",signingPublicKey=" + signing.public_key +
                  ",signingKeySecret=arca-signing") != 0)
    throw std::runtime_error("sealed bsl failed");
  struct Run {
    double wall, server_cpu, kubelite_cpu;
    json backup;
    long peak_kib;  // the server's peak RSS during this backup alone
  };
  auto timed_backup = [&](const std::string& name, const std::string& location) {
    // Linux resets VmHWM to the current RSS on "5" (proc(5), /proc/pid/clear_refs), so each run's peak is its own.
    std::ofstream(std::string("/proc/") + std::to_string(server.pid()) + "/clear_refs") << "5";
    double server_cpu0 = cpu_seconds(server.pid()), kubelite_cpu0 = cpu_seconds(s.kubelite.pid());
    auto start = Clock::now();
    if (arca(s, "backup create " + name + " --storage-location " + location) != 0)
      throw std::runtime_error("backup create failed");
    // Polled every 20 ms over plain HTTP (the CLI's --wait only looks once a second).
    json b;
    for (;;) {
      std::string body = benchsupport::http_get(s, "/apis/velero.io/v1/namespaces/velero/backups/" + name);
      b = json::parse(body);
      std::string phase = b.value("/status/phase"_json_pointer, std::string());
      if (phase == "Completed") break;
      if (phase == "Failed" || phase == "FailedValidation" || phase == "PartiallyFailed")
        throw std::runtime_error("backup ended " + phase + ": " + body);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Run{std::chrono::duration<double>(Clock::now() - start).count(), cpu_seconds(server.pid()) - server_cpu0,
               cpu_seconds(s.kubelite.pid()) - kubelite_cpu0, b, status_kib(server.pid(), "VmHWM:")};
  };
  // Pairs, each a plain backup then a sealed one: the machine's drift between two adjacent runs is small, so the
  // median of the pairs' ratios is the steadiest figure; the best of each kind is reported beside it.
  std::vector<Run> plains, sealeds;
  std::vector<double> wall_ratios, cpu_ratios;
  for (int i = 0; i < pairs; ++i) {
    std::string suffix = i ? "-" + std::to_string(i + 1) : "";
    plains.push_back(timed_backup("bench" + suffix, "default"));
    sealeds.push_back(timed_backup("bench-sealed" + suffix, "sealed"));
    wall_ratios.push_back(sealeds.back().wall / plains.back().wall);
    cpu_ratios.push_back(sealeds.back().server_cpu / plains.back().server_cpu);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  auto best = [](const std::vector<Run>& runs) {
    return *std::min_element(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.wall < b.wall; });
  };
  auto peak = [](const std::vector<Run>& runs) {
    long kib = 0;
    for (const auto& r : runs) kib = std::max(kib, r.peak_kib);
    return kib;
  };
  Run plain = best(plains), sealed = best(sealeds);
  const long plain_peak_kib = peak(plains), sealed_peak_kib = peak(sealeds);
  double wall = plain.wall, server_cpu = plain.server_cpu, kubelite_cpu = plain.kubelite_cpu;
  json b = plain.backup;
  long peak_kib = plain_peak_kib;
  int items = b["status"]["progress"]["itemsBackedUp"];
  auto tarball = fs::file_size(s.dir.file("store/bucket/backups/bench/bench.tar.gz"));
  std::printf("[%d objects] encrypted (age) + signed (Ed25519 manifest, per-item digests) backup: %.2f s wall = "
              "%.0f objects/s, server CPU %.2f s, peak RSS %.1f MiB; plain: %.2f s, CPU %.2f s, peak RSS %.1f MiB → "
              "overhead %+.1f %% wall, %+.1f %% server CPU (best of %d each); median of %d adjacent pairs: %+.1f %% "
              "wall, %+.1f %% server CPU\n",
              objects, sealed.wall, items / sealed.wall, sealed.server_cpu,
              sealed_peak_kib / 1024.0, plain.wall, plain.server_cpu, peak_kib / 1024.0,
              100.0 * (sealed.wall / plain.wall - 1), 100.0 * (sealed.server_cpu / plain.server_cpu - 1), pairs, pairs,
              100.0 * (median(wall_ratios) - 1), 100.0 * (median(cpu_ratios) - 1));

  std::vector<std::string> paths = {"/api/v1/namespaces"};
  for (const char* p : {"/api/v1/configmaps", "/api/v1/secrets", "/api/v1/services", "/api/v1/serviceaccounts",
                        "/api/v1/persistentvolumeclaims", "/apis/apps/v1/deployments", "/apis/apps/v1/statefulsets",
                        "/apis/batch/v1/jobs", "/apis/batch/v1/cronjobs", "/apis/networking.k8s.io/v1/ingresses",
                        "/apis/networking.k8s.io/v1/networkpolicies", "/apis/rbac.authorization.k8s.io/v1/roles",
                        "/apis/rbac.authorization.k8s.io/v1/rolebindings"})
    paths.push_back(p);
  auto [curl_s, curl_bytes] = curl_lists(s, paths);
  auto [gzip_s, tar_bytes] = gzip_alone(s.dir.file("store/bucket/backups/bench/bench.tar.gz"));

  std::printf("[%d objects] arca backup: %d items in %.2f s wall (create → Completed seen) = %.0f objects/s; "
              "tarball %.1f MiB\n",
              objects, items, wall, items / wall, tarball / 1048576.0);
  std::printf("[%d objects] arca server RSS: idle %.1f MiB, peak %.1f MiB\n", objects, idle_kib / 1024.0,
              peak_kib / 1024.0);
  std::printf("[%d objects] CPU during the backup: arca server %.2f s, kubelite %.2f s\n", objects, server_cpu,
              kubelite_cpu);
  std::printf("[%d objects] plain libcurl download of the same list pages: %.2f s (%.1f MiB) → arca/curl = %.2f×\n",
              objects, curl_s, curl_bytes / 1048576.0, wall / curl_s);
  std::printf("[%d objects] the tarball's gzip alone (%.1f MiB of tar, every item twice as Velero writes it), as "
              "arca compresses it: %.2f s = %.2f× the download\n",
              objects, tar_bytes / 1048576.0, gzip_s, gzip_s / curl_s);
  server.signal(SIGTERM);
  server.wait(std::chrono::seconds(10));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  int pairs = 2;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--objects") sizes.push_back(std::atoi(argv[++i]));
    else if (std::string(argv[i]) == "--pairs") pairs = std::max(1, std::atoi(argv[++i]));
  }
  if (sizes.empty()) sizes = {30000, 300000};
  benchsupport::use_build_defaults();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as each size finishes
  curl_global_init(CURL_GLOBAL_ALL);
  for (int n : sizes) run(n, pairs);
  return 0;
}
