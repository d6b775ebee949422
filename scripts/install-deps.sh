#!/usr/bin/env bash
# Installs everything arca needs to build, test and run its demo on a fresh Debian 12 machine (as root).
# Idempotent: re-running it when everything is present costs about a second.
# The Debian packages come from scripts/debian-packages (sets build and test here).
# --no-test-servers: skip the npm object-storage servers, which only the tests use (the demo passes it).
# --only SET: install one set of scripts/debian-packages and nothing else (the Dockerfile's stages use it).
set -euo pipefail
cd "$(dirname "$0")/.."
test_servers=yes
sets="build test"
case "${1:-}" in
  --no-test-servers) test_servers=no ;;
  --only) sets=${2:?--only needs a set: build, runtime or test}; test_servers=no ;;
esac

mapfile -t apt_packages < <(awk -v sets=" $sets " 'index(sets, " " $1 " ") && NF == 2 { print $2 }' scripts/debian-packages)
[ ${#apt_packages[@]} -gt 0 ] || { echo "install-deps: no packages in set(s) '$sets' of scripts/debian-packages" >&2; exit 1; }
# The machine image ships Node 20 with npm bundled; Debian's own npm package would conflict with it.
[ $test_servers = yes ] && ! command -v npm >/dev/null && apt_packages+=(nodejs npm)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "install-deps: missing packages and not root; install them: ${missing[*]}" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "$sets" = "build test" ] || exit 0

# The real kubectl is preinstalled on these machines (a dispatcher bundling 1.27-1.33). Debian's
# kubernetes-client (1.20) is too old and conflicts, so it is not a fallback.
command -v kubectl >/dev/null || echo "install-deps: warning: kubectl not found; the kubectl conformance tests will fail" >&2

# Test servers for object storage, pinned in package.json / package-lock.json.
if [ $test_servers = yes ] && { [ ! -x node_modules/.bin/s3rver ] || [ ! -x node_modules/.bin/azurite-blob ] ||
                               [ ! -d node_modules/playwright-core ]; }; then
  echo "install-deps: npm install (s3rver, azurite, playwright-core)"
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi
