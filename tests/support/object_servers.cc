#include "tests/support/object_servers.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace testsupport {
namespace {

std::string node_bin(const std::string& name) {
  return source_dir() + "/node_modules/.bin/" + name;
}

// Waits for the port while the server lives, so a server that exits at start fails the test at once.
bool wait_while_running(ChildProcess& process, int port, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (wait_for_port(port, std::chrono::milliseconds(200))) return true;
    if (!process.running()) return false;
  }
  return false;
}

// One HTTP PUT with an empty body; returns the status code.
long http_put(const std::string& url, const std::vector<std::string>& headers) {
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  // Only ever the test's own server with its throw-away certificate; the code under test verifies TLS.
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) throw std::runtime_error("PUT " + url + ": " + curl_easy_strerror(rc));
  return status;
}

std::string base64(const unsigned char* data, size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  out.resize(
      static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size))));
  return out;
}

}  // namespace

S3rver start_s3rver(const TempDir& dir) {
  S3rver s;
  s.port = free_port();
  s.url = "http://127.0.0.1:" + std::to_string(s.port);
  std::string data = dir.file("s3rver");
  std::filesystem::create_directories(data);
  // Without the legacy provider s3rver's ListObjectsV2 pagination answers 500 on Node 20 (env.md).
  s.process =
      ChildProcess({node_bin("s3rver"), "-d", data, "-a", "127.0.0.1", "-p", std::to_string(s.port), "--silent"},
                   dir.file("s3rver.log"), {{"NODE_OPTIONS", "--openssl-legacy-provider"}});
  if (!wait_while_running(s.process, s.port, std::chrono::seconds(10)))
    throw std::runtime_error("s3rver did not become ready in 10 s; log:\n" + s.process.log());
  return s;
}

void create_bucket(const S3rver& server, const std::string& bucket) {
  long status = http_put(server.url + "/" + bucket, {});
  if (status != 200)
    throw std::runtime_error("s3rver: creating bucket " + bucket + " answered " + std::to_string(status));
}

std::string write_s3cmd_config(const S3rver& server, const TempDir& dir) {
  std::string path = dir.file("s3cmd.cfg");
  std::string host = "127.0.0.1:" + std::to_string(server.port);
  std::ofstream(path) << "[default]\naccess_key = " << S3rver::kAccessKey << "\nsecret_key = " << S3rver::kSecretKey
                      << "\nhost_base = " << host << "\nhost_bucket = " << host
                      << "\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n";
  return path;
}

Azurite start_azurite(const TempDir& dir, const std::string& cert_path, const std::string& key_path) {
  Azurite a;
  a.port = free_port();
  a.account_uri = (cert_path.empty() ? "http" : "https") + std::string("://127.0.0.1:") + std::to_string(a.port) + "/" +
                  Azurite::kAccount;
  std::vector<std::string> argv = {
      node_bin("azurite-blob"), "--blobHost",          "127.0.0.1", "--blobPort",         std::to_string(a.port),
      "--inMemoryPersistence",  "--extentMemoryLimit", "256",       "--disableTelemetry", "--silent"};
  if (!cert_path.empty()) argv.insert(argv.end(), {"--cert", cert_path, "--key", key_path});
  a.process = ChildProcess(argv, dir.file("azurite.log"));
  if (!wait_while_running(a.process, a.port, std::chrono::seconds(20)))
    throw std::runtime_error("azurite did not become ready in 20 s; log:\n" + a.process.log());
  return a;
}

void create_container(const Azurite& server, const std::string& container) {
  char date[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  const std::string version = "2021-12-02";
  // SharedKey: path-style emulator URLs put the account in the path, and the canonical resource repeats it.
  std::string to_sign = "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:" + std::string(date) + "\nx-ms-version:" + version +
                        "\n/" + Azurite::kAccount + "/" + Azurite::kAccount + "/" + container + "\nrestype:container";
  std::string key_b64 = Azurite::kAccountKey;
  std::vector<unsigned char> key(key_b64.size());
  int key_len = EVP_DecodeBlock(key.data(), reinterpret_cast<const unsigned char*>(key_b64.data()),
                                static_cast<int>(key_b64.size()));
  key_len -= 2;  // the key ends in "==": two padding bytes
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), key_len, reinterpret_cast<const unsigned char*>(to_sign.data()), to_sign.size(), mac,
       &mac_len);
  long status = http_put(server.account_uri + "/" + container + "?restype=container",
                         {"x-ms-date: " + std::string(date), "x-ms-version: " + version,
                          "Authorization: SharedKey " + std::string(Azurite::kAccount) + ":" + base64(mac, mac_len)});
  if (status != 201)
    throw std::runtime_error("azurite: creating container " + container + " answered " + std::to_string(status));
}

}  // namespace testsupport
