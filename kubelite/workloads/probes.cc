#include "kubelite/workloads/probes.h"

#include "kubelite/workloads/grpc_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <httplib.h>

namespace kubelite::workloads {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A port given by number or by the name of one of the container's ports; 0 when unknown.
int resolve_port(const json& port, const json& container) {
  if (port.is_number_integer()) return port.get<int>();
  if (!port.is_string()) return 0;
  std::string name = port.get<std::string>();
  for (const auto& p : container.value("ports", json::array()))
    if (p.value("name", "") == name) return p.value("containerPort", 0);
  return std::atoi(name.c_str());
}

bool exec_probe(ContainerRuntime& runtime, const std::string& id, const json& command, int timeout_s,
                std::string& message) {
  std::vector<std::string> argv;
  for (const auto& a : command) argv.push_back(a.is_string() ? a.get<std::string>() : a.dump());
  if (argv.empty()) {
    message = "exec probe without a command";
    return false;
  }
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    message = "pipe: " + std::string(strerror(errno));
    return false;
  }
  int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int fds[3] = {null_in, out[1], out[1]};
  std::string error;
  int pid = runtime.exec(id, argv, fds, error);
  close(out[1]);
  if (null_in >= 0) close(null_in);
  if (pid < 0) {
    close(out[0]);
    message = error;
    return false;
  }
  std::string output;
  auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  bool eof = false, timed_out = false;
  int status = 0;
  while (true) {
    if (!eof) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 50) > 0) {
        char buf[4096];
        ssize_t n = read(out[0], buf, sizeof buf);
        if (n <= 0) eof = true;
        else if (output.size() < 10240) output.append(buf, static_cast<size_t>(n));
      }
    } else {
      usleep(20000);
    }
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      timed_out = true;
      break;
    }
  }
  close(out[0]);
  if (timed_out) {
    message = "command timed out";
    return false;
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  message = output;
  if (code != 0 && message.empty()) message = "command terminated with exit code " + std::to_string(code);
  return code == 0;
}

bool tcp_probe(const std::string& host, int port, int timeout_s, std::string& message) {
  int fd = dial_tcp(host, port, timeout_s * 1000, message);
  if (fd < 0) return false;
  close(fd);
  return true;
}

}  // namespace

int dial_tcp(const std::string& host, int port, int timeout_ms, std::string& error) {
  std::string address = "dial tcp " + host + ":" + std::to_string(port);
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res) {
    error = address + ": no such host";
    return -1;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  bool ok = false;
  if (fd >= 0) {
    if (connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      if (poll(&p, 1, std::max(0, timeout_ms)) > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
        ok = true;
      else
        errno = err ? err : ETIMEDOUT;
    }
    if (!ok) {
      error = address + ": connect: " + strerror(errno);
      close(fd);
      fd = -1;
    }
  } else {
    error = address + ": socket: " + strerror(errno);
  }
  freeaddrinfo(res);
  return fd;
}

bool run_probe(ContainerRuntime& runtime, const std::string& runtime_id, const json& probe, const json& container,
               std::string& message) {
  int timeout_s = std::max(1, probe.value("timeoutSeconds", 1));
  if (probe.contains("exec")) return exec_probe(runtime, runtime_id, probe["exec"].value("command", json::array()), timeout_s, message);
  if (probe.contains("tcpSocket")) {
    const json& t = probe["tcpSocket"];
    return tcp_probe(t.value("host", "127.0.0.1"), resolve_port(t.value("port", json()), container), timeout_s, message);
  }
  if (probe.contains("httpGet")) {
    const json& h = probe["httpGet"];
    std::string host = h.value("host", "127.0.0.1");
    int port = resolve_port(h.value("port", json()), container);
    std::string path = h.value("path", "/");
    if (path.empty() || path[0] != '/') path = "/" + path;
    httplib::Headers headers = {{"User-Agent", "kube-probe/1.31"}, {"Accept", "*/*"}};
    for (const auto& hd : h.value("httpHeaders", json::array())) headers.emplace(hd.value("name", ""), hd.value("value", ""));
    // The outcome of a GET: 0 and `message` when the request failed, else the status code.
    auto get = [&](auto& client) {
      client.set_connection_timeout(timeout_s, 0);
      client.set_read_timeout(timeout_s, 0);
      client.set_follow_location(false);
      auto res = client.Get(path, headers);
      if (!res) {
        message = "Get \"http://" + host + ":" + std::to_string(port) + path + "\": " + httplib::to_string(res.error());
        return 0;
      }
      return res->status;
    };
    int status = 0;
    if (h.value("scheme", "HTTP") == "HTTPS") {
      httplib::SSLClient client(host, port);
      client.enable_server_certificate_verification(false);  // as the kubelet: probes do not verify
      status = get(client);
    } else {
      httplib::Client client(host, port);
      status = get(client);
    }
    if (status == 0) return false;
    if (status >= 200 && status < 400) return true;
    message = "HTTP probe failed with statuscode: " + std::to_string(status);
    return false;
  }
  if (probe.contains("grpc")) {
    const json& g = probe["grpc"];
    return grpc_probe("127.0.0.1", g.value("port", 0), g.value("service", ""), timeout_s, message);
  }
  message = "probe has no handler (exec, httpGet, tcpSocket, grpc)";
  return false;
}

Prober::Prober(int threads) {
  for (int i = 0; i < threads; ++i)
    threads_.emplace_back([this] {
      std::unique_lock lock(mu_);
      while (true) {
        cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        job();
        lock.lock();
      }
    });
}

Prober::~Prober() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void Prober::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

}  // namespace kubelite::workloads
