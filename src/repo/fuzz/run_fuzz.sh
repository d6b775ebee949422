#!/usr/bin/env bash
# Builds the repository readers' fuzzer (src/repo/format.cc and crypto.cc: config, keys, index, snapshots, trees,
# pack headers, sealed files, packs) with clang once, starts it from the corpus the real restic made
# (make_corpus.sh), and fuzzes for a bounded time. Usage: run_fuzz.sh [seconds, default 20]
set -euo pipefail
seconds=${1:-20}
src=${ARCA_SOURCE_DIR:?run through ctest}/src
out=${ARCA_BUILD_DIR:?run through ctest}/src/repo/fuzz
mkdir -p "$out"
fuzzer=$out/repo_readers_fuzz
sources=("$src/repo/fuzz/repo_readers_fuzz.cc" "$src/repo/format.cc" "$src/repo/crypto.cc")
headers=("$src/repo/format.h" "$src/repo/crypto.h")
if [[ ! -x $fuzzer ]] || [[ -n $(find "${sources[@]}" "${headers[@]}" -newer "$fuzzer") ]]; then
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$src" "${sources[@]}" -lsodium -lzstd -lcrypto -o "$fuzzer.tmp"
  mv "$fuzzer.tmp" "$fuzzer"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src/repo/fuzz/corpus" "$work/corpus"
cd "$work"
# -malloc_limit_mb: one allocation past 256 MiB from inputs of at most a few KiB is a reader trusting a length.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 -print_final_stats=1 \
  corpus 2>&1 | tail -n 25
