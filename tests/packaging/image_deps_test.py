#!/usr/bin/env python3
"""The Dockerfile's package lists against what the build really reads and what `arca` really loads.

No docker engine runs here, so the image's two stages are checked on their inputs:
- the Dockerfile installs packages only through scripts/install-deps.sh --only build|runtime, which read
  scripts/debian-packages (so there is one list, shared with developer machines);
- every system header and library the `arca` target's compile and link commands read (ninja's dependency log of
  the build tree) belongs to a package that the build set installs, directly or as a dependency;
- every shared library `ldd` resolves for the built `arca` belongs to the runtime set (or to debian:12-slim's
  own libc6/libstdc++6/libgcc-s1), and every library package of the runtime set is loaded (nothing dead).
Usage: image_deps_test.py SOURCE_DIR BUILD_DIR
"""
import os
import re
import subprocess
import sys
import unittest

from debian_packages import package_sets

SOURCE, BUILD = sys.argv[1], sys.argv[2]
ARCA = os.path.join(BUILD, "src/cli/arca")
# What debian:12-slim holds already (it runs apt and bash).
SLIM_BASE = {"libc6", "libstdc++6", "libgcc-s1"}


def run(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def owners(paths):
    """path → Debian package owning it. dpkg knows a file under one spelling (/lib or /usr/lib: usr-merge), so
    each path is asked for under every spelling, all in one dpkg call."""
    spellings = {}
    for path in set(paths):
        for p in {path, os.path.realpath(path)}:
            spellings.setdefault(p, path)
            if p.startswith("/usr/lib/"):
                spellings.setdefault(p[len("/usr"):], path)
            elif p.startswith("/lib/"):
                spellings.setdefault("/usr" + p, path)
    out = subprocess.run(["dpkg", "-S", *sorted(spellings)], capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        if line.startswith("diversion") or ": " not in line:
            continue
        packages, spelled = line.split(": ", 1)
        if spelled in spellings:
            found.setdefault(spellings[spelled], packages.split(", ")[0].split(":")[0])
    return found


def closure(packages):
    """The packages and everything they depend on (Depends and PreDepends, recursively)."""
    out = run("apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
              "--no-breaks", "--no-replaces", "--no-enhances", *sorted(packages))
    names = set(packages)
    for line in out.splitlines():
        line = line.strip()
        if line and not line.startswith(("Depends:", "PreDepends:", "|")) and "<" not in line:
            names.add(line.split(":")[0])
        m = re.match(r"\|?(?:Pre)?Depends: (\S+)", line)
        if m and "<" not in m.group(1):
            names.add(m.group(1).split(":")[0])
    return names


class ImageDependencies(unittest.TestCase):
    def test_dockerfile_installs_only_from_the_shared_list(self):
        with open(os.path.join(SOURCE, "Dockerfile")) as f:
            dockerfile = f.read()
        self.assertNotIn("apt-get install", dockerfile, "the Dockerfile must take its packages from "
                         "scripts/debian-packages through install-deps.sh, not list its own")
        self.assertIn("install-deps.sh --only build", dockerfile)
        self.assertIn("install-deps.sh --only runtime", dockerfile)
        self.assertIn("COPY scripts/install-deps.sh scripts/debian-packages", dockerfile)

    def test_build_set_covers_every_system_file_the_arca_build_reads(self):
        commands = run("ninja", "-C", BUILD, "-t", "commands", "src/cli/arca")
        objects = set(re.findall(r" -o (\S+\.o)\b", commands))
        self.assertGreater(len(objects), 10, "no compile commands for arca in " + BUILD)
        deps = run("ninja", "-C", BUILD, "-t", "deps", *sorted(objects))
        system_files = {p for p in (l.strip() for l in deps.splitlines()) if p.startswith("/usr/")}
        link = commands.strip().splitlines()[-1]
        system_files |= set(re.findall(r"(/usr/\S+\.(?:so|a)(?:\.[0-9.]+)?)\b", link))
        self.assertGreater(len(system_files), 50, "ninja's dependency log is empty; was arca built?")
        build = package_sets(SOURCE)["build"]
        allowed = closure(build)
        missing = {}
        for path, package in owners(system_files).items():
            if package not in allowed:
                missing.setdefault(package, path)
        self.assertEqual(missing, {}, "the arca build reads files of packages that the build set of "
                         "scripts/debian-packages does not install (package: one such file)")

    def test_runtime_set_is_exactly_what_arca_loads(self):
        out = run("ldd", ARCA)
        by_soname = dict(re.findall(r"^\s*(\S+) => (/\S+)", out, re.M))
        self.assertGreater(len(by_soname), 5)
        loaded = owners(by_soname.values())
        unowned = sorted(set(by_soname.values()) - set(loaded))
        self.assertEqual(unowned, [], "shared libraries of arca that no Debian package owns")
        runtime = package_sets(SOURCE)["runtime"]
        # The libraries arca links directly (ELF NEEDED) come from packages the runtime set names itself ...
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(\S+)\]", run("readelf", "-d", ARCA))
        direct = {loaded[by_soname[soname]] for soname in needed if soname in by_soname}
        self.assertEqual(sorted(direct - runtime - SLIM_BASE), [], "arca links libraries of packages the image lacks")
        # ... and everything they load in turn comes with those packages' dependencies.
        allowed = closure(runtime | SLIM_BASE)
        self.assertEqual(sorted(set(loaded.values()) - allowed), [], "arca loads libraries the image would not have")
        # A runtime package that ships a shared library arca does not load is dead weight in the image.
        dead = []
        for package in sorted(runtime - set(loaded.values())):
            files = run("dpkg", "-L", package).split()
            if any(re.search(r"\.so(\.|$)", f) for f in files):
                dead.append(package)
        self.assertEqual(dead, [], "runtime packages whose libraries arca does not load")

    def test_install_deps_reads_the_same_list(self):
        with open(os.path.join(SOURCE, "scripts/install-deps.sh")) as f:
            script = f.read()
        self.assertIn("scripts/debian-packages", script)
        self.assertNotIn("libcurl4-openssl-dev", script, "install-deps.sh lists packages of its own again")
        r = subprocess.run(["bash", os.path.join(SOURCE, "scripts/install-deps.sh"), "--only", "nosuchset"],
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no packages in set(s) 'nosuchset'", r.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
