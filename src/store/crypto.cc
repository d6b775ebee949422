#include "store/crypto.h"

#include <openssl/evp.h>

#include "crypt/primitives.h"
#include "store/object_store.h"
#include "util/base64.h"

namespace arca::store {

// The digests are crypt's (one implementation for request signing and backup manifests).
std::string sha256(std::string_view data) { return crypt::sha256(data); }
std::string md5(std::string_view data) {
  Md5Stream stream;
  stream.update(data);
  return stream.finish();
}

Md5Stream::Md5Stream() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_md5(), nullptr) != 1)
    throw StoreError(ErrorKind::Failed, "md5: initialisation failed");
}
Md5Stream::~Md5Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Md5Stream::update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}
std::string Md5Stream::finish() {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), reinterpret_cast<unsigned char*>(out.data()), &len);
  out.resize(len);
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) { return crypt::hmac_sha256(key, data); }
std::string hex(std::string_view raw) { return crypt::hex(raw); }

std::string base64_encode(std::string_view raw) { return arca::base64_encode(raw); }

std::string base64_decode(std::string_view text, const std::string& what) {
  auto decoded = arca::base64_decode(text);
  if (!decoded) throw StoreError(ErrorKind::InvalidArgument, what + " is not valid base64");
  return *decoded;
}

std::string uri_encode(std::string_view text, bool keep_slash) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

std::string uri_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && value(text[i + 1]) >= 0 && value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(value(text[i + 1]) * 16 + value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace arca::store
