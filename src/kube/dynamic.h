#pragma once
// Reads and writes of any resource discovery knows, as JSON. Lists stream: each page is parsed with
// simdjson on-demand and every item reaches the callback as its raw bytes, so a list of a million
// objects never sits in memory at once.
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "kube/discovery.h"

namespace arca::kube {

class Transport;

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // "": the latest; "0": whatever the server has cached
  int page_size = 500;           // limit per request (kubectl's default chunk size); 0: one request
};

struct WriteOptions {
  bool dry_run = false;           // dryRun=All: fully processed, nothing stored
  std::string field_manager;      // required for apply patches
  std::string field_validation;   // Strict | Warn | Ignore; "" leaves the server's default
  bool force = false;             // apply only: take over fields other managers own
};

enum class PatchType { Merge, Json, Strategic, Apply };

struct DeleteOptions {
  std::string propagation_policy = "Background";  // Orphan | Background | Foreground; always sent, as kubectl does
  std::optional<int> grace_period_seconds;
  std::string precondition_uid;
  std::string precondition_resource_version;
  bool dry_run = false;
};

// One item of a list page. The views point into the page and are valid only during the callback.
struct ListItem {
  std::string_view json;  // the whole object, with apiVersion and kind even for built-in kinds
  std::string_view name, namespace_name, resource_version, uid;
  nlohmann::json parse() const { return nlohmann::json::parse(json); }
};

struct ListSummary {
  std::string resource_version;  // of the list snapshot (a watch can start from it)
  size_t items = 0;              // delivered since the last restart
  size_t pages = 0;
  size_t restarts = 0;           // lists started over because a continue token expired (410)
};

// URL path of a collection (`name` empty) or object; `ns` is ignored for cluster-scoped resources and
// "" on a namespaced one means all namespaces.
std::string resource_path(const ApiResource& resource, std::string_view ns, std::string_view name = "",
                          std::string_view subresource = "");

class DynamicClient {
 public:
  explicit DynamicClient(Transport& transport) : transport_(transport) {}

  nlohmann::json get(const ApiResource& resource, std::string_view ns, std::string_view name,
                     std::string_view subresource = "");

  // Pages through the collection with limit/continue, calling on_item for each item in order. When a
  // continue token has expired (410) the list starts over from the first page: on_restart runs first so
  // the caller can drop what it collected. Without on_restart the 410 is thrown instead.
  ListSummary list(const ApiResource& resource, std::string_view ns, const ListOptions& options,
                   const std::function<void(const ListItem&)>& on_item,
                   const std::function<void()>& on_restart = {});

  // `ns` "" takes metadata.namespace of the object (else the config's namespace is the caller's business).
  nlohmann::json create(const ApiResource& resource, std::string_view ns, const nlohmann::json& object,
                        const WriteOptions& options = {});
  // The same with the object as JSON text, answering the server's JSON text: a restore sends tens of thousands
  // of objects and needs almost nothing of the answers, whose parse cost it a sixth of its CPU. `name` is only
  // for error messages.
  std::string create_text(const ApiResource& resource, std::string_view ns, std::string_view name, std::string body,
                          const WriteOptions& options = {});
  // PUT of the whole object; `subresource` "status" writes only the status.
  nlohmann::json update(const ApiResource& resource, std::string_view ns, const nlohmann::json& object,
                        const WriteOptions& options = {}, std::string_view subresource = "");
  // Returns the server's answer (the patched object) as JSON text: few callers look at it.
  std::string patch(const ApiResource& resource, std::string_view ns, std::string_view name, PatchType type,
                    std::string_view body, const WriteOptions& options = {}, std::string_view subresource = "");
  // Returns what the server answered: a Status (immediate removal) or the object (deferred by finalizers).
  nlohmann::json remove(const ApiResource& resource, std::string_view ns, std::string_view name,
                        const DeleteOptions& options = {});
  nlohmann::json remove_collection(const ApiResource& resource, std::string_view ns, const ListOptions& selectors,
                                   const DeleteOptions& options = {});

 private:
  Transport& transport_;
};

}  // namespace arca::kube
