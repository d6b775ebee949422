#!/usr/bin/env bash
# Builds the bucket-files fuzzer (velero-backup.json as a Backup, resource lists, restore results) and fuzzes for a
# bounded time from the corpus checked in beside this script. Usage: run_fuzz.sh [seconds, default 20]
set -euo pipefail
: "${ARCA_SOURCE_DIR:?run through ctest}" "${ARCA_BUILD_DIR:?run through ctest}"
source "$ARCA_SOURCE_DIR/tests/support/fuzz.sh"
src=$ARCA_SOURCE_DIR/src
fuzzer=$ARCA_BUILD_DIR/src/api/fuzz/bucket_files_fuzz
build_fuzzer "$fuzzer" \
  "$src/api/fuzz/bucket_files_fuzz.cc $src/api/types.cc $src/util/duration.cc $src/util/label_selector.cc $src/util/timestamp.cc" \
  "$src/api/types.h $src/api/describe.h $src/api/mapping.h $src/api/enum_names.h $src/util/duration.h $src/util/label_selector.h $src/util/timestamp.h"
run_fuzzer "$fuzzer" "${1:-20}" "$src/api/fuzz/corpus"
