// The write requests' handlers: create (and the pods/eviction, pods/binding and serviceaccounts/token
// subresources), update, patch, delete and deletecollection (as k8s.io/apiserver's handlers do them). They decode
// bodies and serialize responses outside the store lock and hold it exclusively for the read-modify-write, which
// the write pipeline of api_writes.cc does.
#include <algorithm>
#include <ctime>

#include "kubelite/api_impl.h"
#include "kubelite/semantics/patch.h"
#include "kubelite/semantics/selector.h"

namespace kubelite {

namespace {

ApiError invalid_dry_run(const std::string& value) {
  return ApiError(400, "BadRequest", "Invalid dryRun value: " + value + ", only \"All\" is supported");
}

WriteOptions write_options(const ApiRequest& req) {
  WriteOptions w;
  w.manager = manager_from(req);
  std::string dry = query(req, "dryRun");
  if (!dry.empty() && dry != "All")
    throw invalid_dry_run(dry);
  w.dry_run = dry == "All";
  if (w.manager.size() > 128) {
    const char* options = req.method == "POST" ? "CreateOptions" : req.method == "PUT" ? "UpdateOptions" : "PatchOptions";
    throw ApiError(422, "Invalid",
                   std::string(options) + ".meta.k8s.io \"\" is invalid: fieldManager: Too long: may not be more than 128 bytes",
                   {{"group", "meta.k8s.io"},
                    {"kind", options},
                    {"causes", json::array({{{"reason", "FieldValueTooLong"},
                                             {"message", "Too long: may not be more than 128 bytes"},
                                             {"field", "fieldManager"}}})}});
  }
  std::string validation = query(req, "fieldValidation");
  if (!validation.empty()) {
    if (validation != "Ignore" && validation != "Warn" && validation != "Strict")
      throw bad_request("fieldValidation must be one of \"Ignore\", \"Warn\" or \"Strict\", got \"" + validation + "\"");
    w.field_validation = validation;
  }
  return w;
}

ApiResponse with_warnings(ApiResponse res, const std::vector<std::string>& warnings) {
  for (const auto& text : warnings) res.headers.emplace_back("Warning", "299 - " + json(text).dump());
  return res;
}

// A write's response when it is the written object: the stored compact JSON when the write stored it (no second
// serialization of the tree), else (dry run, no-op) the tree.
ApiResponse written_response(int status, const ResourceInfo& r, const json& object, const ObjectPtr& stored) {
  if (!stored) return json_response(status, object);
  ApiResponse res;
  res.status = status;
  res.body = serialize_with_kind(r, stored->json);
  return res;
}

// {"metadata":{"managedFields":[...]}}: Velero's restore sets the backed-up managedFields so after each create.
bool only_managed_fields(const json& patch) {
  if (!patch.is_object() || patch.size() != 1) return false;
  auto meta = patch.find("metadata");
  if (meta == patch.end() || !meta->is_object() || meta->size() != 1) return false;
  auto entries = meta->find("managedFields");
  return entries != meta->end() && entries->is_array();
}

// Scale subresource view (autoscaling/v1) of a workload or custom resource.
json scale_of(const ResourceInfo& r, const json& object) {
  std::string spec_path = ".spec.replicas", status_path = ".status.replicas";
  if (r.custom) {
    const json& scale = r.crd_version["subresources"]["scale"];
    spec_path = scale.value("specReplicasPath", spec_path);
    status_path = scale.value("statusReplicasPath", status_path);
  }
  auto at = [&](const std::string& path) -> json {
    json::json_pointer p("/" + [&] {
      std::string s = path.substr(1);
      std::replace(s.begin(), s.end(), '.', '/');
      return s;
    }());
    return object.contains(p) ? object[p] : json(0);
  };
  const json& meta = object["metadata"];
  json scale = {{"kind", "Scale"},
                {"apiVersion", "autoscaling/v1"},
                {"metadata",
                 {{"name", meta["name"]},
                  {"uid", meta["uid"]},
                  {"resourceVersion", meta["resourceVersion"]},
                  {"creationTimestamp", meta["creationTimestamp"]}}},
                {"spec", {{"replicas", at(spec_path)}}},
                {"status", {{"replicas", at(status_path)}}}};
  if (meta.contains("namespace")) scale["metadata"]["namespace"] = meta["namespace"];
  if (object.contains("spec") && object["spec"].contains("selector") && object["spec"]["selector"].contains("matchLabels")) {
    std::string selector;
    for (const auto& [k, v] : object["spec"]["selector"]["matchLabels"].items())
      selector += (selector.empty() ? "" : ",") + k + "=" + v.get<std::string>();
    scale["status"]["selector"] = selector;
  }
  return scale;
}

void set_replicas(const ResourceInfo& r, json& object, const json& replicas) {
  std::string path = ".spec.replicas";
  if (r.custom) path = r.crd_version["subresources"]["scale"].value("specReplicasPath", path);
  std::string s = path.substr(1);
  std::replace(s.begin(), s.end(), '.', '/');
  object[json::json_pointer("/" + s)] = replicas;
}

}  // namespace

ApiResponse Api::Impl::create(const Target& t, const ApiRequest& req) {
  if (is_review(*t.r)) return json_response(201, answer_review(*t.r, t.ns, decode_body(req.body, req.content_type), req.user,
                                                                 ReviewContext{store, options.tokens}));
  WriteOptions w = write_options(req);
  std::vector<std::string> warnings;
  w.warnings = &warnings;
  ObjectPtr stored;
  w.stored = &stored;
  json body = decode_body(req.body, req.content_type);
  json created;
  {
    std::unique_lock lock(store.mutex());
    created = create_object(*t.r, t.ns, std::move(body), w);
  }
  return with_warnings(written_response(201, *t.r, created, stored), warnings);
}

static DeleteOptions delete_options(const ApiRequest& req) {
  DeleteOptions d;
  if (!req.body.empty()) {
    json body = decode_body(req.body, req.content_type.empty() ? "application/json" : req.content_type);
    if (body.is_object()) {
      d.propagation = body.value("propagationPolicy", "");
      if (body.contains("preconditions") && body["preconditions"].is_object()) {
        d.precondition_uid = body["preconditions"].value("uid", "");
        d.precondition_rv = body["preconditions"].value("resourceVersion", "");
      }
      for (const auto& v : body.value("dryRun", json::array()))
        if (v == "All") d.dry_run = true;
      if (body.contains("orphanDependents") && body["orphanDependents"].is_boolean() && d.propagation.empty())
        d.propagation = body["orphanDependents"].get<bool>() ? "Orphan" : "Background";
    }
  }
  if (!query(req, "propagationPolicy").empty()) d.propagation = query(req, "propagationPolicy");
  if (query(req, "dryRun") == "All") d.dry_run = true;
  else if (!query(req, "dryRun").empty()) throw invalid_dry_run(query(req, "dryRun"));
  if (!d.propagation.empty() && d.propagation != "Orphan" && d.propagation != "Background" && d.propagation != "Foreground")
    throw ApiError(422, "Invalid",
                   "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"" + d.propagation +
                       "\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
                   {{"group", "meta.k8s.io"}, {"kind", "DeleteOptions"}});
  return d;
}

ApiResponse Api::Impl::create_subresource(const Target& t, const ApiRequest& req) {
  const ResourceInfo& r = *t.r;
  json body = decode_body(req.body, req.content_type);
  std::unique_lock lock(store.mutex());
  json old = read(r, t.key());
  if (old.is_null()) throw not_found(r, t.name);
  json success = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"status", "Success"}, {"code", 201}};
  if (r.is("", "pods") && t.sub == "eviction") {
    // No PodDisruptionBudget is ever violated here: an eviction is a delete with the Eviction's options.
    ApiRequest as_delete = req;
    as_delete.body = body.value("deleteOptions", json::object()).dump();
    as_delete.content_type = "application/json";
    bool gone = false;
    DeleteOptions d = delete_options(as_delete);
    delete_object(r, old, d, gone);
    return json_response(201, success);
  }
  if (r.is("", "pods") && t.sub == "binding") {
    // kube-apiserver's pkg/registry/core/pod/storage/storage.go (assignPod, setPodHostAndAnnotations): a pod is
    // bound once; the binding sets spec.nodeName, adds its annotations and marks the pod PodScheduled=True.
    std::string node = body.value("target", json::object()).value("name", "");
    if (node.empty()) throw bad_request("Binding.target.name: Required value");
    std::string bound = old.value("spec", json::object()).value("nodeName", "");
    if (!bound.empty()) throw conflict(r, t.name, "pod " + t.name + " is already assigned to node \"" + bound + "\"");
    json updated = old;
    updated["spec"]["nodeName"] = node;
    const json annotations = body.value("metadata", json::object()).value("annotations", json::object());
    for (const auto& [k, v] : annotations.items()) updated["metadata"]["annotations"][k] = v;
    json conditions = json::array();
    for (const auto& c : old.value("status", json::object()).value("conditions", json::array()))
      if (c.value("type", "") != "PodScheduled") conditions.push_back(c);
    conditions.push_back({{"type", "PodScheduled"}, {"status", "True"}, {"lastProbeTime", nullptr},
                          {"lastTransitionTime", now_rfc3339()}});
    updated["status"]["conditions"] = conditions;
    WriteOptions w = write_options(req);
    w.subresource = "binding";
    update_object(r, old, updated, w);
    return json_response(201, success);
  }
  if (r.is("", "serviceaccounts") && t.sub == "token") {
    long long seconds = body.value("spec", json::object()).value("expirationSeconds", 3600LL);
    std::time_t expires = std::time(nullptr) + seconds;
    std::tm tm{};
    gmtime_r(&expires, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json request = body;
    request["apiVersion"] = "authentication.k8s.io/v1";
    request["kind"] = "TokenRequest";
    request["metadata"] = {{"name", t.name}, {"namespace", t.ns}, {"creationTimestamp", nullptr}};
    request["status"] = {{"token", "kubelite-sa-" + new_uid()}, {"expirationTimestamp", stamp}};
    return json_response(201, request);
  }
  throw method_not_allowed();
}

static bool creates_on_update(const ResourceInfo& r) {
  return r.group.empty() &&
         (r.resource == "services" || r.resource == "endpoints" || r.resource == "limitranges" || r.resource == "events");
}

ApiResponse Api::Impl::update(const Target& t, const ApiRequest& req) {
  std::vector<std::string> warnings;
  ApiResponse res = update_unwarned(t, req, warnings);
  return with_warnings(std::move(res), warnings);
}

ApiResponse Api::Impl::update_unwarned(const Target& t, const ApiRequest& req, std::vector<std::string>& warnings) {
  const ResourceInfo& r = *t.r;
  WriteOptions w = write_options(req);
  w.warnings = &warnings;
  w.subresource = t.sub;
  json body = decode_body(req.body, req.content_type);
  if (!body.is_object()) throw bad_request("the body of the request is not a JSON object");
  std::string kind = body.value("kind", "");
  if (t.sub.empty() && !kind.empty() && kind != r.kind)
    throw bad_request("the kind in the data (" + kind + ") does not match the expected kind (" + r.kind + ")");
  json meta = body.value("metadata", json::object());
  std::string body_name = meta.value("name", "");
  if (!body_name.empty() && body_name != t.name)
    throw bad_request("the name of the object (" + body_name + ") does not match the name on the URL (" + t.name + ")");
  if (r.namespaced && !meta.value("namespace", "").empty() && meta.value("namespace", "") != t.ns)
    throw bad_request("the namespace of the provided object does not match the namespace sent on the request");
  ObjectPtr stored;
  w.stored = &stored;
  auto [status, result] = [&]() -> std::pair<int, json> {
    std::unique_lock lock(store.mutex());
    json old = read(r, t.key());
    if (old.is_null()) {
      if (creates_on_update(r) && t.sub.empty()) return {201, create_object(r, t.ns, std::move(body), w)};
      throw not_found(r, t.name);
    }
    if (t.sub == "scale") {
      std::string rv = meta.value("resourceVersion", "");
      if (!rv.empty() && rv != old["metadata"].value("resourceVersion", "")) throw modified_conflict(r, t.name);
      json updated = old;
      set_replicas(r, updated, body.value("spec", json::object()).value("replicas", 0));
      w.stored = nullptr;  // the answer is the Scale, not the object
      return {200, scale_of(r, update_object(r, old, updated, w))};
    }
    if (t.sub == "finalize") {
      json updated = old;
      updated["spec"]["finalizers"] = body.value("spec", json::object()).value("finalizers", json::array());
      return {200, update_object(r, old, updated, w)};
    }
    return {200, update_object(r, old, std::move(body), w)};
  }();
  return written_response(status, r, result, stored);
}

ApiResponse Api::Impl::patch(const Target& t, const ApiRequest& req) {
  std::vector<std::string> warnings;
  ApiResponse res = patch_unwarned(t, req, warnings);
  return with_warnings(std::move(res), warnings);
}

ApiResponse Api::Impl::patch_unwarned(const Target& t, const ApiRequest& req, std::vector<std::string>& warnings) {
  const ResourceInfo& r = *t.r;
  WriteOptions w = write_options(req);
  w.warnings = &warnings;
  w.subresource = t.sub;
  std::string type = req.content_type.substr(0, req.content_type.find(';'));
  std::string force = query(req, "force");
  bool apply = type == "application/apply-patch+yaml";
  if (!force.empty() && !apply)
    throw ApiError(422, "Invalid",
                   "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch",
                   {{"group", "meta.k8s.io"},
                    {"kind", "PatchOptions"},
                    {"causes", json::array({{{"reason", "FieldValueForbidden"},
                                             {"message", "Forbidden: may not be specified for non-apply patch"},
                                             {"field", "force"}}})}});
  if (!apply && type != "application/merge-patch+json" && type != "application/json-patch+json" &&
      type != "application/strategic-merge-patch+json")
    throw ApiError(415, "UnsupportedMediaType",
                   "the body of the request was in an unknown format - accepted media types include: "
                   "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml" +
                       std::string(supports_strategic_merge(r.group, r.kind) && !r.custom
                                       ? ", application/strategic-merge-patch+json"
                                       : ""));
  if (type == "application/strategic-merge-patch+json" && (r.custom || !supports_strategic_merge(r.group, r.kind)))
    throw ApiError(415, "UnsupportedMediaType",
                   "the body of the request was in an unknown format - accepted media types include: "
                   "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
  json body = decode_body(req.body, apply ? "application/yaml" : "application/json");
  ObjectPtr stored;
  w.stored = &stored;
  if (type == "application/merge-patch+json" && t.sub.empty() && only_managed_fields(body)) {
    // Sent after every create of a restore: no generic merge, no walk of the object, and the new list spliced
    // into the stored text where it can be.
    json entries = managed_fields_to_store(std::move(body["metadata"]["managedFields"]));
    const std::string entries_text = entries.is_null() ? "" : entries.dump();
    json result;
    {
      std::unique_lock lock(store.mutex());
      ObjectPtr current = store.get(r.storage_id(), t.key());
      if (!current) throw not_found(r, t.name);
      if (!w.dry_run) stored = splice_managed_fields(r, current, entries, entries_text);
      if (!stored) result = replace_managed_fields(r, json::parse(current->json), std::move(entries), w);
    }
    return written_response(200, r, result, stored);
  }
  auto [status, result] = [&]() -> std::pair<int, json> {
    std::unique_lock lock(store.mutex());
    json old = read(r, t.key());
    if (apply) {
      std::string manager = query(req, "fieldManager");
      w.manager = manager;
      w.managed_fields_done = true;
      if (!body.is_object()) throw bad_request("the body of the request is not a JSON object");
      if (body.contains("metadata") && body["metadata"].contains("managedFields"))
        throw bad_request("metadata.managedFields must be nil");
      if (old.is_null()) {
        if (!t.sub.empty()) throw not_found(r, t.name);
        json created = server_side_apply(nullptr, body, manager, force == "true", r.api_version(), now_rfc3339());
        if (!created.contains("metadata")) created["metadata"] = json::object();
        created["metadata"]["name"] = t.name;
        return {201, create_object(r, t.ns, std::move(created), w)};
      }
      json live = old;
      live["apiVersion"] = r.api_version();
      live["kind"] = r.kind;
      json merged = server_side_apply(live, body, manager, force == "true", r.api_version(), now_rfc3339());
      return {200, update_object(r, old, std::move(merged), w)};
    }
    if (old.is_null()) throw not_found(r, t.name);
    json target = old;
    target["apiVersion"] = r.api_version();
    target["kind"] = r.kind;
    if (t.sub == "scale") target = scale_of(r, target);
    json patched;
    if (type == "application/merge-patch+json") patched = apply_merge_patch(std::move(target), body);
    else if (type == "application/json-patch+json") patched = apply_json_patch(target, body);
    else patched = apply_strategic_merge_patch(target, body, r.group, r.kind);
    if (t.sub == "scale") {
      std::string rv = patched["metadata"].value("resourceVersion", "");
      if (!rv.empty() && rv != old["metadata"].value("resourceVersion", "")) throw modified_conflict(r, t.name);
      json updated = old;
      set_replicas(r, updated, patched.value("spec", json::object()).value("replicas", 0));
      w.stored = nullptr;  // the answer is the Scale, not the object
      return {200, scale_of(r, update_object(r, old, updated, w))};
    }
    std::string patched_name = patched.value("metadata", json::object()).value("name", "");
    if (patched_name != t.name)
      throw bad_request("the name of the object (" + patched_name + ") does not match the name on the URL (" + t.name + ")");
    return {200, update_object(r, old, std::move(patched), w)};
  }();
  return written_response(status, r, result, stored);
}

static json success_status(const ResourceInfo& r, const json& object) {
  const json& meta = object["metadata"];
  json details = {{"name", meta.value("name", "")}, {"kind", r.resource}, {"uid", meta.value("uid", "")}};
  if (!r.group.empty()) details["group"] = r.group;
  return {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"status", "Success"}, {"details", details}};
}

ApiResponse Api::Impl::remove(const Target& t, const ApiRequest& req) {
  const ResourceInfo& r = *t.r;
  DeleteOptions d = delete_options(req);
  bool gone = false;
  json result;
  {
    std::unique_lock lock(store.mutex());
    json old = read(r, t.key());
    if (old.is_null()) throw not_found(r, t.name);
    result = delete_object(r, old, d, gone);
  }
  ApiResponse res;
  if (r.is("batch", "jobs") && d.propagation.empty())
    res.headers.emplace_back("Warning",
                             "299 - \"child pods are preserved by default when jobs are deleted; set "
                             "propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress "
                             "this warning\"");
  // Kinds registered to return the deleted object (STORE finalizeDelete) versus a Success Status.
  bool returns_object = r.is("", "pods") || r.is("", "serviceaccounts") || r.is("", "namespaces");
  res.body = (gone && !returns_object ? success_status(r, result) : result).dump();
  return res;
}

ApiResponse Api::Impl::remove_collection(const Target& t, const ApiRequest& req) {
  const ResourceInfo& r = *t.r;
  DeleteOptions d = delete_options(req);
  json deleted = json::array();
  std::unique_lock lock(store.mutex());
  std::vector<ObjectPtr> candidates;
  std::string prefix = t.ns.empty() ? "" : t.ns + "/";
  for (const auto& [key, o] : store.collection(r.storage_id()))
    if (prefix.empty() || key.compare(0, prefix.size(), prefix) == 0) candidates.push_back(o);
  std::string labels = query(req, "labelSelector"), fields = query(req, "fieldSelector");
  auto label_selector = parse_label_selector(labels);
  auto field_selector = parse_field_selector(fields, field_selectors_of(r));
  for (const auto& o : candidates) {
    json object = json::parse(o->json);
    if (!label_selector.matches(object["metadata"].value("labels", json()))) continue;
    if (!field_selector.matches(object)) continue;
    bool gone = false;
    deleted.push_back(delete_object(r, object, d, gone));
  }
  json list = {{"kind", r.kind + "List"},
               {"apiVersion", r.api_version()},
               {"metadata", {{"resourceVersion", std::to_string(store.current_rv())}}},
               {"items", std::move(deleted)}};
  lock.unlock();
  return json_response(200, list);
}

}  // namespace kubelite