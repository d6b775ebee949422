#include "api/validation.h"

#include "util/cron.h"
#include "util/includes_excludes.h"

namespace arca::api {
namespace {

void append_prefixed(std::vector<std::string>& errors, const std::string& prefix, const std::vector<std::string>& more) {
  for (const auto& e : more) errors.push_back(prefix + e);
}

void validate_selector(std::vector<std::string>& errors, const std::string& what, const LabelSelector& selector) {
  append_prefixed(errors, "Invalid " + what + ": ", validate_label_selector(selector));
}

void validate_selectors(std::vector<std::string>& errors, const std::optional<LabelSelector>& label_selector,
                        const std::vector<LabelSelector>& or_label_selectors, const char* object) {
  if (label_selector && !or_label_selectors.empty())
    errors.push_back(std::string("encountered labelSelector as well as orLabelSelectors in ") + object +
                     " spec, only one can be specified");
  if (label_selector) validate_selector(errors, "labelSelector", *label_selector);
  for (size_t i = 0; i < or_label_selectors.size(); ++i)
    validate_selector(errors, "orLabelSelectors[" + std::to_string(i) + "]", or_label_selectors[i]);
}

}  // namespace

bool uses_old_resource_filters(const BackupSpec& spec) {
  return !spec.included_resources.empty() || !spec.excluded_resources.empty() ||
         spec.include_cluster_resources.has_value();
}

bool uses_new_resource_filters(const BackupSpec& spec) {
  return !spec.included_cluster_scoped_resources.empty() || !spec.excluded_cluster_scoped_resources.empty() ||
         !spec.included_namespace_scoped_resources.empty() || !spec.excluded_namespace_scoped_resources.empty();
}

std::vector<std::string> validate_backup_spec(const BackupSpec& spec) {
  std::vector<std::string> errors;
  // Same order as Velero's prepareBackupRequest, so status.validationErrors read the same.
  if (uses_old_resource_filters(spec) && uses_new_resource_filters(spec)) {
    errors.push_back(
        "include-resources, exclude-resources and include-cluster-resources are old filter parameters.\n"
        "include-cluster-scoped-resources, exclude-cluster-scoped-resources, include-namespace-scoped-resources and "
        "exclude-namespace-scoped-resources are new filter parameters.\n"
        "They cannot be used together");
  }
  append_prefixed(errors, "Invalid included/excluded resource lists: ",
                  validate_includes_excludes(spec.included_resources, spec.excluded_resources));
  append_prefixed(errors, "Invalid cluster-scoped included/excluded resource lists: ",
                  validate_scoped_includes_excludes(spec.included_cluster_scoped_resources,
                                                    spec.excluded_cluster_scoped_resources));
  append_prefixed(errors, "Invalid namespace-scoped included/excluded resource lists: ",
                  validate_scoped_includes_excludes(spec.included_namespace_scoped_resources,
                                                    spec.excluded_namespace_scoped_resources));
  append_prefixed(errors, "Invalid included/excluded namespace lists: ",
                  validate_namespace_includes_excludes(spec.included_namespaces, spec.excluded_namespaces));
  validate_selectors(errors, spec.label_selector, spec.or_label_selectors, "backup");
  if (!spec.backup_type.empty() && spec.backup_type != "Full" && spec.backup_type != "Incremental")
    errors.push_back("invalid backupType \"" + spec.backup_type + "\": must be Full, Incremental or empty");
  for (const auto& hook : spec.hooks.resources) {
    const std::string where = "hook \"" + hook.name + "\": ";
    if (hook.name.empty()) errors.push_back("backup hook spec is missing a name");
    append_prefixed(errors, where + "Invalid included/excluded namespace lists: ",
                    validate_namespace_includes_excludes(hook.included_namespaces, hook.excluded_namespaces));
    append_prefixed(errors, where + "Invalid included/excluded resource lists: ",
                    validate_includes_excludes(hook.included_resources, hook.excluded_resources));
    if (hook.label_selector) validate_selector(errors, where + "labelSelector", *hook.label_selector);
    for (const auto* hooks : {&hook.pre, &hook.post}) {
      for (const auto& h : *hooks) {
        if (!h.exec || h.exec->command.empty()) errors.push_back(where + "exec hook needs a non-empty command");
      }
    }
  }
  return errors;
}

std::vector<std::string> validate_restore_spec(const RestoreSpec& spec) {
  std::vector<std::string> errors;
  if (spec.backup_name.empty() == spec.schedule_name.empty())
    errors.push_back("Either a backup or schedule must be specified as a source for the restore, but not both");
  append_prefixed(errors, "Invalid included/excluded resource lists: ",
                  validate_includes_excludes(spec.included_resources, spec.excluded_resources));
  append_prefixed(errors, "Invalid included/excluded namespace lists: ",
                  validate_namespace_includes_excludes(spec.included_namespaces, spec.excluded_namespaces));
  if (!spec.existing_resource_policy.empty() && spec.existing_resource_policy != "none" &&
      spec.existing_resource_policy != "update")
    errors.push_back("Invalid existing resource policy \"" + spec.existing_resource_policy +
                     "\": only \"none\" and \"update\" are supported");
  validate_selectors(errors, spec.label_selector, spec.or_label_selectors, "restore");
  if (spec.restore_status)
    append_prefixed(errors, "Invalid included/excluded restoreStatus resource lists: ",
                    validate_includes_excludes(spec.restore_status->included_resources,
                                               spec.restore_status->excluded_resources));
  if (spec.uploader_config && spec.uploader_config->parallel_files_download < 0)
    errors.push_back("uploaderConfig.parallelFilesDownload must not be negative");
  return errors;
}

std::vector<std::string> validate_schedule(const Schedule& schedule) {
  std::vector<std::string> errors;
  if (schedule.spec.schedule.empty()) {
    errors.push_back("Schedule must be a non-empty valid Cron expression");
  } else {
    try {
      parse_cron(schedule.spec.schedule);
    } catch (const InvalidCron& e) {
      errors.push_back(e.what());
    }
  }
  auto template_errors = validate_backup_spec(schedule.spec.backup_template);
  errors.insert(errors.end(), template_errors.begin(), template_errors.end());
  return errors;
}

std::vector<std::string> validate_backup_storage_location(const BackupStorageLocationSpec& spec) {
  std::vector<std::string> errors;
  if (spec.provider.empty()) errors.push_back("provider must be specified");
  const std::string& bucket = spec.object_storage.bucket;
  if (bucket.empty()) errors.push_back("objectStorage.bucket must be specified");
  // Velero trims surrounding slashes and rejects any other '/' unless the bucket is an S3 access point ARN.
  std::string trimmed = bucket;
  while (!trimmed.empty() && trimmed.front() == '/') trimmed.erase(trimmed.begin());
  while (!trimmed.empty() && trimmed.back() == '/') trimmed.pop_back();
  if (trimmed.find('/') != std::string::npos && trimmed.rfind("arn:aws:s3:", 0) != 0)
    errors.push_back("bucket \"" + bucket + "\" must not contain a '/' (put sub-paths in objectStorage.prefix)");
  if (!spec.object_storage.ca_cert.empty() && spec.object_storage.ca_cert_ref)
    errors.push_back("cannot specify both caCert and caCertRef in objectStorage");
  return errors;
}

}  // namespace arca::api
