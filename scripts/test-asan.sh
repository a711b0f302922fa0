#!/usr/bin/env bash
# npm run test:asan: runs the test suite (less what vitest.config.ts leaves out of it: packaging,
# CLI parsing, the kill-trial suites) against an AddressSanitizer + UndefinedBehavior-
# Sanitizer build of the addon. The build happens in a temporary copy of the package (sharing
# node_modules), so the normal build/ is never replaced under anyone's feet. The sanitizer
# runtime is preloaded into Node (which is not itself instrumented); any report aborts the
# process that hit it, which fails the test that ran it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/litevault-asan-XXXXXX")"
trap 'rm -rf "$work"' EXIT

for entry in package.json package-lock.json tsconfig.json vitest.config.ts CMakeLists.txt binding.gyp README.md LICENSE native lib scripts test; do
  cp -r "$root/$entry" "$work/$entry"
done
ln -s "$root/node_modules" "$work/node_modules"
cd "$work"

# One instrumented addon serves the whole run: the build-test/ one (LITEVAULT_TESTING: fault
# injection, sync points, which the fault and interleaving tests load through
# test/oracle/testing-addon.ts), copied to build/ for the rest of the suite. Its shipped code is
# the same source; the hooks are inert until a test arms one. (Building both took a 2-core CI
# machine three minutes; what only the shipped build has, its symbol table and packaging, is
# npm test's binary-baseline and install tests.)
npx cmake-js rebuild --out build-test --log-level warn --CDLITEVAULT_SANITIZE=address,undefined --CDLITEVAULT_TESTING=ON
mkdir -p build/Release
cp build-test/Release/litevault.node build/Release/litevault.node
npm run build:ts --silent
for addon in build/Release/litevault.node build-test/Release/litevault.node; do
  symbols="$(nm -D "$addon")"
  [[ "$symbols" == *__asan_init* && "$symbols" == *__ubsan_* ]] || { echo "test:asan: $addon is not instrumented" >&2; exit 1; }
done

export LITEVAULT_SANITIZED=1  # test/binary-baseline.test.ts: the baseline is the shipped build's
# The vault soak runs its full minute in `npm test`; here, shorter (same code paths).
export LITEVAULT_VAULT_WRITER_SECONDS="${LITEVAULT_VAULT_WRITER_SECONDS:-15}"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:verify_asan_link_order=0:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
npx vitest run "$@"
