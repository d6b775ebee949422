#pragma once
// The four PATCH types of the Kubernetes API and the managedFields bookkeeping that goes with writes.
// Pure functions on JSON documents: the server (kubelite/) owns storage, versions and HTTP.
#include <nlohmann/json.hpp>

#include <string>

#include "kubelite/semantics/errors.h"

namespace kubelite {

using json = nlohmann::json;

// application/merge-patch+json (RFC 7386): null deletes, objects merge recursively, everything else replaces.
json apply_merge_patch(json target, const json& patch);

// application/json-patch+json (RFC 6902: add, remove, replace, move, copy, test; JSON pointers with ~0 ~1).
// A failing operation (missing path for replace/remove, failed test) → ApiError(422, "Invalid", ...).
// A body that is not an array of operations → ApiError(400, "BadRequest", ...).
json apply_json_patch(const json& target, const json& patch);

// Whether strategic merge patch is defined for this kind (built-in kinds only; custom resources answer
// 415 UnsupportedMediaType for it).
bool supports_strategic_merge(const std::string& group, const std::string& kind);

// application/strategic-merge-patch+json for built-in kinds: lists with a patchMergeKey are merged by that
// key (containers/initContainers/ephemeralContainers/volumes/env/imagePullSecrets by "name", volumeMounts
// by "mountPath", ports by "containerPort"/"port", ownerReferences by "uid", …), finalizers as a set, others
// (tolerations, args, …) replaced, as the Go patch tags of k8s.io/api say; directives $patch (replace,
// delete, merge), $retainKeys, $deleteFromPrimitiveList/<field>, $setElementOrder/<field>. Malformed
// patches → ApiError(400, "BadRequest"); custom resources → ApiError(415, "UnsupportedMediaType").
json apply_strategic_merge_patch(const json& target, const json& patch, const std::string& group,
                                 const std::string& kind);

// application/apply-patch+yaml (server-side apply). `live` is the stored object or null when it does not
// exist. The result is the merged object with metadata.managedFields updated: `manager` owns exactly the
// fields present in `applied` (operation "Apply"); fields it applied before and omits now are removed unless
// another manager owns them; merged lists are ordered like structured-merge-diff orders them. A field owned by another manager whose value would
// change → ApiError(409, "Conflict", "Apply failed with N conflict(s): conflict with \"<m>\": .spec.x",
// details.causes[] with reason "FieldManagerConflict" and field ".spec.x") unless `force`, which takes
// ownership instead. `manager` empty → ApiError(422, "Invalid", ..., details.kind "PatchOptions", cause
// "FieldValueRequired" on "fieldManager").
json server_side_apply(const json& live, const json& applied, const std::string& manager, bool force,
                       const std::string& api_version, const std::string& now_rfc3339);

// After a create/update/patch that is not an apply: records `manager` (operation "Update" — or the
// equivalent for create) as owning the fields of `updated` that differ from `old` (null for create).
// Keeps the list sorted like the real server and drops managers left owning nothing. `subresource` is
// "status" or "scale" for writes through those endpoints (recorded in the entry), else empty. A body that
// carries its own valid managedFields replaces the stored ones (see managed_fields_to_store).
void update_managed_fields(json& updated, const json& old, const std::string& manager,
                           const std::string& api_version, const std::string& now_rfc3339,
                           const std::string& subresource = "");

// managedFields after a write through the status subresource that changed nothing but .status (from `old_status`,
// null when there was none): `manager`'s Update entry with "subresource": "status" takes the status fields that
// changed from the other status entries, whose fields that no longer exist are dropped; the entries of the main
// resource come first, as they were. Walks the status alone, so that status writes cost little.
void update_status_managed_fields(json& object, const json* old_status, const std::string& manager,
                                  const std::string& api_version, const std::string& now_rfc3339);

// The managedFields a write stores when its body carries `given` (its metadata.managedFields), re-encoded as
// the API server does (entries sorted, owners of nothing dropped); null when the stored ones stay: `given`
// absent, empty or invalid (an entry without operation Apply or Update, an apiVersion, fieldsType FieldsV1 or a
// well-formed fieldsV1). A list of one empty entry, `[{}]`, clears them: an empty array.
json managed_fields_to_store(json given);

}  // namespace kubelite
