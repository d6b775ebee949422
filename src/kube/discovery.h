#pragma once
// What the server serves: groups, versions, resources with their kinds, scope, verbs, short names and
// subresources; and kubectl's way of turning user input (`deploy`, `deployments.apps`, `Deployment`,
// `deployment.v1.apps`, `po`) into one resource.
#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace arca::kube {

class Transport;

struct Subresource {
  std::string name;  // e.g. "status", "scale"
  std::string group, version, kind;  // of what it returns (e.g. autoscaling/v1 Scale)
  std::vector<std::string> verbs;
};

struct ApiResource {
  std::string group;     // "" for the core group
  std::string version;
  std::string resource;  // lowercase plural, as in URLs
  std::string singular;
  std::string kind;
  bool namespaced = false;
  std::vector<std::string> verbs, short_names, categories;
  std::vector<Subresource> subresources;

  std::string group_version() const { return group.empty() ? version : group + "/" + version; }
  // "deployments.apps", "pods": how the API names it in messages.
  std::string group_resource() const { return group.empty() ? resource : resource + "." + group; }
  bool has_verb(std::string_view verb) const;
  const Subresource* subresource(std::string_view name) const;
};

struct ApiGroup {
  std::string name;                   // "" for the core group
  std::vector<std::string> versions;  // preferred first
};

// One snapshot of discovery: groups in server order (core first) and every resource of every served
// version (not only preferred ones: backups need them all).
struct DiscoveryData {
  std::vector<ApiGroup> groups;
  std::vector<ApiResource> resources;

  const ApiResource* find(std::string_view group, std::string_view version, std::string_view resource) const;
  // The resources of each group's preferred version, the set a backup walks.
  std::vector<const ApiResource*> preferred_resources() const;
  std::string preferred_version(std::string_view group) const;
  // A resource's preferred version: the first of its group's versions that serves it (client-go's
  // ServerPreferredResources and RESTMapper), so a resource served only in a non-preferred version is found too.
  const ApiResource* preferred(std::string_view group, std::string_view resource) const;
};

// Parsers of real documents; each appends to `into`.
void add_aggregated_discovery(const nlohmann::json& group_discovery_list, DiscoveryData& into);
void add_group_list(const nlohmann::json& api_group_list, DiscoveryData& into);       // GET /apis (legacy)
void add_api_versions(const nlohmann::json& api_versions, DiscoveryData& into);       // GET /api (legacy)
void add_resource_list(const nlohmann::json& api_resource_list, DiscoveryData& into); // GET /api/v1, /apis/g/v

// kubectl's RESTMapper: `input` is `resource`, `resource.group` or `resource.version.group`, where
// resource may be the plural, the singular, a short name or the kind (case-insensitive). Among several
// matches the first group in discovery order and its preferred version win. nullptr when nothing matches.
const ApiResource* resolve_resource(const DiscoveryData& data, std::string_view input);

// Discovery against a server, cached until refresh().
class Discovery {
 public:
  explicit Discovery(Transport& transport);
  // The cached snapshot, fetched on first use. Aggregated discovery (one request each for /api and
  // /apis) when the server answers it, else the legacy documents for every group-version.
  std::shared_ptr<const DiscoveryData> data();
  void refresh();
  // resolve_resource, re-reading discovery once when nothing matches (a CRD may have appeared), then
  // KubeError(ResourceNotResolved): `the server doesn't have a resource type "<input>"`.
  ApiResource resolve(std::string_view input);
  // The resource for group/version/resource, refreshing once if unknown; throws as resolve does.
  ApiResource lookup(std::string_view group, std::string_view version, std::string_view resource);

 private:
  DiscoveryData fetch();
  Transport& transport_;
  std::mutex mutex_;
  std::shared_ptr<const DiscoveryData> cache_;
};

}  // namespace arca::kube
