#include "persistence/backup_store.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>
#include <nlohmann/json.hpp>

#include "crypt/age.h"
#include "crypt/primitives.h"
#include "crypt/sign.h"
#include "persistence/protection.h"

namespace arca::persistence {

using store::ErrorKind;
using store::StoreError;

namespace {

void put_bytes(store::ObjectStore& store, const std::string& key, const std::string& bytes) {
  store::put_string(store, key, bytes);
}

// Best-effort cleanup after a failed upload: the original error is what the caller needs to see.
void remove_quietly(store::ObjectStore& store, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    try {
      store.remove(key);
    } catch (const StoreError&) {
    }
  }
}

}  // namespace

// Produced as it is read, so any size fits in memory.
store::Reader gzip_reader(store::Reader source, std::string suffix) {
  struct State {
    z_stream z{};
    std::string input;
    bool source_done = false, finished = false;
    ~State() { deflateEnd(&z); }
  };
  auto state = std::make_shared<State>();
  if (deflateInit2(&state->z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw StoreError(ErrorKind::Failed, "gzip: initialisation failed");
  return [state, source = std::move(source), suffix = std::move(suffix)](char* buffer, size_t capacity) -> size_t {
    z_stream& z = state->z;
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = static_cast<uInt>(std::min<size_t>(capacity, 1u << 30));
    while (z.avail_out > 0 && !state->finished) {
      if (z.avail_in == 0 && !state->source_done) {
        state->input.resize(64 * 1024);
        size_t n = source(state->input.data(), state->input.size());
        state->input.resize(n);
        if (n == 0) {
          state->input = suffix;
          state->source_done = true;
        }
        z.next_in = reinterpret_cast<Bytef*>(state->input.data());
        z.avail_in = static_cast<uInt>(state->input.size());
      }
      int rc = deflate(&z, state->source_done ? Z_FINISH : Z_NO_FLUSH);
      if (rc == Z_STREAM_END) state->finished = true;
      else if (rc != Z_OK && rc != Z_BUF_ERROR) throw StoreError(ErrorKind::Failed, "gzip: compression failed");
    }
    return capacity - z.avail_out;
  };
}

namespace {

// The object's content, or nullopt when it is absent or cannot be read now.
std::optional<std::string> stored_text(store::ObjectStore& store, const std::string& key) {
  try {
    return store::get_string(store, key);
  } catch (const StoreError&) {
    return std::nullopt;
  }
}

// Removes `key` and checks that it is gone (a lost answer to the DELETE is no proof either way).
bool remove_confirmed(store::ObjectStore& store, const std::string& key) {
  try {
    store.remove(key);
  } catch (const StoreError&) {
  }
  try {
    return !store.head(key).exists;
  } catch (const StoreError&) {
    return false;
  }
}

}  // namespace

std::string gzip_bytes(const std::string& data) {
  store::Reader gzip = gzip_reader(store::string_reader(data), "");
  std::string out;
  char buffer[64 * 1024];
  while (size_t n = gzip(buffer, sizeof buffer)) out.append(buffer, n);
  return out;
}

std::string gunzip_bytes(const std::string& data, const std::string& what) {
  if (crypt::is_age(data))
    throw StoreError(ErrorKind::InvalidArgument,
                     what + ": encrypted with age (its backup storage location encrypts backups); decrypt the stored "
                            "file with `age -d -i KEY`");
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw StoreError(ErrorKind::Failed, "gunzip: initialisation failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END || z.avail_in > 0) {
    if (rc == Z_STREAM_END) inflateReset(&z);  // another gzip member follows
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - z.avail_out);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) break;
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) throw StoreError(ErrorKind::Failed, what + ": not valid gzip (corrupt or truncated)");
  return out;
}

void put_backup(store::ObjectStore& store, const Layout& layout, const BackupUpload& upload,
                const WriteProtection& protection) {
  const std::string& b = upload.name;
  if (b.empty() || b.find('/') != std::string::npos)
    throw StoreError(ErrorKind::InvalidArgument, "invalid backup name \"" + b + "\"");
  std::string metadata_key = backup_key(layout, b, BackupFile::Metadata);
  if (store.head(metadata_key).exists)
    throw StoreError(ErrorKind::AlreadyExists,
                     "backup already exists in object storage (" + store.describe() + "/" + metadata_key + ")");
  const std::string dir = backup_dir(layout, b);
  const bool sign = !protection.signing_private_key.empty();
  nlohmann::json digests = nlohmann::json::object();  // stored file name → {sha256, size}: the signed manifest
  // Each file is encrypted (if the location asks and the file holds cluster data) and hashed as it streams.
  auto put_file = [&](BackupFile file, store::Reader body) {
    std::string key = backup_key(layout, b, file);
    if (!protection.recipients.empty() && is_encrypted_file(file))
      body = crypt::age_encrypt(std::move(body), protection.recipients);
    if (!sign) return store.put(key, body);
    auto hash = std::make_shared<crypt::Sha256>();
    auto size = std::make_shared<uint64_t>(0);
    store.put(key, [&body, hash, size](char* buffer, size_t capacity) {
      size_t n = body(buffer, capacity);
      hash->update(buffer, n);
      *size += n;
      return n;
    });
    digests[key.substr(dir.size())] = {{"sha256", crypt::hex(hash->finish())}, {"size", *size}};
  };
  std::vector<std::string> uploaded;
  try {
    std::string log_gz = gzip_bytes(upload.log_text);
    put_file(BackupFile::Logs, store::string_reader(log_gz));
  } catch (const StoreError& e) {
    // Velero only logs this failure: a backup without its log is still a backup.
    spdlog::warn("backup={} its log could not be uploaded (the backup is kept without it): {}", b, e.what());
  }
  try {
    put_file(BackupFile::Tarball, upload.tarball);
    uploaded.push_back(backup_key(layout, b, BackupFile::Tarball));
    auto put_gzip = [&](BackupFile file, store::Reader json) {
      put_file(file, gzip_reader(std::move(json), "\n"));  // json.Encoder output ends in a newline
      uploaded.push_back(backup_key(layout, b, file));
    };
    put_gzip(BackupFile::PodVolumeBackups, store::string_reader(upload.podvolumebackups_json));
    put_gzip(BackupFile::VolumeSnapshots, store::string_reader(upload.volumesnapshots_json));
    put_gzip(BackupFile::ItemOperations, store::string_reader(upload.itemoperations_json));
    put_gzip(BackupFile::ResourceList, upload.resource_list ? upload.resource_list : store::string_reader("{}"));
    put_gzip(BackupFile::Results, store::string_reader(upload.results_json));
    put_gzip(BackupFile::VolumeInfo, store::string_reader(upload.volumeinfo_json));
    if (sign && upload.item_digests) {  // signed through its digest in the manifest
      put_file(BackupFile::ItemDigests, upload.item_digests);
      uploaded.push_back(backup_key(layout, b, BackupFile::ItemDigests));
    }
    if (sign) {
      // The manifest covers velero-backup.json too: its bytes are final before anything is written.
      digests[metadata_key.substr(dir.size())] = {{"sha256", crypt::hex(crypt::sha256(upload.metadata_json))},
                                                  {"size", upload.metadata_json.size()}};
      std::string public_key = crypt::signing_public_key_of(protection.signing_private_key);
      nlohmann::json body = {{"backup", b}, {"objects", digests}, {"signedBy", public_key}};
      std::string manifest = body.dump();
      std::string signed_manifest = nlohmann::json{{"apiVersion", "arca.dev/v1"}, {"kind", "BackupManifest"},
                                                   {"manifest", manifest},
                                                   {"signature", crypt::sign_ed25519(protection.signing_private_key,
                                                                                     manifest)}}
                                        .dump(2);
      put_bytes(store, manifest_key(layout, b), signed_manifest);
      uploaded.push_back(manifest_key(layout, b));
    }
  } catch (...) {
    remove_quietly(store, uploaded);
    throw;
  }
  try {
    put_bytes(store, metadata_key, upload.metadata_json);
  } catch (const StoreError& e) {
    // The request may have been applied with only its answer lost: what is stored decides.
    if (stored_text(store, metadata_key) == upload.metadata_json) return;
    // A velero-backup.json must never outlive the data it describes, so the data goes only once the metadata
    // is gone; when that cannot be confirmed the data stays, and what is listed remains restorable.
    if (!remove_confirmed(store, metadata_key))
      throw StoreError(e.kind(), std::string(e.what()) + " (the backup's files are kept: " + metadata_key +
                                     " may be stored and could not be removed)");
    remove_quietly(store, uploaded);
    throw;
  }
}

void put_backup(store::ObjectStore& store, const Layout& layout, const BackupUpload& upload) {
  put_backup(store, layout, upload, WriteProtection{});
}

void put_backup_file(store::ObjectStore& store, const Layout& layout, const std::string& backup, BackupFile file,
                     const store::Reader& body) {
  store.put(backup_key(layout, backup, file), body);
}

std::vector<std::string> list_backups(store::ObjectStore& store, const Layout& layout) {
  std::string dir = backups_dir(layout);
  store::ListPage all = store::list_all(store, dir, "/");
  std::vector<std::string> names;
  for (const auto& prefix : all.common_prefixes) {
    if (prefix.size() <= dir.size() + 1 || prefix.compare(0, dir.size(), dir) != 0) continue;
    std::string name = prefix.substr(dir.size(), prefix.size() - dir.size() - 1);
    if (backup_exists(store, layout, name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

bool backup_exists(store::ObjectStore& store, const Layout& layout, const std::string& backup) {
  return store.head(backup_key(layout, backup, BackupFile::Metadata)).exists;
}

std::string read_backup_metadata(store::ObjectStore& store, const Layout& layout, const std::string& backup) {
  std::string key = backup_key(layout, backup, BackupFile::Metadata);
  std::string text = store::get_string(store, key);
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  std::string where = store.describe() + "/" + key;
  if (doc.is_discarded() || !doc.is_object()) throw StoreError(ErrorKind::Failed, where + ": not a JSON object");
  if (doc.value("kind", "") != "Backup" || doc.value("apiVersion", "") != "velero.io/v1")
    throw StoreError(ErrorKind::Failed, where + ": not a velero.io/v1 Backup (kind/apiVersion missing or different)");
  return text;
}

std::optional<std::string> read_backup_gzip_file(store::ObjectStore& store, const Layout& layout,
                                                 const std::string& backup, BackupFile file,
                                                 const std::vector<std::string>& identities) {
  std::string key = backup_key(layout, backup, file);
  std::string bytes;
  try {
    bytes = store::get_string(store, key);
  } catch (const StoreError& e) {
    if (e.kind() == ErrorKind::NotFound) return std::nullopt;
    throw;
  }
  if (crypt::is_age(bytes)) bytes = crypt::age_decrypt_string(bytes, identities, store.describe() + "/" + key);
  return gunzip_bytes(bytes, store.describe() + "/" + key);
}

void download_to_file(store::ObjectStore& store, const std::string& key, std::FILE* file) {
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    if (std::fflush(file) != 0 || ::ftruncate(fileno(file), 0) != 0 || std::fseek(file, 0, SEEK_SET) != 0)
      throw StoreError(ErrorKind::Failed, "cannot reset the temporary file for " + key);
    try {
      store.get(key, [&](const char* data, size_t size) {
        if (std::fwrite(data, 1, size, file) != size)
          throw StoreError(ErrorKind::InvalidArgument, "writing the download of " + key + " to a temporary file failed");
      });
      if (std::fflush(file) != 0)
        throw StoreError(ErrorKind::InvalidArgument, "writing the download of " + key + " to a temporary file failed");
      return;
    } catch (const StoreError& e) {
      bool transient = e.kind() == ErrorKind::Unreachable || e.kind() == ErrorKind::Failed;
      if (!transient || attempt == kAttempts) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250 * attempt));
  }
}

void download_backup_file(store::ObjectStore& store, const Layout& layout, const std::string& backup, BackupFile file,
                          const std::string& path) {
  std::string temp = path + ".download";
  std::string key = backup_key(layout, backup, file);
  {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(temp.c_str(), "wb"), &std::fclose);
    if (!out) throw StoreError(ErrorKind::InvalidArgument, "cannot write " + temp + " to download " + key);
    try {
      download_to_file(store, key, out.get());
      if (std::fclose(out.release()) != 0)
        throw StoreError(ErrorKind::Failed, "writing " + temp + " failed while downloading " + key);
    } catch (...) {
      std::remove(temp.c_str());
      throw;
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    throw StoreError(ErrorKind::Failed, "cannot move the download of " + key + " to " + path);
  }
}

std::string signed_backup_file_url(store::ObjectStore& store, const Layout& layout, const std::string& backup,
                                   BackupFile file, std::chrono::seconds ttl) {
  return store.signed_get_url(backup_key(layout, backup, file), ttl);
}

void delete_backup(store::ObjectStore& store, const Layout& layout, const std::string& backup) {
  if (backup.empty() || backup.find('/') != std::string::npos)
    throw StoreError(ErrorKind::InvalidArgument, "invalid backup name \"" + backup + "\"");
  store.remove(backup_key(layout, backup, BackupFile::Metadata));
  for (const auto& object : store::list_all(store, backup_dir(layout, backup)).objects) store.remove(object.key);
  store.remove_abandoned_uploads(backup_dir(layout, backup));
}

void put_restore_file(store::ObjectStore& store, const Layout& layout, const std::string& restore, RestoreFile file,
                      const std::string& content, const std::vector<std::string>& recipients) {
  std::string gz = gzip_bytes(content);
  put_bytes(store, restore_key(layout, restore, file), recipients.empty() ? gz : crypt::age_encrypt_string(gz, recipients));
}

void delete_restore(store::ObjectStore& store, const Layout& layout, const std::string& restore) {
  if (restore.empty() || restore.find('/') != std::string::npos)
    throw StoreError(ErrorKind::InvalidArgument, "invalid restore name \"" + restore + "\"");
  for (const auto& object : store::list_all(store, restore_dir(layout, restore)).objects) store.remove(object.key);
}

void validate_location(store::ObjectStore& store, const Layout& layout) {
  store::ListPage top = store::list_all(store, layout.prefix, "/");
  for (const auto& prefix : top.common_prefixes) {
    std::string dir = prefix.substr(layout.prefix.size());
    if (!dir.empty() && dir.back() == '/') dir.pop_back();
    if (!is_valid_top_level_dir(dir))
      throw StoreError(ErrorKind::InvalidArgument, store.describe() + "/" + layout.prefix +
                                                       ": unexpected top-level directory \"" + dir +
                                                       "\" (Velero allows backups, restores, restic, metadata, "
                                                       "plugins, kopia)");
  }
}

}  // namespace arca::persistence
