#pragma once
// Container probes as the kubelet runs them (k8s.io/kubernetes/pkg/kubelet/prober): exec inside the
// container's sandbox, httpGet, tcpSocket and grpc against the pod's network, which for kubelite's sandboxes is the
// host's (they share its network namespace), so the target is 127.0.0.1 unless the probe names a host. Probes
// run on worker threads, never under the API's write lock; the kubelet collects their outcomes.
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kubelite/workloads/runtime.h"

namespace kubelite::workloads {

struct ProbeOutcome {
  std::mutex mu;
  bool done = false, success = false;
  std::string message;  // why it failed ("HTTP probe failed with statuscode: 404", the command's output...)
};

// A non-blocking TCP socket connected to host:port within `timeout_ms`, or -1 with `error` worded as Go's net
// package words it ("dial tcp 127.0.0.1:80: connect: connection refused"). Shared by the tcpSocket and grpc probes.
int dial_tcp(const std::string& host, int port, int timeout_ms, std::string& error);

// Runs one probe to its end (blocking, bounded by timeoutSeconds). `container` resolves named ports.
bool run_probe(ContainerRuntime& runtime, const std::string& runtime_id, const nlohmann::json& probe,
               const nlohmann::json& container, std::string& message);

class Prober {
 public:
  explicit Prober(int threads);
  ~Prober();  // waits for the probes under way
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;
  void submit(std::function<void()> job);

 private:
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
};

}  // namespace kubelite::workloads
