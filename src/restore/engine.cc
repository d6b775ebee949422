#include "restore/engine.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include <simdjson.h>

#include "kube/dynamic.h"
#include "kube/errors.h"
#include "kube/transport.h"
#include "csi/csi.h"
#include "kube/exec.h"
#include "restore/exec_hooks.h"
#include "restore/existing.h"
#include "restore/group_versions.h"
#include "restore/hooks.h"
#include "restore/item_actions.h"
#include "restore/namespaces.h"
#include "restore/reporter.h"
#include "restore/retry.h"
#include "restore/spool.h"
#include "restore/worker_pool.h"
#include "util/includes_excludes.h"
#include "util/leftovers.h"
#include "util/timestamp.h"

namespace arca::restore {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kCrdResource = "customresourcedefinitions.apiextensions.k8s.io";

// The text of metadata.managedFields in an object's JSON, "" when it has none: compared and sent back as it is,
// so that managedFields cost a restore no parse of the server's answer and no serialization.
std::string managed_fields_text(std::string_view object_json) {
  thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string padded(object_json);
  simdjson::ondemand::document doc;
  simdjson::ondemand::array fields;
  std::string_view text;
  if (parser.iterate(padded).get(doc) || doc.at_pointer("/metadata/managedFields").get_array().get(fields) ||
      fields.raw_json().get(text))
    return "";
  return std::string(text);
}

std::pair<std::string, std::string> split_resource_dir(const std::string& dir) {
  size_t dot = dir.find('.');
  if (dot == std::string::npos) return {dir, ""};
  return {dir.substr(0, dot), dir.substr(dot + 1)};
}

std::string version_of(const std::string& api_version) {
  size_t slash = api_version.find('/');
  return slash == std::string::npos ? api_version : api_version.substr(slash + 1);
}

std::string resource_id(const std::string& group_resource, const std::string& ns, const std::string& name) {
  return ns.empty() ? group_resource + "/" + name : group_resource + "/" + ns + "/" + name;
}

bool crd_ready(const json& crd) {
  bool established = false, names_accepted = false;
  for (const auto& condition : crd.value("/status/conditions"_json_pointer, json::array())) {
    bool is_true = condition.value("status", "") == "True";
    if (condition.value("type", "") == "Established") established = is_true;
    if (condition.value("type", "") == "NamesAccepted") names_accepted = is_true;
  }
  return established && names_accepted;
}

// ---- one restore run ---------------------------------------------------------------------------------------
class Run {
 public:
  Run(const api::Restore& restore, kube::Transport& transport, kube::Discovery& discovery, RestoreLog& log,
      const EngineOptions& options, RestoreOutcome& outcome)
      : restore_(restore),
        spec_(restore.spec),
        client_(transport),
        transport_(transport),
        discovery_(discovery),
        log_(log),
        options_(options),
        out_(outcome),
        spool_(options.spool_dir),
        started_at_(format_rfc3339(now_seconds())) {}

  void execute(const archive::ByteSource& tarball) {
    if (!spool_tarball(tarball)) return;
    if (options_.choose_group_versions && !choose_group_versions()) return;
    spool_.flush();
    build_filters();
    warn_about_unmatched_namespaces();
    load_plugin_configs();
    total_estimate_ = static_cast<int>(spool_.total_items());
    auto order = order_resources(options_.priorities, spool_.resources(), discovery_.data().get());

    // Pass 1: CRDs, so that pass 2 can create their custom resources.
    if (spool_.items(kCrdResource) > 0) {
      restore_resource(kCrdResource);
      if (crds_changed_) discovery_.refresh();
    }
    for (const auto& resource : order)
      if (resource != kCrdResource) restore_resource(resource);
    if (exec_hooks_) {
      // Velero waits for the post-restore exec hooks before the restore completes.
      log_.info("waiting for post-restore exec hooks");
      exec_hooks_->wait();
      out_.hook_status = exec_hooks_->tracker().status();
      out_.hooks_ran = exec_hooks_->tracker().any();
    }

    out_.items_restored = out_.total_items = static_cast<int>(out_.resources.size());
    std::sort(out_.dry_run.begin(), out_.dry_run.end(),
              [](const DryRunItem& a, const DryRunItem& b) { return a.resource_id < b.resource_id; });
    log_.info("restore completed");
  }

 private:
  // ---- reading ----
  bool spool_tarball(const archive::ByteSource& tarball) {
    bool saw_resources = false;
    try {
      archive::TarballReader reader(tarball);
      while (auto entry = reader.next()) {
        std::string resource, version_dir;
        SpooledItem item;
        if (entry->path.rfind("resources/", 0) == 0) saw_resources = true;
        if (!parse_item_path(entry->path, resource, version_dir, item)) continue;
        if (!version_dir.empty()) {
          // Only with the feature (Velero's pkg/archive/parser.go); the `-preferredversion` copy repeats the unversioned one, which is
          // spooled already, so only its name is kept.
          if (!options_.choose_group_versions || !note_version_dir(resource, version_dir)) continue;
          item.json = reader.read_content();
          spool_.add(versioned_spool(resource, version_dir), item);
          continue;
        }
        item.json = reader.read_content();
        item.offset = spool_.add(resource, item);
        index_item(resource, item);
      }
    } catch (const archive::ArchiveError& e) {
      report_.velero_error(std::string("error extracting backup tarball: ") + e.what());
      return false;
    }
    if (!saw_resources) {
      report_.velero_warning("zero items to be restored: the backup tarball has no resources directory");
      return false;
    }
    return true;
  }

  // What later steps look up by name rather than read in tier order.
  void index_item(const std::string& resource, const SpooledItem& item) {
    if (resource == "namespaces") backed_up_namespaces_[item.name] = item.json;
    if (!item.ns.empty()) namespaces_in_backup_.insert(item.ns);
    if (can_be_additional(resource)) additional_candidates_[item_key(resource, item.ns, item.name)] = item.offset;
  }

  // ---- API group versions (Velero's pkg/restore/prioritize_group_version.go) ----
  static std::string versioned_spool(const std::string& resource, const std::string& version) {
    return resource + "/" + version;  // "/" never occurs in a resource directory's name
  }

  // Records a version directory of `resource`; true when its items are to be spooled (not the preferred copy).
  bool note_version_dir(const std::string& resource, const std::string& version_dir) {
    static constexpr std::string_view kPreferredSuffix = "-preferredversion";
    auto& source = source_versions_[resource];
    bool preferred = version_dir.size() > kPreferredSuffix.size() && version_dir.ends_with(kPreferredSuffix);
    std::string version = preferred ? version_dir.substr(0, version_dir.size() - kPreferredSuffix.size()) : version_dir;
    if (preferred) source.preferred = version;
    if (std::find(source.versions.begin(), source.versions.end(), version) == source.versions.end())
      source.versions.push_back(version);
    return !preferred;
  }

  // Per resource with version directories, the version Velero's pkg/restore/prioritize_group_version.go picks; a non-preferred one's items replace the
  // unversioned ones in the spool (so the rest of the restore reads them, in that version).
  bool choose_group_versions() {
    VersionPriorities user;
    try {
      user = user_version_priorities();
    } catch (const kube::KubeError& e) {
      report_.velero_error(std::string("choosing API version to restore: ") + e.what());
      return false;
    }
    auto data = discovery_.data();
    for (const auto& [resource, source] : source_versions_) {
      std::string group = split_resource_dir(resource).second;
      auto target = std::find_if(data->groups.begin(), data->groups.end(),
                                 [&](const kube::ApiGroup& g) { return g.name == group; });
      ChosenVersion chosen = choose_version(resource, source, target == data->groups.end() ? nullptr : &*target, user);
      // A backup without a `-preferredversion` directory (not written by Velero) may fall back to its unversioned items.
      log_.info("restoring " + resource + " from " +
                (chosen.version.empty() ? std::string("its unversioned items") : "API version " + chosen.version) +
                " (" + std::string(to_string(chosen.rule)) + ")");
      if (!chosen.source_preferred) {
        spool_.replace(resource, versioned_spool(resource, chosen.version));
        if (resource == "namespaces") backed_up_namespaces_.clear();
        std::erase_if(additional_candidates_, [&](const auto& entry) { return entry.first.rfind(resource + "/", 0) == 0; });
        spool_.read(resource, [&](SpooledItem&& item) { index_item(resource, item); });
      }
      for (const auto& version : source.versions) spool_.erase(versioned_spool(resource, version));
    }
    return true;
  }

  // The ConfigMap `enableapigroupversions` in the server's namespace; none → no user priorities.
  VersionPriorities user_version_priorities() {
    json config_map;
    try {
      config_map = client_.get(discovery_.lookup("", "v1", "configmaps"), options_.plugin_namespace,
                               std::string(kVersionPriorityConfigMap));
    } catch (const kube::KubeError& e) {
      if (kube::is_not_found(e)) return {};
      throw;
    }
    std::vector<std::string> rejected;
    auto priorities = parse_version_priorities(
        config_map.value("/data"_json_pointer, json::object()).value(std::string(kVersionPriorityKey), ""), rejected);
    for (const auto& line : rejected) log_.warning("ConfigMap " + std::string(kVersionPriorityConfigMap) + ": " + line);
    return priorities;
  }

  // ---- filters ----
  void build_filters() {
    auto data = discovery_.data();
    auto resolve_all = [&](const std::vector<std::string>& names) {
      std::vector<std::string> resolved;
      for (const auto& name : names) {
        const kube::ApiResource* resource = name == "*" ? nullptr : kube::resolve_resource(*data, name);
        resolved.push_back(resource != nullptr ? resource->group_resource() : name);
      }
      return resolved;
    };
    resource_filter_ = {resolve_all(spec_.included_resources), resolve_all(spec_.excluded_resources)};
    namespace_filter_ = {spec_.included_namespaces, spec_.excluded_namespaces};
  }

  // An included namespace or pattern that matches nothing in the backup restores nothing from it (Velero
  // matches restore includes item by item; it no longer expands them, velero#9587). Said once, as a warning,
  // since it is most often a typo.
  void warn_about_unmatched_namespaces() {
    for (const auto& pattern : spec_.included_namespaces) {
      if (pattern == "*") continue;
      IncludesExcludes only{{pattern}, {}};
      bool matched = std::any_of(namespaces_in_backup_.begin(), namespaces_in_backup_.end(),
                                 [&](const std::string& ns) { return only.should_include(ns); }) ||
                     std::any_of(backed_up_namespaces_.begin(), backed_up_namespaces_.end(),
                                 [&](const auto& entry) { return only.should_include(entry.first); });
      if (!matched) {
        report_.velero_warning("included namespace \"" + pattern + "\" matches no namespace in the backup");
      }
    }
  }

  bool cluster_scoped_allowed() const {
    if (spec_.include_cluster_resources) return *spec_.include_cluster_resources;
    return namespace_filter_.includes_everything();
  }

  static bool must_have(const std::string& resource) {
    return resource == "datauploads.velero.io" || resource == "volumesnapshotcontents.snapshot.storage.k8s.io";
  }

  // The restore's filters past namespace and type (Velero's getSelectedRestoreableItems): a fine-grained rule
  // of the resource policy where one applies, else the label selectors.
  bool selected(const std::string& resource, const std::string& original_ns, const std::string& name,
                const json& item) const {
    if (!options_.fine_grained.empty()) {
      auto decision = decide(options_.fine_grained, resource, item.value("kind", ""), original_ns, name, labels_of(item));
      if (decision.verdict != FilterDecision::global) return decision.verdict == FilterDecision::include;
    }
    return selected_by_labels(item);
  }

  bool selected_by_labels(const json& item) const {
    if (spec_.label_selector) return selector_matches(*spec_.label_selector, labels_of(item));
    if (!spec_.or_label_selectors.empty()) {
      Labels labels = labels_of(item);
      return std::any_of(spec_.or_label_selectors.begin(), spec_.or_label_selectors.end(),
                         [&](const LabelSelector& s) { return selector_matches(s, labels); });
    }
    return true;
  }

  std::string target_namespace(const std::string& ns) const {
    auto mapped = spec_.namespace_mapping.find(ns);
    return mapped == spec_.namespace_mapping.end() ? ns : mapped->second;
  }

  // ---- plugin configuration (change-storage-class, change-image-name) ----
  std::map<std::string, std::string> plugin_config(const std::string& plugin) {
    std::map<std::string, std::string> data;
    try {
      kube::ApiResource config_maps = discovery_.lookup("", "v1", "configmaps");
      kube::ListOptions selector;
      selector.label_selector = "velero.io/plugin-config," + plugin + "=RestoreItemAction";
      client_.list(config_maps, options_.plugin_namespace, selector, [&](const kube::ListItem& item) {
        const json data_of_item = item.parse().value("data", json::object());
        for (const auto& [key, value] : data_of_item.items())
          if (value.is_string()) data[key] = value.get<std::string>();
      });
    } catch (const kube::KubeError& e) {
      log_.warning("cannot read the configuration of plugin " + plugin + ": " + e.what());
    }
    return data;
  }

  void load_plugin_configs() {
    actions_.spec = &spec_;
    actions_.storage_class_mapping = plugin_config("velero.io/change-storage-class");
    actions_.image_name_rules = plugin_config("velero.io/change-image-name");
    actions_.storage_class_error = [this](const std::string& name) -> std::string {
      try {
        client_.get(discovery_.lookup("storage.k8s.io", "v1", "storageclasses"), "", name);
        return "";
      } catch (const kube::KubeError& e) {
        if (kube::is_not_found(e)) return "storageclasses.storage.k8s.io \"" + name + "\" not found";
        return e.what();  // a 500 or a timeout is not "does not exist"
      }
    };
    actions_.service_accounts = [this](const std::string& ns) { return service_accounts(ns); };
    load_csi_context();
  }

  // What the CSI restore actions (src/csi/) look up in the target cluster; safe to call from the workers.
  void load_csi_context() {
    csi_.restore_uid = restore_.metadata.uid;
    csi_.namespace_mapping = spec_.namespace_mapping;
    csi_.restore_pvs = spec_.restore_pvs.value_or(true);
    csi_.backup_moved_data = options_.backup_moved_data;
    csi_.on_data_upload = options_.on_data_upload;
    csi_.restore_moved_pvc = options_.restore_moved_pvc;
    csi_.class_for_driver = [this](const std::string& driver) -> std::string {
      std::string found;
      try {
        client_.list(discovery_.lookup(csi::kSnapshotGroup, "v1", "volumesnapshotclasses"), "", {},
                     [&](const kube::ListItem& item) {
                       if (found.empty() && item.parse().value("driver", "") == driver) found = std::string(item.name);
                     });
      } catch (const std::exception&) {
      }
      return found;
    };
    csi_.restore_size_of = [this](const std::string& ns, const std::string& name) -> std::string {
      try {
        return csi::string_at(client_.get(discovery_.lookup(csi::kSnapshotGroup, "v1", "volumesnapshots"), ns, name),
                              json::json_pointer(std::string("/metadata/annotations/") + "velero.io~1csi-volumesnapshot-restore-size"));
      } catch (const std::exception&) {
        return "";
      }
    };
  }

  std::vector<std::string> service_accounts(const std::string& ns) {
    std::lock_guard lock(service_accounts_mutex_);
    auto cached = service_accounts_.find(ns);
    if (cached != service_accounts_.end()) return cached->second;
    std::vector<std::string> names;
    try {
      client_.list(discovery_.lookup("", "v1", "serviceaccounts"), ns, {},
                   [&](const kube::ListItem& item) { names.emplace_back(item.name); });
    } catch (const kube::KubeError& e) {
      log_.warning("cannot list service accounts in namespace " + ns + ": " + e.what());
    }
    return service_accounts_[ns] = names;
  }

  // ---- progress ----
  void item_done() {
    int done = ++processed_;
    if (options_.on_progress) options_.on_progress(std::max(total_estimate_, done), done);
    int tier_done = ++tier_done_;
    if (options_.on_tier_progress) options_.on_tier_progress(current_tier_, tier_done, tier_total_);
  }

  // ---- tiers ----
  void restore_resource(const std::string& resource) {
    bool excluded = !resource_filter_.should_include(resource) ||
                    std::count(non_restorable_resources().begin(), non_restorable_resources().end(), resource) > 0;
    if (excluded && !must_have(resource)) {
      log_.info("skipping resource " + resource + ": excluded");
      processed_ += static_cast<int>(spool_.items(resource));
      return;
    }
    log_.info("restoring resource " + resource);
    // Set before the tier's items are submitted and left alone until they are all done (wait_idle below).
    current_tier_ = resource;
    tier_total_ = static_cast<int>(spool_.items(resource));
    tier_done_ = 0;
    if (options_.on_tier_progress) options_.on_tier_progress(resource, 0, tier_total_);
    auto start = std::chrono::steady_clock::now();
    const bool namespaces = resource == "namespaces";
    spool_.read(resource, [&](SpooledItem&& item) {
      auto shared = std::make_shared<SpooledItem>(std::move(item));
      pool_.submit([this, resource, namespaces, shared] {
        try {
          if (!namespaces) {
            restore_item(resource, *shared);
          } else if (cluster_scoped_allowed() && namespace_filter_.should_include(shared->name)) {
            // Only makes sure the (mapped) namespace exists (Velero's pkg/restore/restore.go).
            std::string error = namespaces_.ensure(shared->name, target_namespace(shared->name));
            if (!error.empty()) report_.velero_error(error);
          }
        } catch (const std::exception& e) {
          report_.error(target_namespace(shared->ns),
                    "error restoring " + resource_id(resource, target_namespace(shared->ns), shared->name) + ": " +
                        e.what());
        }
        item_done();
      });
    });
    pool_.wait_idle();
    // Per tier, so that the log shows where a slow restore spends its time.
    char took[32];
    std::snprintf(took, sizeof took, "%.2f", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    log_.info("restored resource " + resource + ": " + std::to_string(spool_.items(resource)) + " items in " + took + " s");
  }

  // `additional`: pulled in by another item's action (Velero's pkg/restore/restore.go restoreItem step 8): label selectors do not apply, and a
  // cluster-scoped one is blocked only by an explicit includeClusterResources=false.
  void restore_item(const std::string& resource, const SpooledItem& spooled, bool additional = false) {
    const std::string& original_ns = spooled.ns;
    const std::string target_ns = target_namespace(original_ns);
    const std::string id = resource_id(resource, target_ns, spooled.name);
    bool bypass = must_have(resource);
    if (additional && !bypass && !resource_filter_.should_include(resource)) return;
    if (original_ns.empty()) {
      if (additional ? spec_.include_cluster_resources == false : !cluster_scoped_allowed()) return;
    } else if (!bypass && !namespace_filter_.should_include(original_ns)) {
      return;
    }
    json item = json::parse(spooled.json, nullptr, false);
    if (!item.is_object()) {
      report_.error(target_ns, "error decoding " + id + ": not a JSON object");
      return;
    }
    if (!bypass && !additional && !selected(resource, original_ns, spooled.name, item)) return;
    if (is_completed(resource, item)) return;
    if (can_be_additional(resource)) {  // de-duplication: the item may come as an additional item and in its tier
      std::lock_guard lock(handled_mutex_);
      if (!handled_.insert(item_key(resource, original_ns, spooled.name)).second) return;
    }
    const std::string kind_key = item.value("apiVersion", "") + "/" + item.value("kind", "");
    if (is_mirror_pod(resource, item)) {
      out_.resources.record(kind_key, target_ns, spooled.name, ItemAction::skipped);
      return;
    }
    if (!original_ns.empty()) {
      std::string error = namespaces_.ensure(original_ns, target_ns);
      if (!error.empty()) {
        report_.velero_error("error restoring " + id + ": its namespace " + target_ns + " is missing: " + error);
        out_.resources.record(kind_key, target_ns, spooled.name, ItemAction::failed);
        return;
      }
    }
    // What later steps need from the backed-up object, taken before it is transformed (a copy of every item
    // cost a restore more than its answer from the server). Modifiers' conditions look at the whole original.
    std::optional<json> from_backup;
    if (options_.modifiers != nullptr) from_backup = item;
    const AdditionalItems additional_items = additional_items_of(resource, item, original_ns);
    const bool restore_status = item.contains("status") && should_restore_status(spec_, resource, item);

    if (resource == "persistentvolumes") {
      // No volume snapshots here: a Delete-policy PV is left to dynamic provisioning, others are recreated as-is.
      if (options_.pv_has_pod_volume_backup && options_.pv_has_pod_volume_backup(item)) {
        {
          std::lock_guard lock(dynamic_pvs_mutex_);
          dynamic_pvs_.insert(spooled.name);
        }
        log_.info("Dynamically re-provisioning persistent volume " + id + " because it has a pod volume backup to be "
                  "restored.");
        out_.resources.record(kind_key, "", spooled.name, ItemAction::skipped);
        return;
      }
      if (item.value("/spec/persistentVolumeReclaimPolicy"_json_pointer, std::string()) == "Delete") {
        {
          std::lock_guard lock(dynamic_pvs_mutex_);
          dynamic_pvs_.insert(spooled.name);
        }
        log_.info("skipping " + id + ": its reclaim policy is Delete, it will be provisioned dynamically");
        out_.resources.record(kind_key, "", spooled.name, ItemAction::skipped);
        return;
      }
      reset_volume_binding(item);
      if (item.contains("/spec/claimRef/namespace"_json_pointer))
        item["spec"]["claimRef"]["namespace"] = target_namespace(item["spec"]["claimRef"]["namespace"].get<std::string>());
    }

    std::optional<json> csi_backed_up;  // the CSI restore actions read the backed-up status
    if (csi::has_restore_action(resource)) csi_backed_up = item;
    json saved_status = restore_status ? std::move(item["status"]) : json();
    reset_metadata_and_status(item);
    ActionOutcome action = run_item_actions(resource, item, target_ns, actions_);
    if (csi_backed_up && action.error.empty() && !action.skip)
      action.error = csi::run_restore_action(resource, item, *csi_backed_up, target_ns, csi_, action.skip);
    if (!action.error.empty()) {
      report_.error(target_ns, "error preparing " + id + ": " + action.error);
      out_.resources.record(kind_key, target_ns, spooled.name, ItemAction::failed);
      return;
    }
    if (action.skip) {
      log_.info("skipping " + id + ": a restore item action said so");
      out_.resources.record(kind_key, target_ns, spooled.name, ItemAction::skipped);
      return;
    }
    restore_additional_items(additional_items, target_ns);
    if (resource == "pods" && options_.prepare_pod) options_.prepare_pod(item, original_ns);
    if (resource == "persistentvolumeclaims" && item.contains("/spec/volumeName"_json_pointer)) {
      reset_volume_binding(item);
      std::lock_guard lock(dynamic_pvs_mutex_);
      if (dynamic_pvs_.count(item["spec"]["volumeName"].get<std::string>()) != 0) item["spec"].erase("volumeName");
    }
    if (options_.modifiers != nullptr)
      for (const auto& error : apply_modifiers(*options_.modifiers, resource, *from_backup, original_ns, item))
        report_.error(target_ns, error);
    if (!target_ns.empty()) item["metadata"]["namespace"] = target_ns;
    add_restore_labels(item, spec_.backup_name, restore_.metadata.name);

    auto [plural, group] = split_resource_dir(resource);
    kube::ApiResource api = discovery_.lookup(group, version_of(item.value("apiVersion", "")), plural);
    if (options_.dry_run) {
      report_dry_run(client_, {api, id, kind_key, target_ns, spooled.name, item}, report_);
      return;
    }
    std::string created;
    const std::string body = item.dump();
    for (int attempt = 1;; ++attempt) {
      try {
        created = client_.create_text(api, target_ns, spooled.name, body);
        break;
      } catch (const kube::KubeError& e) {
        if (kube::is_already_exists(e)) {
          json live;
          try {
            live = client_.get(api, target_ns, spooled.name);
          } catch (const kube::KubeError&) {
          }
          // A create that was applied but whose answer was lost, then sent again (by us, or by libcurl on a
          // reused connection) meets itself: the object carries this restore's name label.
          if (created_by_this_restore(live, item, attempt > 1)) {
            created = live.dump();
            break;
          }
          restore_over_existing(client_, {api, id, kind_key, target_ns, spooled.name, item},
                                spec_.existing_resource_policy, live.is_null() ? nullptr : &live, report_);
          return;
        }
        if (attempt < kCreateAttempts && may_succeed_again(e)) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
          continue;
        }
        report_.error(target_ns, "error restoring " + id + ": " + e.what());
        out_.resources.record(kind_key, target_ns, spooled.name, ItemAction::failed);
        return;
      }
    }
    out_.resources.record(kind_key, target_ns, spooled.name, ItemAction::created);
    std::optional<SpooledItem> renamed;  // by an action (the CSI snapshot objects): later calls use the new name
    if (item["metadata"].value("name", spooled.name) != spooled.name) {
      renamed = spooled;
      renamed->name = item["metadata"]["name"].get<std::string>();
    }
    after_create(api, resource, id, target_ns, renamed ? *renamed : spooled, std::move(saved_status), created);
    if (resource == "pods") start_exec_hooks(target_ns, item);
    if (resource == "pods" && options_.pod_created) options_.pod_created(created, original_ns);
  }

  // Velero's pkg/restore/restore.go waitExec: the exec hooks of a newly created pod wait for its containers on
  // a thread of their own (restore/exec_hooks.h); hooks come only from the Restore's spec and the pod's own
  // annotations, and only for pods this restore created.
  void start_exec_hooks(const std::string& target_ns, const json& pod) {
    auto requests = exec_hooks_for(pod, target_ns, spec_.hooks);
    if (requests.empty()) return;
    std::call_once(exec_hooks_once_, [&] {
      hooks::Executor exec = options_.exec;
      if (!exec) exec = [this](const kube::ExecRequest& r) { return kube::exec_in_pod(transport_, r); };
      HookReporter reporter{[this](const std::string& m) { log_.info(m); },
                            [this](const std::string& m) { log_.warning(m); },
                            [this](const std::string& m) { log_.error(m); },
                            [this](const std::string& ns, const std::string& m) { report_.error(ns, m); }};
      exec_hooks_ = std::make_unique<PostRestoreExecHooks>(transport_, std::move(exec), std::move(reporter));
    });
    exec_hooks_->start(pod, std::move(requests));
  }
  std::once_flag exec_hooks_once_;

  // The object carries this restore's name label and was made by this run: met on our own retry, or created
  // no earlier than the second this run started (an earlier restore of the same name, deleted and created
  // again, made its objects before).
  bool created_by_this_restore(const json& live, const json& desired, bool after_our_retry) const {
    const char* label = "velero.io/restore-name";
    if (!live.is_object() || !live.contains("metadata") || !live["metadata"].contains("labels")) return false;
    const json& labels = live["metadata"]["labels"];
    const json& wanted = desired["metadata"]["labels"];
    if (!labels.contains(label) || !wanted.contains(label) || labels[label] != wanted[label]) return false;
    return after_our_retry || live["metadata"].value("creationTimestamp", "") >= started_at_;
  }

  static bool can_be_additional(const std::string& resource) {
    return resource == "persistentvolumeclaims" || resource == "persistentvolumes" ||
           resource == "priorityclasses.scheduling.k8s.io" || resource == "volumesnapshotcontents.snapshot.storage.k8s.io";
  }
  static std::string item_key(const std::string& resource, const std::string& ns, const std::string& name) {
    return resource + "/" + ns + "/" + name;
  }

  // The additional items of the built-in actions: a pod's PVCs (add-pvc-from-pod) and PriorityClass (pod), a
  // bound PVC's PV (pvc), as resource, original namespace and name, read from the backed-up item.
  using AdditionalItems = std::vector<std::tuple<std::string, std::string, std::string>>;
  static AdditionalItems additional_items_of(const std::string& resource, const json& from_backup,
                                             const std::string& original_ns) {
    AdditionalItems wanted;
    if (resource == "pods") {
      for (const auto& volume : from_backup.value("/spec/volumes"_json_pointer, json::array()))
        if (volume.contains("/persistentVolumeClaim/claimName"_json_pointer))
          wanted.emplace_back("persistentvolumeclaims", original_ns,
                              volume["persistentVolumeClaim"]["claimName"].get<std::string>());
      std::string priority_class = from_backup.value("/spec/priorityClassName"_json_pointer, std::string());
      if (!priority_class.empty()) wanted.emplace_back("priorityclasses.scheduling.k8s.io", "", priority_class);
    } else if (resource == "persistentvolumeclaims") {
      std::string volume = from_backup.value("/spec/volumeName"_json_pointer, std::string());
      if (!volume.empty() && from_backup.value("/status/phase"_json_pointer, std::string()) == "Bound")
        wanted.emplace_back("persistentvolumes", "", volume);
    } else if (resource == "volumesnapshots.snapshot.storage.k8s.io") {  // the CSI action: its content
      std::string content = from_backup.value("/status/boundVolumeSnapshotContentName"_json_pointer, std::string());
      if (!content.empty()) wanted.emplace_back("volumesnapshotcontents.snapshot.storage.k8s.io", "", content);
    }
    return wanted;
  }

  // Restored from the backup before the item itself; missing from the backup → warning.
  void restore_additional_items(const AdditionalItems& wanted, const std::string& target_ns) {
    for (const auto& [additional, ns, name] : wanted) {
      auto found = additional_candidates_.find(item_key(additional, ns, name));
      if (found == additional_candidates_.end()) {
        report_.warning(target_ns, "additional item " + resource_id(additional, ns, name) + " is not in the backup");
        continue;
      }
      restore_item(additional, spool_.read_at(additional, found->second), true);
    }
  }

  // `saved_status`: the backed-up status when it is to be restored (Velero's restore.go determineRestoreStatus), else null.
  void after_create(const kube::ApiResource& api, const std::string& resource, const std::string& id,
                    const std::string& target_ns, const SpooledItem& spooled, json saved_status,
                    const std::string& created_text) {
    if (!saved_status.is_null()) {
      json created = json::parse(created_text, nullptr, false);
      for (int attempt = 0; created.is_object(); ++attempt) {
        try {
          created["status"] = saved_status;
          created = client_.update(api, target_ns, created, {}, "status");
          break;
        } catch (const kube::KubeError& e) {
          if (kube::is_conflict(e) && attempt < 3) {
            created = client_.get(api, target_ns, spooled.name);
            continue;
          }
          report_.warning(target_ns, "could not restore status of " + id + ": " + e.what());
          break;
        }
      }
    }
    // Velero's restore.go restoreItem, compared as text: a server adds its own entry on create, so they differ unless it kept them as sent
    // (a reordering of the same entries costs one needless patch).
    const std::string backed_up_fields = managed_fields_text(spooled.json);
    if (!backed_up_fields.empty() && backed_up_fields != "[]" && managed_fields_text(created_text) != backed_up_fields) {
      try {
        // Setting one value: sent again after a 5xx or a lost connection it changes nothing more (the fault
        // suite's seed 101: "could not restore managedFields of configmaps/r-101/cm-12: Empty reply from server").
        for (int attempt = 1;; ++attempt) {
          try {
            client_.patch(api, target_ns, spooled.name, kube::PatchType::Merge,
                          R"({"metadata":{"managedFields":)" + backed_up_fields + "}}");
            break;
          } catch (const kube::KubeError& e) {
            if (attempt >= kCreateAttempts || !may_succeed_again(e)) throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
          }
        }
      } catch (const kube::KubeError& e) {
        if (kube::is_not_found(e))
          report_.warning(target_ns, "could not restore managedFields of " + id + ": " + e.what());
        else
          report_.error(target_ns, "could not restore managedFields of " + id + ": " + e.what());
      }
    }
    if (resource == kCrdResource) {
      crds_changed_ = true;
      wait_crd_ready(api, id, spooled.name);
    }
  }

  void wait_crd_ready(const kube::ApiResource& api, const std::string& id, const std::string& name) {
    auto deadline = std::chrono::steady_clock::now() + options_.resource_timeout;
    for (;;) {
      try {
        if (crd_ready(client_.get(api, "", name))) return;
      } catch (const kube::KubeError& e) {
        if (!kube::is_not_found(e)) {
          report_.error("", "error waiting for " + id + ": " + e.what());
          return;
        }
      }
      if (std::chrono::steady_clock::now() > deadline) {
        report_.error("", "CRD " + name + " is not available to use for custom resources");
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  const api::Restore& restore_;
  const api::RestoreSpec& spec_;
  kube::DynamicClient client_;
  kube::Transport& transport_;
  kube::Discovery& discovery_;
  RestoreLog& log_;
  const EngineOptions& options_;
  RestoreOutcome& out_;
  Reporter report_{log_, out_};
  Spool spool_;
  const std::string started_at_;  // RFC 3339, seconds: compared with the creationTimestamp of what we meet
  WorkerPool pool_{options_.workers, static_cast<size_t>(std::max(1, options_.workers)) * 4};

  IncludesExcludes resource_filter_, namespace_filter_;
  ActionContext actions_;
  std::map<std::string, std::string> backed_up_namespaces_;  // original name → Namespace JSON
  NamespaceEnsurer namespaces_{client_, discovery_, options_, report_, backed_up_namespaces_};
  std::set<std::string> namespaces_in_backup_;                // of the namespaced items
  // item_key → spool offset of PVCs, PVs, PriorityClasses: their JSON stays on disk (34 MiB at 300k objects).
  std::map<std::string, long> additional_candidates_;
  csi::RestoreContext csi_;
  std::map<std::string, SourceVersions> source_versions_;     // resource directory → its version directories
  std::mutex handled_mutex_;
  std::set<std::string> handled_;  // item_keys of those already processed
  std::mutex service_accounts_mutex_, dynamic_pvs_mutex_;
  std::map<std::string, std::vector<std::string>> service_accounts_;
  std::set<std::string> dynamic_pvs_;
  std::atomic<int> processed_{0};
  std::string current_tier_;
  int tier_total_ = 0;
  std::atomic<int> tier_done_{0};
  int total_estimate_ = 0;
  std::atomic<bool> crds_changed_{false};
  std::unique_ptr<PostRestoreExecHooks> exec_hooks_;  // declared last: its destructor waits for the hooks first
};

}  // namespace

void run_restore(const api::Restore& restore, const archive::ByteSource& tarball, kube::Transport& transport,
                 kube::Discovery& discovery, RestoreLog& log, const EngineOptions& options, RestoreOutcome& outcome) {
  Run run(restore, transport, discovery, log, options, outcome);
  run.execute(tarball);
}

int remove_abandoned_spools(const std::string& spool_dir) {
  return remove_abandoned(spool_dir.empty() ? fs::temp_directory_path().string() : spool_dir, kSpoolPrefix);
}

std::string to_string(DryRunVerdict verdict) {
  switch (verdict) {
    case DryRunVerdict::would_create: return "would create";
    case DryRunVerdict::identical: return "skipped, identical";
    case DryRunVerdict::differs: return "differs";
  }
  return "";
}

}  // namespace arca::restore
