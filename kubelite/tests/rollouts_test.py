#!/usr/bin/env python3
"""ControllerRevisions of StatefulSets and DaemonSets judged by the real kubectl: `kubectl rollout status`,
`rollout history` (with --revision) and `rollout undo` read and apply them as against a real cluster."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from klclient import KubectlCase, wait_until  # noqa: E402

STATEFULSET = """apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, annotations: {kubernetes.io/change-cause: "version %(version)s"}}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - {name: db, image: "busybox:%(version)s", command: ["sh", "-c", "echo version=%(version)s; exec sleep 1000"]}
"""

DAEMONSET = """apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, annotations: {kubernetes.io/change-cause: "version %(version)s"}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
      - {name: agent, image: "busybox:%(version)s", command: ["sh", "-c", "echo version=%(version)s; exec sleep 1000"]}
"""


class Rollouts(KubectlCase):
    SERVER_ARGS = ()

    def images(self, ns, selector):
        return sorted(p["spec"]["containers"][0]["image"] for p in
                      self.get_json("pods", "-n", ns, "-l", selector)["items"] if not p["metadata"].get("deletionTimestamp"))

    def revisions(self, ns, owner):
        return {r["revision"]: r for r in self.get_json("controllerrevisions", "-n", ns)["items"]
                if r["metadata"]["ownerReferences"][0]["name"] == owner}

    def roll_and_undo(self, ns, kind, name, manifest, selector, pod_hash):
        """Two templates, history, undo to the first: shared by the StatefulSet and the DaemonSet."""
        self.kubectl("create", "ns", ns)
        self.kubectl("apply", "-n", ns, "-f", "-", stdin=manifest % {"version": "1"})
        self.assertIn("roll", self.kubectl("rollout", "status", "-n", ns, "%s/%s" % (kind, name), "--timeout=60s"))
        revs = self.revisions(ns, name)
        self.assertEqual(list(revs), [1])
        rev1 = revs[1]
        owner = rev1["metadata"]["ownerReferences"][0]
        self.assertEqual((owner["kind"], owner["controller"]), ({"statefulset": "StatefulSet",
                                                                  "daemonset": "DaemonSet"}[kind], True))
        self.assertEqual(rev1["data"]["spec"]["template"]["$patch"], "replace")
        self.assertEqual(rev1["data"]["spec"]["template"]["spec"]["containers"][0]["image"], "busybox:1")
        self.assertEqual(rev1["metadata"]["labels"]["app"], selector.split("=")[1])
        hash1 = rev1["metadata"]["labels"]["controller.kubernetes.io/hash"]
        self.assertEqual(rev1["metadata"]["name"], "%s-%s" % (name, hash1))
        for pod in self.get_json("pods", "-n", ns, "-l", selector)["items"]:
            self.assertEqual(pod["metadata"]["labels"]["controller-revision-hash"], pod_hash(rev1))
        self.assertRegex(self.kubectl("get", "controllerrevisions", "-n", ns, rev1["metadata"]["name"]),
                         r"%s\s+%s\.apps/%s\s+1\s+" % (rev1["metadata"]["name"], kind, name))

        # A new template: revision 2, pods replaced one by one, `rollout status` waits for all of them.
        self.kubectl("apply", "-n", ns, "-f", "-", stdin=manifest % {"version": "2"})
        self.assertIn("roll", self.kubectl("rollout", "status", "-n", ns, "%s/%s" % (kind, name), "--timeout=60s"))
        wait_until(lambda: set(self.images(ns, selector)) == {"busybox:2"}, 30, "every pod on the new template")
        history = self.kubectl("rollout", "history", "-n", ns, "%s/%s" % (kind, name))
        self.assertRegex(history, r"REVISION\s+CHANGE-CAUSE\n1\s+version 1\n2\s+version 2\n")
        detail = self.kubectl("rollout", "history", "-n", ns, "%s/%s" % (kind, name), "--revision=1")
        self.assertIn("busybox:1", detail)
        self.assertIn("echo version=1", detail)

        # Undo: the first template again, under a new revision number (3), its pods back on busybox:1.
        self.assertIn("rolled back", self.kubectl("rollout", "undo", "-n", ns, "%s/%s" % (kind, name)))
        self.assertIn("roll", self.kubectl("rollout", "status", "-n", ns, "%s/%s" % (kind, name), "--timeout=60s"))
        wait_until(lambda: set(self.images(ns, selector)) == {"busybox:1"}, 30, "every pod back on the first template")
        revs = self.revisions(ns, name)
        self.assertEqual(sorted(revs), [2, 3])
        self.assertEqual(revs[3]["metadata"]["name"], rev1["metadata"]["name"])  # the same revision, renumbered
        self.assertRegex(self.kubectl("rollout", "history", "-n", ns, "%s/%s" % (kind, name)),
                         r"REVISION\s+CHANGE-CAUSE\n2\s+version 2\n3\s+version 1\n")
        for pod in self.get_json("pods", "-n", ns, "-l", selector)["items"]:
            if not pod["metadata"].get("deletionTimestamp"):
                self.assertEqual(pod["metadata"]["labels"]["controller-revision-hash"], pod_hash(rev1))
        # Deleting the owner deletes its revisions (garbage collector).
        self.kubectl("delete", "-n", ns, "%s/%s" % (kind, name))
        wait_until(lambda: not self.revisions(ns, name), 15, "the revisions to go with their owner")

    def test_statefulset(self):
        self.roll_and_undo("ro-sts", "statefulset", "db", STATEFULSET, "app=db", lambda r: r["metadata"]["name"])
        # (status.currentRevision/updateRevision are what `rollout status` compared above.)

    def test_daemonset(self):
        self.roll_and_undo("ro-ds", "daemonset", "agent", DAEMONSET, "app=agent",
                           lambda r: r["metadata"]["labels"]["controller.kubernetes.io/hash"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
