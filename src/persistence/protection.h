#pragma once
// Backups you can trust, per storage location and opt-in (BSL config keys below):
// - encryption: every file holding cluster data (tarball, logs, results, resource list, volume info, item
//   operations) is gzip'd, then age-encrypted to the location's recipients; velero-backup.json stays readable
//   and names the recipients (annotation), so listing and sync work without a key.
// - signing: a manifest of the SHA-256 of every stored object (velero-backup.json included), signed with
//   Ed25519, is stored before velero-backup.json; anyone holding the public key can verify the backup.
// Unprotected backups are written exactly as before (byte-compatible with Velero).
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "persistence/layout.h"
#include "store/object_store.h"

namespace arca::persistence {

// BSL spec.config keys (removed before the config reaches a store driver).
inline constexpr const char* kConfigEncryptionRecipients = "encryptionRecipients";  // age1... (comma separated)
inline constexpr const char* kConfigSigningPublicKey = "signingPublicKey";          // ed25519:BASE64
inline constexpr const char* kConfigSigningKeySecret = "signingKeySecret";          // Secret NAME[/KEY]
bool is_protection_config_key(const std::string& key);

// Annotations on the Backup (and so in velero-backup.json) and on a Restore.
inline constexpr const char* kAnnotationEncryptedTo = "arca.dev/encrypted-to";
inline constexpr const char* kAnnotationSignedBy = "arca.dev/signed-by";
inline constexpr const char* kAnnotationDecryptionKeySecret = "arca.dev/decryption-key-secret";
inline constexpr const char* kAnnotationSkipVerify = "arca.dev/skip-verify";

struct WriteProtection {
  std::vector<std::string> recipients;  // empty: not encrypted
  std::string signing_private_key;      // empty: not signed (ed25519-private:BASE64)
  bool any() const { return !recipients.empty() || !signing_private_key.empty(); }
};

// B-arca-manifest.json under the backup's directory.
std::string manifest_key(const Layout& layout, const std::string& backup);
bool is_encrypted_file(BackupFile file);

// A reader yielding what `source` yields, gzip'd (and a `suffix` appended before compressing).
store::Reader gzip_reader(store::Reader source, std::string suffix);

// The recipients an encrypted backup names in its metadata (velero-backup.json text); empty when plain.
std::vector<std::string> backup_recipients(const std::string& metadata_json);
// One line when none of `identities` decrypts a backup encrypted to `recipients`; "" when one does.
std::string identity_mismatch(const std::string& backup, const std::vector<std::string>& recipients,
                              const std::vector<std::string>& identities);

// Streams a stored backup file to `sink` as it was before encryption (still gzip'd): decrypted with
// `identities` when it is age-encrypted. `stored_sha256` (if set) receives the hex digest of the stored bytes.
void get_backup_file(store::ObjectStore& store, const Layout& layout, const std::string& backup, BackupFile file,
                     const std::vector<std::string>& identities, const store::Writer& sink,
                     std::string* stored_sha256 = nullptr);

// The same landed in a temporary file, rewound for reading: the download itself when the file is not encrypted,
// so that a restore writes the tarball to disk once (the download must be whole before it is used, for
// download_to_file's retries of a truncated answer); an encrypted file is decrypted into a second one.
using TempFile = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;
TempFile fetch_backup_file(store::ObjectStore& store, const Layout& layout, const std::string& backup,
                           BackupFile file, const std::vector<std::string>& identities,
                           std::string* stored_sha256 = nullptr);

struct VerifyOptions {
  std::string public_key;  // the location's signingPublicKey; empty: the signature cannot be checked
  // Digests the caller already computed (stored file name → hex SHA-256), e.g. of a tarball it downloaded.
  std::map<std::string, std::string> known_digests;
  bool deep = false;  // also decrypt, decompress and parse every tarball item; compare with the counts
  std::vector<std::string> identities;  // for --deep on an encrypted backup
};

struct VerifyReport {
  enum class Outcome { Verified, Unsigned, Failed };
  Outcome outcome = Outcome::Failed;
  std::string message;  // one line: what was verified, or the first problem (naming the object)
  std::vector<std::string> problems;
  int objects = 0;  // stored objects whose digests were checked
  int items = 0;    // tarball items parsed (deep)
};
// Checks the signature and every digest; never throws for a bad backup (the report says it), only for a
// store that cannot be read.
VerifyReport verify_backup(store::ObjectStore& store, const Layout& layout, const std::string& backup,
                           const VerifyOptions& options);
const char* to_string(VerifyReport::Outcome outcome);

}  // namespace arca::persistence
