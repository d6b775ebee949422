#pragma once
// The SPDY/3.1 side of pods/exec, which API servers before 1.30 (and kubectl with
// KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false, or after a refused WebSocket upgrade) speak: the request upgrades to
// `SPDY/3.1`, the client opens one stream per channel (SYN_STREAM with header `streamtype: error|stdin|stdout|
// stderr|resize`), the server replies to each and, once the ones the request asked for are there, runs the command
// (k8s.io/apimachinery/pkg/util/httpstream/spdy, k8s.io/kubelet's cri/streaming/remotecommand/httpstream.go).
#include <httplib.h>

#include "kubelite/api.h"

namespace kubelite {

// True when `req` asks to upgrade to SPDY/3.1.
bool wants_spdy(const httplib::Request& req);
// The channel.k8s.io version to answer in X-Stream-Protocol-Version ("" when the client offers none kubelite
// speaks over SPDY: v4, or v5, which is v4 on SPDY).
std::string choose_spdy_protocol(const httplib::Request& req);
// Answers 101, waits for the client's streams and runs `session` over them; its channel-prefixed messages map to
// the streams (0 stdin, 1 stdout, 2 stderr, 3 error), the end of the client's stdin stream reads as v5's close
// message (255, 0). Returns false when the connection could not be found.
bool run_spdy(const httplib::Request& req, const std::string& protocol, const ExecSession& session);

}  // namespace kubelite
