"""Conformance checklist, reading: discovery (aggregated, legacy, protobuf), list (selectors, continue tokens,
tables) and watch."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conformance_common import *  # noqa: E402,F401,F403


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
