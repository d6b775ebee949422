// Connects the CSI host-path driver's controllers (kubelite/storage/) to the API server: they read and write
// objects through the same pipeline as requests, inside the controller passes.
#include "kubelite/api_impl.h"

namespace kubelite {

void Api::Impl::start_storage() {
  auto resource = [this](const std::string& group, const std::string& name) {
    ResourcePtr r = registry.find(group, "v1", name);
    if (!r) throw std::runtime_error("no resource " + name + "." + group + " is served");
    return r;
  };
  auto manager = [](const std::string& group) {
    return group == "snapshot.storage.k8s.io" ? "snapshot-controller" : "csi-provisioner";
  };
  storage::Cluster cluster;
  cluster.get = [this, resource](const std::string& group, const std::string& name, const std::string& key) {
    ResourcePtr r = resource(group, name);
    json object = read(*r, key);
    if (!object.is_null()) {
      object["apiVersion"] = r->api_version();
      object["kind"] = r->kind;
    }
    return object;
  };
  cluster.list = [this, resource](const std::string& group, const std::string& name) {
    ResourcePtr r = resource(group, name);
    std::vector<json> out;
    for (const auto& [key, o] : store.collection(r->storage_id())) out.push_back(json::parse(o->json));
    return out;
  };
  cluster.create = [this, resource, manager](const std::string& group, const std::string& name, const std::string& ns,
                                             const json& object) {
    WriteOptions w;
    w.manager = manager(group);
    return create_object(*resource(group, name), ns, object, w);
  };
  cluster.update = [this, resource, manager](const std::string& group, const std::string& name, const json& old,
                                             const json& updated, bool status) {
    WriteOptions w;
    w.manager = manager(group);
    if (status) w.subresource = "status";
    return update_object(*resource(group, name), old, updated, w);
  };
  cluster.remove = [this, resource](const std::string& group, const std::string& name, const json& object) {
    DeleteOptions d;
    bool gone = false;
    delete_object(*resource(group, name), object, d, gone);
  };
  cluster.recheck_claim = [this](const std::string& claim_key) {
    volume_binding.claims_to_check.insert(claim_key);
    volumes_dirty = true;
  };
  cluster.wake = [this] { wake_controllers(); };
  cluster.interrupted = [this] { return interrupted(); };
  csi = std::make_unique<storage::CsiHostPath>(options.csi_root, std::move(cluster));
}

}  // namespace kubelite
