"""Conformance: the server behaviour backup and restore meet (the built-in kinds' REST strategies in
kubernetes/pkg/registry) and custom resource subresources (status, scale)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conformance_common import *  # noqa: E402,F401,F403


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
