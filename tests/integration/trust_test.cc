// Encrypted, signed backups end to end (kubelite, `arca server`, the `arca` CLI, Debian's age CLI): no
// plaintext of a Secret in the bucket, age decrypts the tarball, restore needs the key and refuses a tampered
// backup naming the object, key rotation, and an unsigned (Velero-style) backup restores with a warning.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "crypt/age.h"
#include "crypt/primitives.h"
#include "crypt/sign.h"
#include "kube/errors.h"
#include "tests/integration/harness.h"

using integration::Cluster;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kCanary = "canary-pw-5f0c2e71";

std::string manifests() {
  std::string b64 = arca::crypt::base64_encode(kCanary, true);
  return std::string(R"(
apiVersion: v1
kind: Namespace
metadata: {name: velero}
---
apiVersion: v1
kind: Namespace
metadata: {name: vault}
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: vault}
type: Opaque
data: {password: )") + b64 + R"(}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: vault}
data: {note: )" + kCanary + R"(}
)";
}

Cluster* cluster = nullptr;
arca::crypt::AgeKeyPair* age_key = nullptr;
arca::crypt::SigningKeyPair* signing = nullptr;

std::string one_line(const std::string& s) { return s.substr(0, s.find('\n')); }

class Trust : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster = new Cluster({{"00-vault.yaml", manifests()}});
    age_key = new arca::crypt::AgeKeyPair(arca::crypt::generate_age_identity());
    signing = new arca::crypt::SigningKeyPair(arca::crypt::generate_signing_key());
    auto secrets = cluster->resource("", "secrets");
    cluster->client().create(secrets, "velero",
                             {{"apiVersion", "v1"}, {"kind", "Secret"},
                              {"metadata", {{"name", "arca-signing"}, {"namespace", "velero"}}},
                              {"stringData", {{"signing-key", signing->private_key}}}});
    cluster->client().create(secrets, "velero",
                             {{"apiVersion", "v1"}, {"kind", "Secret"},
                              {"metadata", {{"name", "backup-key"}, {"namespace", "velero"}}},
                              {"stringData", {{"key.txt", "# age key\n" + age_key->identity + "\n"}}}});
    // Its own bucket: the default location would see a stray top-level directory in a shared one.
    fs::create_directories(cluster->store_root() + "/sealed");
    auto bsl = cluster->arca({"backup-location", "create", "sealed", "--provider", "local", "--bucket", "sealed",
                              "--config",
                              "root=" + cluster->store_root() + ",encryptionRecipients=" + age_key->recipient +
                                  ",signingPublicKey=" + signing->public_key + ",signingKeySecret=arca-signing"});
    ASSERT_EQ(bsl.exit_code, 0) << bsl.err;
    wait_available("sealed");
    std::ofstream(key_file()) << "# created: by the test\n# public key: " << age_key->recipient << "\n"
                              << age_key->identity << "\n";
  }
  static void TearDownTestSuite() {
    delete cluster;
    delete age_key;
    delete signing;
  }
  static std::string key_file() { return cluster->store_root() + "/../age-key.txt"; }
  static void wait_available(const std::string& bsl) {
    for (int i = 0; i < 100; ++i) {
      auto get = cluster->arca({"backup-location", "get", bsl, "-o", "json"});
      if (get.exit_code == 0 && json::parse(get.out).value("/status/phase"_json_pointer, "") == "Available") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "BSL " << bsl << " did not become Available: " << cluster->server().log();
  }
  static std::string sealed_dir(const std::string& backup) { return cluster->store_root() + "/sealed/backups/" + backup; }
  static void backup(const std::string& name, const std::string& location) {
    auto r = cluster->arca({"backup", "create", name, "--include-namespaces", "vault", "--storage-location", location,
                            "--wait"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_NE(r.out.find("Completed"), std::string::npos) << r.out << cluster->server().log();
  }
  // `arca restore create NAME --from-backup B ARGS --wait`; the finished Restore object.
  static json restore(const std::string& name, const std::string& from, std::vector<std::string> args = {}) {
    std::vector<std::string> argv = {"restore", "create", name, "--from-backup", from, "--wait"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = cluster->arca(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return cluster->client().get(cluster->resource("velero.io", "restores"), "velero", name);
  }
  static bool vault_exists() {
    try {
      cluster->client().get(cluster->resource("", "namespaces"), "", "vault");
      return true;
    } catch (const arca::kube::KubeError& e) {
      if (arca::kube::is_not_found(e)) return false;
      throw;
    }
  }
  static void delete_vault() {
    cluster->client().remove(cluster->resource("", "namespaces"), "", "vault");
    for (int i = 0; i < 200 && vault_exists(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_FALSE(vault_exists());
  }
  static bool gunzip_contains(const std::string& bytes, const std::string& needle) {
    try {
      return integration::gunzip(bytes).find(needle) != std::string::npos;
    } catch (const std::exception&) {
      return false;
    }
  }
};

TEST_F(Trust, EncryptedSignedBackupRoundTrip) {
  backup("enc1", "sealed");
  // 1. No stored object holds the Secret's value, raw or decompressed.
  std::string b64 = arca::crypt::base64_encode(kCanary, true);
  int files = 0;
  for (const auto& entry : fs::directory_iterator(sealed_dir("enc1"))) {
    std::string bytes = testsupport::read_file(entry.path());
    ++files;
    for (const std::string& needle : {std::string(kCanary), b64}) {
      EXPECT_EQ(bytes.find(needle), std::string::npos) << entry.path();
      EXPECT_FALSE(gunzip_contains(bytes, needle)) << entry.path();
    }
  }
  EXPECT_GE(files, 9);  // Velero's eight files and the signed manifest
  // 2. velero-backup.json is readable and says how the backup is protected; the Backup object says it too.
  json meta = json::parse(testsupport::read_file(sealed_dir("enc1") + "/velero-backup.json"));
  EXPECT_EQ(meta["metadata"]["annotations"]["arca.dev/encrypted-to"], age_key->recipient);
  EXPECT_EQ(meta["metadata"]["annotations"]["arca.dev/signed-by"], signing->public_key);
  EXPECT_EQ(cluster->get_backup("enc1")["metadata"]["annotations"]["arca.dev/encrypted-to"], age_key->recipient);
  // 3. Debian's age decrypts the tarball with the identity file; inside is the Secret.
  std::string out = cluster->store_root() + "/../enc1.tar.gz";
  std::string cmd = "age -d -i " + key_file() + " -o " + out + " " + sealed_dir("enc1") + "/enc1.tar.gz";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_TRUE(gunzip_contains(testsupport::read_file(out), b64));

  // The log is encrypted too: the CLI says so in one line rather than printing ciphertext or "corrupt".
  auto logs = cluster->arca({"backup", "logs", "enc1"});
  EXPECT_NE(logs.exit_code, 0);
  EXPECT_NE(logs.err.find("encrypted with age"), std::string::npos) << logs.out << logs.err;
  EXPECT_EQ(logs.out.find(kCanary), std::string::npos);
  EXPECT_NE(logs.err.find("--decryption-key-file"), std::string::npos) << logs.err;
  logs = cluster->arca({"backup", "logs", "enc1", "--decryption-key-file", key_file()});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("enc1"), std::string::npos) << logs.out;

  // 4. verify, plain and deep.
  auto v = cluster->arca({"backup", "verify", "enc1"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("verified: signature valid"), std::string::npos) << v.out;
  auto deep = cluster->arca({"backup", "verify", "enc1", "--deep", "--decryption-key-secret", "backup-key"});
  EXPECT_EQ(deep.exit_code, 0) << deep.out << deep.err;
  EXPECT_NE(deep.out.find(" items"), std::string::npos) << deep.out;

  delete_vault();
  // 5. Without a key: Failed in one line, nothing created.
  json nokey = restore("r-nokey", "enc1");
  EXPECT_EQ(nokey["status"]["phase"], "Failed");
  std::string reason = nokey["status"].value("failureReason", "");
  EXPECT_NE(reason.find("is encrypted"), std::string::npos) << reason;
  EXPECT_NE(reason.find("--decryption-key-secret"), std::string::npos) << reason;
  EXPECT_EQ(reason.find('\n'), std::string::npos);
  EXPECT_FALSE(vault_exists());
  // A wrong key (from a file): Failed, and the transient Secret holding it is gone afterwards.
  std::string wrong = cluster->store_root() + "/../wrong-key.txt";
  std::ofstream(wrong) << arca::crypt::generate_age_identity().identity << "\n";
  json wrong_key = restore("r-wrongkey", "enc1", {"--decryption-key-file", wrong});
  EXPECT_EQ(wrong_key["status"]["phase"], "Failed");
  EXPECT_NE(wrong_key["status"].value("failureReason", "").find("none of the 1 decryption keys"), std::string::npos)
      << wrong_key["status"].value("failureReason", "");
  EXPECT_FALSE(vault_exists());
  EXPECT_THROW(cluster->client().get(cluster->resource("", "secrets"), "velero", "r-wrongkey-decryption-key"),
               arca::kube::KubeError);

  // 6. One flipped byte in a stored object: verify and restore fail naming it, nothing is created.
  std::string results = sealed_dir("enc1") + "/enc1-results.gz";
  std::string original = testsupport::read_file(results);
  std::string changed = original;
  changed[changed.size() / 2] ^= 0x20;
  std::ofstream(results, std::ios::binary | std::ios::trunc) << changed;
  auto bad = cluster->arca({"backup", "verify", "enc1"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find("enc1-results.gz"), std::string::npos) << bad.out;
  json tampered = restore("r-tampered", "enc1", {"--decryption-key-file", key_file()});
  EXPECT_EQ(tampered["status"]["phase"], "Failed");
  EXPECT_NE(tampered["status"].value("failureReason", "").find("enc1-results.gz"), std::string::npos)
      << tampered["status"].value("failureReason", "");
  EXPECT_FALSE(vault_exists());
  // --skip-verify overrides, and the restore log says so.
  json skipped = restore("r-skip", "enc1",
                         {"--decryption-key-file", key_file(), "--skip-verify", "--namespace-mappings", "vault:vault-skip"});
  EXPECT_EQ(skipped["status"]["phase"], "Completed") << skipped.dump();
  EXPECT_NE(cluster->arca({"restore", "logs", "r-skip", "--decryption-key-file", key_file()}).out.find("skipped (--skip-verify)"),
            std::string::npos);
  std::ofstream(results, std::ios::binary | std::ios::trunc) << original;

  // 7. With the key (a file, kept off the cluster but for the restore): everything is back.
  json ok = restore("r-ok", "enc1", {"--decryption-key-file", key_file()});
  EXPECT_EQ(ok["status"]["phase"], "Completed") << ok.dump();
  auto secret = cluster->client().get(cluster->resource("", "secrets"), "vault", "db");
  EXPECT_EQ(secret["data"]["password"], b64);
  auto cm = cluster->client().get(cluster->resource("", "configmaps"), "vault", "settings");
  EXPECT_EQ(cm["data"]["note"], kCanary);
  // The restore's files name the backup's objects: stored encrypted to the backup's recipients, like the backup's.
  for (const auto& entry : fs::directory_iterator(cluster->store_root() + "/sealed/restores/r-ok")) {
    std::string bytes = testsupport::read_file(entry.path());
    EXPECT_EQ(bytes.rfind("age-encryption.org/v1", 0), 0u) << entry.path();
    EXPECT_FALSE(gunzip_contains(bytes, "vault")) << entry.path();
  }
  auto restore_logs = cluster->arca({"restore", "logs", "r-ok"});
  EXPECT_NE(restore_logs.exit_code, 0);
  EXPECT_NE(restore_logs.err.find("--decryption-key-file"), std::string::npos) << restore_logs.err;
  restore_logs = cluster->arca({"restore", "logs", "r-ok", "--decryption-key-file", key_file()});
  EXPECT_NE(restore_logs.out.find("restore completed"), std::string::npos) << restore_logs.out << restore_logs.err;
  auto described = cluster->arca({"restore", "describe", "r-ok", "--details", "--decryption-key-file", key_file()});
  EXPECT_NE(described.out.find("v1/Secret"), std::string::npos) << described.out << described.err;
  EXPECT_THROW(cluster->client().get(cluster->resource("", "secrets"), "velero", "r-ok-decryption-key"),
               arca::kube::KubeError);
}

TEST_F(Trust, KeyRotationAndUnsignedBackups) {
  if (!vault_exists()) GTEST_SKIP() << "needs the vault namespace";
  backup("rot-old", "sealed");
  // Rotate: the location now encrypts to a new recipient; the old backup keeps its old one.
  auto fresh = arca::crypt::generate_age_identity();
  auto locations = cluster->resource("velero.io", "backupstoragelocations");
  cluster->client().patch(locations, "velero", "sealed", arca::kube::PatchType::Merge,
                          json{{"spec", {{"config", {{"encryptionRecipients", fresh.recipient}}}}}}.dump());
  backup("rot-new", "sealed");
  EXPECT_EQ(json::parse(testsupport::read_file(sealed_dir("rot-new") + "/velero-backup.json"))["metadata"]
                ["annotations"]["arca.dev/encrypted-to"],
            fresh.recipient);
  json old_with_new = restore("r-rot-1", "rot-new", {"--decryption-key-secret", "backup-key", "--namespace-mappings",
                                                     "vault:vault-rot1"});
  EXPECT_EQ(old_with_new["status"]["phase"], "Failed");
  EXPECT_NE(old_with_new["status"].value("failureReason", "").find(fresh.recipient), std::string::npos);
  json old_with_old = restore("r-rot-2", "rot-old", {"--decryption-key-secret", "backup-key", "--namespace-mappings",
                                                     "vault:vault-rot2"});
  EXPECT_EQ(old_with_old["status"]["phase"], "Completed");

  // A plain backup (the default location: no signing) restores, with a warning that it cannot be verified.
  backup("plain1", "default");
  json plain = restore("r-plain", "plain1", {"--namespace-mappings", "vault:vault-plain"});
  EXPECT_EQ(plain["status"]["phase"], "Completed");
  auto logs = cluster->arca({"restore", "logs", "r-plain"});
  EXPECT_NE(logs.out.find("cannot be verified"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("level=warning"), std::string::npos) << one_line(logs.out);
}

// An object-locked location (the local driver's immutable mode): backup, schedule, expiration by GC, a delete
// request and the backup sync, without a single overwrite or early delete. Deletions wait for the lock.
TEST_F(Trust, ObjectLockedLocationFullCycle) {
  fs::create_directories(cluster->store_root() + "/locked");
  auto bsl = cluster->arca({"backup-location", "create", "locked", "--provider", "local", "--bucket", "locked",
                            "--backup-sync-period", "1s", "--config",
                            "root=" + cluster->store_root() + ",objectLockRetention=3s"});
  ASSERT_EQ(bsl.exit_code, 0) << bsl.err;
  wait_available("locked");
  auto r = cluster->arca({"backup", "create", "lk-ttl", "--storage-location", "locked", "--ttl", "1s",
                          "--include-namespaces", "velero", "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = cluster->arca({"backup", "create", "lk-del", "--storage-location", "locked", "--include-namespaces", "velero",
                     "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = cluster->arca({"backup", "delete", "lk-del", "--confirm"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = cluster->arca({"schedule", "create", "lk-sched", "--schedule", "@every 2s", "--storage-location", "locked",
                     "--include-namespaces", "velero"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  auto backups = cluster->resource("velero.io", "backups");
  auto gone = [&](const std::string& name) {
    try {
      cluster->client().get(backups, "velero", name);
      return false;
    } catch (const arca::kube::KubeError& e) {
      return arca::kube::is_not_found(e) && !fs::exists(cluster->store_root() + "/locked/backups/" + name);
    }
  };
  std::string scheduled;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline && (!gone("lk-ttl") || !gone("lk-del") || scheduled.empty())) {
    arca::kube::ListOptions selector;
    selector.label_selector = "velero.io/schedule-name=lk-sched";
    cluster->client().list(backups, "velero", selector, [&](const arca::kube::ListItem& item) {
      if (item.parse().value("/status/phase"_json_pointer, "") == "Completed") scheduled = std::string(item.name);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(gone("lk-ttl")) << "the expired backup was not collected after its lock";
  EXPECT_TRUE(gone("lk-del")) << "the deleted backup was not removed after its lock";
  ASSERT_FALSE(scheduled.empty()) << "the schedule made no backup";
  cluster->arca({"schedule", "delete", "lk-sched", "--confirm"});
  EXPECT_NE(cluster->server().log().find("deferred: the backup's objects are locked until"), std::string::npos);

  // Sync: the Backup object removed from the cluster comes back from the (read-only to it) store.
  cluster->client().remove(backups, "velero", scheduled);
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {
    try {
      back = cluster->client().get(backups, "velero", scheduled).value("/status/phase"_json_pointer, "") == "Completed";
    } catch (const arca::kube::KubeError&) {
    }
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(back) << "the backup sync did not bring " << scheduled << " back";

  std::string violations = cluster->store_root() + "/locked.lock-violations";
  EXPECT_FALSE(fs::exists(violations)) << testsupport::read_file(violations);
}

// A schedule created with --verify has each finished backup verified by the server, the result on the Backup.
TEST_F(Trust, ScheduleWithVerifyVerifiesEachBackup) {
  auto created = cluster->arca({"schedule", "create", "verified", "--schedule", "@every 2s", "--storage-location",
                                "sealed", "--include-namespaces", "default", "--verify"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  json verification;
  for (int i = 0; i < 300 && verification.is_null(); ++i) {
    std::vector<json> list;
    cluster->client().list(cluster->resource("velero.io", "backups"), "velero", {},
                           [&](const arca::kube::ListItem& item) { list.push_back(item.parse()); });
    for (const auto& b : list) {
      if (b.value("/metadata/labels/velero.io~1schedule-name"_json_pointer, std::string()) != "verified") continue;
      auto text = b.value("/metadata/annotations"_json_pointer, json::object()).value("arca.dev/verification", "");
      if (!text.empty()) verification = json::parse(text);
    }
    if (verification.is_null()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(verification.is_null()) << "no backup of schedule 'verified' was verified: "
                                        << cluster->arca({"schedule", "get", "verified", "-o", "json"}).out
                                        << cluster->arca({"backup", "get"}).out;
  EXPECT_EQ(verification["request"], "scheduled");
  EXPECT_EQ(verification["result"], "Verified") << verification.dump();
  EXPECT_NE(verification.value("message", "").find("signature valid"), std::string::npos) << verification.dump();
  cluster->arca({"schedule", "delete", "verified", "--confirm"});
}


// `arca repo rotate-password`: the new password is added to every repository (made here by Debian's restic), the
// Secret updated, the old key removed: restic then opens with the new password and no longer with the old one. A
// repository the current password cannot open stops the rotation before the Secret changes, and the keys already
// added are removed again.
TEST_F(Trust, RepositoryPasswordRotation) {
  testsupport::TempDir tmp;
  fs::create_directories(cluster->store_root() + "/repos");
  auto bsl = cluster->arca({"backup-location", "create", "repos", "--provider", "local", "--bucket", "repos",
                            "--config", "root=" + cluster->store_root()});
  ASSERT_EQ(bsl.exit_code, 0) << bsl.err;
  wait_available("repos");
  std::ofstream(tmp.file("old")) << "old-password-1\n";
  std::ofstream(tmp.file("new")) << "new-password-2\n";
  std::ofstream(tmp.file("other")) << "unrelated-password\n";
  fs::create_directories(tmp.file("data"));
  std::ofstream(tmp.file("data/file.txt")) << "volume data\n";
  auto restic = [&](const std::string& repo, const std::string& password, std::vector<std::string> args) {
    std::vector<std::string> argv = {"env", "RESTIC_PASSWORD_FILE=" + tmp.file(password),
                                     "RESTIC_CACHE_DIR=" + tmp.file("cache"), "restic", "-r", repo};
    argv.insert(argv.end(), args.begin(), args.end());
    return testsupport::run_command(argv, tmp, std::chrono::seconds(60));
  };
  const std::string good = cluster->store_root() + "/repos/restic/rot-a", bad = cluster->store_root() + "/repos/restic/rot-b";
  ASSERT_EQ(restic(good, "old", {"init"}).exit_code, 0);
  auto backed_up = restic(good, "old", {"backup", tmp.file("data")});
  ASSERT_EQ(backed_up.exit_code, 0) << backed_up.output;
  ASSERT_EQ(restic(bad, "other", {"init"}).exit_code, 0);  // opens with no password the Secret knows
  auto secrets = cluster->resource("", "secrets");
  // The server made the Secret with a random password at start; the test sets the one its repositories know.
  json credentials;
  ASSERT_TRUE(testsupport::eventually([&] {
    try {
      credentials = cluster->client().get(secrets, "velero", "velero-repo-credentials");
      return true;
    } catch (const arca::kube::KubeError&) {
      return false;
    }
  }, std::chrono::seconds(10)));
  credentials["data"]["repository-password"] = arca::crypt::base64_encode("old-password-1", true);
  cluster->client().update(secrets, "velero", credentials);
  auto repositories = cluster->resource("velero.io", "backuprepositories");
  auto repository = [&](const std::string& name, const std::string& ns, const std::string& path) {
    cluster->client().create(repositories, "velero",
                             {{"apiVersion", "velero.io/v1"}, {"kind", "BackupRepository"},
                              {"metadata", {{"name", name}, {"namespace", "velero"},
                                            {"labels", {{"velero.io/volume-namespace", ns},
                                                        {"velero.io/storage-location", "repos"},
                                                        {"velero.io/repository-type", "restic"}}}}},
                              {"spec", {{"volumeNamespace", ns}, {"backupStorageLocation", "repos"},
                                        {"repositoryType", "restic"}, {"resticIdentifier", path}}}});
  };
  repository("rot-a-repos-restic-aaaaa", "rot-a", good);
  repository("rot-b-repos-restic-bbbbb", "rot-b", bad);
  auto secret_password = [&] {
    auto secret = cluster->client().get(secrets, "velero", "velero-repo-credentials");
    std::string decoded;
    EXPECT_TRUE(arca::crypt::base64_decode(secret["data"]["repository-password"].get<std::string>(), true, decoded));
    return decoded;
  };
  auto key_count = [&](const std::string& password) {
    auto listed = restic(good, password, {"key", "list", "--json"});
    EXPECT_EQ(listed.exit_code, 0) << listed.output;
    return json::parse(listed.output.substr(listed.output.find('['))).size();
  };

  auto refused = cluster->arca({"repo", "rotate-password", "--new-password-file", tmp.file("new")});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("rot-b-repos-restic-bbbbb"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("nothing rotated"), std::string::npos) << refused.err;
  EXPECT_EQ(secret_password(), "old-password-1");
  // rot-a (listed first) had the new key added before rot-b failed: it was removed again.
  EXPECT_NE(refused.out.find("repository rot-a-repos-restic-aaaaa: new key"), std::string::npos) << refused.out;
  EXPECT_EQ(key_count("old"), 1u) << "the key added to rot-a was not removed again";

  cluster->client().remove(repositories, "velero", "rot-b-repos-restic-bbbbb");
  auto rotated = cluster->arca({"repo", "rotate-password", "--new-password-file", tmp.file("new")});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err << rotated.out;
  EXPECT_NE(rotated.out.find("rotated the password of 1 repositories"), std::string::npos) << rotated.out;
  EXPECT_EQ(rotated.out.find("new-password-2"), std::string::npos) << "a password was printed";
  EXPECT_EQ(secret_password(), "new-password-2");
  auto with_new = restic(good, "new", {"snapshots", "--json", "-q"});
  ASSERT_EQ(with_new.exit_code, 0) << with_new.output;
  EXPECT_EQ(json::parse(with_new.output).size(), 1u);
  auto with_old = restic(good, "old", {"snapshots"});
  EXPECT_NE(with_old.exit_code, 0);
  EXPECT_NE(with_old.output.find("wrong password"), std::string::npos) << with_old.output;
  EXPECT_EQ(key_count("new"), 1u);
  EXPECT_EQ(restic(good, "new", {"check"}).exit_code, 0);
  cluster->client().remove(repositories, "velero", "rot-a-repos-restic-aaaaa");
}


// `schedule create --restore-test-every N`: the server dry-run restores every Nth backup into NS-restore-test and
// records the outcome on the Backup (describe shows it). An encrypted location's backups are decrypted with the
// schedule's --decryption-key-secret; without one the test fails, saying what is missing.
TEST_F(Trust, ScheduledRestoreTestEveryNthBackup) {
  if (!vault_exists()) GTEST_SKIP() << "needs the vault namespace";
  // A location of its own, encrypted to the key in Secret backup-key (the key rotation test moves "sealed" on).
  fs::create_directories(cluster->store_root() + "/rtest");
  auto bsl = cluster->arca({"backup-location", "create", "rtest", "--provider", "local", "--bucket", "rtest", "--config",
                            "root=" + cluster->store_root() + ",encryptionRecipients=" + age_key->recipient});
  ASSERT_EQ(bsl.exit_code, 0) << bsl.err;
  wait_available("rtest");
  for (auto args : {std::vector<std::string>{"rt-keyed", "--restore-test-every", "2", "--decryption-key-secret", "backup-key"},
                    std::vector<std::string>{"rt-keyless", "--restore-test-every", "1"}}) {
    std::vector<std::string> argv = {"schedule", "create"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const char* a : {"--schedule", "@every 2s", "--storage-location", "rtest", "--include-namespaces", "vault"})
      argv.push_back(a);
    auto created = cluster->arca(argv);
    ASSERT_EQ(created.exit_code, 0) << created.err;
  }
  auto backups = cluster->resource("velero.io", "backups");
  // schedule → ordinal → (backup name, restore test record)
  std::map<std::string, std::map<int, std::pair<std::string, json>>> seen;
  auto poll = [&] {
    seen.clear();
    cluster->client().list(backups, "velero", {}, [&](const arca::kube::ListItem& item) {
      auto b = item.parse();
      std::string schedule = b.value("/metadata/labels/velero.io~1schedule-name"_json_pointer, std::string());
      auto text = b.value("/metadata/annotations"_json_pointer, json::object()).value("arca.dev/restore-test", "");
      if (schedule.empty() || text.empty()) return;
      auto record = json::parse(text);
      seen[schedule][record.value("ordinal", 0)] = {b["metadata"]["name"].get<std::string>(), record};
    });
    return seen["rt-keyed"].count(2) && seen["rt-keyless"].count(1);
  };
  bool done = false;
  for (int i = 0; i < 300 && !done; ++i) {
    done = poll();
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  cluster->arca({"schedule", "delete", "rt-keyed", "--confirm"});
  cluster->arca({"schedule", "delete", "rt-keyless", "--confirm"});
  ASSERT_TRUE(done) << "restore tests seen: " << json(seen).dump() << cluster->server().log();

  auto [first_name, first] = seen["rt-keyed"][1];
  EXPECT_EQ(first["result"], "NotDue") << first.dump();
  auto [tested_name, tested] = seen["rt-keyed"][2];
  EXPECT_EQ(tested["result"], "Passed") << tested.dump();
  EXPECT_EQ(tested["namespaces"], json({"vault-restore-test"})) << tested.dump();
  EXPECT_NE(tested.value("message", "").find("would be created, no errors"), std::string::npos) << tested.dump();
  auto keyless = seen["rt-keyless"][1].second;
  EXPECT_EQ(keyless["result"], "Failed") << keyless.dump();
  EXPECT_NE(keyless.value("message", "").find("no decryption key was given"), std::string::npos) << keyless.dump();
  // A dry run: the mapped namespace was never made.
  EXPECT_THROW(cluster->client().get(cluster->resource("", "namespaces"), "", "vault-restore-test"), std::exception);
  auto described = cluster->arca({"backup", "describe", tested_name});
  EXPECT_NE(described.out.find("Restore test:  Passed at "), std::string::npos) << described.out;
  auto not_due = cluster->arca({"backup", "describe", first_name});
  EXPECT_NE(not_due.out.find("Restore test:  not due (backup 1 of its schedule"), std::string::npos) << not_due.out;
}

// The numbering of a schedule's backups survives deleting the newest one: the Schedule keeps the highest number
// given, so the next backup is number 2 (due, every 2) and not number 1 again.
TEST_F(Trust, RestoreTestNumberIsNotReusedAfterTheNewestBackupIsDeleted) {
  if (!vault_exists()) GTEST_SKIP() << "needs the vault namespace";
  auto created = cluster->arca({"schedule", "create", "rt-num", "--schedule", "@every 24h", "--restore-test-every", "2",
                                "--include-namespaces", "vault"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto backups = cluster->resource("velero.io", "backups");
  auto record_of = [&](const std::string& name) {
    for (int i = 0; i < 600; ++i) {
      auto b = cluster->client().get(backups, "velero", name);
      auto text = b.value("/metadata/annotations"_json_pointer, json::object()).value("arca.dev/restore-test", "");
      if (!text.empty()) return json::parse(text);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return json();
  };
  auto first = cluster->arca({"backup", "create", "rt-num-1", "--from-schedule", "rt-num", "--wait"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(record_of("rt-num-1").value("ordinal", 0), 1) << cluster->server().log();
  auto deleted = cluster->arca({"backup", "delete", "rt-num-1", "--confirm"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  bool gone = false;
  for (int i = 0; i < 600 && !gone; ++i) {
    try {
      cluster->client().get(backups, "velero", "rt-num-1");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } catch (const arca::kube::KubeError& e) {
      gone = arca::kube::is_not_found(e);
    }
  }
  ASSERT_TRUE(gone) << "the first backup was not deleted";
  auto second = cluster->arca({"backup", "create", "rt-num-2", "--from-schedule", "rt-num", "--wait"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  json record = record_of("rt-num-2");
  cluster->arca({"schedule", "delete", "rt-num", "--confirm"});
  EXPECT_EQ(record.value("ordinal", 0), 2) << record.dump();
  EXPECT_NE(record.value("result", ""), "NotDue") << record.dump();
}

}  // namespace
