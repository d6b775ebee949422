#!/usr/bin/env bash
# Builds the bucket-files fuzzer (velero-backup.json as a Backup, resource lists, restore results) with clang
# once, starts it from the corpus checked in beside this script, and fuzzes for a bounded time.
# Usage: run_fuzz.sh [seconds, default 20]
set -euo pipefail
seconds=${1:-20}
src=${ARCA_SOURCE_DIR:?run through ctest}/src
out=${ARCA_BUILD_DIR:?run through ctest}/src/api/fuzz
mkdir -p "$out"
fuzzer=$out/bucket_files_fuzz
sources=("$src/api/fuzz/bucket_files_fuzz.cc" "$src/api/types.cc" "$src/util/duration.cc" "$src/util/label_selector.cc"
         "$src/util/timestamp.cc")
headers=("$src/api/types.h" "$src/api/mapping.h" "$src/api/enum_names.h" "$src/util/duration.h"
         "$src/util/label_selector.h" "$src/util/timestamp.h")
if [[ ! -x $fuzzer ]] || [[ -n $(find "${sources[@]}" "${headers[@]}" -newer "$fuzzer") ]]; then
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$src" "${sources[@]}" -o "$fuzzer.tmp"
  mv "$fuzzer.tmp" "$fuzzer"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src/api/fuzz/corpus" "$work/corpus"
cd "$work"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 corpus 2>&1 | tail -n 15
