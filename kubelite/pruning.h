#pragma once
// Pruning of unknown fields in custom resources by their CRD's structural schema (k8s.io/apiserver's handlers; k8s.io/apiextensions-apiserver).
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kubelite {

// Removes from `object` every field its openAPIV3Schema does not declare (x-kubernetes-preserve-unknown-fields
// and additionalProperties keep them; apiVersion, kind and metadata at the root are always kept). Returns the
// removed fields' paths as the real server names them: "spec.x", "spec.items[0].y".
std::vector<std::string> prune_unknown_fields(nlohmann::json& object, const nlohmann::json& schema);

}  // namespace kubelite
