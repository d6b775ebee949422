#!/usr/bin/env python3
"""pods/exec over SPDY/3.1, judged by the REAL kubectl: forced onto SPDY (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false,
kubectl's switch back to its pre-1.30 transport) against a kubelite that serves both, and falling back to SPDY by
itself against a kubelite that refuses WebSocket upgrades for exec (--no-exec-websocket, as API servers before 1.30
and proxies that strip upgrades do; client-go's tools/remotecommand/fallback.go). Over plain HTTP and over TLS."""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from klclient import Kubelite  # noqa: E402

KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")

POD = """apiVersion: v1
kind: Pod
metadata: {name: box, namespace: default}
spec:
  containers:
  - {name: app, image: busybox, command: ["sleep", "1000"], volumeMounts: [{name: data, mountPath: /data}]}
  - {name: side, image: busybox, command: ["sleep", "1000"]}
  volumes: [{name: data, emptyDir: {}}]
"""


class ExecOverSpdy:
    """Cases shared by both servers; `spdy_env` is how kubectl is made to use SPDY against this one."""

    tls = False
    server_args = ()
    spdy_env = {}

    @classmethod
    def setUpClass(cls):
        cls.server = Kubelite(tls=cls.tls, extra_args=["--nodes", "1"] + list(cls.server_args))
        cls.home = tempfile.mkdtemp(prefix="kubectl-home-")
        cls.env = dict(os.environ, HOME=cls.home, KUBECONFIG=cls.server.kubeconfig)
        cls.env.pop("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", None)
        cls.run_kubectl(["apply", "-f", "-"], stdin=POD.encode())
        cls.run_kubectl(["wait", "--for=condition=Ready", "pod/box", "--timeout=20s"])

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.home, ignore_errors=True)

    @classmethod
    def run_kubectl(cls, args, stdin=None, env=None, ok=True):
        p = subprocess.run([KUBECTL, "--cache-dir", os.path.join(cls.home, "cache")] + args, input=stdin,
                           capture_output=True, env=dict(cls.env, **(env or {})), timeout=60)
        if ok and p.returncode != 0:
            raise AssertionError("kubectl %s → rc=%d\nstderr: %s\nserver log tail:\n%s" % (
                " ".join(args), p.returncode, p.stderr.decode()[-3000:], cls.server.read_log()[-2000:]))
        return p

    def exec(self, *command, stdin=None, container="app", verbose=False):
        args = ["exec"] + (["-i"] if stdin is not None else []) + ["box", "-c", container]
        args += (["-v=7"] if verbose else []) + ["--"] + list(command)
        return self.run_kubectl(args, stdin=stdin, env=self.spdy_env, ok=False)

    def test_stdout_stderr_and_exit_codes(self):
        p = self.exec("sh", "-c", "echo to-out; echo to-err >&2; exit 7", verbose=True)
        self.assertEqual(p.returncode, 7, p.stderr.decode()[-2000:])
        self.assertEqual(p.stdout, b"to-out\n")
        self.assertIn(b"to-err\n", p.stderr)
        # The session really was SPDY: kubectl POSTed the upgrade offering the channel protocols in
        # X-Stream-Protocol-Version (a WebSocket upgrade is a GET with Sec-WebSocket-Protocol) and got 101.
        log = p.stderr.decode()
        self.assertRegex(log, r"POST \S+/pods/box/exec\?")
        self.assertIn("X-Stream-Protocol-Version: v4.channel.k8s.io", log)
        self.assertRegex(log, r"POST \S+/exec\?[^\n]*\n(.*\n)*?.*Response Status: 101 Switching Protocols")
        self.assertEqual(self.exec("true").returncode, 0)
        p = self.exec("sh", "-c", "kill -9 $$")
        self.assertEqual(p.returncode, 137)

    def test_stdin_reaches_the_command_and_its_end_is_seen(self):
        p = self.exec("tr", "a-z", "A-Z", stdin=b"shout\n")
        self.assertEqual((p.returncode, p.stdout), (0, b"SHOUT\n"), p.stderr)
        # Several MiB both ways: more than any one frame or window carries.
        blob = os.urandom(3 << 20)
        p = self.exec("sh", "-c", "cat > /data/blob; md5sum < /data/blob; cat /data/blob", stdin=blob)
        self.assertEqual(p.returncode, 0, p.stderr)
        digest = hashlib.md5(blob).hexdigest().encode()
        self.assertTrue(p.stdout.startswith(digest), p.stdout[:80])
        self.assertEqual(p.stdout[p.stdout.index(b"\n") + 1:], blob)

    def test_errors_come_before_the_upgrade(self):
        p = self.exec("true", container="nope")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"container nope is not valid for pod box", p.stderr)
        p = self.exec("no-such-program-here")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"no-such-program-here", p.stderr)


class ForcedSpdyOverHttp(ExecOverSpdy, unittest.TestCase):
    spdy_env = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}


class FallbackFromRefusedWebSocketOverTls(ExecOverSpdy, unittest.TestCase):
    tls = True
    server_args = ("--no-exec-websocket",)

    def test_websocket_upgrade_is_refused(self):
        # kubectl (WebSockets on) asked for a WebSocket first, was answered 400 and went on over SPDY.
        p = self.exec("echo", "fell back", verbose=True)
        self.assertEqual((p.returncode, p.stdout), (0, b"fell back\n"), p.stderr)
        log = p.stderr.decode()
        self.assertIn("Sec-Websocket-Protocol: v5.channel.k8s.io", log)
        self.assertRegex(log, r"RemoteCommand fallback: .*400 Bad Request")
        self.assertLess(log.index("Sec-Websocket-Protocol"), log.index("X-Stream-Protocol-Version"))
        r = self.server.get("/api/v1/namespaces/default/pods/box/exec", query={"command": "true", "stdout": "true", "container": "app"},
                            headers={"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                                     "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                     "Sec-WebSocket-Protocol": "v5.channel.k8s.io"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json["message"], "Upgrade request required")


if __name__ == "__main__":
    unittest.main(verbosity=2)
