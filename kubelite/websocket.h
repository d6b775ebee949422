#pragma once
// The WebSocket side of pods/exec (RFC 6455): cpp-httplib cannot upgrade a connection, so the handler takes over
// the request's socket (or TLS session) itself, answers 101 and runs the exec session on it.
#include <httplib.h>
#include <openssl/ssl.h>

#include <mutex>

#include "kubelite/api.h"

namespace kubelite {

// The connection under an upgraded request (WebSocket or SPDY): its socket, or its TLS session, which the
// protocol's own framing then uses directly.
class UpgradedSocket {
 public:
  // The request's connection; fd() < 0 when it cannot be found.
  explicit UpgradedSocket(const httplib::Request& req);
  int fd() const { return fd_; }
  bool send_all(const std::string& data);  // whole, under a lock: safe from any thread
  bool read_exact(unsigned char* out, size_t n);
  // Ends our direction (close_notify over TLS, then FIN); reads go on until the peer closes or `linger_seconds`.
  void finish_writing(int linger_seconds);
  void shutdown_both();

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::mutex write_mu_;
};

// True when `req` asks for a WebSocket upgrade.
bool wants_websocket(const httplib::Request& req);
// The channel.k8s.io version to speak (the client's first that kubelite knows), "" when none.
std::string choose_channel_protocol(const httplib::Request& req);
// Upgrades the request's connection and runs `session` on it; the connection is closed afterwards, so the
// HTTP server's own response goes nowhere. Returns false when the connection could not be found.
bool run_websocket(const httplib::Request& req, const std::string& protocol, const ExecSession& session);

}  // namespace kubelite
