#pragma once
// The server's side of protected backups (persistence/protection.h): what a location's config and Secrets
// ask for, and the server-side `arca backup verify` (a Backup annotated with a verify request).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "controller/context.h"
#include "controller/runtime.h"
#include "persistence/protection.h"
#include "store/object_store.h"

namespace arca::controller {

// The location's config without arca's protection keys: what a store driver is given.
std::map<std::string, std::string> store_config(const std::map<std::string, std::string>& config);
// "" when the protection keys of a BSL config are well-formed, else the problem in one line.
std::string check_protection_config(const std::map<std::string, std::string>& config);
// Recipients from the config, the signing key from its Secret. Throws std::runtime_error in one line
// (never with key material) when the Secret is missing or holds no usable key.
persistence::WriteProtection location_protection(const api::BackupStorageLocation& location, ServerContext& ctx);
// Every AGE-SECRET-KEY line of every value of Secret `ns`/`name`. Throws (one line) when it is missing.
std::vector<std::string> secret_identities(ServerContext& ctx, const std::string& ns, const std::string& name);
// Records on the Backup (and so in velero-backup.json) whom it is encrypted to and who signed it.
void annotate_protection(api::Backup& backup, const persistence::WriteProtection& protection);

// `arca restore create --decryption-key-file` puts the key in a Secret marked transient: it is deleted once
// the restore is over, so the key is on the cluster only while it is needed.
inline constexpr const char* kAnnotationTransientKey = "arca.dev/decryption-key-transient";
void forget_transient_key(ServerContext& ctx, const api::Restore& restore);

// Object lock (BSL config objectLockRetention, local and S3): a backup's objects cannot be deleted until the
// newest of them is that old. The time they can go, or nullopt when the location sets no lock.
std::optional<Timestamp> object_lock_expiry(store::ObjectStore& store, const persistence::Layout& layout,
                                            const api::BackupStorageLocation& location, const std::string& backup);

// `arca backup verify`: the CLI sets kAnnotationVerifyRequest ("ID" or "ID,deep") on the Backup; the server
// verifies against the location and writes kAnnotationVerification (JSON: request, result, message, time).
inline constexpr const char* kAnnotationVerifyRequest = "arca.dev/verify-request";
inline constexpr const char* kAnnotationVerification = "arca.dev/verification";
// A Schedule annotated arca.dev/verify: "true" (`schedule create --verify`) has each of its backups verified
// once it has finished, as if `arca backup verify` had been run (request ID "scheduled").
inline constexpr const char* kAnnotationScheduleVerify = "arca.dev/verify";
inline constexpr const char* kScheduledVerifyRequest = "scheduled";
ReconcileFn verify_reconciler(ServerContext& ctx);

}  // namespace arca::controller
