# Sourced by the libFuzzer runners (src/*/fuzz/run_fuzz.sh): the main build is g++, so each fuzzer is built with
# clang beside the build tree, again only when one of its sources or headers is newer than the binary.
# Usage: build_fuzzer BINARY "SOURCES..." "HEADERS..." [LINK FLAGS...]
build_fuzzer() {
  local fuzzer=$1 sources=($2) headers=($3)
  shift 3
  mkdir -p "$(dirname "$fuzzer")"
  if [[ ! -x $fuzzer ]] || [[ -n $(find "${sources[@]}" "${headers[@]}" -newer "$fuzzer") ]]; then
    # One object per source, through ccache when there is one (as the main build): instrumented clang builds of
    # the template-heavy readers take minutes on two cores, and ccache caches single-source compiles only.
    local launcher=() objects=() source object
    # Paths inside the checkout hash as relative ones and the working directory not at all (-g would add it), so
    # another clone's entries are hits; the debug info's paths are only for reading a crash.
    command -v ccache >/dev/null && launcher=(env CCACHE_BASEDIR="$ARCA_SOURCE_DIR" CCACHE_NOHASHDIR=1 ccache)
    local objdir=$fuzzer.objects
    mkdir -p "$objdir"
    for source in "${sources[@]}"; do
      object=$objdir/$(echo "${source#"$ARCA_SOURCE_DIR"/}" | tr / _).o
      "${launcher[@]}" clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -I"$ARCA_SOURCE_DIR/src" -c "$source" -o "$object"
      objects+=("$object")
    done
    clang++ -fsanitize=fuzzer,address,undefined "${objects[@]}" "$@" -o "$fuzzer.tmp"
    mv "$fuzzer.tmp" "$fuzzer"
  fi
}
# Runs FUZZER for SECONDS from a copy of CORPUS (a directory), with any extra libFuzzer flags.
# Usage: run_fuzzer FUZZER SECONDS CORPUS [FLAGS...]
run_fuzzer() {
  local fuzzer=$1 seconds=$2 corpus=$3 work
  shift 3
  work=$(mktemp -d)
  cp -r "$corpus" "$work/corpus"
  local status=0
  (cd "$work" && "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$@" corpus 2>&1 |
    tail -n 25) || status=$?
  rm -rf "$work"
  return "$status"
}
