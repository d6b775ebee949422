#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <stdexcept>

namespace testsupport {

struct FaultProxy::Connection {
  int client_fd = -1, upstream_fd = -1;
  std::mutex client_write;  // the pump and an answered request may both write to the client
  // Set for the request just forwarded: the pump drops its answer (SIZE_MAX) or passes only this many bytes.
  std::atomic<size_t> answer_budget{SIZE_MAX};
  std::atomic<bool> limit_answer{false};
  // A request was forwarded and no answer byte came back yet: a client that goes away meanwhile (killed)
  // must not abort it at the server, which would then store a partial body.
  std::atomic<bool> awaiting_answer{false};
  std::atomic<bool> stalled{false};  // stall_open_connections(): both directions swallowed
  std::thread reader, pump;
  void shutdown_both() {
    ::shutdown(client_fd, SHUT_RDWR);
    ::shutdown(upstream_fd, SHUT_RDWR);
  }
};

namespace {

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

int connect_to(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (fd < 0 || ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

// Resets the connection on `fd` (RST, as a server that closes a socket with unread data does) while the number
// `fd` stays open, on an unconnected socket, for the threads that still write to or shut it down.
void reset_connection(int fd) {
  linger hard{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  int placeholder = ::socket(AF_INET, SOCK_STREAM, 0);
  if (placeholder < 0) return;
  ::dup2(placeholder, fd);
  ::close(placeholder);
}

// The value of header `name` in a request head, "" when absent.
std::string header(std::string_view head, std::string_view name) {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    size_t end = head.find("\r\n", pos + 2);
    std::string_view line = head.substr(pos + 2, end - pos - 2);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        ::strncasecmp(line.data(), name.data(), name.size()) == 0) {
      std::string_view value = line.substr(name.size() + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return std::string(value);
    }
    pos = end;
  }
  return "";
}

std::string reason_of(int status) {
  switch (status) {
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    default:
      return "Unknown";
  }
}

}  // namespace

FaultProxy::FaultProxy(const std::string& upstream_url) {
  const std::string scheme = "http://";
  if (upstream_url.rfind(scheme, 0) != 0)
    throw std::invalid_argument("FaultProxy needs an http:// upstream: " + upstream_url);
  std::string host_port = upstream_url.substr(scheme.size());
  host_port = host_port.substr(0, host_port.find('/'));
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("FaultProxy needs host:port in " + upstream_url);
  upstream_host_ = host_port.substr(0, colon);
  upstream_port_ = std::stoi(host_port.substr(colon + 1));

  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("FaultProxy cannot listen on 127.0.0.1");
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  release_cv_.notify_all();
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::shared_ptr<Connection>> connections;
  {
    std::lock_guard lock(mutex_);
    connections.swap(connections_);
  }
  for (auto& c : connections) c->shutdown_both();
  for (auto& c : connections) {
    c->reader.join();
    c->pump.join();
    ::close(c->client_fd);
    ::close(c->upstream_fd);
  }
}

void FaultProxy::fail(Matcher matches, int status, std::string message) {
  std::lock_guard lock(mutex_);
  matches_ = std::move(matches);
  action_ = Action::Answer;
  status_ = status;
  message_ = std::move(message);
}

void FaultProxy::delay(Matcher matches, std::chrono::milliseconds by) {
  std::lock_guard lock(mutex_);
  delay_matches_ = std::move(matches);
  delay_ = by;
}

FaultProxy::DelayStats FaultProxy::delay_stats() {
  std::lock_guard lock(mutex_);
  return delay_stats_;
}

void FaultProxy::apply_delay(std::string_view method, std::string_view target) {
  std::chrono::milliseconds by;
  {
    std::lock_guard lock(mutex_);
    if (!delay_matches_ || !delay_matches_(method, target)) return;
    by = delay_;
    ++delayed_now_;
    delay_stats_.max_concurrent = std::max(delay_stats_.max_concurrent, delayed_now_);
    delay_stats_.held_at_arrival.push_back(delayed_now_);
  }
  std::this_thread::sleep_for(by);
  std::lock_guard lock(mutex_);
  --delayed_now_;
  auto now = std::chrono::steady_clock::now();
  if (delay_stats_.requests++ == 0) delay_stats_.first = now;
  delay_stats_.last = now;
}

void FaultProxy::set_rule(Matcher matches, Action action) {
  {
    std::lock_guard lock(mutex_);
    matches_ = std::move(matches);
    action_ = action;
    released_ = false;
  }
  release_cv_.notify_all();
}

void FaultProxy::drop_answers(Matcher matches) { set_rule(std::move(matches), Action::DropAnswer); }
void FaultProxy::reset_requests(Matcher matches) { set_rule(std::move(matches), Action::Reset); }
void FaultProxy::reset_while_sending(Matcher matches) { set_rule(std::move(matches), Action::ResetWhileSending); }
void FaultProxy::truncate_answers(Matcher matches, size_t bytes) {
  std::lock_guard lock(mutex_);
  matches_ = std::move(matches);
  action_ = Action::Truncate;
  truncate_bytes_ = bytes;
}
void FaultProxy::hold(Matcher matches) { set_rule(std::move(matches), Action::Hold); }

void FaultProxy::release() {
  {
    std::lock_guard lock(mutex_);
    released_ = true;
  }
  release_cv_.notify_all();
}

int FaultProxy::stall_open_connections() {
  std::lock_guard lock(mutex_);
  int stalled = 0;
  for (auto& c : connections_)
    if (!c->stalled.exchange(true)) ++stalled;
  return stalled;
}

void FaultProxy::clear() {
  {
    std::lock_guard lock(mutex_);
    matches_ = nullptr;
    released_ = true;
  }
  release_cv_.notify_all();
}

FaultProxy::Action FaultProxy::action_for(std::string_view method, std::string_view target, bool head_only) {
  std::unique_lock lock(mutex_);
  if (!matches_ || action_ == Action::Answer || head_only != (action_ == Action::ResetWhileSending) ||
      !matches_(method, target))
    return Action::None;
  ++failed_;
  Action action = action_;
  if (action == Action::Hold) {
    ++held_;
    release_cv_.wait(lock, [&] { return released_ || stopping_; });
    --held_;
  }
  return action;
}

std::string FaultProxy::answer_for(std::string_view method, std::string_view target) {
  std::lock_guard lock(mutex_);
  if (!matches_ || action_ != Action::Answer || !matches_(method, target)) return "";
  ++failed_;
  std::string reason = reason_of(status_);
  if (message_.starts_with("<")) {  // an object store's XML error, sent as it is
    return "HTTP/1.1 " + std::to_string(status_) + " " + reason +
           "\r\nContent-Type: application/xml\r\nContent-Length: " + std::to_string(message_.size()) + "\r\n\r\n" +
           message_;
  }
  std::string message;
  for (char ch : message_) {
    if (ch == '"' || ch == '\\') message += '\\';
    message += ch;
  }
  // A Kubernetes Status, as the API server sends for refused requests.
  std::string body = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":")" + message +
                     R"(","reason":")" + reason + R"(","code":)" + std::to_string(status_) + "}";
  return "HTTP/1.1 " + std::to_string(status_) + " " + reason +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

void FaultProxy::accept_loop() {
  while (!stopping_) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    auto connection = std::make_shared<Connection>();
    connection->client_fd = fd;
    connection->upstream_fd = connect_to(upstream_host_, upstream_port_);
    if (connection->upstream_fd < 0) {
      ::close(fd);
      continue;
    }
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    connections_.push_back(connection);
    connection->reader = std::thread([this, connection] { serve(connection); });
  }
}

void FaultProxy::serve(std::shared_ptr<Connection> c) {
  c->pump = std::thread([c] {
    char buffer[65536];
    for (;;) {
      ssize_t n = ::recv(c->upstream_fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      if (c->stalled) continue;
      c->awaiting_answer = false;
      size_t pass = static_cast<size_t>(n);
      bool cut = false;
      if (c->limit_answer) {  // a dropped or truncated answer: pass what the budget allows, then close
        size_t budget = c->answer_budget;
        cut = budget <= pass;
        pass = std::min(pass, budget);
        c->answer_budget = budget - pass;
      }
      std::lock_guard lock(c->client_write);
      if (pass > 0 && !write_all(c->client_fd, std::string_view(buffer, pass))) break;
      if (cut) break;
    }
    c->shutdown_both();
  });

  std::string pending;
  bool raw = false;  // a chunked request body: stop parsing and pass everything through
  bool head_checked = false;  // the rule saw the current request's head while its body was still arriving
  char buffer[65536];
  for (;;) {
    ssize_t n = ::recv(c->client_fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    if (c->stalled) continue;
    pending.append(buffer, static_cast<size_t>(n));
    bool ok = true;
    while (ok && !pending.empty()) {
      if (raw) {
        ok = write_all(c->upstream_fd, pending);
        pending.clear();
        break;
      }
      size_t head_end = pending.find("\r\n\r\n");
      if (head_end == std::string::npos) break;
      std::string_view head(pending.data(), head_end + 2);
      if (!header(head, "Transfer-Encoding").empty()) {
        raw = true;
        continue;
      }
      std::string length = header(head, "Content-Length");
      size_t total = head_end + 4 + (length.empty() ? 0 : std::stoul(length));
      // "Expect: 100-continue" (libcurl sends it with every SigV4 upload): the proxy says Continue itself and
      // keeps the header from the server, so the server's first answer byte is always the final answer.
      std::string expect = header(head, "Expect");
      if (!expect.empty()) {
        size_t start = pending.find("\r\n", 0) + 2;
        for (size_t pos = start; pos < head_end + 2;) {
          size_t end = pending.find("\r\n", pos);
          if (::strncasecmp(pending.data() + pos, "Expect:", 7) == 0) {
            pending.erase(pos, end + 2 - pos);
            total -= end + 2 - pos;
            head_end -= end + 2 - pos;
            break;
          }
          pos = end + 2;
        }
        head = std::string_view(pending.data(), head_end + 2);
        if (::strcasecmp(expect.c_str(), "100-continue") == 0 && pending.size() < total) {
          std::lock_guard lock(c->client_write);
          ok = write_all(c->client_fd, "HTTP/1.1 100 Continue\r\n\r\n");
        }
      }
      std::string_view line = head.substr(0, head.find("\r\n"));
      std::string_view method = line.substr(0, line.find(' '));
      std::string_view target = line.substr(method.size() + 1);
      target = target.substr(0, target.find(' '));
      if (pending.size() < total) {
        if (!head_checked && action_for(method, target, true) == Action::ResetWhileSending) {
          // A reset rather than a close: with the client's sending stalled on a full window, a FIN alone would
          // leave it waiting for its request's answer until its timeout.
          std::lock_guard lock(c->client_write);
          reset_connection(c->client_fd);
          ok = false;
        }
        head_checked = true;
        break;
      }
      head_checked = false;
      std::string answer = answer_for(method, target);
      Action action = answer.empty() ? action_for(method, target) : Action::None;
      if (action == Action::Reset) {
        ok = false;
        break;
      }
      if (action == Action::DropAnswer || action == Action::Truncate) {
        size_t budget = 0;
        if (action == Action::Truncate) {
          std::lock_guard lock(mutex_);
          budget = truncate_bytes_;
        }
        c->answer_budget = budget;
        c->limit_answer = true;
      }
      if (answer.empty()) {
        apply_delay(method, target);
        c->awaiting_answer = true;
        ok = write_all(c->upstream_fd, std::string_view(pending).substr(0, total));
      } else {
        std::lock_guard lock(c->client_write);
        ok = write_all(c->client_fd, answer);
      }
      pending.erase(0, total);
    }
    if (!ok) break;
  }
  for (int i = 0; i < 1000 && c->awaiting_answer && !stopping_; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  c->shutdown_both();
}

void write_kubeconfig_for(const std::string& kubeconfig, const std::string& server_url, const std::string& out_path) {
  YAML::Node config = YAML::LoadFile(kubeconfig);
  for (auto cluster : config["clusters"]) cluster["cluster"]["server"] = server_url;
  std::ofstream out(out_path);
  out << config;
  if (!out) throw std::runtime_error("cannot write " + out_path);
}

}  // namespace testsupport
