// pods/log as the kubelet serves it (k8s.io/kubernetes/pkg/kubelet/kuberuntime/logs): the current or previous
// run of one container, optionally its last tailLines, optionally followed until the container stops; and
// the API server's errors for a container that is not named, not there, or not started.
#include "kubelite/workloads/pod_streams.h"

#include <fstream>
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
  Workloads& w_;
};

}  // namespace

std::unique_ptr<PodStreams> make_pod_streams(Workloads& workloads) { return std::make_unique<Logs>(workloads); }

}  // namespace kubelite::workloads
