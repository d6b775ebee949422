#!/usr/bin/env python3
"""Runs the Dockerfile's instructions in order, since no docker engine runs here, and checks the image they make.

Each stage (FROM) gets a fresh root directory holding the files of exactly the Debian packages its image would
have: the base image (debian:12 and debian:12-slim hold the same packages, the Essential and Priority: required
ones plus apt; slim only drops documentation) and the dependency closure of the set that stage installs from
scripts/debian-packages, each file hard-linked from this machine (which has them installed: scripts/install-deps.sh)
and the root's /var/lib/dpkg/status listing only those packages. WORKDIR, COPY (from the build context minus
.dockerignore, or from an earlier stage's root) and RUN (/bin/sh -c under bubblewrap with the stage's root as `/`)
then do what docker would. So a RUN sees no header, library or tool beyond its stage's packages: the build stage
must configure and build with the build set alone, and in the final image `ldd` must resolve every library of
/arca and /velero-restore-helper within the runtime set's files. /etc is this machine's (read-only): configuration,
certificates and the alternatives links, no library or header. The final image's commands run as its USER.

The build stage gets one thing the image does not: ccache (its package's files), with this machine's cache
directory bound in, so that it need not compile arca from scratch. That cannot hide a broken build stage, because
ccache returns a cached object only for an identical compile: the same compiler (this machine's /usr/bin/g++,
hard-linked: same path, size and mtime), the same command line (the stage runs scripts/build.sh, the one
configuration developers and CI use) and the same input, either every header's content at the paths the root has
(direct mode: a header the root lacks is a miss) or the preprocessor's output, produced inside the root (so a
missing header fails the compile as it would in docker). scripts/build.sh sets CCACHE_BASEDIR to the checkout, so
/src and the checkout hash alike. Linking is never cached: the libraries come from the root. When the suite runs
after scripts/test.sh's build, every compile is a hit and the stage configures and links only (~20 s); on a cold
cache it compiles arca from scratch (the test still passes, just slower).
Usage: dockerfile_test.py SOURCE_DIR
"""
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from debian_packages import package_sets

SOURCE = sys.argv[1]
BASE_IMAGES = ("debian:12", "debian:12-slim")
HANDLED = {"WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "ENTRYPOINT", "CMD"}
# Below ctest's TIMEOUT (tests/packaging/CMakeLists.txt), so that a slow build stage fails with its reason.
RUN_TIMEOUT = 1100
USR_MERGE_LINKS = ("bin", "lib", "lib64", "sbin")  # / → usr/ on Debian 12, as in its images


def instructions(path):
    """(keyword, argument text) per instruction, continuation lines joined, comments dropped."""
    out, pending = [], ""
    with open(path) as f:
        for line in f:
            stripped = line.strip()
            if not pending and (not stripped or stripped.startswith("#")):
                continue
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            text = pending + stripped
            pending = ""
            keyword, _, rest = text.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def stages(path):
    """(name, base image, instructions) per FROM; an unnamed stage is named by its index, as docker does."""
    out = []
    for keyword, arg in instructions(path):
        if keyword == "FROM":
            words = arg.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(out))
            out.append((name, words[0], []))
        else:
            out[-1][2].append((keyword, arg))
    return out


def exec_form(arg):
    """ENTRYPOINT/CMD's JSON array form."""
    return json.loads(arg)


class Packages:
    """This machine's installed packages, to resolve dependency closures the way apt would have installed them."""

    def __init__(self):
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Abbrev}\t${Essential}\t${Priority}"
                              "\t${Pre-Depends}, ${Depends}\t${Provides}\n"],
                             capture_output=True, text=True, check=True).stdout
        self.depends, self.provided, self.base = {}, {}, {"apt"}
        for line in out.splitlines():
            name, status, essential, priority, depends, provides = line.split("\t")
            if not status.startswith("ii"):
                continue
            self.depends[name] = [[alt.split()[0].split(":")[0] for alt in clause.split("|")]
                                  for clause in depends.split(",") if clause.strip()]
            for p in provides.split(","):
                if p.strip():
                    self.provided.setdefault(p.split()[0].split(":")[0], name)
            if essential == "yes" or priority == "required":
                self.base.add(name)

    def installed(self, name):
        return name if name in self.depends else self.provided.get(name)

    def closure(self, names):
        """The packages and what they depend on (Depends, Pre-Depends), each alternative taken as installed here."""
        seen, todo = set(), list(names)
        while todo:
            name = todo.pop()
            package = self.installed(name)
            if package is None:
                raise AssertionError(f"package {name} is not installed on this machine (bash scripts/install-deps.sh)")
            if package in seen:
                continue
            seen.add(package)
            for alternatives in self.depends[package]:
                chosen = next((a for a in alternatives if self.installed(a)), None)
                if chosen is None:
                    raise AssertionError(f"{package} depends on {' | '.join(alternatives)}, not installed here")
                todo.append(chosen)
        return seen


def package_files(packages):
    out = subprocess.run(["dpkg", "-L", *sorted(packages)], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.startswith("/")]


def make_root(root, packages, files):
    """ROOT holding the files of PACKAGES: /usr's hard-linked (bound read-only in the sandbox, so nothing run there
    can write through a link into this machine's /usr), the few elsewhere copied, /etc left to the bind mount."""
    os.makedirs(root)
    for d in ("tmp", "root", "var/lib/dpkg/info", "var/lib/dpkg/updates", "usr", "etc"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    for link in USR_MERGE_LINKS:
        if os.path.islink("/" + link):
            os.symlink(os.readlink("/" + link), os.path.join(root, link))
            os.makedirs(os.path.join(root, os.readlink("/" + link).lstrip("/")), exist_ok=True)
    for path in sorted(set(files)):
        if path == "/etc" or path.startswith("/etc/") or not os.path.lexists(path):
            continue  # dpkg's path excludes (docs) leave listed files absent: absent in the image too
        dst = root + path
        if os.path.islink(path):
            if not os.path.lexists(dst):
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                os.symlink(os.readlink(path), dst)
        elif os.path.isdir(path):
            os.makedirs(dst, exist_ok=True)
        elif not os.path.lexists(dst):
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if path.startswith("/usr/"):
                try:
                    os.link(path, dst)
                except OSError:  # the temporary directory on another filesystem than /usr: slower, same root
                    shutil.copy2(path, dst)
            else:
                shutil.copy2(path, dst)
    # update-alternatives' links (/usr/bin/c++, /usr/bin/awk → /etc/alternatives/…) belong to no package; the
    # image has those whose program it has.
    for d in ("/usr/bin", "/usr/sbin"):
        for name in os.listdir(d):
            path = os.path.join(d, name)
            if os.path.islink(path) and os.readlink(path).startswith("/etc/alternatives/") and \
                    not os.path.lexists(root + path) and os.path.exists(root + os.path.realpath(path)):
                os.symlink(os.readlink(path), root + path)
    # dpkg's database: only the root's packages, so `install-deps.sh --only SET` sees what the image has.
    with open("/var/lib/dpkg/status") as f:
        stanzas = f.read().split("\n\n")
    kept = [s for s in stanzas if re.match(r"Package: (\S+)", s) and re.match(r"Package: (\S+)", s)[1] in packages]
    with open(os.path.join(root, "var/lib/dpkg/status"), "w") as f:
        f.write("\n\n".join(kept) + "\n")
    if os.path.exists("/var/lib/dpkg/arch"):
        shutil.copy2("/var/lib/dpkg/arch", os.path.join(root, "var/lib/dpkg/arch"))


def context_ignored(rel, patterns):
    return any(fnmatch.fnmatch(rel, p) or rel.startswith(p.rstrip("/") + "/") for p in patterns)


def copy_context(src, dst):
    """The build context: SOURCE minus the .dockerignore patterns (matched against paths relative to SOURCE)."""
    patterns = []
    ignore_file = os.path.join(SOURCE, ".dockerignore")
    if os.path.exists(ignore_file):
        with open(ignore_file) as f:
            patterns = [l.strip().strip("/") for l in f if l.strip() and not l.startswith("#")]
    rel = os.path.relpath(src, SOURCE)
    if os.path.isdir(src):
        for dirpath, dirnames, filenames in os.walk(src):  # symlinked directories are copied as links, not walked
            here = os.path.relpath(dirpath, SOURCE)

            def kept(name):
                return not context_ignored(os.path.normpath(os.path.join(here, name)), patterns)
            dirnames[:] = [d for d in dirnames if kept(d)]
            out = os.path.join(dst, os.path.relpath(dirpath, src))
            os.makedirs(out, exist_ok=True)
            for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                s = os.path.join(dirpath, name)
                if not kept(name):
                    continue
                if os.path.islink(s):
                    os.symlink(os.readlink(s), os.path.join(out, name))
                else:
                    shutil.copy2(s, os.path.join(out, name))
    elif not context_ignored(rel, patterns):
        copy_file(src, dst)


def copy_file(src, dst):
    if dst.endswith("/") or os.path.isdir(dst):
        dst = os.path.join(dst, os.path.basename(src))
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(src, dst)


def ccache_dir():
    if not shutil.which("ccache"):
        return None
    out = subprocess.run(["ccache", "-k", "cache_dir"], capture_output=True, text=True).stdout.strip()
    return out or None


def sandbox(root, workdir, argv, user=None, binds=(), env=(), timeout=1200):
    """ARGV with ROOT as / (its /usr read-only), as a RUN step or the running image sees it."""
    cmd = ["bwrap", "--bind", root, "/", "--ro-bind", os.path.join(root, "usr"), "/usr", "--ro-bind", "/etc", "/etc",
           "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--die-with-parent"]
    for src, dst in binds:
        cmd += ["--bind", src, dst]
    if user:  # the real uid, as docker runs USER (a user namespace would map the files' owner to it)
        uid, _, gid = user.partition(":")
        argv = ["/usr/bin/setpriv", "--reuid", uid, "--regid", gid or uid, "--clear-groups", *argv]
    cmd += ["--chdir", workdir, "--clearenv", "--setenv", "HOME", "/root",
            "--setenv", "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]  # docker's default
    for k, v in env:
        cmd += ["--setenv", k, v]
    return subprocess.run(cmd + list(argv), capture_output=True, text=True, timeout=timeout)


def cache_stats(root):
    """The compiles of the last RUN: ccache's stats log, a line per counter a compile bumped (then emptied)."""
    log = os.path.join(root, "tmp/ccache-stats.log")
    if not os.path.exists(log):
        return "no compile"
    with open(log) as f:
        counters = f.read().split()
    os.unlink(log)
    hits = counters.count("direct_cache_hit") + counters.count("preprocessed_cache_hit")
    return f"{hits} of {hits + counters.count('cache_miss')} compiles ccache hits"


class DockerfileSteps(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="arca-dockerfile-")
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)

    def test_the_stages_build_an_image_that_runs_with_only_its_packages(self):
        packages, sets, cache = Packages(), package_sets(SOURCE), ccache_dir()
        roots, owned, expose = {}, {}, None
        for name, base, steps in stages(os.path.join(SOURCE, "Dockerfile")):
            unknown = {k for k, _ in steps} - HANDLED
            self.assertEqual(unknown, set(), "instructions this test does not run yet: teach it them")
            self.assertIn(base, BASE_IMAGES, "a base image this test knows the packages of")
            # The sets this stage installs (its `install-deps.sh --only SET`) decide what its root holds.
            installs = [s for k, a in steps if k == "RUN" for s in re.findall(r"install-deps\.sh --only (\S+)", a)]
            self.assertTrue(installs, f"stage {name} installs no set of scripts/debian-packages")
            chosen = packages.closure(packages.base | {p for s in installs for p in sets[s]} |
                                      ({"ccache"} if "build" in installs and cache else set()))
            started = time.monotonic()
            root, workdir, user, entrypoint, cmd = os.path.join(self.work, name), "/", None, None, None
            files = package_files(chosen)
            make_root(root, chosen, files)
            roots[name], owned[name] = root, set(files)
            print(f"stage {name}: {len(chosen)} packages (the base and {', '.join(installs)}), {len(files)} files, "
                  f"root made in {time.monotonic() - started:.1f} s", flush=True)
            for keyword, arg in steps:
                if keyword == "WORKDIR":
                    workdir = arg
                    os.makedirs(root + arg, exist_ok=True)
                elif keyword == "COPY":
                    words = shlex.split(arg)
                    origin = None
                    if words[0].startswith("--from="):
                        origin = roots[words[0][len("--from="):]]
                        words = words[1:]
                    *sources, dest = words
                    dest = dest if dest.startswith("/") else os.path.join(workdir, dest)
                    if dest.endswith("/") or dest in (".", "./") or len(sources) > 1:
                        dest = dest.rstrip("/") + "/"
                    for src in sources:
                        if origin:
                            copy_file(origin + src, root + dest)
                        else:
                            copy_context(os.path.normpath(os.path.join(SOURCE, src)), root + dest)
                elif keyword == "RUN":
                    self.run_step(root, workdir, arg, cache)
                elif keyword == "USER":
                    user = arg
                elif keyword == "EXPOSE":
                    expose = arg
                elif keyword == "ENTRYPOINT":
                    entrypoint = exec_form(arg)
                elif keyword == "CMD":
                    cmd = exec_form(arg)
        self.check_image(root, owned[name], user, expose, entrypoint, cmd)

    def run_step(self, root, workdir, command, cache):
        started = time.monotonic()
        binds, env = [], []
        if cache:
            binds.append((cache, "/ccache"))
            env += [("CCACHE_DIR", "/ccache"), ("CCACHE_STATSLOG", "/tmp/ccache-stats.log")]
        try:
            r = sandbox(root, workdir, ["/bin/sh", "-c", command], binds=binds, env=env, timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail(f"RUN {command}: not done after {RUN_TIMEOUT} s, {cache_stats(root)}; a cold cache compiles "
                      "arca from scratch: build it in this checkout first (scripts/build.sh arca, as scripts/test.sh does)")
        print(f"RUN {command[:70]}: {time.monotonic() - started:.1f} s, {cache_stats(root)}", flush=True)
        self.assertEqual(r.returncode, 0, f"RUN {command}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")

    def check_image(self, final, files, user, expose, entrypoint, cmd):
        self.assertEqual(user, "65532:65532", "the image runs unprivileged")
        self.assertTrue(os.path.isfile(os.path.join(final, "arca")))
        self.assertEqual(os.readlink(os.path.join(final, "velero")), "/arca")
        self.assertTrue(os.path.isfile(os.path.join(final, "velero-restore-helper")))
        self.assertFalse(os.path.exists(os.path.join(final, "tmp/deps")), "the runtime stage cleans up")
        self.assertFalse(os.path.exists(os.path.join(final, "src")), "no sources in the image")

        def run(*argv, binds=()):
            return sandbox(final, "/", argv, user=user, binds=binds, timeout=60)

        # Every shared library resolves, to a file of the image's packages (the root has no other).
        for binary in ("/arca", "/velero-restore-helper"):
            r = run("/usr/bin/ldd", binary)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            missing = [l.strip() for l in r.stdout.splitlines() if "not found" in l]
            self.assertEqual(missing, [], f"{binary}: shared libraries the image lacks")
            resolved = re.findall(r"=> (/\S+)", r.stdout)
            self.assertGreater(len(resolved), 2 if binary == "/arca" else 0, r.stdout)
            for lib in resolved:
                spellings = {lib, os.path.realpath(final + lib)[len(final):]}
                spellings |= {s[len("/usr"):] for s in spellings if s.startswith("/usr/")}
                self.assertTrue(spellings & files, f"{binary} loads {lib}, which no package of the image owns")
        # The binaries run as the image's user: the server's CLI, its Velero spelling and the restore-wait helper.
        r = run("/velero", "version", "--client-only")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Version:", r.stdout)
        self.assertEqual(entrypoint, ["/arca"])
        r = run(*entrypoint, *cmd, "--help")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Usage: arca server", r.stdout, "CMD names the server")
        self.assertIn(f"--metrics-address string=:{expose}", r.stdout, "EXPOSE: the server's metrics port")
        r = run(*entrypoint, *cmd, "--bogus-flag")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("--bogus-flag", r.stderr)
        restores = os.path.join(self.work, "restores")
        os.makedirs(os.path.join(restores, "volume/.velero"))
        open(os.path.join(restores, "volume/.velero/uid-1"), "w").close()
        for d in (restores, os.path.join(restores, "volume"), os.path.join(restores, "volume/.velero")):
            os.chmod(d, 0o777)
        r = run("/velero-restore-helper", "uid-1", binds=[(restores, "/restores")])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("All fs restores are done", r.stdout)
        self.assertFalse(os.path.exists(os.path.join(restores, "volume/.velero")), "the helper cleans up")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
