#include "kube/exec.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "kube/errors.h"
#include "kube/exec_spdy.h"
#include "kube/transport.h"
#include "util/base64.h"
#include "util/version.h"

namespace arca::kube {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr const char* kProtocols = "v5.channel.k8s.io, v4.channel.k8s.io";

struct Endpoint {
  bool tls = false;
  std::string host, port;  // where to connect
  std::string prefix;      // a path prefix of the server URL, kept in front of /api
  std::string host_header; // host[:port] as the server URL names it
};

Endpoint parse_server(const std::string& server) {
  Endpoint e;
  std::string rest;
  if (server.rfind("https://", 0) == 0) {
    e.tls = true, rest = server.substr(8);
  } else if (server.rfind("http://", 0) == 0) {
    rest = server.substr(7);
  } else {
    throw config_error("server \"" + server + "\" is not an http:// or https:// URL");
  }
  size_t slash = rest.find('/');
  e.host_header = rest.substr(0, slash);
  if (slash != std::string::npos) e.prefix = rest.substr(slash);
  while (!e.prefix.empty() && e.prefix.back() == '/') e.prefix.pop_back();
  std::string authority = e.host_header;
  e.port = e.tls ? "443" : "80";
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    e.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') e.port = authority.substr(close + 2);
  } else if (size_t colon = authority.rfind(':'); colon != std::string::npos) {
    e.host = authority.substr(0, colon);
    e.port = authority.substr(colon + 1);
  } else {
    e.host = authority;
  }
  return e;
}

std::string target_of(const Endpoint& e, const ExecRequest& r) {
  std::string target = e.prefix + "/api/v1/namespaces/" + query_escape(r.namespace_name) + "/pods/" +
                       query_escape(r.pod) + "/exec?";
  if (!r.container.empty()) target += "container=" + query_escape(r.container) + "&";
  for (const auto& arg : r.command) target += "command=" + query_escape(arg) + "&";
  if (r.stdin_data) target += "stdin=true&";
  return target + "stdout=true&stderr=true";
}

std::string authorization_of(const Credentials& c) {
  if (!c.bearer_token.empty()) return "Bearer " + c.bearer_token;
  if (!c.username.empty()) return "Basic " + base64_encode(c.username + ":" + c.password);
  return "";
}

// Closes the connection's socket when the deadline passes, which ends a blocking read in the exchange.
class Watchdog {
 public:
  Watchdog(std::chrono::milliseconds timeout, int fd) {
    if (timeout.count() <= 0) return;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    thread_ = std::thread([this, deadline, fd] {
      std::unique_lock lock(mutex_);
      if (!cv_.wait_until(lock, deadline, [&] { return done_; })) {
        fired_ = true;
        ::shutdown(fd, SHUT_RDWR);
      }
    });
  }
  ~Watchdog() { stop(); }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool fired() {
    std::lock_guard lock(mutex_);
    return fired_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false, fired_ = false;
  std::thread thread_;
};

// declined: the WebSocket upgrade was answered with something else than 101 (and not a 401 worth renewing the
// credentials for): as client-go's fallback.go does, the command is tried again over SPDY.
enum class Outcome { done, unauthorized, declined };
enum class Protocol { websocket, spdy };

// The WebSocket exchange over an established (and, for TLS, handshaken) stream.
template <class Stream>
Outcome converse(asio::io_context& ioc, websocket::stream<Stream>& ws, const Endpoint& e, const ExecRequest& r, const std::string& authorization,
                 ExecResult& out) {
  const std::string agent = user_agent("arca");
  ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
    req.set(http::field::user_agent, agent);
    req.set(http::field::sec_websocket_protocol, kProtocols);
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
  }));
  websocket::response_type res;
  beast::error_code ec;
  // Asynchronous only because Beast 1.74's synchronous handshake drops a refused upgrade's response, whose
  // Status is the one line worth reporting.
  ws.async_handshake(res, e.host_header, target_of(e, r), [&](beast::error_code result) { ec = result; });
  ioc.restart();
  ioc.run();
  if (ec) {
    int status = res.result_int();
    if (status == 401 && !authorization.empty()) return Outcome::unauthorized;
    if (ec == websocket::error::upgrade_declined) {
      out.error = status_error(status, res.body(), "exec " + r.namespace_name + "/" + r.pod).what();
      return Outcome::declined;
    } else
      out.error = "exec into pod " + r.namespace_name + "/" + r.pod + ": websocket handshake: " + ec.message();
    return Outcome::done;
  }
  out.protocol = std::string(res[http::field::sec_websocket_protocol]);
  if (out.protocol != "v5.channel.k8s.io" && out.protocol != "v4.channel.k8s.io") {
    out.error = "exec into pod " + r.namespace_name + "/" + r.pod + ": the server chose no channel protocol arca speaks (\"" +
                out.protocol + "\")";
    ws.close(websocket::close_code::normal, ec);
    return Outcome::done;
  }
  ws.binary(true);
  if (r.stdin_data) {
    if (!r.stdin_data->empty()) ws.write(asio::buffer(encode_channel_message(0, *r.stdin_data)), ec);
    // v5 can say "stdin ended"; v4 cannot, so a v4 command reading stdin to its end waits for the timeout.
    if (!ec && out.protocol == "v5.channel.k8s.io") ws.write(asio::buffer(encode_channel_message(255, std::string(1, '\0'))), ec);
  }
  bool have_status = false;
  while (!ec) {
    beast::flat_buffer buffer;
    ws.read(buffer, ec);
    if (ec) break;
    std::string message = beast::buffers_to_string(buffer.data());
    if (message.empty()) continue;
    std::string_view data(message.data() + 1, message.size() - 1);
    switch (static_cast<unsigned char>(message[0])) {
      case 1: out.stdout_data.append(data); break;
      case 2: out.stderr_data.append(data); break;
      case 3: {
        std::string error;
        auto code = decode_exit_status(data, error);
        have_status = true;
        if (code) out.exit_code = *code;
        else out.error = error;
        break;
      }
      default: break;
    }
  }
  if (ec != websocket::error::closed && ws.is_open()) {
    beast::error_code ignored;
    ws.close(websocket::close_code::normal, ignored);
  }
  if (!have_status && out.error.empty())
    out.error = "exec into pod " + r.namespace_name + "/" + r.pod + ": the stream ended without a status (" +
                (ec ? ec.message() : std::string("closed")) + ")";
  return Outcome::done;
}

// The SPDY exchange over an established (and, for TLS, handshaken) stream.
template <class Stream>
Outcome converse_spdy(Stream& stream, const Endpoint& e, const ExecRequest& r, const std::string& authorization,
                      ExecResult& out) {
  SpdyConnection connection{
      [&](char* buffer, size_t size) -> long {
        beast::error_code ec;
        size_t got = stream.read_some(asio::buffer(buffer, size), ec);
        if (got > 0) return static_cast<long>(got);
        return ec == asio::error::eof ? 0 : -1;
      },
      [&](std::string_view data) {
        beast::error_code ec;
        asio::write(stream, asio::buffer(data.data(), data.size()), ec);
        return !ec;
      }};
  std::string refusal;
  int status = exec_over_spdy(connection, {e.host_header, target_of(e, r), authorization, user_agent("arca")}, r, out,
                              refusal);
  if (status == 401 && !authorization.empty()) return Outcome::unauthorized;
  if (status != 101 && status != 0)
    out.error = status_error(status, refusal, "exec " + r.namespace_name + "/" + r.pod).what();
  return Outcome::done;
}

Outcome attempt(Transport& transport, const Endpoint& e, const ExecRequest& r, const Credentials& creds, Protocol protocol,
                ExecResult& out) {
  const RestConfig& config = transport.config();
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto addresses = resolver.resolve(e.host, e.port, ec);
  if (ec) {
    out.error = connection_error("dial tcp " + e.host + ":" + e.port + ": " + ec.message()).what();
    return Outcome::done;
  }
  const std::string authorization = authorization_of(creds);
  if (!e.tls) {
    websocket::stream<tcp::socket> ws(ioc);
    asio::connect(ws.next_layer(), addresses, ec);
    if (ec) {
      out.error = connection_error("dial tcp " + e.host + ":" + e.port + ": " + ec.message()).what();
      return Outcome::done;
    }
    Watchdog watchdog(r.timeout, ws.next_layer().native_handle());
    // SPDY runs on the connection under the (then unused) WebSocket stream: one way to connect for both.
    Outcome o = protocol == Protocol::spdy ? converse_spdy(ws.next_layer(), e, r, authorization, out)
                                           : converse(ioc, ws, e, r, authorization, out);
    watchdog.stop();
    out.timed_out = watchdog.fired();
    return o;
  }
  ssl::context ctx(ssl::context::tls_client);
  const std::string& verify_name =
      config.cluster.tls_server_name.empty() ? e.host : config.cluster.tls_server_name;
  try {
    if (config.cluster.insecure_skip_tls_verify) {
      ctx.set_verify_mode(ssl::verify_none);
    } else {
      ctx.set_verify_mode(ssl::verify_peer);
      if (config.cluster.certificate_authority.empty())
        ctx.set_default_verify_paths();
      else
        ctx.add_certificate_authority(asio::buffer(config.cluster.certificate_authority));
    }
    if (!creds.client_certificate.empty()) {
      ctx.use_certificate_chain(asio::buffer(creds.client_certificate));
      ctx.use_private_key(asio::buffer(creds.client_key), ssl::context::pem);
    }
  } catch (const boost::system::system_error& err) {
    out.error = tls_error(std::string("tls: ") + err.what()).what();
    return Outcome::done;
  }
  websocket::stream<beast::ssl_stream<tcp::socket>> ws(ioc, ctx);
  auto& tls = ws.next_layer();
  if (!config.cluster.insecure_skip_tls_verify) tls.set_verify_callback(ssl::host_name_verification(verify_name));
  boost::system::error_code parse_ec;
  asio::ip::make_address(verify_name, parse_ec);
  if (parse_ec) SSL_set_tlsext_host_name(tls.native_handle(), verify_name.c_str());  // SNI only for names
  asio::connect(beast::get_lowest_layer(ws), addresses, ec);
  if (ec) {
    out.error = connection_error("dial tcp " + e.host + ":" + e.port + ": " + ec.message()).what();
    return Outcome::done;
  }
  Watchdog watchdog(r.timeout, beast::get_lowest_layer(ws).native_handle());
  tls.handshake(ssl::stream_base::client, ec);
  if (ec) {
    watchdog.stop();
    out.timed_out = watchdog.fired();
    if (!out.timed_out) out.error = tls_error("tls: " + ec.message() + " (server " + config.cluster.server + ")").what();
    return Outcome::done;
  }
  Outcome o = protocol == Protocol::spdy ? converse_spdy(tls, e, r, authorization, out)
                                         : converse(ioc, ws, e, r, authorization, out);
  watchdog.stop();
  out.timed_out = watchdog.fired();
  return o;
}

}  // namespace

std::string encode_channel_message(unsigned char channel, std::string_view data) {
  std::string message(1, static_cast<char>(channel));
  message.append(data);
  return message;
}

std::optional<int> decode_exit_status(std::string_view status_json, std::string& error) {
  auto status = nlohmann::json::parse(status_json, nullptr, false);
  if (!status.is_object()) {
    error = "exec: the server sent a status that is not JSON";
    return std::nullopt;
  }
  if (status.value("status", "") == "Success") return 0;
  if (status.value("reason", "") == "NonZeroExitCode") {
    const auto causes = status.value("/details/causes"_json_pointer, nlohmann::json::array());
    for (const auto& cause : causes)
      if (cause.is_object() && cause.value("reason", "") == "ExitCode") {
        const std::string text = cause.value("message", "");
        char* end = nullptr;
        long code = std::strtol(text.c_str(), &end, 10);
        if (!text.empty() && end && *end == '\0') return static_cast<int>(code);
      }
    error = "exec: the server's NonZeroExitCode status names no exit code";
    return std::nullopt;
  }
  error = status.value("message", std::string("exec failed"));
  return std::nullopt;
}

ExecResult exec_in_pod(Transport& transport, const ExecRequest& request) {
  ExecResult out;
  Endpoint endpoint;
  try {
    endpoint = parse_server(transport.config().cluster.server);
    for (int tries = 0;; ++tries) {
      out = ExecResult{};
      Outcome o = attempt(transport, endpoint, request, transport.current_credentials(), Protocol::websocket, out);
      if (o == Outcome::declined) {  // an API server before 1.30, or a proxy that strips the upgrade
        out = ExecResult{};
        o = attempt(transport, endpoint, request, transport.current_credentials(), Protocol::spdy, out);
      }
      if (o != Outcome::unauthorized) break;
      if (tries == 1) {
        out.error = "exec into pod " + request.namespace_name + "/" + request.pod + ": Unauthorized";
        break;
      }
      transport.invalidate_credentials();  // a rotated token file or an expired exec credential: renew once
    }
  } catch (const std::exception& e) {  // credentials (exec plugin) and configuration errors
    out.error = e.what();
  }
  if (out.timed_out) out.error.clear();
  return out;
}

}  // namespace arca::kube
