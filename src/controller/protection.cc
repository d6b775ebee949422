#include "controller/protection.h"

#include <spdlog/spdlog.h>

#include "controller/locations.h"
#include "crypt/age.h"
#include "crypt/primitives.h"
#include "crypt/sign.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "store/location.h"
#include "util/duration.h"
#include "util/timestamp.h"

namespace arca::controller {
namespace {

std::string config_value(const std::map<std::string, std::string>& config, const char* key) {
  auto it = config.find(key);
  return it == config.end() ? std::string() : it->second;
}

// Secret `ns`/`name` decoded: key → value. Throws one line when it cannot be read.
std::map<std::string, std::string> read_secret(ServerContext& ctx, const std::string& ns, const std::string& name) {
  nlohmann::json secret;
  try {
    secret = kube::DynamicClient(ctx.transport).get(ctx.secrets, ns, name);
  } catch (const kube::KubeError& e) {
    if (kube::is_not_found(e)) throw std::runtime_error("Secret " + ns + "/" + name + " not found");
    throw std::runtime_error("Secret " + ns + "/" + name + " cannot be read: " + e.what());
  }
  std::map<std::string, std::string> out;
  const nlohmann::json data = secret.value("data", nlohmann::json::object());
  const nlohmann::json string_data = secret.value("stringData", nlohmann::json::object());
  for (const auto& [key, value] : data.items()) {
    std::string decoded;
    if (value.is_string() && crypt::base64_decode(value.get<std::string>(), true, decoded)) out[key] = decoded;
  }
  for (const auto& [key, value] : string_data.items())
    if (value.is_string()) out[key] = value.get<std::string>();
  return out;
}

}  // namespace

std::map<std::string, std::string> store_config(const std::map<std::string, std::string>& config) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : config)
    if (!persistence::is_protection_config_key(key)) out[key] = value;
  return out;
}

std::string check_protection_config(const std::map<std::string, std::string>& config) {
  try {
    crypt::parse_age_recipients(config_value(config, persistence::kConfigEncryptionRecipients));
  } catch (const crypt::AgeError& e) {
    return std::string("config ") + persistence::kConfigEncryptionRecipients + ": " + e.what();
  }
  std::string public_key = config_value(config, persistence::kConfigSigningPublicKey);
  if (!public_key.empty()) {
    try {
      crypt::verify_ed25519(public_key, "", "");
    } catch (const crypt::AgeError& e) {
      return std::string("config ") + persistence::kConfigSigningPublicKey + ": " + e.what();
    }
  }
  if (!config_value(config, persistence::kConfigSigningKeySecret).empty() && public_key.empty())
    return std::string("config ") + persistence::kConfigSigningKeySecret + " needs " +
           persistence::kConfigSigningPublicKey + " (the key that verifies what it signs)";
  return "";
}

persistence::WriteProtection location_protection(const api::BackupStorageLocation& location, ServerContext& ctx) {
  const auto& config = location.spec.config;
  std::string problem = check_protection_config(config);
  if (!problem.empty()) throw std::runtime_error("backup storage location " + location.metadata.name + ": " + problem);
  persistence::WriteProtection protection;
  protection.recipients = crypt::parse_age_recipients(config_value(config, persistence::kConfigEncryptionRecipients));
  std::string ref = config_value(config, persistence::kConfigSigningKeySecret);
  if (ref.empty()) return protection;
  // NAME or NAME/KEY; without KEY, the value that is an Ed25519 private key.
  std::string name = ref.substr(0, ref.find('/')), key = ref.find('/') == std::string::npos ? "" : ref.substr(ref.find('/') + 1);
  std::string what = "signing key Secret " + location.metadata.namespace_ + "/" + name;
  auto data = read_secret(ctx, location.metadata.namespace_, name);
  for (const auto& [k, v] : data) {
    if (!key.empty() && k != key) continue;
    try {
      std::string public_key = crypt::signing_public_key_of(v);
      if (public_key != config_value(config, persistence::kConfigSigningPublicKey))
        throw std::runtime_error(what + ": its key does not match the location's " +
                                 persistence::kConfigSigningPublicKey);
      protection.signing_private_key = v;
      return protection;
    } catch (const crypt::AgeError&) {
      if (!key.empty()) throw std::runtime_error(what + ": key " + key + " is not an Ed25519 private key");
    }
  }
  std::string keys;
  for (const auto& [k, v] : data) keys += (keys.empty() ? "" : ",") + k;
  throw std::runtime_error(what + ": no Ed25519 private key (ed25519-private:BASE64) among its keys (" +
                           (keys.empty() ? "none" : keys) + ")");
}

std::vector<std::string> secret_identities(ServerContext& ctx, const std::string& ns, const std::string& name) {
  std::vector<std::string> out;
  try {
    for (const auto& [key, value] : read_secret(ctx, ns, name)) {
      auto found = crypt::parse_age_identities(value);
      out.insert(out.end(), found.begin(), found.end());
    }
  } catch (const crypt::AgeError&) {
    throw std::runtime_error("decryption key Secret " + ns + "/" + name + " holds a malformed AGE-SECRET-KEY");
  }
  if (out.empty()) throw std::runtime_error("decryption key Secret " + ns + "/" + name + " holds no AGE-SECRET-KEY");
  return out;
}

void annotate_protection(api::Backup& backup, const persistence::WriteProtection& protection) {
  if (!protection.recipients.empty()) {
    std::string list;
    for (const auto& r : protection.recipients) list += (list.empty() ? "" : ",") + r;
    backup.metadata.annotations[persistence::kAnnotationEncryptedTo] = list;
  }
  if (!protection.signing_private_key.empty())
    backup.metadata.annotations[persistence::kAnnotationSignedBy] =
        crypt::signing_public_key_of(protection.signing_private_key);
}

std::optional<Timestamp> object_lock_expiry(store::ObjectStore& store, const persistence::Layout& layout,
                                            const api::BackupStorageLocation& location, const std::string& backup) {
  auto retention = location.spec.config.find("objectLockRetention");
  if (retention == location.spec.config.end() || retention->second.empty()) return std::nullopt;
  auto lock = store::parse_lock_retention(retention->second);
  std::optional<Timestamp> newest;
  for (const auto& object : store::list_all(store, persistence::backup_dir(layout, backup)).objects) {
    if (object.last_modified.empty()) continue;
    try {
      // S3 writes "2026-12-07T10:00:00.000Z"; the fraction does not matter at a lock's scale.
      std::string text = object.last_modified;
      if (auto dot = text.find('.'); dot != std::string::npos) text = text.substr(0, dot) + "Z";
      Timestamp t = parse_rfc3339(text) + std::chrono::seconds(1);
      if (!newest || t > *newest) newest = t;
    } catch (const InvalidTimestamp&) {
    }
  }
  if (!newest) return std::nullopt;
  return *newest + lock;
}

void forget_transient_key(ServerContext& ctx, const api::Restore& restore) {
  const auto& a = restore.metadata.annotations;
  auto transient = a.find(kAnnotationTransientKey);
  auto secret = a.find(persistence::kAnnotationDecryptionKeySecret);
  if (transient == a.end() || transient->second != "true" || secret == a.end()) return;
  try {
    kube::DynamicClient(ctx.transport).remove(ctx.secrets, restore.metadata.namespace_, secret->second);
  } catch (const kube::KubeError& e) {
    if (!kube::is_not_found(e))
      spdlog::warn("restore={} could not delete its decryption key Secret {}: {}", restore.metadata.name,
                   secret->second, e.what());
  }
}

namespace {

// A finished backup of a schedule that asks for verification (kAnnotationScheduleVerify).
bool scheduled_for_verification(ServerContext& ctx, const nlohmann::json& backup) {
  std::string phase = backup.value("/status/phase"_json_pointer, std::string());
  std::string schedule = backup.value("/metadata/labels/velero.io~1schedule-name"_json_pointer, std::string());
  if (schedule.empty() || (phase != "Completed" && phase != "PartiallyFailed")) return false;
  try {
    auto object = kube::DynamicClient(ctx.transport)
                      .get(ctx.discovery.lookup("velero.io", "v1", "schedules"), ctx.settings.namespace_name, schedule);
    return object.value("/metadata/annotations"_json_pointer, nlohmann::json::object())
               .value(kAnnotationScheduleVerify, "") == "true";
  } catch (const kube::KubeError& e) {
    if (!kube::is_not_found(e))
      spdlog::warn("backup={}: cannot read schedule {} to see whether it asks for verification: {}",
                   backup.value("/metadata/name"_json_pointer, std::string()), schedule, e.what());
    return false;
  }
}

}  // namespace

ReconcileFn verify_reconciler(ServerContext& ctx) {
  return [&ctx](const std::string& key, const kube::ObjectPtr& cached) -> ReconcileResult {
    if (!cached) return {};
    auto annotations = cached->value("/metadata/annotations"_json_pointer, nlohmann::json::object());
    std::string request = annotations.value(kAnnotationVerifyRequest, "");
    if (request.empty() && !annotations.contains(kAnnotationVerification) && scheduled_for_verification(ctx, *cached))
      request = kScheduledVerifyRequest;
    if (request.empty()) return {};
    auto done = nlohmann::json::parse(annotations.value(kAnnotationVerification, "{}"), nullptr, false);
    if (!done.is_discarded() && done.is_object() && done.value("request", "") == request) return {};
    const std::string ns = cached->at("metadata").value("namespace", ""), name = cached->at("metadata").value("name", "");
    // "ID[,deep][,key=SECRET]"
    persistence::VerifyOptions options;
    std::string key_secret;
    for (size_t pos = request.find(','); pos != std::string::npos;) {
      size_t next = request.find(',', pos + 1);
      std::string part = request.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
      if (part == "deep") options.deep = true;
      else if (part.starts_with("key=")) key_secret = part.substr(4);
      pos = next;
    }
    persistence::VerifyReport report;
    try {
      auto backup = cached->get<api::Backup>();
      auto location = kube::DynamicClient(ctx.transport)
                          .get(ctx.locations, ns, backup.spec.storage_location)
                          .get<api::BackupStorageLocation>();
      auto it = location.spec.config.find(persistence::kConfigSigningPublicKey);
      if (it != location.spec.config.end()) options.public_key = it->second;
      if (!key_secret.empty()) options.identities = secret_identities(ctx, ns, key_secret);
      auto open = open_location(location, ctx.transport, ctx.secrets);
      report = persistence::verify_backup(open->store(), open->layout(), name, options);
    } catch (const std::exception& e) {
      report.outcome = persistence::VerifyReport::Outcome::Failed;
      report.message = "backup " + name + " could not be verified: " + e.what();
    }
    nlohmann::json result = {{"request", request},
                             {"result", persistence::to_string(report.outcome)},
                             {"message", report.message},
                             {"time", format_rfc3339(ctx.clock.now())}};
    update_with_retry(ctx.transport, ctx.backups, ns, name, [&](nlohmann::json& j) {
      j["metadata"]["annotations"][kAnnotationVerification] = result.dump();
      return true;
    });
    spdlog::info("backup={} verification {}: {}", key, persistence::to_string(report.outcome), report.message);
    return {};
  };
}

}  // namespace arca::controller
