#!/usr/bin/env bash
# The demo (README's first command): build kubelite and arca, start kubelite, install arca with the embedded
# `local` store, run `arca server` and a node agent per kubelite node locally, deploy a sample application from
# the fixtures and a stateful pod writing to a PVC, back them up (the PVC's files by file-system backup), delete
# its namespace, restore it, and compare before/after (objects, and the files' checksums). Exits non-zero if anything did not come back.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$(date +%s)
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "dependencies"
bash scripts/install-deps.sh --no-test-servers
step "build (kubelite and arca only, in the build directory scripts/test.sh then reuses)"
build=${ARCA_BUILD_DIR:-build}
bash scripts/build.sh kubelite arca arca-restore-helper
built=$(date +%s)
echo "  built in $((built - started)) s"
arca=$(cd "$build" && pwd)/src/cli/arca
kubelite_bin=$(cd "$build" && pwd)/kubelite/kubelite
restore_helper=$(cd "$build" && pwd)/src/podvolume/arca-restore-helper

work=$(mktemp -d "${TMPDIR:-/tmp}/arca-demo.XXXXXX")
pids=()
cleanup() {
  # Only the processes this script started, by pid.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${ARCA_DEMO_KEEP:-}" ] && trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; echo "kept $work"' EXIT
fail() {
  echo "demo: FAILED: $*" >&2
  for log in "$work"/*.log; do [ -f "$log" ] && { echo "--- last lines of $log" >&2; tail -n 20 "$log" >&2; }; done
  exit 1
}

step "start kubelite (a Kubernetes API server for tests)"
"$kubelite_bin" --port 0 --kubeconfig-out "$work/kubeconfig" --data-dir "$work/etcd" >"$work/kubelite.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
[ -s "$work/kubeconfig" ] || fail "kubelite did not start"
export KUBECONFIG=$work/kubeconfig
kubectl version 2>/dev/null | sed 's/^/  /' || true

step "deploy a sample application in namespace 'demo' (fixtures: Deployment, Service, ConfigMaps, Secret, PVC, CRD + CRs)"
manifests=$root/testdata/kubernetes/manifests
[ -d "$manifests" ] || fail "testdata not found at $manifests"
kubectl create namespace demo >/dev/null
kubectl apply -f "$manifests/crd-shirt-resource-definition.yaml"
kubectl wait --for condition=established --timeout=30s crd/shirts.stable.example.com >/dev/null
kubectl -n demo apply -f "$manifests/deployment-nginx.yaml"
# The first document of the guestbook is its redis-master Service.
awk '/^---/{exit} {print}' "$manifests/guestbook-all-in-one.yaml" | kubectl -n demo apply -f -
# The ConfigMaps fixture pins namespace "default"; the demo puts them in "demo".
sed '/namespace: "default"/d' "$manifests/configmaps.yaml" | kubectl -n demo apply -f -
kubectl -n demo apply -f "$manifests/secret-basic-auth.yaml"
kubectl -n demo apply -f "$manifests/pv-claim.yaml"
kubectl -n demo apply -f "$manifests/crd-shirt-resources.yaml"

step "deploy a stateful pod in 'demo' writing files to its PVC (annotated for file-system backup)"
# On its first start it writes random and text files; on every start it records what its first read of the seed
# found, so after the restore it shows that it started on restored data.
kubectl -n demo apply -f - <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: journal-data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata:
  name: journal
  annotations: {backup.velero.io/backup-volumes: data}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    command:
    - /bin/sh
    - -c
    - |
      if [ -f /data/seed ]; then echo "saw $(cat /data/seed)" > /data/first-read
      else echo fresh > /data/first-read; echo "seed $(date +%s%N)" > /data/seed
        head -c 2000000 /dev/urandom > /data/blob; mkdir -p /data/log; seq 1 50000 > /data/log/entries; fi
      exec sleep 86400
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: journal-data}}
EOF

step "install arca with the embedded local store ($work/store)"
mkdir -p "$work/store/demo-bucket"
"$arca" install --provider local --bucket demo-bucket --backup-location-config "root=$work/store" --no-secret \
  --use-volume-snapshots=false | grep -v '^CustomResourceDefinition/'

step "start arca server (locally, against kubelite)"
"$arca" server --log-level info --metrics-address 127.0.0.1:0 --console-address "${ARCA_CONSOLE_ADDRESS:-127.0.0.1:0}" \
  >"$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  [ "$(kubectl -n velero get backupstoragelocations default -o 'jsonpath={.status.phase}' 2>/dev/null)" = Available ] && break
  sleep 0.2
done
"$arca" backup-location get

step "start a node agent per kubelite node (what Velero's node-agent DaemonSet runs)"
for node in $(kubectl get nodes -o 'jsonpath={.items[*].metadata.name}'); do
  "$arca" node-agent server --node-name "$node" >"$work/node-agent-$node.log" 2>&1 &
  pids+=($!)
  echo "  arca node-agent server --node-name $node"
done
# kubelite runs containers on this machine's filesystem: restore-wait runs the built helper (Velero's
# fs-restore-action-config sets the init container's command).
kubectl -n velero apply -f - <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: fs-restore-action-config
  labels: {velero.io/plugin-config: "", velero.io/pod-volume-restore: RestoreItemAction}
data: {command: "$restore_helper"}
EOF

# The stateful pod's files as checksums (its first-read marker left out).
volume_sums() {
  kubectl -n demo exec journal -c app -- sh -c \
    'cd /data && find . -type f ! -name first-read ! -path "./.velero/*" | sort | xargs sha256sum' 2>/dev/null
}
for _ in $(seq 150); do
  [ "$(kubectl -n demo exec journal -c app -- sh -c 'test -s /data/log/entries && echo ok' 2>/dev/null)" = ok ] && break
  sleep 0.2
done
volume_sums >"$work/volume-before.txt" || fail "the stateful pod did not write its files"
echo "  journal's PVC: $(wc -l <"$work/volume-before.txt") files"

# One line per object that should come back, with the fields that matter to the application. Secret values
# are compared through a checksum, never printed.
snapshot() {
  kubectl -n demo get deployments,services,configmaps,persistentvolumeclaims,shirts.stable.example.com \
    -o 'jsonpath={range .items[*]}{.kind}/{.metadata.name} {.spec.replicas}{.spec.ports[0].port}{.data}{.spec.resources.requests.storage}{.spec.color}{.spec.size}{"\n"}{end}' |
    grep -v '^ConfigMap/kube-root-ca.crt'
  for secret in $(kubectl -n demo get secrets -o name); do
    echo "Secret/${secret#*/} data sha256:$(kubectl -n demo get "$secret" -o 'jsonpath={.data}' | sha256sum | cut -c1-12)"
  done
}
snapshot | sort >"$work/before.txt"
[ -s "$work/before.txt" ] || fail "the sample application was not created"
echo "  $(wc -l <"$work/before.txt") objects in namespace demo"

step "back up namespace demo"
"$arca" backup create demo-backup --include-namespaces demo --wait || fail "backup create"
"$arca" backup get demo-backup
phase=$(kubectl -n velero get backups demo-backup -o 'jsonpath={.status.phase}')
[ "$phase" = Completed ] || fail "backup phase is $phase, expected Completed"
"$arca" backup describe demo-backup --details | sed -n '/^Backup Volumes:/,$p' | sed '/^HooksAttempted/,$d'

step "disaster: delete namespace demo"
kubectl delete namespace demo --wait=true --timeout=60s
remaining=$(kubectl -n demo get deployments,configmaps,shirts.stable.example.com -o name 2>/dev/null | wc -l)
echo "  objects left in demo: $remaining"

step "restore from demo-backup"
"$arca" restore create demo-restore --from-backup demo-backup --wait || fail "restore create"
phase=$(kubectl -n velero get restores demo-restore -o 'jsonpath={.status.phase}')
[ "$phase" = Completed ] || fail "restore phase is $phase, expected Completed"
for _ in $(seq 150); do
  [ "$(kubectl -n demo get pod journal -o 'jsonpath={.status.phase}' 2>/dev/null)" = Running ] && break
  sleep 0.2
done
echo "  journal's init containers: $(kubectl -n demo get pod journal -o 'jsonpath={.spec.initContainers[*].name}')"

step "before / after"
snapshot | sort >"$work/after.txt"
printf '%-60s %s\n' BEFORE AFTER
paste -d '|' "$work/before.txt" "$work/after.txt" | awk -F'|' '{printf "%-60s %s\n", $1, $2}'
if ! diff -u "$work/before.txt" "$work/after.txt"; then fail "the restored namespace differs from the original"; fi
echo
echo "journal's PVC files, sha256 before / after:"
volume_sums >"$work/volume-after.txt" || fail "cannot read the restored pod's files"
paste -d '|' "$work/volume-before.txt" "$work/volume-after.txt" |
  awk -F'|' '{split($1, b, "  "); split($2, a, "  "); printf "  %-16s %.16s  %.16s\n", b[2], b[1], a[1]}'
if ! diff -u "$work/volume-before.txt" "$work/volume-after.txt"; then fail "the restored volume's files differ"; fi
for _ in $(seq 50); do
  first_read=$(kubectl -n demo exec journal -c app -- cat /data/first-read 2>/dev/null || true)
  case "$first_read" in "saw "*) break ;; esac
  sleep 0.2
done
echo "  the restored app's first read: $first_read"
case "$first_read" in "saw seed"*) ;; *) fail "the restored pod started before its data was in place" ;; esac
metrics_url=$(grep -o 'http://[^ "]*/metrics' "$work/server.log" | head -1)
if [ -n "$metrics_url" ]; then
  echo
  echo "arca server metrics ($metrics_url):"
  curl -s "$metrics_url" | grep -E '^velero_(backup|restore)_(attempt|success)_total' | sed 's/^/  /'
fi
console_url=$(grep -o 'console: serving http[^ "]*' "$work/server.log" | head -1 | cut -d' ' -f3)
if [ -n "$console_url" ]; then
  echo
  echo "web console: $console_url"
  # kubelite's administrator token (from its kubeconfig): the console checks it with a TokenReview.
  echo "  sign in with token: $(awk '/token:/ {print $2; exit}' "$KUBECONFIG")"
  [ -n "${ARCA_DEMO_KEEP:-}" ] || echo "  (ARCA_DEMO_KEEP=1 keeps kubelite and arca server running after the demo)"
fi
echo
echo "demo: everything came back ($(wc -l <"$work/after.txt") objects) in $(($(date +%s) - built)) s" \
  "(build included: $(($(date +%s) - started)) s)."

cat <<'EOF'

Next, against a real cluster (kubectl pointing at it, an S3 bucket and credentials):
  arca install --provider aws --bucket my-bucket --secret-file ./credentials-velero \
      --backup-location-config region=us-east-1 --use-volume-snapshots=false
  arca backup create my-backup --include-namespaces my-app --wait
  arca schedule create daily --schedule "0 3 * * *" --include-namespaces my-app --ttl 168h
  arca restore create --from-backup my-backup --wait
  arca backup get; arca restore get; arca schedule get
EOF
