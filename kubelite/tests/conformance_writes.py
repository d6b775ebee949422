"""Conformance checklist, writing: create, the patch types, delete (propagation, finalizers), namespaces and
CustomResourceDefinitions."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conformance_common import *  # noqa: E402,F401,F403


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
        ESTABLISHED_CRDS.add(name)
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
        ESTABLISHED_CRDS.discard("gizmos.held.example.com")

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
        ESTABLISHED_CRDS.discard("gadgets.gone.example.com")
        ensure_crd("gadgets", "gone.example.com", "Gadget")
        self.assertEqual(SERVER.get(base).json["items"], [])
