#!/usr/bin/env bash
# Installs everything arca needs to build, test and run its demo on a fresh Debian 12 machine (as root).
# Idempotent: re-running it when everything is present costs about a second.
# --no-test-servers: skip the npm object-storage servers, which only the tests use (the demo passes it).
set -euo pipefail
cd "$(dirname "$0")/.."
test_servers=yes
[ "${1:-}" = --no-test-servers ] && test_servers=no

apt_packages=(
  build-essential cmake ninja-build pkg-config ccache git curl ca-certificates python3
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libarchive-dev
  libdeflate-dev libisal-dev libzstd-dev zlib1g-dev libcli11-dev libspdlog-dev libfmt-dev libcpp-httplib-dev libjemalloc-dev
  libboost-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang python3-botocore s3cmd zsh fish
)
# The machine image ships Node 20 with npm bundled; Debian's own npm package would conflict with it.
command -v npm >/dev/null || apt_packages+=(nodejs npm)
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

# The real kubectl is preinstalled on these machines (a dispatcher bundling 1.27-1.33). Debian's
# kubernetes-client (1.20) is too old and conflicts, so it is not a fallback.
command -v kubectl >/dev/null || echo "install-deps: warning: kubectl not found; the kubectl conformance tests will fail" >&2

# Test servers for object storage, pinned in package.json / package-lock.json.
if [ $test_servers = yes ] && { [ ! -x node_modules/.bin/s3rver ] || [ ! -x node_modules/.bin/azurite-blob ]; }; then
  echo "install-deps: npm install (s3rver, azurite)"
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi
