#!/usr/bin/env bash
# The repository stands on its own: no tracked file refers to a folder beside the checkout (the team's shared
# reference folder) or to an absolute path of a machine it was developed on. .ci/run also runs the whole suite
# from a fresh copy alone in a temporary directory; this check names the offending line at once.
# Usage: self_contained_test.sh SOURCE_DIR
set -euo pipefail
cd "$1"
sibling='\.\./'shared   # split so that this file does not match itself
machine='/'work/'(main|wt|shared)'
hits=$(grep -rnE "$sibling|$machine" --exclude-dir=.git --exclude=.git --exclude-dir=node_modules --exclude-dir='build*' \
  --exclude-dir=.cache . || true)
if [ -n "$hits" ]; then
  echo "files that reach outside the repository:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "ok: no file refers outside the repository"
