#include "kube/dynamic.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "kube/errors.h"
#include "kube/transport.h"

namespace arca::kube {
namespace {

constexpr size_t kMaxListRestarts = 5;

void append_query(std::string& path, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  path += path.find('?') == std::string::npos ? '?' : '&';
  path += key;
  path += '=';
  path += query_escape(value);
}

void append_write_options(std::string& path, const WriteOptions& options) {
  if (options.dry_run) append_query(path, "dryRun", "All");
  append_query(path, "fieldManager", options.field_manager);
  append_query(path, "fieldValidation", options.field_validation);
  if (options.force) append_query(path, "force", "true");
}

std::string describe(std::string_view verb, const ApiResource& resource, std::string_view name) {
  std::string out = std::string(verb) + " " + resource.group_resource();
  if (!name.empty()) out += " \"" + std::string(name) + "\"";
  return out;
}

// Sends and returns the 2xx body as received, or throws the server's error naming the request.
std::string exchange_text(Transport& transport, const HttpRequest& request, const std::string& what) {
  HttpResponse response = transport.send(request);
  for (const auto& warning : response.warnings) spdlog::warn("Warning: {}", warning);
  if (response.status / 100 != 2) throw status_error(response.status, response.body, what);
  return std::move(response.body);
}

nlohmann::json parse_answer(const std::string& text, const std::string& what) {
  if (text.empty()) return nullptr;
  nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded())
    throw KubeError(ErrorKind::UnknownServerError, "error: the server answered " + what + " with invalid JSON", 200);
  return body;
}

nlohmann::json exchange(Transport& transport, const HttpRequest& request, const std::string& what) {
  return parse_answer(exchange_text(transport, request, what), what);
}

std::string object_name(const nlohmann::json& object) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) return "";
  return object["metadata"].value("name", "");
}

std::string object_namespace(std::string_view ns, const nlohmann::json& object) {
  if (!ns.empty()) return std::string(ns);
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) return "";
  return object["metadata"].value("namespace", "");
}

nlohmann::json delete_options_body(const DeleteOptions& options) {
  nlohmann::json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  if (!options.precondition_uid.empty()) body["preconditions"]["uid"] = options.precondition_uid;
  if (!options.precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = options.precondition_resource_version;
  }
  if (options.dry_run) body["dryRun"] = {"All"};
  return body;
}

// Reads one list page; items go to on_item. Returns the page's resourceVersion and continue token.
struct PageResult {
  std::string resource_version;
  std::string continue_token;
  size_t items = 0;
};

class PageParser {
 public:
  explicit PageParser(const ApiResource& resource)
      : kind_prefix_("{\"kind\":\"" + resource.kind + "\",\"apiVersion\":\"" + resource.group_version() + "\"") {}

  PageResult parse(std::string& page, const std::function<void(const ListItem&)>& on_item, const std::string& what) {
    PageResult result;
    page.reserve(page.size() + simdjson::SIMDJSON_PADDING);
    auto fail = [&](simdjson::error_code error) {
      return KubeError(ErrorKind::UnknownServerError,
                       "error: the server answered " + what + " with a list that is not valid JSON (" +
                           simdjson::error_message(error) + ")");
    };
    simdjson::ondemand::document doc;
    if (auto error = page_parser_.iterate(page.data(), page.size(), page.capacity()).get(doc)) throw fail(error);
    simdjson::ondemand::object top;
    if (auto error = doc.get_object().get(top)) throw fail(error);
    // One pass over the top-level fields in whatever order the server wrote them.
    for (auto field : top) {
      std::string_view key;
      if (auto error = field.unescaped_key().get(key)) throw fail(error);
      if (key == "metadata") {
        simdjson::ondemand::object meta;
        if (auto error = field.value().get_object().get(meta)) throw fail(error);
        for (auto m : meta) {
          std::string_view mkey, mvalue;
          if (m.unescaped_key().get(mkey) || m.value().get_string().get(mvalue)) continue;
          if (mkey == "resourceVersion") result.resource_version = mvalue;
          if (mkey == "continue") result.continue_token = mvalue;
        }
      } else if (key == "items") {
        simdjson::ondemand::array items;
        if (field.value().get_array().get(items)) continue;  // "items": null is an empty list
        for (auto element : items) {
          simdjson::ondemand::object item_object;
          if (auto error = element.get_object().get(item_object)) throw fail(error);
          std::string_view raw;
          if (auto error = item_object.raw_json().get(raw)) throw fail(error);
          deliver(page, raw, on_item, fail);
          ++result.items;
        }
      }
    }
    return result;
  }

 private:
  template <typename Fail>
  void deliver(const std::string& page, std::string_view raw, const std::function<void(const ListItem&)>& on_item,
               Fail& fail) {
    // The item's bytes lie inside the padded page buffer, so a second on-demand pass can read them in place.
    size_t capacity = static_cast<size_t>(page.data() + page.capacity() - raw.data());
    simdjson::ondemand::document item_doc;
    if (auto error = item_parser_.iterate(raw.data(), raw.size(), capacity).get(item_doc)) throw fail(error);
    simdjson::ondemand::object object;
    if (auto error = item_doc.get_object().get(object)) throw fail(error);
    ListItem item;
    // One pass over the fields (a lookup per field would rescan the object, managedFields and all, each time).
    bool has_kind = false;
    for (auto field : object) {
      std::string_view key;
      if (field.unescaped_key().get(key)) throw fail(simdjson::TAPE_ERROR);
      if (key == "kind") {
        std::string_view kind;
        has_kind = field.value().get_string().get(kind) == simdjson::SUCCESS && !kind.empty();
      } else if (key == "metadata") {
        simdjson::ondemand::object meta;
        if (field.value().get_object().get(meta) != simdjson::SUCCESS) continue;
        for (auto m : meta) {
          std::string_view mkey, value;
          if (m.unescaped_key().get(mkey)) throw fail(simdjson::TAPE_ERROR);
          std::string_view* into = mkey == "name"              ? &item.name
                                   : mkey == "namespace"       ? &item.namespace_name
                                   : mkey == "resourceVersion" ? &item.resource_version
                                   : mkey == "uid"             ? &item.uid
                                                               : nullptr;
          if (into && m.value().get_string().get(value) == simdjson::SUCCESS) *into = value;
        }
      }
    }
    if (has_kind) {
      item.json = raw;
    } else {
      // Built-in list items come without kind/apiVersion: splice them in front of the raw bytes rather
      // than re-serializing the object.
      spliced_.assign(kind_prefix_);
      size_t body = raw.find_first_not_of(" \t\r\n", 1);
      if (body != std::string_view::npos && raw[body] != '}') spliced_ += ',';
      spliced_.append(raw.substr(1));
      item.json = spliced_;
    }
    on_item(item);
  }

  std::string kind_prefix_;
  simdjson::ondemand::parser page_parser_;
  simdjson::ondemand::parser item_parser_;
  std::string spliced_;
};

}  // namespace

std::string resource_path(const ApiResource& resource, std::string_view ns, std::string_view name,
                          std::string_view subresource) {
  std::string path = resource.group.empty() ? "/api/" + resource.version
                                            : "/apis/" + resource.group + "/" + resource.version;
  if (resource.namespaced && !ns.empty()) path += "/namespaces/" + std::string(ns);
  path += "/" + resource.resource;
  if (!name.empty()) path += "/" + std::string(name);
  if (!subresource.empty()) path += "/" + std::string(subresource);
  return path;
}

nlohmann::json DynamicClient::get(const ApiResource& resource, std::string_view ns, std::string_view name,
                                  std::string_view subresource) {
  HttpRequest request;
  request.path = resource_path(resource, ns, name, subresource);
  return exchange(transport_, request, describe("get", resource, name));
}

ListSummary DynamicClient::list(const ApiResource& resource, std::string_view ns, const ListOptions& options,
                                const std::function<void(const ListItem&)>& on_item,
                                const std::function<void()>& on_restart) {
  ListSummary summary;
  PageParser parser(resource);
  std::string what = describe("list", resource, "");
  std::string continue_token;
  for (;;) {
    HttpRequest request;
    request.path = resource_path(resource, ns);
    append_query(request.path, "labelSelector", options.label_selector);
    append_query(request.path, "fieldSelector", options.field_selector);
    if (options.page_size > 0) append_query(request.path, "limit", std::to_string(options.page_size));
    append_query(request.path, "continue", continue_token);
    // resourceVersion only on the first page: continue tokens carry the snapshot themselves.
    if (continue_token.empty()) append_query(request.path, "resourceVersion", options.resource_version);
    HttpResponse response = transport_.send(request);
    for (const auto& warning : response.warnings) spdlog::warn("Warning: {}", warning);
    if (response.status / 100 != 2) {
      KubeError error = status_error(response.status, response.body, what);
      if (is_gone(error) && !continue_token.empty() && on_restart && summary.restarts < kMaxListRestarts) {
        // The snapshot behind the continue token was compacted away: start a fresh, consistent list.
        on_restart();
        continue_token.clear();
        summary.items = 0;
        ++summary.restarts;
        continue;
      }
      throw error;
    }
    PageResult page = parser.parse(response.body, on_item, what);
    ++summary.pages;
    summary.items += page.items;
    if (continue_token.empty()) summary.resource_version = page.resource_version;  // first page: the snapshot
    if (page.continue_token.empty()) return summary;
    continue_token = page.continue_token;
  }
}

nlohmann::json DynamicClient::create(const ApiResource& resource, std::string_view ns, const nlohmann::json& object,
                                     const WriteOptions& options) {
  std::string name = object_name(object);
  return parse_answer(create_text(resource, object_namespace(ns, object), name, object.dump(), options),
                      describe("create", resource, name));
}

std::string DynamicClient::create_text(const ApiResource& resource, std::string_view ns, std::string_view name,
                                       std::string body, const WriteOptions& options) {
  HttpRequest request;
  request.method = "POST";
  request.path = resource_path(resource, ns);
  append_write_options(request.path, options);
  request.body = std::move(body);
  request.content_type = "application/json";
  return exchange_text(transport_, request, describe("create", resource, name));
}

nlohmann::json DynamicClient::update(const ApiResource& resource, std::string_view ns, const nlohmann::json& object,
                                     const WriteOptions& options, std::string_view subresource) {
  std::string name = object_name(object);
  if (name.empty()) {
    throw KubeError(ErrorKind::Invalid, "error: cannot update " + resource.group_resource() + ": the object has no metadata.name");
  }
  HttpRequest request;
  request.method = "PUT";
  request.path = resource_path(resource, object_namespace(ns, object), name, subresource);
  append_write_options(request.path, options);
  request.body = object.dump();
  request.content_type = "application/json";
  return exchange(transport_, request, describe("update", resource, name));
}

std::string DynamicClient::patch(const ApiResource& resource, std::string_view ns, std::string_view name,
                                 PatchType type, std::string_view body, const WriteOptions& options,
                                    std::string_view subresource) {
  HttpRequest request;
  request.method = "PATCH";
  request.path = resource_path(resource, ns, name, subresource);
  append_write_options(request.path, options);
  request.body = std::string(body);
  switch (type) {
    case PatchType::Merge: request.content_type = "application/merge-patch+json"; break;
    case PatchType::Json: request.content_type = "application/json-patch+json"; break;
    case PatchType::Strategic: request.content_type = "application/strategic-merge-patch+json"; break;
    case PatchType::Apply: request.content_type = "application/apply-patch+yaml"; break;
  }
  return exchange_text(transport_, request, describe("patch", resource, name));
}

nlohmann::json DynamicClient::remove(const ApiResource& resource, std::string_view ns, std::string_view name,
                                     const DeleteOptions& options) {
  HttpRequest request;
  request.method = "DELETE";
  request.path = resource_path(resource, ns, name);
  request.body = delete_options_body(options).dump();
  request.content_type = "application/json";
  return exchange(transport_, request, describe("delete", resource, name));
}

nlohmann::json DynamicClient::remove_collection(const ApiResource& resource, std::string_view ns,
                                                const ListOptions& selectors, const DeleteOptions& options) {
  HttpRequest request;
  request.method = "DELETE";
  request.path = resource_path(resource, ns);
  append_query(request.path, "labelSelector", selectors.label_selector);
  append_query(request.path, "fieldSelector", selectors.field_selector);
  request.body = delete_options_body(options).dump();
  request.content_type = "application/json";
  return exchange(transport_, request, describe("deletecollection", resource, ""));
}

}  // namespace arca::kube
