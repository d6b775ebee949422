#!/usr/bin/env python3
"""A reader that is not arca (Python's gzip + tarfile) checks a tarball arca wrote against Velero's pkg/backup/backup.go and pkg/archive:
regular files only, no directories, mode 0755, metadata/version first with "1.1.0\\n", the exact paths in the
written order, and the exact contents. Then the other way round: tarballs Python writes go through arca's reader."""
import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile


def main():
    build = os.environ["ARCA_BUILD_DIR"]
    with tempfile.TemporaryDirectory() as tmp:
        tarball, manifest_path = tmp + "/b.tar.gz", tmp + "/manifest.json"
        subprocess.run([build + "/src/archive/tarball_sample", tarball, manifest_path], check=True)
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
        with open(tarball, "rb") as f:
            raw = f.read()
    # Parallel compression writes many gzip members; gzip.decompress must read them all.
    members = raw.count(b"\x1f\x8b\x08")
    assert members > 1, "expected several gzip members from parallel compression"
    data = gzip.decompress(raw)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        infos = tar.getmembers()
        got = []
        for info in infos:
            assert info.isreg(), f"{info.name}: type {info.type!r}, Velero writes regular files only"
            assert info.mode == 0o755, f"{info.name}: mode {oct(info.mode)}"
            assert not info.name.startswith(("/", "./")) and ".." not in info.name.split("/"), info.name
            got.append([info.name, tar.extractfile(info).read().decode("utf-8")])
    assert got[0] == ["metadata/version", "1.1.0\n"], got[0]
    assert [p for p, _ in got] == [p for p, _ in manifest], "paths or order differ"
    for (path, content), (_, expected) in zip(got, manifest):
        assert content == expected, f"{path}: content differs"
    # Every preferred-version item is followed by its -preferredversion copy.
    for i, (path, content) in enumerate(got):
        if path.startswith("resources/") and "-preferredversion/" in path:
            parts = path.split("/")
            unversioned = "/".join(parts[:2] + parts[3:])
            assert got[i - 1] == [unversioned, content], path
    print(f"ok: {len(got)} entries in {members}+ gzip members match")
    check_reader_on_python_tarballs(build)


def check_reader_on_python_tarballs(build):
    """The other direction: tarballs Python writes (USTAR, GNU and PAX headers, as Go and GNU tar do) read back
    through arca's reader with the same paths, contents and modes; hostile ones are refused with one line."""
    entries = [("metadata/version", b"1.1.0\n"), ("resources/pods/namespaces/a/p.json", b'{"kind":"Pod"}'),
               ("resources/configmaps/namespaces/a/" + "long" * 40 + ".json", b"{}"),
               ("resources/configmaps/namespaces/ünï/日本.json", b'{"x":1}'), ("resources/empty.json", b"")]
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, name in ((tarfile.GNU_FORMAT, "gnu"), (tarfile.PAX_FORMAT, "pax"), (tarfile.USTAR_FORMAT, "ustar")):
            usable = [e for e in entries if fmt != tarfile.USTAR_FORMAT or (e[0].isascii() and len(e[0]) < 100)]
            path = f"{tmp}/{name}.tar.gz"
            with tarfile.open(path, "w:gz", format=fmt) as tar:
                d = tarfile.TarInfo("resources")
                d.type = tarfile.DIRTYPE
                tar.addfile(d)  # directories are skipped by the reader
                for p, data in usable:
                    info = tarfile.TarInfo(p)
                    info.size, info.mode = len(data), 0o644
                    tar.addfile(info, io.BytesIO(data))
            out = subprocess.run([build + "/src/archive/tarball_sample", "--read", path], capture_output=True,
                                 text=True, check=True)
            got = json.loads(out.stdout)
            assert [(p, c) for p, c, _ in got] == [(p, d.decode()) for p, d in usable], (name, got)
            assert all(m == 0o644 for _, _, m in got), name
        for name, member, kind in (("slip", "../../etc/cron.d/x", tarfile.REGTYPE),
                                   ("abs", "/etc/passwd", tarfile.REGTYPE),
                                   ("link", "resources/l", tarfile.SYMTYPE)):
            path = f"{tmp}/{name}.tar.gz"
            with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
                info = tarfile.TarInfo(member)
                info.type, info.linkname = kind, "/etc/shadow"
                tar.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
            out = subprocess.run([build + "/src/archive/tarball_sample", "--read", path], capture_output=True, text=True)
            assert out.returncode != 0 and out.stderr.count("\n") == 1 and out.stdout == "", (name, out)
    print("ok: arca reads Python's GNU, PAX and USTAR tarballs and refuses hostile ones")


if __name__ == "__main__":
    sys.exit(main())
