// Restore throughput: a backup tarball of N ConfigMaps and Secrets spread over namespaces (written with the
// archive's tarball writer, as a backup run writes it) is restored into an empty kubelite by the restore engine;
// then the same objects are POSTed into another empty kubelite by a plain parallel loader. Prints objects/s,
// the ratio of the two times and the benchmark process's peak RSS (the restore runs first, so the peak is its).
//   restore_bench [--objects N] [--namespaces N] [--workers N] [--managed-fields]
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "archive/tarball_reader.h"
#include "archive/tarball_writer.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "restore/engine.h"
#include "restore/restore_test_support.h"

namespace {

using namespace arca;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

long peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  return -1;
}

json backed_up_object(int i, int namespaces, bool managed_fields) {
  std::string ns = "bench-" + std::to_string(i % namespaces);
  bool secret = i % 4 == 0;
  json object = {{"apiVersion", "v1"}, {"kind", secret ? "Secret" : "ConfigMap"},
                 {"metadata", {{"name", "item-" + std::to_string(i)}, {"namespace", ns},
                               {"uid", "5f0c1d2e-0000-4000-8000-" + std::to_string(100000000000 + i)},
                               {"resourceVersion", std::to_string(1000 + i)},
                               {"creationTimestamp", "2026-11-24T10:00:00Z"},
                               {"labels", {{"app", "bench"}, {"shard", std::to_string(i % 16)}}}}}};
  if (managed_fields)
    object["metadata"]["managedFields"] = {{{"manager", "kubectl-create"}, {"operation", "Update"}, {"apiVersion", "v1"},
                                            {"time", "2026-11-24T10:00:00Z"}, {"fieldsType", "FieldsV1"},
                                            {"fieldsV1", {{"f:data", {{".", json::object()}}}}}}};
  std::string payload(200, 'a' + i % 26);
  if (secret) {
    object["type"] = "Opaque";
    object["data"] = {{"password", "c2VjcmV0LXZhbHVl"}, {"note", "YmVuY2g="}};
  } else {
    object["data"] = {{"config.yaml", payload}, {"mode", "fast"}};
  }
  return object;
}

void write_backup(const std::string& path, int objects, int namespaces, bool managed_fields) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  archive::TarballWriter writer([&](const char* data, size_t size) { std::fwrite(data, 1, size, file); });
  for (int n = 0; n < namespaces; ++n) {
    json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"},
               {"metadata", {{"name", "bench-" + std::to_string(n)}, {"labels", {{"bench", "restore"}}}}}};
    writer.add_item({"namespaces", "", ns["metadata"]["name"]}, "v1", true, ns.dump());
  }
  for (int i = 0; i < objects; ++i) {
    json object = backed_up_object(i, namespaces, managed_fields);
    writer.add_item({object["kind"] == "Secret" ? "secrets" : "configmaps", object["metadata"]["namespace"],
                     object["metadata"]["name"]},
                    "v1", true, object.dump());
  }
  writer.finish();
  std::fclose(file);
}

archive::ByteSource file_source(std::FILE* file) {
  return [file](char* buffer, size_t capacity) { return std::fread(buffer, 1, capacity, file); };
}

// The plain loader: the namespaces, then every object POSTed by `workers` threads, with only what the API
// server would refuse (uid, resourceVersion) removed.
double plain_load(const std::string& backup, int namespaces, int workers) {
  testsupport::TempDir dir;
  restore::testing::Cluster cluster(dir);
  auto start = Clock::now();
  for (int n = 0; n < namespaces; ++n) cluster.create_namespace("bench-" + std::to_string(n), {{"bench", "restore"}});
  kube::ApiResource configmaps = cluster.resource("configmaps"), secrets = cluster.resource("secrets");
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::pair<const kube::ApiResource*, std::string>> queue;
  bool done = false;
  std::atomic<long> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&] {
      for (;;) {
        std::pair<const kube::ApiResource*, std::string> job;
        {
          std::unique_lock lock(mutex);
          ready.wait(lock, [&] { return done || !queue.empty(); });
          if (queue.empty()) return;
          job = std::move(queue.front());
          queue.pop_front();
        }
        ready.notify_all();
        json object = json::parse(job.second);
        object["metadata"].erase("uid");
        object["metadata"].erase("resourceVersion");
        try {
          cluster.client->create(*job.first, "", object);
        } catch (const kube::KubeError&) {
          ++failures;
        }
      }
    });
  std::FILE* file = std::fopen(backup.c_str(), "rb");
  archive::TarballReader reader(file_source(file));
  while (auto entry = reader.next()) {
    const kube::ApiResource* resource = nullptr;
    if (entry->path.rfind("resources/configmaps/namespaces/", 0) == 0) resource = &configmaps;
    if (entry->path.rfind("resources/secrets/namespaces/", 0) == 0) resource = &secrets;
    if (resource == nullptr) continue;
    std::string content = reader.read_content();
    std::unique_lock lock(mutex);
    ready.wait(lock, [&] { return queue.size() < static_cast<size_t>(workers) * 4; });
    queue.emplace_back(resource, std::move(content));
    ready.notify_all();
  }
  std::fclose(file);
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  ready.notify_all();
  for (auto& t : threads) t.join();
  double elapsed = seconds_since(start);
  if (failures > 0) std::printf("plain loader: %ld creates failed\n", failures.load());
  return elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as they are measured, also when redirected
  int objects = 300000, namespaces = 100, workers = 32;
  bool managed_fields = false;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--managed-fields") {
      managed_fields = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", flag.c_str());
      return 2;
    }
    int value = std::atoi(argv[++i]);
    if (flag == "--objects") objects = value;
    else if (flag == "--namespaces") namespaces = value;
    else if (flag == "--workers") workers = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  setenv("ARCA_BUILD_DIR", ARCA_BUILD_DIR_DEFAULT, 0);
  testsupport::TempDir work;
  std::string backup = work.file("backup.tar.gz");
  auto start = Clock::now();
  write_backup(backup, objects, namespaces, managed_fields);
  std::printf("backup: %d objects in %d namespaces written in %.2f s%s\n", objects, namespaces, seconds_since(start),
              managed_fields ? " (with managedFields)" : "");

  double restore_s = 0;
  int restored = 0;
  {
    testsupport::TempDir dir;
    restore::testing::Cluster cluster(dir);
    api::Restore request = restore::testing::restore_named("bench", "bench-backup");
    restore::RestoreLog log(work.file("restore.log"), "velero/bench");
    restore::EngineOptions options;
    options.workers = workers;
    options.spool_dir = work.path();
    restore::RestoreOutcome outcome;
    std::FILE* file = std::fopen(backup.c_str(), "rb");
    start = Clock::now();
    restore::run_restore(request, file_source(file), *cluster.transport, *cluster.discovery, log, options, outcome);
    restore_s = seconds_since(start);
    std::fclose(file);
    restored = outcome.items_restored;
    std::printf("restore: %d items (%zu errors, %zu warnings) in %.2f s = %.0f objects/s, %d workers\n", restored,
                outcome.errors.count(), outcome.warnings.count(), restore_s, restored / restore_s, workers);
  }
  std::printf("peak RSS of the restore: %ld MiB\n", peak_rss_mib());
  double plain_s = plain_load(backup, namespaces, workers);
  std::printf("plain loader: %d objects in %.2f s = %.0f objects/s, %d workers\n", objects + namespaces, plain_s,
              (objects + namespaces) / plain_s, workers);
  std::printf("restore / plain loader time: %.2fx\n", restore_s / plain_s);
  return 0;
}
