#include "cli/trust_cmd.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "controller/protection.h"
#include "crypt/age.h"
#include "crypt/primitives.h"
#include "crypt/sign.h"
#include "kube/dynamic.h"
#include "kube/errors.h"
#include "persistence/protection.h"

namespace arca::cli {
namespace {

std::string transient_secret_name(const api::Restore& restore) { return restore.metadata.name + "-decryption-key"; }

struct VerifyFlags {
  std::string name, key_secret;
  bool deep = false;
  int timeout_seconds = 600;
};

int verify(Session& s, const VerifyFlags& f, std::ostream& out) {
  kube::DynamicClient client(s.transport());
  auto backups = s.velero("backups");
  client.get(backups, s.ns(), f.name);  // a clear NotFound first
  // A fresh request id: the server answers each once, in the annotation it writes back.
  std::string id = crypt::hex(crypt::random_bytes(6));
  std::string request = id + (f.deep ? ",deep" : "") + (f.key_secret.empty() ? "" : ",key=" + f.key_secret);
  nlohmann::json patch = {{"metadata", {{"annotations", {{controller::kAnnotationVerifyRequest, request}}}}}};
  client.patch(backups, s.ns(), f.name, kube::PatchType::Merge, patch.dump());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(f.timeout_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    auto backup = client.get(backups, s.ns(), f.name);
    auto text = backup.value("/metadata/annotations"_json_pointer, nlohmann::json::object())
                    .value(controller::kAnnotationVerification, "");
    auto result = nlohmann::json::parse(text.empty() ? "{}" : text, nullptr, false);
    if (!result.is_discarded() && result.value("request", "") == request) {
      std::string outcome = result.value("result", "");
      out << result.value("message", "") << "\n";
      if (outcome == "Failed") throw std::runtime_error("backup " + f.name + " failed verification");
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("timed out waiting for the server to verify backup " + f.name +
                           "; check that arca server is running");
}

}  // namespace

void add_protection_flags(api::Restore& restore, const std::string& key_secret, const std::string& key_file,
                          bool skip_verify) {
  if (!key_secret.empty() && !key_file.empty())
    throw std::invalid_argument("--decryption-key-secret and --decryption-key-file cannot be used together");
  if (!key_secret.empty()) restore.metadata.annotations[persistence::kAnnotationDecryptionKeySecret] = key_secret;
  if (!key_file.empty()) {
    restore.metadata.annotations[persistence::kAnnotationDecryptionKeySecret] = transient_secret_name(restore);
    restore.metadata.annotations[controller::kAnnotationTransientKey] = "true";
  }
  if (skip_verify) restore.metadata.annotations[persistence::kAnnotationSkipVerify] = "true";
}

void create_transient_key_secret(Session& s, const api::Restore& restore, const std::string& key_file) {
  std::vector<std::string> identities = read_age_identity_file(key_file);
  std::string joined;
  for (const auto& id : identities) joined += id + "\n";
  nlohmann::json secret = {{"apiVersion", "v1"},
                           {"kind", "Secret"},
                           {"metadata", {{"name", transient_secret_name(restore)}, {"namespace", s.ns()}}},
                           {"type", "Opaque"},
                           {"data", {{"identity", crypt::base64_encode(joined, true)}}}};
  kube::DynamicClient(s.transport()).create(s.core("secrets"), s.ns(), secret);
}

void add_trust_commands(CLI::App& app, CLI::App& backup, const Globals& globals, std::function<int()>& action) {
  static VerifyFlags f;  // CLI11 writes into it while parsing; alive for the whole run
  auto* verify_cmd = backup.add_subcommand(
      "verify", "Check a backup's signature and the digest of every stored object (the server does the work)");
  verify_cmd->add_option("NAME", f.name, "Backup name")->required();
  verify_cmd->add_flag("--deep", f.deep,
                       "Also decrypt, decompress and parse every item, and compare the count with velero-backup.json");
  verify_cmd->add_option("--decryption-key-secret", f.key_secret,
                         "Secret holding the age identity of an encrypted backup (needed with --deep)");
  verify_cmd->add_option("--timeout", f.timeout_seconds, "How long to wait for the result, in seconds");
  verify_cmd->callback([&globals, &action] {
    action = [&globals] {
      Session s(globals);
      return verify(s, f, std::cout);
    };
  });

  auto* keygen = app.add_subcommand(
      "keygen", "Print a new Ed25519 signing key pair: the private key for the signingKeySecret Secret, the public "
                "key for the location's signingPublicKey");
  keygen->callback([&action] {
    action = [] {
      auto keys = crypt::generate_signing_key();
      std::cout << "# public key (BSL config signingPublicKey): " << keys.public_key << "\n" << keys.private_key << "\n";
      return 0;
    };
  });
}

}  // namespace arca::cli
