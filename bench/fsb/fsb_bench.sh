#!/usr/bin/env bash
# File-system backup benchmark: N pods, each with a PVC of mixed files (half random, half text in many small files),
# backed up through kubelite, `arca server` and one `arca node-agent server` per node (backup create → Completed wall
# time and MB/s, then an unchanged second backup, then a restore into a deleted namespace: restore create →
# Completed), against Debian's `restic backup`/`restic restore` of the same directories run one after another in
# this script, and against arca's engine alone (`arca repo backup` of the same directories in turn: what the
# end-to-end path adds on top of the engine). CPU seconds (server + node agents, or the tool's children) are printed
# next to wall times: on a shared machine they are the steadier figure.
# Usage: bench/fsb/fsb_bench.sh [pods (20)] [MiB per pod (100)]
set -euo pipefail
cd "$(dirname "$0")/../.."
pods=${1:-20}
mib=${2:-100}
source bench/support/volume_cluster.sh
restore_helper=$(cd "$build" && pwd)/src/podvolume/arca-restore-helper
# user+system CPU of a command and its children: "wall cpu".
timed() {
  local out
  out=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | tail -1)
  echo "$out" | awk '{printf "%.2f %.2f\n", $1, $2 + $3}'
}
vc_start_cluster "$restore_helper"

# kubelite runs containers on this machine's filesystem: restore-wait runs the built helper (Velero's
# fs-restore-action-config sets the init container's command), as scripts/demo.sh does.
kubectl -n velero apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: fs-restore-action-config
  labels: {velero.io/plugin-config: "", velero.io/pod-volume-restore: RestoreItemAction}
data: {command: "$restore_helper"}
EOF
vc_write_data "$pods" "$mib" "{backup.velero.io/backup-volumes: data}"

backup() {
  local t0 t1 c0 c1
  c0=$(daemon_cpu)
  t0=$(now)
  "$arca" backup create "$1" --include-namespaces bench --wait >/dev/null
  t1=$(now)
  c1=$(daemon_cpu)
  local phase
  phase=$(kubectl -n velero get backup "$1" -o 'jsonpath={.status.phase}')
  [ "$phase" = Completed ] || { echo "backup $1 ended $phase" >&2; tail -20 "$work/server.log" >&2; exit 1; }
  printf '%.2f %.2f\n' "$(echo "$t1 - $t0" | bc -l)" "$(echo "$c1 - $c0" | bc -l)"
}
rate() { echo "$mb / $1" | bc -l; }

read -r full full_cpu <<<"$(backup full)"
printf 'arca   full backup (create -> Completed):      %6.1f s  %6.1f MB/s  CPU %5.1f s  load %s\n' "$full" "$(rate "$full")" "$full_cpu" "$(load)"
read -r second second_cpu <<<"$(backup second)"
printf 'arca   unchanged second backup:                %6.1f s               CPU %5.1f s  load %s\n' "$second" "$second_cpu" "$(load)"

# The engine alone, on the same directories in turn: the end-to-end figure's reference.
printf 'bench password\n' >"$work/engine-password"
engine_repo=$work/engine-repo
"$arca" repo -r "$engine_repo" --password-file "$work/engine-password" init >/dev/null
engine_all() { for d in $dirs; do "$arca" repo -r "$engine_repo" --password-file "$work/engine-password" backup -q --host bench "$d"; done; }
read -r efull efull_cpu <<<"$(timed engine_all)"
printf 'engine full backup (arca repo backup in turn): %6.1f s  %6.1f MB/s  CPU %5.1f s  load %s\n' "$efull" "$(rate "$efull")" "$efull_cpu" "$(load)"
read -r esecond esecond_cpu <<<"$(timed engine_all)"
printf 'engine unchanged second backup:                %6.1f s               CPU %5.1f s  load %s\n' "$esecond" "$esecond_cpu" "$(load)"

export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$work/restic-repo
restic init >/dev/null 2>&1
restic_all() { for d in $dirs; do restic backup --quiet --host bench "$d"; done; }
read -r rfull rfull_cpu <<<"$(timed restic_all)"
printf 'restic full backup, %2d directories in turn:   %6.1f s  %6.1f MB/s  CPU %5.1f s  load %s\n' "$pods" "$rfull" "$(rate "$rfull")" "$rfull_cpu" "$(load)"
read -r rsecond rsecond_cpu <<<"$(timed restic_all)"
printf 'restic unchanged second backup:                %6.1f s               CPU %5.1f s  load %s\n' "$rsecond" "$rsecond_cpu" "$(load)"

# Restore: the namespace goes, arca restores it (pods wait for their data in the restore helper) ...
kubectl delete namespace bench --wait=true >/dev/null
c0=$(daemon_cpu)
t0=$(now)
timeout 1800 "$arca" restore create restore-full --from-backup full --wait >"$work/restore.out" 2>&1 ||
  { cat "$work/restore.out" >&2; tail -20 "$work/server.log" >&2; exit 1; }
t1=$(now)
c1=$(daemon_cpu)
phase=$(kubectl -n velero get restore restore-full -o 'jsonpath={.status.phase}')
[ "$phase" = Completed ] || { echo "restore ended $phase" >&2; tail -20 "$work/server.log" >&2; exit 1; }
rrest=$(echo "$t1 - $t0" | bc -l)
rrest_cpu=$(echo "$c1 - $c0" | bc -l)
restored=$(find "$work/csi" -name done | xargs -r dirname | sort | comm -13 <(echo "$dirs" | tr ' ' '\n' | sort) -)
rbytes=$(find $restored -type f -not -path '*/.velero/*' -printf '%s\n' | awk '{s += $1} END {printf "%.0f\n", s}')
[ "$rbytes" = "$bytes" ] || { echo "restored $rbytes bytes, backed up $bytes" >&2; exit 1; }
printf 'arca   restore (create -> Completed):          %6.1f s  %6.1f MB/s  CPU %5.1f s  load %s\n' "$rrest" "$(rate "$rrest")" "$rrest_cpu" "$(load)"
# ... and restic restores each directory's latest snapshot in turn.
restic_restore_all() {
  local i=0
  for d in $dirs; do
    i=$((i + 1))
    restic restore latest --host bench --path "$d" --target "$work/restic-restore/$i"
  done
}
read -r rr rr_cpu <<<"$(timed restic_restore_all)"
printf 'restic restore, %2d directories in turn:       %6.1f s  %6.1f MB/s  CPU %5.1f s  load %s\n' "$pods" "$rr" "$(rate "$rr")" "$rr_cpu" "$(load)"

printf '\nfull backup: arca end to end %.2fx faster than restic (goal >= 2); %.2fx the engine alone (goal <= 1.3)\n' \
  "$(echo "$rfull / $full" | bc -l)" "$(echo "$full / $efull" | bc -l)"
printf 'second backup: arca %.2fx faster than restic; restore: arca %.2fx faster than restic\n' \
  "$(echo "$rsecond / $second" | bc -l)" "$(echo "$rr / $rrest" | bc -l)"
