#!/usr/bin/env python3
"""kubelite's CSI host-path storage, driven by the REAL kubectl: dynamic provisioning through the default class,
snapshots (point in time, Delete and Retain, pre-provisioned contents), restores and clones, reclaim of released
volumes, WaitForFirstConsumer, and the snapshot controller's errors. Until pods run, the data is written and read
in the volumes' directories under --csi-hostpath-dir (the layout kubelite/storage/hostpath.h documents)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from klclient import KubectlHome, Kubelite  # noqa: E402

KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")
DRIVER = "hostpath.csi.k8s.io"


class KubectlError(AssertionError):
    pass


def claim(name, storage="1Gi", cls=None, source=None):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}
    if cls:
        spec["storageClassName"] = cls
    if source:
        spec["dataSource"] = source
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}


def snapshot(name, pvc=None, cls=None, content=None):
    source = {"persistentVolumeClaimName": pvc} if pvc else {"volumeSnapshotContentName": content}
    spec = {"source": source}
    if cls:
        spec["volumeSnapshotClassName"] = cls
    return {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "metadata": {"name": name},
            "spec": spec}


def snapshot_source(name):
    return {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": name}


def write_tree(root, files):
    for path, data in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)


def read_tree(root):
    out = {}
    for base, _, names in os.walk(root):
        for n in names:
            full = os.path.join(base, n)
            with open(full, "rb") as f:
                out[os.path.relpath(full, root)] = f.read()
    return out


class StorageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="kubelite-csi-")
        cls.server = Kubelite(extra_args=["--csi-hostpath-dir", cls.root])
        cls.kubectl_home = KubectlHome(cls.server)
        cls.home, cls.env = cls.kubectl_home.home, cls.kubectl_home.env

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.kubectl_home.cleanup()
        shutil.rmtree(cls.root, ignore_errors=True)

    # --- kubectl

    def kubectl(self, *args, ok=True, stdin=None, timeout=60):
        p = subprocess.run([KUBECTL, "--cache-dir", os.path.join(self.home, "cache")] + list(args),
                           capture_output=True, text=True, timeout=timeout, env=self.env, input=stdin)
        if ok and p.returncode != 0:
            raise KubectlError("kubectl %s → rc=%d\nstdout: %s\nstderr: %s\nserver log tail:\n%s" % (
                " ".join(args), p.returncode, p.stdout[-2000:], p.stderr[-2000:], self.server.read_log()[-1500:]))
        return p if not ok else p.stdout

    def apply(self, ns, *objects):
        self.kubectl("apply", "-n", ns, "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                     "items": list(objects)}))

    def get(self, *args, ns=None, ok=True):
        extra = ["-n", ns] if ns else []
        if not ok:
            p = self.kubectl("get", *args, *extra, "-o", "json", ok=False)
            return json.loads(p.stdout) if p.returncode == 0 else None
        return json.loads(self.kubectl("get", *args, *extra, "-o", "json"))

    def namespace(self, name):
        self.kubectl("create", "namespace", name)
        return name

    def wait(self, ns, what, jsonpath, value, timeout=20):
        self.kubectl("wait", "-n", ns, "--for=jsonpath={%s}=%s" % (jsonpath, value), what, "--timeout=%ds" % timeout,
                     timeout=timeout + 10)

    def eventually(self, fetch, check, timeout=20, what="condition"):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = fetch()
            if check(last):
                return last
            time.sleep(0.1)
        self.fail("%s not reached within %d s; last: %s" % (what, timeout, json.dumps(last)[:1500]))

    def volume_dir(self, ns, pvc):
        """The directory of a Bound claim's volume: <root>/volumes/<spec.csi.volumeHandle of its PV>."""
        self.wait(ns, "pvc/" + pvc, ".status.phase", "Bound")
        name = self.get("pvc", pvc, ns=ns)["spec"]["volumeName"]
        pv = self.get("pv", name)
        self.assertEqual(pv["spec"]["csi"]["driver"], DRIVER)
        path = os.path.join(self.root, "volumes", pv["spec"]["csi"]["volumeHandle"])
        self.assertTrue(os.path.isdir(path), path)
        return path

    def snapshot_dir(self, content):
        return os.path.join(self.root, "snapshots", content["status"]["snapshotHandle"])

    # --- tests

    def test_a_fresh_cluster_has_the_driver_the_default_class_and_the_snapshot_api(self):
        sc = self.get("storageclass", "standard")
        self.assertEqual(sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"], "true")
        self.assertEqual(sc["provisioner"], DRIVER)
        self.assertEqual(self.get("csidriver", DRIVER)["spec"]["attachRequired"], False)
        vsclass = self.get("volumesnapshotclass", "csi-hostpath-snapclass")
        self.assertEqual((vsclass["driver"], vsclass["deletionPolicy"]), (DRIVER, "Delete"))
        resources = self.kubectl("api-resources", "--api-group=snapshot.storage.k8s.io", "-o", "name").split()
        self.assertEqual(sorted(resources), ["volumesnapshotclasses.snapshot.storage.k8s.io",
                                             "volumesnapshotcontents.snapshot.storage.k8s.io",
                                             "volumesnapshots.snapshot.storage.k8s.io"])
        # The real schema: the content's restoreSize is an int64, the snapshot's a quantity.
        crd = self.get("crd", "volumesnapshotcontents.snapshot.storage.k8s.io")
        props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
        self.assertEqual(props["restoreSize"]["type"], "integer")

    def test_b_snapshot_is_point_in_time_and_restores_byte_for_byte(self):
        ns = self.namespace("snap")
        self.apply(ns, claim("data"))  # no class: the default one
        self.assertEqual(self.get("pvc", "data", ns=ns)["spec"]["storageClassName"], "standard")
        volume = self.volume_dir(ns, "data")
        before = {"app/state.bin": os.urandom(300000), "notes.txt": b"as at snapshot time\n"}
        write_tree(volume, before)
        self.apply(ns, snapshot("snap", pvc="data"))
        self.wait(ns, "volumesnapshot/snap", ".status.readyToUse", "true")
        vs = self.get("volumesnapshot", "snap", ns=ns)
        self.assertEqual(vs["spec"]["volumeSnapshotClassName"], "csi-hostpath-snapclass")
        self.assertEqual(vs["status"]["restoreSize"], "1Gi")
        self.assertIn("creationTime", vs["status"])
        content = self.get("volumesnapshotcontent", vs["status"]["boundVolumeSnapshotContentName"])
        self.assertEqual(content["metadata"]["name"], "snapcontent-" + vs["metadata"]["uid"])
        self.assertEqual(content["spec"]["volumeSnapshotRef"]["uid"], vs["metadata"]["uid"])
        self.assertEqual((content["status"]["readyToUse"], content["status"]["restoreSize"]), (True, 1 << 30))
        self.assertIsInstance(content["status"]["creationTime"], int)
        # Writes after the snapshot, in place and new files, do not reach it.
        with open(os.path.join(volume, "app/state.bin"), "r+b") as f:
            f.write(b"\xff" * 4096)
        write_tree(volume, {"notes.txt": b"changed later\n", "later.txt": b"new"})
        self.assertEqual(read_tree(self.snapshot_dir(content)), before)
        self.apply(ns, claim("restored", source=snapshot_source("snap")))
        self.assertEqual(read_tree(self.volume_dir(ns, "restored")), before)
        restored = self.get("pvc", "restored", ns=ns)
        self.assertEqual(restored["spec"]["dataSourceRef"]["kind"], "VolumeSnapshot")  # mirrored by the API server
        # Delete policy: deleting the snapshot deletes its content and its data.
        snap_dir = self.snapshot_dir(content)
        self.kubectl("delete", "-n", ns, "volumesnapshot", "snap", "--timeout=20s")
        self.assertIsNone(self.get("volumesnapshotcontent", content["metadata"]["name"], ok=False))
        self.assertFalse(os.path.exists(snap_dir))
        self.assertEqual(read_tree(self.volume_dir(ns, "restored")), before)  # the restored volume is its own copy

    def test_c_retain_keeps_content_and_data_which_a_pre_provisioned_content_binds_again(self):
        ns = self.namespace("retain")
        self.apply("default", {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
                               "metadata": {"name": "retain"}, "driver": DRIVER, "deletionPolicy": "Retain"})
        self.apply(ns, claim("data"))
        files = {"db/page-0001": os.urandom(65536)}
        write_tree(self.volume_dir(ns, "data"), files)
        self.apply(ns, snapshot("kept", pvc="data", cls="retain"))
        self.wait(ns, "volumesnapshot/kept", ".status.readyToUse", "true")
        content_name = self.get("volumesnapshot", "kept", ns=ns)["status"]["boundVolumeSnapshotContentName"]
        self.kubectl("delete", "-n", ns, "volumesnapshot", "kept", "--timeout=20s")
        content = self.get("volumesnapshotcontent", content_name)
        self.assertEqual(content["spec"]["deletionPolicy"], "Retain")
        self.assertEqual(content["metadata"]["annotations"]["snapshot.storage.kubernetes.io/volumesnapshot-being-deleted"],
                         "yes")
        self.assertEqual(read_tree(self.snapshot_dir(content)), files)
        # The retained snapshot, brought back as a pre-provisioned content (as Velero's CSI restore does).
        handle = content["status"]["snapshotHandle"]
        self.apply(ns, {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
                        "metadata": {"name": "static-" + ns},
                        "spec": {"deletionPolicy": "Delete", "driver": DRIVER, "source": {"snapshotHandle": handle},
                                 "volumeSnapshotClassName": "csi-hostpath-snapclass",
                                 "volumeSnapshotRef": {"name": "again", "namespace": ns}}},
                   snapshot("again", content="static-" + ns))
        self.wait(ns, "volumesnapshot/again", ".status.readyToUse", "true")
        bound = self.get("volumesnapshotcontent", "static-" + ns)
        self.assertEqual(bound["spec"]["volumeSnapshotRef"]["uid"], self.get("volumesnapshot", "again", ns=ns)["metadata"]["uid"])
        self.apply(ns, claim("back", source=snapshot_source("again")))
        self.assertEqual(read_tree(self.volume_dir(ns, "back")), files)
        # Its deletionPolicy is Delete: now the data goes.
        self.kubectl("delete", "-n", ns, "volumesnapshot", "again", "--timeout=20s")
        self.assertIsNone(self.get("volumesnapshotcontent", "static-" + ns, ok=False))
        self.assertFalse(os.path.exists(os.path.join(self.root, "snapshots", handle)))

    def test_d_clone_has_the_source_data(self):
        ns = self.namespace("clone")
        self.apply(ns, claim("src"))
        files = {"a": os.urandom(100000), "sub/b": b"bee"}
        source_dir = self.volume_dir(ns, "src")
        write_tree(source_dir, files)
        self.apply(ns, claim("copy", source={"kind": "PersistentVolumeClaim", "name": "src"}))
        copy_dir = self.volume_dir(ns, "copy")
        self.assertNotEqual(copy_dir, source_dir)
        self.assertEqual(read_tree(copy_dir), files)
        write_tree(source_dir, {"a": b"changed"})
        self.assertEqual(read_tree(copy_dir)["a"], files["a"])

    def test_e_reclaim_policy_on_release(self):
        ns = self.namespace("reclaim")
        self.apply("default", {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                               "metadata": {"name": "keep"}, "provisioner": DRIVER, "reclaimPolicy": "Retain"})
        self.apply(ns, claim("gone"), claim("kept", cls="keep"))
        gone_dir, kept_dir = self.volume_dir(ns, "gone"), self.volume_dir(ns, "kept")
        gone_pv = self.get("pvc", "gone", ns=ns)["spec"]["volumeName"]
        kept_pv = self.get("pvc", "kept", ns=ns)["spec"]["volumeName"]
        write_tree(kept_dir, {"f": b"kept"})
        self.kubectl("delete", "-n", ns, "pvc", "gone", "kept")
        self.kubectl("wait", "--for=delete", "pv/" + gone_pv, "--timeout=20s")
        self.assertFalse(os.path.exists(gone_dir))
        self.wait(ns, "pv/" + kept_pv, ".status.phase", "Released")
        self.assertEqual(read_tree(kept_dir), {"f": b"kept"})

    def test_f_wait_for_first_consumer_binds_once_a_pod_is_scheduled(self):
        ns = self.namespace("wffc")
        self.apply("default", {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                               "metadata": {"name": "late"}, "provisioner": DRIVER,
                               "volumeBindingMode": "WaitForFirstConsumer"})
        self.apply(ns, claim("late", cls="late"))
        self.apply(ns, claim("now"))  # provisioned after the first claim was looked at
        self.volume_dir(ns, "now")
        self.assertEqual(self.get("pvc", "late", ns=ns)["status"]["phase"], "Pending")
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
               "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "busybox"}],
                        "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "late"}}]}}
        self.apply(ns, pod)
        self.volume_dir(ns, "late")
        pvc = self.get("pvc", "late", ns=ns)
        self.assertEqual(pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"], "node-1")
        pv = self.get("pv", pvc["spec"]["volumeName"])
        term = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]
        self.assertEqual(term["values"], ["node-1"])

    def test_h_pods_see_the_volume_and_a_claim_restored_from_its_snapshot(self):
        """The kubelet publishes the driver's volume at .../kubernetes.io~csi/<pv>/mount, so a pod writes into the
        provisioned directory, and a pod on a claim restored from a snapshot reads what was there at snapshot time."""
        ns = self.namespace("pods")
        self.apply(ns, claim("data"))

        def pod(name, claim_name, script):
            return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                    "spec": {"containers": [{"name": "app", "image": "busybox",
                                             "command": ["sh", "-c", script + " && sleep 3600"],
                                             "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                             "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}]}}

        self.apply(ns, pod("writer", "data", "echo written-by-the-pod > /data/f"))
        self.wait(ns, "pod/writer", ".status.phase", "Running", timeout=30)
        volume = self.volume_dir(ns, "data")
        self.eventually(lambda: read_tree(volume), lambda t: t.get("f") == b"written-by-the-pod\n",
                        what="the pod's file in the provisioned directory")
        pod_uid = self.get("pod", "writer", ns=ns)["metadata"]["uid"]
        node = self.get("pod", "writer", ns=ns)["spec"]["nodeName"]
        kubelet_root = self.get("node", node)["metadata"]["annotations"]["kubelite.dev/kubelet-root"]
        pv = self.get("pvc", "data", ns=ns)["spec"]["volumeName"]
        published = os.path.join(kubelet_root, "pods", pod_uid, "volumes", "kubernetes.io~csi", pv, "mount")
        self.assertEqual(read_tree(published), {"f": b"written-by-the-pod\n"})
        self.apply(ns, snapshot("snap", pvc="data"))
        self.wait(ns, "volumesnapshot/snap", ".status.readyToUse", "true")
        self.kubectl("exec", "-n", ns, "writer", "--", "sh", "-c", "echo changed-after > /data/f")
        self.apply(ns, claim("restored", source=snapshot_source("snap")))
        self.apply(ns, pod("reader", "restored", "true"))
        self.wait(ns, "pod/reader", ".status.phase", "Running", timeout=30)
        self.assertEqual(self.kubectl("exec", "-n", ns, "reader", "--", "cat", "/data/f"), "written-by-the-pod\n")
        self.kubectl("delete", "-n", ns, "pod", "writer", "reader", "--timeout=30s")
        self.assertEqual(read_tree(volume), {"f": b"changed-after\n"})  # the pod's going left the data alone

    def test_i_never_ready_knob_and_deleting_an_unbound_pre_provisioned_content(self):
        """The test-only class parameter kubelite.dev/never-ready leaves a snapshot without status for good; a
        pre-provisioned content that no snapshot binds, deleted with policy Delete, still removes the snapshot's
        data (the temporary content Velero's backup deletion creates)."""
        ns = self.namespace("knobs")
        self.apply("default", {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
                               "metadata": {"name": "stuck"}, "driver": DRIVER, "deletionPolicy": "Delete",
                               "parameters": {"kubelite.dev/never-ready": "true"}})
        self.apply(ns, claim("data"))
        files = {"f": os.urandom(4096)}
        write_tree(self.volume_dir(ns, "data"), files)
        self.apply(ns, snapshot("stuck", pvc="data", cls="stuck"), snapshot("fine", pvc="data"))
        self.wait(ns, "volumesnapshot/fine", ".status.readyToUse", "true")
        stuck = self.get("volumesnapshot", "stuck", ns=ns)
        content = self.get("volumesnapshotcontent", stuck["status"]["boundVolumeSnapshotContentName"])
        self.assertNotIn("snapshotHandle", content.get("status", {}))
        self.assertFalse(stuck["status"]["readyToUse"])
        self.kubectl("delete", "-n", ns, "volumesnapshot", "stuck", "--timeout=20s")
        self.assertIsNone(self.get("volumesnapshotcontent", content["metadata"]["name"], ok=False))

        # Keep the fine snapshot's data (Retain), drop its objects, then delete it through an unbound content.
        fine = self.get("volumesnapshot", "fine", ns=ns)
        name = fine["status"]["boundVolumeSnapshotContentName"]
        handle = self.get("volumesnapshotcontent", name)["status"]["snapshotHandle"]
        self.kubectl("patch", "volumesnapshotcontent", name, "--type=merge", "-p", '{"spec":{"deletionPolicy":"Retain"}}')
        self.kubectl("delete", "-n", ns, "volumesnapshot", "fine", "--timeout=20s")
        self.kubectl("delete", "volumesnapshotcontent", name, "--timeout=20s")
        self.assertEqual(read_tree(os.path.join(self.root, "snapshots", handle)), files)
        self.apply("default", {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
                               "metadata": {"name": "temp-" + ns},
                               "spec": {"deletionPolicy": "Delete", "driver": DRIVER,
                                        "source": {"snapshotHandle": handle},
                                        "volumeSnapshotRef": {"name": "name-x", "namespace": "ns-x"}}})
        self.eventually(lambda: self.get("volumesnapshotcontent", "temp-" + ns)["metadata"].get("finalizers", []),
                        lambda f: f == ["snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"],
                        what="the content's finalizer")
        self.kubectl("delete", "volumesnapshotcontent", "temp-" + ns, "--timeout=20s")
        self.assertFalse(os.path.exists(os.path.join(self.root, "snapshots", handle)))

        # A bound snapshot whose content is deleted is not taken again (syncReadySnapshot): it reports the loss.
        self.apply(ns, snapshot("lost", pvc="data"))
        self.wait(ns, "volumesnapshot/lost", ".status.readyToUse", "true")
        name = self.get("volumesnapshot", "lost", ns=ns)["status"]["boundVolumeSnapshotContentName"]
        snapshots_before = set(os.listdir(os.path.join(self.root, "snapshots")))
        self.kubectl("patch", "volumesnapshotcontent", name, "--type=merge", "-p", '{"spec":{"deletionPolicy":"Retain"}}')
        self.kubectl("delete", "volumesnapshotcontent", name, "--timeout=20s")
        self.eventually(lambda: self.get("volumesnapshot", "lost", ns=ns)["status"],
                        lambda st: st.get("error", {}).get("message") == "VolumeSnapshotContent is missing"
                        and st["readyToUse"] is False, what="the snapshot's missing-content error")
        self.assertIsNone(self.get("volumesnapshotcontent", name, ok=False))
        self.assertEqual(set(os.listdir(os.path.join(self.root, "snapshots"))), snapshots_before)

    def test_g_bad_input_reports_the_snapshot_controllers_errors_and_changes_nothing(self):
        ns = self.namespace("bad")
        # A claim of a class no CSI driver provisions: a static hostPath volume.
        self.apply("default", {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "manual-" + ns},
                               "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                        "storageClassName": "manual", "hostPath": {"path": "/tmp/unused"}}})
        self.apply(ns, claim("legacy", cls="manual"))
        self.wait(ns, "pvc/legacy", ".status.phase", "Bound")
        legacy_rv = self.get("pvc", "legacy", ns=ns)["metadata"]["resourceVersion"]
        snapshots_before = sorted(os.listdir(os.path.join(self.root, "snapshots")))
        contents_before = len(self.get("volumesnapshotcontents")["items"])
        self.apply(ns, snapshot("no-claim", pvc="missing"),
                   snapshot("no-claim-with-class", pvc="missing", cls="csi-hostpath-snapclass"),
                   snapshot("non-csi", pvc="legacy"),
                   snapshot("non-csi-with-class", pvc="legacy", cls="csi-hostpath-snapclass"),
                   snapshot("no-class", pvc="legacy", cls="missing-class"))
        expected = {
            "no-claim": 'Failed to set default snapshot class with error failed to retrieve PVC missing from the '
                        'lister: "persistentvolumeclaim \\"missing\\" not found"',
            "no-claim-with-class": "Failed to create snapshot content with error snapshot controller failed to update "
                                   "no-claim-with-class on API server: cannot get claim from snapshot",
            "non-csi": "Failed to set default snapshot class with error snapshotting non-CSI volumes is not "
                       "supported, snapshot:%s/non-csi" % ns,
            "non-csi-with-class": "Failed to create snapshot content with error cannot find CSI "
                                  "PersistentVolumeSource for volume manual-" + ns,
            "no-class": 'Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io '
                        '"missing-class" not found',
        }
        items = self.eventually(
            lambda: {s["metadata"]["name"]: s for s in self.get("volumesnapshots", ns=ns)["items"]},
            lambda got: all(got.get(n, {}).get("status", {}).get("error") for n in expected),
            what="errors in status")
        for name, message in expected.items():
            status = items[name]["status"]
            self.assertEqual(status["error"]["message"], message, name)
            self.assertFalse(status.get("readyToUse", False), name)
            self.assertNotIn("boundVolumeSnapshotContentName", status, name)
        events = self.get("events", ns=ns)["items"]
        self.assertIn("GetSnapshotClassFailed", {e["reason"] for e in events if e["involvedObject"]["name"] == "no-class"})
        # Nothing else changed: no content, no snapshot data, the claim as it was.
        self.assertEqual(len(self.get("volumesnapshotcontents")["items"]), contents_before)
        self.assertEqual(sorted(os.listdir(os.path.join(self.root, "snapshots"))), snapshots_before)
        self.assertEqual(self.get("pvc", "legacy", ns=ns)["metadata"]["resourceVersion"], legacy_rv)
        # A claim restored from a snapshot that is missing stays Pending, and says why.
        self.apply(ns, claim("from-nothing", source=snapshot_source("missing")))
        event = self.eventually(
            lambda: [e for e in self.get("events", ns=ns)["items"] if e["involvedObject"]["name"] == "from-nothing"],
            lambda got: got, what="ProvisioningFailed event")[0]
        self.assertEqual(event["reason"], "ProvisioningFailed")
        self.assertIn("error getting snapshot missing from api server", event["message"])
        self.assertEqual(self.get("pvc", "from-nothing", ns=ns)["status"]["phase"], "Pending")


if __name__ == "__main__":
    unittest.main(verbosity=2)
