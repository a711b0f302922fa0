#!/usr/bin/env bash
# Makes the fuzz seed corpora with REAL SQLite (the sqlite3 shell and better-sqlite3) into
# build/fuzz/seeds/<target>/ (generated, not committed). See make-seeds.cjs for what each holds.
# Usage: bash native/fuzz/make-seeds.sh [out-dir]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
out="${1:-$root/build/fuzz/seeds}"
command -v sqlite3 >/dev/null || { echo "fuzz/seeds: the sqlite3 shell is missing (apt-get install sqlite3)" >&2; exit 2; }
[ -f build/Release/litevault.node ] && [ -f dist/binding.js ] || { echo "fuzz/seeds: the vault seeds need the addon: npm run compile" >&2; exit 2; }
[ -d node_modules/better-sqlite3 ] || { echo "fuzz/seeds: better-sqlite3 is missing (npm ci)" >&2; exit 2; }
rm -rf "$out"
mkdir -p "$out"
node native/fuzz/make-seeds.cjs "$out"
