#pragma once
// CustomResourceDefinitions (apiextensions.k8s.io/v1) for every velero.io kind, generated from the type
// descriptions in api/describe.h: same group, names, short names, scope, versions, printer columns and
// property tree as Velero's published CRDs, so Velero's tools and arca can share a cluster and a bucket.
#include <vector>

#include <nlohmann/json.hpp>

namespace arca::api {

// One CRD object per kind, in a stable order (alphabetical by plural), ready to POST or print as YAML.
std::vector<nlohmann::json> velero_crds();

}  // namespace arca::api
