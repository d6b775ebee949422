#!/usr/bin/env bash
# The demo (README's first command). Filled in as backup and restore land; see issue "Day-two operations".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
echo "demo: backup and restore are not implemented yet; nothing to show." >&2
exit 1
