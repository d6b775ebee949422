#pragma once
// Hashing, HMAC and encodings that request signing (SigV4, Azure SharedKey/SAS) needs. Internal to store/.
#include <string>
#include <string_view>

namespace arca::store {

std::string sha256(std::string_view data);                             // raw 32 bytes
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string hex(std::string_view raw);
// MD5, only to compare with the ETag S3 reports for what it stored (never for security).
std::string md5(std::string_view data);  // raw 16 bytes
class Md5Stream {
 public:
  Md5Stream();
  ~Md5Stream();
  Md5Stream(const Md5Stream&) = delete;
  Md5Stream& operator=(const Md5Stream&) = delete;
  void update(std::string_view data);
  std::string finish();  // raw 16 bytes
 private:
  void* ctx_;
};
std::string base64_encode(std::string_view raw);
// Throws StoreError(InvalidArgument) on malformed input; `what` names the value for the message.
std::string base64_decode(std::string_view text, const std::string& what);
// RFC 3986 percent-encoding: unreserved characters stay, everything else becomes %XX; `/` stays when
// `keep_slash` (object keys in paths).
std::string uri_encode(std::string_view text, bool keep_slash);
std::string uri_decode(std::string_view text);

}  // namespace arca::store
