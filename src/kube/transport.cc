#include "kube/transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <random>
#include <thread>

#include "kube/errors.h"
#include "util/version.h"

namespace arca::kube {
namespace {

constexpr std::chrono::milliseconds kBackoffBase{200};
constexpr std::chrono::milliseconds kBackoffMax{5000};
constexpr std::chrono::seconds kRetryAfterMax{60};

void global_init() {
  static const bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

bool is_idempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE";
}

// Failures after which the server cannot have acted on the request: no connection was made, or the connection
// broke before all of the request was out and before any answer came (a server acts on a request only once it
// has read all of it). libcurl reads while it sends, so a reset under a body shows as a send or a recv error.
bool never_reached_server(CURLcode code, bool sent_whole, bool answered) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return true;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      return !sent_whole && !answered;
    default:
      return false;
  }
}

bool is_tls_failure(CURLcode code) {
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
      return true;
    default:
      return false;
  }
}

std::chrono::milliseconds backoff(int attempt) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  auto delay = std::min(kBackoffMax, kBackoffBase * (1 << std::min(attempt, 10)));
  // Jitter spreads the retries of many clients that failed at the same moment.
  std::uniform_int_distribution<long> jitter(0, delay.count() / 2);
  return delay + std::chrono::milliseconds(jitter(rng));
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string query_escape(std::string_view value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

RateLimiter::RateLimiter(double qps, int burst)
    : qps_(qps), burst_(std::max(1, burst)), tokens_(burst_), last_(std::chrono::steady_clock::now()) {}

void RateLimiter::acquire() {
  if (qps_ <= 0) return;  // no limit
  std::chrono::duration<double> wait{0};
  {
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * qps_);
    last_ = now;
    tokens_ -= 1;  // reserve now; a negative balance is the queue of waiting callers
    if (tokens_ < 0) wait = std::chrono::duration<double>(-tokens_ / qps_);
  }
  if (wait.count() > 0) std::this_thread::sleep_for(wait);
}

// The state of one HTTP exchange, shared with libcurl's callbacks.
struct Transport::Attempt {
  CURL* handle = nullptr;
  const std::function<bool(std::string_view)>* on_data = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  HttpResponse response;
  bool delivered = false;       // a chunk reached on_data: the request cannot be retried any more
  bool stopped_by_caller = false;
  // HttpRequest::idle_timeout: the last byte's arrival, and whether the silence after it ended the transfer.
  std::chrono::milliseconds idle{0};
  std::chrono::steady_clock::time_point last_byte = std::chrono::steady_clock::now();
  bool went_idle = false;
  bool sent_whole = false;      // every byte of the request (head and body) was handed to the connection
  bool started = false;         // connected (and TLS done): the request could go out
  long retry_after_seconds = -1;
  CURLcode code = CURLE_OK;
  char error_text[CURL_ERROR_SIZE] = {};

  static size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* a = static_cast<Attempt*>(user);
    a->last_byte = std::chrono::steady_clock::now();
    std::string_view line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) {  // a new response (after 100 Continue): forget the previous headers
      a->response.content_type.clear();
      a->response.warnings.clear();
      a->retry_after_seconds = -1;
    } else if (starts_with_ci(line, "content-type:")) {
      a->response.content_type = std::string(trim(line.substr(13)));
    } else if (starts_with_ci(line, "retry-after:")) {
      std::string value(trim(line.substr(12)));
      if (!value.empty() && std::all_of(value.begin(), value.end(), ::isdigit)) a->retry_after_seconds = std::stol(value);
    } else if (starts_with_ci(line, "warning:")) {
      std::string_view value = trim(line.substr(8));
      auto open = value.find('"');
      auto close = value.rfind('"');
      a->response.warnings.emplace_back(open != close ? value.substr(open + 1, close - open - 1) : value);
    }
    return size * count;
  }

  static size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* a = static_cast<Attempt*>(user);
    a->last_byte = std::chrono::steady_clock::now();
    size_t length = size * count;
    if (a->response.status == 0) {
      long code = 0;
      curl_easy_getinfo(a->handle, CURLINFO_RESPONSE_CODE, &code);
      a->response.status = static_cast<int>(code);
    }
    if (a->on_data && a->response.status >= 200 && a->response.status < 300) {
      a->delivered = true;
      if (!(*a->on_data)(std::string_view(data, length))) {
        a->stopped_by_caller = true;
        return 0;  // makes libcurl abort the transfer
      }
      return length;
    }
    a->response.body.append(data, length);
    return length;
  }

  static int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* a = static_cast<Attempt*>(user);
    if (a->cancel && a->cancel->load()) {
      a->stopped_by_caller = true;
      return 1;
    }
    // libcurl calls this about once a second even when nothing moves.
    if (a->idle.count() > 0 && std::chrono::steady_clock::now() - a->last_byte > a->idle) {
      a->went_idle = true;
      return 1;
    }
    return 0;
  }
};

Transport::Transport(RestConfig config)
    : config_(std::move(config)), credentials_(config_), limiter_(config_.qps, config_.burst) {
  global_init();
  user_agent_ = arca::user_agent("arca");
  url_base_ = config_.cluster.server;
  while (!url_base_.empty() && url_base_.back() == '/') url_base_.pop_back();
  auto scheme_end = url_base_.find("://");
  if (scheme_end == std::string::npos || (url_base_.rfind("http://", 0) != 0 && url_base_.rfind("https://", 0) != 0)) {
    throw config_error("server \"" + config_.cluster.server + "\" is not an http:// or https:// URL");
  }
  if (!config_.cluster.tls_server_name.empty()) {
    // libcurl verifies the certificate against the URL's host, so the URL names tls-server-name and
    // CONNECT_TO sends the connection to the real address; the Host header keeps the real host.
    size_t host_start = scheme_end + 3;
    size_t host_end = url_base_.find('/', host_start);
    std::string authority = url_base_.substr(host_start, host_end == std::string::npos ? std::string::npos
                                                                                      : host_end - host_start);
    std::string host = authority, port = url_base_.rfind("https://", 0) == 0 ? "443" : "80";
    size_t colon = authority.rfind(':');
    if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    std::string bare_host = host;
    if (!bare_host.empty() && bare_host.front() == '[') bare_host = bare_host.substr(1, bare_host.size() - 2);
    connect_to_ = config_.cluster.tls_server_name + ":" + port + ":" + bare_host + ":" + port;
    host_header_ = "Host: " + authority;
    url_base_ = url_base_.substr(0, host_start) + config_.cluster.tls_server_name + ":" + port +
                (host_end == std::string::npos ? "" : url_base_.substr(host_end));
  }
}

Transport::~Transport() {
  for (void* handle : idle_handles_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* Transport::acquire_handle() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_handles_.empty()) {
      void* handle = idle_handles_.back();
      idle_handles_.pop_back();
      return handle;
    }
  }
  CURL* handle = curl_easy_init();
  if (!handle) throw connection_error("libcurl could not create a handle");
  return handle;
}

void Transport::release_handle(void* handle) {
  std::lock_guard lock(pool_mutex_);
  idle_handles_.push_back(handle);
}

void Transport::perform_once(void* raw_handle, const HttpRequest& request, const Credentials& creds,
                             Attempt& attempt, bool fresh_connection) {
  CURL* handle = static_cast<CURL*>(raw_handle);
  // reset keeps the handle's live connections and TLS session cache, which is the point of the pool.
  curl_easy_reset(handle);
  attempt.handle = handle;
  std::string url = url_base_ + request.path;
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(handle, CURLOPT_USERAGENT, user_agent_.c_str());
  curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
  // After a connection failed, the next attempt must not take another pooled connection that the server may
  // have closed as well (kubelite and kube-apiserver close idle keep-alive connections).
  if (fresh_connection) curl_easy_setopt(handle, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, attempt.error_text);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.connect_timeout.count()));
  long timeout_ms = static_cast<long>(request.timeout.count());
  if (timeout_ms == 0 && !attempt.on_data) timeout_ms = static_cast<long>(config_.request_timeout.count());
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_slist* connect_to = connect_to_.empty() ? nullptr : curl_slist_append(nullptr, connect_to_.c_str());
  if (connect_to) curl_easy_setopt(handle, CURLOPT_CONNECT_TO, connect_to);
  if (!config_.cluster.proxy_url.empty()) curl_easy_setopt(handle, CURLOPT_PROXY, config_.cluster.proxy_url.c_str());

  // TLS: verification stays on unless the kubeconfig says insecure-skip-tls-verify.
  if (config_.cluster.insecure_skip_tls_verify) {
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_blob ca{}, cert{}, key{};
  if (!config_.cluster.certificate_authority.empty()) {
    ca = {const_cast<char*>(config_.cluster.certificate_authority.data()), config_.cluster.certificate_authority.size(),
          CURL_BLOB_NOCOPY};
    curl_easy_setopt(handle, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (!creds.client_certificate.empty()) {
    cert = {const_cast<char*>(creds.client_certificate.data()), creds.client_certificate.size(), CURL_BLOB_COPY};
    key = {const_cast<char*>(creds.client_key.data()), creds.client_key.size(), CURL_BLOB_COPY};
    curl_easy_setopt(handle, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(handle, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(handle, CURLOPT_SSLKEYTYPE, "PEM");
    curl_easy_setopt(handle, CURLOPT_SSLKEY_BLOB, &key);
  }

  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Accept: " + request.accept).c_str());
  if (!request.content_type.empty()) headers = curl_slist_append(headers, ("Content-Type: " + request.content_type).c_str());
  if (!host_header_.empty()) headers = curl_slist_append(headers, host_header_.c_str());
  if (!creds.bearer_token.empty()) {
    headers = curl_slist_append(headers, ("Authorization: Bearer " + creds.bearer_token).c_str());
  } else if (!creds.username.empty()) {
    curl_easy_setopt(handle, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(handle, CURLOPT_USERNAME, creds.username.c_str());
    curl_easy_setopt(handle, CURLOPT_PASSWORD, creds.password.c_str());
  }
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip for large bodies
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);

  if (request.method == "GET") {
    curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty() || request.method == "POST") {
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }

  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &Attempt::on_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &attempt);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &Attempt::on_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &attempt);
  attempt.idle = request.idle_timeout;
  attempt.last_byte = std::chrono::steady_clock::now();
  if (request.cancel || request.idle_timeout.count() > 0) {
    curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, &Attempt::on_progress);
    curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &attempt);
  }

  attempt.code = curl_easy_perform(handle);
  curl_off_t uploaded = 0, head_bytes = 0;
  curl_easy_getinfo(handle, CURLINFO_SIZE_UPLOAD_T, &uploaded);
  long head_size = 0;
  curl_easy_getinfo(handle, CURLINFO_REQUEST_SIZE, &head_size);
  head_bytes = head_size;
  attempt.sent_whole = head_bytes > 0 && uploaded >= static_cast<curl_off_t>(request.body.size());
  curl_off_t pretransfer = 0;
  curl_easy_getinfo(handle, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
  attempt.started = pretransfer > 0;
  if (attempt.response.status == 0) {
    long code = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
    attempt.response.status = static_cast<int>(code);
  }
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(headers);
  curl_slist_free_all(connect_to);
}

HttpResponse Transport::perform(const HttpRequest& request, const std::function<bool(std::string_view)>* on_data) {
  bool renewed_credentials = false;
  bool idempotent = is_idempotent(request.method);
  bool fresh_connection = false;  // the previous attempt's connection failed
  bool resent_unreached = false;  // the one immediate resend of a request that never reached the server is spent
  bool timed_out = false;         // an attempt already waited its whole timeout: one more at most
  for (int attempt_number = 0;; ++attempt_number) {
    limiter_.acquire();
    Credentials creds = credentials_.current();
    Attempt attempt;
    attempt.on_data = on_data;
    attempt.cancel = request.cancel;
    void* handle = acquire_handle();
    perform_once(handle, request, creds, attempt, fresh_connection);
    release_handle(handle);
    bool can_retry = attempt_number < config_.max_retries && !attempt.delivered;

    if (attempt.code != CURLE_OK) {
      if (attempt.stopped_by_caller) return std::move(attempt.response);
      std::string cause = attempt.error_text[0] ? attempt.error_text : curl_easy_strerror(attempt.code);
      if (attempt.code == CURLE_OPERATION_TIMEDOUT || attempt.went_idle) {
        // A server that never answers: say what was being waited for, and wait for it twice at most (each retry
        // of a hung server multiplies the silence: five attempts of 60 s were five minutes without a word).
        auto waited = !attempt.started ? config_.connect_timeout
                                       : request.timeout.count() ? request.timeout : config_.request_timeout;
        bool idle = attempt.went_idle;
        if (idle) waited = request.idle_timeout;
        cause = (idle ? "no byte for " : "timed out after ") + std::to_string((waited.count() + 999) / 1000) + " s " +
                (idle ? "from " : attempt.started ? "waiting for the answer to " : "waiting to connect for ") +
                request.method + " " + request.path.substr(0, request.path.find('?'));
        if (timed_out) throw connection_error(cause + " (server " + config_.cluster.server + ")");
        timed_out = true;
      }
      if (is_tls_failure(attempt.code)) throw tls_error("tls: " + cause + " (server " + config_.cluster.server + ")");
      if (attempt.delivered) {
        attempt.response.dropped = true;
        return std::move(attempt.response);
      }
      fresh_connection = true;
      // A request the server never saw is safe to send again whatever its verb: once at once on a fresh
      // connection (the usual cause is a keep-alive connection the server closed while it was being sent:
      // "Broken pipe"), then as the idempotent ones are.
      bool unreached = never_reached_server(attempt.code, attempt.sent_whole, attempt.response.status != 0);
      if (unreached && !resent_unreached) {
        resent_unreached = true;
        --attempt_number;
        continue;
      }
      if (can_retry && (idempotent || unreached)) {
        std::this_thread::sleep_for(backoff(attempt_number));
        continue;
      }
      throw connection_error(cause + " (server " + config_.cluster.server + ")");
    }
    fresh_connection = false;

    int status = attempt.response.status;
    if (status == 401 && !renewed_credentials && (config_.user.exec || !config_.user.token_file.empty())) {
      // The cached exec credential or file token may have been revoked or rotated: renew once.
      credentials_.invalidate();
      renewed_credentials = true;
      --attempt_number;
      continue;
    }
    // 429 means the server did not process the request, so even a POST may go again.
    bool retryable = status == 429 || (idempotent && status >= 500 && status != 501);
    if (retryable && can_retry) {
      auto delay = attempt.retry_after_seconds >= 0
                       ? std::chrono::milliseconds(
                             std::min<long>(attempt.retry_after_seconds, kRetryAfterMax.count()) * 1000)
                       : backoff(attempt_number);
      std::this_thread::sleep_for(delay);
      continue;
    }
    return std::move(attempt.response);
  }
}

HttpResponse Transport::send(const HttpRequest& request) { return perform(request, nullptr); }

HttpResponse Transport::stream(const HttpRequest& request, const std::function<bool(std::string_view)>& on_data) {
  return perform(request, &on_data);
}

}  // namespace arca::kube
