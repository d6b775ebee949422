#pragma once
// Starts the kubelite binary as a real process for integration tests and benchmarks.
//
// kubelite's start-up contract (kubelite/main.cc): `kubelite --port 0 --kubeconfig-out FILE [--tls]
// [--data-dir DIR] [--load DIR] [--token T]` listens on 127.0.0.1, then writes FILE atomically (so its
// existence means "ready") with contexts:
//   - "kubelite": the default; user with the bearer token (over --tls: CA data of the generated CA);
//   - "kubelite-cert" (only with --tls): user with a client certificate and key signed by that CA.
#include <chrono>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace testsupport {

struct KubeliteOptions {
  bool tls = false;
  std::string data_dir;                 // empty: memory only
  std::string load_dir;                 // manifests to bulk-load at start
  std::vector<std::string> extra_args;  // anything else kubelite accepts
};

struct Kubelite {
  ChildProcess process;
  std::string kubeconfig;  // path of the written kubeconfig
  std::string server;      // e.g. http://127.0.0.1:43121
  std::string token;       // bearer token that the server accepts
  std::string ca_file;     // PEM of the CA (TLS only), written beside the kubeconfig
};

// Starts kubelite from $ARCA_BUILD_DIR/kubelite/kubelite in `dir`; throws std::runtime_error with the
// server's log if it is not ready within 10 s.
Kubelite start_kubelite(const TempDir& dir, const KubeliteOptions& options = {});

// `kubectl --kubeconfig KUBECONFIG ARGS` (the real kubectl) through run_command, its output kept under `dir`.
CommandResult kubectl(const std::string& kubeconfig, const std::vector<std::string>& args, const TempDir& dir);
// Polls with kubectl until the pod's phase is Running; false when `timeout` passed first.
bool wait_for_pod_running(const std::string& kubeconfig, const std::string& ns, const std::string& pod,
                          const TempDir& dir, std::chrono::seconds timeout = std::chrono::seconds(30));

}  // namespace testsupport
