// `arca install` and `arca uninstall` (Velero's pkg/cmd/cli/install/install.go): the resources come from install/resources.h.
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/day2_commands.h"
#include "cli/output.h"
#include "install/resources.h"
#include "kube/dynamic.h"
#include "kube/errors.h"

namespace arca::cli {
namespace {

using namespace std::chrono_literals;

kube::ApiResource resource_of(Session& s, const nlohmann::json& object) {
  std::string api_version = object["apiVersion"], kind = object["kind"];
  auto slash = api_version.find('/');
  std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  std::string version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
  static const std::map<std::string, std::string> plural = {
      {"Namespace", "namespaces"}, {"CustomResourceDefinition", "customresourcedefinitions"},
      {"ServiceAccount", "serviceaccounts"}, {"ClusterRoleBinding", "clusterrolebindings"},
      {"Secret", "secrets"}, {"BackupStorageLocation", "backupstoragelocations"},
      {"VolumeSnapshotLocation", "volumesnapshotlocations"}, {"Deployment", "deployments"}};
  return s.discovery().lookup(group, version, plural.at(kind));
}

// Creates, or leaves what exists alone (as Velero's install does: "already exists, proceeding").
void create_or_keep(Session& s, const nlohmann::json& object, std::ostream& out) {
  std::string kind = object["kind"], name = object["metadata"]["name"];
  std::string ns = object["metadata"].value("namespace", "");
  try {
    kube::DynamicClient(s.transport()).create(resource_of(s, object), ns, object);
    out << kind << "/" << name << ": created\n";
  } catch (const kube::KubeError& e) {
    if (!kube::is_already_exists(e)) throw;
    out << kind << "/" << name << ": already exists, proceeding\n";
  }
}

}  // namespace

int install(Session& s, const InstallCommandOptions& o, std::ostream& out) {
  install::InstallOptions options = o.resources;
  options.namespace_name = s.ns();
  if (!o.secret_file.empty()) {
    std::ifstream in(o.secret_file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read --secret-file " + o.secret_file);
    std::ostringstream data;
    data << in.rdbuf();
    options.secret_data = data.str();
    if (options.secret_data.empty()) throw std::invalid_argument("--secret-file " + o.secret_file + " is empty");
  }
  install::validate(options);
  auto objects = install::install_resources(options);
  if (!o.output.empty()) {
    if (o.output != "json" && o.output != "yaml")
      throw std::invalid_argument("invalid output format \"" + o.output + "\"; valid values are 'json' and 'yaml'");
    out << format_objects(objects, o.output);
    if (o.dry_run) return 0;
  } else if (o.dry_run) {
    return 0;
  }

  // The namespace, then the CRDs (waiting until discovery serves them), then everything else.
  create_or_keep(s, objects.front(), out);
  install_crds(s, out);
  for (const auto& object : objects)
    if (object["kind"] != "Namespace" && object["kind"] != "CustomResourceDefinition") create_or_keep(s, object, out);
  // The Deployment keeps Velero's name (for compatibility); the message names the product the user ran.
  out << "arca is installed. Use 'kubectl logs deployment/velero -n " << s.ns() << "' to view the server's status.\n";
  return 0;
}

int uninstall(Session& s, bool force, std::ostream& out) {
  if (!force) {
    for (;;) {
      out << "You are about to uninstall arca.\nAre you sure you want to continue (Y/N)? ";
      out.flush();
      std::string answer;
      if (!std::getline(std::cin, answer) || answer == "n" || answer == "N") {
        out << "Uninstall cancelled\n";
        return 0;
      }
      if (answer == "y" || answer == "Y") break;
    }
  }
  kube::DynamicClient client(s.transport());
  auto remove = [&](const kube::ApiResource& resource, const std::string& ns, const std::string& name) {
    try {
      client.remove(resource, ns, name);
      out << resource.kind << "/" << name << ": deleted\n";
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) throw;
    }
  };
  auto namespaces = s.core("namespaces");
  remove(namespaces, "", s.ns());
  remove(s.discovery().lookup("rbac.authorization.k8s.io", "v1", "clusterrolebindings"), "",
         install::cluster_role_binding_name(s.ns()));
  auto crds = s.discovery().lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  kube::ListOptions velero_crds;
  velero_crds.label_selector = "component=velero";
  std::vector<std::string> names;
  client.list(crds, "", velero_crds, [&](const kube::ListItem& item) { names.emplace_back(item.name); });
  for (const auto& name : names) remove(crds, "", name);
  for (int i = 0; i < 600; ++i) {  // the namespace goes once its contents are deleted
    try {
      client.get(namespaces, "", s.ns());
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) throw;
      out << "arca uninstalled.\n";
      return 0;
    }
    std::this_thread::sleep_for(100ms);
  }
  throw std::runtime_error("namespace " + s.ns() + " is still terminating after 60s");
}

}  // namespace arca::cli
