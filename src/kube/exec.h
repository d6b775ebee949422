#pragma once
// pods/exec: runs a command in a container over a WebSocket speaking Kubernetes' channel protocol
// (k8s.io/apimachinery/pkg/util/remotecommand, client-go's tools/remotecommand/websocket.go). Each binary
// message is one channel byte (0 stdin, 1 stdout, 2 stderr, 3 error/status, 255 close in v5) and its data; the
// server ends with a metav1.Status on channel 3 that carries the exit code. `v5.channel.k8s.io` is offered first,
// `v4.channel.k8s.io` as the fallback (both send the status as JSON). libcurl in Debian 12 has no WebSocket
// support, so this one request goes through Boost.Beast, with the same server address, CA, TLS settings and
// credentials as the rest of the client (taken from the Transport). A WebSocket upgrade answered with anything but
// 101 is tried again over SPDY/3.1 (kube/exec_spdy.h), as client-go's fallback.go does for API servers before 1.30.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace arca::kube {

class Transport;

struct ExecRequest {
  std::string namespace_name;
  std::string pod;
  std::string container;  // "" lets the server choose (it refuses when the pod has several)
  std::vector<std::string> command;
  std::optional<std::string> stdin_data;  // sent, then closed (v5's close signal); none: no stdin stream
  // 0: no limit. When it passes the stream is closed and the result says timed_out; like client-go's
  // executor (and so Velero's pkg/podexec), nothing kills the remote process: it runs on in the container.
  std::chrono::milliseconds timeout{0};
};

struct ExecResult {
  std::string protocol;  // the negotiated subprotocol ("SPDY/3.1+v4.channel.k8s.io" after the fallback)
  std::string stdout_data, stderr_data;
  int exit_code = -1;  // from the final status; -1 when none arrived
  bool timed_out = false;
  // Why it did not run or end normally, in one line ("" when the command ran and the status arrived). A non-zero
  // exit leaves this empty: callers decide what a failing command means.
  std::string error;
  bool ok() const { return error.empty() && !timed_out && exit_code == 0; }
};

// Runs `request` in the API server `transport` talks to. Never throws for the command's or the server's
// failures: they are in ExecResult::error (a refused upgrade gives the server's Status message).
ExecResult exec_in_pod(Transport& transport, const ExecRequest& request);

// The codec, public for tests: a message of `channel` carrying `data`; and the exit code a channel-3 status
// means (0 for Success, the ExitCode cause for NonZeroExitCode) or nullopt with `error` set to its message.
std::string encode_channel_message(unsigned char channel, std::string_view data);
std::optional<int> decode_exit_status(std::string_view status_json, std::string& error);

}  // namespace arca::kube
