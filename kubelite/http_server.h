#pragma once
// HTTP(S) front end: cpp-httplib with a thread pool large enough for many concurrent watches, keep-alive,
// chunked watch streams, and (over TLS) bearer-token or client-certificate authentication.
#include <map>
#include <memory>
#include <string>

#include "kubelite/api.h"
#include "kubelite/pki.h"

namespace kubelite {

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";
  int port = 0;              // 0: any free port
  const Pki* tls = nullptr;  // null: plain HTTP
  std::string token;         // accepted bearer token (checked over TLS; kubectl sends none over HTTP)
  std::map<std::string, UserInfo> users;  // --token-auth-file: more bearer tokens, each with its own user
  size_t threads = 128;
  bool exec_websocket = true;  // false: pods/exec only over SPDY/3.1, as API servers before 1.30
};

class HttpServer {
 public:
  HttpServer(Api& api, const HttpServerOptions& options);
  ~HttpServer();
  // Binds and returns the port; throws std::runtime_error naming the address on failure.
  int bind();
  void run();   // serves until stop()
  void stop();  // safe from another thread

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kubelite
