#!/usr/bin/env python3
"""Startup, readiness and liveness probes judged by the real kubectl: httpGet, tcpSocket, exec and grpc probes
against the containers' real processes decide the pods' Ready condition, the containers' ready/restartCount, the
Deployment's availability (`kubectl rollout status`) and the Service's Endpoints. The sandboxes share the host's
network, so each test picks a free port of its own."""

import json
import os
import sys
import socket
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from klclient import KubectlCase, wait_until  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A gRPC server on grpcio (Debian's python3-grpcio, run by the system python the sandbox sees): the health
# service answers SERVING once the file argv[2] exists, NOT_SERVING before, NOT_FOUND for a service other than ""
# or "app" (as grpc's own health servicer does); with argv[2] "-" it serves no health service at all. The
# messages are protobuf's encoding of HealthCheckRequest/Response (one string field 1; one enum field 1).
GRPC_HEALTH_SERVER = r"""
import os, sys, grpc
from concurrent import futures
port, ready_file = int(sys.argv[1]), sys.argv[2]
def check(request, context):
    service = request[2:].decode() if request[:1] == b"\x0a" else ""
    if service not in ("", "app"):
        context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
    return b"\x08" + bytes([1 if os.path.exists(ready_file) else 2])
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
if ready_file != "-":
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(check)}),))
server.add_insecure_port("127.0.0.1:%d" % port)
server.start()
server.wait_for_termination()
"""


def condition(pod, kind):
    return next((c["status"] for c in pod["status"].get("conditions", []) if c["type"] == kind), None)


class Probes(KubectlCase):
    SERVER_ARGS = ("--restart-backoff", "1", "--nodes", "1")

    def apply(self, ns, manifest):
        self.kubectl("create", "ns", ns, ok=False)
        self.kubectl("apply", "-n", ns, "-f", "-", stdin=manifest)

    def events(self, ns, reason):
        return [e["message"] for e in self.get_json("events", "-n", ns)["items"] if e["reason"] == reason]

    def test_http_readiness_drives_rollout_and_endpoints(self):
        ns, port = "pr-http", free_port()
        self.apply(ns, """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: python
        command: ["sh", "-c", "cd /data && exec python3 -m http.server %(port)d --bind 127.0.0.1"]
        ports: [{name: http, containerPort: %(port)d}]
        readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 1, failureThreshold: 1}
        volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
""" % {"port": port})
        # Running but not ready: /ready answers 404.
        wait_until(lambda: "Readiness probe failed: HTTP probe failed with statuscode: 404" in
                   self.events(ns, "Unhealthy"), 20, "a readiness probe answered 404")
        pod = self.get_json("pods", "-n", ns, "-l", "app=web")["items"][0]
        name = pod["metadata"]["name"]
        self.assertEqual(pod["status"]["phase"], "Running")
        self.assertEqual(condition(pod, "Ready"), "False")
        self.assertEqual(pod["status"]["containerStatuses"][0]["ready"], False)
        self.assertNotIn("availableReplicas", self.get_json("deploy", "-n", ns, "web")["status"])
        p = self.kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=2s", ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("0 of 1 updated replicas are available", p.stdout)
        ep = self.get_json("endpoints", "-n", ns, "web")
        self.assertEqual([a["ip"] for a in ep["subsets"][0]["notReadyAddresses"]], [pod["status"]["podIP"]])
        self.assertNotIn("addresses", ep["subsets"][0])

        # The probe passes: Ready, available, rolled out, and listed as a ready address.
        self.kubectl("exec", "-n", ns, name, "--", "touch", "/data/ready")
        self.assertIn("successfully rolled out", self.kubectl("rollout", "status", "-n", ns, "deploy/web",
                                                              "--timeout=20s"))
        pod = self.get_json("pod", "-n", ns, name)
        self.assertEqual((condition(pod, "Ready"), condition(pod, "ContainersReady")), ("True", "True"))
        self.assertEqual(pod["status"]["containerStatuses"][0]["ready"], True)
        ep = self.get_json("endpoints", "-n", ns, "web")
        self.assertEqual([a["ip"] for a in ep["subsets"][0]["addresses"]], [pod["status"]["podIP"]])
        self.assertRegex(self.kubectl("get", "pod", "-n", ns, name), r"%s\s+1/1\s+Running\s+0" % name)

        # It fails again: not ready (failureThreshold 1), unavailable, back among the not-ready addresses.
        self.kubectl("exec", "-n", ns, name, "--", "rm", "/data/ready")
        wait_until(lambda: condition(self.get_json("pod", "-n", ns, name), "Ready") == "False", 15, "not Ready")
        wait_until(lambda: "notReadyAddresses" in self.get_json("endpoints", "-n", ns, "web")["subsets"][0], 10,
                   "the endpoint to be not ready")
        wait_until(lambda: self.get_json("deploy", "-n", ns, "web")["status"].get("unavailableReplicas") == 1, 10,
                   "the Deployment to count it unavailable")
        self.assertEqual(self.get_json("pod", "-n", ns, name)["status"]["containerStatuses"][0]["restartCount"], 0)

    def test_liveness_restarts_and_tcp_readiness_waits(self):
        ns, port = "pr-live", free_port()
        self.apply(ns, """apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "touch /tmp/healthy; exec sleep 1000"]
    livenessProbe: {exec: {command: [cat, /tmp/healthy]}, periodSeconds: 1, failureThreshold: 2}
---
apiVersion: v1
kind: Pod
metadata: {name: tcp}
spec:
  containers:
  - name: app
    image: python
    command: ["sh", "-c", "sleep 3; exec python3 -m http.server %(port)d --bind 127.0.0.1"]
    readinessProbe: {tcpSocket: {port: %(port)d}, initialDelaySeconds: 1, periodSeconds: 1}
""" % {"port": port})
        # tcpSocket: Running at once, Ready only once the server listens (3 s in).
        pod = wait_until(lambda: (lambda p: p if p["status"].get("phase") == "Running" else None)(
            self.get_json("pod", "-n", ns, "tcp")), 15, "the tcp pod to run")
        self.assertEqual(condition(pod, "Ready"), "False")
        self.assertIn("condition met", self.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod/tcp",
                                                    "--timeout=20s"))
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # the server the probe found is really there

        # exec liveness: healthy while the file exists; without it, two failures kill the container, which
        # restartPolicy Always restarts (its new /tmp has the file again).
        self.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod/live", "--timeout=20s")
        self.kubectl("exec", "-n", ns, "live", "--", "rm", "/tmp/healthy")
        pod = wait_until(lambda: (lambda p: p if p["status"]["containerStatuses"][0]["restartCount"] >= 1 else None)(
            self.get_json("pod", "-n", ns, "live")), 20, "the liveness probe to restart the container")
        status = pod["status"]["containerStatuses"][0]
        self.assertEqual(status["lastState"]["terminated"]["exitCode"], 137)
        self.assertIn("Container app failed liveness probe, will be restarted", self.events(ns, "Killing"))
        self.assertTrue(any(m.startswith("Liveness probe failed: cat: ") and "/tmp/healthy" in m
                            for m in self.events(ns, "Unhealthy")), self.events(ns, "Unhealthy"))
        self.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod/live", "--timeout=20s")
        time.sleep(3)  # healthy again: no further restart
        pod = self.get_json("pod", "-n", ns, "live")
        self.assertEqual(pod["status"]["containerStatuses"][0]["restartCount"], 1)
        self.assertIn("running", pod["status"]["containerStatuses"][0]["state"])

    def test_startup_probe_holds_liveness_then_restarts_when_it_fails(self):
        ns = "pr-startup"
        self.apply(ns, """apiVersion: v1
kind: Pod
metadata: {name: slow}
spec:
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "sleep 3; touch /tmp/started; exec sleep 1000"]
    startupProbe: {exec: {command: [cat, /tmp/started]}, periodSeconds: 1, failureThreshold: 20}
    livenessProbe: {exec: {command: [cat, /tmp/started]}, periodSeconds: 1, failureThreshold: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: never}
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "1000"]
    startupProbe: {exec: {command: [cat, /tmp/never]}, periodSeconds: 1, failureThreshold: 2}
""")
        # Before the startup probe succeeds: running, not started, not ready; the liveness probe, which would
        # fail now and kill the container at its first failure, is held.
        pod = wait_until(lambda: (lambda p: p if "Startup probe failed" in " ".join(self.events(ns, "Unhealthy"))
                                  else None)(self.get_json("pod", "-n", ns, "slow")), 15, "a startup probe failure")
        status = pod["status"]["containerStatuses"][0]
        self.assertEqual(pod["status"]["phase"], "Running")
        self.assertIn("running", status["state"])
        self.assertFalse(status["started"])
        self.assertFalse(status["ready"])
        self.assertEqual(condition(pod, "Ready"), "False")
        self.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod/slow", "--timeout=20s")
        status = self.get_json("pod", "-n", ns, "slow")["status"]["containerStatuses"][0]
        self.assertTrue(status["started"])
        self.assertEqual(status["restartCount"], 0)
        self.assertFalse(any(m.startswith("Liveness probe failed") for m in self.events(ns, "Unhealthy")))

        # A startup probe that never succeeds: failureThreshold failures kill the container, which restarts.
        pod = wait_until(lambda: (lambda p: p if p["status"]["containerStatuses"][0]["restartCount"] >= 1 else None)(
            self.get_json("pod", "-n", ns, "never")), 20, "the startup probe to restart the container")
        status = pod["status"]["containerStatuses"][0]
        self.assertEqual(status["lastState"]["terminated"]["exitCode"], 137)
        self.assertFalse(status["started"])
        self.assertIn("Container app failed startup probe, will be restarted", self.events(ns, "Killing"))

    def test_grpc_probes_ask_the_health_service(self):
        ns, port, bare_port, closed_port = "pr-grpc", free_port(), free_port(), free_port()

        def pod(name, probe, server_args=None):
            # Only "health" and "bare" run a server; the others probe "health"'s (they share the host's network).
            command = ["/usr/bin/python3", "-c", GRPC_HEALTH_SERVER] + server_args if server_args else ["sleep", "1000"]
            return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                    "spec": {"containers": [{"name": "app", "image": "python", "command": command,
                                             "readinessProbe": {"grpc": probe, "periodSeconds": 1,
                                                                "failureThreshold": 1},
                                             "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                             "volumes": [{"name": "data", "emptyDir": {}}]}}
        self.apply(ns, json.dumps({"apiVersion": "v1", "kind": "List", "items": [
            pod("health", {"port": port}, [str(port), "/data/serving"]),
            pod("app", {"port": port, "service": "app"}),
            pod("nope", {"port": port, "service": "nope"}),
            pod("bare", {"port": bare_port}, [str(bare_port), "-"]),
            pod("closed", {"port": closed_port})]}))

        def failures():
            return {e["involvedObject"]["name"]: e["message"] for e in self.get_json("events", "-n", ns)["items"]
                    if e["reason"] == "Unhealthy"}
        expected = {
            "health": 'Readiness probe failed: service unhealthy (responded with "NOT_SERVING")',
            "app": 'Readiness probe failed: service unhealthy (responded with "NOT_SERVING")',
            "nope": "Readiness probe failed: error: health rpc probe failed: rpc error: code = NotFound desc = "
                    "unknown service",
            "bare": "Readiness probe failed: error: this server does not implement the grpc health protocol "
                    "(grpc.health.v1.Health): Method not found!",
            "closed": 'Readiness probe failed: timeout: failed to connect service "127.0.0.1:%d" within 1s: '
                      'context deadline exceeded' % closed_port,
        }
        wait_until(lambda: all(failures().get(k) == v for k, v in expected.items()), 30,
                   "the gRPC probes' failures")
        for name in expected:
            self.assertEqual(condition(self.get_json("pod", "-n", ns, name), "Ready"), "False", name)

        # The health service turns SERVING: the pods probing "" and "app" become Ready, the others stay not ready.
        self.kubectl("exec", "-n", ns, "health", "--", "touch", "/data/serving")
        for name in ("health", "app"):
            self.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod/" + name, "--timeout=20s")
        for name in ("nope", "bare", "closed"):
            self.assertEqual(condition(self.get_json("pod", "-n", ns, name), "Ready"), "False", name)

if __name__ == "__main__":
    unittest.main(verbosity=2)
