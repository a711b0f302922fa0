#!/usr/bin/env bash
# npm run test:asan: builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer into
# build/, runs the whole test suite against it (the sanitizer runtime preloaded into Node, which
# is not itself instrumented), then restores the normal build. Any sanitizer report aborts the
# process that hit it, which fails the test that ran it.
set -euo pipefail
cd "$(dirname "$0")/.."

restore() { npx cmake-js rebuild --out build --log-level warn >/dev/null; }
trap restore EXIT

npx cmake-js rebuild --out build --log-level warn --CDLITEVAULT_SANITIZE=address,undefined
npm run build:ts --silent
symbols="$(nm -D build/Release/litevault.node)"
[[ "$symbols" == *__asan_init* && "$symbols" == *__ubsan_* ]] || { echo "test:asan: the addon is not instrumented" >&2; exit 1; }

export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:verify_asan_link_order=0:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LITEVAULT_SANITIZED=1
npx vitest run "$@"
