#include "persistence/protection.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <vector>
#include <memory>

#include "archive/tarball_reader.h"
#include "crypt/age.h"
#include "crypt/primitives.h"
#include "crypt/sign.h"
#include "persistence/backup_store.h"
#include "persistence/item_digests.h"

namespace arca::persistence {

using store::ErrorKind;
using store::StoreError;

bool is_protection_config_key(const std::string& key) {
  return key == kConfigEncryptionRecipients || key == kConfigSigningPublicKey || key == kConfigSigningKeySecret;
}

std::string manifest_key(const Layout& layout, const std::string& backup) {
  return backup_dir(layout, backup) + backup + "-arca-manifest.json";
}

bool is_encrypted_file(BackupFile file) {
  // Pod volume backups and volume snapshots stay readable: they name volumes, not their data, and the
  // backup sync imports them without a key.
  switch (file) {
    case BackupFile::Tarball:
    case BackupFile::Logs:
    case BackupFile::ItemOperations:
    case BackupFile::ResourceList:
    case BackupFile::Results:
    case BackupFile::VolumeInfo:
    case BackupFile::ItemDigests:  // names every item
      return true;
    default:
      return false;
  }
}

std::vector<std::string> backup_recipients(const std::string& metadata_json) {
  auto doc = nlohmann::json::parse(metadata_json, nullptr, false);
  if (doc.is_discarded()) return {};
  auto text = doc.value("/metadata/annotations"_json_pointer, nlohmann::json::object())
                  .value(kAnnotationEncryptedTo, std::string());
  std::vector<std::string> out;
  std::string current;
  for (char c : text + ",") {
    if (c == ',' || c == ' ') {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  return out;
}

std::string identity_mismatch(const std::string& backup, const std::vector<std::string>& recipients,
                              const std::vector<std::string>& identities) {
  std::string names;
  for (const auto& r : recipients) names += (names.empty() ? "" : ",") + r;
  if (identities.empty())
    return "backup " + backup + " is encrypted (age, to " + names +
           ") and no decryption key was given: name a Secret holding a matching AGE-SECRET-KEY "
           "(arca restore create --decryption-key-secret NAME)";
  for (const auto& identity : identities) {
    std::string recipient;
    try {
      recipient = crypt::age_recipient_of(identity);
    } catch (const crypt::AgeError&) {
      continue;
    }
    if (std::find(recipients.begin(), recipients.end(), recipient) != recipients.end()) return "";
  }
  return "backup " + backup + " is encrypted to " + names + " and none of the " + std::to_string(identities.size()) +
         " decryption keys given matches (wrong key, or the backup predates a key rotation)";
}

namespace {

TempFile download_whole(store::ObjectStore& store, const std::string& key) {
  TempFile raw(std::tmpfile(), &std::fclose);
  if (!raw) throw StoreError(ErrorKind::Failed, "cannot create a temporary file to download " + key);
  download_to_file(store, key, raw.get());
  std::rewind(raw.get());
  return raw;
}

// Feeds a whole downloaded file (`raw`, at its start) to `sink` as it was before encryption.
void deliver_stored(std::FILE* raw, const std::string& what, const std::string& key,
                    const std::vector<std::string>& identities, const store::Writer& sink, std::string* stored_sha256) {
  crypt::Sha256 hash;
  std::string head;  // the first bytes, until it is known whether the file is age-encrypted
  std::unique_ptr<crypt::AgeDecryptor> decryptor;
  bool decided = false;
  auto deliver = [&](const char* data, size_t size) {
    if (decryptor) decryptor->write(data, size);
    else sink(data, size);
  };
  auto decide = [&] {
    decided = true;
    if (crypt::is_age(head)) decryptor = std::make_unique<crypt::AgeDecryptor>(identities, sink, what);
    deliver(head.data(), head.size());
  };
  std::vector<char> buffer(64 * 1024);
  while (size_t size = std::fread(buffer.data(), 1, buffer.size(), raw)) {
    const char* data = buffer.data();
    if (stored_sha256) hash.update(data, size);
    if (decided) {
      deliver(data, size);
      continue;
    }
    head.append(data, size);
    if (head.size() >= crypt::kAgeMagic.size()) decide();
  }
  if (std::ferror(raw)) throw StoreError(ErrorKind::Failed, "reading the download of " + key + " failed");
  if (!decided) decide();
  if (decryptor) decryptor->finish();
  if (stored_sha256) *stored_sha256 = crypt::hex(hash.finish());
}

}  // namespace

void get_backup_file(store::ObjectStore& store, const Layout& layout, const std::string& backup, BackupFile file,
                     const std::vector<std::string>& identities, const store::Writer& sink,
                     std::string* stored_sha256) {
  std::string key = backup_key(layout, backup, file);
  // Downloaded whole first, with download_to_file's retries: a truncated answer is then fetched again, where a
  // decryptor or a caller's sink fed as it streams could not be rewound.
  TempFile raw = download_whole(store, key);
  deliver_stored(raw.get(), store.describe() + "/" + key, key, identities, sink, stored_sha256);
}

TempFile fetch_backup_file(store::ObjectStore& store, const Layout& layout, const std::string& backup,
                           BackupFile file, const std::vector<std::string>& identities, std::string* stored_sha256) {
  std::string key = backup_key(layout, backup, file);
  TempFile raw = download_whole(store, key);
  std::string head(crypt::kAgeMagic.size(), '\0');
  head.resize(std::fread(head.data(), 1, head.size(), raw.get()));
  std::rewind(raw.get());
  if (!crypt::is_age(head)) {
    if (stored_sha256) {  // read back, not written again
      deliver_stored(raw.get(), key, key, {}, [](const char*, size_t) {}, stored_sha256);
      std::rewind(raw.get());
    }
    return raw;
  }
  TempFile plain(std::tmpfile(), &std::fclose);
  if (!plain) throw StoreError(ErrorKind::Failed, "cannot create a temporary file to decrypt " + key);
  deliver_stored(raw.get(), store.describe() + "/" + key, key, identities,
                 [&](const char* data, size_t size) {
                   if (std::fwrite(data, 1, size, plain.get()) != size)
                     throw StoreError(ErrorKind::Failed, "writing the decryption of " + key + " to a temporary file failed");
                 },
                 stored_sha256);
  if (std::fflush(plain.get()) != 0)
    throw StoreError(ErrorKind::Failed, "writing the decryption of " + key + " to a temporary file failed");
  std::rewind(plain.get());
  return plain;
}

const char* to_string(VerifyReport::Outcome outcome) {
  switch (outcome) {
    case VerifyReport::Outcome::Verified:
      return "Verified";
    case VerifyReport::Outcome::Unsigned:
      return "Unsigned";
    default:
      return "Failed";
  }
}

namespace {

std::string stored_digest(store::ObjectStore& store, const std::string& key) {
  crypt::Sha256 hash;
  store.get(key, [&](const char* data, size_t size) { hash.update(data, size); });
  return crypt::hex(hash.finish());
}

// A list (item_digests.h) of what a manifest written before the list was a file of its own held inline:
// "items", path → hex SHA-256. A value that is no digest is left out (its item is then reported).
std::string item_digest_list_of(const nlohmann::json& items) {
  std::string list = "arca-item-digests/1\n";
  auto nibble = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  for (const auto& [path, value] : items.items()) {
    const std::string hex = value.is_string() ? value.get<std::string>() : "";
    std::string raw;
    for (size_t i = 0; hex.size() == 64 && i < 64 && nibble(hex[i]) >= 0 && nibble(hex[i + 1]) >= 0; i += 2)
      raw.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
    if (raw.size() == 32) list += raw + '\0' + path + '\0';
  }
  return list;
}

// The items of the tarball, each parsed as JSON; an unversioned path (resources/R/{cluster|namespaces/NS}/N.json)
// is one backed-up item, as Velero counts them.
// With `signed_items` (the backup's per-item digests), each item's digest is checked too, naming the item.
int count_tarball_items(store::ObjectStore& store, const Layout& layout, const std::string& backup,
                        const std::vector<std::string>& identities, ItemDigestLookup* signed_items,
                        std::vector<std::string>& problems) {
  const std::string tarball_key = backup_key(layout, backup, BackupFile::Tarball);
  // Decrypted and gunzipped through a pipe of bounded chunks would need a thread; a temporary file keeps
  // memory flat instead.
  TempFile tmp = fetch_backup_file(store, layout, backup, BackupFile::Tarball, identities);
  archive::TarballReader reader([&](char* buffer, size_t capacity) { return std::fread(buffer, 1, capacity, tmp.get()); });
  int items = 0;
  while (auto entry = reader.next()) {
    std::string content = reader.read_content();
    if (signed_items) {
      auto expected = signed_items->take(entry->path);
      if (!expected)
        problems.push_back(tarball_key + ": item " + entry->path + " is not in the signed manifest (added later)");
      else if (*expected != crypt::hex(crypt::sha256(content)))
        problems.push_back(tarball_key + ": item " + entry->path +
                           ": SHA-256 differs from the signed manifest (the item was changed)");
    }
    if (!entry->path.starts_with("resources/")) continue;
    if (nlohmann::json::parse(content, nullptr, false).is_discarded()) {
      problems.push_back(backup_key(layout, backup, BackupFile::Tarball) + ": item " + entry->path + " is not JSON");
      continue;
    }
    std::vector<std::string> parts;
    for (size_t pos = 0;;) {
      size_t slash = entry->path.find('/', pos);
      parts.push_back(entry->path.substr(pos, slash - pos));
      if (slash == std::string::npos) break;
      pos = slash + 1;
    }
    if ((parts.size() == 4 && parts[2] == "cluster") || (parts.size() == 5 && parts[2] == "namespaces")) ++items;
  }
  if (signed_items)
    for (const auto& path : signed_items->untaken())
      problems.push_back(tarball_key + ": item " + path + " of the signed manifest is missing");
  return items;
}

}  // namespace

VerifyReport verify_backup(store::ObjectStore& store, const Layout& layout, const std::string& backup,
                           const VerifyOptions& options) {
  VerifyReport report;
  auto fail = [&](const std::string& problem) {
    report.problems.push_back(problem);
    if (report.message.empty()) report.message = "backup " + backup + " failed verification: " + problem;
  };
  const std::string dir = backup_dir(layout, backup);
  const std::string mkey = manifest_key(layout, backup);
  std::string metadata_text;
  try {
    metadata_text = read_backup_metadata(store, layout, backup);
  } catch (const StoreError& e) {
    if (e.kind() != ErrorKind::NotFound && e.kind() != ErrorKind::Failed) throw;
    fail(e.what());
    return report;
  }
  auto metadata = nlohmann::json::parse(metadata_text);
  std::string signed_by =
      metadata.value("/metadata/annotations"_json_pointer, nlohmann::json::object()).value(kAnnotationSignedBy, "");

  std::string stored_manifest;
  try {
    stored_manifest = store::get_string(store, mkey);
  } catch (const StoreError& e) {
    if (e.kind() != ErrorKind::NotFound) throw;
    if (!signed_by.empty()) {
      fail(mkey + ": missing, yet velero-backup.json says the backup was signed");
      return report;
    }
    report.outcome = VerifyReport::Outcome::Unsigned;
    report.message = "backup " + backup + " has no signed manifest (written by Velero, or by a location without "
                     "signing): it cannot be verified";
    return report;
  }
  auto envelope = nlohmann::json::parse(stored_manifest, nullptr, false);
  if (envelope.is_discarded() || !envelope.is_object() || !envelope.contains("manifest") ||
      !envelope["manifest"].is_string() || !envelope.contains("signature") || !envelope["signature"].is_string()) {
    fail(mkey + ": not an arca backup manifest");
    return report;
  }
  const std::string manifest_text = envelope["manifest"].get<std::string>();
  bool signature_checked = false;
  if (!options.public_key.empty()) {
    bool ok = false;
    try {
      ok = crypt::verify_ed25519(options.public_key, manifest_text, envelope["signature"].get<std::string>());
    } catch (const crypt::AgeError& e) {
      fail(std::string("the location's signingPublicKey: ") + e.what());
      return report;
    }
    if (!ok) {
      fail(mkey + ": the signature does not verify with the location's signingPublicKey (tampered with, or "
                  "signed by another key)");
      return report;
    }
    signature_checked = true;
  }
  auto manifest = nlohmann::json::parse(manifest_text, nullptr, false);
  if (manifest.is_discarded() || manifest.value("backup", "") != backup || !manifest.contains("objects") ||
      !manifest["objects"].is_object()) {
    fail(mkey + ": the manifest is malformed or names another backup");
    return report;
  }
  const auto& objects = manifest["objects"];
  for (const auto& object : store::list_all(store, dir).objects) {
    std::string name = object.key.substr(dir.size());
    if (object.key != mkey && !objects.contains(name)) fail(object.key + ": not in the signed manifest (added later)");
  }
  for (const auto& [name, entry] : objects.items()) {
    std::string key = dir + name;
    std::string expected = entry.value("sha256", "");
    std::string actual;
    auto known = options.known_digests.find(name);
    if (known != options.known_digests.end()) {
      actual = known->second;
    } else {
      try {
        actual = stored_digest(store, key);
      } catch (const StoreError& e) {
        if (e.kind() != ErrorKind::NotFound) throw;
        fail(key + ": missing");
        continue;
      }
    }
    ++report.objects;
    if (actual != expected) fail(key + ": SHA-256 differs from the signed manifest (the object was changed)");
  }
  if (options.deep && report.problems.empty()) {
    try {
      // The per-item digests: their own file, signed through its digest above (checked already); a manifest
      // written before that held them inline as "items" (path → hex).
      std::optional<ItemDigestLookup> signed_items;
      const std::string digests_key = backup_key(layout, backup, BackupFile::ItemDigests);
      if (objects.contains(digests_key.substr(dir.size()))) {
        std::string list;
        get_backup_file(store, layout, backup, BackupFile::ItemDigests, options.identities,
                        [&](const char* data, size_t size) { list.append(data, size); });
        signed_items.emplace(std::move(list), digests_key);
      } else if (manifest.contains("items") && manifest["items"].is_object()) {
        signed_items.emplace(item_digest_list_of(manifest["items"]), mkey);
      }
      report.items = count_tarball_items(store, layout, backup, options.identities,
                                         signed_items ? &*signed_items : nullptr, report.problems);
      for (BackupFile file : {BackupFile::Logs, BackupFile::ItemOperations, BackupFile::ResourceList,
                              BackupFile::Results, BackupFile::VolumeInfo, BackupFile::PodVolumeBackups,
                              BackupFile::VolumeSnapshots}) {
        std::string key = backup_key(layout, backup, file);
        if (!objects.contains(key.substr(dir.size()))) continue;
        std::string gz;
        get_backup_file(store, layout, backup, file, options.identities,
                        [&](const char* data, size_t size) { gz.append(data, size); });
        std::string text = gunzip_bytes(gz, key);
        if (file != BackupFile::Logs && nlohmann::json::parse(text, nullptr, false).is_discarded())
          fail(key + ": not JSON after decompression");
      }
      auto expected = metadata.value("/status/progress/itemsBackedUp"_json_pointer, -1);
      if (expected >= 0 && expected != report.items)
        fail(backup_key(layout, backup, BackupFile::Tarball) + ": holds " + std::to_string(report.items) +
             " items, velero-backup.json says " + std::to_string(expected));
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }
  if (!report.problems.empty()) {
    report.outcome = VerifyReport::Outcome::Failed;
    if (report.message.empty()) report.message = "backup " + backup + " failed verification: " + report.problems[0];
    return report;
  }
  std::string what = std::to_string(report.objects) + " objects" +
                     (options.deep ? ", " + std::to_string(report.items) + " items" : std::string());
  if (signature_checked) {
    report.outcome = VerifyReport::Outcome::Verified;
    report.message = "backup " + backup + " verified: signature valid, " + what + " match the signed manifest";
  } else {
    report.outcome = VerifyReport::Outcome::Unsigned;
    report.message = "backup " + backup + ": " + what + " match its manifest, but the signature was not checked "
                     "(the location has no signingPublicKey)";
  }
  return report;
}

}  // namespace arca::persistence
