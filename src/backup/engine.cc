#include "backup/engine.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "archive/paths.h"
#include "archive/tarball_writer.h"
#include "backup/filters.h"
#include "backup/hooks.h"
#include "backup/item_actions.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/exec.h"
#include "util/glob.h"
#include "util/label_selector.h"

namespace arca::backup {
namespace {

using FilePtr = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

FilePtr temp_file() {
  FilePtr f(std::tmpfile(), &std::fclose);
  if (!f) throw std::runtime_error("cannot create a temporary file for the backup");
  return f;
}

// Objects that actions may pull in, written once to a temporary file and found by key, so that memory
// holds only the keys.
class Spool {
 public:
  void put(const std::string& key, std::string_view json) {
    std::fseek(file_.get(), 0, SEEK_END);
    long offset = std::ftell(file_.get());
    if (std::fwrite(json.data(), 1, json.size(), file_.get()) != json.size())
      throw std::runtime_error("cannot write the backup's item index");
    index_[key] = {offset, json.size()};
  }
  std::optional<std::string> get(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    std::string out(it->second.second, '\0');
    std::fseek(file_.get(), it->second.first, SEEK_SET);
    if (std::fread(out.data(), 1, out.size(), file_.get()) != out.size())
      throw std::runtime_error("cannot read the backup's item index");
    return out;
  }

 private:
  FilePtr file_ = temp_file();
  std::unordered_map<std::string, std::pair<long, size_t>> index_;
};

// JSON string literal of a Kubernetes name (they rarely need escaping, so the common case is a copy).
void append_json_string(std::string& out, std::string_view text) {
  if (text.find_first_of("\"\\") == std::string_view::npos &&
      std::none_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    out += '"';
    out += text;
    out += '"';
  } else {
    out += nlohmann::json(std::string(text)).dump();
  }
}

// The resource list: names go to one temporary file per type. Lists arrive in key order, so a type's file
// is usually sorted already and is copied through; only a type whose names came out of order (items
// pulled in by actions, several OR'ed selectors) is loaded and sorted. Memory stays flat however many
// items the backup holds; the JSON goes to a temporary file.
class ResourceList {
 public:
  void add(const std::string& type, std::string_view key) {
    auto it = types_.find(type);
    if (it == types_.end()) it = types_.emplace(type, Names{}).first;
    Names& names = it->second;
    if (key < std::string_view(names.last)) names.sorted = false;
    names.last.assign(key);
    if (std::fwrite(key.data(), 1, key.size(), names.file.get()) != key.size() ||
        std::fputc('\n', names.file.get()) == EOF)
      throw std::runtime_error("cannot write the backup's resource list");
  }

  // {"<apiVersion>/<Kind>": ["ns/name", ...sorted], ...}, compact, in a temporary file positioned at its start.
  FilePtr finish() {
    FilePtr out = temp_file();
    std::string chunk = "{";
    bool first_type = true;
    for (auto& [type, names] : types_) {
      if (!first_type) chunk += ',';
      first_type = false;
      append_json_string(chunk, type);
      chunk += ":[";
      bool first_name = true;
      auto emit = [&](std::string_view name) {
        if (!first_name) chunk += ',';
        first_name = false;
        append_json_string(chunk, name);
        if (chunk.size() > (1 << 16)) flush(chunk, out.get());
      };
      std::rewind(names.file.get());
      if (names.sorted) {
        for_each_line(names.file.get(), emit);
      } else {
        std::vector<std::string> sorted;
        for_each_line(names.file.get(), [&](std::string_view name) { sorted.emplace_back(name); });
        std::sort(sorted.begin(), sorted.end());
        for (const auto& name : sorted) emit(name);
      }
      chunk += ']';
      names.file.reset();
    }
    chunk += '}';
    flush(chunk, out.get());
    if (std::fflush(out.get()) != 0) throw std::runtime_error("cannot write the backup's resource list");
    std::rewind(out.get());
    return out;
  }

 private:
  struct Names {
    FilePtr file = temp_file();
    std::string last;
    bool sorted = true;
  };

  static void flush(std::string& chunk, std::FILE* out) {
    if (std::fwrite(chunk.data(), 1, chunk.size(), out) != chunk.size())
      throw std::runtime_error("cannot write the backup's resource list");
    chunk.clear();
  }

  template <typename F>
  static void for_each_line(std::FILE* file, F&& on_line) {
    char buffer[4096];
    std::string line;
    while (std::fgets(buffer, sizeof buffer, file)) {
      line += buffer;
      if (line.back() == '\n') {
        line.pop_back();
        on_line(std::string_view(line));
        line.clear();
      }
    }
  }

  std::map<std::string, Names> types_;
};

// Per version, as Velero's backed-up set is keyed by apiVersion: with all group versions an object is backed
// up once in each.
std::string item_key(const kube::ApiResource& r, std::string_view ns, std::string_view name) {
  std::string key = r.group_resource();
  key += '|';
  key += r.version;
  key += '|';
  key += ns;
  key += '/';
  key += name;
  return key;
}

bool is_kind(const kube::ApiResource& r, std::string_view group, std::string_view resource) {
  return r.group == group && r.resource == resource;
}

// Kinds an action can pull in: collected with a backup-wide de-duplication set (they are few).
bool is_related_kind(const kube::ApiResource& r) {
  return is_kind(r, "", "persistentvolumeclaims") || is_kind(r, "", "persistentvolumes") ||
         is_kind(r, "scheduling.k8s.io", "priorityclasses") ||
         is_kind(r, "rbac.authorization.k8s.io", "clusterrolebindings") ||
         is_kind(r, "rbac.authorization.k8s.io", "clusterroles") ||
         is_kind(r, "apiextensions.k8s.io", "customresourcedefinitions");
}

kube::ListOptions list_options(int page_size, const std::string& selector = "") {
  kube::ListOptions options;
  options.page_size = page_size;
  options.label_selector = selector;
  return options;
}

ResourceType type_of(const kube::ApiResource& r) { return {r.group_resource(), r.namespaced, r.kind}; }

// `resource.group` of each name (kubectl's resolution: short names, kinds, singulars); "*", globs and
// names discovery does not know stay as given.
std::vector<std::string> resolve_names(const std::vector<std::string>& names, const kube::DiscoveryData& data) {
  std::vector<std::string> out;
  for (const auto& name : names) {
    const kube::ApiResource* r = has_glob_chars(name) ? nullptr : kube::resolve_resource(data, name);
    out.push_back(r ? r->group_resource() : name);
  }
  return out;
}

// The parts of Velero's pkg/backup/item_backupper.go that need the object (the exclude label, a pending deletion) are read only when the
// raw bytes mention them, so the common item is never parsed.
// Fine-grained filters need every item's labels (`all_labels`).
ItemRef item_ref(const kube::ApiResource& r, std::string_view ns, std::string_view name, std::string_view json,
                 bool all_labels) {
  ItemRef ref{type_of(r), std::string(ns), std::string(name), {}, false};
  if (!all_labels && json.find(kExcludeFromBackupLabel) == std::string_view::npos &&
      json.find("\"deletionTimestamp\"") == std::string_view::npos)
    return ref;
  auto j = nlohmann::json::parse(json);
  const auto& md = j["metadata"];
  ref.being_deleted = md.contains("deletionTimestamp") && !md["deletionTimestamp"].is_null();
  if (auto l = md.find("labels"); l != md.end() && l->is_object())
    for (auto& [k, v] : l->items())
      if (v.is_string()) ref.labels[k] = v.get<std::string>();
  return ref;
}

struct NamespaceObject {
  std::string name;
  Labels labels;
  bool active = true;
  std::string json;
};

class Run {
 public:
  Run(const api::Backup& backup, kube::Transport& transport, kube::Discovery& discovery,
      const archive::ByteSink& tar_out, BackupLog& log, const RunOptions& options)
      : backup_(backup),
        spec_(backup.spec),
        client_(transport),
        transport_(transport),
        data_(discovery.data()),
        log_(log),
        options_(options),
        tar_(tar_out, archive::TarballOptions{options.gzip, 0, options.on_tar_content}) {}

  // A fatal error ends collection early, yet the tarball is still closed and the resource list written
  // (as Velero's deferred Close does), so a Failed backup stores a valid archive of what it collected.
  RunResult run() {
    try {
      collect_everything();
    } catch (const std::exception& e) {
      result_.fatal_error = e.what();
    }
    try {
      tar_.finish();
    } catch (const std::exception& e) {
      if (result_.fatal_error.empty()) result_.fatal_error = e.what();
    }
    if (result_.fatal_error.empty())
      log_.info("Backed up a total of " + std::to_string(result_.items_backed_up) + " items");
    result_.total_items = std::max(result_total_, result_.items_backed_up);
    if (pod_hooks_) {
      result_.hook_status = pod_hooks_->tracker().status();
      result_.hooks_ran = pod_hooks_->tracker().any();
    }
    result_.resource_list = resource_list_.finish();
    return std::move(result_);
  }

 private:
  void collect_everything() {
    list_namespaces();
    std::vector<std::string> existing;
    for (const auto& ns : namespaces_) existing.push_back(ns.name);
    api::BackupSpec resolved = spec_;
    for (auto* list : {&resolved.included_resources, &resolved.excluded_resources,
                       &resolved.included_cluster_scoped_resources, &resolved.excluded_cluster_scoped_resources,
                       &resolved.included_namespace_scoped_resources, &resolved.excluded_namespace_scoped_resources})
      *list = resolve_names(*list, *data_);
    filters_ = make_collection_filters(resolved, existing);
    filters_.fine_grained = options_.fine_grained;
    for (const auto& warning : filters_.namespaces.warnings) log_.warning(warning);
    for (const auto& ns : filters_.namespaces.filter.includes)
      if (!has_glob_chars(ns) && std::find(existing.begin(), existing.end(), ns) == existing.end())
        log_.error("included namespace " + ns + " not found", {"namespaces", "", ns, false});
    selectors_ = list_label_selectors(filters_);
    std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> hook_resources;
    for (const auto& hook : spec_.hooks.resources)
      hook_resources.push_back({resolve_names(hook.included_resources, *data_),
                                resolve_names(hook.excluded_resources, *data_)});
    hooks::Executor exec = options_.exec;
    if (!exec) exec = [this](const kube::ExecRequest& r) { return kube::exec_in_pod(transport_, r); };
    pod_hooks_.emplace(spec_.hooks, std::move(hook_resources), log_, std::move(exec));

    auto resources = collection_order();
    build_indexes(resources);
    for (const auto* r : resources) {
      if (is_kind(*r, "", "namespaces") || !should_list_resource(filters_, type_of(*r)) || cohabitant_seen(*r))
        continue;
      collect(*r);
    }
    if (options_.volume_snapshotter)
      options_.volume_snapshotter->finish([this](const std::string& group, const std::string& resource,
                                                 const std::string& ns, const std::string& name, const std::string& json) {
        if (const auto* r = preferred(group, resource)) back_up_item(*r, ns, name, json);
      });
    back_up_namespaces();
    back_up_crds();
  }

  void list_namespaces() {
    const auto* r = preferred("", "namespaces");
    if (!r) throw std::runtime_error("the server has no namespaces resource");
    list(*r, "", list_options(0), [&](const kube::ListItem& item) {
      auto j = item.parse();
      NamespaceObject ns{std::string(item.name), {}, true, std::string(item.json)};
      if (auto l = j["metadata"].find("labels"); l != j["metadata"].end() && l->is_object())
        for (auto& [k, v] : l->items())
          if (v.is_string()) ns.labels[k] = v.get<std::string>();
      ns.active = j.contains("status") && j["status"].value("phase", "Active") != "Terminating";
      if (!j.contains("status")) ns.active = true;
      namespaces_.push_back(std::move(ns));
    });
  }


  // client_.list that survives an expired continue token (410), which a large backup on a busy cluster
  // meets: the list starts over and skips what it already handed out (lists come in key order), so
  // every item is seen once and memory stays flat.
  void list(const kube::ApiResource& r, std::string_view ns, const kube::ListOptions& options,
            const std::function<void(const kube::ListItem&)>& on_item) {
    std::string key, last, skip_through;
    client_.list(
        r, ns, options,
        [&](const kube::ListItem& item) {
          key.assign(item.namespace_name);
          key += '/';
          key += item.name;
          if (!skip_through.empty()) {
            if (key <= skip_through) return;
            skip_through.clear();
          }
          last.swap(key);
          on_item(item);
        },
        [&] {
          skip_through = last;
          log_.info("The continue token of the list expired: listing again, after " + last,
                    {r.group_resource(), std::string(ns), "", !ns.empty()});
        });
  }

  // Velero resolves resources with client-go's RESTMapper: per resource, not per group.
  const kube::ApiResource* preferred(std::string_view group, std::string_view resource) const {
    return data_->preferred(group, resource);
  }

  // Velero's pkg/discovery/helper.go and pkg/backup/item_collector.go: preferred versions (or all, preferred first), list+create+get+delete, groups in discovery order
  // with `extensions` last, the core group led by pods, PVCs, PVs.
  std::vector<const kube::ApiResource*> collection_order() const {
    std::vector<const kube::ApiGroup*> groups;
    for (const auto& g : data_->groups)
      if (g.name != "extensions") groups.push_back(&g);
    for (const auto& g : data_->groups)
      if (g.name == "extensions") groups.push_back(&g);
    std::vector<const kube::ApiResource*> out;
    for (const auto* g : groups) {
      for (const auto& version : g->versions) {
        std::vector<const kube::ApiResource*> rs;
        for (const auto& r : data_->resources)
          if (r.group == g->name && r.version == version && r.resource.find('/') == std::string::npos &&
              r.has_verb("list") && r.has_verb("create") && r.has_verb("get") && r.has_verb("delete") &&
              (options_.all_group_versions || preferred(r.group, r.resource) == &r))
            rs.push_back(&r);
        if (g->name.empty()) {
          auto rank = [](const kube::ApiResource* r) {
            return r->resource == "pods" ? 0 : r->resource == "persistentvolumeclaims" ? 1
                                             : r->resource == "persistentvolumes"      ? 2
                                                                                       : 3;
          };
          std::stable_sort(rs.begin(), rs.end(), [&](auto* a, auto* b) { return rank(a) < rank(b); });
        }
        out.insert(out.end(), rs.begin(), rs.end());
      }
    }
    return out;
  }

  // Only preferred versions are collected without all group versions. Cached: it is asked for every item.
  bool is_preferred(const kube::ApiResource& r) {
    if (!options_.all_group_versions) return true;
    auto [known, inserted] = preferred_.try_emplace(&r, true);
    if (inserted) known->second = preferred(r.group, r.resource) == &r;
    return known->second;
  }

  // deployments/daemonsets/replicasets, networkpolicies and events exist in two groups: collected once.
  bool cohabitant_seen(const kube::ApiResource& r) {
    static const std::map<std::string, std::set<std::string>> cohabiting = {
        {"deployments", {"extensions", "apps"}},
        {"daemonsets", {"extensions", "apps"}},
        {"replicasets", {"extensions", "apps"}},
        {"networkpolicies", {"extensions", "networking.k8s.io"}},
        {"events", {"", "events.k8s.io"}}};
    auto it = cohabiting.find(r.resource);
    if (it == cohabiting.end() || !it->second.count(r.group)) return false;
    return !cohabitants_seen_.insert(r.resource).second;
  }

  // Namespaces a namespaced resource is listed in: once cluster-wide when all may be included.
  std::vector<std::string> listing_namespaces() const {
    auto names = filters_.namespaces.namespaces_to_list();
    if (!names) return {""};
    std::vector<std::string> out;
    for (const auto& ns : namespaces_)
      if (std::find(names->begin(), names->end(), ns.name) != names->end()) out.push_back(ns.name);
    return out;
  }

  void list_into_spool(const kube::ApiResource* r, const std::function<void(const kube::ListItem&)>& also = {}) {
    if (!r) return;
    for (const auto& ns : r->namespaced ? listing_namespaces() : std::vector<std::string>{""}) {
      try {
        list(*r, ns, list_options(options_.page_size), [&](const kube::ListItem& item) {
          spool_.put(item_key(*r, item.namespace_name, item.name), item.json);
          if (also) also(item);
        });
      } catch (const kube::KubeError& e) {
        log_.error("Error listing items", {r->group_resource(), ns, "", !ns.empty()}, e.what());
      }
    }
  }

  // The index of related kinds, built once per backup: what pods, PVCs and service accounts pull in.
  void build_indexes(const std::vector<const kube::ApiResource*>& resources) {
    auto included = [&](std::string_view group, std::string_view resource) {
      for (const auto* r : resources)
        if (is_kind(*r, group, resource)) return should_list_resource(filters_, type_of(*r));
      return false;
    };
    bool pods = included("", "pods");
    if (pods) {
      list_into_spool(preferred("", "persistentvolumeclaims"));
      list_into_spool(preferred("scheduling.k8s.io", "priorityclasses"));
    }
    if (pods || included("", "persistentvolumeclaims")) list_into_spool(preferred("", "persistentvolumes"));
    if (included("", "serviceaccounts")) {
      list_into_spool(preferred("rbac.authorization.k8s.io", "clusterroles"));
      list_into_spool(preferred("rbac.authorization.k8s.io", "clusterrolebindings"), [&](const kube::ListItem& item) {
        auto crb = item.parse();
        std::string role;
        if (crb.contains("roleRef") && crb["roleRef"].value("kind", "") == "ClusterRole")
          role = crb["roleRef"].value("name", "");
        if (!crb.contains("subjects") || !crb["subjects"].is_array()) return;
        for (const auto& s : crb["subjects"])
          if (s.value("kind", "") == "ServiceAccount")
            bindings_by_subject_[s.value("namespace", "") + "/" + s.value("name", "")].push_back(
                {std::string(item.name), role});
      });
    }
  }

  void collect(const kube::ApiResource& r) {
    const bool related = is_related_kind(r);
    // With several OR'ed selectors one item can come back from several lists.
    std::unordered_set<std::string> seen_here;
    auto ordered = spec_.ordered_resources.find(r.resource);
    struct Buffered {
      std::string ns, name, json;
    };
    std::vector<Buffered> buffered;
    auto handle = [&](std::string_view ns, std::string_view name, std::string_view json) {
      ++result_total_;
      ItemRef ref = item_ref(r, ns, name, json, !filters_.fine_grained.empty());
      if (!listed_item_selected(filters_, ref) || !kept(ref)) return;
      if (options_.volume_snapshotter &&
          options_.volume_snapshotter->defers(r.group, r.resource, std::string(ns), std::string(name)))
        return;
      std::string key = item_key(r, ns, name);
      if (related ? !seen_related_.insert(key).second
                  : selectors_.size() > 1 && !seen_here.insert(key).second)
        return;
      back_up_item(r, ns, name, json);
    };
    for (const auto& selector : selectors_) {
      for (const auto& ns : r.namespaced ? listing_namespaces() : std::vector<std::string>{""}) {
        try {
          list(r, ns, list_options(options_.page_size, selector),
                       [&](const kube::ListItem& item) {
                         if (ordered != spec_.ordered_resources.end())
                           buffered.push_back({std::string(item.namespace_name), std::string(item.name),
                                               std::string(item.json)});
                         else
                           handle(item.namespace_name, item.name, item.json);
                       });
        } catch (const kube::KubeError& e) {
          log_.error("Error listing items", {r.group_resource(), ns, "", !ns.empty()}, e.what());
        }
      }
    }
    if (ordered == spec_.ordered_resources.end()) return;
    // orderedResources: the named items first, in the given order; then the rest in list order.
    std::vector<bool> done(buffered.size());
    std::string_view order = ordered->second;
    while (!order.empty()) {
      auto comma = order.find(',');
      std::string_view entry = order.substr(0, comma);
      order = comma == std::string_view::npos ? std::string_view() : order.substr(comma + 1);
      auto slash = entry.find('/');
      std::string_view ns = slash == std::string_view::npos ? std::string_view() : entry.substr(0, slash);
      std::string_view name = slash == std::string_view::npos ? entry : entry.substr(slash + 1);
      bool found = false;
      for (size_t i = 0; i < buffered.size(); ++i)
        if (!done[i] && buffered[i].ns == ns && buffered[i].name == name) {
          done[i] = found = true;
          handle(buffered[i].ns, buffered[i].name, buffered[i].json);
        }
      if (!found)
        log_.warning("ordered resource " + std::string(entry) + " not found", {r.group_resource(), "", "", false});
    }
    for (size_t i = 0; i < buffered.size(); ++i)
      if (!done[i]) handle(buffered[i].ns, buffered[i].name, buffered[i].json);
  }

  bool kept(const ItemRef& item) {
    auto decision = check_item(filters_, item);
    if (!decision.include)
      log_.info("Skipping item: " + decision.reason,
                {item.type.group_resource, item.namespace_, item.name, item.type.namespaced});
    return decision.include;
  }

  // An item an action returned: found in the index, checked like any item (Velero's pkg/backup/item_backupper.go), backed up once.
  void back_up_related(const RelatedItem& item) {
    const auto* r = preferred(item.group, item.resource);
    if (!r) return;
    std::string key = item_key(*r, item.namespace_name, item.name);
    if (seen_related_.count(key)) return;
    auto json = spool_.get(key);
    if (!json) {
      log_.warning("Additional item was not found in Kubernetes, skipping",
                   {r->group_resource(), item.namespace_name, item.name, r->namespaced});
      return;
    }
    ++result_total_;
    if (!kept(item_ref(*r, item.namespace_name, item.name, *json, !filters_.fine_grained.empty()))) return;
    seen_related_.insert(key);
    back_up_item(*r, item.namespace_name, item.name, *json);
  }

  void back_up_item(const kube::ApiResource& r, std::string_view ns, std::string_view name, std::string_view json) {
    LogFields fields{r.group_resource(), std::string(ns), std::string(name), r.namespaced};
    std::string mutated;
    try {
      if (is_kind(r, "", "pods")) {
        if (!back_up_pod(json, fields)) return;
      } else if (is_kind(r, "", "persistentvolumeclaims")) {
        auto pvc = nlohmann::json::parse(json);
        std::string pv;
        bool changed = apply_pvc_action(pvc, backup_.metadata.name, pv);
        if (options_.volume_snapshotter) {
          const auto* pvs = preferred("", "persistentvolumes");
          auto pv_json = pvs && !pv.empty() ? spool_.get(item_key(*pvs, "", pv)) : std::nullopt;
          changed |= options_.volume_snapshotter->on_pvc(pvc, pv_json ? nlohmann::json::parse(*pv_json) : nlohmann::json());
        }
        if (changed) mutated = pvc.dump();
        if (!pv.empty()) back_up_related({"", "persistentvolumes", "", pv});
      } else if (is_kind(r, "", "serviceaccounts")) {
        auto it = bindings_by_subject_.find(std::string(ns) + "/" + std::string(name));
        if (it != bindings_by_subject_.end())
          for (const auto& [binding, role] : it->second) {
            back_up_related({"rbac.authorization.k8s.io", "clusterrolebindings", "", binding});
            if (!role.empty()) back_up_related({"rbac.authorization.k8s.io", "clusterroles", "", role});
          }
      }
    } catch (const nlohmann::json::exception& e) {
      log_.error("Error executing item actions", fields, e.what());
    }
    // The listed version is the object's before any action ran (Velero's pkg/backup/backup.go and pkg/archive).
    tar_.add_item({archive::resource_dir(r.resource, r.group), std::string(ns), std::string(name)}, r.version,
                  is_preferred(r), mutated.empty() ? json : std::string_view(mutated));
    std::string listed = ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name);
    resource_list_.add(r.group_version() + "/" + r.kind, listed);
    ++result_.items_backed_up;
    if (r.namespaced) tracked_namespaces_.insert(std::string(ns));
    if (!r.group.empty()) groups_with_items_.insert(r.group_resource());
    if (options_.on_progress) options_.on_progress(std::max(result_total_, result_.items_backed_up), result_.items_backed_up);
  }

  // A pod in Velero's order (pkg/backup/item_backupper.go): pre hooks, the item actions (its PVCs, priority class),
  // its file-system backups, then post hooks, once those have finished. False when a Fail-mode hook failed: the
  // pod is then left out of the backup (unless its volumes were already being backed up: then it stays, and the
  // hook's failure is an error of the backup).
  bool back_up_pod(std::string_view json, const LogFields& fields) {
    std::optional<nlohmann::json> pod;
    if (pod_hooks_ && pod_hooks_->may_apply(json)) pod = nlohmann::json::parse(json);
    if (pod) {
      if (std::string error = pod_hooks_->run(*pod, "pre", fields); !error.empty()) {
        log_.error("Error backing up item", fields, error);
        return false;
      }
    }
    pod_actions(json, fields);
    bool volumes_started = options_.on_pod && options_.on_pod(json);
    if (!pod) return true;
    if (volumes_started && options_.wait_pod_volumes) options_.wait_pod_volumes(json);
    return run_post_hooks(*pod, fields) || volumes_started;
  }

  bool run_post_hooks(const nlohmann::json& pod, const LogFields& fields) {
    if (std::string error = pod_hooks_->run(pod, "post", fields); !error.empty()) {
      log_.error("Error backing up item", fields, error);
      return false;
    }
    return true;
  }

  void pod_actions(std::string_view json, const LogFields& fields) {
    if (json.find("persistentVolumeClaim") == std::string_view::npos &&
        json.find("priorityClassName") == std::string_view::npos)
      return;
    for (const auto& item : pod_related_items(nlohmann::json::parse(json))) back_up_related(item);
  }

  // Namespace objects come last, once it is known which namespaces hold backed-up items (Velero's pkg/backup/item_collector.go).
  void back_up_namespaces() {
    const auto* r = preferred("", "namespaces");
    if (!r || !should_list_resource(filters_, type_of(*r))) return;
    for (const auto& ns : namespaces_) {
      if (!tracked_namespaces_.count(ns.name) && !should_track_namespace(filters_, ns.name, ns.labels, ns.active))
        continue;
      if (!kept(item_ref(*r, "", ns.name, ns.json, false))) continue;
      ++result_total_;
      back_up_item(*r, "", ns.name, ns.json);
    }
  }

  // Velero's pkg/backup/backup.go: the CRD of every custom resource type that had items, unless CRDs are included (then they were
  // collected) or explicitly excluded.
  void back_up_crds() {
    const auto* r = preferred("apiextensions.k8s.io", "customresourcedefinitions");
    if (!r || groups_with_items_.empty() || should_list_resource(filters_, type_of(*r)) ||
        resource_explicitly_excluded(filters_, type_of(*r)))
      return;
    try {
      list(*r, "", list_options(options_.page_size), [&](const kube::ListItem& item) {
        std::string name(item.name);
        if (!groups_with_items_.count(name)) return;
        if (!kept(item_ref(*r, "", name, item.json, !filters_.fine_grained.empty())) || !seen_related_.insert(item_key(*r, "", name)).second) return;
        ++result_total_;
        back_up_item(*r, "", name, item.json);
      });
    } catch (const kube::KubeError& e) {
      log_.error("Error backing up custom resource definitions", {r->group_resource(), "", "", false}, e.what());
    }
  }

  const api::Backup& backup_;
  const api::BackupSpec& spec_;
  kube::DynamicClient client_;
  kube::Transport& transport_;
  std::shared_ptr<const kube::DiscoveryData> data_;
  BackupLog& log_;
  const RunOptions& options_;
  archive::TarballWriter tar_;

  std::vector<NamespaceObject> namespaces_;
  CollectionFilters filters_;
  std::vector<std::string> selectors_;
  std::optional<PodHookRunner> pod_hooks_;

  Spool spool_;
  std::unordered_map<std::string, std::vector<std::pair<std::string, std::string>>> bindings_by_subject_;
  std::unordered_set<std::string> seen_related_;
  std::unordered_map<const kube::ApiResource*, bool> preferred_;  // by is_preferred()
  std::set<std::string> cohabitants_seen_, tracked_namespaces_, groups_with_items_;
  ResourceList resource_list_;
  RunResult result_;
  int result_total_ = 0;
};

}  // namespace

RunResult run_backup(const api::Backup& backup, kube::Transport& transport, kube::Discovery& discovery,
                     const archive::ByteSink& tar_out, BackupLog& log, const RunOptions& options) {
  return Run(backup, transport, discovery, tar_out, log, options).run();
}

}  // namespace arca::backup
