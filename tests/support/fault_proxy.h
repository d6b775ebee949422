#pragma once
// A TCP proxy in front of a plain-HTTP/1.1 API server (kubelite) that answers chosen requests itself, so an
// integration test can make one API call fail the way a real cluster would (e.g. RBAC forbidding a LIST)
// while every other byte, long-running watches included, passes through unchanged. Requests are parsed
// only for their boundaries (request line, headers, Content-Length body); clients must not pipeline
// (libcurl does not), so an answered request never has an upstream response in flight behind it.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace testsupport {

class FaultProxy {
 public:
  // Listens on 127.0.0.1 (any free port) and forwards to `upstream_url` (http://host:port).
  explicit FaultProxy(const std::string& upstream_url);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  using Matcher = std::function<bool(std::string_view method, std::string_view target)>;
  // From now on, requests `matches` accepts get `status` with a Kubernetes Status body carrying `message`
  // instead of reaching the server (a `message` starting with '<' is sent as it is, as XML: an S3 error). Replaces
  // the previous rule.
  void fail(Matcher matches, int status, std::string message);
  void clear();
  // How many requests were answered by the rule so far.
  int failed_requests() const { return failed_; }

  // From now on, requests `matches` accepts are held `by` before they are forwarded: a slow API server. Since a
  // client does not pipeline, the most requests held at once is the most the client had in flight (the server's
  // own part of each request is small against `by`), and the first and last forwarding times give its rate.
  void delay(Matcher matches, std::chrono::milliseconds by);
  struct DelayStats {
    int requests = 0;
    int max_concurrent = 0;
    // For each held request, how many were held at its arrival (itself included): a client limited by a rate
    // rather than by its concurrency keeps this low once its burst is spent.
    std::vector<int> held_at_arrival;
    std::chrono::steady_clock::time_point first, last;
  };
  DelayStats delay_stats();
  // Faults of the network rather than of the server (the object-store and API drills). Each replaces the
  // previous rule, as fail() does; failed_requests() counts them too. A Matcher may keep state (a counter, a
  // seeded random generator) to fault only some of the requests it sees.
  // The request reaches the server and is applied, but its answer is lost: the client's connection is closed
  // as soon as the first byte of the answer arrives (the "reset after the request" case).
  void drop_answers(Matcher matches);
  // The connection is closed before the request reaches the server.
  void reset_requests(Matcher matches);
  // The connection is closed once the request's head has arrived and while its body is still coming: the server
  // went away as the client was sending (a keep-alive connection closed by the server's idle timeout just as a
  // request starts on it). Only bodies larger than the proxy's 64 KiB reads are cut; the client sees its send
  // fail ("Broken pipe", "Connection reset by peer"), and the server never sees the request.
  void reset_while_sending(Matcher matches);
  // The answer is cut after `bytes` bytes (status line and headers included) and the connection closed.
  void truncate_answers(Matcher matches, size_t bytes);
  // Matching requests wait (not forwarded) until release() or clear(); held_requests() counts the waiting.
  void hold(Matcher matches);
  void release();
  int held_requests() const { return held_; }
  // Every connection open now goes silent for good: what either side sends is swallowed, nothing is closed
  // (a server or a path to it that stopped answering, e.g. a dead node behind a load balancer). Connections
  // opened afterwards work. Returns how many were stalled.
  int stall_open_connections();

 private:
  struct Connection;
  void accept_loop();
  void serve(std::shared_ptr<Connection> connection);
  // The canned answer for a request, or "" to forward it.
  std::string answer_for(std::string_view method, std::string_view target);
  enum class Action { None, Answer, DropAnswer, Reset, ResetWhileSending, Truncate, Hold };
  // What the rule does with this request (None: forward it untouched). `head_only`: asked when the head has
  // arrived and the body has not (only ResetWhileSending acts then, and only then).
  Action action_for(std::string_view method, std::string_view target, bool head_only = false);
  void set_rule(Matcher matches, Action action);

  std::string upstream_host_;
  int upstream_port_ = 0;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> failed_{0};
  std::atomic<int> held_{0};
  Action action_ = Action::Answer;
  size_t truncate_bytes_ = 0;
  bool released_ = false;
  std::condition_variable release_cv_;
  std::thread acceptor_;
  std::mutex mutex_;  // guards the rule and the connection list
  Matcher matches_;
  int status_ = 0;
  std::string message_;
  std::vector<std::shared_ptr<Connection>> connections_;
  Matcher delay_matches_;
  std::chrono::milliseconds delay_{0};
  int delayed_now_ = 0;
  DelayStats delay_stats_;
  // Holds the request if the delay rule matches it.
  void apply_delay(std::string_view method, std::string_view target);
};

// A copy of `kubeconfig` whose clusters point at `server_url`, written to `out_path`.
void write_kubeconfig_for(const std::string& kubeconfig, const std::string& server_url, const std::string& out_path);

}  // namespace testsupport
