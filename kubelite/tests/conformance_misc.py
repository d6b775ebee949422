"""Conformance: bulk --load, persistence across restarts, the real kubectl, access and token reviews, bad input,
field validation and TLS."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conformance_common import *  # noqa: E402,F401,F403


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
