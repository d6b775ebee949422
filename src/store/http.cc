#include "store/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "store/crypto.h"

namespace arca::store {
namespace {

struct Transfer {
  const HttpRequest* request;
  HttpResponse* response;
  CURL* curl;
  size_t sent = 0;
  bool* delivered;  // set once the sink received bytes: such a request cannot be repeated
};

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = std::min(size * count, t->request->body.size() - t->sent);
  std::copy_n(t->request->body.data() + t->sent, n, buffer);
  t->sent += n;
  return n;
}

// libcurl re-sends a request whose reused connection died before any answer byte; it must rewind the body.
int on_seek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > t->request->body.size())
    return CURL_SEEKFUNC_CANTSEEK;
  t->sent = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300 && t->request->sink) {
    *t->delivered = true;
    (*t->request->sink)(data, size * count);
  } else if (t->response->body.size() < (1 << 20)) {  // error documents are small; never buffer a stray body
    t->response->body.append(data, size * count);
  }
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    t->response->headers[name] = std::string(value);
  }
  return size * count;
}

}  // namespace

namespace {

// How long a transfer may move no byte before it is given up (libcurl's low-speed limit of 1 byte/s):
// $ARCA_STORE_STALL_SECONDS, else 60 s. A hung object store must end a backup with a message, not hold it.
long stall_seconds() {
  const char* text = std::getenv("ARCA_STORE_STALL_SECONDS");
  if (!text || !*text) return 60;
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value <= 0 || value > 86400)
    throw StoreError(ErrorKind::InvalidArgument,
                     std::string("ARCA_STORE_STALL_SECONDS must be a number of seconds from 1 to 86400, not \"") +
                         text + "\"");
  return value;
}

}  // namespace

HttpClient::HttpClient(TlsOptions tls) : tls_(std::move(tls)), stall_seconds_(stall_seconds()) {
  static const bool initialised = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)initialised;
}

HttpClient::~HttpClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* HttpClient::take_handle() {
  std::lock_guard lock(mutex_);
  if (idle_.empty()) return curl_easy_init();
  void* h = idle_.back();
  idle_.pop_back();
  return h;
}

void HttpClient::give_back(void* handle) {
  curl_easy_reset(static_cast<CURL*>(handle));  // keeps the connection cache, drops per-request options
  std::lock_guard lock(mutex_);
  idle_.push_back(handle);
}

HttpResponse HttpClient::perform(const HttpRequest& request, const std::string& what) {
  // Transient failures (connection trouble, 429, 5xx) are retried, as the cloud SDKs Velero uses do, unless
  // part of a response body already went to the caller's sink.
  constexpr int kAttempts = 3;
  bool waited_out = false;  // an attempt already waited its whole stall time: one more at most
  for (int attempt = 1;; ++attempt) {
    bool delivered = false, retryable = false, timed_out = false;
    try {
      HttpResponse response = perform_once(request, what, delivered, retryable, timed_out);
      // 501: the server does not implement the request (s3rver and ListMultipartUploads): asking again is no use.
      bool transient = response.status == 429 || (response.status >= 500 && response.status != 501);
      if (!transient || delivered || attempt == kAttempts) return response;
    } catch (const StoreError&) {
      if (!retryable || delivered || attempt == kAttempts || (timed_out && waited_out)) throw;
      waited_out = waited_out || timed_out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100 << (2 * attempt)));  // 400 ms, then 1.6 s
  }
}

HttpResponse HttpClient::perform_once(const HttpRequest& request, const std::string& what, bool& delivered,
                                      bool& retryable, bool& timed_out) {
  CURL* curl = static_cast<CURL*>(take_handle());
  HttpResponse response;
  Transfer transfer{&request, &response, curl, 0, &delivered};
  curl_slist* headers = nullptr;
  // Without this libcurl adds "Expect: 100-continue" to large uploads, costing a round trip. Not with SigV4:
  // libcurl would sign the suppressed header as "expect:" although it is never sent (the botocore test saw it).
  if (request.aws_sigv4.empty()) headers = curl_slist_append(headers, "Expect:");
  for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // Keys may contain "./" or "../" segments; they are names, and the signature covers the path as sent.
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  // A stalled transfer (less than 1 byte/s for a minute) is a dead endpoint, not a slow one.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, stall_seconds_);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  if (tls_.insecure_skip_verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_blob ca{};
  if (!tls_.ca_pem.empty()) {
    ca.data = tls_.ca_pem.data();
    ca.len = tls_.ca_pem.size();
    ca.flags = CURL_BLOB_NOCOPY;
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (!request.aws_sigv4.empty()) {
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, request.aws_sigv4.c_str());
    curl_easy_setopt(curl, CURLOPT_USERPWD, request.user_password.c_str());
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    // UPLOAD sends exactly `body` with a Content-Length and no content type of libcurl's choosing.
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (request.method == "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "POST");
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    std::string cause = error[0] ? error : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      // Say what was waited for, not libcurl's "Operation too slow. Less than 1 bytes/sec transferred".
      curl_off_t pretransfer = 0;
      curl_easy_getinfo(curl, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
      timed_out = true;
      cause = pretransfer > 0 ? "timed out: no byte moved for " + std::to_string(stall_seconds_) +
                                    " s waiting for the server's answer"
                              : "timed out after 10 s waiting to connect";
    }
    // Certificate, DNS and URL problems do not go away by asking again; dropped connections may.
    retryable = rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR ||
                rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE ||
                rc == CURLE_SEND_FAIL_REWIND;
    curl_easy_cleanup(curl);  // a failed connection is not worth keeping
    throw StoreError(ErrorKind::Unreachable, what + ": " + cause);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  give_back(curl);
  return response;
}

bool config_flag(const std::map<std::string, std::string>& config, const std::string& key,
                 const std::string& provider) {
  auto it = config.find(key);
  if (it == config.end() || it->second.empty()) return false;
  if (it->second == "true" || it->second == "True" || it->second == "1") return true;
  if (it->second == "false" || it->second == "False" || it->second == "0") return false;
  throw StoreError(ErrorKind::InvalidArgument,
                   provider + ": config \"" + key + "\" must be true or false, not \"" + it->second + "\"");
}

TlsOptions tls_from_config(const std::map<std::string, std::string>& config, const std::string& provider) {
  TlsOptions tls;
  tls.insecure_skip_verify = config_flag(config, "insecureSkipTLSVerify", provider);
  if (auto it = config.find("caCert"); it != config.end() && !it->second.empty()) {
    tls.ca_pem = it->second.find("-----BEGIN") != std::string::npos
                     ? it->second
                     : base64_decode(it->second, provider + ": config \"caCert\"");
    if (tls.ca_pem.find("-----BEGIN CERTIFICATE") == std::string::npos)
      throw StoreError(ErrorKind::InvalidArgument, provider + ": config \"caCert\" holds no PEM certificate");
  }
  return tls;
}

void reject_unknown_keys(const std::map<std::string, std::string>& config, const std::vector<std::string>& known,
                         const std::string& provider) {
  std::string unknown;
  for (const auto& [key, value] : config) {
    if (std::find(known.begin(), known.end(), key) == known.end()) unknown += (unknown.empty() ? "" : ", ") + key;
  }
  if (!unknown.empty()) throw StoreError(ErrorKind::InvalidArgument, provider + ": unknown config keys: " + unknown);
}

uint64_t parse_size(const std::string& text, const std::string& what) {
  if (text.empty()) return 0;
  if (text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
    throw StoreError(ErrorKind::Failed, what + ": not a size: \"" + text.substr(0, 40) + "\"");
  return std::stoull(text);
}

std::string xml_unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    auto semi = text.find(';', i);
    if (semi == std::string_view::npos) {
      out.push_back('&');
      continue;
    }
    std::string_view entity = text.substr(i + 1, semi - i - 1);
    if (entity == "amp")
      out += '&';
    else if (entity == "lt")
      out += '<';
    else if (entity == "gt")
      out += '>';
    else if (entity == "quot")
      out += '"';
    else if (entity == "apos")
      out += '\'';
    else if (!entity.empty() && entity[0] == '#') {
      bool hex_form = entity.size() > 1 && (entity[1] == 'x' || entity[1] == 'X');
      std::string digits(entity.substr(hex_form ? 2 : 1));
      char* end = nullptr;
      unsigned long cp = std::strtoul(digits.c_str(), &end, hex_form ? 16 : 10);
      if (digits.empty() || *end != '\0' || cp > 0x10FFFF) {
        out.append(text.substr(i, semi - i + 1));  // not a character reference: keep it as it came
      } else if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      }
    } else {
      out.append(text.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<std::string_view> xml_elements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  std::string open(1, '<');
  open.append(tag);
  std::string close = "</";
  close.append(tag).append(">");
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    size_t after = pos + open.size();
    if (after >= xml.size()) break;
    // "<Key>" or "<Key attr=...>", not "<KeyMarker>"; "<Key/>" is an empty value.
    if (xml[after] == '/' && after + 1 < xml.size() && xml[after + 1] == '>') {
      out.emplace_back();
      pos = after + 2;
      continue;
    }
    if (xml[after] != '>' && xml[after] != ' ') {
      pos = after;
      continue;
    }
    size_t start = xml.find('>', after);
    if (start == std::string_view::npos) break;
    ++start;
    size_t end = xml.find(close, start);
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(start, end - start));
    pos = end + close.size();
  }
  return out;
}

std::string xml_value(std::string_view xml, std::string_view tag) {
  auto all = xml_elements(xml, tag);
  return all.empty() ? std::string() : xml_unescape(all.front());
}

}  // namespace arca::store
