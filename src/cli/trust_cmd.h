#pragma once
// `arca backup verify`, `arca keygen` and the restore flags of protected backups (persistence/protection.h).
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "api/types.h"
#include "cli/commands.h"

namespace arca::cli {

// --decryption-key-secret / --decryption-key-file / --skip-verify as the Restore's annotations.
void add_protection_flags(api::Restore& restore, const std::string& key_secret, const std::string& key_file,
                          bool skip_verify);
// The identity file's AGE-SECRET-KEY lines in a Secret <restore>-decryption-key, deleted by the server once
// the restore is over. Throws one line (never echoing the key) when the file holds no identity.
void create_transient_key_secret(Session& s, const api::Restore& restore, const std::string& key_file);
// Adds `verify` under `backup` and the top-level `keygen`.
void add_trust_commands(CLI::App& app, CLI::App& backup, const Globals& globals, std::function<int()>& action);

}  // namespace arca::cli
