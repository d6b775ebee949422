#!/usr/bin/env python3
"""Writes velero-layout-backup.tar.gz: a backup tarball laid out exactly as Velero's own code lays one out, written
with Python's tarfile (not arca's writer), so arca's restore is tested against an independent producer.

What Velero does (vmware-tanzu/velero, v1.12 and later):
- pkg/backup/backup.go writeBackupVersion: the first entry is metadata/version holding "1.1.0\n" (the backup format
  version), a regular file of mode 0755;
- pkg/backup/item_backupper.go backupItemInternal: each item is compact JSON (json.Marshal of the unstructured
  object: keys sorted, status kept) written under
  resources/<group-resource>/<version>[-preferredversion]/<scope>/<namespace>/<name>.json, where the version
  directory carries the "-preferredversion" suffix when it is the group's preferred version, and for the
  preferred version a second copy is written at the unversioned path resources/<group-resource>/<scope>/...;
  <scope> is "namespaces/<ns>" or "cluster" (pkg/archive's GetItemFilePath / GetVersionedItemFilePath);
  every header is a regular file (tar.TypeReg), mode 0755, no directory entries, uid/gid 0;
- the tar stream is gzip'd as a whole (pkg/backup/backup.go gzip.NewWriter).
A non-preferred version (EnableAPIGroupVersions) is only under its own version directory. The tarball also holds a
stray entry under a namespace directory that is not an item, which a reader must skip.

Deterministic (fixed mtimes, gzip header mtime 0): re-running it reproduces the checked-in bytes.
Usage: python3 make_velero_layout_tarball.py [OUT]
"""
import gzip
import io
import json
import sys
import tarfile

MTIME = 1767225600  # 2026-01-01T00:00:00Z


def item_json(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o755
    info.mtime = MTIME
    info.type = tarfile.REGTYPE
    tar.addfile(info, io.BytesIO(data))


def scope(namespace):
    return "namespaces/" + namespace if namespace else "cluster"


def add_item(tar, group_resource, version, preferred, namespace, obj):
    name = obj["metadata"]["name"] + ".json"
    data = item_json(obj)
    version_dir = version + ("-preferredversion" if preferred else "")
    add(tar, f"resources/{group_resource}/{version_dir}/{scope(namespace)}/{name}", data)
    if preferred:
        add(tar, f"resources/{group_resource}/{scope(namespace)}/{name}", data)


def main(out):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        add(tar, "metadata/version", b"1.1.0\n")
        ns = "velero-made"
        add_item(tar, "namespaces", "v1", True, "", {
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "uid": "1", "resourceVersion": "5", "labels": {"from": "velero"}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        add_item(tar, "configmaps", "v1", True, ns, {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": ns, "uid": "u1", "resourceVersion": "9",
                         "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "y"}]},
            "data": {"k": "v"}})
        add_item(tar, "secrets", "v1", True, ns, {
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "token", "namespace": ns, "uid": "u2", "resourceVersion": "10"},
            "data": {"password": "czNjcjN0"}})
        add_item(tar, "deployments.apps", "v1", True, ns, {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": ns, "uid": "u3", "resourceVersion": "11", "generation": 3},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}},
            "status": {"replicas": 2, "readyReplicas": 2}})
        # A finished pod: Velero's restore skips pods that Succeeded or Failed.
        add_item(tar, "pods", "v1", True, ns, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "finished", "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}, "status": {"phase": "Succeeded"}})
        # Only a non-preferred version: restored only when EnableAPIGroupVersions picks it.
        add_item(tar, "horizontalpodautoscalers.autoscaling", "v1", False, ns, {
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "old", "namespace": ns},
            "spec": {"maxReplicas": 3, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}})
        add(tar, f"resources/configmaps/namespaces/{ns}/deeper/stray.json", b"{}")
    with open(out, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as gz:
            gz.write(raw.getvalue())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "velero-layout-backup.tar.gz")
