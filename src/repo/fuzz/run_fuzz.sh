#!/usr/bin/env bash
# Builds the repository readers' fuzzer (src/repo/format.cc and crypto.cc: config, keys, index, snapshots, trees,
# pack headers, sealed files, packs) and fuzzes for a bounded time from the corpus the real restic made
# (make_corpus.sh). Usage: run_fuzz.sh [seconds, default 20]
set -euo pipefail
: "${ARCA_SOURCE_DIR:?run through ctest}" "${ARCA_BUILD_DIR:?run through ctest}"
source "$ARCA_SOURCE_DIR/tests/support/fuzz.sh"
src=$ARCA_SOURCE_DIR/src
fuzzer=$ARCA_BUILD_DIR/src/repo/fuzz/repo_readers_fuzz
build_fuzzer "$fuzzer" "$src/repo/fuzz/repo_readers_fuzz.cc $src/repo/format.cc $src/repo/json_reader.cc $src/repo/goquote.cc $src/repo/crypto.cc" \
  "$src/repo/format.h $src/repo/json_reader.h $src/repo/goquote.h $src/repo/crypto.h" -lzstd -lcrypto
# -malloc_limit_mb: one allocation past 256 MiB from inputs of a few KiB is a reader trusting a length.
run_fuzzer "$fuzzer" "${1:-20}" "$src/repo/fuzz/corpus" -malloc_limit_mb=256
