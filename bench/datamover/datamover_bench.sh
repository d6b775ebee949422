#!/usr/bin/env bash
# Data mover benchmark: N PVCs on the CSI class, each holding mixed files (half random, half text in many small
# files), backed up through kubelite, `arca server` and one `arca node-agent server` per node, twice into two
# separate locations (so that neither deduplicates against the other): with --snapshot-move-data (CSI snapshot,
# exposer claim + pod, upload by the node agents: DataUploads) and, as the named peer, with
# --default-volumes-to-fs-backup (file-system backup of the same volumes: PodVolumeBackups). Prints create ->
# Completed wall time and MB/s of each, with the load average.
# Usage: bench/datamover/datamover_bench.sh [pods (20)] [MiB per pod (100)]
set -euo pipefail
cd "$(dirname "$0")/../.."
pods=${1:-20}
mib=${2:-100}
build=${ARCA_BUILD_DIR:-build}
arca=$(cd "$build" && pwd)/src/cli/arca
kubelite=$(cd "$build" && pwd)/kubelite/kubelite
for f in "$arca" "$kubelite"; do [ -x "$f" ] || { echo "build $f first (bash scripts/build.sh arca kubelite)" >&2; exit 1; }; done
command -v restic >/dev/null || { echo "restic is needed (scripts/install-deps.sh)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/datamover-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }

"$kubelite" --port 0 --kubeconfig-out "$work/kubeconfig" --kubelet-root "$work/kubelet" --csi-hostpath-dir "$work/csi" \
  >"$work/kubelite.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
export KUBECONFIG=$work/kubeconfig
kubectl create namespace velero >/dev/null
"$arca" install --crds-only >/dev/null
mkdir -p "$work/store/bucket"
"$arca" backup-location create default --provider local --bucket bucket --config "root=$work/store" --default >/dev/null
mkdir -p "$work/store2/bucket"
"$arca" backup-location create other --provider local --bucket bucket --config "root=$work/store2" >/dev/null
"$arca" server --metrics-address 127.0.0.1:0 --fs-backup-timeout 30m >"$work/server.log" 2>&1 &
pids+=($!)
for node in $(kubectl get nodes -o 'jsonpath={.items[*].metadata.name}'); do
  "$arca" node-agent server --node-name "$node" >"$work/agent-$node.log" 2>&1 &
  pids+=($!)
done

kubectl create namespace bench >/dev/null
half=$((mib / 2))
small_files=200
numbers=$((half * 1048576 / small_files / 6))  # seq writes about 6 bytes per number at these sizes
for i in $(seq "$pods"); do
  cat <<EOF
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data-$i, namespace: bench}
spec: {accessModes: [ReadWriteOnce], storageClassName: standard, resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer-$i, namespace: bench}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: w
    image: busybox
    command: [/bin/sh, -c, 'cd /data && head -c ${half}M /dev/urandom > blob && mkdir -p small && for n in \$(seq $small_files); do seq \$((n * 1000000)) \$((n * 1000000 + $numbers)) > small/f\$n; done && touch done && exec sleep 86400']
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data-$i}}]
EOF
done | kubectl apply -f - >/dev/null
echo "waiting for $pods pods to write ${mib} MiB each..."
for _ in $(seq 600); do
  ready=$(find "$work/csi/volumes" -name done 2>/dev/null | wc -l)
  [ "$ready" -ge "$pods" ] && break
  sleep 0.5
done
[ "$(find "$work/csi/volumes" -name done | wc -l)" -ge "$pods" ] || { echo "the pods did not write their data" >&2; exit 1; }
dirs=$(dirname $(find "$work/csi/volumes" -name done) | sort)
bytes=$(du -sb --apparent-size $dirs | awk '{s += $1} END {print s}')
mb=$(echo "$bytes / 1000000" | bc -l)
printf 'data: %d PVCs on hostpath.csi.k8s.io, %.1f MB in total (%d files per PVC)\n' "$pods" "$mb" $((small_files + 2))

backup() {
  local name=$1
  shift
  local t0 t1 phase
  t0=$(now)
  "$arca" backup create "$name" --include-namespaces bench --wait "$@" >/dev/null
  t1=$(now)
  phase=$(kubectl -n velero get backup "$name" -o 'jsonpath={.status.phase}')
  [ "$phase" = Completed ] || { echo "backup $name ended $phase" >&2; tail -20 "$work/server.log" >&2; exit 1; }
  echo "$t1 - $t0" | bc -l
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
moved=$(backup moved --snapshot-move-data)
completed=$(kubectl -n velero get datauploads -l velero.io/backup-name=moved -o 'jsonpath={.items[*].status.phase}' |
  tr ' ' '\n' | grep -c Completed || true)
printf 'arca data mover (--snapshot-move-data):    %6.1f s  %6.1f MB/s  (%s DataUploads Completed; load %s)\n' \
  "$moved" "$(echo "$mb / $moved" | bc -l)" "$completed" "$(cut -d' ' -f1-3 /proc/loadavg)"
fsb=$(backup fsb --default-volumes-to-fs-backup --snapshot-volumes=false --storage-location other)
printf 'peer: file-system backup of the same PVCs: %6.1f s  %6.1f MB/s  (load %s)\n' \
  "$fsb" "$(echo "$mb / $fsb" | bc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'data mover / file-system backup time:      %6.2fx\n' "$(echo "$moved / $fsb" | bc -l)"
