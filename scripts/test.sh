#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds once, runs every test (unit and integration) in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd "${ARCA_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" "$@"
