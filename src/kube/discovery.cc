#include "kube/discovery.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "kube/errors.h"
#include "kube/transport.h"

namespace arca::kube {
namespace {

// The Accept kubectl sends to /api and /apis: aggregated discovery v2, then v2beta1, then the legacy form.
constexpr const char* kAggregatedAccept =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> strings(const nlohmann::json& node, const char* key) {
  std::vector<std::string> out;
  if (node.contains(key) && node[key].is_array()) {
    for (const auto& v : node[key]) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

ApiGroup& group_entry(DiscoveryData& data, const std::string& name) {
  for (auto& g : data.groups) {
    if (g.name == name) return g;
  }
  data.groups.push_back({name, {}});
  return data.groups.back();
}

void add_version(ApiGroup& group, const std::string& version) {
  if (std::find(group.versions.begin(), group.versions.end(), version) == group.versions.end()) {
    group.versions.push_back(version);
  }
}

bool matches_name(const ApiResource& r, const std::string& name) {
  return r.resource == name || r.singular == name || lower(r.kind) == name;
}

bool matches_short_name(const ApiResource& r, const std::string& name) {
  return std::find(r.short_names.begin(), r.short_names.end(), name) != r.short_names.end();
}

// Kubernetes versions look like v1, v2beta1, v1alpha3.
bool looks_like_version(std::string_view s) {
  return s.size() >= 2 && s[0] == 'v' && std::isdigit(static_cast<unsigned char>(s[1]));
}

}  // namespace

bool ApiResource::has_verb(std::string_view verb) const {
  return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
}

const Subresource* ApiResource::subresource(std::string_view name) const {
  for (const auto& s : subresources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const ApiResource* DiscoveryData::find(std::string_view group, std::string_view version,
                                       std::string_view resource) const {
  for (const auto& r : resources) {
    if (r.group == group && r.version == version && r.resource == resource) return &r;
  }
  return nullptr;
}

std::string DiscoveryData::preferred_version(std::string_view group) const {
  for (const auto& g : groups) {
    if (g.name == group && !g.versions.empty()) return g.versions.front();
  }
  return "";
}

const ApiResource* DiscoveryData::preferred(std::string_view group, std::string_view resource) const {
  for (const auto& g : groups) {
    if (g.name != group) continue;
    for (const auto& version : g.versions)
      if (const ApiResource* r = find(group, version, resource)) return r;
    return nullptr;
  }
  return nullptr;
}

std::vector<const ApiResource*> DiscoveryData::preferred_resources() const {
  std::vector<const ApiResource*> out;
  for (const auto& g : groups) {
    if (g.versions.empty()) continue;
    for (const auto& r : resources) {
      if (r.group == g.name && r.version == g.versions.front()) out.push_back(&r);
    }
  }
  return out;
}

void add_aggregated_discovery(const nlohmann::json& list, DiscoveryData& into) {
  for (const auto& item : list.value("items", nlohmann::json::array())) {
    std::string group_name = item.value("metadata", nlohmann::json::object()).value("name", "");
    ApiGroup& group = group_entry(into, group_name);
    for (const auto& version : item.value("versions", nlohmann::json::array())) {
      std::string version_name = version.value("version", "");
      add_version(group, version_name);
      for (const auto& res : version.value("resources", nlohmann::json::array())) {
        ApiResource r;
        r.group = group_name;
        r.version = version_name;
        r.resource = res.value("resource", "");
        r.singular = res.value("singularResource", "");
        r.namespaced = res.value("scope", "") == "Namespaced";
        r.kind = res.value("responseKind", nlohmann::json::object()).value("kind", "");
        r.verbs = strings(res, "verbs");
        r.short_names = strings(res, "shortNames");
        r.categories = strings(res, "categories");
        for (const auto& sub : res.value("subresources", nlohmann::json::array())) {
          const auto kind = sub.value("responseKind", nlohmann::json::object());
          Subresource s{sub.value("subresource", ""), kind.value("group", ""), kind.value("version", ""),
                        kind.value("kind", ""), strings(sub, "verbs")};
          // An empty group and version in responseKind mean "the enclosing group-version".
          if (s.group.empty() && s.version.empty()) {
            s.group = group_name;
            s.version = version_name;
          }
          r.subresources.push_back(std::move(s));
        }
        into.resources.push_back(std::move(r));
      }
    }
  }
}

void add_api_versions(const nlohmann::json& api_versions, DiscoveryData& into) {
  ApiGroup& core = group_entry(into, "");
  for (const auto& v : strings(api_versions, "versions")) add_version(core, v);
}

void add_group_list(const nlohmann::json& api_group_list, DiscoveryData& into) {
  for (const auto& g : api_group_list.value("groups", nlohmann::json::array())) {
    ApiGroup& group = group_entry(into, g.value("name", ""));
    std::string preferred = g.value("preferredVersion", nlohmann::json::object()).value("version", "");
    if (!preferred.empty()) add_version(group, preferred);
    for (const auto& v : g.value("versions", nlohmann::json::array())) add_version(group, v.value("version", ""));
  }
}

void add_resource_list(const nlohmann::json& list, DiscoveryData& into) {
  std::string group_version = list.value("groupVersion", "");
  auto slash = group_version.find('/');
  std::string group = slash == std::string::npos ? "" : group_version.substr(0, slash);
  std::string version = slash == std::string::npos ? group_version : group_version.substr(slash + 1);
  add_version(group_entry(into, group), version);
  size_t first = into.resources.size();
  const auto entries = list.value("resources", nlohmann::json::array());
  for (const auto& e : entries) {
    std::string name = e.value("name", "");
    if (name.find('/') != std::string::npos) continue;
    ApiResource r;
    r.group = group;
    r.version = version;
    r.resource = name;
    r.singular = e.value("singularName", "");
    // Old servers leave singularName empty; kubectl then uses the lowercased kind.
    if (r.singular.empty()) r.singular = lower(e.value("kind", ""));
    r.namespaced = e.value("namespaced", false);
    r.kind = e.value("kind", "");
    r.verbs = strings(e, "verbs");
    r.short_names = strings(e, "shortNames");
    r.categories = strings(e, "categories");
    into.resources.push_back(std::move(r));
  }
  for (const auto& e : entries) {
    std::string name = e.value("name", "");
    auto sub_slash = name.find('/');
    if (sub_slash == std::string::npos) continue;
    std::string parent = name.substr(0, sub_slash);
    for (size_t i = first; i < into.resources.size(); ++i) {
      if (into.resources[i].resource != parent) continue;
      into.resources[i].subresources.push_back({name.substr(sub_slash + 1), e.value("group", group),
                                                e.value("version", version), e.value("kind", ""),
                                                strings(e, "verbs")});
    }
  }
}

const ApiResource* resolve_resource(const DiscoveryData& data, std::string_view raw_input) {
  std::string input = lower(raw_input);
  if (input.empty() || input.front() == '.') return nullptr;
  struct Interpretation {
    std::string resource, version, group;
    bool any_group;
  };
  std::vector<Interpretation> tries;
  auto dot = input.find('.');
  if (dot == std::string::npos) {
    tries.push_back({input, "", "", true});
  } else {
    std::string resource = input.substr(0, dot);
    std::string rest = input.substr(dot + 1);
    auto second = rest.find('.');
    // `deployment.v1.apps` (fully specified) first, as kubectl does; then `deployments.apps`.
    if (second != std::string::npos && looks_like_version(rest.substr(0, second))) {
      tries.push_back({resource, rest.substr(0, second), rest.substr(second + 1), false});
    }
    // `pods.v1` names the core group's version.
    if (second == std::string::npos && looks_like_version(rest)) tries.push_back({resource, rest, "", false});
    tries.push_back({resource, "", rest, false});
  }
  for (const auto& t : tries) {
    // Short names first (kubectl's shortcut expander runs before the RESTMapper), then names and kinds.
    for (auto matcher : {&matches_short_name, &matches_name}) {
      for (const auto& g : data.groups) {
        if (!t.any_group && g.name != t.group) continue;
        for (const auto& v : g.versions) {
          if (!t.version.empty() && v != t.version) continue;
          for (const auto& r : data.resources) {
            if (r.group == g.name && r.version == v && matcher(r, t.resource)) return &r;
          }
        }
      }
    }
  }
  return nullptr;
}

Discovery::Discovery(Transport& transport) : transport_(transport) {}

DiscoveryData Discovery::fetch() {
  DiscoveryData data;
  std::vector<std::string> legacy_group_versions;
  for (const char* root : {"/api", "/apis"}) {
    HttpRequest request;
    request.path = root;
    request.accept = kAggregatedAccept;
    HttpResponse response = transport_.send(request);
    if (response.status == 404 && std::string(root) == "/apis") continue;  // a server with only the core group
    if (response.status / 100 != 2) throw status_error(response.status, response.body, std::string("GET ") + root);
    nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
    if (doc.is_discarded()) {
      throw KubeError(ErrorKind::UnknownServerError,
                      std::string("error: the server answered GET ") + root + " with something that is not JSON");
    }
    // The format is told by the Content-Type, not by what was asked for (a server may ignore the Accept).
    if (response.content_type.find("as=APIGroupDiscoveryList") != std::string::npos) {
      add_aggregated_discovery(doc, data);
      continue;
    }
    if (std::string(root) == "/api") {
      add_api_versions(doc, data);
      for (const auto& v : data.groups.front().versions) legacy_group_versions.push_back("/api/" + v);
    } else {
      size_t before = data.groups.size();
      add_group_list(doc, data);
      for (size_t i = before; i < data.groups.size(); ++i) {
        for (const auto& v : data.groups[i].versions) legacy_group_versions.push_back("/apis/" + data.groups[i].name + "/" + v);
      }
    }
  }
  for (const auto& path : legacy_group_versions) {
    HttpRequest request;
    request.path = path;
    HttpResponse response = transport_.send(request);
    if (response.status / 100 != 2) {
      // One broken aggregated API (a classic: metrics.k8s.io answering 503) must not hide the others;
      // kubectl warns and goes on, and so do we.
      spdlog::warn("discovery: skipping {}: {}", path, status_error(response.status, response.body, "GET " + path).what());
      continue;
    }
    nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
    if (doc.is_object()) add_resource_list(doc, data);
  }
  return data;
}

std::shared_ptr<const DiscoveryData> Discovery::data() {
  std::lock_guard lock(mutex_);
  if (!cache_) cache_ = std::make_shared<const DiscoveryData>(fetch());
  return cache_;
}

void Discovery::refresh() {
  auto fresh = std::make_shared<const DiscoveryData>(fetch());
  std::lock_guard lock(mutex_);
  cache_ = std::move(fresh);
}

ApiResource Discovery::resolve(std::string_view input) {
  if (const ApiResource* r = resolve_resource(*data(), input)) return *r;
  refresh();
  if (const ApiResource* r = resolve_resource(*data(), input)) return *r;
  throw KubeError(ErrorKind::ResourceNotResolved,
                  "error: the server doesn't have a resource type \"" + std::string(input) + "\"");
}

ApiResource Discovery::lookup(std::string_view group, std::string_view version, std::string_view resource) {
  if (const ApiResource* r = data()->find(group, version, resource)) return *r;
  refresh();
  if (const ApiResource* r = data()->find(group, version, resource)) return *r;
  std::string gv = group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
  throw KubeError(ErrorKind::ResourceNotResolved,
                  "error: the server doesn't have a resource type \"" + std::string(resource) + "\" in " + gv);
}

}  // namespace arca::kube
