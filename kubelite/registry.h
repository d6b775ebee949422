#pragma once
// The one resource registry behind every discovery document, OpenAPI document and URL lookup.
// Built-in resources come from the real kube-apiserver discovery fixtures (embedded at build time);
// established CRDs add their served versions and remove them again when deleted.
#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace kubelite {

using json = nlohmann::json;

struct SubresourceInfo {
  std::string name;           // "status", "scale", "log", ...
  std::string group, version;  // set only when the response kind belongs to another group-version
  std::string kind;
  std::vector<std::string> verbs;
};

struct ResourceInfo {
  std::string group, version, resource, singular, kind;
  bool namespaced = true;
  std::vector<std::string> verbs, short_names, categories;
  std::vector<SubresourceInfo> subresources;
  std::string storage_version_hash;  // legacy discovery only; empty when unknown
  bool custom = false;               // served from a CRD
  json crd_version;                  // custom resources: the CRD's spec.versions[] entry of this version

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // Objects are stored per group and resource, whatever version a request names.
  std::string storage_id() const { return group + "/" + resource; }
  // "deployments.apps" / "configmaps": how NotFound/AlreadyExists/Conflict messages name the resource.
  std::string qualified_resource() const { return group.empty() ? resource : resource + "." + group; }
  // "Deployment.apps" / "ConfigMap": how Invalid messages name the kind.
  std::string qualified_kind() const { return group.empty() ? kind : kind + "." + group; }
  bool is(std::string_view g, std::string_view r) const { return group == g && resource == r; }
  bool has_verb(const std::string& verb) const;
  const SubresourceInfo* subresource(const std::string& name) const;
};

using ResourcePtr = std::shared_ptr<const ResourceInfo>;

class Registry {
 public:
  // The built-in API surface of the fixtures (core group from api__v1.json, the others from
  // aggregated_v2.json).
  Registry();

  ResourcePtr find(const std::string& group, const std::string& version, const std::string& resource) const;
  // Resolves a manifest's apiVersion + kind (for --load).
  ResourcePtr find_kind(const std::string& api_version, const std::string& kind) const;
  bool serves(const std::string& group, const std::string& version) const;
  // Every resource (first served version of each group/resource) — for namespace cleanup and GC.
  std::vector<ResourcePtr> all_storage_resources() const;

  // Serves or withdraws a CRD's resources. `crd` is the stored CustomResourceDefinition.
  void add_custom(const json& crd);
  void remove_custom(const std::string& group, const std::string& plural);
  // True when another served resource in `group` already uses one of the CRD's names.
  bool names_conflict(const json& crd) const;

  json aggregated_core() const;    // GET /api with the aggregated Accept
  json aggregated_groups() const;  // GET /apis with the aggregated Accept
  json api_versions(const std::string& server_address) const;  // GET /api
  json group_list() const;                                      // GET /apis
  json group(const std::string& name) const;                    // GET /apis/<g>; null when unknown
  json resource_list(const std::string& group, const std::string& version) const;  // null when unknown

  json openapi_root() const;  // GET /openapi/v3
  json openapi_group_version(const std::string& group, const std::string& version) const;  // null: unknown
  // GET /openapi/v2 (JSON form; openapi_v2.h encodes it as protobuf): swagger 2.0 with every served kind's
  // PATCH operation, tagged with its group/version/kind and listing fieldValidation, and no definitions
  // (kubectl then skips client-side schema checks and the server validates).
  json openapi_v2() const;

 private:
  struct Version {
    std::string name;
    std::vector<ResourcePtr> resources;
  };
  struct Group {
    std::string name;
    std::vector<Version> versions;  // preferred first
  };
  const Version* find_version(const std::string& group, const std::string& version) const;
  json resource_list_locked(const std::string& group, const std::string& version) const;

  mutable std::shared_mutex mu_;
  std::vector<Group> groups_;  // groups_[0] is the core group ""
};

}  // namespace kubelite
