#include "store/s3_store.h"

#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "store/crypto.h"
#include "store/http.h"
#include "store/location.h"
#include "store/parts.h"

namespace arca::store {
namespace {

const std::string kProvider = "aws";
// Parts of a multipart upload; a streaming put holds two (one uploading, one filling). S3 needs at least
// 5 MiB for all but the last.
constexpr size_t kPartSize = 8 << 20;
// How old an unfinished multipart upload must be before start-up cleaning aborts it: far beyond any backup's
// tarball upload, since the store cannot say whether the server that started it still lives.
constexpr std::chrono::hours kAbandonedUploadAge{24};

// "2026-12-07T12:00:00.000Z" (S3's timestamps) as a time point; nothing when it is not one.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// One profile of an AWS shared-credentials INI file; nothing of the file's content goes into messages.
AwsCredentials read_credentials_file(const std::string& path, const std::string& profile) {
  std::ifstream in(path);
  if (!in) throw StoreError(ErrorKind::InvalidArgument, "aws: cannot read credentials file " + path);
  AwsCredentials creds;
  bool found = false, in_profile = false;
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      std::string name = trim(line.substr(1, line.size() - 2));
      if (name.rfind("profile ", 0) == 0) name = trim(name.substr(8));  // config-file style headers
      in_profile = name == profile;
      found = found || in_profile;
      continue;
    }
    if (!in_profile) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "aws_access_key_id")
      creds.access_key_id = value;
    else if (key == "aws_secret_access_key")
      creds.secret_access_key = value;
    else if (key == "aws_session_token")
      creds.session_token = value;
  }
  if (!found)
    throw StoreError(ErrorKind::InvalidArgument,
                     "aws: credentials file " + path + " has no profile \"" + profile + "\"");
  if (creds.access_key_id.empty() || creds.secret_access_key.empty())
    throw StoreError(ErrorKind::InvalidArgument, "aws: profile \"" + profile + "\" in credentials file " + path +
                                                     " lacks aws_access_key_id or aws_secret_access_key");
  return creds;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

struct Endpoint {
  std::string scheme;     // "https"
  std::string authority;  // host[:port], also the signed Host header
  std::string base_path;  // path of s3Url without trailing '/', usually ""
};

Endpoint parse_endpoint(const std::string& url) {
  auto sep = url.find("://");
  if (sep == std::string::npos)
    throw StoreError(ErrorKind::InvalidArgument, "aws: config \"s3Url\" \"" + url + "\" is not an http(s) URL");
  Endpoint e;
  e.scheme = url.substr(0, sep);
  if (e.scheme != "http" && e.scheme != "https")
    throw StoreError(ErrorKind::InvalidArgument, "aws: config \"s3Url\" \"" + url + "\" is not an http(s) URL");
  std::string rest = url.substr(sep + 3);
  auto slash = rest.find('/');
  e.authority = rest.substr(0, slash);
  if (slash != std::string::npos) e.base_path = rest.substr(slash);
  while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
  // Default ports are not part of the signed Host (clients and servers omit them).
  auto strip = [&](const std::string& port) {
    if (e.authority.size() > port.size() &&
        e.authority.compare(e.authority.size() - port.size(), port.size(), port) == 0)
      e.authority.resize(e.authority.size() - port.size());
  };
  strip(e.scheme == "https" ? ":443" : ":80");
  if (e.authority.empty())
    throw StoreError(ErrorKind::InvalidArgument, "aws: config \"s3Url\" \"" + url + "\" has no host");
  return e;
}

std::string utc_now(const char* format) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::string utc_iso8601(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string crc32_base64(std::string_view data) {
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  std::string be = {static_cast<char>(crc >> 24), static_cast<char>(crc >> 16), static_cast<char>(crc >> 8),
                    static_cast<char>(crc)};
  return base64_encode(be);
}

class S3Store : public ObjectStore {
 public:
  S3Store(const LocationConfig& location, AwsCredentials creds)
      : bucket_(location.bucket), creds_(std::move(creds)), http_(tls_from_config(location.config, kProvider)) {
    const auto& c = location.config;
    auto get = [&](const char* key) {
      auto it = c.find(key);
      return it == c.end() ? std::string() : it->second;
    };
    region_ = get("region").empty() ? "us-east-1" : get("region");
    std::string s3_url = get("s3Url");
    endpoint_ = parse_endpoint(s3_url.empty() ? "https://s3." + region_ + ".amazonaws.com" : s3_url);
    std::string public_url = get("publicUrl");
    public_endpoint_ = public_url.empty() ? endpoint_ : parse_endpoint(public_url);
    // A bucket name with dots cannot be a TLS host label under a wildcard certificate: the AWS SDKs address
    // such buckets by path, and so do we.
    path_style_ = config_flag(c, "s3ForcePathStyle", kProvider) ||
                  (bucket_.find('.') != std::string::npos && endpoint_.scheme == "https");
    sse_ = get("serverSideEncryption");
    kms_key_id_ = get("kmsKeyId");
    if (!kms_key_id_.empty()) sse_ = "aws:kms";
    if (!sse_.empty() && sse_ != "AES256" && sse_ != "aws:kms")
      throw StoreError(ErrorKind::InvalidArgument,
                       "aws: config \"serverSideEncryption\" must be AES256 or aws:kms, not \"" + sse_ + "\"");
    storage_class_ = get("storageClass");
    checksum_ = get("checksumAlgorithm");
    if (!checksum_.empty() && checksum_ != "CRC32" && checksum_ != "SHA256")
      throw StoreError(ErrorKind::InvalidArgument,
                       "aws: config \"checksumAlgorithm\" must be empty, CRC32 or SHA256, not \"" + checksum_ + "\"");
    if (bucket_.empty()) throw StoreError(ErrorKind::InvalidArgument, "aws: bucket is required");
    // S3 Object Lock: each object is written with its own retention, so a backup stays undeletable for the
    // configured time even in a bucket without a default retention rule.
    lock_mode_ = get("objectLockMode");
    if (!lock_mode_.empty() && lock_mode_ != "GOVERNANCE" && lock_mode_ != "COMPLIANCE")
      throw StoreError(ErrorKind::InvalidArgument,
                       "aws: config \"objectLockMode\" must be GOVERNANCE or COMPLIANCE, not \"" + lock_mode_ + "\"");
    std::string retention = get("objectLockRetention");
    if (lock_mode_.empty() != retention.empty())
      throw StoreError(ErrorKind::InvalidArgument,
                       "aws: config \"objectLockMode\" and \"objectLockRetention\" go together (e.g. "
                       "objectLockMode=GOVERNANCE,objectLockRetention=30d)");
    if (!retention.empty()) {
      try {
        lock_retention_ = parse_lock_retention(retention);
      } catch (const StoreError& e) {
        throw StoreError(ErrorKind::InvalidArgument, std::string("aws: ") + e.what());
      }
    }
  }

  void put(const std::string& key, const Reader& body) override {
    std::string buffer(kPartSize, '\0');
    size_t n = fill(body, buffer);
    if (n < buffer.size()) {
      buffer.resize(n);
      // A lost answer (connection reset after the request was applied) or a 5xx from a gateway leaves the
      // outcome unknown: read back what is stored before calling it a failure.
      HttpResponse r;
      try {
        r = send("PUT", key, "", buffer, with_checksum(upload_headers(), buffer));
      } catch (const StoreError& e) {
        if (e.kind() == ErrorKind::Unreachable && stored_as(key, buffer.size(), {hex(md5(buffer))})) return;
        throw;
      }
      if (r.status == 200) return;
      if (r.status >= 500 && stored_as(key, buffer.size(), {hex(md5(buffer))})) return;
      throw error_for(r, key);
    }
    multipart_put(key, body, buffer);
  }

  void get(const std::string& key, const Writer& sink) override {
    auto r = send("GET", key, "", {}, {}, &sink);
    if (r.status != 200) throw error_for(r, key);
  }

  void get_range(const std::string& key, uint64_t offset, uint64_t length, const Writer& sink) override {
    if (length == 0) return;
    auto r = send("GET", key, "", {}, {"Range: bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1)},
                  &sink);
    if (r.status != 206 && r.status != 200) throw error_for(r, key);
    if (r.status == 200 && offset != 0)
      throw std::runtime_error(describe() + ": \"" + key + "\": the server ignored the Range header");
  }

  HeadResult head(const std::string& key) override {
    auto r = send("HEAD", key, "", {}, {});
    if (r.status == 404) return {};
    if (r.status != 200) throw error_for(r, key);
    HeadResult h{true, 0, r.headers["etag"]};
    h.size = parse_size(r.headers["content-length"], describe() + ": \"" + key + "\": Content-Length");
    return h;
  }

  ListPage list(const ListRequest& request) override {
    std::vector<std::pair<std::string, std::string>> query = {{"list-type", "2"},
                                                              {"max-keys", std::to_string(request.max_keys)}};
    if (!request.continuation.empty()) query.emplace_back("continuation-token", request.continuation);
    if (!request.delimiter.empty()) query.emplace_back("delimiter", request.delimiter);
    if (!request.prefix.empty()) query.emplace_back("prefix", request.prefix);
    auto r = send("GET", "", canonical_query(query), {}, {});
    if (r.status != 200) throw error_for(r, "(list " + request.prefix + ")");
    ListPage page;
    for (auto contents : xml_elements(r.body, "Contents")) {
      ObjectInfo info;
      info.key = xml_value(contents, "Key");
      std::string size = xml_value(contents, "Size");
      info.size = parse_size(size, describe() + ": listed size of \"" + info.key + "\"");
      info.etag = xml_value(contents, "ETag");
      info.last_modified = xml_value(contents, "LastModified");
      page.objects.push_back(std::move(info));
    }
    for (auto prefixes : xml_elements(r.body, "CommonPrefixes"))
      page.common_prefixes.push_back(xml_value(prefixes, "Prefix"));
    if (xml_value(r.body, "IsTruncated") == "true") {
      page.next_continuation = xml_value(r.body, "NextContinuationToken");
      if (page.next_continuation.empty())
        throw StoreError(ErrorKind::Failed, describe() + ": truncated listing without a continuation token");
    }
    return page;
  }

  void remove(const std::string& key) override {
    auto r = send("DELETE", key, "", {}, {});
    if (r.status != 204 && r.status != 200 && r.status != 404) throw error_for(r, key);
    if (r.status == 404 && xml_value(r.body, "Code") == "NoSuchBucket") throw error_for(r, key);
  }

  std::string signed_get_url(const std::string& key, std::chrono::seconds ttl) override {
    // SigV4 query signing (the same algorithm as the header form; the payload is not signed).
    std::string amz_date = utc_now("%Y%m%dT%H%M%SZ");
    std::string date = amz_date.substr(0, 8);
    std::string scope = date + "/" + region_ + "/s3/aws4_request";
    auto [authority, path] = locate(public_endpoint_, key);
    std::vector<std::pair<std::string, std::string>> query = {{"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
                                                              {"X-Amz-Credential", creds_.access_key_id + "/" + scope},
                                                              {"X-Amz-Date", amz_date},
                                                              {"X-Amz-Expires", std::to_string(ttl.count())},
                                                              {"X-Amz-SignedHeaders", "host"}};
    if (!creds_.session_token.empty()) query.emplace_back("X-Amz-Security-Token", creds_.session_token);
    std::string canonical = canonical_query(query);
    std::string canonical_request =
        "GET\n" + path + "\n" + canonical + "\nhost:" + authority + "\n\nhost\nUNSIGNED-PAYLOAD";
    std::string string_to_sign = "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + hex(sha256(canonical_request));
    std::string k = hmac_sha256("AWS4" + creds_.secret_access_key, date);
    k = hmac_sha256(k, region_);
    k = hmac_sha256(k, "s3");
    k = hmac_sha256(k, "aws4_request");
    std::string signature = hex(hmac_sha256(k, string_to_sign));
    return public_endpoint_.scheme + "://" + authority + path + "?" + canonical + "&X-Amz-Signature=" + signature;
  }

  // Multipart uploads that a killed process never completed nor aborted: S3 keeps (and bills) their parts until
  // they are aborted. Only those started over kAbandonedUploadAge ago go, so that a live upload of another
  // server is never cut. Stores that do not list uploads (s3rver answers 501) have nothing to clean.
  void remove_abandoned_uploads(const std::string& prefix) override {
    auto cutoff = std::chrono::system_clock::now() - kAbandonedUploadAge;
    std::string key_marker, id_marker;
    for (;;) {
      std::vector<std::pair<std::string, std::string>> query = {{"uploads", ""}, {"prefix", prefix}};
      if (!key_marker.empty()) {
        query.emplace_back("key-marker", key_marker);
        query.emplace_back("upload-id-marker", id_marker);
      }
      auto r = send("GET", "", canonical_query(query), {}, {});
      if (r.status == 501 || r.status == 405) return;
      if (r.status != 200) throw error_for(r, "(list uploads " + prefix + ")");
      for (auto upload : xml_elements(r.body, "Upload")) {
        std::string key = xml_value(upload, "Key"), id = xml_value(upload, "UploadId");
        auto initiated = parse_iso8601(xml_value(upload, "Initiated"));
        if (key.empty() || id.empty() || !initiated || *initiated > cutoff) continue;
        auto a = send("DELETE", key, canonical_query({{"uploadId", id}}), {}, {});
        if (a.status != 204 && a.status != 200 && a.status != 404) throw error_for(a, key);
      }
      if (xml_value(r.body, "IsTruncated") != "true") return;
      std::string next_key = xml_value(r.body, "NextKeyMarker"), next_id = xml_value(r.body, "NextUploadIdMarker");
      if (next_key.empty() || (next_key == key_marker && next_id == id_marker))
        throw StoreError(ErrorKind::Failed, describe() + ": truncated listing of uploads without a next marker");
      key_marker = next_key;
      id_marker = next_id;
    }
  }

  std::string describe() const override { return "s3://" + bucket_; }

 private:
  // Host and encoded path of `key` (empty key: the bucket itself) for virtual-hosted or path-style addressing.
  std::pair<std::string, std::string> locate(const Endpoint& e, const std::string& key) const {
    std::string encoded = uri_encode(key, true);
    if (path_style_) return {e.authority, e.base_path + "/" + bucket_ + (key.empty() ? "" : "/" + encoded)};
    return {bucket_ + "." + e.authority, e.base_path + "/" + encoded};
  }

  // libcurl signs the query as given, so it must already be canonical: sorted, RFC 3986-encoded (env.md).
  static std::string canonical_query(std::vector<std::pair<std::string, std::string>> params) {
    for (auto& [k, v] : params) {
      k = uri_encode(k, false);
      v = uri_encode(v, false);
    }
    std::sort(params.begin(), params.end());
    std::string out;
    for (const auto& [k, v] : params) out += (out.empty() ? "" : "&") + k + "=" + v;
    return out;
  }

  std::vector<std::string> upload_headers() const {
    std::vector<std::string> h;
    if (!sse_.empty()) h.push_back("x-amz-server-side-encryption: " + sse_);
    if (!kms_key_id_.empty()) h.push_back("x-amz-server-side-encryption-aws-kms-key-id: " + kms_key_id_);
    if (!storage_class_.empty()) h.push_back("x-amz-storage-class: " + storage_class_);
    if (!lock_mode_.empty()) {
      h.push_back("x-amz-object-lock-mode: " + lock_mode_);
      h.push_back("x-amz-object-lock-retain-until-date: " +
                  utc_iso8601(std::chrono::system_clock::now() + lock_retention_));
    }
    return h;
  }

  // S3 refuses a PUT (object or part) carrying object-lock retention, or into a bucket with a default one,
  // without an integrity checksum: Content-MD5 unless the location already sends an x-amz-checksum-*.
  std::vector<std::string> with_checksum(std::vector<std::string> headers, std::string_view body) const {
    if (checksum_ == "CRC32") headers.push_back("x-amz-checksum-crc32: " + crc32_base64(body));
    if (checksum_ == "SHA256") headers.push_back("x-amz-checksum-sha256: " + base64_encode(sha256(body)));
    if (checksum_.empty() && !lock_mode_.empty()) headers.push_back("Content-MD5: " + base64_encode(md5(body)));
    return headers;
  }

  HttpResponse send(const std::string& method, const std::string& key, const std::string& query, std::string_view body,
                    std::vector<std::string> headers, const Writer* sink = nullptr) {
    auto [authority, path] = locate(endpoint_, key);
    HttpRequest request;
    request.method = method;
    request.url = endpoint_.scheme + "://" + authority + path + (query.empty() ? "" : "?" + query);
    request.body = body;
    request.sink = sink;
    request.headers = std::move(headers);
    // libcurl's SigV4 is right only with this header present (env.md); the hash also protects the payload.
    request.headers.push_back("x-amz-content-sha256: " + hex(sha256(body)));
    if (!creds_.session_token.empty()) request.headers.push_back("x-amz-security-token: " + creds_.session_token);
    request.aws_sigv4 = "aws:amz:" + region_ + ":s3";
    request.user_password = creds_.access_key_id + ":" + creds_.secret_access_key;
    return http_.perform(request, describe() + " " + method + " " + (key.empty() ? "(bucket)" : key) + " at " +
                                      endpoint_.scheme + "://" + endpoint_.authority);
  }

  void multipart_put(const std::string& key, const Reader& body, std::string& buffer) {
    auto headers = upload_headers();
    if (!checksum_.empty()) headers.push_back("x-amz-checksum-algorithm: " + checksum_);
    auto r = send("POST", key, "uploads=", {}, headers);
    if (r.status != 200) throw error_for(r, key);
    std::string upload_id = xml_value(r.body, "UploadId");
    if (upload_id.empty()) throw StoreError(ErrorKind::Failed, describe() + ": \"" + key + "\": no UploadId returned");
    std::string complete = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    // What the completed object must look like, to resolve a lost answer to CompleteMultipartUpload: its size,
    // and its ETag, which S3 computes as MD5(part MD5s)-N and s3rver as the MD5 of the whole object.
    Md5Stream whole;
    whole.update(buffer);
    uint64_t size = buffer.size();
    Reader hashed = [&](char* out, size_t capacity) {
      size_t n = body(out, capacity);
      whole.update(std::string_view(out, n));
      size += n;
      return n;
    };
    std::mutex part_mutex;
    std::map<int, std::string> part_md5;
    try {
      for (const auto& part : upload_parts(hashed, buffer, [&](int number, std::string_view data) {
             std::string digest = md5(data);
             {
               std::lock_guard lock(part_mutex);
               part_md5[number] = digest;
             }
             return upload_part(key, upload_id, number, data);
           }))
        complete += part;
      complete += "</CompleteMultipartUpload>";
      std::string of_parts;
      for (const auto& [number, digest] : part_md5) of_parts += digest;
      std::vector<std::string> etags = {hex(whole.finish()),
                                        hex(md5(of_parts)) + "-" + std::to_string(part_md5.size())};
      HttpResponse cr;
      try {
        cr = send("POST", key, canonical_query({{"uploadId", upload_id}}), complete, {});
      } catch (const StoreError& e) {
        if (e.kind() == ErrorKind::Unreachable && stored_as(key, size, etags)) return;
        throw;
      }
      // S3 may report a failed completion inside a 200 answer. A retried Complete whose first answer was lost
      // fails (NoSuchUpload on AWS, 500 on s3rver) although the object is there.
      if (cr.status != 200 || cr.body.find("<Error>") != std::string::npos) {
        if (stored_as(key, size, etags)) return;
        throw error_for(cr, key);
      }
    } catch (...) {
      try {
        send("DELETE", key, canonical_query({{"uploadId", upload_id}}), {}, {});
      } catch (const StoreError&) {
        // The original failure matters more; an unfinished upload is reclaimed by bucket lifecycle rules.
      }
      throw;
    }
  }

  // Whether `key` now holds an object of `size` bytes whose ETag is one of `etags` (hex, unquoted). Server-side
  // encryption with KMS makes the ETag no MD5 at all; then the size decides. Errors of the check count as no.
  bool stored_as(const std::string& key, uint64_t size, const std::vector<std::string>& etags) {
    try {
      HeadResult h = head(key);
      if (!h.exists || h.size != size) return false;
      std::string etag;
      for (char c : h.etag)
        if (c != '"') etag += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (sse_ == "aws:kms") return true;
      return std::find(etags.begin(), etags.end(), etag) != etags.end();
    } catch (const StoreError&) {
      return false;
    }
  }

  // Uploads one part; returns its <Part> element for CompleteMultipartUpload.
  std::string upload_part(const std::string& key, const std::string& upload_id, int part, std::string_view data) {
    auto part_headers = with_checksum({}, data);
    auto r = send("PUT", key, canonical_query({{"partNumber", std::to_string(part)}, {"uploadId", upload_id}}), data,
                  part_headers);
    if (r.status != 200) throw error_for(r, key);
    std::string element =
        "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" + xml_escape(r.headers["etag"]) + "</ETag>";
    for (const auto& h : part_headers) {
      if (!h.starts_with("x-amz-checksum-")) continue;
      // "x-amz-checksum-crc32: V" → <ChecksumCRC32>V</ChecksumCRC32>
      std::string tag = checksum_ == "CRC32" ? "ChecksumCRC32" : "ChecksumSHA256";
      element += "<" + tag + ">" + h.substr(h.find(": ") + 2) + "</" + tag + ">";
    }
    return element + "</Part>";
  }

  StoreError error_for(const HttpResponse& r, const std::string& key) const {
    std::string code = xml_value(r.body, "Code");
    std::string message = xml_value(r.body, "Message");
    std::string where = describe() + ": \"" + key + "\": ";
    std::string cause =
        "HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code) + (message.empty() ? "" : ": " + message);
    if (code == "NoSuchBucket")
      return {ErrorKind::NoSuchBucket, describe() + ": bucket \"" + bucket_ + "\" does not exist"};
    if (code == "NoSuchKey" || (r.status == 404 && code.empty())) return {ErrorKind::NotFound, where + "not found"};
    if (r.status == 401 || r.status == 403 || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch")
      return {ErrorKind::AccessDenied, where + "access denied (" + cause + ")"};
    if (r.status == 301 || code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed")
      return {ErrorKind::InvalidArgument, where + "wrong region or endpoint (" + cause + ")"};
    return {ErrorKind::Failed, where + cause};
  }

  std::string bucket_;
  AwsCredentials creds_;
  HttpClient http_;
  std::string region_;
  Endpoint endpoint_, public_endpoint_;
  bool path_style_ = false;
  std::string sse_, kms_key_id_, storage_class_, checksum_;
  std::string lock_mode_;  // "" when objects are written without a lock
  std::chrono::seconds lock_retention_{0};
};

}  // namespace

AwsCredentials load_aws_credentials(const std::string& credentials_file, const std::string& profile_in) {
  std::string profile = !profile_in.empty() ? profile_in : !env("AWS_PROFILE").empty() ? env("AWS_PROFILE") : "default";
  if (!credentials_file.empty()) return read_credentials_file(credentials_file, profile);
  if (!env("AWS_ACCESS_KEY_ID").empty() && !env("AWS_SECRET_ACCESS_KEY").empty())
    return {env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")};
  std::string file = env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty() && !env("HOME").empty()) file = env("HOME") + "/.aws/credentials";
  if (file.empty() || !std::ifstream(file))
    throw StoreError(ErrorKind::InvalidArgument,
                     "aws: no credentials (no credentials file, AWS_ACCESS_KEY_ID unset, no ~/.aws/credentials)");
  return read_credentials_file(file, profile);
}

std::unique_ptr<ObjectStore> open_s3_store(const LocationConfig& location) {
  reject_unknown_keys(
      location.config,
      {"region", "s3Url", "publicUrl", "s3ForcePathStyle", "insecureSkipTLSVerify", "caCert", "profile",
       "serverSideEncryption", "kmsKeyId", "storageClass", "checksumAlgorithm", "objectLockMode",
       "objectLockRetention", "bucket", "prefix", "credentialsFile"},
      kProvider);
  auto profile = location.config.count("profile") ? location.config.at("profile") : std::string();
  return std::make_unique<S3Store>(location, load_aws_credentials(location.credentials_file, profile));
}

}  // namespace arca::store
