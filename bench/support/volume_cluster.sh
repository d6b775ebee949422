# Sourced by the volume benchmarks (bench/fsb, bench/datamover) after `set -euo pipefail` at the repository root:
# kubelite with its CSI host-path driver, arca's CRDs, a local backup location, `arca server` and one
# `arca node-agent server` per node, then N pods that each write into a PVC of their own (half random, half text
# in 200 small files). Sets arca, kubelite, work, pids (stopped at exit) and daemons (server + agents, for
# daemon_cpu); vc_write_data sets dirs (the PVCs' directories), bytes and mb.
build=${ARCA_BUILD_DIR:-build}
arca=$(cd "$build" && pwd)/src/cli/arca
kubelite=$(cd "$build" && pwd)/kubelite/kubelite
command -v restic >/dev/null || { echo "restic is needed (scripts/install-deps.sh)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/volume-bench.XXXXXX")
pids=()
daemons=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${VOLUME_BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "$(basename "$0"): terminated by a signal" >&2; exit 1' TERM INT HUP
now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# user+system CPU seconds of the daemons (server, node agents), read from /proc.
daemon_cpu() {
  local total=0 pid t
  for pid in "${daemons[@]}"; do
    t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total / $(getconf CLK_TCK)" | bc -l
}

# Everything up to a running server and node agents; "$@": more build outputs the caller needs.
vc_start_cluster() {
  local f
  for f in "$arca" "$kubelite" "$@"; do
    [ -x "$f" ] || { echo "build $f first (bash scripts/build.sh arca kubelite arca-restore-helper)" >&2; exit 1; }
  done
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
  daemons+=($!)
  local node
  for node in $(kubectl get nodes -o 'jsonpath={.items[*].metadata.name}'); do
    "$arca" node-agent server --node-name "$node" --metrics-address 127.0.0.1:0 >"$work/agent-$node.log" 2>&1 &
    pids+=($!)
    daemons+=($!)
  done
}

# vc_write_data PODS MIB [POD-ANNOTATIONS]: namespace `bench`, PODS pods each writing MIB into its PVC (on the
# default, CSI, class); waits for the data. A restored pod finds its `done` file and writes nothing.
vc_write_data() {
  local pods=$1 mib=$2 annotations=${3:-"{}"} i
  kubectl create namespace bench >/dev/null
  local half=$((mib / 2)) small_files=200
  local numbers=$((half * 1048576 / small_files / 6))  # seq writes about 6 bytes per number at these sizes
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
metadata: {name: writer-$i, namespace: bench, annotations: $annotations}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: w
    image: busybox
    command: [/bin/sh, -c, 'cd /data && if [ ! -e done ]; then head -c ${half}M /dev/urandom > blob && mkdir -p small && for n in \$(seq $small_files); do seq \$((n * 1000000)) \$((n * 1000000 + $numbers)) > small/f\$n; done && touch done; fi && exec sleep 86400']
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data-$i}}]
EOF
  done | kubectl apply -f - >/dev/null
  echo "waiting for $pods pods to write ${mib} MiB each..."
  for _ in $(seq 600); do
    [ "$(find "$work/csi" -name done 2>/dev/null | wc -l)" -ge "$pods" ] && break
    sleep 0.5
  done
  [ "$(find "$work/csi" -name done | wc -l)" -ge "$pods" ] || { echo "the pods did not write their data" >&2; exit 1; }
  dirs=$(dirname $(find "$work/csi" -name done) | sort)
  # Regular files' bytes (directories' own sizes differ between a writer and a restore), printed whole: mawk's
  # default print of a large sum is %.6g.
  bytes=$(find $dirs -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f\n", s}')
  mb=$(echo "$bytes / 1000000" | bc -l)
  printf 'data: %d pods, %.1f MB in total (%d files per pod)\n' "$pods" "$mb" $((small_files + 2))
}
