"""What every module of the conformance suite (conformance.py runs them) shares: one kubelite, started on first
use and stopped at exit, the namespace the tests work in, object builders and the assertions on Status bodies.
The test modules import all of it (`from conformance_common import *`), the standard library modules included."""

import atexit
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from klclient import AGG_ACCEPT, AGG_CONTENT_TYPE, TABLE_ACCEPT, Kubelite, parse_simple_yaml  # noqa: E402

FIXTURES = os.environ.get("ARCA_FIXTURES") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                           "../../testdata")
MANIFESTS = os.path.join(FIXTURES, "kubernetes", "manifests")

NS = "t"
MERGE = "application/merge-patch+json"
JSONPATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class _SuiteServer:
    """The suite's kubelite: started, with namespace NS, when a test first uses it; stopped when Python exits."""
    _server = None

    def __getattr__(self, name):
        if _SuiteServer._server is None:
            server = Kubelite()
            atexit.register(server.cleanup)
            r = server.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
            if r.status != 201:
                raise RuntimeError("cannot create namespace %s: %r" % (NS, r))
            _SuiteServer._server = server
        return getattr(_SuiteServer._server, name)


SERVER = _SuiteServer()


def unique(prefix="o"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def configmap(name, ns=NS, labels=None, data=None, **meta):
    m = {"name": name, "namespace": ns}
    if labels is not None:
        m["labels"] = labels
    m.update(meta)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": data or {"k": "v"}}


def deployment(name, replicas=1, containers=None):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": containers or [{"name": "nginx", "image": "nginx:1.25"}]}}}}


def cm_path(ns=NS, name=None):
    return "/api/v1/namespaces/%s/configmaps" % ns + ("/" + name if name else "")


def secret(name, ns=NS, labels=None, **meta):
    """Secrets for list/watch tests: unlike ConfigMaps, no controller adds one to a new namespace."""
    m = {"name": name, "namespace": ns}
    if labels is not None:
        m["labels"] = labels
    m.update(meta)
    return {"apiVersion": "v1", "kind": "Secret", "metadata": m, "stringData": {"k": "v"}}


def sec_path(ns=NS, name=None):
    return "/api/v1/namespaces/%s/secrets" % ns + ("/" + name if name else "")


def deploy_path(name=None):
    return "/apis/apps/v1/namespaces/%s/deployments" % NS + ("/" + name if name else "")


def shirt_crd(plural="shirts", group="stable.example.com", kind="Shirt", name=None):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name or "%s.%s" % (plural, group)},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"plural": plural, "singular": plural[:-1], "kind": kind},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                       "spec": {"type": "object", "properties": {
                                           "color": {"type": "string"}, "size": {"type": "string"}}}}}}}]}}


CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def condition(obj, ctype):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c.get("status")
    return None


def wait_until(predicate, timeout=10, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


ESTABLISHED_CRDS = set()


def ensure_crd(plural="shirts", group="stable.example.com", kind="Shirt"):
    """Creates the CRD if needed and waits until it is Established and served."""
    name = "%s.%s" % (plural, group)
    if name in ESTABLISHED_CRDS:
        return
    r = SERVER.post(CRD_PATH, shirt_crd(plural, group, kind))
    assert r.status in (201, 409), r

    def ready():
        got = SERVER.get(CRD_PATH + "/" + name)
        return got.status == 200 and condition(got.json, "Established") == "True"

    assert wait_until(ready), "CRD %s never became Established" % name
    assert wait_until(lambda: SERVER.get("/apis/%s/v1/namespaces/%s/%s" % (group, NS, plural)).status == 200), \
        "CRD %s Established but its resources are not served" % name
    ESTABLISHED_CRDS.add(name)


def make_namespace(name):
    r = SERVER.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    assert r.status == 201, r
    return r.json


class Base(unittest.TestCase):
    maxDiff = 4000

    def assertStatus(self, r, code, reason=None, message=None):
        self.assertEqual(r.status, code, r)
        self.assertIsNotNone(r.json, "body is not JSON: %r" % r)
        self.assertEqual(r.json.get("kind"), "Status", r)
        self.assertEqual(r.json.get("apiVersion"), "v1", r)
        self.assertEqual(r.json.get("status"), "Failure", r)
        self.assertEqual(r.json.get("code"), code, r)
        if reason is not None:
            self.assertEqual(r.json.get("reason"), reason, r)
        if message is not None:
            self.assertEqual(r.json.get("message"), message, r)
        self.assertTrue(r.content_type.startswith("application/json"), r)

    def update(self, path, mutate, subresource=""):
        """GET, change, PUT — again on a 409, like every real client: controllers (a Deployment's status) may
        write the object between our GET and our PUT."""
        for _ in range(10):
            obj = SERVER.get(path).json
            mutate(obj)
            r = SERVER.put(path + subresource, obj)
            if r.status != 409 or "the object has been modified" not in r.json.get("message", ""):
                return r
        return r

    def create(self, path, body, code=201):
        r = SERVER.post(path, body)
        self.assertEqual(r.status, code, r)
        return r.json
