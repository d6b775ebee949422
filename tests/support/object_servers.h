#pragma once
// Starts the S3 (s3rver) and Azure Blob (azurite) servers from node_modules as real processes for tests and
// benchmarks, each on a free port with its data in a temporary directory.
#include <string>

#include "tests/support/process.h"

namespace testsupport {

struct S3rver {
  ChildProcess process;
  std::string url;  // http://127.0.0.1:PORT
  int port = 0;
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";
};

// Starts s3rver with its store in dir/s3rver; buckets are created with create_bucket (an unsigned PUT, which
// s3rver accepts). Throws std::runtime_error with the server's log if it is not ready within 10 s.
S3rver start_s3rver(const TempDir& dir);
void create_bucket(const S3rver& server, const std::string& bucket);
// Writes an s3cmd configuration pointing at `server` and returns its path (for `s3cmd -c PATH ...`).
std::string write_s3cmd_config(const S3rver& server, const TempDir& dir);

struct Azurite {
  ChildProcess process;
  std::string account_uri;  // http://127.0.0.1:PORT/devstoreaccount1
  int port = 0;
  static constexpr const char* kAccount = "devstoreaccount1";
  // azurite's well-known development key (public, documented by Microsoft).
  static constexpr const char* kAccountKey =
      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
};

// Starts azurite-blob in memory; with `cert_path`/`key_path` (PEM) it serves HTTPS. Throws
// std::runtime_error with the server's log if not ready within 20 s.
Azurite start_azurite(const TempDir& dir, const std::string& cert_path = "", const std::string& key_path = "");
// Creates a container with a SharedKey-signed request (azurite checks it).
void create_container(const Azurite& server, const std::string& container);

}  // namespace testsupport
