#include "kubelite/http_server.h"

#include <httplib.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <optional>
#include <stdexcept>

#include "kubelite/objects.h"
#include "kubelite/spdy.h"
#include "kubelite/websocket.h"

namespace kubelite {

namespace {

X509* load_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

EVP_PKEY* load_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return key;
}

// Client certificates are optional (token clients send none) but, when sent, must chain to our CA: the
// handshake fails otherwise.
bool configure_tls(SSL_CTX& ctx, const Pki& pki) {
  X509* server_cert = load_cert(pki.server_cert_pem);
  EVP_PKEY* server_key = load_key(pki.server_key_pem);
  X509* ca = load_cert(pki.ca_cert_pem);
  bool ok = server_cert && server_key && ca && SSL_CTX_use_certificate(&ctx, server_cert) == 1 &&
            SSL_CTX_use_PrivateKey(&ctx, server_key) == 1 &&
            X509_STORE_add_cert(SSL_CTX_get_cert_store(&ctx), ca) == 1;
  if (ok) {
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca)));
    SSL_CTX_set_client_CA_list(&ctx, names);
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  }
  X509_free(server_cert);
  EVP_PKEY_free(server_key);
  X509_free(ca);
  return ok;
}

ApiRequest to_api_request(const httplib::Request& req) {
  ApiRequest r;
  r.method = req.method;
  r.path = req.path;
  for (const auto& [k, v] : req.params) {
    r.query.emplace(k, v);
    if (k == "command") r.commands.push_back(v);
  }
  r.accept = req.get_header_value("Accept");
  r.content_type = req.get_header_value("Content-Type");
  r.user_agent = req.get_header_value("User-Agent");
  r.body = req.body;
  return r;
}

// The user the bearer token stands for (the client certificate's subject names the same one).
const char* kTokenUser = "kubelite-admin";

UserInfo user_of(X509* cert) {
  UserInfo user;
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    if (nid != NID_commonName && nid != NID_organizationName) continue;
    unsigned char* text = nullptr;
    int n = ASN1_STRING_to_UTF8(&text, X509_NAME_ENTRY_get_data(entry));
    if (n < 0) continue;
    std::string value(reinterpret_cast<char*>(text), static_cast<size_t>(n));
    OPENSSL_free(text);
    if (nid == NID_commonName) user.username = value;
    else user.groups.push_back(value);
  }
  user.groups.push_back("system:authenticated");
  return user;
}

}  // namespace

struct HttpServer::Impl {
  Api& api;
  HttpServerOptions options;
  std::unique_ptr<httplib::Server> server;

  // The caller's identity, or nothing when it must be refused (401).
  std::optional<UserInfo> authenticate(const httplib::Request& req) const {
    // Plain HTTP is what the real server's long-gone insecure port was: everyone is this privileged user.
    if (!options.tls) return UserInfo{"system:unsecured", {"system:masters", "system:authenticated"}};
    std::string auth = req.get_header_value("Authorization");
    if (!options.token.empty() && auth == "Bearer " + options.token)
      return UserInfo{kTokenUser, {"system:masters", "system:authenticated"}};
    if (auth.starts_with("Bearer "))
      if (auto user = options.users.find(auth.substr(7)); user != options.users.end()) return user->second;
    // A presented certificate was verified against our CA during the handshake; like the real x509
    // authenticator, its CN is the user and its O entries are the groups.
    X509* cert = req.ssl ? SSL_get0_peer_certificate(req.ssl) : nullptr;
    if (!cert || SSL_get_verify_result(req.ssl) != X509_V_OK) return std::nullopt;
    return user_of(cert);
  }

  // Checks an exec request and runs it over the upgraded connection (`run`), or answers the refusal.
  // `session_protocol` is the channel protocol whose semantics the session follows.
  template <class Run>
  void serve_exec(const httplib::Request& req, const ApiRequest& request, const std::string& protocol,
                  const std::string& session_protocol, httplib::Response& res, Run run) {
    ApiResponse refusal;
    ExecSession session;
    if (protocol.empty())
      refusal = api.handle(request);  // no channel protocol kubelite speaks: the plain answer (an error)
    else
      session = api.exec(request, session_protocol, refusal);
    if (session && run(req, protocol, session)) return;
    if (session) refusal.status = 500, refusal.body = "cannot take over the connection";
    res.status = refusal.status;
    res.set_content(refusal.body, refusal.content_type);
  }

  void serve(const httplib::Request& req, httplib::Response& res) {
    std::optional<UserInfo> user = authenticate(req);
    if (!user) {
      res.status = 401;
      res.set_content(status_of(ApiError(401, "Unauthorized", "Unauthorized")).dump(), "application/json");
      return;
    }
    ApiRequest request = to_api_request(req);
    request.user = std::move(*user);
    const bool exec = req.path.size() > 5 && req.path.compare(req.path.size() - 5, 5, "/exec") == 0;
    // --no-exec-websocket: as an API server before 1.30, or a proxy that strips the upgrade, the request is served
    // as a plain one (400 "Upgrade request required"), which makes clients fall back to SPDY.
    if (exec && wants_websocket(req) && options.exec_websocket) {
      // pods/exec over WebSocket: checked like any request, then the connection is ours until the command ends.
      std::string protocol = choose_channel_protocol(req);
      serve_exec(req, request, protocol, protocol, res, run_websocket);
      return;
    }
    if (exec && wants_spdy(req)) {
      // Over SPDY the stdin stream's end reads as v5's close message, so the session runs as for v5.
      std::string protocol = choose_spdy_protocol(req);
      serve_exec(req, request, protocol, "v5.channel.k8s.io", res, run_spdy);
      return;
    }
    ApiResponse out = api.handle(request);
    // kube-apiserver compresses only responses of 128 KiB or more; below that, setting up a gzip stream per
    // response (deflateInit's 256 KiB of state) cost more than a create's whole handling.
    size_t body_size = out.pieces ? out.pieces->size : out.body.size();
    if (!out.watch && body_size < 128 * 1024) const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
    res.status = out.status;
    for (const auto& [k, v] : out.headers) res.set_header(k, v);
    if (out.pieces) {
      std::shared_ptr<PiecewiseBody> body = std::move(out.pieces);
      // Copies pieces into a reused buffer so that each socket write is large.
      auto position = std::make_shared<std::pair<size_t, std::string>>(0, std::string());
      res.set_content_provider(body->size, out.content_type, [body, position](size_t, size_t, httplib::DataSink& sink) {
        std::string& buffer = position->second;
        buffer.clear();
        size_t& next = position->first;
        while (next < body->pieces.size() && buffer.size() < (1 << 20)) buffer.append(body->pieces[next++]);
        return sink.write(buffer.data(), buffer.size());
      });
      return;
    }
    if (!out.watch) {
      res.set_content(std::move(out.body), out.content_type);
      return;
    }
    // Watch events must reach the client as they happen; httplib's gzip would hold them back in its
    // compressor, so the stream is sent uncompressed (the Request is ours to adjust before the reply).
    const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
    std::shared_ptr<WatchStream> watch(std::move(out.watch));
    res.set_chunked_content_provider(out.content_type, [watch](size_t, httplib::DataSink& sink) {
      std::string chunk;
      bool more = watch->next(chunk, std::chrono::milliseconds(500));
      if (!chunk.empty() && !sink.write(chunk.data(), chunk.size())) return false;
      if (!more) sink.done();
      return true;
    });
  }
};

HttpServer::HttpServer(Api& api, const HttpServerOptions& options) : impl_(std::make_unique<Impl>(Impl{api, options, nullptr})) {
  if (options.tls) {
    const Pki* pki = options.tls;
    impl_->server = std::make_unique<httplib::SSLServer>([pki](SSL_CTX& ctx) { return configure_tls(ctx, *pki); });
  } else {
    impl_->server = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *impl_->server;
  size_t threads = options.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_keep_alive_max_count(1000000);
  // Responses go out as headers then body: without TCP_NODELAY, Nagle plus delayed ACKs add 40 ms per request.
  s.set_tcp_nodelay(true);
  s.set_keep_alive_timeout(30);
  s.set_read_timeout(30);
  s.set_write_timeout(30);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { impl_->serve(req, res); };
  s.Get(".*", handler);
  s.Post(".*", handler);
  s.Put(".*", handler);
  s.Patch(".*", handler);
  s.Delete(".*", handler);
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  httplib::Server& s = *impl_->server;
  if (!s.is_valid()) throw std::runtime_error("cannot set up the TLS context");
  int port = impl_->options.port;
  if (port == 0) {
    port = s.bind_to_any_port(impl_->options.bind_address);
    if (port < 0) throw std::runtime_error("cannot listen on " + impl_->options.bind_address);
  } else if (!s.bind_to_port(impl_->options.bind_address, port)) {
    throw std::runtime_error("cannot listen on " + impl_->options.bind_address + ":" + std::to_string(port));
  }
  return port;
}

void HttpServer::run() { impl_->server->listen_after_bind(); }

void HttpServer::stop() { impl_->server->stop(); }

}  // namespace kubelite
