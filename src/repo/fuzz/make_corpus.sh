#!/usr/bin/env bash
# Regenerates the repository readers' fuzz corpus (corpus/ beside this script) from a tiny repository that the
# real restic makes: every file arca reads from a restic repository, as restic wrote it. Run by hand (the corpus
# is checked in); needs restic, openssl, jq and xxd. Each corpus file is one selector byte (see
# repo_readers_fuzz.cc) followed by the reader's input.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RESTIC_REPOSITORY=$work/repo RESTIC_PASSWORD=fuzz-corpus RESTIC_CACHE_DIR=$work/cache
restic init -q >/dev/null
mkdir -p "$work/data/dir/sub"
echo "hello" > "$work/data/a.txt"
seq 1 20000 > "$work/data/dir/compressible.txt"
head -c 6000 /dev/urandom > "$work/data/dir/sub/random.bin"
ln -s a.txt "$work/data/link"
restic backup -q --host fuzz --tag corpus "$work/data" >/dev/null
echo "changed" >> "$work/data/a.txt"
restic backup -q --host fuzz "$work/data" >/dev/null

rm -rf "$out"
mkdir -p "$out"
# selector byte, then the bytes on stdin
emit() { { printf "\\x$(printf %02x "$1")"; cat; } > "$out/$2"; }

master=$(restic cat masterkey)
enc_hex=$(jq -r .encrypt <<<"$master" | base64 -d | xxd -p -c 256)
mac_k_hex=$(jq -r .mac.k <<<"$master" | base64 -d | xxd -p -c 256)
mac_r_hex=$(jq -r .mac.r <<<"$master" | base64 -d | xxd -p -c 256)
# IV || AES-256-CTR(plaintext) || MAC → plaintext (the MAC is left to the reader under test)
decrypt() {
  local f=$1 size
  size=$(stat -c %s "$f")
  tail -c +17 "$f" | head -c $((size - 32)) |
    openssl enc -d -aes-256-ctr -nopad -K "$enc_hex" -iv "$(head -c 16 "$f" | xxd -p -c 256)"
}
key_bytes() { xxd -r -p <<<"$enc_hex$mac_k_hex$mac_r_hex"; }

decrypt "$RESTIC_REPOSITORY/config" | emit 0 config
restic cat config | emit 0 config-json
n=0; for k in "$RESTIC_REPOSITORY"/keys/*; do emit 1 "key-$n" < "$k"; n=$((n + 1)); done
emit 2 masterkey <<<"$master"
n=0; for f in "$RESTIC_REPOSITORY"/index/*; do decrypt "$f" | emit 3 "index-$n"; n=$((n + 1)); done
n=0; for f in "$RESTIC_REPOSITORY"/snapshots/*; do decrypt "$f" | emit 4 "snapshot-$n"; n=$((n + 1)); done
tree=$(restic cat snapshot "$(basename "$(ls "$RESTIC_REPOSITORY"/snapshots/* | head -1)")" | jq -r .tree)
restic cat blob "$tree" | emit 5 tree-root
sub=$(restic cat blob "$tree" | jq -r '.nodes[] | select(.type == "dir") | .subtree' | head -1)
[[ -n $sub && $sub != null ]] && restic cat blob "$sub" | emit 5 tree-sub
n=0
for pack in $(find "$RESTIC_REPOSITORY/data" -type f); do
  size=$(stat -c %s "$pack")
  hlen=$(tail -c 4 "$pack" | od -An -tu4 | tr -d ' ')
  tail -c $((hlen + 4)) "$pack" | head -c "$hlen" > "$work/header"
  decrypt "$work/header" | emit 6 "pack-header-$n"
  { key_bytes; cat "$pack"; } | emit 8 "pack-$n"
  n=$((n + 1))
done
{ key_bytes; cat "$RESTIC_REPOSITORY/config"; } | emit 7 sealed-config
{ key_bytes; cat "$(ls "$RESTIC_REPOSITORY"/index/* | head -1)"; } | emit 7 sealed-index
ls -l "$out"
