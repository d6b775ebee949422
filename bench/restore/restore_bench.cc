// End-to-end restore throughput (issue 6 targets): the backup benchmark's data set (N objects in 1,000
// namespaces, copies of the fixtures' namespaced manifests) is backed up by `arca server` from a seeded
// kubelite to a local store; a second, empty kubelite with its own `arca server` syncs that backup from the
// store and restores it through a Restore object (`arca restore create`), as users do. Then a plain parallel
// loader POSTs the same objects (namespaces first, then everything else, no tiers) into a third empty kubelite.
// Prints the restore's objects/s, the restoring server's peak RSS, the CPU seconds of the server and of kubelite
// (the API server's work decides the pace on a 2-core machine), the slowest resource tiers from the restore log,
// and the restore / loader time ratio. Targets: ≥ 3,000 objects/s, ≤ 1.5× the loader's time, RSS ≤ 128 MiB.
//   restore_bench [--objects N ...] [--workers N] [--server-flag --client-qps=100 ...] [--protected true]
//   (default: 30000 300000; 32 loader workers; `arca server` with its default flags)
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "archive/tarball_reader.h"
#include "bench/support/seeded_cluster.h"
#include "crypt/age.h"
#include "crypt/sign.h"
#include "kube/config.h"
#include "kube/discovery.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/transport.h"
#include "persistence/backup_store.h"

namespace {

using namespace arca;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using benchsupport::SeededCluster;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void arca_or_throw(const SeededCluster& cluster, const std::string& args) {
  if (benchsupport::arca(cluster, args) != 0)
    throw std::runtime_error("arca " + args + " failed: " + testsupport::read_file(cluster.dir.file("cli.log")));
}

// Polls an object of the velero namespace every 20 ms (the CLI's --wait looks once a second) until its
// status.phase is one of `final`; throws on the others that end it.
json wait_for_phase(const SeededCluster& cluster, const std::string& plural, const std::string& name) {
  for (;;) {
    json object = json::parse(benchsupport::http_get(cluster, "/apis/velero.io/v1/namespaces/velero/" + plural + "/" + name),
                              nullptr, false);
    std::string phase = object.is_object() ? object.value("/status/phase"_json_pointer, std::string()) : "";
    if (phase == "Completed") return object;
    if (phase == "Failed" || phase == "FailedValidation" || phase == "PartiallyFailed")
      throw std::runtime_error(plural + "/" + name + " ended " + phase + ": " + object.dump());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

testsupport::ChildProcess start_server(const SeededCluster& cluster, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {testsupport::build_dir() + "/src/cli/arca", "server", "--kubeconfig",
                                   cluster.kubeconfig};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return testsupport::ChildProcess(argv, cluster.dir.file("server.log"));
}

void stop_server(testsupport::ChildProcess& server) {
  server.signal(SIGTERM);
  server.wait(std::chrono::seconds(30));
}

// resources/<resource.group>/{cluster|namespaces/<ns>}/<name>.json (the unversioned copy of each item).
bool item_path(const std::string& path, std::string& resource_dir, bool& cluster_scoped) {
  if (path.rfind("resources/", 0) != 0) return false;
  size_t first = path.find('/', 10);
  if (first == std::string::npos) return false;
  resource_dir = path.substr(10, first - 10);
  size_t slashes = std::count(path.begin(), path.end(), '/');
  if (path.compare(first + 1, 8, "cluster/") == 0 && slashes == 3) cluster_scoped = true;
  else if (path.compare(first + 1, 11, "namespaces/") == 0 && slashes == 4) cluster_scoped = false;
  else return false;
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0;
}

// The plain loader: every item of the tarball POSTed by `workers` threads, namespaces first (nothing can be
// created in a namespace before it exists), everything else in one go. Only what the API server would refuse
// (uid, resourceVersion, allocated Service addresses) is removed. Returns seconds; counts creates and failures.
double plain_load(const std::string& tarball, int workers, long& created, long& failed) {
  SeededCluster cluster;
  benchsupport::start_seeded(cluster, 0);
  kube::LoadOptions load;
  load.kubeconfig = cluster.kubeconfig;
  kube::RestConfig config = kube::load_config(load);
  config.qps = 0;  // no client-side limit: the loader is bounded by its workers alone
  kube::Transport transport(config);
  kube::Discovery discovery(transport);
  kube::DynamicClient client(transport);

  std::mutex mutex;
  std::condition_variable ready, idle;
  std::deque<std::pair<kube::ApiResource, std::string>> queue;
  int busy = 0;
  bool done = false;
  std::atomic<long> ok{0}, failures{0};
  long skipped = 0;
  std::map<std::string, long> refusals;  // other than AlreadyExists, by resource
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&] {
      for (;;) {
        std::pair<kube::ApiResource, std::string> job;
        {
          std::unique_lock lock(mutex);
          ready.wait(lock, [&] { return done || !queue.empty(); });
          if (queue.empty()) return;
          job = std::move(queue.front());
          queue.pop_front();
          ++busy;
        }
        ready.notify_all();
        json object = json::parse(job.second);
        object["metadata"].erase("uid");
        object["metadata"].erase("resourceVersion");
        object.erase("status");
        if (object.value("kind", "") == "Job") {  // a selector generated from the old Job's uid is refused
          object["spec"].erase("selector");
          if (object.contains("/spec/template/metadata/labels"_json_pointer))
            for (const char* label : {"controller-uid", "batch.kubernetes.io/controller-uid"})
              object["spec"]["template"]["metadata"]["labels"].erase(label);
        }
        if (object.value("kind", "") == "Service" && object["spec"].value("clusterIP", "") != "None") {
          object["spec"].erase("clusterIP");
          object["spec"].erase("clusterIPs");
          for (auto& port : object["spec"].value("ports", json::array())) port.erase("nodePort");
        }
        try {
          const std::string ns = job.first.namespaced ? object["metadata"].value("namespace", "") : "";
          client.create(job.first, ns, object);
          ++ok;
        } catch (const kube::KubeError& e) {
          ++failures;
          if (!kube::is_already_exists(e)) {  // the namespaces' own ServiceAccount and ConfigMap are expected
            std::lock_guard lock(mutex);
            if (refusals[job.first.group_resource()]++ == 0)
              std::printf("plain loader: %s refused: %s\n", job.first.group_resource().c_str(), e.what());
          }
        }
        std::lock_guard lock(mutex);
        if (--busy == 0 && queue.empty()) idle.notify_all();
      }
    });
  auto enqueue = [&](kube::ApiResource resource, std::string content) {
    std::unique_lock lock(mutex);
    ready.wait(lock, [&] { return queue.size() < static_cast<size_t>(workers) * 4; });
    queue.emplace_back(std::move(resource), std::move(content));
    ready.notify_all();
  };
  auto read_items = [&](bool namespaces) {
    std::FILE* file = std::fopen(tarball.c_str(), "rb");
    archive::TarballReader reader([file](char* b, size_t n) { return std::fread(b, 1, n, file); });
    while (auto entry = reader.next()) {
      std::string dir;
      bool cluster_scoped = false;
      if (!item_path(entry->path, dir, cluster_scoped) || (dir == "namespaces") != namespaces) continue;
      std::string content = reader.read_content();
      std::string api_version = json::parse(content).value("apiVersion", "");
      size_t dot = dir.find('.'), slash = api_version.find('/');
      std::string plural = dir.substr(0, dot), group = dot == std::string::npos ? "" : dir.substr(dot + 1);
      kube::ApiResource resource;
      try {
        resource = discovery.lookup(group, slash == std::string::npos ? api_version : api_version.substr(slash + 1), plural);
      } catch (const kube::KubeError&) {
        ++skipped;  // velero.io objects: this cluster has no such types (the restore never restores them either)
        continue;
      }
      enqueue(std::move(resource), std::move(content));
    }
    std::fclose(file);
    std::unique_lock lock(mutex);
    idle.wait(lock, [&] { return queue.empty() && busy == 0; });
  };
  double kubelite_cpu = benchsupport::cpu_seconds(cluster.kubelite.pid()), own_cpu = benchsupport::cpu_seconds(getpid());
  auto start = Clock::now();
  read_items(true);
  read_items(false);
  double elapsed = seconds_since(start);
  std::printf("plain loader CPU: loader %.1f s, kubelite %.1f s\n", benchsupport::cpu_seconds(getpid()) - own_cpu,
              benchsupport::cpu_seconds(cluster.kubelite.pid()) - kubelite_cpu);
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  ready.notify_all();
  for (auto& t : threads) t.join();
  created = ok;
  failed = failures;
  if (skipped > 0) std::printf("plain loader: %ld items of types the cluster does not have were left out\n", skipped);
  return elapsed;
}

// The restore log says how long each resource tier took ("restored resource R: N items in S s").
// A restore's gzip'd file as stored; one restored from an encrypted backup is age-encrypted too.
std::string stored_gzip(const std::string& path, const std::vector<std::string>& identities, const std::string& what) {
  std::string bytes = testsupport::read_file(path);
  if (crypt::is_age(bytes)) bytes = crypt::age_decrypt_string(bytes, identities, what);
  return persistence::gunzip_bytes(bytes, what);
}

void print_slowest_tiers(int objects, const std::string& log_gz, const std::vector<std::string>& identities) {
  std::vector<std::pair<double, std::string>> tiers;
  std::istringstream log(stored_gzip(log_gz, identities, "the restore log"));
  for (std::string line; std::getline(log, line);) {
    const char* at = std::strstr(line.c_str(), "restored resource ");
    const char* in = at != nullptr ? std::strstr(at, " items in ") : nullptr;
    if (in == nullptr) continue;
    std::string tier(at + 18, in);  // "<resource>: <items>"
    tier.replace(tier.find(": "), 2, " ");
    tiers.emplace_back(std::atof(in + 10), tier + " items");
  }
  std::sort(tiers.rbegin(), tiers.rend());
  std::string slowest;
  for (size_t i = 0; i < tiers.size() && i < 6; ++i) {
    char entry[256];
    std::snprintf(entry, sizeof entry, "%s%s (%.1f s)", i == 0 ? "" : ", ", tiers[i].second.c_str(), tiers[i].first);
    slowest += entry;
  }
  std::printf("[%d objects] slowest tiers: %s\n", objects, slowest.c_str());
}

// What the restore warned about, grouped by the message with names and namespaces cut off (the first 50
// characters), most frequent first: a benchmark's warnings should be the expected ones.
void print_warning_kinds(int objects, const std::string& results_gz, const std::vector<std::string>& identities) {
  json results =
      json::parse(stored_gzip(results_gz, identities, "the restore results"), nullptr, false);
  if (!results.is_object()) return;
  std::map<std::string, int> kinds;
  const json warnings = results.value("warnings", json::object());
  auto count = [&](const json& list) {
    for (const auto& message : list) kinds[message.get<std::string>().substr(0, 50)]++;
  };
  count(warnings.value("velero", json::array()));
  count(warnings.value("cluster", json::array()));
  const json namespaces = warnings.value("namespaces", json::object());
  for (const auto& [ns, list] : namespaces.items()) count(list);
  std::vector<std::pair<int, std::string>> sorted;
  for (const auto& [kind, n] : kinds) sorted.emplace_back(n, kind);
  std::sort(sorted.rbegin(), sorted.rend());
  for (size_t i = 0; i < sorted.size() && i < 5; ++i)
    std::printf("[%d objects] warning x%d: %s...\n", objects, sorted[i].first, sorted[i].second.c_str());
}

// --protected: the same data is also backed up to an encrypting, signing location and restored (decrypted and
// verified first) into a second empty kubelite, against the plain restore as the peer (issue 20).
struct Protection {
  bool enabled = false;
  crypt::AgeKeyPair age = crypt::generate_age_identity();
  crypt::SigningKeyPair signing = crypt::generate_signing_key();
  std::string key_file;
};

void run(int objects, int loader_workers, const std::vector<std::string>& server_flags, bool protect) {
  testsupport::TempDir work;
  const std::string store = work.file("store");
  std::filesystem::create_directories(store + "/bucket");
  Protection protection;
  protection.enabled = protect;
  protection.key_file = work.file("age-key.txt");
  std::ofstream(protection.key_file) << protection.age.identity << "\n";
  std::filesystem::create_directories(store + "/sealed");
  const std::string sealed_config = "root=" + store + ",encryptionRecipients=" + protection.age.recipient +
                                    ",signingPublicKey=" + protection.signing.public_key;

  // The backup benchmark's backup.
  {
    SeededCluster source;
    auto start = Clock::now();
    benchsupport::start_seeded(source, objects);
    std::printf("[%d objects] seeded kubelite in %.1f s\n", objects, seconds_since(start));
    arca_or_throw(source, "install --crds-only");
    arca_or_throw(source, "backup-location create default --provider local --bucket bucket --config root=" + store);
    auto server = start_server(source);
    start = Clock::now();
    arca_or_throw(source, "backup create bench");
    json backup = wait_for_phase(source, "backups", "bench");
    std::printf("[%d objects] backup: %d items in %.1f s\n", objects,
                backup["status"]["progress"].value("itemsBackedUp", 0), seconds_since(start));
    if (protection.enabled) {
      std::string cmd = "kubectl --kubeconfig " + source.kubeconfig + " -n velero create secret generic arca-signing "
                        "--from-literal=signing-key=" + protection.signing.private_key + " > /dev/null 2>&1";
      if (std::system(cmd.c_str()) != 0) throw std::runtime_error("kubectl create secret failed");
      arca_or_throw(source, "backup-location create sealed --provider local --bucket sealed --config " + sealed_config +
                                ",signingKeySecret=arca-signing");
      start = Clock::now();
      arca_or_throw(source, "backup create bench-sealed --storage-location sealed");
      backup = wait_for_phase(source, "backups", "bench-sealed");
      std::printf("[%d objects] encrypted + signed backup: %d items in %.1f s\n", objects,
                  backup["status"]["progress"].value("itemsBackedUp", 0), seconds_since(start));
    }
    stop_server(server);
  }  // the source kubelite stops here: the restore does not share the machine with it
  const std::string tarball = store + "/bucket/backups/bench/bench.tar.gz";

  double restore_s = 0;
  int restored = 0;
  auto restore_into_empty = [&](const std::string& location, const std::string& config, const std::string& backup,
                                const std::string& extra) {
    SeededCluster target;
    benchsupport::start_seeded(target, 0);
    arca_or_throw(target, "install --crds-only");
    arca_or_throw(target, "backup-location create " + location + " --provider local --bucket " + location +
                              " --backup-sync-period 1s --config " + config);
    auto server = start_server(target, server_flags);
    wait_for_phase(target, "backups", backup);  // synced from the store
    long idle_kib = benchsupport::status_kib(server.pid(), "VmRSS:");
    double server_cpu = benchsupport::cpu_seconds(server.pid()), kubelite_cpu = benchsupport::cpu_seconds(target.kubelite.pid());
    auto start = Clock::now();
    arca_or_throw(target, "restore create bench-restore --from-backup " + backup + extra);
    json restore = wait_for_phase(target, "restores", "bench-restore");
    double seconds = seconds_since(start);
    long peak_kib = benchsupport::status_kib(server.pid(), "VmHWM:");
    server_cpu = benchsupport::cpu_seconds(server.pid()) - server_cpu;
    kubelite_cpu = benchsupport::cpu_seconds(target.kubelite.pid()) - kubelite_cpu;
    int items = restore["status"]["progress"].value("itemsRestored", 0);
    std::printf("[%d objects] arca restore of %s (Restore CR through arca server%s): %d items in %.2f s (create → "
                "Completed seen) = %.0f objects/s; %d warnings, %d errors\n",
                objects, backup.c_str(), server_flags.empty() ? ", default flags" : "", items, seconds,
                items / seconds, restore["status"].value("warnings", 0), restore["status"].value("errors", 0));
    std::printf("[%d objects] arca server RSS: idle %.1f MiB, peak %.1f MiB; CPU: arca server %.1f s, kubelite %.1f s\n",
                objects, idle_kib / 1024.0, peak_kib / 1024.0, server_cpu, kubelite_cpu);
    stop_server(server);
    const std::vector<std::string> identities = {protection.age.identity};
    print_slowest_tiers(objects, store + "/" + location + "/restores/bench-restore/restore-bench-restore-logs.gz", identities);
    print_warning_kinds(objects, store + "/" + location + "/restores/bench-restore/restore-bench-restore-results.gz",
                        identities);
    return std::pair{seconds, items};
  };
  std::tie(restore_s, restored) = restore_into_empty("bucket", "root=" + store, "bench", "");
  if (protection.enabled) {
    auto [sealed_s, sealed_items] =
        restore_into_empty("sealed", sealed_config, "bench-sealed", " --decryption-key-file " + protection.key_file);
    std::printf("[%d objects] encrypted + signed restore (decrypted and verified first): %.2f s vs plain %.2f s → "
                "overhead %+.1f %% (%d vs %d items)\n",
                objects, sealed_s, restore_s, 100.0 * (sealed_s / restore_s - 1), sealed_items, restored);
  }

  long created = 0, failed = 0;
  double plain_s = plain_load(tarball, loader_workers, created, failed);
  std::printf("[%d objects] plain loader: %ld objects POSTed in %.2f s = %.0f objects/s, %d workers (%ld refused)\n",
              objects, created, plain_s, created / plain_s, loader_workers, failed);
  std::printf("[%d objects] restore / plain loader time: %.2fx\n", objects, restore_s / plain_s);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as they are measured, also when redirected
  std::vector<int> sizes;
  std::vector<std::string> server_flags;
  int workers = 32;
  bool protect = false;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", flag.c_str());
      return 2;
    }
    if (flag == "--objects") sizes.push_back(std::atoi(argv[++i]));
    else if (flag == "--workers") workers = std::atoi(argv[++i]);
    else if (flag == "--server-flag") server_flags.push_back(argv[++i]);
    else if (flag == "--protected") protect = std::string(argv[++i]) == "true";
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (sizes.empty()) sizes = {30000, 300000};
  benchsupport::use_build_defaults();
  for (int n : sizes) run(n, workers, server_flags, protect);
  return 0;
}
