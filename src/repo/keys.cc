// restic's key management (cmd/restic/cmd_key.go): key files under keys/, named by the SHA-256 of their JSON,
// each wrapping the master key with a password through scrypt.
#include <algorithm>

#include "repo/repo_impl.h"

namespace arca::repo {

std::vector<KeyInfo> list_keys(Repository& repo) {
  auto& impl = repo.impl();
  std::vector<KeyInfo> out;
  for (const auto& file : impl.backend->list("keys")) {
    KeyInfo info;
    info.id = file.name;
    info.current = file.name == impl.key_name;
    try {
      KeyFile kf = parse_key_file(impl.backend->load("keys/" + file.name));
      info.username = kf.username, info.hostname = kf.hostname, info.created = kf.created;
    } catch (const std::exception&) {
      // Listed still: an unreadable key file is something to see (and remove).
    }
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const KeyInfo& a, const KeyInfo& b) {
    return a.created != b.created ? a.created < b.created : a.id < b.id;
  });
  return out;
}

std::string add_key(Repository& repo, const std::string& new_password, const std::string& user,
                    const std::string& host) {
  if (new_password.empty()) throw std::invalid_argument("an empty password is not allowed");
  auto& impl = repo.impl();
  // restic's cmd_key_add.go locks the repository (not exclusively) first: no key appears during a prune.
  auto lock = impl.lock(false, std::chrono::seconds(0));
  KeyFile kf;
  kf.created = format_time(Time::now());
  kf.username = user.empty() ? username() : user;
  kf.hostname = host.empty() ? hostname() : host;
  kf.salt.resize(64);
  random_bytes(kf.salt.data(), kf.salt.size());
  Key derived = derive_key(new_password, kf.salt, kf.n, kf.r, kf.p);
  kf.data = encrypt(derived, master_key_json(impl.key));
  std::string json = key_file_json(kf);
  std::string id = sha256(json).hex();
  impl.backend->save("keys/" + id, json);
  return id;
}

void remove_key(Repository& repo, const std::string& id) {
  auto& impl = repo.impl();
  if (id.empty()) throw std::invalid_argument("no key ID given");
  // restic's cmd_key_remove.go locks exclusively: a key does not go while another process uses the repository.
  auto lock = impl.lock(true, std::chrono::seconds(0));
  std::vector<std::string> matches;
  for (const auto& file : impl.backend->list("keys"))
    if (file.name.starts_with(id)) matches.push_back(file.name);
  if (matches.empty()) throw std::runtime_error("no key " + id + " in repository " + impl.backend->describe());
  if (matches.size() > 1)
    throw std::runtime_error("key ID prefix " + id + " is ambiguous in repository " + impl.backend->describe());
  if (matches[0] == impl.key_name)
    throw std::runtime_error("refusing to remove key " + matches[0].substr(0, 8) +
                             ", currently used to access the repository (open it with another key's password)");
  impl.backend->remove("keys/" + matches[0]);
}

}  // namespace arca::repo
