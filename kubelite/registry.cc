#include "kubelite/registry.h"

#include <algorithm>
#include <functional>

#include "kubelite/discovery_fixtures.h"

namespace kubelite {

namespace {

std::vector<std::string> strings(const json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& s : j) out.push_back(s.get<std::string>());
  return out;
}

// A resource entry of an aggregated discovery document (APIResourceDiscovery).
ResourceInfo from_aggregated(const std::string& group, const std::string& version, const json& r) {
  ResourceInfo info;
  info.group = group;
  info.version = version;
  info.resource = r.at("resource").get<std::string>();
  info.singular = r.value("singularResource", "");
  info.kind = r.at("responseKind").value("kind", "");
  info.namespaced = r.value("scope", "") == "Namespaced";
  info.verbs = strings(r.value("verbs", json::array()));
  info.short_names = strings(r.value("shortNames", json::array()));
  info.categories = strings(r.value("categories", json::array()));
  for (const auto& s : r.value("subresources", json::array())) {
    SubresourceInfo sub;
    sub.name = s.at("subresource").get<std::string>();
    const json& kind = s.value("responseKind", json::object());
    sub.group = kind.value("group", "");
    sub.version = kind.value("version", "");
    sub.kind = kind.value("kind", "");
    sub.verbs = strings(s.value("verbs", json::array()));
    info.subresources.push_back(std::move(sub));
  }
  return info;
}

json aggregated_resource(const ResourceInfo& r) {
  json entry = {{"resource", r.resource},
                {"responseKind", {{"group", ""}, {"kind", r.kind}, {"version", ""}}},
                {"scope", r.namespaced ? "Namespaced" : "Cluster"},
                {"singularResource", r.singular},
                {"verbs", r.verbs}};
  if (!r.short_names.empty()) entry["shortNames"] = r.short_names;
  if (!r.categories.empty()) entry["categories"] = r.categories;
  if (!r.subresources.empty()) {
    json subs = json::array();
    for (const auto& s : r.subresources)
      subs.push_back({{"subresource", s.name},
                      {"responseKind", {{"group", s.group}, {"kind", s.kind}, {"version", s.version}}},
                      {"verbs", s.verbs}});
    entry["subresources"] = subs;
  }
  return entry;
}

json legacy_resource(const ResourceInfo& r) {
  json entry = {{"name", r.resource}, {"singularName", r.singular}, {"namespaced", r.namespaced},
                {"kind", r.kind},     {"verbs", r.verbs}};
  if (!r.short_names.empty()) entry["shortNames"] = r.short_names;
  if (!r.categories.empty()) entry["categories"] = r.categories;
  if (!r.storage_version_hash.empty()) entry["storageVersionHash"] = r.storage_version_hash;
  return entry;
}

json legacy_subresource(const ResourceInfo& r, const SubresourceInfo& s) {
  json entry = {{"name", r.resource + "/" + s.name}, {"singularName", ""}, {"namespaced", r.namespaced},
                {"kind", s.kind}, {"verbs", s.verbs}};
  if (!s.group.empty() || !s.version.empty()) {
    entry["group"] = s.group;
    entry["version"] = s.version;
  }
  return entry;
}

std::string gv_string(const std::string& group, const std::string& version) {
  return group.empty() ? version : group + "/" + version;
}

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

}  // namespace

bool ResourceInfo::has_verb(const std::string& verb) const {
  return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
}

const SubresourceInfo* ResourceInfo::subresource(const std::string& name) const {
  for (const auto& s : subresources)
    if (s.name == name) return &s;
  return nullptr;
}

Registry::Registry() {
  // Core group: api__v1.json lists subresources as "pods/log" entries after their parent.
  Group core{"", {{"v1", {}}}};
  json core_list = json::parse(kCoreResourceListJson);
  std::vector<std::shared_ptr<ResourceInfo>> core_resources;
  for (const auto& r : core_list.at("resources")) {
    std::string name = r.at("name").get<std::string>();
    auto slash = name.find('/');
    if (slash != std::string::npos) {
      std::string parent = name.substr(0, slash);
      for (auto& p : core_resources)
        if (p->resource == parent)
          p->subresources.push_back({name.substr(slash + 1), r.value("group", ""), r.value("version", ""),
                                     r.at("kind").get<std::string>(), strings(r.at("verbs"))});
      continue;
    }
    auto info = std::make_shared<ResourceInfo>();
    info->version = "v1";
    info->resource = name;
    info->singular = r.value("singularName", "");
    info->kind = r.at("kind").get<std::string>();
    info->namespaced = r.value("namespaced", false);
    info->verbs = strings(r.at("verbs"));
    info->short_names = strings(r.value("shortNames", json::array()));
    info->categories = strings(r.value("categories", json::array()));
    info->storage_version_hash = r.value("storageVersionHash", "");
    core_resources.push_back(info);
  }
  for (auto& p : core_resources) core.versions[0].resources.push_back(p);
  groups_.push_back(std::move(core));

  json aggregated = json::parse(kAggregatedDiscoveryJson);
  for (const auto& item : aggregated.at("items")) {
    Group g{item.at("metadata").at("name").get<std::string>(), {}};
    for (const auto& v : item.at("versions")) {
      Version version{v.at("version").get<std::string>(), {}};
      for (const auto& r : v.at("resources"))
        version.resources.push_back(std::make_shared<ResourceInfo>(from_aggregated(g.name, version.name, r)));
      g.versions.push_back(std::move(version));
    }
    groups_.push_back(std::move(g));
  }
}

const Registry::Version* Registry::find_version(const std::string& group, const std::string& version) const {
  for (const auto& g : groups_) {
    if (g.name != group) continue;
    for (const auto& v : g.versions)
      if (v.name == version) return &v;
  }
  return nullptr;
}

ResourcePtr Registry::find(const std::string& group, const std::string& version, const std::string& resource) const {
  std::shared_lock lock(mu_);
  const Version* v = find_version(group, version);
  if (!v) return nullptr;
  for (const auto& r : v->resources)
    if (r->resource == resource) return r;
  return nullptr;
}

ResourcePtr Registry::find_kind(const std::string& api_version, const std::string& kind) const {
  auto slash = api_version.find('/');
  std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  std::string version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
  std::shared_lock lock(mu_);
  const Version* v = find_version(group, version);
  if (!v) return nullptr;
  for (const auto& r : v->resources)
    if (r->kind == kind) return r;
  return nullptr;
}

bool Registry::serves(const std::string& group, const std::string& version) const {
  std::shared_lock lock(mu_);
  return find_version(group, version) != nullptr;
}

std::vector<ResourcePtr> Registry::all_storage_resources() const {
  std::shared_lock lock(mu_);
  std::vector<ResourcePtr> out;
  std::vector<std::string> seen;
  for (const auto& g : groups_)
    for (const auto& v : g.versions)
      for (const auto& r : v.resources) {
        if (std::find(seen.begin(), seen.end(), r->storage_id()) != seen.end()) continue;
        seen.push_back(r->storage_id());
        out.push_back(r);
      }
  return out;
}

bool Registry::names_conflict(const json& crd) const {
  const json& spec = crd.at("spec");
  std::string group = spec.value("group", "");
  const json& names = spec.value("names", json::object());
  std::string plural = names.value("plural", "");
  std::string kind = names.value("kind", "");
  std::string crd_name = crd.at("metadata").value("name", "");
  std::shared_lock lock(mu_);
  for (const auto& g : groups_) {
    if (g.name != group) continue;
    for (const auto& v : g.versions)
      for (const auto& r : v.resources) {
        bool same_crd = r->custom && r->resource + "." + r->group == crd_name;
        if (!same_crd && (r->resource == plural || r->kind == kind)) return true;
      }
  }
  return false;
}

void Registry::add_custom(const json& crd) {
  const json& spec = crd.at("spec");
  std::string group = spec.at("group").get<std::string>();
  const json& names = spec.at("names");
  std::string plural = names.at("plural").get<std::string>();
  remove_custom(group, plural);
  std::unique_lock lock(mu_);
  Group* target = nullptr;
  for (auto& g : groups_)
    if (g.name == group) target = &g;
  if (!target) {
    groups_.push_back({group, {}});
    target = &groups_.back();
  }
  for (const auto& v : spec.at("versions")) {
    if (!v.value("served", true)) continue;
    auto info = std::make_shared<ResourceInfo>();
    info->group = group;
    info->version = v.at("name").get<std::string>();
    info->resource = plural;
    info->singular = names.value("singular", "");
    if (info->singular.empty()) {
      info->singular = names.value("kind", "");
      std::transform(info->singular.begin(), info->singular.end(), info->singular.begin(), ::tolower);
    }
    info->kind = names.at("kind").get<std::string>();
    info->namespaced = spec.value("scope", "Namespaced") == "Namespaced";
    info->verbs = kAllVerbs;
    info->short_names = strings(names.value("shortNames", json::array()));
    info->categories = strings(names.value("categories", json::array()));
    info->custom = true;
    info->crd_version = v;
    const json& subs = v.value("subresources", json::object());
    if (subs.contains("scale")) info->subresources.push_back({"scale", "autoscaling", "v1", "Scale", {"get", "patch", "update"}});
    if (subs.contains("status")) info->subresources.push_back({"status", "", "", info->kind, {"get", "patch", "update"}});
    Version* version = nullptr;
    for (auto& existing : target->versions)
      if (existing.name == info->version) version = &existing;
    if (!version) {
      target->versions.push_back({info->version, {}});
      version = &target->versions.back();
    }
    version->resources.push_back(info);
  }
  if (target->versions.empty()) groups_.erase(groups_.begin() + (target - groups_.data()));
}

void Registry::remove_custom(const std::string& group, const std::string& plural) {
  std::unique_lock lock(mu_);
  for (auto g = groups_.begin(); g != groups_.end(); ++g) {
    if (g->name != group) continue;
    for (auto& v : g->versions)
      std::erase_if(v.resources, [&](const ResourcePtr& r) { return r->custom && r->resource == plural; });
    std::erase_if(g->versions, [](const Version& v) { return v.resources.empty(); });
    if (g->versions.empty()) groups_.erase(g);
    return;
  }
}

json Registry::aggregated_core() const {
  std::shared_lock lock(mu_);
  json resources = json::array();
  for (const auto& r : groups_[0].versions[0].resources) resources.push_back(aggregated_resource(*r));
  return {{"apiVersion", "apidiscovery.k8s.io/v2"},
          {"kind", "APIGroupDiscoveryList"},
          {"metadata", json::object()},
          {"items", json::array({{{"metadata", {{"creationTimestamp", nullptr}}},
                                  {"versions", json::array({{{"version", "v1"},
                                                             {"resources", resources},
                                                             {"freshness", "Current"}}})}}})}};
}

json Registry::aggregated_groups() const {
  std::shared_lock lock(mu_);
  json items = json::array();
  for (size_t i = 1; i < groups_.size(); ++i) {
    json versions = json::array();
    for (const auto& v : groups_[i].versions) {
      json resources = json::array();
      for (const auto& r : v.resources) resources.push_back(aggregated_resource(*r));
      versions.push_back({{"version", v.name}, {"resources", resources}, {"freshness", "Current"}});
    }
    items.push_back({{"metadata", {{"name", groups_[i].name}, {"creationTimestamp", nullptr}}},
                     {"versions", versions}});
  }
  return {{"apiVersion", "apidiscovery.k8s.io/v2"},
          {"kind", "APIGroupDiscoveryList"},
          {"metadata", json::object()},
          {"items", items}};
}

json Registry::api_versions(const std::string& server_address) const {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs", json::array({{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}})}};
}

static json group_entry(const std::string& name, const std::vector<std::string>& versions) {
  json vs = json::array();
  for (const auto& v : versions) vs.push_back({{"groupVersion", name + "/" + v}, {"version", v}});
  return {{"name", name}, {"versions", vs}, {"preferredVersion", vs.at(0)}};
}

json Registry::group_list() const {
  std::shared_lock lock(mu_);
  json groups = json::array();
  for (size_t i = 1; i < groups_.size(); ++i) {
    std::vector<std::string> versions;
    for (const auto& v : groups_[i].versions) versions.push_back(v.name);
    groups.push_back(group_entry(groups_[i].name, versions));
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

json Registry::group(const std::string& name) const {
  std::shared_lock lock(mu_);
  for (size_t i = 1; i < groups_.size(); ++i) {
    if (groups_[i].name != name) continue;
    std::vector<std::string> versions;
    for (const auto& v : groups_[i].versions) versions.push_back(v.name);
    json g = group_entry(name, versions);
    g["kind"] = "APIGroup";
    g["apiVersion"] = "v1";
    return g;
  }
  return nullptr;
}

json Registry::resource_list_locked(const std::string& group, const std::string& version) const {
  const Version* v = find_version(group, version);
  if (!v) return nullptr;
  json resources = json::array();
  for (const auto& r : v->resources) {
    resources.push_back(legacy_resource(*r));
    for (const auto& s : r->subresources) resources.push_back(legacy_subresource(*r, s));
  }
  json list = {{"kind", "APIResourceList"}, {"groupVersion", gv_string(group, version)}, {"resources", resources}};
  // The core group's list has no apiVersion field on a real server; every other group's has.
  if (!group.empty()) list["apiVersion"] = "v1";
  return list;
}

json Registry::resource_list(const std::string& group, const std::string& version) const {
  std::shared_lock lock(mu_);
  return resource_list_locked(group, version);
}

// The path of a resource's PATCH operation, as both OpenAPI versions list it.
static std::string patch_path(const std::string& group, const std::string& version, const ResourceInfo& r) {
  std::string prefix = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  return prefix + (r.namespaced ? "/namespaces/{namespace}/" : "/") + r.resource + "/{name}";
}

// OpenAPI v3: kubectl's client-side check only needs, per kind, a PATCH operation tagged with the kind's GVK
// that lists the fieldValidation parameter (kubectl's create/apply); then it leaves validation to the server.
json Registry::openapi_group_version(const std::string& group, const std::string& version) const {
  std::shared_lock lock(mu_);
  const Version* v = find_version(group, version);
  if (!v) return nullptr;
  json paths = json::object();
  json schemas = json::object();
  for (const auto& r : v->resources) {
    if (!r->has_verb("patch")) continue;
    std::string path = patch_path(group, version, *r);
    json gvk = {{"group", group}, {"version", version}, {"kind", r->kind}};
    json params = json::array({{{"name", "fieldValidation"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
                               {{"name", "fieldManager"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
                               {{"name", "dryRun"}, {"in", "query"}, {"schema", {{"type", "string"}}}}});
    paths[path] = {{"patch",
                    {{"operationId", "patch" + r->kind},
                     {"x-kubernetes-action", "patch"},
                     {"x-kubernetes-group-version-kind", gvk},
                     {"parameters", params},
                     {"responses", {{"200", {{"description", "OK"}}}}}}}};
    std::string schema_name = (group.empty() ? "io.k8s.api.core" : group) + "." + version + "." + r->kind;
    json schema = {{"type", "object"}, {"x-kubernetes-group-version-kind", json::array({gvk})}};
    if (r->custom && r->crd_version.contains("schema")) {
      json s = r->crd_version["schema"].value("openAPIV3Schema", json::object());
      s["x-kubernetes-group-version-kind"] = json::array({gvk});
      schema = s;
    }
    schemas[schema_name] = schema;
  }
  return {{"openapi", "3.0.0"},
          {"info", {{"title", "Kubernetes"}, {"version", "v1.31.0"}}},
          {"paths", paths},
          {"components", {{"schemas", schemas}}}};
}

json Registry::openapi_root() const {
  std::vector<std::pair<std::string, std::string>> gvs;
  {
    std::shared_lock lock(mu_);
    for (const auto& g : groups_)
      for (const auto& v : g.versions) gvs.emplace_back(g.name, v.name);
  }
  json paths = json::object();
  for (const auto& [group, version] : gvs) {
    std::string key = group.empty() ? "api/" + version : "apis/" + group + "/" + version;
    // The hash lets clients cache documents; it must change when the document does (CRD updates).
    size_t hash = std::hash<std::string>{}(openapi_group_version(group, version).dump());
    char hex[32];
    snprintf(hex, sizeof hex, "%016zX", hash);
    paths[key] = {{"serverRelativeURL", "/openapi/v3/" + key + "?hash=" + hex}};
  }
  return {{"paths", paths}};
}

json Registry::openapi_v2() const {
  auto query_parameter = [](const char* name, const char* description) {
    return json{{"name", name}, {"in", "query"}, {"type", "string"}, {"uniqueItems", true}, {"description", description}};
  };
  auto path_parameter = [](const char* name, const char* description) {
    return json{{"name", name}, {"in", "path"}, {"required", true}, {"type", "string"}, {"uniqueItems", true},
                {"description", description}};
  };
  json paths = json::object();
  std::shared_lock lock(mu_);
  for (const auto& g : groups_)
    for (const auto& v : g.versions)
      for (const auto& r : v.resources) {
        if (!r->has_verb("patch")) continue;
        json path_parameters = json::array({path_parameter("name", ("name of the " + r->kind).c_str())});
        if (r->namespaced)
          path_parameters.push_back(path_parameter("namespace", "object name and auth scope, such as for teams and projects"));
        json parameters = {
            {{"name", "body"}, {"in", "body"}, {"required", true}, {"schema", {{"type", "object"}}}},
            query_parameter("dryRun", "When present, indicates that modifications should not be persisted."),
            query_parameter("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."),
            query_parameter("fieldValidation", "fieldValidation instructs the server on how to handle objects in the request "
                                               "containing unknown or duplicate fields: Ignore, Warn or Strict."),
            {{"name", "force"}, {"in", "query"}, {"type", "boolean"}, {"uniqueItems", true},
             {"description", "Force is going to \"force\" Apply requests."}}};
        paths[patch_path(g.name, v.name, *r)] = {
            {"parameters", path_parameters},
            {"patch",
             {{"operationId", "patch" + r->kind},
              {"consumes", {"application/json-patch+json", "application/merge-patch+json",
                            "application/strategic-merge-patch+json", "application/apply-patch+yaml"}},
              {"produces", {"application/json", "application/yaml"}},
              {"parameters", parameters},
              {"responses", {{"200", {{"description", "OK"}}}, {"201", {{"description", "Created"}}}}},
              {"x-kubernetes-action", "patch"},
              {"x-kubernetes-group-version-kind", {{"group", g.name}, {"kind", r->kind}, {"version", v.name}}}}}};
      }
  return {{"swagger", "2.0"},
          {"info", {{"title", "Kubernetes"}, {"version", "v1.31.0"}}},
          {"paths", paths},
          {"definitions", json::object()}};
}

}  // namespace kubelite
