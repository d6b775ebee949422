"""Black-box helpers shared by kubelite's Python tests: start the real kubelite binary, read the kubeconfig it
writes, talk HTTP(S) to it with the standard library only. Nothing here imports kubelite's or arca's code."""

import base64
import http.client
import json
import os
import queue
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

AGG_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
AGG_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
                "application/json")


def _scalar(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if text in ("null", "~", ""):
        return None
    if text in ("true", "false"):
        return text == "true"
    return text


def parse_simple_yaml(text):
    """The block-style YAML subset kubeconfigs use (maps, lists of maps, scalars); JSON is accepted too."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    lines = []
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        lines.append((len(raw) - len(raw.lstrip(" ")), raw.strip()))

    def parse_block(i, indent):
        if i < len(lines) and lines[i][1].startswith("- "):
            result = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                # A list item: re-read its content as a map indented two more spaces.
                lines[i] = (indent + 2, lines[i][1][2:])
                item, i = parse_block(i, indent + 2)
                result.append(item)
            return result, i
        result = {}
        while i < len(lines) and lines[i][0] == indent and not lines[i][1].startswith("- "):
            key, _, rest = lines[i][1].partition(":")
            i += 1
            if rest.strip():
                result[key.strip()] = _scalar(rest)
            elif i < len(lines) and (lines[i][0] > indent or (lines[i][0] == indent and lines[i][1].startswith("- "))):
                result[key.strip()], i = parse_block(i, lines[i][0])
            else:
                result[key.strip()] = None
        return result, i

    return parse_block(0, lines[0][0])[0] if lines else {}


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def content_type(self):
        return self.headers.get("Content-Type", "")

    def __repr__(self):
        return "HTTP %d %s %s" % (self.status, self.content_type, self.body[:600])


class KubectlHome:
    """A private HOME and KUBECONFIG (a copy of `server`'s) for running the real kubectl against it."""

    def __init__(self, server):
        self.home = tempfile.mkdtemp(prefix="kubectl-home-")
        self.kubeconfig = os.path.join(self.home, "kubeconfig")
        shutil.copy(server.kubeconfig, self.kubeconfig)
        self.env = dict(os.environ, HOME=self.home, KUBECONFIG=self.kubeconfig)

    def cleanup(self):
        shutil.rmtree(self.home, ignore_errors=True)


class Kubelite:
    """A running kubelite process on an ephemeral port with its kubeconfig."""

    def __init__(self, tls=False, extra_args=()):
        build = os.environ.get("ARCA_BUILD_DIR")
        if not build:
            raise RuntimeError("ARCA_BUILD_DIR is not set (run through ctest)")
        self.binary = os.path.join(build, "kubelite", "kubelite")
        self.dir = tempfile.mkdtemp(prefix="kubelite-test-")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.log_path = os.path.join(self.dir, "kubelite.log")
        args = [self.binary, "--port", "0", "--kubeconfig-out", self.kubeconfig] + (["--tls"] if tls else [])
        args += list(extra_args)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.time() + 10
        while not os.path.exists(self.kubeconfig):
            if self.process.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("kubelite did not write its kubeconfig within 10 s; log:\n" + self.read_log())
            time.sleep(0.02)
        time.sleep(0.05)  # written atomically, but be tolerant of a rename racing our read
        with open(self.kubeconfig) as f:
            self.config = parse_simple_yaml(f.read())
        self._read_contexts()

    def _read_contexts(self):
        cfg = self.config
        clusters = {c["name"]: c["cluster"] for c in cfg.get("clusters", [])}
        users = {u["name"]: u.get("user") or {} for u in cfg.get("users", [])}
        self.contexts = {}
        for c in cfg.get("contexts", []):
            ctx = c["context"]
            self.contexts[c["name"]] = (clusters[ctx["cluster"]], users.get(ctx.get("user"), {}))
        cluster, user = self.contexts[cfg["current-context"]]
        self.server = cluster["server"]
        self.token = user.get("token")
        self.ca_file = None
        if cluster.get("certificate-authority-data"):
            self.ca_file = os.path.join(self.dir, "ca.crt")
            with open(self.ca_file, "wb") as f:
                f.write(base64.b64decode(cluster["certificate-authority-data"]))
        parsed = urllib.parse.urlparse(self.server)
        self.scheme, self.host, self.port = parsed.scheme, parsed.hostname, parsed.port

    def client_cert_files(self, context="kubelite-cert"):
        """Writes the client certificate and key of `context` to files; returns (cert, key)."""
        _, user = self.contexts[context]
        paths = []
        for field, name in (("client-certificate-data", "client.crt"), ("client-key-data", "client.key")):
            path = os.path.join(self.dir, name)
            with open(path, "wb") as f:
                f.write(base64.b64decode(user[field]))
            paths.append(path)
        return tuple(paths)

    def read_log(self):
        try:
            self.log.flush()
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- HTTP

    def connection(self, timeout=30, token=None, cert=None):
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.ca_file)
            if cert:
                ctx.load_cert_chain(*cert)
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, content_type="application/json", accept="application/json",
                query=None, headers=None, token=None, cert=None, send_token=True):
        if query:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(query)
        hdrs = {"Accept": accept} if accept else {}
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode()
            hdrs["Content-Type"] = content_type
        tok = token if token is not None else self.token
        if send_token and tok:
            hdrs["Authorization"] = "Bearer " + tok
        hdrs.update(headers or {})
        conn = self.connection(cert=cert)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, resp.headers, data)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, content_type, **kw):
        return self.request("PATCH", path, body, content_type=content_type, **kw)

    def delete(self, path, body=None, **kw):
        return self.request("DELETE", path, body, **kw)

    def watch(self, path, query=None, accept="application/json"):
        return Watch(self, path, query or {}, accept)


class Watch:
    """A watch stream read by a background thread: events arrive on a queue; `lines` keeps the raw lines."""

    def __init__(self, server, path, query, accept):
        query = dict(query)
        query["watch"] = "true"
        self.conn = server.connection(timeout=60)
        url = path + ("&" if "?" in path else "?") + urllib.parse.urlencode(query)
        hdrs = {"Accept": accept}
        if server.token:
            hdrs["Authorization"] = "Bearer " + server.token
        self.conn.request("GET", url, headers=hdrs)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.events = queue.Queue()
        self.raw = []
        self.ended = threading.Event()
        self.bad_lines = []
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.body = self.response.read()
            self.ended.set()

    def _read(self):
        try:
            buffer = b""
            while True:
                chunk = self.response.read1(65536) if hasattr(self.response, "read1") else self.response.read(1)
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    self.raw.append(line + b"\n")
                    if not line.strip():
                        continue
                    try:
                        self.events.put(json.loads(line))
                    except ValueError:
                        self.bad_lines.append(line)
            if buffer.strip():
                self.raw.append(buffer)  # a final event without its newline
                try:
                    self.events.put(json.loads(buffer))
                except ValueError:
                    self.bad_lines.append(buffer)
        except Exception:  # noqa: BLE001 — close() from the test thread races this read; the stream is over
            pass
        finally:
            self.ended.set()

    def next(self, timeout=5, skip_bookmarks=True):
        deadline = time.time() + timeout
        while True:
            remaining = deadline - time.time()
            if remaining <= 0:
                return None
            try:
                ev = self.events.get(timeout=remaining)
            except queue.Empty:
                return None
            if skip_bookmarks and ev.get("type") == "BOOKMARK":
                continue
            return ev

    def close(self):
        try:
            self.conn.sock and self.conn.sock.shutdown(2)
        except OSError:
            pass
        self.conn.close()


def wait_until(predicate, timeout, what):
    """Polls `predicate` until it returns something true (returned) or `timeout` seconds pass (AssertionError)."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(0.1)


class KubectlCase(unittest.TestCase):
    """Tests driving the real kubectl against one kubelite per class, started with SERVER_ARGS."""
    SERVER_ARGS = ()
    KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")

    @classmethod
    def setUpClass(cls):
        cls.server = Kubelite(extra_args=list(cls.SERVER_ARGS))
        cls.home = tempfile.mkdtemp(prefix="kubectl-home-")
        cls.env = dict(os.environ, HOME=cls.home, KUBECONFIG=cls.server.kubeconfig)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.home, ignore_errors=True)

    def kubectl(self, *args, ok=True, stdin=None, timeout=90):
        """kubectl's stdout; with ok=False the CompletedProcess, whatever the exit code."""
        p = subprocess.run([self.KUBECTL, "--cache-dir", os.path.join(self.home, "cache")] + list(args),
                           capture_output=True, text=True, env=self.env, input=stdin, timeout=timeout)
        if ok and p.returncode != 0:
            raise AssertionError("kubectl %s → rc=%d\nstdout: %s\nstderr: %s\nserver log tail:\n%s" % (
                " ".join(args), p.returncode, p.stdout[-3000:], p.stderr[-3000:], self.server.read_log()[-2000:]))
        return p.stdout if ok else p

    def get_json(self, *args):
        return json.loads(self.kubectl("get", "-o", "json", *args))
