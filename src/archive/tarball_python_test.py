#!/usr/bin/env python3
"""A reader that is not arca (Python's gzip + tarfile) checks a tarball arca wrote against velero-backup.md §3:
regular files only, no directories, mode 0755, metadata/version first with "1.1.0\\n", the exact paths in the
written order, and the exact contents."""
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


if __name__ == "__main__":
    sys.exit(main())
