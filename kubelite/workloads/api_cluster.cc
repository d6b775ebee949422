// Cluster on top of Api::Impl's write pipeline: the workload controllers write as kube-controller-manager,
// kube-scheduler and the kubelet would, through the same defaults, managedFields and bookkeeping as clients.
#include "kubelite/api_impl.h"
#include "kubelite/workloads/cluster.h"

namespace kubelite {

namespace {

class ApiCluster : public workloads::Cluster {
 public:
  explicit ApiCluster(Api::Impl& impl) : impl_(impl) {}

  void run(const std::function<void()>& fn) override {
    {
      std::unique_lock lock(impl_.store.mutex());
      fn();
    }
    impl_.store.notify();
    impl_.wake_controllers();  // deletions feed the garbage collector
  }

  json get(const std::string& storage_id, const std::string& key) override {
    ObjectPtr o = impl_.store.get(storage_id, key);
    if (!o) return nullptr;
    return with_kind(resource(storage_id), json::parse(o->json));
  }

  std::vector<json> list(const std::string& storage_id, const std::string& ns) override {
    return list_if(storage_id, ns, nullptr);
  }

  std::vector<json> list_if(const std::string& storage_id, const std::string& ns,
                            const std::function<bool(const std::string&)>& keep) override {
    const ResourceInfo& r = resource(storage_id);
    const Collection& c = impl_.store.collection(storage_id);
    std::vector<json> out;
    std::string prefix = ns.empty() ? "" : ns + "/";
    for (auto it = c.lower_bound(prefix); it != c.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
      if (!keep || keep(it->second->json)) out.push_back(with_kind(r, json::parse(it->second->json)));
    return out;
  }

  void scan(const std::string& storage_id,
            const std::function<void(const std::string&, const std::string&)>& fn) override {
    for (const auto& [key, o] : impl_.store.collection(storage_id)) fn(key, o->json);
  }

  json create(const std::string& storage_id, const std::string& ns, json object) override {
    return impl_.create_object(resource(storage_id), ns, std::move(object), writer(""));
  }
  json update(const std::string& storage_id, const json& old, json updated) override {
    return impl_.update_object(resource(storage_id), old, std::move(updated), writer(""));
  }
  json update_status(const std::string& storage_id, const json& old, json updated) override {
    return impl_.update_object(resource(storage_id), old, std::move(updated), writer("status"));
  }
  json bind(const json& old, json updated) override {
    WriteOptions w = writer("binding");
    w.managed_fields_done = true;
    return impl_.update_object(resource("/pods"), old, std::move(updated), w);
  }
  void remove(const std::string& storage_id, const json& object) override {
    DeleteOptions d;
    d.propagation = "Background";
    bool gone = false;
    impl_.delete_object(resource(storage_id), object, d, gone);
  }

  void on_change(std::function<void(const workloads::Change&)> observer) override {
    impl_.write_observer = [observer = std::move(observer)](const std::string& storage_id, const StoredObject& o,
                                                           bool deleted, const json* parsed) {
      observer(workloads::Change{storage_id, o.key, o.json, deleted, parsed});
    };
  }

 private:
  static WriteOptions writer(const char* subresource) {
    WriteOptions w;
    w.manager = "kube-controller-manager";
    w.subresource = subresource;
    return w;
  }
  static json with_kind(const ResourceInfo& r, json object) {
    object["apiVersion"] = r.api_version();
    object["kind"] = r.kind;
    return object;
  }
  // Storage ids name a group and resource; the controllers use each kind's one served version.
  const ResourceInfo& resource(const std::string& storage_id) {
    auto it = resources_.find(storage_id);
    if (it != resources_.end()) return *it->second;
    size_t slash = storage_id.find('/');
    std::string group = storage_id.substr(0, slash), name = storage_id.substr(slash + 1);
    ResourcePtr r;
    for (const char* version : {"v1", "v2", "v1beta1"})
      if ((r = impl_.registry.find(group, version, name))) break;
    if (!r) throw std::runtime_error("no served version of " + storage_id);
    return *(resources_[storage_id] = r);
  }

  Api::Impl& impl_;
  std::map<std::string, ResourcePtr> resources_;
};

}  // namespace

std::unique_ptr<workloads::Cluster> Api::cluster() { return std::make_unique<ApiCluster>(*impl_); }

}  // namespace kubelite
