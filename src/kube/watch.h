#pragma once
// Watching a collection: one long request per stream, resumed from the last resourceVersion seen when
// the server ends it (timeoutSeconds, restarts, load balancers) or the connection drops.
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "kube/discovery.h"

namespace arca::kube {

class Transport;

struct WatchEvent {
  enum class Type { Added, Modified, Deleted, Bookmark };
  Type type;
  nlohmann::json object;  // with kind and apiVersion; for bookmarks only metadata.resourceVersion
  std::string resource_version() const;
};

// metadata.resourceVersion of an object, "" when absent.
std::string resource_version_of(const nlohmann::json& object);

struct WatchOptions {
  // Changes after this version are delivered; "" or "0" first replays every object as ADDED.
  std::string resource_version;
  std::string label_selector;
  std::string field_selector;
  bool bookmarks = true;
  // Server-side length of one stream; 0 picks 5-10 minutes at random like client-go, so that many
  // watchers do not reconnect at the same moment.
  int timeout_seconds = 0;
  // A stream silent for this long is resumed on a new connection; 0: the transport's watch_idle_timeout.
  std::chrono::milliseconds idle_timeout{0};
};

// Delivers events until on_event returns false or *stop becomes true (both return normally, with the
// last resourceVersion seen). A stream the server ends or a dropped connection is resumed from that
// version. Throws KubeError: Gone when the version is too old (HTTP 410 or an ERROR event; the caller
// re-lists), any other server error, or Connection when the server cannot be reached again.
std::string watch(Transport& transport, const ApiResource& resource, std::string_view ns, WatchOptions options,
                  const std::function<bool(const WatchEvent&)>& on_event, const std::atomic<bool>* stop = nullptr);

}  // namespace arca::kube
