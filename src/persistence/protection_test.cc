// Encrypted and signed backups in a local store: no plaintext of a Secret in any stored object, Debian's age
// CLI decrypts them, key rotation, and one flipped byte in any object fails verification naming it.
#include <gtest/gtest.h>

#include <filesystem>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "archive/tarball_reader.h"
#include "archive/tarball_writer.h"
#include "crypt/age.h"
#include "crypt/primitives.h"
#include "crypt/sign.h"
#include "persistence/backup_store.h"
#include "persistence/item_digests.h"
#include "persistence/protection.h"
#include "store/location.h"
#include "tests/support/process.h"

namespace arca::persistence {
namespace {

using testsupport::TempDir;
namespace fs = std::filesystem;

constexpr const char* kCanary = "canary-s3cr3t-9d1f6a";

std::string metadata(const std::string& name, int items, const std::string& annotations_json = "{}") {
  return R"({"kind":"Backup","apiVersion":"velero.io/v1","metadata":{"name":")" + name +
         R"(","annotations":)" + annotations_json + R"(},"status":{"phase":"Completed","progress":{"itemsBackedUp":)" +
         std::to_string(items) + "}}}";
}

// A real tarball holding a Secret (its value base64'd, as the API serves it) and a ConfigMap (plain), and its
// per-item digests, listed as the backup engine lists them: while the tarball is written.
struct Tarball {
  std::string gz, item_digests;
};
Tarball tarball() {
  Tarball out;
  ItemDigestList list;
  archive::TarballOptions options;
  options.on_content = [&](std::span<const std::string_view> paths, std::string_view content) {
    list.add(paths, content);
  };
  archive::TarballWriter writer([&](const char* data, size_t size) { out.gz.append(data, size); }, options);
  std::string b64 = crypt::base64_encode(kCanary, true);
  writer.add_item({"secrets", "app", "db"}, "v1", true,
                  R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"app"},"data":{"password":")" +
                      b64 + R"("}})");
  writer.add_item({"configmaps", "app", "cfg"}, "v1", true,
                  std::string(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","namespace":"app"},"data":{"k":")") +
                      kCanary + R"("}})");
  writer.finish();
  std::FILE* file = list.finish();
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, file)) out.item_digests.append(buffer, n);
  return out;
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<store::ObjectStore> store;
  Layout layout = make_layout("pre");
  crypt::AgeKeyPair age = crypt::generate_age_identity();
  crypt::SigningKeyPair signing = crypt::generate_signing_key();
  Tarball tar = tarball();

  Fixture() {
    fs::create_directories(dir.file("root/bucket"));
    store::LocationConfig location{"local", "bucket", {{"root", dir.file("root")}}, ""};
    store = store::open_store(location);
  }
  WriteProtection protection(const std::vector<std::string>& recipients) {
    return {recipients, signing.private_key};
  }
  void put(const std::string& name, const WriteProtection& protection) {
    BackupUpload u;
    u.name = name;
    std::string annotations = "{\"" + std::string(kAnnotationEncryptedTo) + "\":\"";
    for (size_t i = 0; i < protection.recipients.size(); ++i) annotations += (i ? "," : "") + protection.recipients[i];
    annotations += "\"";
    if (!protection.signing_private_key.empty())
      annotations += ",\"" + std::string(kAnnotationSignedBy) + "\":\"" + signing.public_key + "\"";
    annotations += "}";
    u.metadata_json = metadata(name, 2, annotations);
    u.tarball = store::string_reader(tar.gz);
    u.item_digests = store::string_reader(tar.item_digests);
    u.log_text = std::string("level=info msg=\"backed up secret with ") + kCanary + "\"\n";
    u.results_json = std::string(R"({"errors":{},"warnings":{"namespaces":{"app":[")") + kCanary + "\"]}}}";
    std::string list = std::string(R"({"v1/Secret":["app/)") + kCanary + "\"]}";
    u.resource_list = store::string_reader(list);
    put_backup(*store, layout, u, protection);
  }
  std::string path_of(const std::string& key) { return dir.file("root/bucket/" + key); }
  std::vector<std::string> keys(const std::string& backup) {
    std::vector<std::string> out;
    for (const auto& o : store::list_all(*store, backup_dir(layout, backup)).objects) out.push_back(o.key);
    return out;
  }
};

bool gunzip_contains(const std::string& bytes, const std::string& needle) {
  try {
    return gunzip_bytes(bytes, "x").find(needle) != std::string::npos;
  } catch (const store::StoreError&) {
    return false;  // not gzip (ciphertext): nothing to find in it
  }
}

TEST(Protection, EncryptedObjectsHoldNoPlaintextAndAgeCliDecryptsThem) {
  Fixture f;
  f.put("b1", f.protection({f.age.recipient}));
  std::string b64 = crypt::base64_encode(kCanary, true);
  int encrypted = 0;
  for (const auto& key : f.keys("b1")) {
    std::string bytes = testsupport::read_file(f.path_of(key));
    EXPECT_EQ(bytes.find(kCanary), std::string::npos) << key;
    EXPECT_EQ(bytes.find(b64), std::string::npos) << key;
    EXPECT_FALSE(gunzip_contains(bytes, kCanary)) << key;
    EXPECT_FALSE(gunzip_contains(bytes, b64)) << key;
    if (crypt::is_age(bytes)) ++encrypted;
  }
  // tarball, logs, item operations, resource list, results, volume info, item digests
  EXPECT_EQ(encrypted, 7);
  // The plaintext manifest signs the item digests' file, and names no item: the names are encrypted too.
  std::string manifest = testsupport::read_file(f.path_of(manifest_key(f.layout, "b1")));
  EXPECT_NE(manifest.find("b1-arca-item-digests.bin"), std::string::npos) << manifest;
  EXPECT_EQ(manifest.find("cfg"), std::string::npos) << manifest;
  EXPECT_EQ(manifest.find("resources/"), std::string::npos) << manifest;
  // The same data in a plain backup is found, so the search above could have failed.
  f.put("plain", {});
  std::string plain_tar = testsupport::read_file(f.path_of(backup_key(f.layout, "plain", BackupFile::Tarball)));
  EXPECT_TRUE(gunzip_contains(plain_tar, b64));
  EXPECT_FALSE(fs::exists(f.path_of(manifest_key(f.layout, "plain")))) << "an unprotected backup gets no extra file";

  // velero-backup.json stays readable and names the recipient.
  std::string meta = read_backup_metadata(*f.store, f.layout, "b1");
  EXPECT_EQ(backup_recipients(meta), std::vector<std::string>{f.age.recipient});
  EXPECT_EQ(list_backups(*f.store, f.layout), (std::vector<std::string>{"b1", "plain"}));

  // Debian's age decrypts the tarball and the log with the identity.
  std::ofstream(f.dir.file("key")) << "# created by the test\n" << f.age.identity << "\n";
  for (BackupFile file : {BackupFile::Tarball, BackupFile::Logs, BackupFile::Results}) {
    std::string in = f.path_of(backup_key(f.layout, "b1", file));
    std::string cmd = "age -d -i " + f.dir.file("key") + " -o " + f.dir.file("out.gz") + " " + in + " 2>" +
                      f.dir.file("age.err");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << testsupport::read_file(f.dir.file("age.err"));
    std::string gz = testsupport::read_file(f.dir.file("out.gz"));
    EXPECT_TRUE(gunzip_contains(gz, file == BackupFile::Tarball ? b64 : std::string(kCanary))) << in;
  }
  // And arca reads them back with the identity, and fails in one line without it.
  auto results = read_backup_gzip_file(*f.store, f.layout, "b1", BackupFile::Results, {f.age.identity});
  ASSERT_TRUE(results);
  EXPECT_NE(results->find(kCanary), std::string::npos);
  try {
    read_backup_gzip_file(*f.store, f.layout, "b1", BackupFile::Results, {crypt::generate_age_identity().identity});
    FAIL() << "a wrong key decrypted";
  } catch (const crypt::AgeError& e) {
    EXPECT_NE(std::string(e.what()).find("wrong decryption key"), std::string::npos) << e.what();
  }
}

TEST(Protection, KeyRotationKeepsOldBackupsReadableWithTheOldKey) {
  Fixture f;
  auto old_key = f.age;
  f.put("before", f.protection({old_key.recipient}));
  auto new_key = crypt::generate_age_identity();
  f.put("after", f.protection({new_key.recipient}));
  auto read = [&](const std::string& b, const std::string& identity) {
    std::string gz;
    get_backup_file(*f.store, f.layout, b, BackupFile::Tarball, {identity},
                    [&](const char* d, size_t n) { gz.append(d, n); });
    return gz;
  };
  EXPECT_EQ(read("before", old_key.identity), f.tar.gz);
  EXPECT_EQ(read("after", new_key.identity), f.tar.gz);
  EXPECT_THROW(read("before", new_key.identity), crypt::AgeError);
  auto before = backup_recipients(read_backup_metadata(*f.store, f.layout, "before"));
  EXPECT_EQ(identity_mismatch("before", before, {old_key.identity}), "");
  std::string mismatch = identity_mismatch("before", before, {new_key.identity});
  EXPECT_NE(mismatch.find(old_key.recipient), std::string::npos) << mismatch;
  EXPECT_NE(identity_mismatch("before", before, {}).find("--decryption-key-secret"), std::string::npos);
}

// Bytes this process has handed to write(2) and friends so far (/proc/self/io's wchar): files, not sockets.
long long bytes_written() {
  std::ifstream io("/proc/self/io");
  std::string field;
  long long value = 0;
  while (io >> field >> value)
    if (field == "wchar:") return value;
  return -1;
}

TEST(Protection, AFetchedTarballIsWrittenToDiskOnce) {
  Fixture f;
  std::string big(24 << 20, '\0');
  uint64_t x = 88172645463325252ull;  // xorshift: incompressible, so nothing on the way shrinks it
  for (size_t i = 0; i < big.size(); i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(&big[i], &x, 8);
  }
  f.tar.gz = big;  // its item digests no longer match: nothing here verifies deeply
  f.put("plain", f.protection({}));
  f.put("sealed", f.protection({f.age.recipient}));
  auto read_all = [](std::FILE* file) {
    std::string out(1 << 16, '\0'), all;
    while (size_t n = std::fread(out.data(), 1, out.size(), file)) all.append(out.data(), n);
    return all;
  };
  auto size = static_cast<long long>(big.size());

  // The peer: what a restore did before, get_backup_file's download and then its own copy.
  long long before = bytes_written();
  {
    TempFile copy(std::tmpfile(), &std::fclose);
    get_backup_file(*f.store, f.layout, "plain", BackupFile::Tarball, {},
                    [&](const char* d, size_t n) { ASSERT_EQ(std::fwrite(d, 1, n, copy.get()), n); });
    std::fflush(copy.get());
  }
  long long twice = bytes_written() - before;

  before = bytes_written();
  std::string digest;
  TempFile plain = fetch_backup_file(*f.store, f.layout, "plain", BackupFile::Tarball, {}, &digest);
  long long once = bytes_written() - before;
  std::cout << "tarball of " << size << " bytes: " << twice << " bytes written by download+copy, " << once
            << " by fetch_backup_file\n";
  EXPECT_GE(twice, 2 * size);
  EXPECT_GE(once, size);
  EXPECT_LT(once, size + size / 10);
  EXPECT_TRUE(read_all(plain.get()) == big);
  EXPECT_EQ(digest, crypt::hex(crypt::sha256(big)));

  // Encrypted: the ciphertext and the plaintext, each once; the digest is of what is stored.
  TempFile sealed = fetch_backup_file(*f.store, f.layout, "sealed", BackupFile::Tarball, {f.age.identity}, &digest);
  EXPECT_TRUE(read_all(sealed.get()) == big);
  std::string stored = testsupport::read_file(f.path_of(backup_key(f.layout, "sealed", BackupFile::Tarball)));
  EXPECT_EQ(digest, crypt::hex(crypt::sha256(stored)));
}

TEST(Protection, VerifyPassesUntouchedAndNamesAnyChangedObject) {
  Fixture f;
  f.put("b1", f.protection({f.age.recipient}));
  VerifyOptions options;
  options.public_key = f.signing.public_key;
  auto ok = verify_backup(*f.store, f.layout, "b1", options);
  EXPECT_EQ(ok.outcome, VerifyReport::Outcome::Verified) << ok.message;
  auto keys = f.keys("b1");
  EXPECT_EQ(ok.objects, static_cast<int>(keys.size()) - 1);  // every object but the manifest itself
  options.deep = true;
  options.identities = {f.age.identity};
  auto deep = verify_backup(*f.store, f.layout, "b1", options);
  EXPECT_EQ(deep.outcome, VerifyReport::Outcome::Verified) << deep.message;
  EXPECT_EQ(deep.items, 2);
  options.deep = false;

  for (const auto& key : keys) {
    std::string path = f.path_of(key), original = testsupport::read_file(path);
    for (size_t at : {original.size() / 2, original.size() - 1}) {
      std::string changed = original;
      changed[at] ^= 0x01;
      std::ofstream(path, std::ios::binary | std::ios::trunc) << changed;
      auto report = verify_backup(*f.store, f.layout, "b1", options);
      EXPECT_EQ(report.outcome, VerifyReport::Outcome::Failed) << key << " at " << at;
      EXPECT_NE(report.message.find(key), std::string::npos) << report.message;
    }
    std::ofstream(path, std::ios::binary | std::ios::trunc) << original;
  }
  // An object added to the backup's directory, a manifest signed by another key, a deleted object.
  store::put_string(*f.store, backup_dir(f.layout, "b1") + "extra.json", "{}");
  EXPECT_NE(verify_backup(*f.store, f.layout, "b1", options).message.find("extra.json: not in the signed manifest"),
            std::string::npos);
  f.store->remove(backup_dir(f.layout, "b1") + "extra.json");
  VerifyOptions stranger;
  stranger.public_key = crypt::generate_signing_key().public_key;
  EXPECT_EQ(verify_backup(*f.store, f.layout, "b1", stranger).outcome, VerifyReport::Outcome::Failed);
  f.store->remove(backup_key(f.layout, "b1", BackupFile::Results));
  auto missing = verify_backup(*f.store, f.layout, "b1", options);
  EXPECT_NE(missing.message.find("b1-results.gz: missing"), std::string::npos) << missing.message;
}

// An item rewritten inside the tarball, the tarball re-gzipped and the manifest's per-object digest recomputed
// and re-signed with the real key: the object digests all match, so only the per-item digests can tell, and
// `verify --deep` names the item.
TEST(Protection, DeepVerifyNamesAnItemChangedInsideARegzippedTarball) {
  Fixture f;
  f.put("b2", f.protection({}));  // signed, not encrypted: the tarball is plain gzip
  const std::string tar_key = backup_key(f.layout, "b2", BackupFile::Tarball);
  const std::string cfg_item = "resources/configmaps/namespaces/app/cfg.json";
  std::string envelope_text = testsupport::read_file(f.path_of(manifest_key(f.layout, "b2")));
  auto envelope = nlohmann::json::parse(envelope_text);
  auto manifest = nlohmann::json::parse(envelope["manifest"].get<std::string>());
  const std::string digests_key = backup_key(f.layout, "b2", BackupFile::ItemDigests);
  ASSERT_TRUE(manifest["objects"].contains(digests_key.substr(backup_dir(f.layout, "b2").size()))) << manifest.dump();
  // Every file of the tarball has its digest, and it is the digest of its content.
  std::string listed = testsupport::read_file(f.path_of(digests_key));
  ItemDigestLookup lookup(listed, "item digests");
  std::string stored = testsupport::read_file(f.path_of(tar_key));
  std::string tar = gunzip_bytes(stored, "tarball");
  size_t files = 0;
  archive::TarballReader reader([&, at = size_t{0}](char* out, size_t capacity) mutable {  // it gunzips itself
    size_t n = stored.copy(out, capacity, at);
    at += n;
    return n;
  });
  while (auto entry = reader.next()) {
    ++files;
    auto hex = lookup.take(entry->path);
    ASSERT_TRUE(hex) << entry->path;
    EXPECT_EQ(*hex, crypt::hex(crypt::sha256(reader.read_content()))) << entry->path;
  }
  EXPECT_EQ(files, 5u);  // metadata/version, two items and their preferred-version copies
  EXPECT_TRUE(lookup.untaken().empty()) << listed;

  // The attack: same length, valid JSON, same item count.
  size_t at = tar.find(kCanary);
  ASSERT_NE(at, std::string::npos);
  std::string forged = tar;
  forged.replace(at, std::strlen(kCanary), std::string(std::strlen(kCanary), 'X'));
  std::string forged_gz = gzip_bytes(forged);
  std::ofstream(f.path_of(tar_key), std::ios::binary | std::ios::trunc) << forged_gz;
  manifest["objects"][tar_key.substr(backup_dir(f.layout, "b2").size())] = {
      {"sha256", crypt::hex(crypt::sha256(forged_gz))}, {"size", forged_gz.size()}};
  std::string text = manifest.dump();
  envelope["manifest"] = text;
  envelope["signature"] = crypt::sign_ed25519(f.signing.private_key, text);
  std::ofstream(f.path_of(manifest_key(f.layout, "b2")), std::ios::binary | std::ios::trunc) << envelope.dump(2);

  VerifyOptions options;
  options.public_key = f.signing.public_key;
  auto shallow = verify_backup(*f.store, f.layout, "b2", options);
  EXPECT_EQ(shallow.outcome, VerifyReport::Outcome::Verified) << "the object digests cannot see it: " << shallow.message;
  options.deep = true;
  auto deep = verify_backup(*f.store, f.layout, "b2", options);
  EXPECT_EQ(deep.outcome, VerifyReport::Outcome::Failed) << deep.message;
  EXPECT_NE(deep.message.find("item " + cfg_item + ": SHA-256 differs from the signed manifest"), std::string::npos)
      << deep.message;
  EXPECT_EQ(deep.items, 2) << "the count alone could not tell";
  for (const auto& problem : deep.problems) EXPECT_EQ(problem.find("secrets"), std::string::npos) << problem;
}

// The list holds one record per content (an item's preferred-version copy is implied), about 40 bytes an item
// for realistic paths; its reader finds entries out of order, names what the tarball lacks, and refuses a list
// cut short or of another format.
TEST(Protection, ItemDigestListIsCompactAndItsReaderNamesWhatIsMissing) {
  ItemDigestList list;
  std::vector<std::string> paths;
  for (int ns = 0; ns < 10; ++ns)
    for (int i = 0; i < 100; ++i) {
      std::string item = "resources/configmaps/namespaces/ns-" + std::to_string(ns) + "/config-" + std::to_string(i) + ".json";
      std::string copy = "resources/configmaps/v1-preferredversion/namespaces/ns-" + std::to_string(ns) + "/config-" +
                         std::to_string(i) + ".json";
      const std::string_view both[] = {item, copy};
      list.add(both, item + " content");
      paths.push_back(item);
    }
  const std::string_view other[] = {"resources/a/cluster/x.json", "resources/b/cluster/x.json"};  // no copy
  list.add(other, "same bytes");
  std::string bytes;
  std::FILE* file = list.finish();
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, file)) bytes.append(buffer, n);
  EXPECT_LT(bytes.size(), 1002u * 48) << "about 40 bytes an item";

  ItemDigestLookup lookup(bytes, "list");
  EXPECT_EQ(lookup.take(paths[0]), crypt::hex(crypt::sha256(paths[0] + " content")));
  EXPECT_EQ(lookup.take("resources/configmaps/v1-preferredversion/namespaces/ns-0/config-0.json"),
            crypt::hex(crypt::sha256(paths[0] + " content")));
  EXPECT_EQ(lookup.take(paths[500]), crypt::hex(crypt::sha256(paths[500] + " content")));  // ahead of order
  EXPECT_EQ(lookup.take(paths[2]), crypt::hex(crypt::sha256(paths[2] + " content")));      // read past before
  EXPECT_EQ(lookup.take("resources/b/cluster/x.json"), crypt::hex(crypt::sha256("same bytes")));
  EXPECT_FALSE(lookup.take("resources/configmaps/namespaces/ns-0/not-listed.json"));
  EXPECT_FALSE(lookup.take(paths[2])) << "each path once";
  auto untaken = lookup.untaken();
  EXPECT_EQ(untaken.size(), 1000u - 3 + 1);
  EXPECT_EQ(untaken.front(), paths[1]);
  EXPECT_EQ(untaken.back(), "resources/a/cluster/x.json");

  EXPECT_THROW(ItemDigestLookup("something else", "list"), std::runtime_error);
  ItemDigestLookup cut(bytes.substr(0, bytes.size() / 2), "list");
  try {
    cut.untaken();
    FAIL() << "a list cut in half was read whole";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("list: record at byte"), std::string::npos) << e.what();
  }
}

// The hashing runs on its own thread, a batch of contents at a time: over many batches (and a content larger
// than a batch) every record still comes out in order, with the digest of its own content.
TEST(Protection, ItemDigestListKeepsOrderAcrossItsHashingThread) {
  ItemDigestList list;
  std::vector<std::string> paths, contents;
  for (int i = 0; i < 20000; ++i) {
    paths.push_back("resources/secrets/namespaces/ns-" + std::to_string(i % 7) + "/s-" + std::to_string(i) + ".json");
    contents.push_back(std::string(i % 300, 'x') + std::to_string(i));
    if (i == 12345) contents.back() = std::string(3 << 20, 'y');  // 3 MiB: a batch of its own
    const std::string_view one[] = {paths.back()};
    list.add(one, contents.back());
  }
  std::string bytes;
  std::FILE* file = list.finish();
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, file)) bytes.append(buffer, n);
  ItemDigestLookup lookup(bytes, "list");
  for (size_t i = 0; i < paths.size(); ++i)
    ASSERT_EQ(lookup.take(paths[i]), crypt::hex(crypt::sha256(contents[i]))) << paths[i];
  EXPECT_TRUE(lookup.untaken().empty()) << "nothing out of order, nothing extra";
}

TEST(Protection, UnsignedBackupsSayTheyCannotBeVerified) {
  Fixture f;
  f.put("velero-written", {});
  VerifyOptions options;
  options.public_key = f.signing.public_key;
  auto report = verify_backup(*f.store, f.layout, "velero-written", options);
  EXPECT_EQ(report.outcome, VerifyReport::Outcome::Unsigned);
  EXPECT_NE(report.message.find("cannot be verified"), std::string::npos) << report.message;
  // A backup whose metadata says it was signed but whose manifest is gone is not "unsigned".
  f.put("signed", f.protection({}));
  f.store->remove(manifest_key(f.layout, "signed"));
  auto stripped = verify_backup(*f.store, f.layout, "signed", options);
  EXPECT_EQ(stripped.outcome, VerifyReport::Outcome::Failed);
  EXPECT_NE(stripped.message.find("signed-arca-manifest.json: missing"), std::string::npos) << stripped.message;
}

}  // namespace
}  // namespace arca::persistence

namespace arca::persistence {
namespace {

// The local driver's immutable mode refuses and counts overwrites and early deletes, so a test of a whole
// cycle can assert there were none; a protected backup is written into it without one.
TEST(ImmutableLocal, RefusesAndCountsOverwritesAndEarlyDeletes) {
  TempDir dir;
  fs::create_directories(dir.file("root/locked"));
  store::LocationConfig location{"local", "locked", {{"root", dir.file("root")}, {"objectLockRetention", "2s"}}, ""};
  auto store = store::open_store(location);
  std::string violations = dir.file("root/locked.lock-violations");

  BackupUpload u;
  u.name = "b1";
  u.metadata_json = R"({"kind":"Backup","apiVersion":"velero.io/v1","metadata":{"name":"b1"}})";
  std::string tar = "tarball";
  u.tarball = store::string_reader(tar);
  put_backup(*store, make_layout(""), u, {{crypt::generate_age_identity().recipient}, crypt::generate_signing_key().private_key});
  EXPECT_FALSE(fs::exists(violations)) << testsupport::read_file(violations);

  auto kind_of = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const store::StoreError& e) {
      return e.kind();
    }
    return store::ErrorKind::Failed;
  };
  std::string key = backup_key(make_layout(""), "b1", BackupFile::Metadata);
  EXPECT_EQ(kind_of([&] { store::put_string(*store, key, "{}"); }), store::ErrorKind::AccessDenied);
  EXPECT_EQ(kind_of([&] { store->remove(key); }), store::ErrorKind::AccessDenied);
  EXPECT_EQ(testsupport::read_file(violations), "overwrite " + key + "\nearly-delete " + key + "\n");
  EXPECT_TRUE(store->head(key).exists);
  // Once the lock has passed, deleting is allowed (and not counted).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool deleted = false;
  while (!deleted && std::chrono::steady_clock::now() < deadline) {
    std::string before = testsupport::read_file(violations);
    try {
      delete_backup(*store, make_layout(""), "b1");
      deleted = true;
    } catch (const store::StoreError&) {
      std::ofstream(violations, std::ios::trunc) << before;  // the retries' own refusals are not the point here
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  EXPECT_TRUE(deleted);
  EXPECT_FALSE(store->head(key).exists);
}

}  // namespace
}  // namespace arca::persistence
