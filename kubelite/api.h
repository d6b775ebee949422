#pragma once
// The Kubernetes REST API on top of the registry and the store, independent of the HTTP library:
// one request in, one response (or a watch stream) out.
#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kubelite/registry.h"
#include "kubelite/reviews.h"
#include "kubelite/store.h"

namespace kubelite {

namespace workloads {
class Cluster;
}

struct ApiRequest {
  std::string method;  // GET, POST, PUT, PATCH, DELETE
  std::string path;
  std::map<std::string, std::string> query;  // decoded
  std::vector<std::string> commands;         // every `command` parameter in order (pods/exec repeats it)
  std::string accept, content_type, user_agent;
  std::string body;
  UserInfo user;  // who authenticated (SelfSubjectReview answers with it)
};

// A running watch: next() blocks up to `wait` for events and appends newline-terminated JSON events to
// `out`; it returns false once the stream is over (timeout, too-old version, server stopping).
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  virtual bool next(std::string& out, std::chrono::milliseconds wait) = 0;
};

// A response body assembled from pieces that stay valid while `hold` lives: large LISTs are written from the
// stored objects themselves, without first copying them into one string.
struct PiecewiseBody {
  std::vector<std::string_view> pieces;
  std::vector<ObjectPtr> hold;
  std::vector<std::string> owned;  // pieces that are not stored objects (reserved up front: views stay valid)
  size_t size = 0;
  void add(std::string_view piece) {
    pieces.push_back(piece);
    size += piece.size();
  }
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::shared_ptr<PiecewiseBody> pieces;  // set: the body (instead of `body`)
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Warning
  std::unique_ptr<WatchStream> watch;                          // set: stream instead of body
};

// What only a node can answer: a container's log (GET pods/<name>/log). Set by the data plane
// (workloads/pod_streams.cc); without one, logs are empty.
// A WebSocket connection the HTTP server handed over for pods/exec: whole binary messages each way.
class StreamConnection {
 public:
  virtual ~StreamConnection() = default;
  virtual bool read_message(std::string& payload) = 0;         // false once closed
  virtual bool write_message(const std::string& payload) = 0;  // safe from any thread
  virtual void close() = 0;                                    // close frame, then the socket; unblocks readers
};
using ExecSession = std::function<void(StreamConnection&)>;

class PodStreams {
 public:
  virtual ~PodStreams() = default;
  // `pod` is the stored Pod; throws ApiError for a container that is not there or has not started.
  virtual ApiResponse log(const nlohmann::json& pod, const ApiRequest& request) = 0;
  // Checks a pods/exec request (throws ApiError as the API server answers it) and returns the session to run
  // over the upgraded connection; `protocol` is the negotiated channel.k8s.io version.
  virtual ExecSession exec(const nlohmann::json& pod, const ApiRequest& request, const std::string& protocol) = 0;
};

struct ApiOptions {
  size_t watch_history = 10000;  // change events kept for watches that resume from a resourceVersion
  std::string data_dir;          // empty: memory only
  std::string server_address;    // host:port, for /api's serverAddressByClientCIDRs
  std::string ca_pem;            // ConfigMap kube-root-ca.crt in every namespace
  int node_port_first = 30000, node_port_last = 32767;  // like kube-apiserver's --service-node-port-range
  // The CSI host-path driver's directory (kubelite/storage/hostpath.h). Empty: no driver, and a fresh cluster
  // has no CSIDriver, default StorageClass or snapshot CRDs.
  std::string csi_root;
  std::map<std::string, UserInfo> tokens;  // bearer token → user: what TokenReviews answer
};

class Api {
 public:
  explicit Api(ApiOptions options);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  ApiResponse handle(const ApiRequest& request);
  // A WebSocket pods/exec request: the session to run once upgraded, or nothing with `refusal` set.
  ExecSession exec(const ApiRequest& request, const std::string& protocol, ApiResponse& refusal);
  // Creates one object from a manifest (for --load); throws ApiError.
  void create_from_manifest(const nlohmann::json& object);
  // Starts the background controllers (namespace cleanup, garbage collection, volume binding, CRD
  // cleanup). Separate from construction so that bulk loading does not race them.
  void start_controllers();
  // Runs the controllers until they have nothing left to do (after --load: the API is served settled), or until
  // `stop` is set (a signal: checked between passes).
  void settle_controllers(const std::atomic<bool>& stop);
  void set_server_address(const std::string& address) { options_.server_address = address; }
  void set_pod_streams(PodStreams* streams);  // before serving
  Store& store() { return store_; }
  // The view the workload controllers, scheduler and kubelets work through (workloads/api_cluster.cc).
  std::unique_ptr<workloads::Cluster> cluster();

  struct Impl;

 private:
  ApiOptions options_;
  Registry registry_;
  Store store_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kubelite
