#!/usr/bin/env bash
# Builds the tarball-reader fuzzer with clang (the main build is g++) once, seeds it with real tarballs and
# hostile ones, and fuzzes for a bounded time. Usage: run_fuzz.sh [seconds, default 20]
set -euo pipefail
seconds=${1:-20}
: "${ARCA_SOURCE_DIR:?run through ctest}" "${ARCA_BUILD_DIR:?run through ctest}"
source "$ARCA_SOURCE_DIR/tests/support/fuzz.sh"
src=$ARCA_SOURCE_DIR/src
fuzzer=$ARCA_BUILD_DIR/src/archive/fuzz/tarball_reader_fuzz
build_fuzzer "$fuzzer" "$src/archive/fuzz/tarball_reader_fuzz.cc $src/archive/tarball_reader.cc $src/archive/paths.cc" \
  "$src/archive/tarball_reader.h $src/archive/paths.h" -lz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
"$ARCA_BUILD_DIR/src/archive/tarball_sample" "$work/corpus/sample.tar.gz" "$work/manifest.json"
python3 - "$work/corpus" <<'PY'
import gzip, io, sys, tarfile
out = sys.argv[1]
def make(name, build):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        build(t)
    with open(f"{out}/{name}.tar.gz", "wb") as f:
        f.write(gzip.compress(buf.getvalue()))
def add(t, name, data=b"{}", type=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name); info.size = len(data) if type == tarfile.REGTYPE else 0
    info.type = type; info.linkname = link; info.mode = 0o755
    t.addfile(info, io.BytesIO(data) if type == tarfile.REGTYPE else None)
make("small", lambda t: (add(t, "metadata/version", b"1.1.0\n"), add(t, "resources/pods/namespaces/a/p.json")))
make("longname", lambda t: add(t, "resources/" + "x" * 300 + ".json"))
make("dir", lambda t: (add(t, "resources/", type=tarfile.DIRTYPE), add(t, "resources/a.json")))
make("symlink", lambda t: add(t, "resources/l", type=tarfile.SYMTYPE, link="/etc/passwd"))
make("dotdot", lambda t: add(t, "../../evil.json"))
PY
run_fuzzer "$fuzzer" "$seconds" "$work/corpus"
