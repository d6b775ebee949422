// kubelite: a Kubernetes-API-compatible server for tests, benchmarks and demos.
//   kubelite --port 0 --kubeconfig-out FILE [--data-dir DIR] [--tls] [--token T] [--load DIR] [--bind ADDR]
//            [--nodes N] [--no-processes] [--no-workloads] [--kubelet-root DIR] [--restart-backoff SECONDS]
//            [--no-exec-websocket] [--cron-speed N]
// Start-up contract (tests/support/kubelite_process.h): listen first, then write the kubeconfig atomically,
// then print the server URL on stdout.
#include <CLI/CLI.hpp>
#include <openssl/rand.h>
#include <signal.h>
#include <spawn.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "kubelite/api.h"
#include "kubelite/http_server.h"
#include "kubelite/objects.h"
#include "kubelite/pki.h"
#include "kubelite/rbac.h"
#include "kubelite/workloads/pod_streams.h"
#include "kubelite/workloads/workloads.h"

namespace {

// The temporary directories kubelite made for itself (the CSI driver's volumes, the kubelets' pod directories)
// go when it exits, removed by an `rm -rf` in a session of its own that kubelite does not wait for: after a
// large --load they hold hundreds of thousands of directories, whose removal took longer than a SIGTERM may
// (and the kubelets' were never removed, leaving a directory per pod in /tmp for good).
struct RemoveAtExit {
  std::vector<std::string> paths;
  ~RemoveAtExit() {
    for (const std::string& path : paths) {
      if (path.empty()) continue;
      posix_spawnattr_t attr;
      posix_spawnattr_init(&attr);
      posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
      std::vector<char*> argv = {const_cast<char*>("rm"), const_cast<char*>("-rf"), const_cast<char*>("--"),
                                 const_cast<char*>(path.c_str()), nullptr};
      pid_t pid = 0;
      if (posix_spawnp(&pid, "rm", nullptr, &attr, argv.data(), environ) != 0) {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
      }
      posix_spawnattr_destroy(&attr);
    }
  }
};

std::string random_token() {
  unsigned char bytes[24];
  RAND_bytes(bytes, sizeof bytes);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

// SIGTERM or SIGINT while kubelite loads manifests or settles its controllers: it stops there and exits.
struct Interrupted : std::exception {
  const char* what() const noexcept override { return "stopped by a signal while loading"; }
};

// Loads every *.yaml, *.yml and *.json file of `dir` (sorted by name). Objects that already exist (a data
// directory from an earlier run) are skipped; anything else wrong stops the start with one line.
size_t load_manifests(kubelite::Api& api, const std::string& dir, const std::atomic<bool>& stop) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw std::runtime_error("--load: " + dir + " is not a directory");
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  size_t loaded = 0;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<nlohmann::json> docs;
    try {
      docs = kubelite::decode_manifests(text.str());
    } catch (const std::exception& e) {
      throw std::runtime_error("--load: " + file.string() + ": " + e.what());
    }
    for (const auto& doc : docs) {
      if (stop) throw Interrupted();
      try {
        api.create_from_manifest(doc);
        ++loaded;
      } catch (const kubelite::ApiError& e) {
        if (e.code == 409) continue;
        std::string hint = e.code == 500 && std::string(e.what()).find("nodePort") != std::string::npos
                               ? " (a larger --service-node-port-range makes room for more NodePort Services)"
                               : "";
        throw std::runtime_error("--load: " + file.string() + ": " + e.what() + hint);
      }
    }
  }
  return loaded;
}

// "FIRST-LAST" within 1-65535; anything else stops the start with one line.
void parse_port_range(const std::string& text, int& first, int& last) {
  char rest = 0;
  if (std::sscanf(text.c_str(), "%d-%d%c", &first, &last, &rest) != 2 || first < 1 || last > 65535 || first > last)
    throw std::runtime_error("--service-node-port-range: expected FIRST-LAST within 1-65535, got \"" + text + "\"");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kubelite: a Kubernetes-API-compatible test server"};
  int port = 0;
  std::string kubeconfig_out, data_dir, token, load_dir, bind_address = "127.0.0.1";
  bool tls = false;
  size_t watch_history = 10000;
  std::string node_port_range = "30000-32767";
  std::string csi_root;
  bool no_csi = false;
  int nodes = 2;
  bool no_processes = false, no_workloads = false;
  std::string kubelet_root;
  double restart_backoff = 10;
  double cron_speed = 1;
  app.add_option("--port", port, "TCP port (0: any free port)");
  app.add_option("--kubeconfig-out", kubeconfig_out, "where to write the kubeconfig once listening")->required();
  app.add_option("--data-dir", data_dir, "persist objects in this directory (default: memory only)");
  app.add_flag("--tls", tls, "serve HTTPS with a generated CA; require a bearer token or client certificate");
  app.add_option("--token", token, "bearer token to accept (default: random)");
  std::string token_file;
  app.add_option("--token-auth-file", token_file,
                 "more users, as kube-apiserver's flag: CSV lines token,user,uid,\"group1,group2\" (over --tls; "
                 "RBAC decides what SubjectAccessReviews allow them)");
  app.add_option("--load", load_dir, "create every manifest (*.yaml, *.json) of this directory at start");
  app.add_option("--bind", bind_address, "address to listen on");
  app.add_option("--watch-history", watch_history, "change events kept for watches resuming from a resourceVersion");
  app.add_option("--service-node-port-range", node_port_range,
                 "ports NodePort Services get, FIRST-LAST (as kube-apiserver's flag; default 30000-32767)");
  app.add_option("--csi-hostpath-dir", csi_root,
                 "where the CSI host-path driver keeps volumes and snapshots (default: DATA-DIR/csi-hostpath, or a "
                 "temporary directory removed at exit)");
  app.add_flag("--no-csi-hostpath", no_csi,
               "run without the CSI host-path driver: no CSIDriver, default StorageClass or snapshot CRDs");
  app.add_option("--nodes", nodes, "Nodes to register, each with a kubelet (default 2)")->check(CLI::Range(0, 250));
  app.add_flag("--no-processes", no_processes,
               "run no container processes: pods still go Running (and run-to-completion pods Succeeded)");
  app.add_flag("--no-workloads", no_workloads,
               "no Nodes, workload controllers, scheduler or kubelets: the API alone (what a restore test compares)");
  app.add_option("--kubelet-root", kubelet_root,
                 "where the nodes' kubelet roots go (<dir>/<node>; default: <data-dir>/kubelet, else a temp dir)");
  app.add_option("--restart-backoff", restart_backoff,
                 "seconds of the first crash-loop back-off (the kubelet's 10; doubles up to 300)")->check(CLI::PositiveNumber);
  bool no_exec_websocket = false;
  app.add_flag("--no-exec-websocket", no_exec_websocket,
               "serve pods/exec over SPDY/3.1 only, refusing WebSocket upgrades as an API server before 1.30 (or a "
               "proxy that strips them) does, so that clients' fallback to SPDY can be tested");
  app.add_option("--cron-speed", cron_speed,
                 "how many times faster than real time the CronJob controller's clock runs (tests; default 1)")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  // Signals are handled by one thread (sigwait), from the start: a signal during a long --load stops the load
  // (it used to wait for the load to end). Once serving, it stops the server; stop() is repeated until run()
  // has returned, because the HTTP library ignores a stop() that comes before it is listening.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  std::atomic<bool> signalled{false}, served{false};
  std::atomic<kubelite::HttpServer*> serving{nullptr};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    signalled = true;
    while (!served) {
      if (kubelite::HttpServer* server = serving.load()) server->stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  // However main ends, the signal thread ends first: woken by a signal of our own when none came.
  struct JoinSignalThread {
    std::thread& thread;
    std::atomic<bool>& signalled;
    std::atomic<bool>& served;
    ~JoinSignalThread() {
      served = true;
      if (!signalled) kill(getpid(), SIGTERM);
      thread.join();
    }
  } join_signal_thread{signal_thread, signalled, served};

  try {
    if (token.empty()) token = random_token();
    if (!data_dir.empty()) std::filesystem::create_directories(data_dir);
    kubelite::Pki pki = kubelite::generate_pki();
    kubelite::ApiOptions options;
    options.watch_history = watch_history;
    options.data_dir = data_dir;
    options.ca_pem = pki.ca_cert_pem;
    std::map<std::string, kubelite::UserInfo> users;
    if (!token_file.empty()) {
      std::ifstream in(token_file);
      if (!in) throw std::runtime_error("--token-auth-file: cannot read " + token_file);
      std::stringstream text;
      text << in.rdbuf();
      users = kubelite::parse_token_file(text.str());
    }
    options.tokens = users;
    options.tokens[token] = {"kubelite-admin", {"system:masters", "system:authenticated"}};
    parse_port_range(node_port_range, options.node_port_first, options.node_port_last);
    // Volumes live beside the objects; without a data directory they last as long as the process, as the objects do.
    std::string temporary_csi_root;
    if (!no_csi && csi_root.empty()) {
      if (!data_dir.empty()) {
        csi_root = data_dir + "/csi-hostpath";
      } else {
        std::string pattern = (std::filesystem::temp_directory_path() / "kubelite-csi-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a temporary directory for the CSI driver");
        csi_root = temporary_csi_root = pattern;
      }
    }
    RemoveAtExit remove_at_exit{{temporary_csi_root}};
    if (!no_csi) options.csi_root = csi_root;
    kubelite::Api api(options);
    if (kubelet_root.empty()) {
      if (!data_dir.empty()) {
        kubelet_root = data_dir + "/kubelet";
      } else {
        char tmpl[] = "/tmp/kubelite-kubelet-XXXXXX";
        if (!mkdtemp(tmpl)) throw std::runtime_error("cannot create a kubelet root under /tmp");
        kubelet_root = tmpl;
        remove_at_exit.paths.push_back(kubelet_root);
      }
    }
    kubelite::workloads::Options workload_options;
    workload_options.nodes = no_workloads ? 0 : nodes;
    workload_options.enabled = !no_workloads;
    workload_options.root = std::filesystem::absolute(kubelet_root).string();
    if (!no_csi) workload_options.csi_root = std::filesystem::absolute(csi_root).string();
    workload_options.cron_speed = cron_speed;
    workload_options.restart_backoff = std::chrono::milliseconds(static_cast<long>(restart_backoff * 1000));
    kubelite::workloads::Workloads workloads(api.cluster(),
                                             no_processes ? kubelite::workloads::make_no_process_runtime()
                                                          : kubelite::workloads::make_process_runtime(),
                                             workload_options);
    std::unique_ptr<kubelite::PodStreams> pod_streams = kubelite::workloads::make_pod_streams(workloads);
    api.set_pod_streams(pod_streams.get());
    auto load_start = std::chrono::steady_clock::now();
    size_t loaded = load_dir.empty() ? 0 : load_manifests(api, load_dir, signalled);
    workloads.start();
    for (const auto& node : workloads.nodes())
      std::cerr << "kubelite: node " << node.name << " kubelet root " << node.kubelet_root << "\n";
    if (!load_dir.empty()) {
      // What the controllers write about loaded objects (pods of workloads, volume binding) is part of seeding.
      do {
        workloads.settle(signalled);
        if (signalled) throw Interrupted();
        api.settle_controllers(signalled);
      } while (!workloads.idle());
      size_t n = loaded;
      auto start = load_start;
      std::cerr << "kubelite: loaded " << n << " objects from " << load_dir << " in "
                << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s\n";
      std::unique_lock lock(api.store().mutex());
      api.store().reset_history();
    }
    kubelite::HttpServerOptions http;
    http.bind_address = bind_address;
    http.port = port;
    http.tls = tls ? &pki : nullptr;
    http.token = token;
    http.users = std::move(users);
    http.exec_websocket = !no_exec_websocket;
    kubelite::HttpServer server(api, http);
    int bound = server.bind();
    std::string host = bind_address == "0.0.0.0" ? "127.0.0.1" : bind_address;
    std::string url = std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(bound);
    api.set_server_address(host + ":" + std::to_string(bound));
    api.start_controllers();
    workloads.start_loop();
    kubelite::write_file_atomically(kubeconfig_out,
                                    kubelite::kubeconfig_yaml({url, token, tls ? &pki : nullptr}));
    std::cout << url << std::endl;
    if (signalled) throw Interrupted();
    serving = &server;
    server.run();
    served = true;
  } catch (const Interrupted& e) {
    std::cerr << "kubelite: " << e.what() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "kubelite: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
