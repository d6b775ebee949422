#!/usr/bin/env python3
"""kubelite's data plane judged by the REAL kubectl: Nodes, the workload controllers, the scheduler and the
kubelets with real processes (bubblewrap sandboxes) and volumes on disk. Each test gets its own namespace of
one kubelite (two nodes, a 1 s crash-loop back-off); waits are bounded by kubectl's own --timeout."""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from klclient import KubectlCase, Kubelite, wait_until  # noqa: E402

KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")


def pids_with_marker(marker):
    """Processes whose command line holds `marker` (the sandboxes of one test's containers)."""
    found = []
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(cmdline, "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(cmdline.split("/")[2]))
        except OSError:
            pass
    return found


class Workloads(KubectlCase):
    SERVER_ARGS = ("--restart-backoff", "1")

    def apply(self, ns, manifest):
        self.kubectl("create", "ns", ns, ok=False)
        return self.kubectl("apply", "-n", ns, "-f", "-", stdin=manifest)

    def pods(self, ns, selector):
        return self.get_json("pods", "-n", ns, "-l", selector)["items"]

    def kubelet_root(self, node):
        return self.get_json("node", node)["metadata"]["annotations"]["kubelite.dev/kubelet-root"]

    def test_nodes_and_leases(self):
        nodes = self.get_json("nodes")["items"]
        self.assertEqual(len(nodes), 2)
        for node in nodes:
            ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
            self.assertEqual(ready[0]["status"], "True")
            self.assertEqual(node["status"]["nodeInfo"]["kubeletVersion"], "v1.31.0")
            self.assertIn("cpu", node["status"]["capacity"])
            self.assertTrue(any(a["type"] == "InternalIP" for a in node["status"]["addresses"]))
            self.assertTrue(os.path.isdir(os.path.join(self.kubelet_root(node["metadata"]["name"]), "pods")))
        out = self.kubectl("get", "nodes")
        self.assertRegex(out, r"kubelite-node-1\s+Ready\s+<none>\s+\S+\s+v1.31.0")
        leases = self.get_json("leases", "-n", "kube-node-lease")["items"]
        self.assertEqual(sorted(l["spec"]["holderIdentity"] for l in leases), ["kubelite-node-1", "kubelite-node-2"])
        # `kubectl wait` reads the same condition.
        self.assertIn("condition met", self.kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=10s"))

    DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "echo hello from $POD_NAME; echo version=%s; exec sleep 1000 # marker-%s"]
        env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
        ports: [{name: http, containerPort: 8080}]
        volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""

    def test_deployment_rollout_scale_roll_delete(self):
        ns = "wl-deploy"
        marker = "marker-%d" % os.getpid()
        self.apply(ns, self.DEPLOYMENT % ("1", marker))
        out = self.kubectl("rollout", "status", "-n", ns, "deployment/web", "--timeout=30s")
        self.assertIn('deployment "web" successfully rolled out', out)
        self.assertIn("condition met", self.kubectl("wait", "-n", ns, "--for=condition=Available", "deploy/web",
                                                    "--timeout=10s"))
        rs = self.get_json("rs", "-n", ns)["items"]
        self.assertEqual(len(rs), 1)
        rs = rs[0]
        hash_ = rs["metadata"]["labels"]["pod-template-hash"]
        self.assertEqual(rs["metadata"]["name"], "web-" + hash_)
        owner = rs["metadata"]["ownerReferences"][0]
        self.assertEqual((owner["kind"], owner["name"], owner["controller"], owner["blockOwnerDeletion"]),
                         ("Deployment", "web", True, True))
        self.assertEqual(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1")
        pods = self.pods(ns, "app=web")
        self.assertEqual(len(pods), 3)
        nodes = set()
        for pod in pods:
            self.assertEqual(pod["status"]["phase"], "Running")
            self.assertEqual(pod["metadata"]["ownerReferences"][0]["uid"], rs["metadata"]["uid"])
            self.assertEqual(pod["metadata"]["labels"]["pod-template-hash"], hash_)
            self.assertTrue(pod["status"]["podIP"].startswith("10.244."))
            self.assertTrue(pod["status"]["hostIP"].startswith("172.18.0."))
            status = pod["status"]["containerStatuses"][0]
            self.assertTrue(status["ready"] and "running" in status["state"])
            nodes.add(pod["spec"]["nodeName"])
        self.assertEqual(nodes, {"kubelite-node-1", "kubelite-node-2"})  # spread over both nodes
        # Each pod's container is a real process with its own output.
        name = pods[0]["metadata"]["name"]
        logs = wait_until(lambda: self.kubectl("logs", "-n", ns, name), 10, "the container's output")
        self.assertEqual(logs, "hello from %s\nversion=1\n" % name)
        self.assertEqual(self.kubectl("logs", "-n", ns, name, "--tail=1"), "version=1\n")
        self.assertEqual(len(pids_with_marker(marker)), 3 * 2)  # bwrap and its sandboxed shell, per pod
        # The Service's Endpoints and EndpointSlice list the ready pods, with the named port resolved.
        ep = self.get_json("endpoints", "-n", ns, "web")
        self.assertEqual(sorted(a["ip"] for a in ep["subsets"][0]["addresses"]),
                         sorted(p["status"]["podIP"] for p in pods))
        self.assertEqual(ep["subsets"][0]["ports"], [{"name": "http", "port": 8080, "protocol": "TCP"}])
        slices = self.get_json("endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=web")["items"]
        self.assertEqual(len(slices[0]["endpoints"]), 3)
        events = self.get_json("events", "-n", ns)["items"]
        reasons = {e["reason"] for e in events}
        self.assertTrue({"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Pulled", "Started"} <= reasons, reasons)

        # Scale.
        self.kubectl("scale", "-n", ns, "deployment/web", "--replicas=1")
        self.kubectl("rollout", "status", "-n", ns, "deployment/web", "--timeout=30s")
        wait_until(lambda: len(self.pods(ns, "app=web")) == 1, 10, "scale down to 1 pod")
        wait_until(lambda: len(pids_with_marker(marker)) == 2, 10, "the removed pods' processes to end")
        self.kubectl("scale", "-n", ns, "deployment/web", "--replicas=2")
        self.kubectl("rollout", "status", "-n", ns, "deployment/web", "--timeout=30s")
        self.assertEqual(len(self.pods(ns, "app=web")), 2)

        # Roll: a new template makes a second ReplicaSet; the old one ends at 0.
        self.apply(ns, self.DEPLOYMENT.replace("replicas: 3", "replicas: 2") % ("2", marker))
        out = self.kubectl("rollout", "status", "-n", ns, "deployment/web", "--timeout=30s")
        self.assertIn("successfully rolled out", out)
        sets = {r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: r
                for r in self.get_json("rs", "-n", ns)["items"]}
        self.assertEqual(set(sets), {"1", "2"})
        self.assertEqual(sets["1"]["spec"]["replicas"], 0)
        self.assertEqual(sets["2"]["spec"]["replicas"], 2)
        pods = wait_until(lambda: [p for p in self.pods(ns, "app=web")] if len(self.pods(ns, "app=web")) == 2 else None,
                          10, "old pods to go")
        for pod in pods:
            self.assertEqual(pod["metadata"]["labels"]["pod-template-hash"],
                             sets["2"]["metadata"]["labels"]["pod-template-hash"])
        name = pods[0]["metadata"]["name"]
        self.assertIn("version=2", wait_until(lambda: self.kubectl("logs", "-n", ns, name), 10, "new output"))
        self.assertIn("rolled back", self.kubectl("rollout", "undo", "-n", ns, "deployment/web"))
        self.kubectl("rollout", "status", "-n", ns, "deployment/web", "--timeout=30s")
        self.assertEqual(self.get_json("rs", "-n", ns, sets["1"]["metadata"]["name"])["spec"]["replicas"], 2)

        # Deleting the Deployment removes its ReplicaSets, their Pods and the Pods' processes.
        self.kubectl("delete", "-n", ns, "deployment/web")
        wait_until(lambda: not self.get_json("rs,pods", "-n", ns)["items"], 15, "ReplicaSets and Pods to go")
        wait_until(lambda: not pids_with_marker(marker), 10, "the processes to end")

    def test_volumes_on_disk_and_init_container(self):
        ns = "wl-init"
        manifest = """apiVersion: v1
kind: Pod
metadata: {name: gated}
spec:
  initContainers:
  - {name: wait, image: busybox, command: ["sh", "-c", "until [ -f /work/go ]; do sleep 0.1; done; echo init-done > /work/init"],
     volumeMounts: [{name: work, mountPath: /work}]}
  containers:
  - {name: app, image: busybox, command: ["sh", "-c", "cat /work/init; echo app-ran > /work/app; exec sleep 1000"],
     workingDir: /work, volumeMounts: [{name: work, mountPath: /work}]}
  volumes: [{name: work, emptyDir: {}}]
"""
        self.apply(ns, manifest)
        pod = wait_until(lambda: (lambda p: p if p["status"].get("podIP") else None)(self.get_json("pod", "-n", ns, "gated")),
                         10, "the pod to get its volumes")
        root = self.kubelet_root(pod["spec"]["nodeName"])
        volume = os.path.join(root, "pods", pod["metadata"]["uid"], "volumes", "kubernetes.io~empty-dir", "work")
        self.assertTrue(os.path.isdir(volume), volume)
        time.sleep(1)  # the init container is polling for the file: the app container must not have started
        pod = self.get_json("pod", "-n", ns, "gated")
        self.assertEqual(pod["status"]["phase"], "Pending")
        self.assertIn("running", pod["status"]["initContainerStatuses"][0]["state"])
        self.assertEqual(pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"], "PodInitializing")
        self.assertFalse(os.path.exists(os.path.join(volume, "app")))
        self.assertRegex(self.kubectl("get", "pod", "-n", ns, "gated"), r"gated\s+0/1\s+Init:0/1")
        with open(os.path.join(volume, "go"), "w") as f:
            f.write("go")
        self.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod/gated", "--timeout=15s")
        wait_until(lambda: os.path.exists(os.path.join(volume, "app")), 10, "the app container to write its file")
        with open(os.path.join(volume, "app")) as f:
            self.assertEqual(f.read(), "app-ran\n")
        self.assertEqual(self.kubectl("logs", "-n", ns, "gated", "-c", "app"), "init-done\n")
        pod = self.get_json("pod", "-n", ns, "gated")
        self.assertEqual(pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"], "Completed")
        self.kubectl("delete", "-n", ns, "pod/gated", "--wait=true")
        wait_until(lambda: not os.path.exists(os.path.dirname(os.path.dirname(os.path.dirname(volume)))), 10,
                   "the pod directory to be removed")

    def test_exec_and_cp_reach_the_volume_on_disk(self):
        ns = "wl-exec"
        manifest = """apiVersion: v1
kind: Pod
metadata: {name: box}
spec:
  containers:
  - {name: app, image: busybox, command: ["sleep", "1000"], volumeMounts: [{name: data, mountPath: /data}]}
  - {name: side, image: busybox, command: ["sleep", "1000"], workingDir: /usr/share}
  volumes: [{name: data, emptyDir: {}}]
"""
        self.apply(ns, manifest)
        self.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod/box", "--timeout=15s")
        pod = self.get_json("pod", "-n", ns, "box")
        volume = os.path.join(self.kubelet_root(pod["spec"]["nodeName"]), "pods", pod["metadata"]["uid"], "volumes",
                              "kubernetes.io~empty-dir", "data")
        # exec writes into the volume directory on disk; a second exec reads it back.
        self.kubectl("exec", "-n", ns, "box", "-c", "app", "--", "sh", "-c", "echo hi > /data/f")
        with open(os.path.join(volume, "f")) as f:
            self.assertEqual(f.read(), "hi\n")
        self.assertEqual(self.kubectl("exec", "-n", ns, "box", "-c", "app", "--", "cat", "/data/f"), "hi\n")
        # stdin, stderr and the exit code travel too.
        p = self.kubectl("exec", "-i", "-n", ns, "box", "-c", "app", "--", "sh", "-c", "tr a-z A-Z; echo oops >&2; exit 7",
                         ok=False, stdin="shout\n")
        self.assertEqual((p.returncode, p.stdout), (7, "SHOUT\n"))
        self.assertIn("oops", p.stderr)
        # The sandbox: the host root is read-only, the volume is not; the other container has no /data.
        p = self.kubectl("exec", "-n", ns, "box", "-c", "app", "--", "sh", "-c", "touch /usr/x", ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Read-only file system", p.stderr)
        p = self.kubectl("exec", "-n", ns, "box", "-c", "side", "--", "cat", "/data/f", ok=False)
        self.assertNotEqual(p.returncode, 0)
        # kubectl cp: tar over exec, both ways.
        local = os.path.join(self.home, "payload.txt")
        with open(local, "w") as f:
            f.write("copied in\n" * 1000)
        self.kubectl("cp", local, "%s/box:/data/payload.txt" % ns, "-c", "app")
        with open(os.path.join(volume, "payload.txt")) as f:
            self.assertEqual(f.read(), "copied in\n" * 1000)
        back = os.path.join(self.home, "back.txt")
        self.kubectl("cp", "%s/box:/data/f" % ns, back, "-c", "app")
        with open(back) as f:
            self.assertEqual(f.read(), "hi\n")
        # exec starts in the container's working directory, inside the sandbox (getcwd() used to fail there).
        p = self.kubectl("exec", "-n", ns, "box", "-c", "app", "--", "sh", "-c", "pwd; /bin/pwd; ls -d data", ok=False)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "/\n/\ndata\n", ""))
        p = self.kubectl("exec", "-n", ns, "box", "-c", "side", "--", "sh", "-c", "pwd; ls", ok=False)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertEqual(p.stdout.splitlines()[0], "/usr/share")
        self.assertIn("doc", p.stdout.splitlines()[1:])
        # Errors as the API server gives them.
        p = self.kubectl("exec", "-n", ns, "box", "-c", "nope", "--", "true", ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("container nope is not valid for pod box", p.stderr)

    def test_processes_end_with_kubelite(self):
        """Stopped (SIGTERM) or killed (SIGKILL), kubelite leaves no container process behind.

        Killed, it is killed while sandboxes are being set up: bwrap's init inside a sandbox arms its parent-death
        signal only at the end of the setup, so this is when a sandbox used to survive (in about half the rounds
        here). Three killed rounds of 2 s each make a regression show nearly every time."""
        for round, kill in enumerate((False, True, True, True)):
            marker = "end-with-kubelite-%d-%d" % (os.getpid(), round)
            server = Kubelite(extra_args=["--nodes", "1"])
            try:
                env = dict(self.env, KUBECONFIG=server.kubeconfig)
                subprocess.run([KUBECTL, "run", "sleeper", "--image=busybox", "--restart=Never", "--command", "--",
                                "sh", "-c", "sleep 1000 # " + marker], env=env, check=True, capture_output=True)
                wait_until(lambda: len(pids_with_marker(marker)) >= 2, 15, "the container's processes")
                if kill:
                    starting = marker + "-starting"
                    pods = "".join("""---
apiVersion: v1
kind: Pod
metadata: {name: starting-%d}
spec:
  restartPolicy: Never
  containers:
  - {name: app, image: busybox, command: [sh, -c, "sleep 1000 # %s"]}
""" % (i, starting) for i in range(6))
                    subprocess.run([KUBECTL, "apply", "-f", "-"], input=pods, text=True, env=env, check=True,
                                   capture_output=True)
                    wait_until(lambda: pids_with_marker(starting), 15, "a sandbox being set up")
                    server.process.kill()
                    server.process.wait()
                else:
                    server.stop()
                    self.assertEqual(server.process.returncode, 0)
                # `marker` is in the command lines of the first pod and of every starting one.
                try:
                    wait_until(lambda: not pids_with_marker(marker), 10, "the processes to end with kubelite")
                except AssertionError as e:
                    left = ",".join(str(p) for p in pids_with_marker(marker))
                    ps = subprocess.run(["ps", "-o", "pid,ppid,pgid,sid,args", "-p", left], capture_output=True,
                                        text=True).stdout if left else ""
                    raise AssertionError("%s (killed: %s); left:\n%s" % (e, kill, "\n".join(
                        line[:160] for line in ps.splitlines()))) from None
            finally:
                server.cleanup()
                for pid in pids_with_marker(marker):  # what a failure left behind
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass

    def test_sigterm_stops_a_load(self):
        """SIGTERM while kubelite loads manifests and settles their workloads ends it within 2 s (it used to be
        blocked until the load had finished), and the kubelets' temporary root goes with it (a directory per pod
        was left in /tmp by every run)."""
        load = tempfile.mkdtemp(prefix="kubelite-load-")
        try:
            items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "big"}}]
            for i in range(3000):
                items.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d%d" % i,
                                                                                          "namespace": "big"},
                              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "d%d" % i}},
                                       "template": {"metadata": {"labels": {"app": "d%d" % i}},
                                                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
            with open(os.path.join(load, "objects.json"), "w") as f:
                json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
            out = tempfile.mkdtemp(prefix="kubelite-sigterm-")
            kubeconfig = os.path.join(out, "kubeconfig")
            with open(os.path.join(out, "log"), "wb") as log:
                proc = subprocess.Popen([os.path.join(os.environ["ARCA_BUILD_DIR"], "kubelite", "kubelite"), "--port",
                                         "0", "--kubeconfig-out", kubeconfig, "--load", load, "--no-processes"],
                                        stdout=log, stderr=subprocess.STDOUT)
                try:
                    time.sleep(1)  # inside the load: 9,000 pods take far longer than this to settle
                    self.assertFalse(os.path.exists(kubeconfig), "the load ended before the signal: make it larger")
                    proc.terminate()
                    start = time.time()
                    self.assertEqual(proc.wait(10), 0)
                    self.assertLess(time.time() - start, 2)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
            with open(os.path.join(out, "log")) as f:
                log = f.read()
            self.assertIn("kubelite: stopped by a signal while loading", log)
            marker = "kubelet root "
            self.assertIn(marker, log)
            node_root = log[log.index(marker) + len(marker):].split("\n")[0]
            kubelet_root = os.path.dirname(node_root)
            self.assertTrue(os.path.basename(kubelet_root).startswith("kubelite-kubelet-"), kubelet_root)
            wait_until(lambda: not os.path.exists(kubelet_root), 30, "the removal of " + kubelet_root)
            shutil.rmtree(out, ignore_errors=True)
        finally:
            shutil.rmtree(load, ignore_errors=True)

    def test_missing_command_crash_loops_and_logs_previous(self):
        ns = "wl-bad"
        manifest = """apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  containers:
  - {name: app, image: busybox, command: ["no-such-program-here"]}
---
apiVersion: v1
kind: Pod
metadata: {name: flaky}
spec:
  containers:
  - {name: app, image: busybox, command: ["sh", "-c", "echo run; exit 3"]}
"""
        self.apply(ns, manifest)

        def restarted(name, n):
            pod = self.get_json("pod", "-n", ns, name)
            statuses = pod["status"].get("containerStatuses") or [{}]
            return pod if statuses[0].get("restartCount", 0) >= n else None

        pod = wait_until(lambda: restarted("bad", 1), 15, "the missing command to be retried")
        status = pod["status"]["containerStatuses"][0]
        self.assertIn(status["state"]["waiting"]["reason"], ("RunContainerError", "CrashLoopBackOff"))
        self.assertEqual(status["lastState"]["terminated"]["reason"], "StartError")
        self.assertIn('exec: "no-such-program-here": executable file not found in $PATH',
                      status["lastState"]["terminated"]["message"])
        self.assertFalse(status["ready"])
        self.assertEqual(pod["status"]["phase"], "Pending")  # never ran
        pod = wait_until(lambda: restarted("flaky", 2), 20, "the failing container to be restarted twice")
        status = pod["status"]["containerStatuses"][0]
        self.assertEqual(status["lastState"]["terminated"]["exitCode"], 3)
        self.assertEqual(pod["status"]["phase"], "Running")
        self.assertEqual(self.kubectl("logs", "-n", ns, "flaky", "--previous"), "run\n")
        events = {e["reason"] for e in self.get_json("events", "-n", ns)["items"]}
        self.assertIn("BackOff", events)
        err = self.kubectl("logs", "-n", ns, "flaky", "-c", "nope", ok=False)
        self.assertNotEqual(err.returncode, 0)
        self.assertIn("container nope is not valid for pod flaky", err.stderr)

    def test_another_schedulers_pod_waits_for_its_binding(self):
        """kube-scheduler leaves a pod of another scheduler Pending; a POST to pods/binding (what that scheduler
        sends) assigns it once (PodScheduled=True), a second binding is a Conflict, and the kubelet runs it."""
        ns = "custom-scheduler"
        self.apply(ns, """apiVersion: v1
kind: Pod
metadata: {name: waits}
spec:
  schedulerName: my-scheduler
  containers: [{name: app, image: busybox, command: [sleep, "1000"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: control}
spec:
  containers: [{name: app, image: busybox, command: [sleep, "1000"]}]
""")
        # The default scheduler's pod, created after it, is scheduled and running: the other one was passed over.
        self.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod/control", "--timeout=30s")
        pod = self.get_json("pod", "-n", ns, "waits")
        self.assertNotIn("nodeName", pod["spec"])
        self.assertEqual(pod["status"].get("phase"), "Pending")
        path = "/api/v1/namespaces/%s/pods/waits/binding" % ns
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "waits", "annotations": {"bound-by": "test"}},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": "kubelite-node-2"}}
        r = self.server.post(path, binding)
        self.assertEqual(r.status, 201, r.body)
        again = self.server.post(path, dict(binding, target={"kind": "Node", "name": "kubelite-node-1"}))
        self.assertEqual(again.status, 409, again.body)
        self.assertIn('already assigned to node "kubelite-node-2"', again.json["message"])
        self.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod/waits", "--timeout=30s")
        pod = self.get_json("pod", "-n", ns, "waits")
        self.assertEqual(pod["spec"]["nodeName"], "kubelite-node-2")
        self.assertEqual(pod["metadata"]["annotations"]["bound-by"], "test")
        scheduled = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
        self.assertEqual([c["status"] for c in scheduled], ["True"])

    def test_statefulset_daemonset_job(self):
        ns = "wl-sets"
        manifest = """apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: wl-local}
provisioner: kubelite.dev/hostpath
reclaimPolicy: Delete
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - {name: db, image: busybox, command: ["sh", "-c", "echo $HOSTNAME > /var/lib/db/who; exec sleep 1000"],
         volumeMounts: [{name: data, mountPath: /var/lib/db}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], storageClassName: wl-local, resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: calc}
spec:
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: calc, image: busybox, command: ["sh", "-c", "echo 42"]}]
"""
        self.apply(ns, manifest)
        self.assertIn("complete", self.kubectl("rollout", "status", "-n", ns, "statefulset/db", "--timeout=30s"))
        pods = {p["metadata"]["name"]: p for p in self.pods(ns, "app=db")}
        self.assertEqual(sorted(pods), ["db-0", "db-1"])
        claims = {c["metadata"]["name"]: c for c in self.get_json("pvc", "-n", ns)["items"]}
        self.assertEqual(sorted(claims), ["data-db-0", "data-db-1"])
        for name, claim in claims.items():
            self.assertEqual(claim["status"]["phase"], "Bound")
            pv = self.get_json("pv", claim["spec"]["volumeName"])
            # The container wrote into the claim's volume directory on disk.
            who = os.path.join(pv["spec"]["hostPath"]["path"], "who")
            wait_until(lambda: os.path.exists(who), 10, who)
            with open(who) as f:
                self.assertEqual(f.read(), name[len("data-"):] + "\n")
        self.assertEqual(pods["db-1"]["spec"]["hostname"], "db-1")

        self.assertIn("successfully rolled out", self.kubectl("rollout", "status", "-n", ns, "daemonset/agent",
                                                              "--timeout=30s"))
        agents = self.pods(ns, "app=agent")
        self.assertEqual(sorted(p["spec"]["nodeName"] for p in agents), ["kubelite-node-1", "kubelite-node-2"])

        self.assertIn("condition met", self.kubectl("wait", "-n", ns, "--for=condition=Complete", "job/calc",
                                                    "--timeout=30s"))
        job = self.get_json("job", "-n", ns, "calc")
        self.assertEqual(job["status"]["succeeded"], 2)
        job_pods = self.pods(ns, "job-name=calc")
        self.assertEqual([p["status"]["phase"] for p in job_pods], ["Succeeded", "Succeeded"])
        self.assertEqual(self.kubectl("logs", "-n", ns, job_pods[0]["metadata"]["name"]), "42\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
