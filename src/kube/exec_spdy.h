#pragma once
// pods/exec over SPDY/3.1, the transport API servers before 1.30 (and proxies that strip WebSocket upgrades) offer:
// client-go's tools/remotecommand falls back to it when the WebSocket upgrade is answered with anything but 101
// (fallback.go). The request is a POST asking to upgrade to `SPDY/3.1` with X-Stream-Protocol-Version
// v4.channel.k8s.io; the client then opens one stream per channel (SYN_STREAM, header `streamtype`), waits for the
// server's replies, sends stdin and ends it, and reads stdout, stderr and the error stream, whose whole content is
// the metav1.Status of how the command ended (empty: success). Header blocks are zlib-compressed against SPDY/3's
// dictionary, one compression context per direction for the whole connection.
#include <functional>
#include <string>
#include <string_view>

#include "kube/exec.h"

namespace arca::kube {

// The connection, established (and TLS-handshaken) by the caller.
struct SpdyConnection {
  std::function<long(char* buffer, size_t size)> read;  // > 0 bytes read; 0 end of stream; < 0 error
  std::function<bool(std::string_view data)> write;     // whole; false on error
};

struct SpdyUpgrade {
  std::string host_header, target, authorization, user_agent;
};

// Runs `request` over `connection`. Returns the HTTP status the upgrade was answered with: 101 when the command ran
// (its outcome in `out`, errors in out.error), anything else with the response's body in `refusal_body` (the
// caller reports it); 0 when no answer arrived (out.error says why).
int exec_over_spdy(SpdyConnection& connection, const SpdyUpgrade& upgrade, const ExecRequest& request,
                   ExecResult& out, std::string& refusal_body);

}  // namespace arca::kube
