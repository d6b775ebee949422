#include "kubelite/workloads/grpc_probe.h"

#include "kubelite/workloads/probes.h"

#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <thread>

namespace kubelite::workloads {

namespace {

using Clock = std::chrono::steady_clock;

// google.golang.org/grpc/codes' names, as `rpc error: code = … desc = …` prints them.
std::string code_name(int code) {
  static const char* const names[] = {"OK",      "Canceled",      "Unknown",   "InvalidArgument",    "DeadlineExceeded",
                                      "NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted",
                                      "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal",
                                      "Unavailable", "DataLoss", "Unauthenticated"};
  if (code >= 0 && code < 17) return names[code];
  return "Code(" + std::to_string(code) + ")";
}
constexpr int kUnknown = 2, kDeadlineExceeded = 4, kUnimplemented = 12, kInternal = 13, kUnavailable = 14;

// grpc-go's mapping of a non-200 HTTP status without grpc-status (internal/transport/http_util.go).
int code_of_http_status(int status) {
  switch (status) {
    case 400: return kInternal;
    case 401: return 16;
    case 403: return 7;
    case 404: return kUnimplemented;
    case 429: case 502: case 503: case 504: return kUnavailable;
    default: return kUnknown;
  }
}

// grpc-message is percent-encoded (gRPC over HTTP/2, "Responses").
std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool get_varint(const std::string& in, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; pos < in.size() && shift < 64; shift += 7) {
    uint8_t b = static_cast<uint8_t>(in[pos++]);
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// grpc.health.v1.HealthCheckRequest{service} as one length-prefixed gRPC message.
std::string health_check_request(const std::string& service) {
  std::string message;
  if (!service.empty()) {
    message.push_back(0x0a);  // field 1, length-delimited
    put_varint(message, service.size());
    message += service;
  }
  std::string framed(1, '\0');  // not compressed
  for (int shift = 24; shift >= 0; shift -= 8) framed.push_back(static_cast<char>(message.size() >> shift));
  return framed + message;
}

// HealthCheckResponse.status (field 1) of a length-prefixed message; -1 when it does not parse.
int health_status(const std::string& body) {
  if (body.size() < 5 || body[0] != 0) return -1;
  size_t length = (size_t(uint8_t(body[1])) << 24) | (size_t(uint8_t(body[2])) << 16) |
                  (size_t(uint8_t(body[3])) << 8) | size_t(uint8_t(body[4]));
  if (body.size() < 5 + length) return -1;
  std::string message = body.substr(5, length);
  int status = 0;  // proto3: an absent field is its zero, UNKNOWN
  for (size_t pos = 0; pos < message.size();) {
    uint64_t key, value;
    if (!get_varint(message, pos, key)) return -1;
    switch (key & 7) {
      case 0:
        if (!get_varint(message, pos, value)) return -1;
        if (key >> 3 == 1) status = static_cast<int>(value);
        break;
      case 1: pos += 8; break;
      case 2:
        if (!get_varint(message, pos, value)) return -1;
        pos += value;
        break;
      case 5: pos += 4; break;
      default: return -1;
    }
  }
  return status;
}

std::string status_name(int status) {
  static const char* const names[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
  return status >= 0 && status < 4 ? names[status] : std::to_string(status);  // Go's enum String()
}

struct Call {
  std::string request;
  size_t sent = 0;
  int32_t stream_id = -1;
  std::string http_status, grpc_status, grpc_message, body;
  bool closed = false;
  uint32_t reset_code = 0;
};

ssize_t read_request(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags, nghttp2_data_source* source,
                     void*) {
  auto* call = static_cast<Call*>(source->ptr);
  size_t n = std::min(length, call->request.size() - call->sent);
  std::memcpy(buf, call->request.data() + call->sent, n);
  call->sent += n;
  if (call->sent == call->request.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t name_len, const uint8_t* value,
              size_t value_len, uint8_t, void* user) {
  auto* call = static_cast<Call*>(user);
  if (frame->hd.stream_id != call->stream_id) return 0;
  std::string_view n(reinterpret_cast<const char*>(name), name_len);
  std::string v(reinterpret_cast<const char*>(value), value_len);
  if (n == ":status") call->http_status = v;
  else if (n == "grpc-status") call->grpc_status = v;
  else if (n == "grpc-message") call->grpc_message = percent_decode(v);
  return 0;
}

int on_data(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len, void* user) {
  auto* call = static_cast<Call*>(user);
  if (stream_id == call->stream_id && call->body.size() < (1u << 20)) call->body.append(reinterpret_cast<const char*>(data), len);
  return 0;
}

int on_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
  auto* call = static_cast<Call*>(user);
  if (stream_id == call->stream_id) {
    call->closed = true;
    call->reset_code = error_code;
  }
  return 0;
}

// A connected non-blocking socket, retrying refused connections until the deadline as grpc-go's blocking dial
// does; -1 when the deadline passed first.
int connect_until(const std::string& host, int port, Clock::time_point deadline) {
  std::string error;
  for (auto now = Clock::now(); now < deadline; now = Clock::now()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    int fd = dial_tcp(host, port, static_cast<int>(left), error);
    if (fd >= 0) return fd;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return -1;
}

bool send_all(int fd, const uint8_t* data, size_t size, Clock::time_point deadline) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLOUT, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) return false;
  }
  return true;
}

// Runs the call on a connected socket. Returns false with `transport_error` set when the exchange itself failed
// (a grpc-go Unavailable), and false with `timed_out` when the deadline came first.
bool exchange(int fd, const std::string& authority, Call& call, Clock::time_point deadline, int timeout_s,
              bool& timed_out, std::string& transport_error) {
  nghttp2_session_callbacks* callbacks;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_close);
  nghttp2_session* session;
  nghttp2_session_client_new(&session, callbacks, &call);
  nghttp2_session_callbacks_del(callbacks);

  std::string timeout = std::to_string(timeout_s * 1000) + "m";  // grpc-timeout: the call's deadline
  auto header = [](const char* name, const std::string& value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), std::strlen(name), value.size(),
                      NGHTTP2_NV_FLAG_NONE};
  };
  const std::string post = "POST", http = "http", path = "/grpc.health.v1.Health/Check", grpc = "application/grpc",
                    trailers = "trailers", agent = "kube-probe/1.31";
  nghttp2_nv headers[] = {header(":method", post),          header(":scheme", http),
                          header(":path", path),            header(":authority", authority),
                          header("content-type", grpc),     header("te", trailers),
                          header("user-agent", agent),      header("grpc-timeout", timeout)};
  nghttp2_data_provider provider{};
  provider.source.ptr = &call;
  provider.read_callback = read_request;
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  call.stream_id = nghttp2_submit_request(session, nullptr, headers, std::size(headers), &provider, nullptr);

  bool ok = call.stream_id > 0;
  if (!ok) transport_error = "could not start the call";
  while (ok && !call.closed) {
    const uint8_t* out;
    ssize_t n;
    while (ok && (n = nghttp2_session_mem_send(session, &out)) != 0) {
      if (n < 0 || !send_all(fd, out, static_cast<size_t>(n), deadline)) {
        if (Clock::now() >= deadline) timed_out = true;
        else transport_error = n < 0 ? nghttp2_strerror(static_cast<int>(n)) : "write: " + std::string(strerror(errno));
        ok = false;
      }
    }
    if (!ok || call.closed) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) {
      timed_out = true;
      ok = false;
      break;
    }
    uint8_t buf[16384];
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
      transport_error = got == 0 ? "error reading from server: EOF" : "error reading from server: " + std::string(strerror(errno));
      ok = false;
    } else if (got > 0 && nghttp2_session_mem_recv(session, buf, static_cast<size_t>(got)) < 0) {
      transport_error = "connection error: the server does not speak HTTP/2";
      ok = false;
    }
  }
  nghttp2_session_del(session);
  return ok;
}

}  // namespace

bool grpc_probe(const std::string& host, int port, const std::string& service, int timeout_s, std::string& message) {
  std::string address = host + ":" + std::to_string(port);
  std::string timeout = std::to_string(timeout_s) + "s";  // Go's time.Duration as %v prints it
  auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  int fd = connect_until(host, port, deadline);
  if (fd < 0) {
    message = "timeout: failed to connect service \"" + address + "\" within " + timeout + ": context deadline exceeded";
    return false;
  }
  Call call;
  call.request = health_check_request(service);
  bool timed_out = false;
  std::string transport_error;
  bool done = exchange(fd, address, call, deadline, timeout_s, timed_out, transport_error);
  close(fd);
  auto rpc_error = [&](int code, const std::string& desc) {
    if (code == kUnimplemented)
      return "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): " + desc;
    if (code == kDeadlineExceeded) return "timeout: health rpc did not complete within " + timeout;
    return "error: health rpc probe failed: rpc error: code = " + code_name(code) + " desc = " + desc;
  };
  if (!done) {
    message = timed_out ? "timeout: health rpc did not complete within " + timeout : rpc_error(kUnavailable, transport_error);
    return false;
  }
  if (call.grpc_status.empty()) {
    if (!call.http_status.empty() && call.http_status != "200") {
      int status = std::atoi(call.http_status.c_str());
      message = rpc_error(code_of_http_status(status), "unexpected HTTP status code received from server: " + call.http_status);
    } else if (call.reset_code != 0) {
      message = rpc_error(kInternal, std::string("stream terminated by RST_STREAM with error code: ") +
                                         nghttp2_http2_strerror(call.reset_code));
    } else {
      message = rpc_error(kInternal, "server closed the stream without sending trailers");
    }
    return false;
  }
  if (int code = std::atoi(call.grpc_status.c_str()); code != 0) {
    message = rpc_error(code, call.grpc_message);
    return false;
  }
  int status = health_status(call.body);
  if (status < 0) {
    message = rpc_error(kInternal, "grpc: failed to unmarshal the received message");
    return false;
  }
  if (status != 1) {
    message = "service unhealthy (responded with \"" + status_name(status) + "\")";
    return false;
  }
  message = "service healthy";
  return true;
}

}  // namespace kubelite::workloads
