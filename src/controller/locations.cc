#include "controller/locations.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>

#include "api/validation.h"
#include "controller/protection.h"
#include "kube/dynamic.h"
#include "persistence/backup_store.h"
#include "store/location.h"
#include "util/base64.h"

#include <spdlog/spdlog.h>

namespace arca::controller {
namespace {

std::string write_private_file(const std::string& content) {
  char path[] = "/tmp/arca-credentials-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("cannot create a temporary credentials file");
  fchmod(fd, 0600);
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write a temporary credentials file");
  return path;
}

// The first time this process finds a location usable: what killed runs left under its backups (S3 multipart
// uploads never completed or aborted; the local driver's temporary files of processes that are gone). A failure
// here is logged and never makes the location unusable.
void clean_abandoned_uploads_once(const api::BackupStorageLocation& location, store::ObjectStore& store,
                                  const persistence::Layout& layout) {
  static std::mutex mutex;
  static std::set<std::string> cleaned;
  {
    std::lock_guard lock(mutex);
    if (!cleaned.insert(location.metadata.namespace_ + "/" + location.metadata.name).second) return;
  }
  try {
    store.remove_abandoned_uploads(persistence::backups_dir(layout));
  } catch (const std::exception& e) {
    spdlog::warn("backup storage location {}: cleaning unfinished uploads under {} failed: {}",
                 location.metadata.name, persistence::backups_dir(layout), e.what());
  }
}

}  // namespace

OpenLocation::OpenLocation(std::unique_ptr<store::ObjectStore> store, persistence::Layout layout,
                           std::string credentials_file)
    : store_(std::move(store)), layout_(std::move(layout)), credentials_file_(std::move(credentials_file)) {}

OpenLocation::~OpenLocation() {
  store_.reset();
  if (!credentials_file_.empty()) std::remove(credentials_file_.c_str());
}

std::unique_ptr<OpenLocation> open_location(const api::BackupStorageLocation& location, kube::Transport& transport,
                                            const kube::ApiResource& secrets) {
  store::LocationConfig config;
  config.provider = location.spec.provider;
  config.bucket = location.spec.object_storage.bucket;
  config.config = store_config(location.spec.config);
  std::string credentials;
  if (location.spec.credential && !location.spec.credential->name.empty()) {
    const auto& ref = *location.spec.credential;
    auto secret = kube::DynamicClient(transport).get(secrets, location.metadata.namespace_, ref.name);
    if (!secret.contains("data") || !secret["data"].contains(ref.key))
      throw std::runtime_error("credential secret " + ref.name + " has no key " + ref.key);
    // Secret data is base64; a value that is not (a hand-edited Secret) is refused with the Secret's name, never
    // decoded around its bad characters into a different key.
    auto decoded = base64_decode(secret["data"][ref.key].get<std::string>());
    if (!decoded)
      throw std::runtime_error("credential secret " + ref.name + " key " + ref.key + " is not valid base64");
    credentials = write_private_file(*decoded);
    config.credentials_file = credentials;
  }
  try {
    return std::make_unique<OpenLocation>(store::open_store(config),
                                          persistence::make_layout(location.spec.object_storage.prefix), credentials);
  } catch (...) {
    if (!credentials.empty()) std::remove(credentials.c_str());
    throw;
  }
}

std::string check_location(const api::BackupStorageLocation& location, kube::Transport& transport,
                           const kube::ApiResource& secrets) {
  auto problems = api::validate_backup_storage_location(location.spec);
  if (!problems.empty()) return problems.front();
  if (auto problem = check_protection_config(location.spec.config); !problem.empty()) return problem;
  try {
    auto open = open_location(location, transport, secrets);
    persistence::validate_location(open->store(), open->layout());
    clean_abandoned_uploads_once(location, open->store(), open->layout());
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace arca::controller
