#pragma once
// Backups and restores in a storage location: upload in a safe order, list as Velero's sync does, read
// metadata and files back, delete. Everything goes through store::ObjectStore.
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "persistence/layout.h"
#include "store/object_store.h"

namespace arca::persistence {

// What a finished backup run hands over. The JSON documents are json.Encoder-style compact JSON (a trailing
// newline is added here) and are gzip'd here; the tarball streams from `tarball` (e.g. a temporary file).
struct BackupUpload {
  std::string name;
  std::string metadata_json;  // velero-backup.json: the Backup with kind/apiVersion, indented as Velero does
  store::Reader tarball;
  std::string log_text;  // the backup log lines, gzip'd here
  std::string podvolumebackups_json = "null";
  std::string volumesnapshots_json = "null";
  std::string itemoperations_json = "null";
  store::Reader resource_list;  // its JSON, streamed and gzip'd here (it grows with the backup); unset: {}
  std::string results_json = R"({"errors":{},"warnings":{}})";
  std::string volumeinfo_json = "null";
  // A signed backup's per-item digests (persistence/item_digests.h), streamed; unset: none (verify
  // --deep then checks the items' JSON and count only). Not stored for an unsigned backup.
  store::Reader item_digests;
};

// Uploads every file of the backup. velero-backup.json goes LAST, so that a location never shows a backup
// (sync counts only those with metadata) whose files are incomplete. Refuses (AlreadyExists) when the
// backup's metadata is already stored; on any failure removes what this call uploaded, then rethrows.
// A failed log upload is not fatal (as in Velero): the log key is then simply absent.
// With `protection` (see protection.h) the cluster-data files are age-encrypted and a signed manifest of every
// object's digest goes just before velero-backup.json.
struct WriteProtection;
void put_backup(store::ObjectStore& store, const Layout& layout, const BackupUpload& upload,
                const WriteProtection& protection);
void put_backup(store::ObjectStore& store, const Layout& layout, const BackupUpload& upload);

// Replaces one file of an existing backup (the finalizer rewrites the tarball, volume info and metadata).
void put_backup_file(store::ObjectStore& store, const Layout& layout, const std::string& backup, BackupFile file,
                     const store::Reader& body);

// Names of the backups in the location: directories under backups/ (listed with delimiter "/", page by page)
// that hold a velero-backup.json. Sorted.
std::vector<std::string> list_backups(store::ObjectStore& store, const Layout& layout);
bool backup_exists(store::ObjectStore& store, const Layout& layout, const std::string& backup);

// velero-backup.json, checked to be a velero.io/v1 Backup; NotFound names the key when it is missing.
std::string read_backup_metadata(store::ObjectStore& store, const Layout& layout, const std::string& backup);
// A gzip'd file of the backup, decompressed; nullopt when the file is absent (all of them are optional).
// An age-encrypted file is decrypted with `identities` first (crypt::AgeError without a matching one).
std::optional<std::string> read_backup_gzip_file(store::ObjectStore& store, const Layout& layout,
                                                 const std::string& backup, BackupFile file,
                                                 const std::vector<std::string>& identities = {});

// Downloads one file of the backup to `path` (e.g. the tarball, which restore then reads from disk as Velero
// does); `path` is written through a temporary file, so it never holds a partial download.
void download_backup_file(store::ObjectStore& store, const Layout& layout, const std::string& backup, BackupFile file,
                          const std::string& path);
// Downloads the object `key` into `file`, from its start. A transfer cut short (the connection lost once part of
// the body arrived, which the HTTP layer cannot repeat) or failed on the server's side is retried from the
// beginning, the file truncated first, up to 3 attempts; a missing object or refused access is not retried.
void download_to_file(store::ObjectStore& store, const std::string& key, std::FILE* file);

// A URL for `velero backup download`/`logs`-style DownloadRequests (Velero signs them for 10 minutes).
std::string signed_backup_file_url(store::ObjectStore& store, const Layout& layout, const std::string& backup,
                                   BackupFile file, std::chrono::seconds ttl = std::chrono::minutes(10));

// Deletes velero-backup.json first (the backup stops being listed at once), then every other key under
// backups/B/. Deleting a backup that is not there is not an error.
void delete_backup(store::ObjectStore& store, const Layout& layout, const std::string& backup);

// A restore's gzip'd file (logs, results, ...): `content` is gzip'd here, then age-encrypted to `recipients`
// when there are any (a restore of an encrypted backup: its log and results name the backup's objects).
void put_restore_file(store::ObjectStore& store, const Layout& layout, const std::string& restore, RestoreFile file,
                      const std::string& content, const std::vector<std::string>& recipients = {});
void delete_restore(store::ObjectStore& store, const Layout& layout, const std::string& restore);

// Velero's BSL validation: top-level directories under the prefix must be ones Velero knows. Throws
// StoreError(InvalidArgument) naming the first stray one; store errors (missing bucket, ...) pass through.
void validate_location(store::ObjectStore& store, const Layout& layout);

// gzip of `data` in one member (the small JSON and log files).
std::string gzip_bytes(const std::string& data);
std::string gunzip_bytes(const std::string& data, const std::string& what);

}  // namespace arca::persistence
