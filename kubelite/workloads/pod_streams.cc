// pods/exec as kubelet and API server answer it (k8s.io/apimachinery/pkg/util/remotecommand): a command run in
// the container's sandbox, its stdin/stdout/stderr on channels 0/1/2 of the WebSocket, and on channel 3 the
// metav1.Status of how it ended (v5 adds channel 255: the client closing its stdin). And
// pods/log as the kubelet serves it (k8s.io/kubernetes/pkg/kubelet/kuberuntime/logs): the current or previous
// run of one container, optionally its last tailLines, optionally followed until the container stops; and
// the API server's errors for a container that is not named, not there, or not started.
#include "kubelite/workloads/pod_streams.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "kubelite/objects.h"

namespace kubelite::workloads {

namespace {

std::string tail(const std::string& text, long lines) {
  if (lines < 0) return text;
  size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  size_t pos = end;
  long seen = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++seen == lines) break;
    --pos;
  }
  if (lines == 0) return "";
  return text.substr(pos);
}

// Follows a log file: what is there now, then what is appended, until the container stops.
class FollowStream : public WatchStream {
 public:
  FollowStream(Workloads& w, std::string ns, std::string pod, std::string container, std::string path, size_t offset)
      : w_(w), ns_(std::move(ns)), pod_(std::move(pod)), container_(std::move(container)), path_(std::move(path)),
        offset_(offset) {}
  bool next(std::string& out, std::chrono::milliseconds wait) override {
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
      bool running = false;
      Workloads::ContainerRef ref;
      if (w_.find_container(ns_, pod_, container_, ref)) running = ref.running && ref.log_path == path_;
      std::ifstream in(path_, std::ios::binary);
      in.seekg(static_cast<std::streamoff>(offset_));
      std::stringstream text;
      text << in.rdbuf();
      std::string chunk = text.str();
      offset_ += chunk.size();
      out += chunk;
      if (!running && chunk.empty()) return false;
      if (!chunk.empty() || std::chrono::steady_clock::now() >= deadline) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

 private:
  Workloads& w_;
  std::string ns_, pod_, container_, path_;
  size_t offset_;
};

class Logs : public PodStreams {
 public:
  explicit Logs(Workloads& w) : w_(w) {}

  ExecSession exec(const nlohmann::json& pod, const ApiRequest& req, const std::string& protocol) override {
    std::string ns = pod["metadata"].value("namespace", "");
    std::string name = pod["metadata"].value("name", "");
    auto param = [&](const char* k) {
      auto it = req.query.find(k);
      return it == req.query.end() ? std::string() : it->second;
    };
    std::string phase = pod.value("status", nlohmann::json::object()).value("phase", "");
    if (phase == "Succeeded" || phase == "Failed")
      throw ApiError(400, "BadRequest", "cannot exec into a container in a completed pod; current phase is " + phase);
    if (pod["spec"].value("nodeName", "").empty())
      throw ApiError(400, "BadRequest", "pod " + name + " does not have a host assigned");
    std::string container = param("container");
    std::vector<std::string> names;
    for (const auto& c : pod["spec"].value("containers", nlohmann::json::array())) names.push_back(c.value("name", ""));
    if (container.empty()) {
      if (names.size() != 1) {
        std::string choices;
        for (size_t i = 0; i < names.size(); ++i) choices += (i ? " " : "") + names[i];
        throw ApiError(400, "BadRequest", "a container name must be specified for pod " + name + ", choose one of: [" + choices + "]");
      }
      container = names[0];
    } else if (std::find(names.begin(), names.end(), container) == names.end()) {
      throw ApiError(400, "BadRequest", "container " + container + " is not valid for pod " + name);
    }
    if (req.commands.empty()) throw ApiError(400, "BadRequest", "you must specify at least 1 command");
    Workloads::ContainerRef ref;
    if (!w_.find_container(ns, name, container, ref) || !ref.running)
      throw ApiError(400, "BadRequest", "unable to upgrade connection: container not found (\"" + container + "\")");
    bool with_stdin = param("stdin") == "true" || param("stdin") == "1";
    std::vector<std::string> argv = req.commands;
    std::string runtime_id = ref.runtime_id;
    bool v5 = protocol == "v5.channel.k8s.io";
    return [this, argv, runtime_id, with_stdin, v5](StreamConnection& conn) { run(conn, runtime_id, argv, with_stdin, v5); };
  }

  ApiResponse log(const nlohmann::json& pod, const ApiRequest& req) override {
    std::string ns = pod["metadata"].value("namespace", "");
    std::string name = pod["metadata"].value("name", "");
    auto param = [&](const char* k) {
      auto it = req.query.find(k);
      return it == req.query.end() ? std::string() : it->second;
    };
    std::string container = param("container");
    std::vector<std::string> names;
    for (const char* kind : {"containers", "initContainers"})
      for (const auto& c : pod["spec"].value(kind, nlohmann::json::array())) names.push_back(c.value("name", ""));
    if (container.empty()) {
      size_t app = pod["spec"].value("containers", nlohmann::json::array()).size();
      if (app != 1) {
        std::string choices;
        for (size_t i = 0; i < app; ++i) choices += (i ? " " : "") + names[i];
        throw ApiError(400, "BadRequest", "a container name must be specified for pod " + name + ", choose one of: [" + choices + "]");
      }
      container = names[0];
    } else if (std::find(names.begin(), names.end(), container) == names.end()) {
      throw ApiError(400, "BadRequest", "container " + container + " is not valid for pod " + name);
    }
    Workloads::ContainerRef ref;
    if (!w_.find_container(ns, name, container, ref))
      throw ApiError(400, "BadRequest", "container \"" + container + "\" in pod \"" + name +
                                            "\" is waiting to start: ContainerCreating");
    bool previous = param("previous") == "true";
    std::string path = ref.log_path;
    if (previous) {
      if (ref.previous_log_path.empty())
        throw ApiError(400, "BadRequest", "previous terminated container \"" + container + "\" in pod \"" + name + "\" not found");
      path = ref.previous_log_path;
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::string body = text.str();
    size_t size = body.size();
    std::string tail_lines = param("tailLines");
    if (!tail_lines.empty()) body = tail(body, std::atol(tail_lines.c_str()));
    ApiResponse res;
    res.content_type = "text/plain";
    if (param("follow") == "true" && !previous) {
      res.watch = std::make_unique<FollowStream>(w_, ns, name, container, path, size);
      // What was there already goes first.
      struct Prefixed : WatchStream {
        std::string first;
        std::unique_ptr<WatchStream> rest;
        bool next(std::string& out, std::chrono::milliseconds wait) override {
          if (!first.empty()) {
            out += std::move(first);
            first.clear();
            return true;
          }
          return rest->next(out, wait);
        }
      };
      auto stream = std::make_unique<Prefixed>();
      stream->first = body;
      stream->rest = std::move(res.watch);
      res.watch = std::move(stream);
      return res;
    }
    res.body = std::move(body);
    return res;
  }

 private:
  void run(StreamConnection& conn, const std::string& runtime_id, const std::vector<std::string>& argv, bool with_stdin,
           bool v5) {
    int in[2] = {-1, -1}, out[2], err[2];
    if ((with_stdin && pipe2(in, O_CLOEXEC) != 0) || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return;
    int null_in = with_stdin ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
    int fds[3] = {with_stdin ? in[0] : null_in, out[1], err[1]};
    std::string error;
    int pid = w_.runtime().exec(runtime_id, argv, fds, error);
    for (int fd : {in[0], out[1], err[1], null_in})
      if (fd >= 0) close(fd);
    auto status = [&](const nlohmann::json& s) { conn.write_message(std::string(1, '\x03') + s.dump()); };
    if (pid < 0) {
      if (in[1] >= 0) close(in[1]);
      close(out[0]);
      close(err[0]);
      status({{"metadata", nlohmann::json::object()}, {"status", "Failure"}, {"message", error}, {"reason", "InternalError"}, {"code", 500}});
      return;
    }
    // The client's messages: stdin data (channel 0), and in v5 the close of stdin (channel 255, stream 0).
    std::mutex stdin_mu;
    int stdin_fd = with_stdin ? in[1] : -1;
    std::thread reader([&] {
      std::string message;
      while (conn.read_message(message)) {
        if (message.empty()) continue;
        std::lock_guard lock(stdin_mu);
        if (message[0] == 0 && stdin_fd >= 0) {
          size_t off = 1;
          while (off < message.size()) {
            ssize_t n = write(stdin_fd, message.data() + off, message.size() - off);
            if (n <= 0) break;
            off += static_cast<size_t>(n);
          }
        } else if (v5 && static_cast<unsigned char>(message[0]) == 255 && message.size() > 1 && message[1] == 0 &&
                   stdin_fd >= 0) {
          close(stdin_fd);
          stdin_fd = -1;
        }
      }
      std::lock_guard lock(stdin_mu);
      if (stdin_fd >= 0) close(stdin_fd);
      stdin_fd = -1;
    });
    pollfd pfds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_streams = 2;
    char buf[65536];
    while (open_streams > 0) {
      if (poll(pfds, 2, -1) < 0 && errno != EINTR) break;
      for (int i = 0; i < 2; ++i) {
        if (pfds[i].fd < 0 || !(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = read(pfds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          close(pfds[i].fd);
          pfds[i].fd = -1;
          --open_streams;
          continue;
        }
        conn.write_message(std::string(1, static_cast<char>(i + 1)) + std::string(buf, static_cast<size_t>(n)));
      }
    }
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    if (code == 0) {
      status({{"metadata", nlohmann::json::object()}, {"status", "Success"}});
    } else {
      std::string command;
      for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
      status({{"metadata", nlohmann::json::object()},
              {"status", "Failure"},
              {"message", "command terminated with non-zero exit code: error executing command [" + command +
                              "], exit code " + std::to_string(code)},
              {"reason", "NonZeroExitCode"},
              {"details", {{"causes", {{{"reason", "ExitCode"}, {"message", std::to_string(code)}}}}}}});
    }
    conn.close();
    reader.join();
  }

  Workloads& w_;
};

}  // namespace

std::unique_ptr<PodStreams> make_pod_streams(Workloads& workloads) { return std::make_unique<Logs>(workloads); }

}  // namespace kubelite::workloads
