// The controllers a real cluster runs beside the API server, reduced to what the API shows: namespace
// cleanup, garbage collection of dependents (background/foreground/orphan), CRD instance cleanup and
// PersistentVolume binding (as kube-controller-manager's
// garbage collector, namespace controller and PV binder do it).
#include <iostream>

#include "kubelite/api_impl.h"
#include "kubelite/json_text.h"
#include "kubelite/semantics/patch.h"
#include "kubelite/storage/util.h"

namespace kubelite::workloads {
bool selector_matches(const nlohmann::json& selector, const nlohmann::json& labels);  // workloads/util.cc
}

namespace kubelite {

using storage::drop_finalizer;
using storage::has_finalizer;

void Api::Impl::start_controllers() {
  controller_thread = std::thread([this] { controller_loop(); });
}

void Api::Impl::controller_loop() {
  while (!stopping) {
    {
      std::unique_lock lock(controllers_mu);
      controllers_cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return controllers_dirty.load() || stopping.load(); });
    }
    if (stopping) return;
    controllers_dirty = false;
    // Passes repeat while they make progress: one deletion can unblock the next (dependents, then owners).
    for (int round = 0; round < 100 && !stopping; ++round) {
      bool progress = run_controllers_once();
      store.notify();
      if (!progress) break;
      // Requests waiting for the lock get it between passes: a long catch-up must not stall the API.
      std::this_thread::yield();
    }
  }
}

bool Api::Impl::run_controllers_once() {
  try {
    std::unique_lock lock(store.mutex());
    bool progress = run_garbage_collection();
    progress |= run_crd_cleanup();
    progress |= run_namespace_cleanup();
    if (csi) progress |= csi->run();
    if (volumes_dirty.exchange(false)) progress |= run_volume_binding();
    return progress;
  } catch (const std::exception& e) {
    // A controller must never take the API server down; the next change retries the pass.
    std::cerr << "kubelite: controller error: " << e.what() << std::endl;
    return false;
  }
}

void Api::settle_controllers(const std::atomic<bool>& stop) {
  impl_->interrupt = &stop;
  while (!stop && impl_->run_controllers_once()) {
  }
  impl_->interrupt = nullptr;
}

// Namespaces in Terminating: delete their content, then the "kubernetes" finalizer, then the namespace.
bool Api::Impl::run_namespace_cleanup() {
  bool progress = false;
  ResourcePtr namespaces = registry.find("", "v1", "namespaces");
  auto now = std::chrono::steady_clock::now();
  std::vector<std::string> terminating;
  for (const auto& [name, since] : namespaces_terminating_since)
    // The DELETE has answered before cleanup starts, so clients can observe Terminating.
    if (now - since >= std::chrono::milliseconds(200)) terminating.push_back(name);
  // Namespaces already Terminating when the server started (a restart) are found by a scan, repeated only when
  // /namespaces changed: deletions through the API register themselves, and a pass must not cost O(#namespaces).
  if (uint64_t writes = store.writes("/namespaces"); writes != namespaces_writes_scanned) {
    namespaces_writes_scanned = writes;
    for (const auto& [key, o] : store.collection("/namespaces"))
      if (!namespaces_terminating_since.count(key) && o->json.find("\"deletionTimestamp\"") != std::string::npos)
        namespaces_terminating_since[key] = now;
  }
  for (const std::string& ns : terminating) {
    json object = read(*namespaces, ns);
    if (object.is_null()) {
      namespaces_terminating_since.erase(ns);
      continue;
    }
    bool remaining = false;
    std::string prefix = ns + "/";
    for (const ResourcePtr& r : registry.all_storage_resources()) {
      if (!r->namespaced) continue;
      const Collection& c = store.collection(r->storage_id());
      std::vector<ObjectPtr> inside;
      for (auto it = c.lower_bound(prefix); it != c.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
        inside.push_back(it->second);
      for (const ObjectPtr& o : inside) {
        remaining = true;
        if (o->json.find("\"deletionTimestamp\"") != std::string::npos) continue;
        DeleteOptions d;
        d.propagation = "Background";
        bool gone = false;
        delete_object(*r, json::parse(o->json), d, gone);
        progress = true;
      }
    }
    if (remaining) {
      progress |= report_namespace_content(*namespaces, object);
      continue;
    }
    WriteOptions w;
    w.manager = "kube-controller-manager";
    w.subresource = "finalize";
    json updated = object;
    updated["spec"]["finalizers"] = json::array();
    update_object(*namespaces, object, updated, w);
    progress = true;
  }
  return progress;
}

// The conditions the namespace controller reports while content remains (kube-controller-manager's garbage collector and namespace controller); written only
// when they change.
bool Api::Impl::report_namespace_content(const ResourceInfo& namespaces, const json& ns_object) {
  std::string prefix = ns_object["metadata"].value("name", "") + "/";
  std::map<std::string, int> resources, finalizers;
  for (const ResourcePtr& r : registry.all_storage_resources()) {
    if (!r->namespaced) continue;
    const Collection& c = store.collection(r->storage_id());
    for (auto it = c.lower_bound(prefix); it != c.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      ++resources[r->resource + "." + r->group];
      for (const auto& f : json::parse(it->second->json)["metadata"].value("finalizers", json::array()))
        ++finalizers[f.get<std::string>()];
    }
  }
  auto describe = [](const std::map<std::string, int>& counts, const char* joiner) {
    std::string text;
    for (const auto& [name, n] : counts)
      text += (text.empty() ? "" : ", ") + name + joiner + std::to_string(n) + " resource instances";
    return text;
  };
  auto condition = [](const char* type, bool status, const char* reason, const std::string& message) {
    return json{{"type", type}, {"status", status ? "True" : "False"}, {"reason", reason}, {"message", message}};
  };
  json conditions = {
      condition("NamespaceDeletionDiscoveryFailure", false, "ResourcesDiscovered", "All resources successfully discovered"),
      condition("NamespaceDeletionGroupVersionParsingFailure", false, "ParsedGroupVersions",
                "All legacy kube types successfully parsed"),
      condition("NamespaceDeletionContentFailure", false, "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization"),
      condition("NamespaceContentRemaining", true, "SomeResourcesRemain",
                "Some resources are remaining: " + describe(resources, " has ")),
      finalizers.empty()
          ? condition("NamespaceFinalizersRemaining", false, "ContentHasNoFinalizers",
                      "All content-preserving finalizers have been removed")
          : condition("NamespaceFinalizersRemaining", true, "SomeFinalizersRemain",
                      "Some content in the namespace has finalizers remaining: " + describe(finalizers, " in "))};
  json current = ns_object.value("status", json::object()).value("conditions", json::array());
  for (auto& c : current) c.erase("lastTransitionTime");
  if (current == conditions) return false;
  std::string now = now_rfc3339();
  for (auto& c : conditions) c["lastTransitionTime"] = now;
  json updated = ns_object;
  updated["status"]["conditions"] = conditions;
  WriteOptions w;
  w.manager = "kube-controller-manager";
  w.subresource = "status";
  update_object(namespaces, ns_object, updated, w);
  return true;
}

// Dependents whose owners do not exist (or exist with another uid, as after a restore) are deleted, like the
// garbage collector does when it cannot find an owner.
namespace {
// metadata.uid of stored compact JSON, read without parsing the object (an owner may be a large one).
std::string uid_of(const std::string& text) {
  auto meta = member_value(text, 0, "metadata");
  auto uid = meta ? member_value(text, meta->begin, "uid") : std::nullopt;
  if (!uid) return json::parse(text)["metadata"].value("uid", "");
  return json::parse(std::string_view(text).substr(uid->begin, uid->end - uid->begin)).get<std::string>();
}
// What the collector reads of a dependent's metadata (deletionTimestamp, namespace, ownerReferences), found in
// its stored compact JSON without parsing the rest (a pod's managedFields are half of it).
json metadata_of(const std::string& text) {
  auto meta = member_value(text, 0, "metadata");
  if (!meta) return json::parse(text)["metadata"];
  json out = json::object();
  for (const char* key : {"deletionTimestamp", "namespace", "ownerReferences"})
    if (auto value = member_value(text, meta->begin, key))
      out[key] = json::parse(std::string_view(text).substr(value->begin, value->end - value->begin));
  return out;
}
}  // namespace

bool Api::Impl::collect_orphaned_dependents(const std::vector<ResourcePtr>& resources) {
  bool progress = false;
  std::set<std::pair<std::string, std::string>> pending = std::move(gc_dependents_to_verify);
  gc_dependents_to_verify.clear();
  for (const auto& [storage_id, key] : pending) {
    ObjectPtr o = store.get(storage_id, key);
    if (!o) continue;
    ResourcePtr r;
    for (const ResourcePtr& candidate : resources)
      if (candidate->storage_id() == storage_id) r = candidate;
    if (!r) continue;
    // Only the metadata's deletionTimestamp, namespace and ownerReferences are read (a dependent is verified on
    // every write of its ownerReferences: each pod a ReplicaSet creates); the object is parsed to delete it.
    json meta = metadata_of(o->json);
    if (meta.contains("deletionTimestamp")) continue;
    const json& refs = meta.contains("ownerReferences") ? meta["ownerReferences"] : json::array();
    bool any_owner_present = refs.empty();
    for (const auto& ref : refs) {
      ResourcePtr owner_type = registry.find_kind(ref.value("apiVersion", ""), ref.value("kind", ""));
      if (!owner_type) {
        any_owner_present = true;  // an owner kind this server does not serve cannot be checked: keep
        continue;
      }
      std::string owner_key = owner_type->namespaced ? meta.value("namespace", "") + "/" + ref.value("name", "")
                                                     : ref.value("name", "");
      ObjectPtr owner = store.get(owner_type->storage_id(), owner_key);
      if (owner && uid_of(owner->json) == ref.value("uid", "")) any_owner_present = true;
    }
    if (any_owner_present) continue;
    DeleteOptions d;
    d.propagation = "Background";
    bool gone = false;
    delete_object(*r, json::parse(o->json), d, gone);
    progress = true;
  }
  return progress;
}

// Dependents of removed owners (background), owners waiting for dependents (foreground), and owners whose
// dependents must be orphaned.
bool Api::Impl::run_garbage_collection() {
  std::set<std::string> deleted = std::move(gc_deleted_uids);
  gc_deleted_uids.clear();
  // Owners being deleted with foregroundDeletion/orphan finalizers, by uid.
  struct Owner {
    ResourcePtr r;
    json object;
    bool foreground;
  };
  std::map<std::string, Owner> owners;
  if (!gc_owners_scanned) {
    // After a restart: owners whose deletion was in progress when the server stopped.
    gc_owners_scanned = true;
    for (const ResourcePtr& r : registry.all_storage_resources())
      for (const auto& [key, o] : store.collection(r->storage_id()))
        if (o->json.find("\"deletionTimestamp\"") != std::string::npos &&
            (o->json.find("\"foregroundDeletion\"") != std::string::npos || o->json.find("\"orphan\"") != std::string::npos))
          gc_owners.insert({r->storage_id(), key});
  }
  // Nothing to look at (most passes of a restore): not even the list of resources is built.
  if (deleted.empty() && gc_owners.empty() && gc_dependents_to_verify.empty()) return false;
  std::vector<ResourcePtr> resources = registry.all_storage_resources();
  bool progress = collect_orphaned_dependents(resources);
  if (deleted.empty() && gc_owners.empty()) return progress;
  for (auto it = gc_owners.begin(); it != gc_owners.end();) {
    ResourcePtr r;
    for (const ResourcePtr& candidate : resources)
      if (candidate->storage_id() == it->first) r = candidate;
    ObjectPtr o = r ? store.get(it->first, it->second) : nullptr;
    json object = o ? json::parse(o->json) : json();
    if (o && has_finalizer(object, "foregroundDeletion")) {
      owners[object["metadata"]["uid"]] = {r, object, true};
    } else if (o && has_finalizer(object, "orphan")) {
      owners[object["metadata"]["uid"]] = {r, object, false};
    } else {
      it = gc_owners.erase(it);
      continue;
    }
    ++it;
  }
  if (deleted.empty() && owners.empty()) return progress;
  std::set<std::string> blocked;  // foreground owners that still have dependents
  if (!gc_dependents_built) {
    gc_dependents_built = true;
    for (const ResourcePtr& r : resources)
      for (const auto& [key, o] : store.collection(r->storage_id()))
        index_dependents(r->storage_id(), key, std::nullopt, owner_references_text(o->json));
  }
  // The objects whose ownerReferences name a deleted owner or an owner being deleted, by collection (from the
  // index: a Job that a CronJob's history limit removes must not make the collector read every object).
  std::map<std::string, std::set<std::string>> candidates;
  for (const std::string& uid : deleted)
    if (auto it = gc_dependents.find(uid); it != gc_dependents.end())
      for (const auto& [sid, key] : it->second) candidates[sid].insert(key);
  for (const auto& [uid, owner] : owners)
    if (auto it = gc_dependents.find(uid); it != gc_dependents.end())
      for (const auto& [sid, key] : it->second) candidates[sid].insert(key);
  for (const ResourcePtr& r : resources) {
    // Only objects whose ownerReferences name a deleted owner or an owner being deleted are parsed.
    std::vector<ObjectPtr> dependents;
    auto of_resource = candidates.find(r->storage_id());
    if (of_resource == candidates.end()) continue;
    for (const std::string& key : of_resource->second) {
      ObjectPtr o = store.get(r->storage_id(), key);
      if (!o) continue;
      std::optional<std::string_view> refs = owner_references_text(o->json);
      if (!refs) continue;
      for (const std::string& uid : owner_uids(*refs))
        if (deleted.count(uid) || owners.count(uid)) {
          dependents.push_back(o);
          break;
        }
    }
    for (const ObjectPtr& o : dependents) {
      json object = json::parse(o->json);
      const json& refs = object["metadata"].value("ownerReferences", json::array());
      bool all_owners_deleted = !refs.empty();
      bool orphan_from = false;
      std::string foreground_owner;
      for (const auto& ref : refs) {
        std::string uid = ref.value("uid", "");
        auto owner = owners.find(uid);
        if (owner != owners.end() && !owner->second.foreground) orphan_from = true;
        if (owner != owners.end() && owner->second.foreground) foreground_owner = uid;
        if (!deleted.count(uid) && foreground_owner != uid) all_owners_deleted = false;
      }
      if (orphan_from) {
        json updated = object;
        json kept = json::array();
        for (const auto& ref : refs) {
          auto owner = owners.find(ref.value("uid", ""));
          if (owner == owners.end() || owner->second.foreground) kept.push_back(ref);
        }
        if (kept.empty()) updated["metadata"].erase("ownerReferences");
        else updated["metadata"]["ownerReferences"] = kept;
        WriteOptions w;
        w.manager = "kube-controller-manager";
        update_object(*r, object, updated, w);
        progress = true;
        continue;
      }
      if (!foreground_owner.empty()) blocked.insert(foreground_owner);
      if (all_owners_deleted && !object["metadata"].contains("deletionTimestamp")) {
        DeleteOptions d;
        d.propagation = foreground_owner.empty() ? "Background" : "Foreground";
        bool gone = false;
        delete_object(*r, object, d, gone);
        progress = true;
      }
    }
  }
  // Owners whose dependents are gone (foreground) or released (orphan) lose their finalizer.
  for (auto& [uid, owner] : owners) {
    if (owner.foreground && blocked.count(uid)) continue;
    json updated = owner.object;
    drop_finalizer(updated, owner.foreground ? "foregroundDeletion" : "orphan");
    WriteOptions w;
    w.manager = "kube-controller-manager";
    update_object(*owner.r, owner.object, updated, w);
    progress = true;
  }
  return progress;
}

// Deleted CRDs: remove every custom resource, then the cleanup finalizer (the CRD then leaves discovery).
bool Api::Impl::run_crd_cleanup() {
  ResourcePtr crds = registry.find("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  // The CRDs (large documents) are searched again only when they changed or a deletion is under way: every write
  // of a restore starts a pass.
  uint64_t writes = store.writes(crds->storage_id());
  if (writes == crds_writes_scanned && !crds_deleting) return false;
  crds_writes_scanned = writes;
  std::vector<json> deleting;
  for (const auto& [key, o] : store.collection(crds->storage_id()))
    if (o->json.find("\"deletionTimestamp\"") != std::string::npos) deleting.push_back(json::parse(o->json));
  crds_deleting = !deleting.empty();
  bool progress = false;
  for (const json& crd : deleting) {
    if (!has_finalizer(crd, "customresourcecleanup.apiextensions.k8s.io")) continue;
    std::string group = crd["spec"].value("group", "");
    std::string plural = crd["spec"]["names"].value("plural", "");
    std::string storage_id = group + "/" + plural;
    ResourcePtr r;
    for (const auto& v : crd["spec"].value("versions", json::array()))
      if (!r) r = registry.find(group, v.value("name", ""), plural);
    bool remaining = false;
    if (r) {
      std::vector<ObjectPtr> instances;
      for (const auto& [key, o] : store.collection(storage_id)) instances.push_back(o);
      for (const ObjectPtr& o : instances) {
        remaining = true;
        if (o->json.find("\"deletionTimestamp\"") != std::string::npos) continue;
        DeleteOptions d;
        d.propagation = "Background";
        bool gone = false;
        delete_object(*r, json::parse(o->json), d, gone);
        progress = true;
      }
    }
    if (remaining) continue;
    json updated = crd;
    drop_finalizer(updated, "customresourcecleanup.apiextensions.k8s.io");
    WriteOptions w;
    w.manager = "kube-apiserver";
    update_object(*crds, crd, updated, w);
    progress = true;
  }
  return progress;
}

namespace {

double quantity_bytes(const std::string& q) {
  size_t i = 0;
  while (i < q.size() && (std::isdigit(static_cast<unsigned char>(q[i])) || q[i] == '.')) ++i;
  double n = i ? std::stod(q.substr(0, i)) : 0;
  std::string unit = q.substr(i);
  static const std::map<std::string, double> units = {{"", 1},      {"k", 1e3},  {"M", 1e6},  {"G", 1e9},
                                                      {"T", 1e12},  {"Ki", 1024.0}, {"Mi", 1048576.0},
                                                      {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}};
  auto u = units.find(unit);
  return n * (u == units.end() ? 1 : u->second);
}

double requested_bytes(const json& claim) {
  return quantity_bytes(
      claim["spec"].value("resources", json::object()).value("requests", json::object()).value("storage", "0"));
}

}  // namespace

// PersistentVolume controller: static binding (by class and size, or pre-bound by volumeName/claimRef),
// dynamic provisioning through a StorageClass, and Released volumes when their claim goes away. Incremental:
// a pass reads the claims and volumes written since the last one, plus the waiting claims that a newly
// Available volume can satisfy (found through the indexes of Impl::VolumeBinding, without reading the others).
bool Api::Impl::run_volume_binding() {
  ResourcePtr pvcs = registry.find("", "v1", "persistentvolumeclaims");
  ResourcePtr pvs = registry.find("", "v1", "persistentvolumes");
  VolumeBinding& vb = volume_binding;
  if (!vb.scanned) {
    vb.scanned = true;
    for (const auto& [key, o] : store.collection(pvcs->storage_id())) vb.claims_to_check.insert(key);
    for (const auto& [key, o] : store.collection(pvs->storage_id())) vb.volumes_to_check.insert(key);
  }
  auto read_object = [&](const ResourceInfo& r, const std::string& key) -> json {
    ObjectPtr o = store.get(r.storage_id(), key);
    ++volume_objects_examined;
    return o ? json::parse(o->json) : json();
  };
  auto stop_waiting = [&](const std::string& claim_key) {
    auto on = vb.waiting_on.find(claim_key);
    if (on == vb.waiting_on.end()) return;
    auto list = vb.waiting.find(on->second);
    list->second.erase(claim_key);
    if (list->second.empty()) vb.waiting.erase(list);
    vb.waiting_on.erase(on);
  };
  auto wait_for = [&](const std::string& claim_key, const std::string& wait_key, double request) {
    vb.waiting[wait_key][claim_key] = request;
    vb.waiting_on[claim_key] = wait_key;
  };
  auto forget_volume = [&](const std::string& name) {
    if (auto c = vb.available_class.find(name); c != vb.available_class.end()) {
      auto list = vb.available.find(c->second);
      list->second.erase(name);
      if (list->second.empty()) vb.available.erase(list);
      vb.available_class.erase(c);
    }
    if (auto c = vb.claim_of_volume.find(name); c != vb.claim_of_volume.end()) {
      auto list = vb.volumes_of_claim.find(c->second);
      list->second.erase(name);
      if (list->second.empty()) vb.volumes_of_claim.erase(list);
      vb.claim_of_volume.erase(c);
    }
  };
  bool progress = false;
  WriteOptions w;
  w.manager = "kube-controller-manager";
  WriteOptions sw = w;
  sw.subresource = "status";

  // Changed claims: the volumes naming them are checked again (the claim may be gone); Pending ones try to bind.
  std::map<std::string, json> to_bind;  // by claim key, bound in key order
  std::set<std::string> claims = std::move(vb.claims_to_check);
  vb.claims_to_check.clear();
  auto consider_claim = [&](const std::string& key) {
    stop_waiting(key);
    json claim = read_object(*pvcs, key);
    if (claim.is_null()) return;
    if (claim.value("status", json::object()).value("phase", "") != "Pending") return;
    if (claim["metadata"].contains("deletionTimestamp")) return;
    to_bind[key] = std::move(claim);
  };
  for (const std::string& key : claims) {
    if (auto v = vb.volumes_of_claim.find(key); v != vb.volumes_of_claim.end())
      vb.volumes_to_check.insert(v->second.begin(), v->second.end());
    consider_claim(key);
  }

  // Changed volumes: re-indexed; bound to a claim that is gone → Released (Retain) or removed (Delete); a restored
  // volume whose claimRef still names the old claim's uid is Released too (the built-in kinds' REST strategies in kubernetes/pkg/registry).
  std::set<std::string> volumes = std::move(vb.volumes_to_check);
  vb.volumes_to_check.clear();
  std::set<std::string> requeued;  // waiting claims a newly Available volume may satisfy
  for (const std::string& name : volumes) {
    forget_volume(name);
    json pv = read_object(*pvs, name);
    if (pv.is_null()) continue;
    const json& spec = pv["spec"];
    const json& ref = spec.value("claimRef", json());
    std::string phase = pv.value("status", json::object()).value("phase", "");
    std::string ref_key = ref.is_object() ? ref.value("namespace", "") + "/" + ref.value("name", "") : "";
    std::string ref_uid = ref.is_object() ? ref.value("uid", "") : "";
    if (!ref_uid.empty()) {
      vb.volumes_of_claim[ref_key].insert(name);
      vb.claim_of_volume[name] = ref_key;
    }
    if ((phase == "Bound" || phase == "Available") && !ref_uid.empty()) {
      json claim = read_object(*pvcs, ref_key);
      if (claim.is_null() || claim["metadata"].value("uid", "") != ref_uid) {
        // The CSI driver reclaims its own volumes (directory, then PV) from Released.
        if (spec.value("persistentVolumeReclaimPolicy", "Retain") == "Delete" &&
            spec.value("csi", json::object()).value("driver", "") != storage::kDriverName) {
          DeleteOptions d;
          bool gone = false;
          delete_object(*pvs, pv, d, gone);
        } else {
          json updated = pv;
          updated["status"]["phase"] = "Released";
          update_object(*pvs, pv, updated, sw);
        }
        progress = true;
        continue;
      }
    }
    // A volume pre-bound to a claim by name only (claimRef without uid: what an operator, or Velero's generic restore
    // exposer rebinding a filled volume to its target claim, writes) is Available to that claim, as the PV
    // controller's syncVolume makes it whatever its phase was.
    if (phase == "Released" && ref.is_object() && ref_uid.empty() && !ref_key.empty()) {
      json updated = pv;
      updated["status"]["phase"] = "Available";
      update_object(*pvs, pv, updated, sw);  // status only: `spec` above still refers into `pv`
      phase = "Available";
      progress = true;
    }
    if (phase != "Available") continue;
    std::string cls = spec.value("storageClassName", "");
    double capacity = quantity_bytes(spec.value("capacity", json::object()).value("storage", "0"));
    vb.available[cls][name] = {capacity, ref_key};
    vb.available_class[name] = cls;
    if (auto by_name = vb.waiting.find("volume:" + name); by_name != vb.waiting.end())
      for (const auto& [claim, request] : by_name->second) requeued.insert(claim);
    if (!ref_key.empty()) {
      if (vb.waiting_on.count(ref_key)) requeued.insert(ref_key);
      continue;
    }
    // Only one claim can take this volume: the first waiting one (key order) it is large enough for.
    if (auto by_class = vb.waiting.find("class:" + cls); by_class != vb.waiting.end())
      for (const auto& [claim, request] : by_class->second)
        if (request <= capacity && !requeued.count(claim)) {
          requeued.insert(claim);
          break;
        }
  }
  for (const std::string& key : requeued) consider_claim(key);

  std::set<std::string> to_bind_names;  // volumes named by the claims of this pass or still waiting for them
  for (const auto& [key, claim] : to_bind)
    if (std::string v = claim["spec"].value("volumeName", ""); !v.empty()) to_bind_names.insert(v);
  for (const auto& [wait_key, claims] : vb.waiting)
    if (wait_key.rfind("volume:", 0) == 0) to_bind_names.insert(wait_key.substr(7));
  for (auto& [key, claim] : to_bind) {
    if (interrupted()) {  // a signal: what this pass did not reach is looked at by the next one
      for (auto rest = to_bind.find(key); rest != to_bind.end(); ++rest) vb.claims_to_check.insert(rest->first);
      return true;
    }
    const json& spec = claim["spec"];
    std::string ns = claim["metadata"].value("namespace", "");
    std::string name = claim["metadata"].value("name", "");
    std::string cls = spec.value("storageClassName", "");
    std::string wanted_volume = spec.value("volumeName", "");
    double request = requested_bytes(claim);
    json volume;
    bool static_volume = false;
    if (!wanted_volume.empty()) {
      json pv = read_object(*pvs, wanted_volume);
      const json& ref = pv.is_null() ? json() : pv["spec"].value("claimRef", json());
      bool prebound_to_claim = ref.is_object() && ref.value("name", "") == name && ref.value("namespace", "") == ns;
      if (!pv.is_null() && (pv.value("status", json::object()).value("phase", "") == "Available" || prebound_to_claim)) {
        volume = std::move(pv);
        static_volume = true;
      } else {
        wait_for(key, "volume:" + wanted_volume, request);
        continue;
      }
    } else {
      // The first Available volume of the class that is large enough, unless one is pre-bound to this claim.
      std::string chosen;
      if (auto list = vb.available.find(cls); list != vb.available.end())
        for (const auto& [pv_name, candidate] : list->second) {
          bool prebound_to_claim = candidate.prebound_claim == key;
          if (!candidate.prebound_claim.empty() && !prebound_to_claim) continue;
          // A volume that a waiting claim names in spec.volumeName is that claim's (a StatefulSet's new claim
          // without a class must not take the volume a pre-bound claim asked for).
          if (!prebound_to_claim && to_bind_names.count(pv_name)) continue;
          if (candidate.capacity < request) continue;
          // A claim's label selector filters the volumes it may take, except one pre-bound to it (the PV
          // controller's FindMatchingVolume checks pre-binding first).
          if (!prebound_to_claim && spec.contains("selector") &&
              !workloads::selector_matches(spec["selector"],
                                           read_object(*pvs, pv_name)["metadata"].value("labels", json::object())))
            continue;
          if (chosen.empty() || prebound_to_claim) chosen = pv_name;
          if (prebound_to_claim) break;
        }
      if (!chosen.empty()) {
        volume = read_object(*pvs, chosen);
        static_volume = true;
      } else if (!cls.empty()) {
        ObjectPtr sc = store.get("storage.k8s.io/storageclasses", cls);
        json storage_class = sc ? json::parse(sc->json) : json();
        // WaitForFirstConsumer: provisioned once the scheduler has selected a node for the claim.
        bool node_selected = claim["metadata"].value("annotations", json::object()).contains("volume.kubernetes.io/selected-node");
        // A claim with a selector is never provisioned (external-provisioner: "claim Selector is not supported"):
        // it waits for a matching or pre-bound volume.
        if (!sc || spec.contains("selector") ||
            (storage_class.value("volumeBindingMode", "Immediate") == "WaitForFirstConsumer" && !node_selected)) {
          wait_for(key, "class:" + cls, request);
          continue;
        }
        if (csi && storage::CsiHostPath::provisions(storage_class)) {
          json pv = csi->provision(claim, storage_class);
          if (pv.is_null()) continue;  // data still being copied, or the source is not usable (an event says why)
          volume = create_object(*pvs, "", pv, w);
        } else {
          std::string pv_name = "pvc-" + claim["metadata"].value("uid", "");
          json pv = {{"metadata",
                      {{"name", pv_name},
                       {"annotations", {{"pv.kubernetes.io/provisioned-by", storage_class.value("provisioner", "")}}},
                       {"finalizers", json::array({"kubernetes.io/pv-protection"})}}},
                     {"spec",
                      {{"capacity", {{"storage", spec["resources"]["requests"].value("storage", "1Gi")}}},
                       {"accessModes", spec.value("accessModes", json::array({"ReadWriteOnce"}))},
                       {"storageClassName", cls},
                       {"persistentVolumeReclaimPolicy", storage_class.value("reclaimPolicy", "Delete")},
                       {"hostPath", {{"path", "/tmp/kubelite/" + pv_name}, {"type", ""}}},
                       {"volumeMode", spec.value("volumeMode", "Filesystem")}}}};
          volume = create_object(*pvs, "", pv, w);
        }
      } else {
        wait_for(key, "class:", request);
        continue;
      }
    }
    if (static_volume) forget_volume(volume["metadata"].value("name", ""));  // taken: no other claim may choose it
    // Bind both sides.
    json pv_updated = volume;
    bool controller_set_ref = !pv_updated["spec"].contains("claimRef");
    pv_updated["spec"]["claimRef"] = {{"kind", "PersistentVolumeClaim"},
                                      {"namespace", ns},
                                      {"name", name},
                                      {"uid", claim["metadata"]["uid"]},
                                      {"apiVersion", "v1"},
                                      {"resourceVersion", claim["metadata"]["resourceVersion"]}};
    if (controller_set_ref) pv_updated["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] = "yes";
    json bound_pv = update_object(*pvs, volume, pv_updated, w);
    json pv_status = bound_pv;
    pv_status["status"]["phase"] = "Bound";
    update_object(*pvs, bound_pv, pv_status, sw);
    json claim_updated = claim;
    bool controller_set_name = wanted_volume.empty();
    claim_updated["spec"]["volumeName"] = volume["metadata"]["name"];
    claim_updated["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] = "yes";
    if (controller_set_name) claim_updated["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] = "yes";
    if (!static_volume) claim_updated["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] =
        volume["metadata"]["annotations"].value("pv.kubernetes.io/provisioned-by", "");
    json bound_claim = update_object(*pvcs, claim, claim_updated, w);
    json claim_status = bound_claim;
    claim_status["status"] = {{"phase", "Bound"},
                              {"accessModes", volume["spec"].value("accessModes", json::array())},
                              {"capacity", volume["spec"].value("capacity", json::object())}};
    update_object(*pvcs, bound_claim, claim_status, sw);
    progress = true;
  }
  return progress;
}

}  // namespace kubelite
