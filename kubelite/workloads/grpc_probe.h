#pragma once
// The kubelet's gRPC probe (k8s.io/kubernetes/pkg/probe/grpc/grpc.go): one grpc.health.v1.Health/Check call
// over plaintext HTTP/2, healthy when the answer is SERVING. The failure messages are the kubelet's.
#include <string>

namespace kubelite::workloads {

// Calls Check(service) on host:port within timeout_s seconds (connecting included, retried until then as
// grpc-go's blocking dial does). On failure `message` says why, worded as the kubelet words it.
bool grpc_probe(const std::string& host, int port, const std::string& service, int timeout_s, std::string& message);

}  // namespace kubelite::workloads
