#pragma once
// The WebSocket side of pods/exec (RFC 6455): cpp-httplib cannot upgrade a connection, so the handler takes over
// the request's socket (or TLS session) itself, answers 101 and runs the exec session on it.
#include <httplib.h>

#include "kubelite/api.h"

namespace kubelite {

// True when `req` asks for a WebSocket upgrade.
bool wants_websocket(const httplib::Request& req);
// The channel.k8s.io version to speak (the client's first that kubelite knows), "" when none.
std::string choose_channel_protocol(const httplib::Request& req);
// Upgrades the request's connection and runs `session` on it; the connection is closed afterwards, so the
// HTTP server's own response goes nowhere. Returns false when the connection could not be found.
bool run_websocket(const httplib::Request& req, const std::string& protocol, const ExecSession& session);

}  // namespace kubelite
