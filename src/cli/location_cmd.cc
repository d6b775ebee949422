// `arca backup-location set|delete` and `arca snapshot-location create|get` (Velero's pkg/cmd/cli/backuplocation; Velero's pkg/cmd/cli).
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/types.h"
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
  if (!o.cacert.empty()) {
    std::ifstream in(o.cacert, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read --cacert " + o.cacert);
    std::ostringstream pem;
    pem << in.rdbuf();
    location.spec.object_storage.ca_cert = store::base64_encode(pem.str());
  }
  client.update(resource, s.ns(), nlohmann::json(location));
  out << "Backup storage location \"" << o.name << "\" configured successfully.\n";
  return 0;
}

int location_delete(Session& s, const std::vector<std::string>& names, bool all, bool confirm, std::ostream& out) {
  if (names.empty() == !all) throw std::invalid_argument("either specify backup storage location names or --all, but not both");
  kube::DynamicClient client(s.transport());
  auto resource = s.velero("backupstoragelocations");
  std::vector<std::string> selected = names;
  if (all) client.list(resource, s.ns(), {}, [&](const kube::ListItem& item) { selected.emplace_back(item.name); });
  if (selected.empty()) {
    out << "No backup-locations found\n";
    return 0;
  }
  if (!confirm) {
    for (;;) {
      out << "Are you sure you want to continue (Y/N)? ";
      out.flush();
      std::string answer;
      if (!std::getline(std::cin, answer) || answer == "n" || answer == "N") return 0;
      if (answer == "y" || answer == "Y") break;
    }
  }
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
  if (!o.output.empty()) {
    out << format_objects({nlohmann::json(l)}, o.output);
    return 0;
  }
  kube::DynamicClient(s.transport()).create(s.velero("volumesnapshotlocations"), s.ns(), nlohmann::json(l));
  out << "Snapshot volume location \"" << o.name << "\" configured successfully.\n";
  return 0;
}

int snapshot_location_get(Session& s, const std::vector<std::string>& names, const std::string& output, std::ostream& out) {
  kube::DynamicClient client(s.transport());
  auto resource = s.velero("volumesnapshotlocations");
  std::vector<nlohmann::json> objects;
  if (!names.empty())
    for (const auto& n : names) objects.push_back(client.get(resource, s.ns(), n));
  else
    client.list(resource, s.ns(), {}, [&](const kube::ListItem& item) { objects.push_back(item.parse()); });
  if (output != "table") {
    out << format_objects(objects, output);
    return 0;
  }
  size_t width = 4;
  for (const auto& o : objects) width = std::max(width, o["metadata"]["name"].get<std::string>().size());
  out << "NAME" << std::string(width - 4 + 3, ' ') << "PROVIDER\n";
  for (const auto& o : objects) {
    std::string name = o["metadata"]["name"];
    out << name << std::string(width - name.size() + 3, ' ') << o["spec"].value("provider", "") << "\n";
  }
  return 0;
}

}  // namespace arca::cli
