#include "controller/repositories.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ostream>
#include <thread>

#include "controller/locations.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "persistence/layout.h"
#include "repo/backend.h"
#include "store/object_store.h"
#include "util/base64.h"
#include "util/names.h"

namespace arca::controller {
namespace {

using namespace std::chrono_literals;

std::string random_password() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("cannot generate a repository password");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string read_password(const nlohmann::json& secret) {
  const auto& data = secret.value("data", nlohmann::json::object());
  if (!data.contains(kRepoPasswordKey) || !data[kRepoPasswordKey].is_string())
    throw std::runtime_error(std::string("secret ") + kRepoCredentialsSecret + " has no key " + kRepoPasswordKey);
  auto decoded = base64_decode(data[kRepoPasswordKey].get<std::string>());
  if (!decoded)
    throw std::runtime_error(std::string("secret ") + kRepoCredentialsSecret + " key " + kRepoPasswordKey +
                             " is not valid base64");
  return *decoded;
}

std::string trim_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  while (!s.empty() && s.front() == '/') s.erase(0, 1);
  return s;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    std::string t = trim_slashes(p);
    if (t.empty()) continue;
    out += (out.empty() ? "" : "/") + t;
  }
  return out;
}

}  // namespace

std::string ensure_repository_password(kube::Transport& transport, const kube::ApiResource& secrets,
                                       const std::string& ns) {
  kube::DynamicClient client(transport);
  for (int attempt = 0; attempt < 3; ++attempt) {
    try {
      return read_password(client.get(secrets, ns, kRepoCredentialsSecret));
    } catch (const kube::KubeError& e) {
      if (!kube::is_not_found(e)) throw;
    }
    nlohmann::json secret = {{"apiVersion", "v1"},
                             {"kind", "Secret"},
                             {"metadata", {{"name", kRepoCredentialsSecret}, {"namespace", ns}}},
                             {"type", "Opaque"},
                             {"data", {{kRepoPasswordKey, base64_encode(random_password())}}}};
    try {
      client.create(secrets, ns, secret);
      spdlog::info("created secret {}/{} with a new repository password", ns, kRepoCredentialsSecret);
    } catch (const kube::KubeError& e) {
      if (!kube::is_already_exists(e)) throw;  // another process created it first: read theirs
    }
  }
  throw std::runtime_error(std::string("cannot read or create secret ") + kRepoCredentialsSecret);
}

std::string restic_identifier(const api::BackupStorageLocation& location, const std::string& volume_namespace) {
  const auto& config = location.spec.config;
  auto it = config.find("resticRepoPrefix");
  if (it != config.end() && !it->second.empty()) return trim_slashes(it->second) + "/" + volume_namespace;
  const std::string& bucket = location.spec.object_storage.bucket;
  std::string restic_dir = join({location.spec.object_storage.prefix, "restic"});
  std::string provider = location.spec.provider;
  if (provider.rfind("velero.io/", 0) == 0) provider = provider.substr(10);
  std::string repo_path = join({restic_dir, volume_namespace});
  if (provider == "aws") {
    auto url = config.find("s3Url");
    std::string host = url != config.end() && !url->second.empty() ? url->second : "s3.amazonaws.com";
    while (!host.empty() && host.back() == '/') host.pop_back();
    return "s3:" + host + "/" + join({bucket, repo_path});
  }
  if (provider == "azure") return "azure:" + bucket + ":/" + repo_path;
  if (provider == "gcp") return "gs:" + bucket + ":/" + repo_path;
  auto root = config.find("root");
  return (root != config.end() ? root->second : std::string()) + "/" + join({bucket, repo_path});
}

repo::Repository open_volume_repository(kube::Transport& transport, const kube::ApiResource& secrets,
                                        const api::BackupStorageLocation& location,
                                        const std::string& volume_namespace, const std::string& password,
                                        bool init_if_missing) {
  std::shared_ptr<OpenLocation> open = open_location(location, transport, secrets);
  std::shared_ptr<store::ObjectStore> store(open, &open->store());  // keeps the location (and its credentials) open
  std::string prefix = repo::velero_repo_prefix(open->layout().prefix, volume_namespace);
  auto backend = [&] { return repo::store_backend(store, prefix); };
  std::string where = "repository of namespace " + volume_namespace + " in backup storage location " +
                      location.metadata.name;
  bool exists = false;
  try {
    exists = backend()->exists("config");
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot reach the " + where + ": " + e.what());
  }
  if (!exists) {
    if (!init_if_missing) throw std::runtime_error("the " + where + " does not exist");
    try {
      return repo::init_repository(backend(), password);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot create the " + where + ": " + e.what());
    }
  }
  try {
    return repo::open_repository(backend(), password);
  } catch (const repo::WrongPassword&) {
    if (password == kVeleroStaticPassword) throw std::runtime_error("wrong password for the " + where);
    try {
      return repo::open_repository(backend(), kVeleroStaticPassword);
    } catch (const repo::WrongPassword&) {
      throw std::runtime_error("wrong password for the " + where + " (secret " + kRepoCredentialsSecret + ")");
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot open the " + where + ": " + e.what());
  }
}

std::vector<api::BackupRepository> find_backup_repositories(kube::Transport& transport,
                                                            const kube::ApiResource& repositories,
                                                            const std::string& ns, const std::string& volume_namespace,
                                                            const std::string& location) {
  kube::ListOptions options;
  options.label_selector = std::string(kVolumeNamespaceLabel) + "=" + valid_label_value(volume_namespace) + "," +
                           kStorageLocationLabel + "=" + valid_label_value(location) + "," + kRepositoryTypeLabel +
                           "=restic";
  std::vector<api::BackupRepository> out;
  kube::DynamicClient(transport).list(repositories, ns, options, [&](const kube::ListItem& item) {
    auto r = item.parse().get<api::BackupRepository>();
    // Labels may be truncated names: the spec says which it really is.
    if (r.spec.volume_namespace == volume_namespace && r.spec.backup_storage_location == location)
      out.push_back(std::move(r));
  });
  std::sort(out.begin(), out.end(), [](const api::BackupRepository& a, const api::BackupRepository& b) {
    auto at = a.metadata.creation_timestamp.value_or(Timestamp{}), bt = b.metadata.creation_timestamp.value_or(Timestamp{});
    return at != bt ? at < bt : a.metadata.name < b.metadata.name;
  });
  return out;
}

api::BackupRepository ensure_backup_repository(kube::Transport& transport, const RepositoryResources& resources,
                                               const std::string& ns, const std::string& volume_namespace,
                                               const std::string& location, std::chrono::milliseconds timeout) {
  auto found = find_backup_repositories(transport, resources.repositories, ns, volume_namespace, location);
  std::string name;
  if (!found.empty()) {
    name = found.front().metadata.name;
  } else {
    api::BackupRepository r;
    r.metadata.generate_name = volume_namespace + "-" + location + "-restic-";
    r.metadata.namespace_ = ns;
    r.metadata.labels[kVolumeNamespaceLabel] = valid_label_value(volume_namespace);
    r.metadata.labels[kStorageLocationLabel] = valid_label_value(location);
    r.metadata.labels[kRepositoryTypeLabel] = "restic";
    r.spec.volume_namespace = volume_namespace;
    r.spec.backup_storage_location = location;
    r.spec.repository_type = api::RepositoryType::restic;
    nlohmann::json body = r;
    body["apiVersion"] = "velero.io/v1";
    body["kind"] = "BackupRepository";
    name = kube::DynamicClient(transport).create(resources.repositories, ns, body)["metadata"]["name"];
    // Two node agents (or an agent and the server) may have created one at the same moment: everyone settles on
    // the oldest (then first by name), and the others' copies go.
    auto all = find_backup_repositories(transport, resources.repositories, ns, volume_namespace, location);
    if (!all.empty() && all.front().metadata.name != name) {
      try {
        kube::DynamicClient(transport).remove(resources.repositories, ns, name);
      } catch (const kube::KubeError& e) {
        if (!kube::is_not_found(e)) throw;
      }
      name = all.front().metadata.name;
    } else {
      spdlog::info("created backup repository {} for namespace {} in location {}", name, volume_namespace, location);
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto r = kube::DynamicClient(transport).get(resources.repositories, ns, name).get<api::BackupRepository>();
    if (r.status.phase == api::BackupRepositoryPhase::Ready) return r;
    if (r.status.phase == api::BackupRepositoryPhase::NotReady)
      throw std::runtime_error("backup repository " + name + " is not ready: " + r.status.message);
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("timed out waiting for backup repository " + name +
                               " to become ready (is arca server running?)");
    std::this_thread::sleep_for(200ms);
  }
}

std::vector<std::string> forget_pod_volume_snapshots(kube::Transport& transport, kube::Discovery& discovery,
                                                     const kube::ApiResource& secrets, const std::string& ns,
                                                     const api::Backup& backup) {
  std::vector<std::string> errors;
  kube::DynamicClient client(transport);
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> by_repo;  // (bsl, volume ns) → IDs
  try {
    auto pvbs = discovery.lookup("velero.io", "v1", "podvolumebackups");
    kube::ListOptions options;
    options.label_selector = "velero.io/backup-name=" + valid_label_value(backup.metadata.name);
    client.list(pvbs, ns, options, [&](const kube::ListItem& item) {
      auto pvb = item.parse().get<api::PodVolumeBackup>();
      if (pvb.status.phase != api::VolumeOperationPhase::Completed || pvb.status.snapshot_id.empty()) return;
      if (pvb.spec.uploader_type == api::RepositoryType::kopia) return;  // never written by arca
      by_repo[{pvb.spec.backup_storage_location, pvb.spec.pod.namespace_}].push_back(pvb.status.snapshot_id);
    });
  } catch (const std::exception& e) {
    return {std::string("error listing the backup's pod volume backups: ") + e.what()};
  }
  // The data mover's snapshots live in the same repositories (Velero's backup deletion deletes the moved snapshots
  // and the backup's DataUploads).
  std::vector<std::string> data_uploads;
  kube::ApiResource dus;
  try {
    dus = discovery.lookup("velero.io", "v2alpha1", "datauploads");
    kube::ListOptions options;
    options.label_selector = "velero.io/backup-name=" + valid_label_value(backup.metadata.name);
    client.list(dus, ns, options, [&](const kube::ListItem& item) {
      auto du = item.parse().get<api::DataUpload>();
      data_uploads.push_back(du.metadata.name);
      if (du.status.phase != api::VolumeOperationPhase::Completed || du.status.snapshot_id.empty()) return;
      by_repo[{du.spec.backup_storage_location, du.spec.source_namespace}].push_back(du.status.snapshot_id);
    });
  } catch (const std::exception& e) {
    spdlog::warn("backup={} cannot list its DataUploads: {}", backup.metadata.name, e.what());
  }
  auto delete_data_uploads = [&] {
    for (const auto& name : data_uploads) {
      try {
        client.remove(dus, ns, name);
      } catch (const kube::KubeError& e) {
        if (!kube::is_not_found(e)) errors.push_back("error deleting DataUpload " + name + ": " + e.what());
      }
    }
  };
  if (by_repo.empty()) {
    delete_data_uploads();
    return errors;
  }
  std::string password;
  try {
    password = ensure_repository_password(transport, secrets, ns);
  } catch (const std::exception& e) {
    return {std::string("error reading the repository password: ") + e.what()};
  }
  auto locations = discovery.lookup("velero.io", "v1", "backupstoragelocations");
  for (const auto& [key, ids] : by_repo) {
    try {
      auto location = client.get(locations, ns, key.first).get<api::BackupStorageLocation>();
      auto repository = open_volume_repository(transport, secrets, location, key.second, password, false);
      // Snapshots already gone (a repeated deletion, a maintenance) are not errors.
      std::vector<std::string> present;
      for (const auto& s : repo::list_snapshots(repository))
        if (std::find(ids.begin(), ids.end(), s.id) != ids.end()) present.push_back(s.id);
      if (present.empty()) continue;
      repo::ForgetPolicy policy;
      policy.snapshot_ids = present;
      auto result = repo::forget(repository, policy);
      spdlog::info("backup={} forgot {} pod volume snapshot(s) in the repository of namespace {} in location {}",
                   backup.metadata.name, result.removed.size(), key.second, key.first);
    } catch (const std::exception& e) {
      errors.push_back("error forgetting the pod volume snapshots of namespace " + key.second + " in location " +
                       key.first + ": " + e.what());
    }
  }
  if (errors.empty()) delete_data_uploads();
  return errors;
}

size_t rotate_repository_password(kube::Transport& transport, kube::Discovery& discovery, const kube::ApiResource& secrets,
                                  const std::string& ns, std::string new_password, std::ostream& log) {
  kube::DynamicClient client(transport);
  nlohmann::json secret;
  try {
    secret = client.get(secrets, ns, kRepoCredentialsSecret);
  } catch (const kube::KubeError& e) {
    if (kube::is_not_found(e))
      throw std::runtime_error(std::string("no Secret ") + ns + "/" + kRepoCredentialsSecret +
                               ": no repository password to rotate (the server creates it with the first repository)");
    throw;
  }
  const std::string old_password = read_password(secret);
  if (new_password.empty()) new_password = random_password();
  if (new_password == old_password) throw std::invalid_argument("the new password is the current one");

  struct Rotating {
    std::string name;
    api::BackupStorageLocation location;
    std::string volume_namespace, new_key, old_key;
  };
  std::vector<Rotating> repos;
  auto locations = discovery.lookup("velero.io", "v1", "backupstoragelocations");
  client.list(discovery.lookup("velero.io", "v1", "backuprepositories"), ns, {}, [&](const kube::ListItem& item) {
    auto r = item.parse().get<api::BackupRepository>();
    repos.push_back({r.metadata.name, {}, r.spec.volume_namespace, "", ""});
    repos.back().location = client.get(locations, ns, r.spec.backup_storage_location).get<api::BackupStorageLocation>();
  });
  // (1) The new key everywhere, or nowhere.
  auto undo = [&] {
    for (auto& r : repos) {
      if (r.new_key.empty()) continue;
      try {
        auto repository = open_volume_repository(transport, secrets, r.location, r.volume_namespace, old_password, false);
        repo::remove_key(repository, r.new_key);
      } catch (const std::exception& e) {
        log << "repository " << r.name << ": could not remove the new key again: " << e.what() << "\n";
      }
    }
  };
  for (auto& r : repos) {
    try {
      auto repository = open_volume_repository(transport, secrets, r.location, r.volume_namespace, old_password, false);
      for (const auto& key : repo::list_keys(repository))
        if (key.current) r.old_key = key.id;
      r.new_key = repo::add_key(repository, new_password);
    } catch (const std::exception& e) {
      undo();
      throw std::runtime_error("repository " + r.name + ": " + e.what() + " (nothing rotated: the Secret and every "
                               "repository keep the current password)");
    }
    log << "repository " << r.name << ": new key " << r.new_key.substr(0, 8) << " added\n";
  }
  // (2) The Secret: from now on every open uses the new password, which every repository accepts.
  secret["data"][kRepoPasswordKey] = base64_encode(new_password);
  try {
    client.update(secrets, ns, secret);
  } catch (const std::exception& e) {
    undo();
    throw std::runtime_error(std::string("updating Secret ") + kRepoCredentialsSecret + ": " + e.what() +
                             " (the new keys were removed again; nothing rotated)");
  }
  log << "Secret " << ns << "/" << kRepoCredentialsSecret << " updated\n";
  // (3) The old password's keys go; a failure here leaves an extra key, never a repository without one.
  std::vector<std::string> failures;
  for (auto& r : repos) {
    try {
      auto repository = open_volume_repository(transport, secrets, r.location, r.volume_namespace, new_password, false);
      if (!r.old_key.empty()) repo::remove_key(repository, r.old_key);
      log << "repository " << r.name << ": old key " << r.old_key.substr(0, 8) << " removed\n";
    } catch (const std::exception& e) {
      failures.push_back("repository " + r.name + ": the old key could not be removed: " + e.what());
    }
  }
  if (!failures.empty())
    throw std::runtime_error(failures.front() + " (the Secret holds the new password, which opens every repository; "
                             "remove the old key with `arca repo key remove`)");
  return repos.size();
}

}  // namespace arca::controller
