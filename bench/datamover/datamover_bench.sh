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
source bench/support/volume_cluster.sh
vc_start_cluster
mkdir -p "$work/store2/bucket"
"$arca" backup-location create other --provider local --bucket bucket --config "root=$work/store2" >/dev/null
vc_write_data "$pods" "$mib"

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
