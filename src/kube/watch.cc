#include "kube/watch.h"

#include <optional>
#include <random>
#include <thread>

#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/transport.h"

namespace arca::kube {
namespace {

// Extra client-side time beyond timeoutSeconds before a silent stream is declared dead.
constexpr int kStreamGraceSeconds = 30;
// A server that ends streams at once (or refuses them) must not turn the loop into a busy spin.
constexpr std::chrono::milliseconds kReconnectPause{100};

int random_watch_timeout() {
  static thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_int_distribution<int>(300, 600)(rng);
}

bool parse_type(const std::string& text, WatchEvent::Type& type) {
  if (text == "ADDED") type = WatchEvent::Type::Added;
  else if (text == "MODIFIED") type = WatchEvent::Type::Modified;
  else if (text == "DELETED") type = WatchEvent::Type::Deleted;
  else if (text == "BOOKMARK") type = WatchEvent::Type::Bookmark;
  else return false;
  return true;
}

}  // namespace

std::string resource_version_of(const nlohmann::json& object) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) return "";
  return object["metadata"].value("resourceVersion", "");
}

std::string WatchEvent::resource_version() const { return resource_version_of(object); }

std::string watch(Transport& transport, const ApiResource& resource, std::string_view ns, WatchOptions options,
                  const std::function<bool(const WatchEvent&)>& on_event, const std::atomic<bool>* stop) {
  std::string last_version = options.resource_version;
  bool keep_going = true;
  auto stopped = [&] { return !keep_going || (stop && stop->load()); };
  while (!stopped()) {
    int timeout = options.timeout_seconds > 0 ? options.timeout_seconds : random_watch_timeout();
    HttpRequest request;
    request.path = resource_path(resource, ns) + "?watch=true";
    if (options.bookmarks) request.path += "&allowWatchBookmarks=true";
    if (!options.label_selector.empty()) request.path += "&labelSelector=" + query_escape(options.label_selector);
    if (!options.field_selector.empty()) request.path += "&fieldSelector=" + query_escape(options.field_selector);
    if (!last_version.empty()) request.path += "&resourceVersion=" + query_escape(last_version);
    request.path += "&timeoutSeconds=" + std::to_string(timeout);
    request.timeout = std::chrono::seconds(timeout + kStreamGraceSeconds);
    request.cancel = stop;
    request.idle_timeout = options.idle_timeout.count() > 0 ? options.idle_timeout : transport.config().watch_idle_timeout;

    std::string pending;  // bytes of an event line not complete yet
    std::optional<KubeError> stream_error;
    auto on_data = [&](std::string_view chunk) {
      pending.append(chunk);
      size_t start = 0;
      for (size_t end; (end = pending.find('\n', start)) != std::string::npos; start = end + 1) {
        std::string_view line(pending.data() + start, end - start);
        if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
        nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
        std::string type_text = event.is_object() ? event.value("type", "") : "";
        if (type_text == "ERROR") {
          stream_error = watch_error(event.value("object", nlohmann::json::object()));
          return false;
        }
        WatchEvent parsed{WatchEvent::Type::Added, event.is_object() ? event.value("object", nlohmann::json()) : nullptr};
        if (!parse_type(type_text, parsed.type)) {
          stream_error = KubeError(ErrorKind::UnknownServerError,
                                   "error: the server sent an unreadable watch event for " + resource.group_resource());
          return false;
        }
        if (std::string version = parsed.resource_version(); !version.empty()) last_version = version;
        if (!on_event(parsed)) {
          keep_going = false;
          return false;
        }
      }
      pending.erase(0, start);
      return true;
    };
    // A stream that breaks after it was established is resumed below; failing to connect throws.
    HttpResponse response = transport.stream(request, on_data);
    if (stream_error) throw *stream_error;
    if (response.status / 100 != 2) {
      throw status_error(response.status, response.body, "watch " + resource.group_resource());
    }
    if (!stopped()) std::this_thread::sleep_for(kReconnectPause);
  }
  return last_version;
}

}  // namespace arca::kube
