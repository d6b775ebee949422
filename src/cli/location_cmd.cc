// `arca backup-location set|delete` and `arca snapshot-location create|get` (Velero's pkg/cmd/cli/backuplocation; Velero's pkg/cmd/cli).
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/types.h"
#include "cli/app.h"
#include "cli/day2_commands.h"
#include "cli/output.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "store/crypto.h"

namespace arca::cli {
namespace {

struct Credential {
  std::string name, key;
};

Credential parse_credential(const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size() || text.find('=', eq + 1) != std::string::npos)
    throw std::invalid_argument("--credential must be of the form SECRET_NAME=KEY");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

}  // namespace

int location_set(Session& s, const LocationSetOptions& o, std::ostream& out) {
  kube::DynamicClient client(s.transport());
  auto resource = s.velero("backupstoragelocations");
  auto location = client.get(resource, s.ns(), o.name).get<api::BackupStorageLocation>();
  if (o.is_default) {
    // One default at a time: the others lose the flag first.
    std::vector<api::BackupStorageLocation> others;
    client.list(resource, s.ns(), {}, [&](const kube::ListItem& item) {
      auto l = item.parse().get<api::BackupStorageLocation>();
      if (l.metadata.name != o.name && l.spec.is_default) others.push_back(l);
    });
    for (auto& l : others) {
      l.spec.is_default = false;
      client.update(resource, s.ns(), nlohmann::json(l));
    }
    location.spec.is_default = true;
  }
  if (!o.credential.empty()) {
    auto c = parse_credential(o.credential);
    location.spec.credential.emplace();
    location.spec.credential->name = c.name;
    location.spec.credential->key = c.key;
  }
  if (!o.cacert.empty()) location.spec.object_storage.ca_cert = store::base64_encode(read_file(o.cacert, "--cacert"));
  client.update(resource, s.ns(), nlohmann::json(location));
  out << "Backup storage location \"" << o.name << "\" configured successfully.\n";
  return 0;
}

int location_delete(Session& s, const std::vector<std::string>& names, bool all, const std::string& selector, bool confirm,
                    std::ostream& out) {
  kube::DynamicClient client(s.transport());
  auto resource = s.velero("backupstoragelocations");
  std::vector<std::string> selected = names;
  kube::ListOptions matching;
  matching.label_selector = selector;
  if (all || !selector.empty())
    client.list(resource, s.ns(), matching, [&](const kube::ListItem& item) { selected.emplace_back(item.name); });
  if (selected.empty()) {
    out << "No backup-locations found\n";
    return 0;
  }
  if (!confirmed(confirm, out)) return 0;
  for (const auto& name : selected) {
    client.remove(resource, s.ns(), name);
    out << "Backup storage location \"" << name << "\" deleted successfully.\n";
    // As Velero: the location's Backups go from the cluster directly; the stored data stays.
    kube::ListOptions of_location;
    of_location.label_selector = "velero.io/storage-location=" + name;
    std::vector<std::string> backups;
    client.list(s.velero("backups"), s.ns(), of_location, [&](const kube::ListItem& item) { backups.emplace_back(item.name); });
    for (const auto& b : backups) client.remove(s.velero("backups"), s.ns(), b);
    if (!backups.empty()) out << "Backups associated with backup storage location \"" << name << "\" deleted successfully.\n";
  }
  return 0;
}

int snapshot_location_create(Session& s, const SnapshotLocationCreateOptions& o, std::ostream& out) {
  if (o.provider.empty()) throw std::invalid_argument("--provider is required");
  api::VolumeSnapshotLocation l;
  l.metadata.name = o.name;
  l.metadata.namespace_ = s.ns();
  l.metadata.labels = o.labels;
  l.spec.provider = o.provider;
  l.spec.config = o.config;
  if (!o.credential.empty()) {
    auto c = parse_credential(o.credential);
    l.spec.credential.emplace();
    l.spec.credential->name = c.name;
    l.spec.credential->key = c.key;
  }
  if (o.output == "table") {
    out << text_table({{"NAME", "PROVIDER"}, {l.metadata.name, l.spec.provider}});
    return 0;
  }
  if (!o.output.empty()) {
    out << format_objects({nlohmann::json(l)}, o.output);
    return 0;
  }
  kube::DynamicClient(s.transport()).create(s.velero("volumesnapshotlocations"), s.ns(), nlohmann::json(l));
  out << "Snapshot volume location \"" << o.name << "\" configured successfully.\n";
  return 0;
}

int snapshot_location_get(Session& s, const std::vector<std::string>& names, const std::string& selector,
                          const OutputFlags& output, std::ostream& out) {
  kube::DynamicClient client(s.transport());
  auto resource = s.velero("volumesnapshotlocations");
  std::vector<nlohmann::json> objects;
  kube::ListOptions options;
  options.label_selector = selector;
  if (!names.empty())
    for (const auto& n : names) objects.push_back(client.get(resource, s.ns(), n));
  else
    client.list(resource, s.ns(), options, [&](const kube::ListItem& item) { objects.push_back(item.parse()); });
  if (output.output != "table") {
    out << format_objects(objects, output.output);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "PROVIDER"}};
  std::vector<std::map<std::string, std::string>> labels;
  for (const auto& o : objects) {
    rows.push_back({o["metadata"].value("name", ""), o["spec"].value("provider", "")});
    labels.push_back(o["metadata"].value("labels", std::map<std::string, std::string>{}));
  }
  add_label_columns(rows, labels, output);
  out << text_table(rows);
  return 0;
}

int snapshot_location_set(Session& s, const std::string& name, const std::string& credential, std::ostream& out) {
  kube::DynamicClient client(s.transport());
  auto resource = s.velero("volumesnapshotlocations");
  auto location = client.get(resource, s.ns(), name).get<api::VolumeSnapshotLocation>();
  if (!credential.empty()) {
    auto c = parse_credential(credential);
    location.spec.credential.emplace();
    location.spec.credential->name = c.name;
    location.spec.credential->key = c.key;
  }
  client.update(resource, s.ns(), nlohmann::json(location));
  out << "Volume snapshot location \"" << name << "\" configured successfully.\n";
  return 0;
}

// ---- the commands (Velero's pkg/cmd/cli/backuplocation/ and snapshotlocation/) ----

void define_location_create(CLI::App* cmd, Cli& cli) {
  struct Flags {
    LocationCreateOptions options;
    std::vector<std::string> config, labels;
  };
  auto& f = cli.make<Flags>();
  auto& o = f.options;
  o.access_mode = "ReadWrite";
  cmd->description("Create a backup storage location");
  cmd->add_option("NAME", o.name, "Location name")->required();
  string_flag(cmd, "--provider", o.provider, "Name of the backup storage provider (e.g. aws, azure, gcp).");
  string_flag(cmd, "--bucket", o.bucket, "Name of the object storage bucket where backups should be stored.");
  string_flag(cmd, "--prefix", o.prefix, "Prefix under which all Velero data should be stored within the bucket. Optional.");
  duration_flag(cmd, "--backup-sync-period", o.backup_sync_period,
                "How often to ensure all Velero backups in object storage exist as Backup API objects in the cluster. "
                "Optional. Set this to `0s` to disable sync. Default: 1 minute.");
  duration_flag(cmd, "--validation-frequency", o.validation_frequency,
                "How often to verify if the backup storage location is valid. Optional. Set this to `0s` to disable "
                "sync. Default 1 minute.");
  map_flag(cmd, "--config", f.config, "Configuration key-value pairs.");
  map_flag(cmd, "--labels", f.labels, "Labels to apply to the backup storage location.");
  string_flag(cmd, "--cacert", o.cacert,
              "File containing a certificate bundle to use when verifying TLS connections to the object store. Optional.");
  string_flag(cmd, "--credential", o.credential,
              "The credential to be used by this location as a key-value pair, where the key is the Kubernetes Secret "
              "name, and the value is the data key name within the Secret. Optional, one value only.")
      ->type_name("mapStringString");
  bool_flag(cmd, "--default", o.is_default, "Sets this new location to be the new default backup storage location. Optional.");
  string_flag(cmd, "--access-mode", o.access_mode, "Access mode for the backup storage location. Valid values are ReadWrite,ReadOnly")
      ->type_name("accessMode");
  add_output_flags(cmd, o.output, "");
  cmd->callback([&f, &cli] {
    if (f.options.provider.empty()) throw std::invalid_argument("--provider is required");
    if (f.options.bucket.empty()) throw std::invalid_argument("--bucket is required");
    f.options.config = parse_map_flag(f.config, "--config");
    f.options.labels = parse_map_flag(f.labels, "--labels");
    cli.run([&f](Session& s) { return location_create(s, f.options, std::cout); });
  });
}

void define_location_get(CLI::App* cmd, Cli& cli) {
  struct Flags {
    std::vector<std::string> names;
    std::string selector;
    bool default_only = false;
    OutputFlags output;
  };
  auto& f = cli.make<Flags>();
  cmd->description("Get backup storage locations");
  cmd->add_option("NAMES", f.names, "Location names");
  selector_flag(cmd, f.selector, "Only show items matching this label selector.");
  bool_flag(cmd, "--default", f.default_only, "Displays the current default backup storage location.");
  add_output_flags(cmd, f.output, "table");
  cmd->callback([&f, &cli] {
    cli.run([&f](Session& s) { return location_get(s, f.names, f.selector, f.default_only, f.output, std::cout); });
  });
}

void define_location_delete(CLI::App* cmd, Cli& cli) {
  auto& f = cli.make<DeleteFlags>();
  cmd->description("Delete backup storage locations");
  add_delete_flags(cmd, f, "backup storage locations");
  cmd->callback([&f, &cli] {
    cli.run([&f](Session& s) {
      check_selection(f);
      return location_delete(s, f.names, f.all, f.selector, f.confirm, std::cout);
    });
  });
}

void define_snapshot_location_create(CLI::App* cmd, Cli& cli) {
  struct Flags {
    SnapshotLocationCreateOptions options;
    std::vector<std::string> config, labels;
    OutputFlags output;
  };
  auto& f = cli.make<Flags>();
  cmd->description("Create a volume snapshot location");
  cmd->add_option("NAME", f.options.name, "Location name")->required();
  string_flag(cmd, "--provider", f.options.provider, "Name of the volume snapshot provider (e.g. aws, azure, gcp).");
  map_flag(cmd, "--config", f.config, "Configuration key-value pairs.");
  map_flag(cmd, "--labels", f.labels, "Labels to apply to the volume snapshot location.");
  string_flag(cmd, "--credential", f.options.credential,
              "The credential to be used by this location as a key-value pair, where the key is the Kubernetes Secret "
              "name, and the value is the data key name within the Secret. Optional, one value only.")
      ->type_name("mapStringString");
  add_output_flags(cmd, f.output, "");
  cmd->callback([&f, &cli] {
    f.options.config = parse_map_flag(f.config, "--config");
    f.options.labels = parse_map_flag(f.labels, "--labels");
    f.options.output = f.output.output;
    if (f.options.output.empty())
      std::cerr << "Warning: volume snapshots are not built in arca yet; the location is stored for Velero "
                   "compatibility and no snapshots are taken with it\n";
    cli.run([&f](Session& s) { return snapshot_location_create(s, f.options, std::cout); });
  });
}

void define_snapshot_location_get(CLI::App* cmd, Cli& cli) {
  struct Flags {
    std::vector<std::string> names;
    std::string selector;
    OutputFlags output;
  };
  auto& f = cli.make<Flags>();
  cmd->description("Get snapshot locations");
  cmd->add_option("NAMES", f.names, "Location names");
  selector_flag(cmd, f.selector, "Only show items matching this label selector.");
  add_output_flags(cmd, f.output, "table");
  cmd->callback([&f, &cli] {
    cli.run([&f](Session& s) { return snapshot_location_get(s, f.names, f.selector, f.output, std::cout); });
  });
}

void add_location_commands(CLI::App& root, Cli& cli) {
  auto* bsl = root.add_subcommand("backup-location", "Work with backup storage locations");
  define_location_create(bsl->add_subcommand("create"), cli);
  define_location_delete(bsl->add_subcommand("delete"), cli);
  define_location_get(bsl->add_subcommand("get"), cli);
  struct SetFlags {
    LocationSetOptions options;
    std::vector<std::string> is_default;
  };
  auto& set = cli.make<SetFlags>();
  auto* set_cmd = bsl->add_subcommand("set", "Set specific features for a backup storage location");
  set_cmd->add_option("NAME", set.options.name, "Location name")->required();
  optional_bool(set_cmd, "--default", set.is_default,
                "Sets this new location to be the new default backup storage location. Optional.");
  string_flag(set_cmd, "--credential", set.options.credential,
              "Sets the credential to be used by this location as a key-value pair, where the key is the Kubernetes "
              "Secret name, and the value is the data key name within the Secret. Optional, one value only.")
      ->type_name("mapStringString");
  string_flag(set_cmd, "--cacert", set.options.cacert,
              "File containing a certificate bundle to use when verifying TLS connections to the object store. Optional.");
  set_cmd->callback([&set, &cli] {
    set.options.is_default = parse_optional_bool(set.is_default, "--default").value_or(false);
    cli.run([&set](Session& s) { return location_set(s, set.options, std::cout); });
  });

  auto* vsl = root.add_subcommand("snapshot-location", "Work with snapshot locations");
  define_snapshot_location_create(vsl->add_subcommand("create"), cli);
  define_snapshot_location_get(vsl->add_subcommand("get"), cli);
  struct VslSet {
    std::string name, credential;
  };
  auto& vset = cli.make<VslSet>();
  auto* vset_cmd = vsl->add_subcommand("set", "Set specific features for a snapshot location");
  vset_cmd->add_option("NAME", vset.name, "Location name")->required();
  string_flag(vset_cmd, "--credential", vset.credential,
              "Sets the credential to be used by this location as a key-value pair, where the key is the Kubernetes "
              "Secret name, and the value is the data key name within the Secret. Optional, one value only.")
      ->type_name("mapStringString");
  vset_cmd->callback([&vset, &cli] {
    cli.run([&vset](Session& s) { return snapshot_location_set(s, vset.name, vset.credential, std::cout); });
  });
}

}  // namespace arca::cli
