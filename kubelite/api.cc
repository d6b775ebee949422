#include <sstream>

#include "kubelite/api_impl.h"
#include "kubelite/rbac.h"
#include "kubelite/openapi_v2.h"

namespace kubelite {

namespace {

const char* kAggregatedType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

bool wants_aggregated(const std::string& accept) {
  return accept.find("as=APIGroupDiscoveryList") != std::string::npos &&
         accept.find("apidiscovery.k8s.io;v=v2") != std::string::npos;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(path);
  while (std::getline(in, part, '/'))
    if (!part.empty()) parts.push_back(part);
  return parts;
}

// Every answer is JSON: an Accept header that allows no JSON cannot be satisfied (406).
bool accepts_json(const std::string& accept) {
  return accept.empty() || accept.find("json") != std::string::npos || accept.find("*/*") != std::string::npos ||
         accept.find("application/*") != std::string::npos;
}

ApiError not_acceptable() {
  return ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json, */*");
}

}  // namespace

ApiResponse json_response(int status, const json& body) {
  ApiResponse res;
  res.status = status;
  res.body = body.dump();
  return res;
}

std::string serialize_with_kind(const ResourceInfo& r, const std::string& stored_json) {
  std::string out;
  out.reserve(stored_json.size() + r.api_version().size() + r.kind.size() + 32);
  out += "{\"apiVersion\":\"";
  out += r.api_version();
  out += "\",\"kind\":\"";
  out += r.kind;
  out += '"';
  if (stored_json.size() > 2) {
    out += ',';
    out.append(stored_json, 1, std::string::npos);
  } else {
    out += '}';
  }
  return out;
}

std::string query(const ApiRequest& req, const std::string& name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? "" : it->second;
}

std::string manager_from(const ApiRequest& req) {
  auto it = req.query.find("fieldManager");
  if (it != req.query.end() && !it->second.empty()) return it->second;
  // The real server's default manager is the User-Agent's prefix ("kubectl/v1.31.9 (linux…" → "kubectl").
  std::string ua = req.user_agent.substr(0, req.user_agent.find('/'));
  return ua.empty() ? "unknown" : ua;
}

Api::Api(ApiOptions options)
    : options_(std::move(options)), store_(options_.watch_history),
      impl_(std::make_unique<Impl>(options_, registry_, store_)) {
  if (!options_.data_dir.empty()) store_.open_log(options_.data_dir);
  if (!options_.csi_root.empty()) impl_->start_storage();
  std::unique_lock lock(store_.mutex());
  // CRDs stored by an earlier run are served again before anything else happens.
  const ResourcePtr crds = registry_.find("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  for (const auto& [key, object] : store_.collection(crds->storage_id())) impl_->register_crd(json::parse(object->json));
  if (store_.collection("/namespaces").empty()) impl_->seed();
  store_.reset_history();
}

Api::~Api() = default;

Api::Impl::~Impl() {
  stopping = true;
  controllers_cv.notify_all();
  store.notify_all_watchers();
  if (controller_thread.joinable()) controller_thread.join();
  csi.reset();  // its worker thread wakes the controllers: stopped while what it wakes still exists
}

void Api::start_controllers() { impl_->start_controllers(); }

void Api::set_pod_streams(PodStreams* streams) { impl_->pod_streams = streams; }

void Api::Impl::seed() {
  ResourcePtr namespaces = registry.find("", "v1", "namespaces");
  WriteOptions w;
  w.manager = "kube-apiserver";
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"})
    create_object(*namespaces, "", {{"metadata", {{"name", ns}}}}, w);
  ResourcePtr services = registry.find("", "v1", "services");
  create_object(*services, "default",
                {{"metadata", {{"name", "kubernetes"}, {"labels", {{"component", "apiserver"}, {"provider", "kubernetes"}}}}},
                 {"spec",
                  {{"clusterIP", "10.96.0.1"},
                   {"ports", json::array({{{"name", "https"}, {"port", 443}, {"protocol", "TCP"}, {"targetPort", 6443}}})}}}},
                w);
  // What a cluster with the CSI host-path driver and the external snapshotter installed starts with.
  if (csi)
    for (const json& object : storage::CsiHostPath::seed_objects()) {
      ResourcePtr r = registry.find_kind(object.value("apiVersion", ""), object.value("kind", ""));
      create_object(*r, "", object, w);
    }
}

void Api::create_from_manifest(const json& object) {
  std::string api_version = object.value("apiVersion", "");
  std::string kind = object.value("kind", "");
  ResourcePtr r = registry_.find_kind(api_version, kind);
  if (!r) throw ApiError(404, "NotFound", "no resource serves " + api_version + " " + kind);
  std::string ns = r->namespaced ? object["metadata"].value("namespace", "default") : "";
  WriteOptions w;
  w.manager = "kubelite-load";
  {
    std::unique_lock lock(store_.mutex());
    if (r->namespaced && !store_.get("/namespaces", ns)) {
      ResourcePtr namespaces = registry_.find("", "v1", "namespaces");
      impl_->create_object(*namespaces, "", {{"metadata", {{"name", ns}}}}, w);
    }
    impl_->create_object(*r, ns, object, w);
  }
  store_.notify();
}

ApiResponse Api::handle(const ApiRequest& request) {
  try {
    return impl_->route(request);
  } catch (const ApiError& e) {
    return json_response(e.code, status_of(e));
  } catch (const std::exception& e) {
    return json_response(500, status_of(ApiError(500, "InternalError", std::string("Internal error occurred: ") + e.what())));
  }
}

ExecSession Api::exec(const ApiRequest& request, const std::string& protocol, ApiResponse& refusal) {
  try {
    std::vector<std::string> s = split_path(request.path);
    // /api/v1/namespaces/<ns>/pods/<name>/exec
    if (s.size() != 7 || s[0] != "api" || s[1] != "v1" || s[2] != "namespaces" || s[4] != "pods" || s[6] != "exec")
      throw resource_not_found();
    ObjectPtr o;
    {
      std::shared_lock lock(store_.mutex());
      o = store_.get("/pods", s[3] + "/" + s[5]);
    }
    if (!o) throw not_found(*registry_.find("", "v1", "pods"), s[5]);
    if (!impl_->pod_streams) throw bad_request("kubelite runs no kubelets");
    return impl_->pod_streams->exec(json::parse(o->json), request, protocol);
  } catch (const ApiError& e) {
    refusal = json_response(e.code, status_of(e));
  }
  return nullptr;
}

Target Api::Impl::parse_target(const std::vector<std::string>& s, size_t i, const std::string& group,
                               const std::string& version) {
  Target t;
  std::string resource;
  // /namespaces/<ns>/<resource>/... except namespaces' own subresources (status, finalize).
  if (s.size() > i && s[i] == "namespaces" && s.size() > i + 2 && s[i + 2] != "status" && s[i + 2] != "finalize") {
    t.ns = s[i + 1];
    i += 2;
  }
  resource = s.at(i++);
  if (s.size() > i) t.name = s[i++];
  if (s.size() > i) t.sub = s[i++];
  if (s.size() > i) throw resource_not_found();
  t.r = registry.find(group, version, resource);
  if (!t.r) throw resource_not_found();
  if (!t.r->namespaced && !t.ns.empty()) throw resource_not_found();
  if (!t.sub.empty() && !t.r->subresource(t.sub)) throw resource_not_found();
  return t;
}


// RBAC for users outside system:masters (kubelite's own users are all in it; --token-auth-file adds others), as
// kube-apiserver's authorization filter refuses them; reviews about oneself are open to every authenticated
// user (Kubernetes' system:basic-user role), and SubjectAccessReview/TokenReview check their caller themselves.
void Api::Impl::authorize(const UserInfo& user, const std::string& verb, const Target& t) {
  if (is_review(*t.r)) return;
  AccessAttributes a;
  a.verb = verb;
  a.group = t.r->group;
  a.resource = t.r->resource;
  a.subresource = t.sub;
  a.name = t.name;
  a.ns = t.r->namespaced ? t.ns : "";
  if (rbac_decide(store, user, a).allowed) return;
  std::string what = t.r->qualified_resource() + (t.name.empty() ? "" : " \"" + t.name + "\"");
  std::string where = a.ns.empty() ? "at the cluster scope" : "in the namespace \"" + a.ns + "\"";
  throw ApiError(403, "Forbidden",
                 what + " is forbidden: User \"" + user.username + "\" cannot " + verb + " resource \"" +
                     t.r->resource + (t.sub.empty() ? "" : "/" + t.sub) + "\" in API group \"" + t.r->group +
                     "\" " + where);
}

ApiResponse Api::Impl::route(const ApiRequest& req) {
  std::vector<std::string> s = split_path(req.path);
  const std::string& m = req.method;
  if (s.empty()) return json_response(200, {{"paths", {"/api", "/api/v1", "/apis", "/healthz", "/livez", "/metrics", "/openapi/v2", "/openapi/v3", "/readyz", "/version"}}});
  if (s[0] == "version" && s.size() == 1)
    return json_response(200, {{"major", "1"},
                               {"minor", "31"},
                               {"gitVersion", "v1.31.0"},
                               {"gitCommit", "9edcffcde5595e8a5b1a35f88c421764e575afce"},
                               {"gitTreeState", "clean"},
                               {"buildDate", "2024-08-13T07:28:49Z"},
                               {"goVersion", "go1.22.5"},
                               {"compiler", "gc"},
                               {"platform", "linux/amd64"}});
  if ((s[0] == "healthz" || s[0] == "readyz" || s[0] == "livez") && s.size() == 1) {
    ApiResponse res;
    res.content_type = "text/plain; charset=utf-8";
    res.body = "ok";
    return res;
  }
  if (s[0] == "metrics" && s.size() == 1) {
    // Prometheus text, like the real server's /metrics: here the work counters that tests and benchmarks use
    // to show that a controller's cost does not grow with the size of the collections.
    ApiResponse res;
    res.content_type = "text/plain; version=0.0.4";
    res.body = "# TYPE kubelite_volume_binding_objects_examined_total counter\n"
               "kubelite_volume_binding_objects_examined_total " +
               std::to_string(volume_objects_examined.load()) + "\n";
    return res;
  }
  if (s[0] == "openapi") {
    if (s.size() == 2 && s[1] == "v2") {
      // Content negotiation as the real handler: its protobuf form for client-go, JSON for everyone else.
      ApiResponse res;
      if (req.accept.find("application/com.github.proto-openapi.spec.v2") != std::string::npos) {
        res.body = openapi_v2_protobuf(registry.openapi_v2());
        res.content_type = kOpenApiV2Protobuf;
        return res;
      }
      if (!accepts_json(req.accept)) throw not_acceptable();
      return json_response(200, registry.openapi_v2());
    }
    if (s.size() == 2 && s[1] == "v3") return json_response(200, registry.openapi_root());
    if (s.size() >= 3 && s[1] == "v3") {
      json doc;
      if (s[2] == "api" && s.size() == 4) doc = registry.openapi_group_version("", s[3]);
      if (s[2] == "apis" && s.size() == 5) doc = registry.openapi_group_version(s[3], s[4]);
      if (!doc.is_null()) return json_response(200, doc);
    }
    throw resource_not_found();
  }
  std::string group, version;
  size_t rest;
  if (s[0] == "api") {
    if (s.size() == 1) {
      if (wants_aggregated(req.accept)) {
        ApiResponse res = json_response(200, registry.aggregated_core());
        res.content_type = kAggregatedType;
        return res;
      }
      return json_response(200, registry.api_versions(options.server_address));
    }
    version = s[1];
    rest = 2;
  } else if (s[0] == "apis") {
    if (s.size() == 1) {
      if (wants_aggregated(req.accept)) {
        ApiResponse res = json_response(200, registry.aggregated_groups());
        res.content_type = kAggregatedType;
        return res;
      }
      return json_response(200, registry.group_list());
    }
    group = s[1];
    if (s.size() == 2) {
      json g = registry.group(group);
      if (g.is_null()) throw resource_not_found();
      return json_response(200, g);
    }
    version = s[2];
    rest = 3;
  } else {
    throw resource_not_found();
  }
  if (!registry.serves(group, version)) throw resource_not_found();
  if (s.size() == rest) {
    if (m != "GET") throw method_not_allowed();
    return json_response(200, registry.resource_list(group, version));
  }
  Target t = parse_target(s, rest, group, version);
  if (!accepts_json(req.accept)) throw not_acceptable();
  const ResourceInfo& r = *t.r;
  auto allowed = [&](const std::string& verb) {
    bool ok = t.sub.empty() ? r.has_verb(verb) : [&] {
      const SubresourceInfo* sub = r.subresource(t.sub);
      return std::find(sub->verbs.begin(), sub->verbs.end(), verb) != sub->verbs.end();
    }();
    if (!ok) throw method_not_allowed();
    authorize(req.user, verb, t);
  };
  if (m == "GET") {
    if (!t.name.empty()) {
      allowed("get");
      return get(t, req);
    }
    auto w = req.query.find("watch");
    if (w != req.query.end() && (w->second == "true" || w->second == "1")) {
      allowed("watch");
      return watch(t, req);
    }
    allowed("list");
    return list(t, req);
  }
  ApiResponse res;
  if (m == "POST") {
    if (!t.name.empty() && t.sub.empty()) throw method_not_allowed();
    allowed("create");
    if (t.sub == "exec") return get(t, req);  // SPDY's POST: its errors, then "Upgrade request required"
    res = t.sub.empty() ? create(t, req) : create_subresource(t, req);
  } else if (m == "PUT") {
    if (t.name.empty()) throw method_not_allowed();
    allowed("update");
    res = update(t, req);
  } else if (m == "PATCH") {
    if (t.name.empty()) throw method_not_allowed();
    allowed("patch");
    res = patch(t, req);
  } else if (m == "DELETE") {
    if (t.name.empty()) {
      allowed("deletecollection");
      res = remove_collection(t, req);
    } else {
      allowed("delete");
      res = remove(t, req);
    }
  } else {
    throw method_not_allowed();
  }
  store.notify();
  wake_controllers();
  return res;
}

}  // namespace kubelite
