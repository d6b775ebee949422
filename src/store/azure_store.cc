#include "store/azure_store.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>

#include "store/crypto.h"
#include "store/http.h"
#include "store/parts.h"

namespace arca::store {
namespace {

const std::string kProvider = "azure";
const std::string kApiVersion = "2021-12-02";
constexpr size_t kDefaultBlockSize = 8 << 20;
constexpr size_t kMaxBlockSize = 100 << 20;  // keeps a streaming put's one buffer bounded

std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::map<std::string, std::string> read_env_file(const std::string& path) {
  std::map<std::string, std::string> values;
  if (path.empty()) return values;
  std::ifstream in(path);
  if (!in) throw StoreError(ErrorKind::InvalidArgument, "azure: cannot read credentials file " + path);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    auto eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return values;
}

class AzureStore : public ObjectStore {
 public:
  AzureStore(const LocationConfig& location, std::string account, std::string account_uri, std::string key,
             std::string sas, size_t block_size)
      : container_(location.bucket),
        account_(std::move(account)),
        base_(std::move(account_uri)),
        key_(std::move(key)),
        sas_(std::move(sas)),
        block_size_(block_size),
        http_(tls_from_config(location.config, kProvider)) {
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
    if (!sas_.empty() && sas_[0] == '?') sas_.erase(0, 1);
    auto scheme = base_.find("://");
    auto slash = scheme == std::string::npos ? std::string::npos : base_.find('/', scheme + 3);
    base_path_ = slash == std::string::npos ? "" : base_.substr(slash);
  }

  void put(const std::string& key, const Reader& body) override {
    std::string buffer(block_size_, '\0');
    size_t n = fill(body, buffer);
    if (n < buffer.size()) {
      buffer.resize(n);
      auto r = send("PUT", key, {}, buffer, {"x-ms-blob-type: BlockBlob"});
      if (r.status != 201) throw error_for(r, key);
      return;
    }
    // Uncommitted blocks are invisible and expire on their own, so a failed upload leaves nothing behind.
    std::string list = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
    for (const auto& id : upload_parts(body, buffer, [&](int number, std::string_view data) {
           char id_text[16];
           std::snprintf(id_text, sizeof id_text, "%010d", number);  // equal lengths, as Azure requires
           std::string id = base64_encode(id_text);
           auto r = send("PUT", key, {{"blockid", id}, {"comp", "block"}}, data, {});
           if (r.status != 201) throw error_for(r, key);
           return id;
         }))
      list += "<Latest>" + id + "</Latest>";
    list += "</BlockList>";
    auto r = send("PUT", key, {{"comp", "blocklist"}}, list, {});
    if (r.status != 201) throw error_for(r, key);
  }

  void get(const std::string& key, const Writer& sink) override {
    auto r = send("GET", key, {}, {}, {}, &sink);
    if (r.status != 200) throw error_for(r, key);
  }

  HeadResult head(const std::string& key) override {
    auto r = send("HEAD", key, {}, {}, {});
    if (r.status == 404 && r.headers["x-ms-error-code"] != "ContainerNotFound") return {};
    if (r.status != 200) throw error_for(r, key);
    HeadResult h{true, 0, r.headers["etag"]};
    h.size = parse_size(r.headers["content-length"], describe() + ": \"" + key + "\": Content-Length");
    return h;
  }

  ListPage list(const ListRequest& request) override {
    std::vector<std::pair<std::string, std::string>> query = {
        {"comp", "list"}, {"restype", "container"}, {"maxresults", std::to_string(request.max_keys)}};
    if (!request.prefix.empty()) query.emplace_back("prefix", request.prefix);
    if (!request.delimiter.empty()) query.emplace_back("delimiter", request.delimiter);
    if (!request.continuation.empty()) query.emplace_back("marker", request.continuation);
    auto r = send("GET", "", query, {}, {});
    if (r.status != 200) throw error_for(r, "(list " + request.prefix + ")");
    ListPage page;
    for (auto blob : xml_elements(r.body, "Blob")) {
      ObjectInfo info;
      info.key = xml_value(blob, "Name");
      std::string size = xml_value(blob, "Content-Length");
      info.size = parse_size(size, describe() + ": listed size of \"" + info.key + "\"");
      info.etag = xml_value(blob, "Etag");
      info.last_modified = xml_value(blob, "Last-Modified");
      page.objects.push_back(std::move(info));
    }
    for (auto prefix : xml_elements(r.body, "BlobPrefix")) page.common_prefixes.push_back(xml_value(prefix, "Name"));
    page.next_continuation = xml_value(r.body, "NextMarker");
    return page;
  }

  void remove(const std::string& key) override {
    auto r = send("DELETE", key, {}, {}, {});
    if (r.status == 202 || r.status == 200) return;
    if (r.status == 404 && r.headers["x-ms-error-code"] == "BlobNotFound") return;
    throw error_for(r, key);
  }

  std::string signed_get_url(const std::string& key, std::chrono::seconds ttl) override {
    if (key_.empty())
      throw StoreError(ErrorKind::Unsupported,
                       describe() + ": signed URLs need the storage account key (key " + key + ")");
    // Service SAS for one blob, read only (string-to-sign layout of versions 2020-12-06 and later).
    std::time_t expiry = std::time(nullptr) + ttl.count();
    std::tm tm{};
    gmtime_r(&expiry, &tm);
    char se[32];
    std::strftime(se, sizeof se, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::string resource = "/blob/" + account_ + "/" + container_ + "/" + key;
    std::string to_sign = std::string("r\n\n") + se + "\n" + resource + "\n\n\n\n" + kApiVersion + "\nb\n\n\n\n\n\n\n";
    std::string sig = base64_encode(hmac_sha256(key_, to_sign));
    return url_of(key) + "?sv=" + kApiVersion + "&se=" + uri_encode(se, false) +
           "&sr=b&sp=r&sig=" + uri_encode(sig, false);
  }

  std::string describe() const override { return "azure://" + account_ + "/" + container_; }

 private:
  std::string url_of(const std::string& key) const {
    return base_ + "/" + container_ + (key.empty() ? "" : "/" + uri_encode(key, true));
  }

  HttpResponse send(const std::string& method, const std::string& key,
                    std::vector<std::pair<std::string, std::string>> query, std::string_view body,
                    std::vector<std::string> headers, const Writer* sink = nullptr) {
    std::sort(query.begin(), query.end());
    std::string query_string;
    for (const auto& [k, v] : query) query_string += (query_string.empty() ? "" : "&") + k + "=" + uri_encode(v, false);
    headers.push_back("x-ms-date: " + http_date(std::time(nullptr)));
    headers.push_back("x-ms-version: " + kApiVersion);
    if (!key_.empty()) {
      headers.push_back("Authorization: SharedKey " + account_ + ":" +
                        shared_key_signature(method, key, query, body, headers));
    } else {
      query_string += (query_string.empty() ? "" : "&") + sas_;
    }
    HttpRequest request;
    request.method = method;
    request.url = url_of(key) + (query_string.empty() ? "" : "?" + query_string);
    request.body = body;
    request.sink = sink;
    request.headers = std::move(headers);
    return http_.perform(request,
                         describe() + " " + method + " " + (key.empty() ? "(container)" : key) + " at " + base_);
  }

  // https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key (Blob, version ≥ 2015-02-21).
  std::string shared_key_signature(const std::string& method, const std::string& key,
                                   const std::vector<std::pair<std::string, std::string>>& sorted_query,
                                   std::string_view body, const std::vector<std::string>& headers) const {
    std::string content_length =
        (method == "PUT" || method == "POST") && !body.empty() ? std::to_string(body.size()) : "";
    std::string to_sign = method + "\n\n\n" + content_length + "\n\n\n\n\n\n\n\n\n";
    std::vector<std::string> ms_headers;
    for (const auto& h : headers) {
      if (h.rfind("x-ms-", 0) != 0) continue;
      auto colon = h.find(':');
      std::string value = h.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      ms_headers.push_back(h.substr(0, colon) + ":" + value);
    }
    std::sort(ms_headers.begin(), ms_headers.end());
    for (const auto& h : ms_headers) to_sign += h + "\n";
    std::string path = base_path_ + "/" + container_ + (key.empty() ? "" : "/" + uri_encode(key, true));
    to_sign += "/" + account_ + path;
    for (const auto& [k, v] : sorted_query) to_sign += "\n" + k + ":" + v;
    return base64_encode(hmac_sha256(key_, to_sign));
  }

  StoreError error_for(HttpResponse& r, const std::string& key) const {
    std::string code = xml_value(r.body, "Code");
    if (code.empty()) code = r.headers["x-ms-error-code"];
    std::string message = xml_value(r.body, "Message");
    if (auto nl = message.find('\n'); nl != std::string::npos) message.resize(nl);  // Azure adds RequestId lines
    std::string cause =
        "HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code) + (message.empty() ? "" : ": " + message);
    if (code == "ContainerNotFound")
      return {ErrorKind::NoSuchBucket, describe() + ": container \"" + container_ + "\" does not exist"};
    std::string where = describe() + ": \"" + key + "\": ";
    if (code == "BlobNotFound" || r.status == 404) return {ErrorKind::NotFound, where + "not found"};
    if (r.status == 401 || r.status == 403) return {ErrorKind::AccessDenied, where + "access denied (" + cause + ")"};
    return {ErrorKind::Failed, where + cause};
  }

  std::string container_, account_, base_, base_path_, key_, sas_;
  size_t block_size_;
  HttpClient http_;
};

}  // namespace

std::unique_ptr<ObjectStore> open_azure_store(const LocationConfig& location) {
  // resourceGroup and subscriptionId are accepted because Velero BSLs carry them (its plugin fetches account
  // keys through ARM with them); arca takes the key from the credentials instead.
  reject_unknown_keys(
      location.config,
      {"storageAccount", "storageAccountURI", "storageAccountKeyEnvVar", "resourceGroup", "subscriptionId",
       "blockSizeInBytes", "insecureSkipTLSVerify", "caCert", "bucket", "prefix", "credentialsFile"},
      kProvider);
  auto get = [&](const char* key) {
    auto it = location.config.find(key);
    return it == location.config.end() ? std::string() : it->second;
  };
  std::string account = get("storageAccount");
  if (account.empty()) throw StoreError(ErrorKind::InvalidArgument, "azure: config \"storageAccount\" is required");
  if (location.bucket.empty()) throw StoreError(ErrorKind::InvalidArgument, "azure: container (bucket) is required");
  std::string uri = get("storageAccountURI");
  if (uri.empty()) uri = "https://" + account + ".blob.core.windows.net";
  size_t block_size = kDefaultBlockSize;
  if (std::string b = get("blockSizeInBytes"); !b.empty()) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(b.c_str(), &end, 10);
    if (*end != '\0' || v == 0 || v > kMaxBlockSize)
      throw StoreError(ErrorKind::InvalidArgument,
                       "azure: config \"blockSizeInBytes\" must be between 1 and 104857600, not \"" + b + "\"");
    block_size = static_cast<size_t>(v);
  }
  auto file = read_env_file(location.credentials_file);
  auto lookup = [&](const std::string& name) {
    if (auto it = location.credentials.find(name); it != location.credentials.end()) return it->second;
    if (auto it = file.find(name); it != file.end()) return it->second;
    const char* v = std::getenv(name.c_str());
    return std::string(v ? v : "");
  };
  std::string key_var = get("storageAccountKeyEnvVar");
  if (key_var.empty()) key_var = "AZURE_STORAGE_ACCOUNT_ACCESS_KEY";
  std::string key_b64 = lookup(key_var);
  std::string key = key_b64.empty() ? "" : base64_decode(key_b64, "azure: storage account key in " + key_var);
  std::string sas = lookup("AZURE_STORAGE_SAS_TOKEN");
  if (key.empty() && sas.empty())
    throw StoreError(
        ErrorKind::InvalidArgument,
        "azure: no credentials: set " + key_var + " or AZURE_STORAGE_SAS_TOKEN in the credentials file or environment");
  return std::make_unique<AzureStore>(location, account, uri, key, sas, block_size);
}

}  // namespace arca::store
