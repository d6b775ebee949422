#!/usr/bin/env bash
# File-system backup benchmark: N pods, each with a PVC of mixed files (half random, half text in many small files),
# backed up through kubelite, `arca server` and one `arca node-agent server` per node (backup create → Completed wall
# time and MB/s, then an unchanged second backup), against Debian's `restic backup` of the same directories run one
# after another in this script. Usage: bench/fsb/fsb_bench.sh [pods (20)] [MiB per pod (100)]
set -euo pipefail
cd "$(dirname "$0")/../.."
pods=${1:-20}
mib=${2:-100}
build=${ARCA_BUILD_DIR:-build}
arca=$(cd "$build" && pwd)/src/cli/arca
kubelite=$(cd "$build" && pwd)/kubelite/kubelite
for f in "$arca" "$kubelite"; do [ -x "$f" ] || { echo "build $f first (bash scripts/build.sh arca kubelite)" >&2; exit 1; }; done
command -v restic >/dev/null || { echo "restic is needed (scripts/install-deps.sh)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/fsb-bench.XXXXXX")
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
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer-$i, namespace: bench, annotations: {backup.velero.io/backup-volumes: data}}
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
  ready=$(find "$work/csi" -name done 2>/dev/null | wc -l)
  [ "$ready" -ge "$pods" ] && break
  sleep 0.5
done
[ "$(find "$work/csi" -name done | wc -l)" -ge "$pods" ] || { echo "the pods did not write their data" >&2; exit 1; }
dirs=$(dirname $(find "$work/csi" -name done) | sort)
bytes=$(du -sb --apparent-size $dirs | awk '{s += $1} END {print s}')
mb=$(echo "$bytes / 1000000" | bc -l)
printf 'data: %d pods, %.1f MB in total (%d files per pod)\n' "$pods" "$mb" $((small_files + 2))

backup() {
  local t0 t1
  t0=$(now)
  "$arca" backup create "$1" --include-namespaces bench --wait >/dev/null
  t1=$(now)
  local phase
  phase=$(kubectl -n velero get backup "$1" -o 'jsonpath={.status.phase}')
  [ "$phase" = Completed ] || { echo "backup $1 ended $phase" >&2; tail -20 "$work/server.log" >&2; exit 1; }
  echo "$t1 - $t0" | bc -l
}
full=$(backup full)
printf 'arca  full backup (create -> Completed):   %6.1f s  %6.1f MB/s\n' "$full" "$(echo "$mb / $full" | bc -l)"
second=$(backup second)
printf 'arca  unchanged second backup:              %6.1f s\n' "$second"

export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$work/restic-repo
restic init >/dev/null 2>&1
t0=$(now)
for d in $dirs; do restic backup --quiet --host bench "$d" >/dev/null; done
t1=$(now)
rfull=$(echo "$t1 - $t0" | bc -l)
printf 'restic full backup, %d directories in turn: %6.1f s  %6.1f MB/s\n' "$pods" "$rfull" "$(echo "$mb / $rfull" | bc -l)"
t0=$(now)
for d in $dirs; do restic backup --quiet --host bench "$d" >/dev/null; done
t1=$(now)
printf 'restic unchanged second backup:             %6.1f s\n' "$(echo "$t1 - $t0" | bc -l)"
printf 'arca / restic, full backup time:            %6.2fx\n' "$(echo "$full / $rfull" | bc -l)"
