// Create, update, patch, delete and deletecollection, and the write pipeline they share
// (as k8s.io/apiserver's handlers and apiextensions-apiserver do them). The request handlers decode bodies and serialize responses outside the store
// lock and hold it exclusively for the read-modify-write; every other function here runs with it held.
#include <cstdio>
#include <ctime>
#include <set>

#include "kubelite/api_impl.h"
#include "kubelite/builtins.h"
#include "kubelite/json_text.h"
#include "kubelite/pruning.h"
#include "kubelite/semantics/patch.h"
#include "kubelite/semantics/selector.h"
#include "kubelite/semantics/validation.h"

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

ApiResponse object_response(int status, const json& object) {
  ApiResponse res;
  res.status = status;
  res.body = object.dump();
  return res;
}

// A write's response when it is the written object: the stored compact JSON when the write stored it (no second
// serialization of the tree), else (dry run, no-op) the tree.
ApiResponse written_response(int status, const ResourceInfo& r, const json& object, const ObjectPtr& stored) {
  if (!stored) return object_response(status, object);
  ApiResponse res;
  res.status = status;
  res.body = serialize_with_kind(r, stored->json);
  return res;
}


std::string string_at(const json& object, const char* a, const char* b) {
  if (!object.contains(a) || !object[a].is_object()) return "";
  const json& v = object[a].value(b, json());
  return v.is_string() ? v.get<std::string>() : "";
}

json without_kind(json object) {
  object.erase("apiVersion");
  object.erase("kind");
  return object;
}

bool is_kind_key(const std::string& k) { return k == "apiVersion" || k == "kind"; }
bool is_write_bookkeeping(const std::string& k) { return k == "resourceVersion" || k == "managedFields"; }

// Whether two objects are equal but for the keys `skip` names; with `metadata_skips`, their metadata is compared
// the same way, ignoring resourceVersion and managedFields.
bool same_except(const json& a, const json& b, bool (*skip)(const std::string&), bool metadata_skips) {
  if (!a.is_object() || !b.is_object()) return a == b;
  size_t compared = 0;
  for (auto it = a.begin(); it != a.end(); ++it) {
    if (skip(it.key())) continue;
    ++compared;
    auto other = b.find(it.key());
    if (other == b.end()) return false;
    bool same = metadata_skips && it.key() == "metadata" ? same_except(*it, *other, is_write_bookkeeping, false)
                                                         : *it == *other;
    if (!same) return false;
  }
  for (auto it = b.begin(); it != b.end(); ++it)
    if (!skip(it.key())) --compared;
  return compared == 0;
}

// Compares two objects ignoring what every write changes anyway, without copying them (updates are hot).
bool same_content(const json& a, const json& b) { return same_except(a, b, is_kind_key, true); }

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

void Api::Impl::add_service_allocations(ServiceAllocations& a, const json& svc) {
  const json& spec = svc.value("spec", json::object());
  if (spec.contains("clusterIP") && spec["clusterIP"].is_string()) {
    const std::string& ip = spec["clusterIP"].get_ref<const std::string&>();
    a.ips.insert(ip);
    unsigned b[4];
    if (std::sscanf(ip.c_str(), "%u.%u.%u.%u", &b[0], &b[1], &b[2], &b[3]) == 4)
      a.last_ip = (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
  }
  for (const auto& p : spec.value("ports", json::array()))
    if (p.contains("nodePort") && p["nodePort"].is_number_integer()) a.ports.insert(p["nodePort"].get<int>());
}

Api::Impl::ServiceAllocations& Api::Impl::current_service_allocations() {
  ServiceAllocations& a = service_allocations;
  uint64_t writes = store.writes("/services");
  if (a.writes_seen != writes) {
    a = ServiceAllocations{};
    for (const auto& [key, o] : store.collection("/services")) add_service_allocations(a, json::parse(o->json));
    a.writes_seen = writes;
  }
  return a;
}

ClusterState Api::Impl::cluster_state() {
  ClusterState state;
  // Only Service creation asks; the index behind these is built once and kept current (see ServiceAllocations).
  state.cluster_ip_in_use = [this](const std::string& ip) { return current_service_allocations().ips.count(ip) > 0; };
  state.node_port_in_use = [this](int port) { return current_service_allocations().ports.count(port) > 0; };
  state.node_port_first = options.node_port_first;
  state.node_port_last = options.node_port_last;
  state.last_allocated_ip = service_allocations.last_ip;
  state.default_storage_class = [this] {
    for (const auto& [key, o] : store.collection("storage.k8s.io/storageclasses")) {
      json sc = json::parse(o->json);
      if (string_at(sc["metadata"], "annotations", "storageclass.kubernetes.io/is-default-class") == "true") return key;
    }
    return std::string();
  };
  return state;
}

void Api::Impl::enforce_schema(const ResourceInfo& r, json& object, const WriteOptions& w) {
  if (!r.custom || !r.crd_version.contains("schema")) return;
  std::vector<std::string> removed = prune_unknown_fields(object, r.crd_version["schema"].value("openAPIV3Schema", json::object()));
  if (removed.empty() || w.field_validation == "Ignore") return;
  if (w.field_validation == "Strict") {
    std::string message = "strict decoding error: ";
    for (size_t i = 0; i < removed.size(); ++i) message += (i ? ", " : "") + std::string("unknown field \"") + removed[i] + "\"";
    throw bad_request(message);
  }
  if (w.warnings)
    for (const auto& field : removed) w.warnings->push_back("unknown field \"" + field + "\"");
}

void Api::Impl::note_change(const ResourceInfo& r, const StoredObject& o) {
  const std::string& key = o.key;
  if (r.is("", "persistentvolumeclaims")) volume_binding.claims_to_check.insert(key);
  if (r.is("", "persistentvolumes")) volume_binding.volumes_to_check.insert(key);
  if (r.is("storage.k8s.io", "storageclasses")) {
    // Claims waiting for this class may now be provisioned.
    auto waiting = volume_binding.waiting.find("class:" + key);
    if (waiting != volume_binding.waiting.end())
      for (const auto& [claim, request] : waiting->second) volume_binding.claims_to_check.insert(claim);
  }
  if (r.is("", "persistentvolumeclaims") || r.is("", "persistentvolumes") || r.is("storage.k8s.io", "storageclasses"))
    volumes_dirty = true;
  // The driver looks at the claims of pods bound to a node (WaitForFirstConsumer): other pods are not handed to
  // it (it parsed every pod write of a --load).
  if (csi && (!r.is("", "pods") || (o.json.find("\"persistentVolumeClaim\"") != std::string::npos &&
                                    o.json.find("\"nodeName\"") != std::string::npos)))
    csi->note(r.storage_id(), key);
}

json Api::Impl::commit(const ResourceInfo& r, json object, ObjectPtr* stored_out) {
  object = without_kind(std::move(object));
  uint64_t rv = store.next_rv();
  object["metadata"]["resourceVersion"] = std::to_string(rv);
  const json& meta = object["metadata"];
  std::string key = r.namespaced ? meta.value("namespace", "") + "/" + meta.value("name", "") : meta.value("name", "");
  ObjectPtr stored = store_text(r, std::move(key), object.dump(), rv, &object);
  if (stored_out) *stored_out = stored;
  object["apiVersion"] = r.api_version();
  object["kind"] = r.kind;
  return object;
}

std::optional<std::string_view> owner_references_text(const std::string& text) {
  if (text.find("\"ownerReferences\"") == std::string::npos) return std::nullopt;
  auto meta = member_value(text, 0, "metadata");
  auto refs = meta ? member_value(text, meta->begin, "ownerReferences") : std::nullopt;
  if (!refs) return std::string_view(text);  // not found where expected: compare the whole text
  return std::string_view(text).substr(refs->begin, refs->end - refs->begin);
}

ObjectPtr Api::Impl::store_text(const ResourceInfo& r, std::string key, std::string text, uint64_t rv,
                                const json* parsed) {
  auto stored = std::make_shared<StoredObject>();
  stored->key = std::move(key);
  stored->json = std::move(text);
  stored->rv = rv;
  // The garbage collector checks a dependent's owners when its ownerReferences are new or changed, not on every
  // status write of a pod (which parsed the pod and its owner each time).
  std::optional<std::string_view> refs = owner_references_text(stored->json);
  bool verify = false;
  if (refs) {
    ObjectPtr previous = store.get(r.storage_id(), stored->key);
    verify = !previous || owner_references_text(previous->json) != refs;
  }
  store.put(r.storage_id(), stored);
  note_change(r, *stored);
  if (write_observer) write_observer(r.storage_id(), *stored, false, parsed);
  if (verify) gc_dependents_to_verify.insert({r.storage_id(), stored->key});
  return stored;
}

void Api::Impl::erase(const ResourceInfo& r, const json& last_state) {
  json object = without_kind(last_state);
  uint64_t rv = store.next_rv();
  object["metadata"]["resourceVersion"] = std::to_string(rv);
  auto stored = std::make_shared<StoredObject>();
  const json& meta = object["metadata"];
  stored->key = r.namespaced ? meta.value("namespace", "") + "/" + meta.value("name", "") : meta.value("name", "");
  stored->json = object.dump();
  stored->rv = rv;
  store.remove(r.storage_id(), stored);
  note_change(r, *stored);
  if (write_observer) write_observer(r.storage_id(), *stored, true, &object);
  gc_deleted_uids.insert(meta.value("uid", ""));
  if (r.is("apiextensions.k8s.io", "customresourcedefinitions")) {
    const json& spec = object["spec"];
    registry.remove_custom(spec.value("group", ""), spec["names"].value("plural", ""));
  }
  if (r.is("", "namespaces")) namespaces_terminating_since.erase(meta.value("name", ""));
}

// A CRD being deleted stays served until the cleanup has removed its resources (its conditions say so).
void Api::Impl::register_crd(const json& crd) {
  bool established = false;
  for (const auto& c : crd.value("status", json::object()).value("conditions", json::array()))
    if (c.value("type", "") == "Established" && c.value("status", "") == "True") established = true;
  if (established) registry.add_custom(crd);
}

// CustomResourceDefinition admission: name rule, defaults, and the status the apiextensions controllers write.
static void prepare_crd(const ResourceInfo& r, json& crd, bool names_conflict) {
  json& spec = crd["spec"];
  std::string name = crd["metadata"].value("name", "");
  std::string group = spec.value("group", "");
  json& names = spec["names"];
  std::string plural = names.value("plural", "");
  std::vector<FieldCause> causes;
  if (name != plural + "." + group)
    causes.push_back({"FieldValueInvalid", "metadata.name",
                      "Invalid value: \"" + name + "\": must be spec.names.plural+\".\"+spec.group"});
  if (plural.empty()) causes.push_back({"FieldValueRequired", "spec.names.plural", "Required value"});
  if (names.value("kind", "").empty()) causes.push_back({"FieldValueRequired", "spec.names.kind", "Required value"});
  std::string scope = spec.value("scope", "");
  if (scope != "Namespaced" && scope != "Cluster")
    causes.push_back({"FieldValueNotSupported", "spec.scope",
                      "Unsupported value: \"" + scope + "\": supported values: \"Cluster\", \"Namespaced\""});
  int storage = 0;
  std::string storage_version;
  for (const auto& v : spec.value("versions", json::array()))
    if (v.value("storage", false)) {
      ++storage;
      storage_version = v.value("name", "");
    }
  if (storage != 1)
    causes.push_back({"FieldValueInvalid", "spec.versions",
                      "Invalid value: " + spec.value("versions", json::array()).dump() +
                          ": must have exactly one version marked as storage version"});
  if (!causes.empty()) throw invalid(r, name, causes);
  if (!names.contains("listKind")) names["listKind"] = names["kind"].get<std::string>() + "List";
  if (!names.contains("singular")) {
    std::string singular = names["kind"].get<std::string>();
    std::transform(singular.begin(), singular.end(), singular.begin(), ::tolower);
    names["singular"] = singular;
  }
  if (!spec.contains("conversion")) spec["conversion"] = {{"strategy", "None"}};
  std::string now = now_rfc3339();
  if (names_conflict) {
    crd["status"] = {{"acceptedNames", {{"plural", ""}, {"kind", ""}}},
                     {"storedVersions", {storage_version}},
                     {"conditions",
                      {{{"type", "NamesAccepted"}, {"status", "False"}, {"lastTransitionTime", now},
                        {"reason", "PluralConflict"}, {"message", "\"" + plural + "\" is already in use"}},
                       {{"type", "Established"}, {"status", "False"}, {"lastTransitionTime", now},
                        {"reason", "NotAccepted"}, {"message", "not all names are accepted"}}}}};
    return;
  }
  crd["status"] = {{"acceptedNames", names},
                   {"storedVersions", {storage_version}},
                   {"conditions",
                    {{{"type", "NamesAccepted"}, {"status", "True"}, {"lastTransitionTime", now},
                      {"reason", "NoConflicts"}, {"message", "no conflicts found"}},
                     {{"type", "Established"}, {"status", "True"}, {"lastTransitionTime", now},
                      {"reason", "InitialNamesAccepted"}, {"message", "the initial names have been accepted"}}}}};
}

json Api::Impl::create_object(const ResourceInfo& r, const std::string& ns, json object, const WriteOptions& w) {
  if (!object.is_object()) throw bad_request("the body of the request is not a JSON object");
  std::string kind = object.value("kind", "");
  if (!kind.empty() && kind != r.kind)
    throw bad_request("the kind in the data (" + kind + ") does not match the expected kind (" + r.kind + ")");
  std::string api_version = object.value("apiVersion", "");
  if (!api_version.empty() && api_version != r.api_version())
    throw bad_request("the API version in the data (" + api_version + ") does not match the expected API version (" +
                      r.api_version() + ")");
  if (!object.contains("metadata") || !object["metadata"].is_object()) object["metadata"] = json::object();
  json& meta = object["metadata"];
  if (r.namespaced) {
    std::string body_ns = meta.value("namespace", "");
    if (!body_ns.empty() && body_ns != ns)
      throw bad_request("the namespace of the provided object does not match the namespace sent on the request");
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  if (!meta.value("resourceVersion", "").empty())
    throw ApiError(500, "", "resourceVersion should not be set on objects to be created");
  std::string name = meta.value("name", "");
  bool generated = false;
  if (name.empty()) {
    std::string prefix = meta.value("generateName", "");
    if (prefix.empty())
      throw invalid(r, "", {{"FieldValueRequired", "metadata.name", "Required value: name or generateName is required"}});
    name = generated_name(prefix);
    meta["name"] = name;
    generated = true;
  }
  bool label_names = r.is("", "namespaces") || r.is("", "services");
  std::vector<std::string> problems = label_names ? is_dns1123_label(name) : is_dns1123_subdomain(name);
  if (!problems.empty())
    throw invalid(r, name, {{"FieldValueInvalid", "metadata.name",
                             "Invalid value: \"" + name + "\": " + join_problems(problems)}});
  if (r.namespaced) {
    ObjectPtr namespace_object = store.get("/namespaces", ns);
    if (!namespace_object)
      throw ApiError(404, "NotFound", "namespaces \"" + ns + "\" not found",
                     {{"name", ns}, {"group", ""}, {"kind", "namespaces"}});
    if (namespace_object->json.find("\"deletionTimestamp\"") != std::string::npos)
      throw ApiError(403, "Forbidden",
                     r.qualified_resource() + " \"" + name + "\" is forbidden: unable to create new content in namespace " +
                         ns + " because it is being terminated",
                     {{"name", name},
                      {"group", r.group},
                      {"kind", r.resource},
                      {"causes", json::array({{{"reason", "NamespaceTerminating"},
                                               {"message", "namespace " + ns + " is being terminated"},
                                               {"field", "metadata.namespace"}}})}});
  }
  std::string key = r.namespaced ? ns + "/" + name : name;
  if (store.get(r.storage_id(), key)) {
    if (generated)
      throw ApiError(409, "AlreadyExists",
                     r.qualified_resource() + " \"" + name +
                         "\" already exists, the server was not able to generate a unique name for the object",
                     {{"name", name}, {"group", r.group}, {"kind", r.resource}});
    throw already_exists(r, name);
  }
  meta["uid"] = new_uid();
  meta["creationTimestamp"] = now_rfc3339();
  for (const char* k : {"deletionTimestamp", "deletionGracePeriodSeconds", "generation", "selfLink"}) meta.erase(k);
  if (!w.managed_fields_done) meta.erase("managedFields");
  if (tracks_generation(r)) meta["generation"] = 1;
  if (r.subresource("status")) object.erase("status");
  object["apiVersion"] = r.api_version();
  object["kind"] = r.kind;
  enforce_schema(r, object, w);
  check_object(r, object);
  bool is_crd = r.is("apiextensions.k8s.io", "customresourcedefinitions");
  if (is_crd) prepare_crd(r, object, registry.names_conflict(object));
  default_new_object(r, object, cluster_state());
  if (!w.managed_fields_done) update_managed_fields(object, nullptr, w.manager, r.api_version(), now_rfc3339());
  if (w.dry_run) return object;
  json stored = commit(r, std::move(object), w.stored);
  if (r.is("", "services") && service_allocations.writes_seen + 1 == store.writes("/services")) {
    add_service_allocations(service_allocations, stored);  // our own put: the index stays current
    ++service_allocations.writes_seen;
  }
  if (is_crd) register_crd(stored);
  if (r.is("", "namespaces")) {
    // What the serviceaccount and root-ca-cert-publisher controllers add to every new namespace.
    WriteOptions controller;
    controller.manager = "kube-controller-manager";
    create_object(*registry.find("", "v1", "serviceaccounts"), name, {{"metadata", {{"name", "default"}}}}, controller);
    if (!options.ca_pem.empty())
      create_object(*registry.find("", "v1", "configmaps"), name,
                    {{"metadata", {{"name", "kube-root-ca.crt"},
                                   {"annotations", {{"kubernetes.io/description",
                                                     "Contains a CA bundle that can be used to verify the "
                                                     "kube-apiserver when using internal endpoints such as the "
                                                     "internal service IP or kubernetes.default.svc. No other usage "
                                                     "is guaranteed across distributions of Kubernetes clusters."}}}}},
                     {"data", {{"ca.crt", options.ca_pem}}}},
                    controller);
  }
  return stored;
}

// managedFields of an update: entries are kept per subresource, so a /status write is recorded apart from
// the main resource's entries (with "subresource": "status"), like the real server.
static void record_managed_fields(const ResourceInfo& r, const json& old, json& updated, const WriteOptions& w) {
  if (w.subresource != "status") {
    update_managed_fields(updated, old, w.manager, r.api_version(), now_rfc3339());
    return;
  }
  auto old_status = old.find("status");
  update_status_managed_fields(updated, old_status == old.end() ? nullptr : &*old_status, w.manager, r.api_version(),
                               now_rfc3339());
}

json Api::Impl::update_object(const ResourceInfo& r, const json& old, json updated, const WriteOptions& w) {
  if (!updated.is_object()) throw bad_request("the body of the request is not a JSON object");
  const json& old_meta = old["metadata"];
  std::string name = old_meta.value("name", "");
  if (!updated.contains("metadata") || !updated["metadata"].is_object()) updated["metadata"] = json::object();
  // A pointer, not a reference: the /status path replaces `updated` as a whole.
  json* meta = &updated["metadata"];
  std::string body_rv = meta->value("resourceVersion", "");
  if (!body_rv.empty() && body_rv != old_meta.value("resourceVersion", "")) throw modified_conflict(r, name);
  std::string body_uid = meta->value("uid", "");
  if (!body_uid.empty() && body_uid != old_meta.value("uid", ""))
    throw conflict(r, name,
                   "StorageError: invalid object, Code: 4, Key: /registry/" + r.resource + "/" +
                       (r.namespaced ? old_meta.value("namespace", "") + "/" : "") + name +
                       ", ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: " +
                       body_uid + ", UID in object meta: " + old_meta.value("uid", ""));
  const bool body_managed_fields = meta->contains("managedFields");
  if (w.subresource == "status") {
    // /status changes only the status (and the managedFields bookkeeping): the rest of the body is not looked at,
    // nor copied (the controllers' status writes are most of a --load's writes).
    json status = updated.contains("status") ? std::move(updated["status"]) : json();
    json managed = body_managed_fields ? std::move((*meta)["managedFields"]) : json();
    updated = old;
    if (status.is_null()) updated.erase("status");
    else updated["status"] = std::move(status);
    if (!managed.is_null()) updated["metadata"]["managedFields"] = std::move(managed);
    meta = &updated["metadata"];
  } else {
    for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
                          "name", "namespace"}) {
      if (old_meta.contains(k)) (*meta)[k] = old_meta[k];
      else meta->erase(k);
    }
    (*meta)["resourceVersion"] = old_meta["resourceVersion"];
    if (!body_managed_fields && old_meta.contains("managedFields")) (*meta)["managedFields"] = old_meta["managedFields"];
    meta->erase("selfLink");
    if (r.subresource("status") && w.subresource != "binding") {  // a binding sets PodScheduled
      if (old.contains("status")) updated["status"] = old["status"];
      else updated.erase("status");
    }
  }
  if (r.is("", "namespaces") && w.subresource != "finalize") {
    json& spec = updated["spec"];
    spec["finalizers"] = old.value("spec", json::object()).value("finalizers", json::array());
  }
  if (old_meta.contains("deletionTimestamp")) {
    std::set<std::string> before;
    for (const auto& f : old_meta.value("finalizers", json::array())) before.insert(f.get<std::string>());
    for (const auto& f : meta->value("finalizers", json::array()))
      if (!before.count(f.get<std::string>()))
        throw invalid(r, name, {{"FieldValueForbidden", "metadata.finalizers",
                                 "Forbidden: no new finalizers can be added if the object is being deleted, found new "
                                 "finalizers []string{\"" + f.get<std::string>() + "\"}"}});
  }
  if (r.is("apiextensions.k8s.io", "customresourcedefinitions")) {
    json spec = updated["spec"];
    if (spec.value("group", "") != old["spec"].value("group", ""))
      throw invalid(r, name, {{"FieldValueInvalid", "spec.group", "Invalid value: " + spec["group"].dump() + ": field is immutable"}});
  }
  enforce_schema(r, updated, w);
  check_object(r, updated);
  check_update(r, old, updated);
  if (tracks_generation(r) && changes_generation(r, old, updated))
    (*meta)["generation"] = old_meta.value("generation", 0) + 1;
  updated["apiVersion"] = r.api_version();
  updated["kind"] = r.kind;
  if (same_content(old, updated) && !w.managed_fields_done) {
    // Nothing but managedFields can differ: they are written when the body set valid ones (as Velero's restore
    // does, Velero's restore.go restoreItem), else the write is a no-op.
    json entries = body_managed_fields && w.subresource.empty() ? managed_fields_to_store(std::move((*meta)["managedFields"]))
                                                                : json();
    return replace_managed_fields(r, old, std::move(entries), w);
  }
  if (!w.managed_fields_done) record_managed_fields(r, old, updated, w);
  if (w.dry_run) return updated;
  bool deleting = updated["metadata"].contains("deletionTimestamp");
  bool finalizers_left = !updated["metadata"].value("finalizers", json::array()).empty();
  bool namespace_finalizers_left =
      r.is("", "namespaces") && !updated.value("spec", json::object()).value("finalizers", json::array()).empty();
  if (deleting && !finalizers_left && !namespace_finalizers_left) {
    erase(r, updated);
    return updated;
  }
  json stored = commit(r, std::move(updated), w.stored);
  if (r.is("apiextensions.k8s.io", "customresourcedefinitions") && !deleting) register_crd(stored);
  if (deleting) wake_controllers();
  return stored;
}

// A Service's cluster IPs and node ports are as they were after a write of managedFields alone: the allocation index
// stays current (or every Service a restore patches would make the next create re-read all Services).
void Api::Impl::note_service_allocations_unchanged(const ResourceInfo& r) {
  if (r.is("", "services") && service_allocations.writes_seen + 1 == store.writes("/services"))
    ++service_allocations.writes_seen;
}

ObjectPtr Api::Impl::splice_managed_fields(const ResourceInfo& r, const ObjectPtr& current, const json& entries,
                                           const std::string& entries_text) {
  if (entries.is_null()) return current;
  if (entries.empty()) return nullptr;  // clearing them removes a member: left to the parsing path
  const std::string& text = current->json;
  auto meta = member_value(text, 0, "metadata");
  auto list = meta ? member_value(text, meta->begin, "managedFields") : std::nullopt;
  auto version = meta ? member_value(text, meta->begin, "resourceVersion") : std::nullopt;
  if (!list || !version || version->end < list->end) return nullptr;  // keys sort: managedFields comes first
  if (std::string_view(text).substr(list->begin, list->end - list->begin) == entries_text) return current;
  uint64_t rv = store.next_rv();
  std::string spliced;
  spliced.reserve(text.size() + entries_text.size());
  spliced.append(text, 0, list->begin).append(entries_text);
  spliced.append(text, list->end, version->begin - list->end).append("\"" + std::to_string(rv) + "\"");
  spliced.append(text, version->end, std::string::npos);
  ObjectPtr stored = store_text(r, current->key, std::move(spliced), rv);
  note_service_allocations_unchanged(r);
  return stored;
}

json Api::Impl::replace_managed_fields(const ResourceInfo& r, json object, json entries, const WriteOptions& w) {
  json& meta = object["metadata"];
  auto current = meta.find("managedFields");
  bool unchanged = entries.is_null() || (current == meta.end() ? entries.empty() : *current == entries);
  if (!unchanged) {
    if (entries.empty()) meta.erase("managedFields");
    else meta["managedFields"] = std::move(entries);
  }
  if (unchanged || w.dry_run) {
    object["apiVersion"] = r.api_version();
    object["kind"] = r.kind;
    return object;
  }
  json stored = commit(r, std::move(object), w.stored);
  note_service_allocations_unchanged(r);
  return stored;
}

json Api::Impl::delete_object(const ResourceInfo& r, const json& old, const DeleteOptions& d, bool& gone) {
  gone = false;
  const json& old_meta = old["metadata"];
  std::string name = old_meta.value("name", "");
  std::string key_path = "/registry/" + r.resource + "/" + (r.namespaced ? old_meta.value("namespace", "") + "/" : "") + name;
  if (!d.precondition_uid.empty() && d.precondition_uid != old_meta.value("uid", ""))
    throw conflict(r, name,
                   "StorageError: invalid object, Code: 4, Key: " + key_path +
                       ", ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: " +
                       d.precondition_uid + ", UID in object meta: " + old_meta.value("uid", ""));
  if (!d.precondition_rv.empty() && d.precondition_rv != old_meta.value("resourceVersion", ""))
    throw conflict(r, name,
                   "StorageError: invalid object, Code: 4, Key: " + key_path +
                       ", ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: ResourceVersion in precondition: " +
                       d.precondition_rv + ", ResourceVersion in object meta: " + old_meta.value("resourceVersion", ""));
  json object = old;
  object["apiVersion"] = r.api_version();
  object["kind"] = r.kind;
  json& meta = object["metadata"];
  bool already_deleting = meta.contains("deletionTimestamp");
  if (r.is("", "namespaces")) {
    if (name == "default" || name == "kube-system" || name == "kube-public")
      throw ApiError(403, "Forbidden", "namespaces \"" + name + "\" is forbidden: this namespace may not be deleted",
                     {{"name", name}, {"group", ""}, {"kind", "namespaces"}});
    if (already_deleting)
      throw conflict(r, name,
                     "The system is ensuring all content is removed from this namespace.  Upon completion, this "
                     "namespace will automatically be purged by the system.");
    meta["deletionTimestamp"] = now_rfc3339();
    meta["deletionGracePeriodSeconds"] = 0;
    object["status"]["phase"] = "Terminating";
    if (d.dry_run) return object;
    namespaces_terminating_since[name] = std::chrono::steady_clock::now();
    return commit(r, std::move(object));
  }
  std::vector<std::string> finalizers;
  for (const auto& f : meta.value("finalizers", json::array())) finalizers.push_back(f.get<std::string>());
  auto add_finalizer = [&](const std::string& f) {
    if (std::find(finalizers.begin(), finalizers.end(), f) == finalizers.end()) finalizers.push_back(f);
  };
  std::string policy = d.propagation;
  if (policy.empty() && r.is("batch", "jobs")) policy = "Orphan";
  if (r.is("apiextensions.k8s.io", "customresourcedefinitions")) add_finalizer("customresourcecleanup.apiextensions.k8s.io");
  if (!already_deleting) {
    if (policy == "Foreground") add_finalizer("foregroundDeletion");
    if (policy == "Orphan") add_finalizer("orphan");
  }
  if (finalizers.empty()) {
    gone = true;
    if (!d.dry_run) erase(r, object);
    return object;
  }
  if (already_deleting) return object;
  meta["finalizers"] = finalizers;
  meta["deletionTimestamp"] = now_rfc3339();
  meta["deletionGracePeriodSeconds"] = 0;
  if (r.is("apiextensions.k8s.io", "customresourcedefinitions"))
    object["status"]["conditions"].push_back({{"type", "Terminating"},
                                              {"status", "True"},
                                              {"lastTransitionTime", now_rfc3339()},
                                              {"reason", "InstanceDeletionInProgress"},
                                              {"message", "CustomResource deletion is in progress"}});
  if (d.dry_run) return object;
  if (std::find(finalizers.begin(), finalizers.end(), "foregroundDeletion") != finalizers.end() ||
      std::find(finalizers.begin(), finalizers.end(), "orphan") != finalizers.end())
    gc_owners.insert({r.storage_id(), r.namespaced ? meta.value("namespace", "") + "/" + name : name});
  wake_controllers();
  return commit(r, std::move(object));
}

ApiResponse Api::Impl::create(const Target& t, const ApiRequest& req) {
  if (is_review(*t.r)) return object_response(201, answer_review(*t.r, t.ns, decode_body(req.body, req.content_type), req.user,
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
    return object_response(201, success);
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
    return object_response(201, success);
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
    return object_response(201, request);
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
  return object_response(200, list);
}

}  // namespace kubelite
