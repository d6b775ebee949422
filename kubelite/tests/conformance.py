#!/usr/bin/env python3
"""Black-box conformance suite for kubelite: one test per item of the checklist in
the Kubernetes API conventions (test_NN_...; item 50 drives the real kubectl), then bad input, field validation,
the server behaviour backup and restore meet (the Kubernetes API conventions; the built-in kinds' REST strategies in kubernetes/pkg/registry), custom resource subresources, persistence and TLS.
Starts $ARCA_BUILD_DIR/kubelite/kubelite on port 0 and talks HTTP to it with the standard library only."""

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

SERVER = None
NS = "t"
MERGE = "application/merge-patch+json"
JSONPATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def setUpModule():
    global SERVER
    SERVER = Kubelite()
    r = SERVER.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    if r.status != 201:
        raise RuntimeError("cannot create namespace %s: %r" % (NS, r))


def tearDownModule():
    if SERVER:
        SERVER.cleanup()


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


_established = set()


def ensure_crd(plural="shirts", group="stable.example.com", kind="Shirt"):
    """Creates the CRD if needed and waits until it is Established and served."""
    name = "%s.%s" % (plural, group)
    if name in _established:
        return
    r = SERVER.post(CRD_PATH, shirt_crd(plural, group, kind))
    assert r.status in (201, 409), r

    def ready():
        got = SERVER.get(CRD_PATH + "/" + name)
        return got.status == 200 and condition(got.json, "Established") == "True"

    assert wait_until(ready), "CRD %s never became Established" % name
    assert wait_until(lambda: SERVER.get("/apis/%s/v1/namespaces/%s/%s" % (group, NS, plural)).status == 200), \
        "CRD %s Established but its resources are not served" % name
    _established.add(name)


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


class Discovery(Base):
    def test_01_version(self):
        r = SERVER.get("/version")
        self.assertEqual(r.status, 200, r)
        for field in ("major", "minor", "gitVersion"):
            self.assertIsInstance(r.json.get(field), str, r)
        self.assertEqual(r.json["major"], "1")
        self.assertEqual(r.json["minor"], "31", "the kubectl dispatcher must pick kubectl 1.31 (JSON-only)")

    def test_02_api_legacy(self):
        r = SERVER.get("/api", accept=None)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.content_type.split(";")[0].strip(), "application/json", r)
        self.assertNotIn("apidiscovery", r.content_type)
        self.assertEqual(r.json["kind"], "APIVersions")
        self.assertEqual(r.json["versions"], ["v1"])
        self.assertNotIn("apiVersion", r.json)

    def test_03_api_aggregated(self):
        r = SERVER.get("/api", accept=AGG_ACCEPT)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.content_type.replace(" ", ""), AGG_CONTENT_TYPE)
        self.assertEqual(r.json["kind"], "APIGroupDiscoveryList")
        self.assertEqual(r.json["apiVersion"], "apidiscovery.k8s.io/v2")
        self.assertEqual(len(r.json["items"]), 1)
        item = r.json["items"][0]
        self.assertEqual([v["version"] for v in item["versions"]], ["v1"])
        resources = {res["resource"]: res for res in item["versions"][0]["resources"]}
        self.assertEqual(resources["namespaces"]["scope"], "Cluster")
        self.assertEqual(resources["configmaps"]["scope"], "Namespaced")

    def aggregated_groups(self):
        r = SERVER.get("/apis", accept=AGG_ACCEPT)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.content_type.replace(" ", ""), AGG_CONTENT_TYPE)
        self.assertEqual(r.json["kind"], "APIGroupDiscoveryList")
        return r.json["items"]

    def test_04_apis_aggregated(self):
        groups = {g["metadata"]["name"]: g for g in self.aggregated_groups()}
        self.assertIn("apps", groups)
        v1 = [v for v in groups["apps"]["versions"] if v["version"] == "v1"][0]
        deployments = [res for res in v1["resources"] if res["resource"] == "deployments"][0]
        subs = {s["subresource"]: s for s in deployments.get("subresources", [])}
        self.assertIn("status", subs)
        self.assertIn("scale", subs)
        self.assertEqual(subs["scale"]["responseKind"], {"group": "autoscaling", "version": "v1", "kind": "Scale"})
        self.assertEqual(deployments["scope"], "Namespaced")

    def test_05_apis_legacy_matches_aggregated(self):
        aggregated = [(g["metadata"]["name"], [v["version"] for v in g["versions"]]) for g in self.aggregated_groups()]
        r = SERVER.get("/apis", accept="application/json")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["kind"], "APIGroupList")
        self.assertEqual(r.json["apiVersion"], "v1")
        legacy = []
        for g in r.json["groups"]:
            versions = [v["version"] for v in g["versions"]]
            self.assertEqual(g["preferredVersion"]["version"], versions[0], g)
            for v in g["versions"]:
                self.assertEqual(v["groupVersion"], "%s/%s" % (g["name"], v["version"]))
            legacy.append((g["name"], versions))
        self.assertEqual(legacy, aggregated)
        apps = SERVER.get("/apis/apps")
        self.assertEqual(apps.status, 200, apps)
        self.assertEqual((apps.json["kind"], apps.json["apiVersion"], apps.json["name"]), ("APIGroup", "v1", "apps"))
        self.assertEqual(apps.json["preferredVersion"], {"groupVersion": "apps/v1", "version": "v1"})

    def test_06_api_v1_resource_list(self):
        r = SERVER.get("/api/v1")
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("apiVersion", r.json)
        self.assertEqual(r.json["kind"], "APIResourceList")
        self.assertEqual(r.json["groupVersion"], "v1")
        res = {x["name"]: x for x in r.json["resources"]}
        self.assertEqual(res["pods/log"]["singularName"], "")
        self.assertEqual(res["pods/log"]["verbs"], ["get"])
        self.assertEqual(res["pods"]["singularName"], "pod")
        self.assertTrue(res["pods"]["namespaced"])
        self.assertFalse(res["namespaces"]["namespaced"])

    def test_07_apps_v1_resource_list(self):
        r = SERVER.get("/apis/apps/v1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["apiVersion"], "v1")
        self.assertEqual(r.json["groupVersion"], "apps/v1")
        res = {x["name"]: x for x in r.json["resources"]}
        self.assertEqual(res["deployments/scale"]["group"], "autoscaling")
        self.assertEqual(res["deployments/scale"]["version"], "v1")
        self.assertEqual(res["deployments/scale"]["kind"], "Scale")
        self.assertEqual(res["deployments"]["kind"], "Deployment")

    def test_08_unknown_group_404(self):
        r = SERVER.get("/apis/no.such/v1/things")
        self.assertStatus(r, 404, "NotFound", "the server could not find the requested resource")

    def test_09_openapi_v3(self):
        r = SERVER.get("/openapi/v3")
        self.assertEqual(r.status, 200, r)
        entry = r.json["paths"]["apis/apps/v1"]
        self.assertTrue(entry["serverRelativeURL"].startswith("/openapi/v3/apis/apps/v1"), entry)
        self.assertIn("api/v1", r.json["paths"])
        doc = SERVER.get(entry["serverRelativeURL"])
        self.assertEqual(doc.status, 200, doc)
        found = False
        for item in doc.json["paths"].values():
            op = item.get("patch")
            if op and op.get("x-kubernetes-group-version-kind") == {"group": "apps", "version": "v1",
                                                                    "kind": "Deployment"}:
                found = found or any(p.get("name") == "fieldValidation" for p in op.get("parameters", []))
        self.assertTrue(found, "no patch operation for apps/v1 Deployment with a fieldValidation parameter")

    def test_openapi_v2_json_protobuf_and_406(self):
        doc = SERVER.get("/openapi/v2")
        self.assertEqual(doc.status, 200, doc)
        self.assertEqual(doc.json["swagger"], "2.0")
        deployments = doc.json["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
        self.assertEqual(deployments["patch"]["x-kubernetes-group-version-kind"],
                         {"group": "apps", "version": "v1", "kind": "Deployment"})
        self.assertIn("fieldValidation", [p["name"] for p in deployments["patch"]["parameters"]])
        self.assertEqual({p["name"] for p in deployments["parameters"]}, {"name", "namespace"})
        self.assertIn("/api/v1/namespaces/{name}", doc.json["paths"])  # cluster-scoped: no namespace segment
        # client-go's Accept gets gnostic's protobuf Document, with the same paths.
        pb = SERVER.get("/openapi/v2", accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
        self.assertEqual(pb.status, 200)
        self.assertEqual(pb.headers["Content-Type"], "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
        fields = decode_protobuf(pb.body)
        self.assertEqual(fields[1], [b"2.0"])  # Document.swagger
        self.assertEqual(decode_protobuf(fields[2][0])[1], [b"Kubernetes"])  # Document.info.title
        named_paths = [decode_protobuf(p) for p in decode_protobuf(fields[8][0])[2]]  # Document.paths.path
        self.assertEqual([p[1][0].decode() for p in named_paths], list(doc.json["paths"]))
        deployment_item = decode_protobuf(named_paths[list(doc.json["paths"]).index(
            "/apis/apps/v1/namespaces/{namespace}/deployments/{name}")][2][0])
        extensions = [decode_protobuf(e) for e in decode_protobuf(deployment_item[8][0])[13]]  # patch.vendor_extension
        gvk = [decode_protobuf(e[2][0])[2][0].decode() for e in extensions if e[1] == [b"x-kubernetes-group-version-kind"]]
        self.assertEqual(gvk, ["group: apps\nkind: Deployment\nversion: v1\n"])
        self.assertStatus(SERVER.get("/openapi/v2", accept="application/yaml"), 406, "NotAcceptable")


def decode_protobuf(data):
    """Protobuf wire format → {field number: [values]}: varints as ints, length-delimited fields as bytes."""
    fields, i = {}, 0

    def varint():
        nonlocal i
        value, shift = 0, 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7f) << shift
            shift += 7
            if b < 0x80:
                return value

    while i < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
        elif wire == 2:
            n = varint()
            value, i = data[i:i + n], i + n
        else:
            raise AssertionError("unexpected wire type %d" % wire)
        fields.setdefault(number, []).append(value)
    return fields


class Create(Base):
    def test_10_create_configmap_server_metadata(self):
        name = unique("cm")
        r = SERVER.post(cm_path(), configmap(name))
        self.assertEqual(r.status, 201, r)
        meta = r.json["metadata"]
        self.assertRegex(meta["uid"], UUID_RE)
        self.assertTrue(meta["resourceVersion"])
        self.assertIsInstance(meta["resourceVersion"], str)
        self.assertRegex(meta["creationTimestamp"], TIME_RE)
        self.assertNotIn("generation", meta)
        self.assertEqual(r.json["kind"], "ConfigMap")
        self.assertEqual(r.json["apiVersion"], "v1")
        self.assertEqual(r.json["data"], {"k": "v"})

    def test_11_deployment_generation(self):
        name = unique("dep")
        d = self.create(deploy_path(), deployment(name))
        self.assertEqual(d["metadata"]["generation"], 1)
        r = self.update(deploy_path(name), lambda o: o["spec"].update(replicas=3))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["metadata"]["generation"], 2)
        r = SERVER.patch(deploy_path(name), {"metadata": {"labels": {"extra": "yes"}}}, MERGE)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["metadata"]["generation"], 2)
        self.assertEqual(r.json["metadata"]["labels"]["extra"], "yes")

    def test_12_already_exists(self):
        name = unique("cm")
        self.create(cm_path(), configmap(name))
        r = SERVER.post(cm_path(), configmap(name, data={"other": "x"}))
        self.assertStatus(r, 409, "AlreadyExists", 'configmaps "%s" already exists' % name)
        self.assertEqual(r.json["details"]["name"], name)
        self.assertEqual(r.json["details"]["kind"], "configmaps")
        self.assertEqual(SERVER.get(cm_path(name=name)).json["data"], {"k": "v"})

    def test_13_generate_name(self):
        body = configmap(None)
        del body["metadata"]["name"]
        body["metadata"]["generateName"] = "x-"
        r = SERVER.post(cm_path(), body)
        self.assertEqual(r.status, 201, r)
        self.assertRegex(r.json["metadata"]["name"], r"^x-[bcdfghjklmnpqrstvwxz2456789]{5}$")
        self.assertEqual(r.json["metadata"]["generateName"], "x-")
        self.assertEqual(SERVER.get(cm_path(name=r.json["metadata"]["name"])).status, 200)

    def test_14_no_name_no_generate_name(self):
        body = configmap(None)
        del body["metadata"]["name"]
        r = SERVER.post(cm_path(), body)
        self.assertStatus(r, 422, "Invalid")
        self.assertIn("metadata.name: Required value: name or generateName is required", r.json["message"])

    def test_15_resource_version_on_create(self):
        r = SERVER.post(cm_path(), configmap(unique("cm"), resourceVersion="5"))
        self.assertEqual(r.status, 500, r)
        self.assertEqual(r.json["kind"], "Status")
        self.assertEqual(r.json["message"], "resourceVersion should not be set on objects to be created")

    def test_16_missing_namespace(self):
        r = SERVER.post(cm_path("no-such-ns"), configmap("a", ns="no-such-ns"))
        self.assertStatus(r, 404, "NotFound", 'namespaces "no-such-ns" not found')

    def test_17_every_write_changes_resource_version(self):
        name = unique("dep")
        seen = []
        d = self.create(deploy_path(), deployment(name))
        seen.append(d["metadata"]["resourceVersion"])
        r = self.update(deploy_path(name), lambda o: o["spec"].update(replicas=2))
        self.assertEqual(r.status, 200, r)
        seen.append(r.json["metadata"]["resourceVersion"])
        r = SERVER.patch(deploy_path(name), {"metadata": {"annotations": {"a": "b"}}}, MERGE)
        self.assertEqual(r.status, 200, r)
        seen.append(r.json["metadata"]["resourceVersion"])
        r = self.update(deploy_path(name), lambda o: o.update(status={"observedGeneration": 1, "replicas": 2}),
                        "/status")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"]["replicas"], 2)
        seen.append(r.json["metadata"]["resourceVersion"])
        self.assertEqual(len(set(seen)), len(seen), seen)

    def test_18_stale_update_conflict(self):
        name = unique("cm")
        first = self.create(cm_path(), configmap(name))
        newer = dict(first, data={"k": "v2"})
        self.assertEqual(SERVER.put(cm_path(name=name), newer).status, 200)
        stale = dict(first, data={"k": "stale"})
        r = SERVER.put(cm_path(name=name), stale)
        self.assertStatus(r, 409, "Conflict")
        self.assertTrue(r.json["message"].startswith('Operation cannot be fulfilled on configmaps "%s": ' % name), r)
        self.assertTrue(r.json["message"].endswith(
            "the object has been modified; please apply your changes to the latest version and try again"), r)
        self.assertEqual(SERVER.get(cm_path(name=name)).json["data"], {"k": "v2"})

    def test_19_put_name_mismatch(self):
        name = unique("cm")
        obj = self.create(cm_path(), configmap(name))
        obj["metadata"]["name"] = name + "-other"
        r = SERVER.put(cm_path(name=name), obj)
        self.assertStatus(r, 400, "BadRequest")
        self.assertEqual(SERVER.get(cm_path(name=name + "-other")).status, 404)


class Patch(Base):
    def test_20_merge_patch_removes_label(self):
        name = unique("cm")
        self.create(cm_path(), configmap(name, labels={"a": "1", "b": "2"}))
        r = SERVER.patch(cm_path(name=name), {"metadata": {"labels": {"a": None}}}, MERGE)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["metadata"]["labels"], {"b": "2"})
        self.assertEqual(SERVER.get(cm_path(name=name)).json["metadata"]["labels"], {"b": "2"})

    def test_21_json_patch(self):
        name = unique("cm")
        before = self.create(cm_path(), configmap(name))
        r = SERVER.patch(cm_path(name=name), [{"op": "replace", "path": "/data/k", "value": "v2"}], JSONPATCH)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["data"], {"k": "v2"})
        self.assertNotEqual(r.json["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"])
        r = SERVER.patch(cm_path(name=name), [{"op": "replace", "path": "/data/missing", "value": "x"}], JSONPATCH)
        self.assertStatus(r, 422, "Invalid")
        self.assertEqual(SERVER.get(cm_path(name=name)).json["data"], {"k": "v2"})

    def test_22_strategic_merge_patch(self):
        name = unique("dep")
        self.create(deploy_path(), deployment(name))
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox"}]}}}}
        r = SERVER.patch(deploy_path(name), patch, STRATEGIC)
        self.assertEqual(r.status, 200, r)
        names = [c["name"] for c in r.json["spec"]["template"]["spec"]["containers"]]
        self.assertEqual(sorted(names), ["nginx", "sidecar"])
        ensure_crd()
        shirt = {"apiVersion": "stable.example.com/v1", "kind": "Shirt", "metadata": {"name": unique("s")},
                 "spec": {"color": "blue"}}
        base = "/apis/stable.example.com/v1/namespaces/%s/shirts" % NS
        self.create(base, shirt)
        r = SERVER.patch(base + "/" + shirt["metadata"]["name"], {"spec": {"color": "red"}}, STRATEGIC)
        self.assertStatus(r, 415, "UnsupportedMediaType")
        self.assertEqual(SERVER.get(base + "/" + shirt["metadata"]["name"]).json["spec"]["color"], "blue")

    def test_23_apply_creates_and_requires_field_manager(self):
        name = unique("cm")
        body = json.dumps(configmap(name))
        r = SERVER.patch(cm_path(name=name), body, APPLY, query={"fieldManager": "t"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["data"], {"k": "v"})
        managers = [(m["manager"], m["operation"]) for m in r.json["metadata"]["managedFields"]]
        self.assertIn(("t", "Apply"), managers)
        other = unique("cm")
        r = SERVER.patch(cm_path(name=other), json.dumps(configmap(other)), APPLY)
        self.assertStatus(r, 422, "Invalid")
        self.assertEqual(r.json["details"]["kind"], "PatchOptions")
        causes = r.json["details"].get("causes", [])
        self.assertIn(("FieldValueRequired", "fieldManager"), [(c.get("reason"), c.get("field")) for c in causes])
        self.assertEqual(SERVER.get(cm_path(name=other)).status, 404)

    def test_24_apply_conflicts_and_force(self):
        name = unique("dep")
        first = deployment(name, replicas=1)
        r = SERVER.patch(deploy_path(name), json.dumps(first), APPLY, query={"fieldManager": "first"})
        self.assertEqual(r.status, 201, r)
        second = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                  "spec": {"replicas": 4}}
        r = SERVER.patch(deploy_path(name), json.dumps(second), APPLY, query={"fieldManager": "second", "force": "false"})
        self.assertStatus(r, 409, "Conflict")
        causes = r.json["details"]["causes"]
        self.assertIn("FieldManagerConflict", [c["reason"] for c in causes])
        self.assertIn(".spec.replicas", [c.get("field") for c in causes])
        self.assertEqual(SERVER.get(deploy_path(name)).json["spec"]["replicas"], 1)
        r = SERVER.patch(deploy_path(name), json.dumps(second), APPLY, query={"fieldManager": "second", "force": "true"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["spec"]["replicas"], 4)
        self.assertEqual(r.json["spec"]["template"]["spec"]["containers"][0]["name"], "nginx")

    def test_25_managed_fields_after_create(self):
        r = SERVER.post(cm_path(), configmap(unique("cm")), query={"fieldManager": "creator"})
        self.assertEqual(r.status, 201, r)
        entries = r.json["metadata"]["managedFields"]
        self.assertEqual(len(entries), 1, entries)
        e = entries[0]
        for field in ("manager", "operation", "apiVersion", "time"):
            self.assertTrue(e.get(field), e)
        self.assertEqual(e["manager"], "creator")
        self.assertEqual(e["operation"], "Update")
        self.assertEqual(e["apiVersion"], "v1")
        self.assertEqual(e["fieldsType"], "FieldsV1")
        self.assertIn("f:data", e["fieldsV1"])

    def test_26_dry_run(self):
        name = unique("cm")
        r = SERVER.post(cm_path(), configmap(name), query={"dryRun": "All"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["metadata"]["name"], name)
        self.assertEqual(SERVER.get(cm_path(name=name)).status, 404)
        self.create(cm_path(), configmap(name))
        r = SERVER.delete(cm_path(name=name), query={"dryRun": "All"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(SERVER.get(cm_path(name=name)).status, 200)


class List(Base):
    def three_in_new_namespace(self, labels=({"a": "1"}, {"a": "2"}, {})):
        ns = unique("ns")
        make_namespace(ns)
        for i, lab in enumerate(labels):
            self.create(sec_path(ns), secret("c%d" % i, ns=ns, labels=dict(lab)))
        return ns

    def test_27_limit_and_continue(self):
        ns = self.three_in_new_namespace()
        path = sec_path(ns)
        r = SERVER.get(path, query={"limit": 2})
        self.assertEqual(len(r.json["items"]), 2, r)
        self.assertTrue(r.json["metadata"].get("continue"))
        self.assertEqual(r.json["metadata"].get("remainingItemCount"), 1)
        rv = r.json["metadata"]["resourceVersion"]
        self.create(path, secret("c9", ns=ns))
        r2 = SERVER.get(path, query={"limit": 2, "continue": r.json["metadata"]["continue"]})
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual([i["metadata"]["name"] for i in r2.json["items"]], ["c2"], "later pages use the snapshot")
        self.assertFalse(r2.json["metadata"].get("continue"))
        self.assertEqual(r2.json["metadata"]["resourceVersion"], rv)

    def test_28_bad_and_expired_continue(self):
        r = SERVER.get(cm_path(), query={"limit": 1, "continue": "!!not-a-token!!"})
        self.assertStatus(r, 400, "BadRequest")
        ns = self.three_in_new_namespace()
        page = SERVER.get(sec_path(ns), query={"limit": 1})
        token = page.json["metadata"]["continue"]
        expired = None
        try:
            # kube-apiserver's token is base64 (RawURLEncoding) of {"v","rv","start"}: age it to rv=1, keeping the
            # alphabet and padding the server used.
            standard = token.endswith("=") or "+" in token or "/" in token
            padded = token.replace("-", "+").replace("_", "/") + "=" * (-len(token) % 4)
            decoded = json.loads(base64.b64decode(padded))
            if isinstance(decoded, dict) and "rv" in decoded:
                decoded["rv"] = 1
                raw = json.dumps(decoded, separators=(",", ":")).encode()
                expired = (base64.b64encode(raw).decode() if standard
                           else base64.urlsafe_b64encode(raw).decode().rstrip("="))
        except (ValueError, TypeError):
            pass
        if expired is None:
            # Opaque token: outlive the server's history with writes, then reuse the old token.
            for i in range(1500):
                SERVER.patch(sec_path(ns, "c0"), {"stringData": {"i": str(i)}}, MERGE)
            expired = token
        r = SERVER.get(sec_path(ns), query={"limit": 1, "continue": expired})
        self.assertStatus(r, 410, "Expired")

    def test_29_order_and_item_kinds(self):
        base = unique("ord")
        make_namespace(base)
        make_namespace(base + "-b")
        for ns in (base, base + "-b"):
            self.create(cm_path(ns), configmap("x", ns=ns, labels={"order": base}))
        r = SERVER.get("/api/v1/configmaps", query={"labelSelector": "order=" + base})
        self.assertEqual(r.status, 200, r)
        keys = ["%s/%s" % (i["metadata"]["namespace"], i["metadata"]["name"]) for i in r.json["items"]]
        self.assertEqual(keys, [base + "-b/x", base + "/x"])
        self.assertEqual(r.json["kind"], "ConfigMapList")
        self.assertEqual(r.json["apiVersion"], "v1")
        for item in r.json["items"]:
            self.assertNotIn("kind", item)
            self.assertNotIn("apiVersion", item)
        all_ns = SERVER.get("/api/v1/namespaces").json["items"]
        names = [n["metadata"]["name"] for n in all_ns]
        self.assertEqual(names, sorted(names, key=lambda s: s.encode()))
        ensure_crd()
        shirts = "/apis/stable.example.com/v1/namespaces/%s/shirts" % base
        self.create(shirts, {"apiVersion": "stable.example.com/v1", "kind": "Shirt", "metadata": {"name": "s"},
                             "spec": {"color": "red"}})
        r = SERVER.get(shirts)
        self.assertEqual(r.json["kind"], "ShirtList")
        self.assertEqual(r.json["items"][0]["kind"], "Shirt")
        self.assertEqual(r.json["items"][0]["apiVersion"], "stable.example.com/v1")

    def test_30_label_selectors(self):
        ns = self.three_in_new_namespace()
        path = sec_path(ns)
        expected = {"a=1": 1, "a!=1": 2, "a in (1,2)": 2, "a notin (1)": 2, "a": 2, "!a": 1, "a=1,a=2": 0,
                    "a==1": 1, "a in (2, 3), a": 1}
        for selector, count in expected.items():
            r = SERVER.get(path, query={"labelSelector": selector})
            self.assertEqual(r.status, 200, (selector, r))
            self.assertEqual(len(r.json["items"]), count, selector)
        r = SERVER.get(path, query={"labelSelector": "a in (1"})
        self.assertStatus(r, 400, "BadRequest")

    def test_31_field_selectors(self):
        ns = self.three_in_new_namespace()
        r = SERVER.get(sec_path(ns), query={"fieldSelector": "metadata.name=c1"})
        self.assertEqual([i["metadata"]["name"] for i in r.json["items"]], ["c1"])
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
        self.create("/api/v1/namespaces/%s/pods" % ns, pod)
        r = self.update("/api/v1/namespaces/%s/pods/p" % ns,
                        lambda o: o.update(status=dict(o.get("status") or {}, phase="Running")), "/status")
        self.assertEqual(r.status, 200, r)
        r = SERVER.get("/api/v1/namespaces/%s/pods" % ns, query={"fieldSelector": "status.phase=Running"})
        self.assertEqual([i["metadata"]["name"] for i in r.json["items"]], ["p"])
        r = SERVER.get("/api/v1/namespaces/%s/pods" % ns, query={"fieldSelector": "status.phase!=Running"})
        self.assertEqual(r.json["items"], [])
        r = SERVER.get("/apis/networking.k8s.io/v1/namespaces/%s/ingresses" % ns,
                       query={"fieldSelector": "foo.bar=x"})
        self.assertStatus(r, 400, "BadRequest")
        self.assertIn('"foo.bar" is not a known field selector', r.json["message"])
        self.assertIn('"metadata.name"', r.json["message"])
        self.assertIn('"metadata.namespace"', r.json["message"])

    def test_32_table_accept(self):
        name = unique("cm")
        self.create(cm_path(), configmap(name))
        r = SERVER.get(cm_path(), accept=TABLE_ACCEPT, query={"limit": 500})
        self.assertEqual(r.status, 200, r)
        if r.json["kind"] == "Table":
            self.assertEqual(r.json["apiVersion"], "meta.k8s.io/v1")
            self.assertTrue(r.json["columnDefinitions"])
            self.assertEqual(r.json["columnDefinitions"][0]["name"], "Name")
            rows = {row["object"]["metadata"]["name"]: row for row in r.json["rows"]}
            self.assertIn(name, rows)
            self.assertEqual(rows[name]["object"]["kind"], "PartialObjectMetadata")
            self.assertEqual(rows[name]["cells"][0], name)
            self.assertTrue(r.json["metadata"]["resourceVersion"])
        else:
            self.assertEqual(r.json["kind"], "ConfigMapList")


class WatchTests(Base):
    def test_33_watch_without_rv_sends_added_first(self):
        ns = unique("ns")
        make_namespace(ns)
        for i in range(3):
            self.create(cm_path(ns), configmap("w%d" % i, ns=ns, labels={"w": "1"}))
        # resourceVersion "0" starts the same way as an unset one.
        w0 = SERVER.watch(cm_path(ns), {"labelSelector": "w=1", "resourceVersion": "0"})
        try:
            self.assertEqual([w0.next()["type"] for _ in range(3)], ["ADDED"] * 3)
        finally:
            w0.close()
        w = SERVER.watch(cm_path(ns), {"labelSelector": "w=1"})
        try:
            self.assertEqual(w.status, 200)
            added = [w.next() for _ in range(3)]
            self.assertEqual([e and e["type"] for e in added], ["ADDED"] * 3, added)
            self.assertEqual(sorted(e["object"]["metadata"]["name"] for e in added), ["w0", "w1", "w2"])
            SERVER.patch(cm_path(ns, "w1"), {"data": {"k": "changed"}}, MERGE)
            ev = w.next()
            self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("MODIFIED", "w1"))
        finally:
            w.close()

    def test_34_watch_from_list_rv(self):
        ns = unique("ns")
        make_namespace(ns)
        listed = SERVER.get(sec_path(ns))
        rv = listed.json["metadata"]["resourceVersion"]
        w = SERVER.watch(sec_path(ns), {"resourceVersion": rv})
        try:
            self.create(sec_path(ns), secret("a", ns=ns))
            SERVER.patch(sec_path(ns, "a"), {"stringData": {"k": "2"}}, MERGE)
            self.assertEqual(SERVER.delete(sec_path(ns, "a")).status, 200)
            events = [w.next() for _ in range(3)]
            self.assertEqual([e and e["type"] for e in events], ["ADDED", "MODIFIED", "DELETED"], events)
            rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
            self.assertEqual(rvs, sorted(rvs))
            self.assertEqual(len(set(rvs)), 3)
            for e in events:
                self.assertEqual(e["object"]["kind"], "Secret")
                self.assertEqual(e["object"]["apiVersion"], "v1")
            time.sleep(0.1)
            self.assertTrue(all(line.endswith(b"\n") for line in w.raw[:3]), w.raw[:3])
            self.assertEqual(w.bad_lines, [])
        finally:
            w.close()

    def test_35_change_between_list_and_watch(self):
        ns = unique("ns")
        make_namespace(ns)
        rv = SERVER.get(sec_path(ns)).json["metadata"]["resourceVersion"]
        self.create(sec_path(ns), secret("between", ns=ns))
        w = SERVER.watch(sec_path(ns), {"resourceVersion": rv})
        try:
            ev = w.next()
            self.assertIsNotNone(ev, "change made between LIST and WATCH was not delivered")
            self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("ADDED", "between"))
        finally:
            w.close()

    def test_36_watch_with_label_selector_relabel(self):
        ns = unique("ns")
        make_namespace(ns)
        self.create(cm_path(ns), configmap("r", ns=ns, labels={"a": "1"}))
        rv = SERVER.get(cm_path(ns)).json["metadata"]["resourceVersion"]
        w = SERVER.watch(cm_path(ns), {"resourceVersion": rv, "labelSelector": "a=1"})
        try:
            SERVER.patch(cm_path(ns, "r"), {"metadata": {"labels": {"a": "2"}}}, MERGE)
            ev = w.next()
            self.assertEqual(ev and ev["type"], "DELETED", ev)
            self.assertEqual(ev["object"]["metadata"]["name"], "r")
            SERVER.patch(cm_path(ns, "r"), {"metadata": {"labels": {"a": "1"}}}, MERGE)
            ev = w.next()
            self.assertEqual(ev and ev["type"], "ADDED", ev)
            self.assertEqual(ev["object"]["metadata"]["labels"], {"a": "1"})
        finally:
            w.close()

    def test_37_bookmarks(self):
        ns = unique("ns")
        make_namespace(ns)
        path = "/apis/apps/v1/namespaces/%s/deployments" % ns
        rv = SERVER.get(path).json["metadata"]["resourceVersion"]
        w = SERVER.watch(path, {"resourceVersion": rv, "allowWatchBookmarks": "true", "timeoutSeconds": "3"})
        try:
            w.ended.wait(6)
            while True:
                ev = w.next(timeout=0.1, skip_bookmarks=False)
                if ev is None:
                    break
                if ev["type"] == "BOOKMARK":
                    self.assertEqual(ev["object"]["kind"], "Deployment")
                    self.assertEqual(ev["object"]["apiVersion"], "apps/v1")
                    meta = ev["object"]["metadata"]
                    self.assertTrue(meta.get("resourceVersion"), ev)
                    # Only the version: no identity (a real server may add a null creationTimestamp).
                    self.assertEqual(set(meta) - {"resourceVersion", "creationTimestamp", "annotations"}, set(), ev)
        finally:
            w.close()

    def test_37b_initial_events_end_bookmark(self):
        ns = unique("ns")
        make_namespace(ns)
        path = "/apis/apps/v1/namespaces/%s/deployments" % ns
        self.create(path, dict(deployment("d"), metadata={"name": "d", "namespace": ns}))
        w = SERVER.watch(path, {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
                                "allowWatchBookmarks": "true"})
        try:
            ev = w.next(skip_bookmarks=False)
            self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("ADDED", "d"), ev)
            ev = w.next(skip_bookmarks=False)
            self.assertEqual(ev and ev["type"], "BOOKMARK", ev)
            self.assertEqual((ev["object"]["kind"], ev["object"]["apiVersion"]), ("Deployment", "apps/v1"))
            self.assertTrue(ev["object"]["metadata"]["resourceVersion"])
            self.assertEqual(ev["object"]["metadata"]["annotations"], {"k8s.io/initial-events-end": "true"})
        finally:
            w.close()

    def test_36b_cluster_wide_watch_and_namespace_content_deletion(self):
        a, b = unique("ns"), unique("ns")
        for ns in (a, b):
            make_namespace(ns)
        rv = SERVER.get("/api/v1/secrets").json["metadata"]["resourceVersion"]
        w = SERVER.watch("/api/v1/secrets", {"resourceVersion": rv, "labelSelector": "cw=" + a})
        try:
            for ns in (a, b):
                self.create(sec_path(ns), secret("s", ns=ns, labels={"cw": a}))
            seen = [w.next() for _ in range(2)]
            self.assertEqual(sorted((e["type"], e["object"]["metadata"]["namespace"]) for e in seen),
                             sorted([("ADDED", a), ("ADDED", b)]))
            self.assertEqual(SERVER.delete("/api/v1/namespaces/" + a).status, 200)
            ev = w.next(timeout=10)
            self.assertEqual((ev["type"], ev["object"]["metadata"]["namespace"]), ("DELETED", a), ev)
        finally:
            w.close()

    def test_38_too_old_resource_version(self):
        ns = unique("ns")
        make_namespace(ns)
        w = SERVER.watch(cm_path(ns), {"resourceVersion": "1"})
        try:
            if w.status == 410:
                status = json.loads(w.body)
                self.assertEqual((status["kind"], status["reason"], status["code"]), ("Status", "Expired", 410))
            else:
                self.assertEqual(w.status, 200)
                ev = w.next(timeout=5, skip_bookmarks=True)
                self.assertIsNotNone(ev, "no 410 and no ERROR event for resourceVersion=1")
                self.assertEqual(ev["type"], "ERROR", ev)
                self.assertEqual(ev["object"]["kind"], "Status")
                self.assertEqual(ev["object"]["reason"], "Expired")
                self.assertEqual(ev["object"]["code"], 410)
        finally:
            w.close()

    def test_39_watch_timeout(self):
        start = time.time()
        w = SERVER.watch(cm_path(), {"timeoutSeconds": "1"})
        try:
            self.assertEqual(w.status, 200)
            # ~1 s, with slack for a loaded CI machine.
            self.assertTrue(w.ended.wait(5), "watch with timeoutSeconds=1 still open after 5 s")
            self.assertLess(time.time() - start, 5)
            self.assertGreater(time.time() - start, 0.9)
        finally:
            w.close()


class Delete(Base):
    def test_40_delete_configmap(self):
        name = unique("cm")
        created = self.create(cm_path(), configmap(name))
        w = SERVER.watch(cm_path(), {"resourceVersion": created["metadata"]["resourceVersion"],
                                     "fieldSelector": "metadata.name=" + name})
        try:
            r = SERVER.delete(cm_path(name=name), {"propagationPolicy": "Background"})
            self.assertEqual(r.status, 200, r)
            if r.json["kind"] == "Status":
                self.assertEqual(r.json["status"], "Success")
                self.assertEqual(r.json["details"]["uid"], created["metadata"]["uid"])
                self.assertEqual(r.json["details"]["name"], name)
            else:
                self.assertEqual(r.json["metadata"]["uid"], created["metadata"]["uid"])
            self.assertStatus(SERVER.get(cm_path(name=name)), 404, "NotFound", 'configmaps "%s" not found' % name)
            ev = w.next()
            self.assertEqual(ev and ev["type"], "DELETED", ev)
            self.assertEqual(ev["object"]["metadata"]["name"], name)
        finally:
            w.close()

    def test_41_finalizers(self):
        name = unique("cm")
        created = self.create(cm_path(), configmap(name, finalizers=["x/y"]))
        w = SERVER.watch(cm_path(), {"resourceVersion": created["metadata"]["resourceVersion"],
                                     "fieldSelector": "metadata.name=" + name})
        try:
            r = SERVER.delete(cm_path(name=name))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["kind"], "ConfigMap")
            self.assertTrue(r.json["metadata"].get("deletionTimestamp"), r)
            got = SERVER.get(cm_path(name=name))
            self.assertEqual(got.status, 200)
            self.assertTrue(got.json["metadata"]["deletionTimestamp"])
            ev = w.next()
            self.assertEqual(ev and ev["type"], "MODIFIED", ev)
            r = SERVER.patch(cm_path(name=name), {"metadata": {"finalizers": None}}, MERGE)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(SERVER.get(cm_path(name=name)).status, 404)
            ev = w.next()
            self.assertEqual(ev and ev["type"], "DELETED", ev)
        finally:
            w.close()

    def test_41b_terminating_object_rules(self):
        name = unique("cm")
        self.create(cm_path(), configmap(name, finalizers=["x/y"]))
        first = SERVER.delete(cm_path(name=name)).json["metadata"]["deletionTimestamp"]
        r = SERVER.delete(cm_path(name=name))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["metadata"]["deletionTimestamp"], first, "a second DELETE changed the object")
        r = SERVER.patch(cm_path(name=name), {"data": {"k": "updated"}}, MERGE)
        self.assertEqual(r.status, 200, r)
        r = SERVER.patch(cm_path(name=name), {"metadata": {"finalizers": ["x/y", "new/one"]}}, MERGE)
        self.assertStatus(r, 422, "Invalid")
        self.assertIn("no new finalizers can be added if the object is being deleted", r.json["message"])
        r = SERVER.patch(cm_path(name=name), {"metadata": {"deletionTimestamp": None}}, MERGE)
        self.assertEqual(SERVER.get(cm_path(name=name)).json["metadata"]["deletionTimestamp"], first)
        SERVER.patch(cm_path(name=name), {"metadata": {"finalizers": None}}, MERGE)
        self.assertEqual(SERVER.get(cm_path(name=name)).status, 404)

    def owner_and_dependent(self):
        owner = self.create(cm_path(), configmap(unique("owner")))
        ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
               "uid": owner["metadata"]["uid"], "blockOwnerDeletion": True}
        dep = self.create(cm_path(), configmap(unique("dep"), ownerReferences=[ref]))
        return owner["metadata"]["name"], dep["metadata"]["name"]

    def test_42_propagation_policies(self):
        owner, dep = self.owner_and_dependent()
        r = SERVER.delete(cm_path(name=owner), {"propagationPolicy": "Foreground"})
        self.assertEqual(r.status, 200, r)
        got = SERVER.get(cm_path(name=owner))
        # The owner stays (with foregroundDeletion) until the garbage collector removed the dependent.
        if got.status == 200:
            self.assertIn("foregroundDeletion", got.json["metadata"].get("finalizers", []))
            self.assertTrue(got.json["metadata"].get("deletionTimestamp"))
        self.assertTrue(wait_until(lambda: SERVER.get(cm_path(name=dep)).status == 404, 10),
                        "dependent not removed after Foreground delete of its owner")
        self.assertTrue(wait_until(lambda: SERVER.get(cm_path(name=owner)).status == 404, 10),
                        "owner not removed after its dependents were gone")
        owner, dep = self.owner_and_dependent()
        self.assertEqual(SERVER.delete(cm_path(name=owner), {"propagationPolicy": "Background"}).status, 200)
        self.assertEqual(SERVER.get(cm_path(name=owner)).status, 404)
        self.assertTrue(wait_until(lambda: SERVER.get(cm_path(name=dep)).status == 404, 10),
                        "dependent not removed after Background delete of its owner")
        owner, dep = self.owner_and_dependent()
        self.assertEqual(SERVER.delete(cm_path(name=owner), {"propagationPolicy": "Orphan"}).status, 200)
        self.assertTrue(wait_until(lambda: SERVER.get(cm_path(name=owner)).status == 404, 10))
        self.assertTrue(wait_until(lambda: not SERVER.get(cm_path(name=dep)).json["metadata"].get("ownerReferences"), 10),
                        "Orphan did not remove the ownerReference from the dependent")

    def test_42b_foreground_waits_for_blocking_dependent(self):
        owner, dep = self.owner_and_dependent()
        SERVER.patch(cm_path(name=dep), {"metadata": {"finalizers": ["x/hold"]}}, MERGE)
        self.assertEqual(SERVER.delete(cm_path(name=owner), {"propagationPolicy": "Foreground"}).status, 200)
        time.sleep(0.5)
        got = SERVER.get(cm_path(name=owner))
        self.assertEqual(got.status, 200, "owner vanished while a blocking dependent still exists")
        self.assertIn("foregroundDeletion", got.json["metadata"]["finalizers"])
        SERVER.patch(cm_path(name=dep), {"metadata": {"finalizers": None}}, MERGE)
        self.assertTrue(wait_until(lambda: SERVER.get(cm_path(name=owner)).status == 404, 10))

    def test_43_uid_precondition(self):
        name = unique("cm")
        created = self.create(cm_path(), configmap(name))
        r = SERVER.delete(cm_path(name=name), {"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}})
        self.assertStatus(r, 409, "Conflict")
        self.assertTrue(r.json["message"].startswith('Operation cannot be fulfilled on configmaps "%s": ' % name), r)
        self.assertIn("Precondition failed: UID in precondition:", r.json["message"])
        self.assertEqual(SERVER.get(cm_path(name=name)).status, 200)
        r = SERVER.delete(cm_path(name=name), {"preconditions": {"uid": created["metadata"]["uid"]}})
        self.assertEqual(r.status, 200, r)


class Namespaces(Base):
    def test_44_new_namespace_fields(self):
        name = unique("ns")
        ns = make_namespace(name)
        self.assertEqual(ns["spec"]["finalizers"], ["kubernetes"])
        self.assertEqual(ns["status"]["phase"], "Active")
        self.assertEqual(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], name)
        self.assertTrue(wait_until(lambda: SERVER.get("/api/v1/namespaces/%s/serviceaccounts/default" % name).status == 200, 5),
                        "no ServiceAccount default in a new namespace")
        self.assertTrue(wait_until(lambda: SERVER.get(cm_path(name, "kube-root-ca.crt")).status == 200, 5),
                        "no ConfigMap kube-root-ca.crt in a new namespace")

    def test_45_namespace_deletion(self):
        name = unique("ns")
        created = make_namespace(name)
        self.create(cm_path(name), configmap("held", ns=name, finalizers=["x/y"]))
        w = SERVER.watch("/api/v1/namespaces", {"resourceVersion": created["metadata"]["resourceVersion"],
                                                "fieldSelector": "metadata.name=" + name})
        try:
            r = SERVER.delete("/api/v1/namespaces/" + name)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["status"]["phase"], "Terminating")
            self.assertTrue(r.json["metadata"]["deletionTimestamp"])
            r = SERVER.post(cm_path(name), configmap("late", ns=name))
            self.assertStatus(r, 403, "Forbidden")
            self.assertIn("because it is being terminated", r.json["message"])
            self.assertEqual(r.json["message"], 'configmaps "late" is forbidden: unable to create new content in '
                                                'namespace %s because it is being terminated' % name)
            self.assertEqual(r.json["details"]["causes"][0]["reason"], "NamespaceTerminating")
            r = SERVER.delete("/api/v1/namespaces/" + name)
            self.assertStatus(r, 409, "Conflict")
            # Content removal is asynchronous: the held ConfigMap keeps the namespace alive.
            time.sleep(0.5)
            self.assertEqual(SERVER.get("/api/v1/namespaces/" + name).status, 200)
            held = SERVER.get(cm_path(name, "held"))
            self.assertEqual(held.status, 200)
            self.assertTrue(held.json["metadata"]["deletionTimestamp"])
            r = SERVER.patch(cm_path(name, "held"), {"metadata": {"finalizers": None}}, MERGE)
            self.assertEqual(r.status, 200, r)
            self.assertTrue(wait_until(lambda: SERVER.get("/api/v1/namespaces/" + name).status == 404, 10),
                            "namespace not gone after its content was removed")
            self.assertEqual(SERVER.get(cm_path(name, "held")).status, 404)
            deleted = None
            for _ in range(10):
                ev = w.next(timeout=3)
                if ev is None or ev["type"] == "DELETED":
                    deleted = ev
                    break
            self.assertIsNotNone(deleted, "watch on namespaces saw no DELETED")
        finally:
            w.close()

    def test_45b_namespace_deletion_reports_progress(self):
        name = unique("ns")
        make_namespace(name)
        self.create(cm_path(name), configmap("held", ns=name, finalizers=["x/y"]))
        self.assertEqual(SERVER.delete("/api/v1/namespaces/" + name).status, 200)

        def conditions():
            got = SERVER.get("/api/v1/namespaces/" + name).json
            return {c["type"]: c for c in (got.get("status") or {}).get("conditions") or []}

        self.assertTrue(wait_until(lambda: conditions().get("NamespaceFinalizersRemaining", {}).get("status") == "True",
                                   5), conditions())
        found = conditions()
        self.assertEqual(found["NamespaceContentRemaining"]["status"], "True")
        self.assertIn("configmaps", found["NamespaceContentRemaining"]["message"])
        self.assertIn("x/y", found["NamespaceFinalizersRemaining"]["message"])
        SERVER.patch(cm_path(name, "held"), {"metadata": {"finalizers": None}}, MERGE)
        self.assertTrue(wait_until(lambda: SERVER.get("/api/v1/namespaces/" + name).status == 404, 10))

    def test_46_default_namespace_undeletable(self):
        r = SERVER.delete("/api/v1/namespaces/default")
        self.assertStatus(r, 403, "Forbidden", 'namespaces "default" is forbidden: this namespace may not be deleted')
        self.assertEqual(SERVER.get("/api/v1/namespaces/default").json["status"]["phase"], "Active")

    def test_46b_fresh_server_content(self):
        names = {n["metadata"]["name"] for n in SERVER.get("/api/v1/namespaces").json["items"]}
        self.assertTrue({"default", "kube-system", "kube-public", "kube-node-lease"} <= names, names)
        svc = SERVER.get("/api/v1/namespaces/default/services/kubernetes")
        self.assertEqual(svc.status, 200, svc)
        self.assertEqual(svc.json["spec"]["ports"][0]["port"], 443)


class CRDs(Base):
    def test_47_crd_established(self):
        with open(os.path.join(MANIFESTS, "crd-shirt-resource-definition.yaml")) as f:
            fixture = parse_simple_yaml(f.read())
        r = SERVER.post(CRD_PATH, fixture)
        self.assertEqual(r.status, 201, r)
        name = "shirts.stable.example.com"

        def established():
            got = SERVER.get(CRD_PATH + "/" + name).json
            return got if condition(got, "Established") == "True" else None

        crd = wait_until(established)
        self.assertIsNotNone(crd, "CRD never Established")
        self.assertEqual(condition(crd, "NamesAccepted"), "True")
        self.assertEqual(crd["status"]["acceptedNames"]["kind"], "Shirt")
        self.assertEqual(crd["status"]["acceptedNames"]["listKind"], "ShirtList")
        self.assertEqual(crd["status"]["storedVersions"], ["v1"])
        _established.add(name)
        groups = SERVER.get("/apis").json["groups"]
        gvs = [v["groupVersion"] for g in groups for v in g["versions"]]
        self.assertIn("stable.example.com/v1", gvs)
        agg = {g["metadata"]["name"]: g for g in SERVER.get("/apis", accept=AGG_ACCEPT).json["items"]}
        shirts = [res for res in agg["stable.example.com"]["versions"][0]["resources"] if res["resource"] == "shirts"]
        self.assertEqual(len(shirts), 1, agg["stable.example.com"])
        self.assertEqual(shirts[0]["scope"], "Namespaced")
        self.assertEqual(shirts[0]["responseKind"]["kind"], "Shirt")
        self.assertEqual(shirts[0]["singularResource"], "shirt")
        rl = SERVER.get("/apis/stable.example.com/v1")
        self.assertEqual(rl.status, 200, rl)
        entry = [res for res in rl.json["resources"] if res["name"] == "shirts"][0]
        self.assertEqual((entry["kind"], entry["namespaced"], entry["singularName"]), ("Shirt", True, "shirt"))
        self.assertEqual(sorted(entry["verbs"]), ["create", "delete", "deletecollection", "get", "list", "patch",
                                                  "update", "watch"])
        r = SERVER.get("/apis/stable.example.com/v1/namespaces/%s/shirts" % NS)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["kind"], "ShirtList")
        self.assertEqual(r.json["apiVersion"], "stable.example.com/v1")
        self.assertEqual(r.json["items"], [])
        # Custom resources then work like built-ins, with the CRD's selectable fields and printer columns.
        base = "/apis/stable.example.com/v1/namespaces/%s/shirts" % NS
        for n, color in (("s47-a", "blue"), ("s47-b", "green")):
            self.create(base, {"apiVersion": "stable.example.com/v1", "kind": "Shirt", "metadata": {"name": n},
                               "spec": {"color": color, "size": "M"}})
        r = SERVER.get(base, query={"fieldSelector": "spec.color=green"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual([i["metadata"]["name"] for i in r.json["items"]], ["s47-b"])
        r = SERVER.get(base, query={"fieldSelector": "spec.weight=1"})
        self.assertStatus(r, 400, "BadRequest")
        r = SERVER.get(base, accept=TABLE_ACCEPT)
        if r.json["kind"] == "Table":
            columns = [c["name"] for c in r.json["columnDefinitions"]]
            self.assertIn("Color", columns)
            row = [row for row in r.json["rows"] if row["object"]["metadata"]["name"] == "s47-b"][0]
            self.assertEqual(row["cells"][columns.index("Color")], "green")
        for n in ("s47-a", "s47-b"):
            self.assertEqual(SERVER.delete(base + "/" + n).status, 200)

    def test_49b_crd_deletion_waits_for_its_resources(self):
        ensure_crd("gizmos", "held.example.com", "Gizmo")
        base = "/apis/held.example.com/v1/namespaces/%s/gizmos" % NS
        self.create(base, {"apiVersion": "held.example.com/v1", "kind": "Gizmo",
                           "metadata": {"name": "g", "finalizers": ["hold/on"]}})
        r = SERVER.delete(CRD_PATH + "/gizmos.held.example.com")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["metadata"]["deletionTimestamp"])
        self.assertIn("customresourcecleanup.apiextensions.k8s.io", r.json["metadata"]["finalizers"])
        self.assertTrue(wait_until(lambda: condition(SERVER.get(CRD_PATH + "/gizmos.held.example.com").json,
                                                     "Terminating") == "True", 5))
        self.assertTrue(wait_until(lambda: SERVER.get(base + "/g").json["metadata"].get("deletionTimestamp"), 5))
        self.assertEqual(SERVER.get(CRD_PATH + "/gizmos.held.example.com").status, 200, "CRD gone before its CRs")
        SERVER.patch(base + "/g", {"metadata": {"finalizers": None}}, MERGE)
        self.assertTrue(wait_until(lambda: SERVER.get(CRD_PATH + "/gizmos.held.example.com").status == 404, 10))
        _established.discard("gizmos.held.example.com")

    def test_48_crd_bad_name(self):
        r = SERVER.post(CRD_PATH, shirt_crd("hats", "wear.example.com", "Hat", name="wrong.wear.example.com"))
        self.assertEqual(r.json.get("details", {}).get("kind"), "CustomResourceDefinition", r)
        self.assertStatus(r, 422, "Invalid")
        self.assertEqual(SERVER.get(CRD_PATH + "/wrong.wear.example.com").status, 404)

    def test_49_crd_delete(self):
        ensure_crd("gadgets", "gone.example.com", "Gadget")
        base = "/apis/gone.example.com/v1/namespaces/%s/gadgets" % NS
        self.create(base, {"apiVersion": "gone.example.com/v1", "kind": "Gadget", "metadata": {"name": "g1"}})
        r = SERVER.delete(CRD_PATH + "/gadgets.gone.example.com")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(wait_until(lambda: SERVER.get(CRD_PATH + "/gadgets.gone.example.com").status == 404, 10),
                        "CRD not removed")
        gvs = [v["groupVersion"] for g in SERVER.get("/apis").json["groups"] for v in g["versions"]]
        self.assertNotIn("gone.example.com/v1", gvs)
        agg = SERVER.get("/apis", accept=AGG_ACCEPT).json["items"]
        self.assertNotIn("gone.example.com", [g["metadata"]["name"] for g in agg])
        self.assertEqual(SERVER.get(base).status, 404)
        # Re-creating the CRD must not resurrect the old custom resources.
        _established.discard("gadgets.gone.example.com")
        ensure_crd("gadgets", "gone.example.com", "Gadget")
        self.assertEqual(SERVER.get(base).json["items"], [])


class ServerBehaviour(Base):
    """Server-side behaviour beyond the checklist that backup and restore run into (the Kubernetes API conventions; k8s.io/apiserver's handlers; the built-in kinds' REST strategies in kubernetes/pkg/registry)."""

    def test_put_with_other_uid_is_conflict(self):
        name = unique("cm")
        obj = self.create(cm_path(), configmap(name))
        obj["metadata"]["uid"] = "11111111-2222-3333-4444-555555555555"
        r = SERVER.put(cm_path(name=name), obj)
        self.assertStatus(r, 409, "Conflict")
        self.assertIn("Precondition failed: UID in precondition", r.json["message"])
        del obj["metadata"]["uid"]
        obj["data"] = {"k": "no-uid"}
        r = SERVER.put(cm_path(name=name), obj)
        self.assertEqual(r.status, 200, r)
        self.assertRegex(r.json["metadata"]["uid"], UUID_RE)

    def test_server_owned_metadata_is_kept_on_update(self):
        name = unique("cm")
        obj = self.create(cm_path(), configmap(name))
        sent = json.loads(json.dumps(obj))
        sent["metadata"]["creationTimestamp"] = "2000-01-01T00:00:00Z"
        r = SERVER.put(cm_path(name=name), sent)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["metadata"]["creationTimestamp"], obj["metadata"]["creationTimestamp"])
        self.assertEqual(r.json["metadata"]["uid"], obj["metadata"]["uid"])

    def test_deployment_generation_counts_annotations_not_labels(self):
        name = unique("dep")
        self.create(deploy_path(), deployment(name))
        r = SERVER.patch(deploy_path(name), {"metadata": {"labels": {"x": "1"}}}, MERGE)
        self.assertEqual(r.json["metadata"]["generation"], 1)
        r = SERVER.patch(deploy_path(name), {"metadata": {"annotations": {"x": "1"}}}, MERGE)
        self.assertEqual(r.json["metadata"]["generation"], 2)

    def test_status_and_scale_subresources(self):
        name = unique("dep")
        self.create(deploy_path(), deployment(name, replicas=2))

        def spec_and_status(o):
            o["spec"]["replicas"] = 3
            o["status"] = {"replicas": 7}

        r = self.update(deploy_path(name), spec_and_status)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["spec"]["replicas"], 3)
        self.assertNotEqual((r.json.get("status") or {}).get("replicas"), 7, "main resource PUT changed status")
        def status_and_spec(o):
            o["spec"]["replicas"] = 9
            o["status"] = {"replicas": 5}

        r = self.update(deploy_path(name), status_and_spec, "/status")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"]["replicas"], 5)
        self.assertEqual(r.json["spec"]["replicas"], 3, "/status PUT changed spec")
        scale = SERVER.get(deploy_path(name) + "/scale")
        self.assertEqual(scale.status, 200, scale)
        self.assertEqual((scale.json["kind"], scale.json["apiVersion"]), ("Scale", "autoscaling/v1"))
        self.assertEqual(scale.json["spec"]["replicas"], 3)
        self.assertEqual(scale.json["metadata"]["name"], name)
        r = SERVER.patch(deploy_path(name) + "/scale", {"spec": {"replicas": 4}}, MERGE)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["kind"], "Scale")
        self.assertEqual(SERVER.get(deploy_path(name)).json["spec"]["replicas"], 4)

    def test_status_writes_are_recorded_with_their_subresource(self):
        name = unique("dep")
        self.create(deploy_path(), deployment(name))
        path = deploy_path(name)
        for _ in range(10):
            obj = SERVER.get(path).json
            obj["status"] = {"replicas": 42}
            r = SERVER.put(path + "/status", obj, query={"fieldManager": "status-writer"})
            if r.status != 409:
                break
        self.assertEqual(r.status, 200, r)
        entries = [m for m in r.json["metadata"]["managedFields"] if m["manager"] == "status-writer"]
        self.assertEqual(len(entries), 1, r.json["metadata"]["managedFields"])
        self.assertEqual(entries[0].get("subresource"), "status")
        self.assertIn("f:status", entries[0]["fieldsV1"])

    def test_valid_owner_reference_is_kept(self):
        owner = self.create(cm_path(), configmap(unique("owner")))
        ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
               "uid": owner["metadata"]["uid"]}
        dep = self.create(cm_path(), configmap(unique("dep"), ownerReferences=[ref]))
        time.sleep(1)
        self.assertEqual(SERVER.get(cm_path(name=dep["metadata"]["name"])).status, 200)

    # Restored objects carry the owner uids of the backed-up cluster: the real garbage collector deletes a
    # dependent once every owner is verified absent.
    def test_dangling_owner_references_are_collected(self):
        owner = self.create(cm_path(), configmap(unique("owner")))
        stale = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
                 "uid": "00000000-1111-2222-3333-444444444444"}  # right name, old uid: a restore's situation
        missing = {"apiVersion": "v1", "kind": "ConfigMap", "name": unique("gone"),
                   "uid": "55555555-6666-7777-8888-999999999999"}
        names = [self.create(cm_path(), configmap(unique("dep"), ownerReferences=[ref]))["metadata"]["name"]
                 for ref in (stale, missing)]
        for name in names:
            self.assertTrue(wait_until(lambda: SERVER.get(cm_path(name=name)).status == 404, 5),
                            "dependent %s with an absent owner was not garbage collected" % name)

    def test_service_cluster_ip_allocation_and_immutability(self):
        name = unique("svc")
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
               "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}}
        created = self.create("/api/v1/namespaces/%s/services" % NS, svc)
        spec = created["spec"]
        self.assertRegex(spec["clusterIP"], r"^\d+\.\d+\.\d+\.\d+$")
        self.assertEqual(spec["clusterIPs"], [spec["clusterIP"]])
        self.assertEqual(spec["type"], "ClusterIP")
        self.assertEqual(spec["sessionAffinity"], "None")
        self.assertEqual(spec["ipFamilies"], ["IPv4"])
        self.assertEqual(spec["ipFamilyPolicy"], "SingleStack")
        self.assertEqual(spec["internalTrafficPolicy"], "Cluster")
        self.assertEqual(spec["ports"][0]["protocol"], "TCP")
        self.assertEqual(spec["ports"][0]["targetPort"], 80)
        changed = json.loads(json.dumps(created))
        octets = spec["clusterIP"].split(".")
        octets[-1] = str((int(octets[-1]) + 1) % 250 + 1)
        changed["spec"]["clusterIP"] = ".".join(octets)
        changed["spec"]["clusterIPs"] = [changed["spec"]["clusterIP"]]
        r = SERVER.put("/api/v1/namespaces/%s/services/%s" % (NS, name), changed)
        self.assertStatus(r, 422, "Invalid")
        self.assertIn("field is immutable", r.json["message"])
        clash = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name + "-2"},
                 "spec": {"clusterIP": spec["clusterIP"], "ports": [{"port": 80}]}}
        r = SERVER.post("/api/v1/namespaces/%s/services" % NS, clash)
        self.assertStatus(r, 422, "Invalid")
        headless = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name + "-h"},
                    "spec": {"clusterIP": "None", "ports": [{"port": 80}]}}
        self.assertEqual(self.create("/api/v1/namespaces/%s/services" % NS, headless)["spec"]["clusterIP"], "None")
        node_port = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name + "-np"},
                     "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
        np = self.create("/api/v1/namespaces/%s/services" % NS, node_port)["spec"]["ports"][0]["nodePort"]
        self.assertTrue(30000 <= np <= 32767, np)

    def service(self, name, **spec):
        spec.setdefault("ports", [{"port": 80}])
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}

    def test_fixed_cluster_ip_and_node_port_are_kept(self):
        ip = self.create("/api/v1/namespaces/%s/services" % NS, self.service(unique("svc")))["spec"]["clusterIP"]
        prefix = ip.rsplit(".", 2)[0]  # a free address in the same service range
        wanted = "%s.200.%d" % (prefix, int(time.time()) % 200 + 20)
        svc = self.create("/api/v1/namespaces/%s/services" % NS, self.service(unique("svc"), clusterIP=wanted))
        self.assertEqual(svc["spec"]["clusterIP"], wanted)
        np = self.create("/api/v1/namespaces/%s/services" % NS,
                         self.service(unique("svc"), type="NodePort", ports=[{"port": 80, "nodePort": 31999}]))
        self.assertEqual(np["spec"]["ports"][0]["nodePort"], 31999)

    def test_node_port_clash(self):
        path = "/api/v1/namespaces/%s/services" % NS
        self.create(path, self.service(unique("svc"), type="NodePort", ports=[{"port": 80, "nodePort": 31888}]))
        r = SERVER.post(path, self.service(unique("svc"), type="NodePort", ports=[{"port": 80, "nodePort": 31888}]))
        self.assertStatus(r, 422, "Invalid")
        self.assertIn("provided port is already allocated", r.json["message"])

    def test_node_port_out_of_range(self):
        r = SERVER.post("/api/v1/namespaces/%s/services" % NS,
                        self.service(unique("svc"), type="NodePort", ports=[{"port": 80, "nodePort": 80}]))
        self.assertStatus(r, 422, "Invalid")
        self.assertIn("provided port is not in the valid range", r.json["message"])

    def test_node_port_range_flag_and_full_range(self):
        """--service-node-port-range as kube-apiserver's flag: every port of the range is handed out once
        (two ports of one Service included), then the real allocator's 500 "range is full"."""
        small = Kubelite(extra_args=["--service-node-port-range", "30100-30102"])
        try:
            path = "/api/v1/namespaces/default/services"
            two = small.post(path, self.service("two", type="NodePort", ports=[{"port": 80, "name": "a"},
                                                                               {"port": 81, "name": "b"}]))
            self.assertEqual(two.status, 201, two)
            one = small.post(path, self.service("one", type="LoadBalancer"))
            self.assertEqual(one.status, 201, one)
            ports = [p["nodePort"] for p in two.json["spec"]["ports"] + one.json["spec"]["ports"]]
            self.assertEqual(sorted(ports), [30100, 30101, 30102])
            r = small.post(path, self.service("full", type="NodePort"))
            self.assertStatus(r, 500, "InternalError")
            self.assertEqual(r.json["message"], "Internal error occurred: failed to allocate a nodePort: range is full")
            self.assertEqual(small.get(path + "/full").status, 404)
            r = small.post(path, self.service("outside", type="NodePort", ports=[{"port": 80, "nodePort": 30000}]))
            self.assertStatus(r, 422, "Invalid")
            self.assertIn("The range of valid ports is 30100-30102", r.json["message"])
            small.delete(path + "/one")
            again = small.post(path, self.service("again", type="NodePort"))
            self.assertEqual(again.status, 201, again)
            self.assertEqual(again.json["spec"]["ports"][0]["nodePort"], one.json["spec"]["ports"][0]["nodePort"])
        finally:
            small.cleanup()

    def test_bad_node_port_range_flag_is_one_line(self):
        build = os.environ.get("ARCA_BUILD_DIR", "")
        out = subprocess.run([os.path.join(build, "kubelite", "kubelite"), "--kubeconfig-out", os.devnull,
                              "--service-node-port-range", "32767-30000"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertEqual(out.stderr.strip().count("\n"), 0, out.stderr)
        self.assertIn("--service-node-port-range", out.stderr)

    def test_cluster_ip_out_of_range(self):
        r = SERVER.post("/api/v1/namespaces/%s/services" % NS, self.service(unique("svc"), clusterIP="192.168.1.1"))
        self.assertStatus(r, 422, "Invalid")
        self.assertIn("is not in the valid range", r.json["message"])

    def test_job_selector_generation_and_repost(self):
        name = unique("job")
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
               "spec": {"template": {"spec": {"restartPolicy": "Never",
                                              "containers": [{"name": "pi", "image": "perl"}]}}}}
        created = self.create("/apis/batch/v1/namespaces/%s/jobs" % NS, job)
        uid = created["metadata"]["uid"]
        self.assertEqual(created["spec"]["selector"]["matchLabels"], {"batch.kubernetes.io/controller-uid": uid})
        labels = created["spec"]["template"]["metadata"]["labels"]
        for key, value in (("batch.kubernetes.io/controller-uid", uid), ("batch.kubernetes.io/job-name", name),
                           ("controller-uid", uid), ("job-name", name)):
            self.assertEqual(labels.get(key), value, labels)
        other_ns = unique("ns")
        make_namespace(other_ns)
        repost = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": created["spec"]}
        r = SERVER.post("/apis/batch/v1/namespaces/%s/jobs" % other_ns, repost)
        self.assertStatus(r, 422, "Invalid")
        self.assertIn("`selector` not auto-generated", r.json["message"])

    def test_pod_defaults(self):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": unique("pod")},
               "spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "nginx:1.25"}]}}
        created = self.create("/api/v1/namespaces/%s/pods" % NS, pod)
        spec = created["spec"]
        self.assertEqual(spec["serviceAccountName"], "default")
        self.assertEqual(spec["restartPolicy"], "Always")
        self.assertEqual(spec["dnsPolicy"], "ClusterFirst")
        self.assertEqual(spec["schedulerName"], "default-scheduler")
        self.assertEqual(spec["terminationGracePeriodSeconds"], 30)
        self.assertEqual(spec["enableServiceLinks"], True)
        self.assertEqual(spec["priority"], 0)
        self.assertEqual(sorted(t["key"] for t in spec["tolerations"]),
                         ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"])
        self.assertTrue(all(t["effect"] == "NoExecute" and t["tolerationSeconds"] == 300 for t in spec["tolerations"]))
        volumes = [v for v in spec["volumes"] if v["name"].startswith("kube-api-access-")]
        self.assertEqual(len(volumes), 1, spec["volumes"])
        self.assertRegex(volumes[0]["name"], r"^kube-api-access-[a-z0-9]{5}$")
        sources = volumes[0]["projected"]["sources"]
        self.assertEqual(sources[0]["serviceAccountToken"]["expirationSeconds"], 3607)
        self.assertEqual(sources[1]["configMap"]["name"], "kube-root-ca.crt")
        by_name = {c["name"]: c for c in spec["containers"]}
        self.assertEqual(by_name["a"]["imagePullPolicy"], "Always")
        self.assertEqual(by_name["b"]["imagePullPolicy"], "IfNotPresent")
        for c in spec["containers"]:
            self.assertEqual(c["terminationMessagePath"], "/dev/termination-log")
            self.assertEqual(c["terminationMessagePolicy"], "File")
            mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
            mount = mounts["/var/run/secrets/kubernetes.io/serviceaccount"]
            self.assertEqual((mount["name"], mount["readOnly"]), (volumes[0]["name"], True))
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": unique("pod")},
               "spec": {"automountServiceAccountToken": False, "containers": [{"name": "a", "image": "nginx"}]}}
        created = self.create("/api/v1/namespaces/%s/pods" % NS, pod)
        self.assertFalse([v for v in created["spec"].get("volumes", []) if v["name"].startswith("kube-api-access-")])

    def test_secret_string_data(self):
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": unique("sec")},
                "stringData": {"user": "admin"}, "data": {"other": "eA=="}}
        created = self.create(sec_path(), body)
        self.assertEqual(created["data"], {"user": "YWRtaW4=", "other": "eA=="})
        self.assertNotIn("stringData", created)
        self.assertEqual(created["type"], "Opaque")

    def test_static_pv_binding_and_release(self):
        pv_name, pvc_name = unique("pv"), unique("pvc")
        pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv_name},
              "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                       "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "manual-" + pv_name,
                       "hostPath": {"path": "/tmp/x"}}}
        self.create("/api/v1/persistentvolumes", pv)
        pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": pvc_name},
               "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual-" + pv_name,
                        "resources": {"requests": {"storage": "1Gi"}}}}
        claim = self.create("/api/v1/namespaces/%s/persistentvolumeclaims" % NS, pvc)
        self.assertEqual(claim["spec"]["volumeMode"], "Filesystem")
        claim_path = "/api/v1/namespaces/%s/persistentvolumeclaims/%s" % (NS, pvc_name)
        bound = wait_until(lambda: (lambda c: c if c.get("status", {}).get("phase") == "Bound" else None)(
            SERVER.get(claim_path).json))
        self.assertIsNotNone(bound, "claim never Bound")
        self.assertEqual(bound["spec"]["volumeName"], pv_name)
        self.assertEqual(bound["metadata"]["annotations"].get("pv.kubernetes.io/bind-completed"), "yes")
        volume = SERVER.get("/api/v1/persistentvolumes/" + pv_name).json
        self.assertEqual(volume["status"]["phase"], "Bound")
        ref = volume["spec"]["claimRef"]
        self.assertEqual((ref["namespace"], ref["name"], ref["uid"]), (NS, pvc_name, claim["metadata"]["uid"]))
        self.assertEqual(SERVER.delete(claim_path).status, 200)
        released = wait_until(lambda: SERVER.get("/api/v1/persistentvolumes/" + pv_name).json["status"]["phase"]
                              == "Released")
        self.assertTrue(released, "PV not Released after its claim was deleted")

    def test_dynamic_provisioning_through_default_storage_class(self):
        classes = SERVER.get("/apis/storage.k8s.io/v1/storageclasses").json["items"]
        default = [c for c in classes if (c["metadata"].get("annotations") or {}).get(
            "storageclass.kubernetes.io/is-default-class") == "true"]
        if not default:
            # A fresh cluster need not have one: make one, the way a cluster admin (or a kind/minikube) does.
            sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                  "metadata": {"name": "standard",
                               "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                  "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
                  "volumeBindingMode": "Immediate"}
            default = [self.create("/apis/storage.k8s.io/v1/storageclasses", sc)]
        pvc_name = unique("pvc")
        pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": pvc_name},
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}}
        claim = self.create("/api/v1/namespaces/%s/persistentvolumeclaims" % NS, pvc)
        self.assertEqual(claim["spec"]["storageClassName"], default[0]["metadata"]["name"])
        path = "/api/v1/namespaces/%s/persistentvolumeclaims/%s" % (NS, pvc_name)
        bound = wait_until(lambda: (lambda c: c if c.get("status", {}).get("phase") == "Bound" else None)(
            SERVER.get(path).json))
        self.assertIsNotNone(bound, "claim never Bound through the default class")
        pv = SERVER.get("/api/v1/persistentvolumes/" + bound["spec"]["volumeName"]).json
        self.assertIn("pv.kubernetes.io/provisioned-by", pv["metadata"]["annotations"])
        self.assertEqual(pv["spec"]["claimRef"]["uid"], claim["metadata"]["uid"])

    def test_list_options(self):
        ns = unique("ns")
        make_namespace(ns)
        for i in range(3):
            self.create(sec_path(ns), secret("s%d" % i, ns=ns, labels={"x": "1"}))
        r = SERVER.get(sec_path(ns), query={"limit": 1, "labelSelector": "x=1"})
        self.assertTrue(r.json["metadata"].get("continue"))
        self.assertNotIn("remainingItemCount", r.json["metadata"], "remainingItemCount is only sent without selectors")
        r = SERVER.get(sec_path(ns), query={"resourceVersion": "0"})
        self.assertEqual(len(r.json["items"]), 3)
        r = SERVER.get(sec_path(ns), query={"resourceVersion": "1", "resourceVersionMatch": "Exact"})
        self.assertStatus(r, 410, "Expired")
        self.assertStatus(SERVER.get(sec_path(ns), query={"limit": "abc"}), 400, "BadRequest")

    def test_write_options(self):
        r = SERVER.post(cm_path(), configmap(unique("cm")), query={"dryRun": "Yes"})
        self.assertStatus(r, 400, "BadRequest")
        name = unique("cm")
        self.create(cm_path(), configmap(name))
        r = SERVER.patch(cm_path(name=name), {"data": {"a": "b"}}, MERGE, query={"force": "true"})
        self.assertStatus(r, 422, "Invalid")
        self.assertEqual(r.json["details"]["kind"], "PatchOptions")

    def test_field_manager_length(self):
        r = SERVER.post(cm_path(), configmap(unique("cm")), query={"fieldManager": "x" * 129})
        self.assertStatus(r, 422, "Invalid")

    def test_job_delete_defaults_to_orphan_with_warning(self):
        name = unique("job")
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
               "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}}
        self.create("/apis/batch/v1/namespaces/%s/jobs" % NS, job)
        r = SERVER.delete("/apis/batch/v1/namespaces/%s/jobs/%s" % (NS, name))
        self.assertEqual(r.status, 200, r)
        self.assertIn("child pods are preserved by default when jobs are deleted", r.headers.get("Warning", ""))
        self.assertTrue(r.headers.get("Warning", "").startswith("299 - "), r.headers.get("Warning"))

    def test_too_large_resource_version(self):
        r = SERVER.get(cm_path(), query={"resourceVersion": "999999999", "resourceVersionMatch": "NotOlderThan"})
        self.assertStatus(r, 504, "Timeout")
        self.assertIn("Too large resource version", r.json["message"])

    def test_delete_collection_by_label(self):
        ns = unique("ns")
        make_namespace(ns)
        for i, lab in enumerate(("a", "a", "b")):
            self.create(cm_path(ns), configmap("d%d" % i, ns=ns, labels={"g": lab}))
        r = SERVER.delete(cm_path(ns), query={"labelSelector": "g=a"})
        self.assertEqual(r.status, 200, r)
        left = [i["metadata"]["name"] for i in SERVER.get(cm_path(ns), query={"labelSelector": "g"}).json["items"]]
        self.assertEqual(left, ["d2"])

    def test_unsatisfiable_accept(self):
        r = SERVER.get(cm_path(), accept="application/xml")
        self.assertStatus(r, 406, "NotAcceptable")

    def test_create_on_update_for_services(self):
        name = unique("svc")
        body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": {"ports": [{"port": 81}]}}
        r = SERVER.put("/api/v1/namespaces/%s/services/%s" % (NS, name), body)
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.json["spec"]["clusterIP"])


class CustomResourceSubresources(Base):
    """k8s.io/apiextensions-apiserver: status/scale subresources, generation rules and name conflicts of custom resources."""

    def widgets(self):
        """A CRD with status and scale subresources (created once); returns the collection path."""
        base = "/apis/sub.example.com/v1/namespaces/%s/widgets" % NS
        if SERVER.get(CRD_PATH + "/widgets.sub.example.com").status == 200:
            return base
        crd = shirt_crd("widgets", "sub.example.com", "Widget")
        version = crd["spec"]["versions"][0]
        version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["replicas"] = {"type": "integer"}
        version["schema"]["openAPIV3Schema"]["properties"]["status"] = {
            "type": "object", "properties": {"replicas": {"type": "integer"}, "phase": {"type": "string"}}}
        version["subresources"] = {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                           "statusReplicasPath": ".status.replicas"}}
        self.create(CRD_PATH, crd)
        self.assertTrue(wait_until(lambda: SERVER.get(base).status == 200), "widgets never served")
        return base

    def test_status_and_scale(self):
        base = self.widgets()
        w = self.create(base, {"apiVersion": "sub.example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                               "spec": {"replicas": 1}, "status": {"phase": "ignored"}})
        self.assertEqual(w["metadata"]["generation"], 1)
        self.assertNotEqual((w.get("status") or {}).get("phase"), "ignored", "create kept status")
        w["status"] = {"phase": "Ready", "replicas": 1}
        r = SERVER.put(base + "/w/status", w)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"]["phase"], "Ready")
        self.assertEqual(r.json["metadata"]["generation"], 1, "a status write moved generation")
        r = SERVER.patch(base + "/w", {"status": {"phase": "Bad"}}, MERGE)
        self.assertEqual(r.json["status"]["phase"], "Ready", "the main resource wrote status")
        r = SERVER.patch(base + "/w", {"spec": {"replicas": 2}}, MERGE)
        self.assertEqual(r.status, 200, r)
        scale = SERVER.get(base + "/w/scale")
        self.assertEqual(scale.status, 200, scale)
        self.assertEqual((scale.json["kind"], scale.json["apiVersion"]), ("Scale", "autoscaling/v1"))
        self.assertEqual((scale.json["spec"]["replicas"], scale.json["status"]["replicas"]), (2, 1))
        r = SERVER.patch(base + "/w/scale", {"spec": {"replicas": 5}}, MERGE)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(SERVER.get(base + "/w").json["spec"]["replicas"], 5)

    def test_generation_moves_only_on_spec_changes(self):
        base = self.widgets()
        w = self.create(base, {"apiVersion": "sub.example.com/v1", "kind": "Widget", "metadata": {"name": "g"},
                               "spec": {"replicas": 1}})
        self.assertEqual(w["metadata"]["generation"], 1)
        r = SERVER.patch(base + "/g", {"metadata": {"labels": {"x": "y"}}}, MERGE)
        self.assertEqual(r.json["metadata"]["generation"], 1, "a metadata write moved generation")
        r = SERVER.patch(base + "/g", {"status": {"phase": "Bad"}}, MERGE)
        self.assertEqual(r.json["metadata"]["generation"], 1, "an ignored status write moved generation")
        r = SERVER.patch(base + "/g", {"spec": {"replicas": 2}}, MERGE)
        self.assertEqual(r.json["metadata"]["generation"], 2)

    def test_unknown_fields_are_pruned_or_refused(self):
        ensure_crd()
        base = "/apis/stable.example.com/v1/namespaces/%s/shirts" % NS

        def shirt(name):
            return {"apiVersion": "stable.example.com/v1", "kind": "Shirt", "metadata": {"name": name},
                    "spec": {"color": "red", "weight": 3}}

        strict = unique("s")
        r = SERVER.post(base, shirt(strict), query={"fieldValidation": "Strict"})
        self.assertStatus(r, 400, "BadRequest")
        self.assertIn('strict decoding error: unknown field "spec.weight"', r.json["message"])
        self.assertEqual(SERVER.get(base + "/" + strict).status, 404)
        for mode in ("Warn", None, "Ignore"):
            name = unique("s")
            r = SERVER.post(base, shirt(name), query={"fieldValidation": mode} if mode else None)
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json["spec"], {"color": "red"}, "unknown field not pruned (%s)" % mode)
            warning = r.headers.get("Warning") or ""
            if mode == "Ignore":
                self.assertEqual(warning, "")
            else:  # Warn is the default: `299 - "unknown field \"spec.weight\""`
                self.assertEqual(warning, '299 - "unknown field \\"spec.weight\\""')

    def test_update_of_missing_custom_resource(self):
        ensure_crd()
        base = "/apis/stable.example.com/v1/namespaces/%s/shirts" % NS
        body = {"apiVersion": "stable.example.com/v1", "kind": "Shirt", "metadata": {"name": "absent"}}
        r = SERVER.put(base + "/absent", body)
        self.assertStatus(r, 404, "NotFound", 'shirts.stable.example.com "absent" not found')

    def test_watch_custom_resources(self):
        ensure_crd()
        ns = unique("ns")
        make_namespace(ns)
        base = "/apis/stable.example.com/v1/namespaces/%s/shirts" % ns
        rv = SERVER.get(base).json["metadata"]["resourceVersion"]
        w = SERVER.watch(base, {"resourceVersion": rv})
        try:
            self.create(base, {"apiVersion": "stable.example.com/v1", "kind": "Shirt", "metadata": {"name": "s"}})
            ev = w.next()
            self.assertEqual(ev and ev["type"], "ADDED", ev)
            self.assertEqual((ev["object"]["kind"], ev["object"]["apiVersion"]), ("Shirt", "stable.example.com/v1"))
        finally:
            w.close()

    def test_names_conflict_leaves_crd_unserved(self):
        ensure_crd()
        clash = shirt_crd("blouses", "stable.example.com", "Shirt")  # kind Shirt is taken in this group
        self.create(CRD_PATH, clash)

        def names_accepted():
            return condition(SERVER.get(CRD_PATH + "/blouses.stable.example.com").json, "NamesAccepted")

        self.assertEqual(wait_until(lambda: names_accepted() == "False", 5) and names_accepted(), "False")
        self.assertNotEqual(condition(SERVER.get(CRD_PATH + "/blouses.stable.example.com").json, "Established"),
                            "True")
        self.assertEqual(SERVER.get("/apis/stable.example.com/v1/namespaces/%s/blouses" % NS).status, 404)


class BulkLoad(Base):
    """--load: manifests created at start; the server answers only once the controllers have caught up."""

    def test_load_serves_a_settled_cluster(self):
        load = tempfile.mkdtemp(prefix="kubelite-load-")
        try:
            items = [deployment("loaded-%d" % i) for i in range(3)]
            for d in items:
                d["metadata"]["namespace"] = "bulk"
            items.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np", "namespace": "bulk"},
                          "spec": {"type": "NodePort", "ports": [{"port": 80}]}})
            with open(os.path.join(load, "objects.json"), "w") as f:
                json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
            server = Kubelite(extra_args=["--load", load])
            try:
                for i in range(3):
                    d = server.get("/apis/apps/v1/namespaces/bulk/deployments/loaded-%d" % i)
                    self.assertEqual(d.status, 200, d)
                    # Reported before the first request was served, by the status controller (its own entry).
                    self.assertEqual(d.json["status"]["observedGeneration"], 1, d.json)
                    self.assertEqual([(m["manager"], m.get("subresource")) for m in d.json["metadata"]["managedFields"]],
                                     [("kubelite-load", None), ("kube-controller-manager", "status")])
                svc = server.get("/api/v1/namespaces/bulk/services/np").json
                self.assertTrue(30000 <= svc["spec"]["ports"][0]["nodePort"] <= 32767, svc)
                # Loading and settling are not changes a watch replays.
                w = server.get("/apis/apps/v1/namespaces/bulk/deployments?watch=1&timeoutSeconds=1&resourceVersion=1")
                self.assertEqual(w.status, 200)
                self.assertIn("Expired", w.body.decode())
            finally:
                server.cleanup()
        finally:
            shutil.rmtree(load, ignore_errors=True)


class Persistence(Base):
    """--data-dir: state survives a restart, including after kill -9."""

    def test_survives_kill_9(self):
        data = tempfile.mkdtemp(prefix="kubelite-data-")
        try:
            first = Kubelite(extra_args=["--data-dir", data])
            try:
                make = first.post(cm_path("default"), configmap("kept", ns="default", data={"x": "1"}))
                self.assertEqual(make.status, 201, make)
                first.process.kill()  # SIGKILL: no clean shutdown
                first.process.wait()
            finally:
                first.cleanup()
            second = Kubelite(extra_args=["--data-dir", data])
            try:
                got = second.get(cm_path("default", "kept"))
                self.assertEqual(got.status, 200, got)
                self.assertEqual(got.json["data"], {"x": "1"})
                self.assertEqual(got.json["metadata"]["uid"], make.json["metadata"]["uid"])
                self.assertEqual(got.json["metadata"]["resourceVersion"], make.json["metadata"]["resourceVersion"])
                updated = second.patch(cm_path("default", "kept"), {"data": {"x": "2"}}, MERGE)
                self.assertGreater(int(updated.json["metadata"]["resourceVersion"]),
                                   int(make.json["metadata"]["resourceVersion"]))
            finally:
                second.cleanup()
        finally:
            shutil.rmtree(data, ignore_errors=True)


class RealKubectl(Base):
    def test_50_real_kubectl(self):
        kubectl = shutil.which("kubectl") or "/usr/bin/kubectl"
        fixtures = os.environ.get("ARCA_FIXTURES", os.path.join(os.path.dirname(__file__), "../../testdata"))
        manifests = os.path.join(fixtures, "kubernetes", "manifests")
        tmp = tempfile.mkdtemp(prefix="kubectl-")
        try:
            def run(*args, timeout=60):
                cmd = [kubectl, "--kubeconfig", SERVER.kubeconfig, "--cache-dir", os.path.join(tmp, "cache")] + list(args)
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
                self.assertEqual(p.returncode, 0, "%s\nstdout: %s\nstderr: %s" % (" ".join(args), p.stdout, p.stderr))
                return p.stdout

            ns = unique("k50")
            run("api-resources")
            run("create", "ns", ns)
            files = sorted(os.listdir(manifests))
            files.sort(key=lambda f: 0 if "resource-definition" in f else 1)
            for f in files:
                # Two fixtures name their own namespace ("default"); kubectl refuses -n with another one.
                own_namespace = f in ("configmaps.yaml", "networkpolicy.yaml")
                run("apply", "-f", os.path.join(manifests, f), *([] if own_namespace else ["-n", ns]))
                if "resource-definition" in f:
                    run("wait", "--for=condition=Established", "crd/shirts.stable.example.com", "--timeout=20s")
            out = run("get", "all", "-n", ns)
            self.assertIn("deployment.apps/nginx-deployment", out)
            run("patch", "deploy", "nginx-deployment", "-n", ns, "--type", "merge", "-p", '{"spec":{"replicas":4}}')
            run("patch", "deploy", "nginx-deployment", "-n", ns, "--type", "json",
                "-p", '[{"op":"replace","path":"/spec/replicas","value":5}]')
            run("patch", "deploy", "nginx-deployment", "-n", ns, "--type", "strategic",
                "-p", '{"metadata":{"labels":{"tier":"web"}}}')
            run("scale", "deploy", "nginx-deployment", "-n", ns, "--replicas=2")
            got = json.loads(run("get", "deploy", "nginx-deployment", "-n", ns, "-o", "json"))
            self.assertEqual(got["spec"]["replicas"], 2)
            self.assertEqual(got["metadata"]["labels"]["tier"], "web")
            run("wait", "--for=jsonpath={.status.phase}=Active", "ns/" + ns, "--timeout=10s")
            start = time.time()
            run("delete", "ns", ns, "--timeout=60s", timeout=90)
            self.assertLess(time.time() - start, 60)
            self.assertEqual(SERVER.get("/api/v1/namespaces/" + ns).status, 404)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class Reviews(Base):
    """authorization.k8s.io / authentication.k8s.io reviews: answered (201), never stored; access reviews decided by
    RBAC (this server's own users are in system:masters)."""

    def test_self_subject_access_review(self):
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"verb": "create", "group": "velero.io", "resource": "backups"}}}
        r = SERVER.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["status"], {"allowed": True})
        self.assertEqual(r.json["spec"], body["spec"])
        self.assertEqual(r.json["metadata"], {"creationTimestamp": None})
        for spec in ({}, {"resourceAttributes": {"verb": "get"}, "nonResourceAttributes": {"path": "/", "verb": "get"}}):
            r = SERVER.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", dict(body, spec=spec))
            self.assertStatus(r, 422, "Invalid")
            self.assertIn("exactly one of nonResourceAttributes or resourceAttributes must be specified", r.json["message"])
        self.assertEqual(SERVER.get("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews").status, 405)

    def test_local_and_subject_access_reviews(self):
        # Decided by RBAC, as kube-apiserver's authorizer: nothing bound to "someone" yet, so not allowed.
        path = "/apis/authorization.k8s.io/v1/namespaces/%s/localsubjectaccessreviews" % NS
        spec = {"user": "someone", "resourceAttributes": {"namespace": NS, "verb": "list", "resource": "pods"}}
        r = SERVER.post(path, {"apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview", "spec": spec})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["status"], {"allowed": False})
        rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/" % NS
        self.assertEqual(SERVER.post(rbac + "roles", {"metadata": {"name": "pod-reader"}, "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}).status, 201)
        self.assertEqual(SERVER.post(rbac + "rolebindings", {"metadata": {"name": "someone-reads"}, "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "User", "name": "someone"}]}).status, 201)
        r = SERVER.post(path, {"apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview", "spec": spec})
        self.assertTrue(r.json["status"]["allowed"])
        self.assertIn('RoleBinding "someone-reads/%s" of Role "pod-reader" to User "someone"' % NS, r.json["status"]["reason"])
        spec["resourceAttributes"]["verb"] = "delete"
        r = SERVER.post(path, {"apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview", "spec": spec})
        self.assertFalse(r.json["status"]["allowed"])
        spec["resourceAttributes"]["verb"] = "list"
        spec["resourceAttributes"]["namespace"] = "elsewhere"
        r = SERVER.post(path, {"apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview", "spec": spec})
        self.assertStatus(r, 422, "Invalid")
        r = SERVER.post("/apis/authorization.k8s.io/v1/subjectaccessreviews",
                        {"spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}})
        self.assertStatus(r, 422, "Invalid")  # neither user nor groups
        self.assertIn("spec.user", r.json["message"])

    def test_self_subject_review_and_rules(self):
        r = SERVER.post("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["status"]["userInfo"],
                         {"username": "system:unsecured", "groups": ["system:masters", "system:authenticated"]})
        r = SERVER.post("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", {"spec": {"namespace": NS}})
        self.assertEqual(r.status, 201, r)
        self.assertIn({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, r.json["status"]["resourceRules"])
        self.assertStatus(SERVER.post("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", {"spec": {}}), 422, "Invalid")


class BadInput(Base):
    """Malformed or invalid requests get the real Status, and nothing stored changes."""

    def snapshot(self, ns):
        items = SERVER.get(cm_path(ns)).json["items"]
        return sorted(json.dumps(i, sort_keys=True) for i in items)

    def setUp(self):
        self.ns = unique("bad")
        make_namespace(self.ns)
        self.create(cm_path(self.ns), configmap("keep", ns=self.ns))
        self.before = self.snapshot(self.ns)

    def tearDown(self):
        self.assertEqual(self.snapshot(self.ns), self.before, "a rejected request changed stored objects")

    def test_malformed_json_create(self):
        r = SERVER.post(cm_path(self.ns), b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"')
        self.assertStatus(r, 400, "BadRequest")

    def test_malformed_yaml_create(self):
        r = SERVER.post(cm_path(self.ns), b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x\n  bad",
                        content_type="application/yaml")
        self.assertStatus(r, 400, "BadRequest")

    def test_yaml_create_works(self):
        r = SERVER.post(cm_path(self.ns), b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  a: b\n",
                        content_type="application/yaml")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["data"], {"a": "b"})
        self.assertEqual(SERVER.delete(cm_path(self.ns, "y")).status, 200)

    def test_malformed_json_update_and_patches(self):
        path = cm_path(self.ns, "keep")
        self.assertStatus(SERVER.put(path, b'{"metadata": '), 400, "BadRequest")
        self.assertStatus(SERVER.patch(path, b'{"data": ', MERGE), 400, "BadRequest")
        self.assertStatus(SERVER.patch(path, b'{"op": "add"}', JSONPATCH), 400, "BadRequest")
        self.assertStatus(SERVER.patch(path, b'[{"op": ', JSONPATCH), 400, "BadRequest")
        self.assertStatus(SERVER.patch(path, b'{"data": ', STRATEGIC), 400, "BadRequest")

    # YAML `image: y` is the boolean true: the real server answers 400, never an internal error.
    def test_wrong_field_type_is_bad_request(self):
        body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "typed"},
                "spec": {"selector": {"matchLabels": {"a": "b"}},
                         "template": {"metadata": {"labels": {"a": "b"}},
                                      "spec": {"containers": [{"name": "c", "image": True}]}}}}
        r = SERVER.post("/apis/apps/v1/namespaces/%s/deployments" % self.ns, body)
        self.assertStatus(r, 400, "BadRequest")

    def test_unsupported_media_type(self):
        r = SERVER.patch(cm_path(self.ns, "keep"), b'{"data":{}}', "text/plain")
        self.assertStatus(r, 415, "UnsupportedMediaType")

    def test_unknown_resource(self):
        r = SERVER.get("/api/v1/namespaces/%s/widgets" % self.ns)
        self.assertStatus(r, 404, "NotFound", "the server could not find the requested resource")
        r = SERVER.post("/api/v1/namespaces/%s/widgets" % self.ns, {"metadata": {"name": "w"}})
        self.assertStatus(r, 404, "NotFound")

    def test_invalid_names(self):
        r = SERVER.post(cm_path(self.ns), configmap("Bad_Name", ns=self.ns))
        self.assertStatus(r, 422, "Invalid")
        self.assertTrue(r.json["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value'), r)
        self.assertIn("metadata.name", [c.get("field") for c in r.json["details"]["causes"]])
        self.assertEqual(r.json["details"]["kind"], "ConfigMap")
        r = SERVER.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}})
        self.assertStatus(r, 422, "Invalid")
        self.assertEqual(SERVER.get("/api/v1/namespaces/a.b").status, 404)
        r = SERVER.post(cm_path(self.ns), configmap("x" * 254, ns=self.ns))
        self.assertStatus(r, 422, "Invalid")

    def test_body_namespace_and_kind_mismatch(self):
        r = SERVER.post(cm_path(self.ns), configmap("m", ns="other"))
        self.assertStatus(r, 400, "BadRequest",
                          "the namespace of the provided object does not match the namespace sent on the request")
        body = configmap("m", ns=self.ns)
        body["kind"] = "Secret"
        self.assertStatus(SERVER.post(cm_path(self.ns), body), 400, "BadRequest")
        body = configmap("m", ns=self.ns)
        body["apiVersion"] = "apps/v1"
        self.assertStatus(SERVER.post(cm_path(self.ns), body), 400, "BadRequest")

    def test_method_not_allowed(self):
        r = SERVER.delete("/api/v1/namespaces")
        self.assertStatus(r, 405, "MethodNotAllowed")

    def test_update_missing_object(self):
        r = SERVER.put(cm_path(self.ns, "absent"), configmap("absent", ns=self.ns))
        self.assertStatus(r, 404, "NotFound", 'configmaps "absent" not found')
        r = SERVER.patch(cm_path(self.ns, "absent"), {"data": {"a": "b"}}, MERGE)
        self.assertStatus(r, 404, "NotFound")


class Validation(Base):
    """Field validation of the real server (422 Invalid with field causes; wrong JSON types are 400); nothing
    rejected may be stored."""

    def rejected(self, path, body, code, reason):
        r = SERVER.post(path, body)
        self.assertStatus(r, code, reason)
        self.assertEqual(SERVER.get(path + "/" + body["metadata"]["name"]).status, 404, "rejected object was stored")
        return r.json

    def test_invalid_label_value(self):
        name = unique("cm")
        status = self.rejected(cm_path(), configmap(name, labels={"a": "has space"}), 422, "Invalid")
        self.assertTrue(status["message"].startswith(
            'ConfigMap "%s" is invalid: metadata.labels: Invalid value: "has space": a valid label must be' % name),
            status["message"])
        self.assertEqual(status["details"]["causes"][0]["field"], "metadata.labels")

    def test_invalid_label_key(self):
        status = self.rejected(cm_path(), configmap(unique("cm"), labels={"-a": "x"}), 422, "Invalid")
        self.assertIn('metadata.labels: Invalid value: "-a": name part must consist of', status["message"])

    def test_invalid_finalizer_name(self):
        status = self.rejected(cm_path(), configmap(unique("cm"), finalizers=["bad finalizer"]), 422, "Invalid")
        self.assertIn('metadata.finalizers[0]: Invalid value: "bad finalizer"', status["message"])

    def test_invalid_configmap_key(self):
        status = self.rejected(cm_path(), configmap(unique("cm"), data={"bad key!": "v"}), 422, "Invalid")
        self.assertIn("a valid config key must consist of alphanumeric characters", status["message"])

    def test_selector_must_match_template(self):
        body = deployment(unique("dep"))
        body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
        status = self.rejected(deploy_path(), body, 422, "Invalid")
        self.assertIn("`selector` does not match template `labels`", status["message"])

    def test_wrong_json_types(self):
        self.rejected(cm_path(), configmap(unique("cm"), labels={"a": 1}), 400, "BadRequest")
        self.rejected(cm_path(), configmap(unique("cm"), data={"k": 1}), 400, "BadRequest")
        body = deployment(unique("dep"))
        body["spec"]["replicas"] = "3"
        self.rejected(deploy_path(), body, 400, "BadRequest")

    def test_immutable_selector(self):
        name = unique("dep")
        self.create(deploy_path(), deployment(name))

        def new_selector(o):
            o["spec"]["selector"] = {"matchLabels": {"app": name, "extra": "x"}}
            o["spec"]["template"]["metadata"]["labels"]["extra"] = "x"

        r = self.update(deploy_path(name), new_selector)
        self.assertStatus(r, 422, "Invalid")
        self.assertTrue(r.json["message"].startswith('Deployment.apps "%s" is invalid: spec.selector: Invalid value: '
                                                     % name), r)
        self.assertTrue(r.json["message"].endswith("field is immutable"), r)
        self.assertEqual(r.json["details"]["kind"], "Deployment")
        self.assertEqual(r.json["details"]["group"], "apps")
        self.assertEqual(r.json["details"]["causes"][0]["field"], "spec.selector")


class Tls(Base):
    """--tls: credentials are required and both the token and the client certificate are accepted."""

    @classmethod
    def setUpClass(cls):
        cls.tls = Kubelite(tls=True)

    @classmethod
    def tearDownClass(cls):
        cls.tls.cleanup()

    def test_tls_requires_credentials(self):
        self.assertEqual(self.tls.scheme, "https")
        self.assertIsNotNone(self.tls.ca_file, "kubeconfig has no certificate-authority-data")
        r = self.tls.get("/api/v1/namespaces", send_token=False)
        self.assertIn(r.status, (401, 403), r)
        self.assertEqual(r.json["kind"], "Status")
        r = self.tls.get("/api/v1/namespaces", token="wrong-token")
        self.assertStatus(r, 401, "Unauthorized")
        r = self.tls.get("/api/v1/namespaces", send_token=False, headers={"Authorization": "Basic YWRtaW46c2VjcmV0"})
        self.assertStatus(r, 401, "Unauthorized")  # basic auth left kube-apiserver in 1.19
        r = self.tls.get("/api/v1/namespaces")
        self.assertEqual(r.status, 200, r)
        r = self.tls.get("/api/v1/namespaces", send_token=False, cert=self.tls.client_cert_files())
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
