#!/usr/bin/env bash
# Builds litevault's libFuzzer targets (native/fuzz/fuzz_*.cc) into build/fuzz/, with
# AddressSanitizer and UndefinedBehaviorSanitizer (any UB report aborts, so libFuzzer keeps the
# input). The core under test is every native/src/**/*.cc except native/src/addon/ (the Node-API
# layer, which needs Node headers); it is compiled once with coverage instrumentation and linked
# into each target. It is compiled as shipped, without LITEVAULT_TESTING: sync points are empty
# statements and fault injection is absent (os/sync_point.h, os/fault.h), so the fuzzers test
# the code users run.
#
# Needs clang with libFuzzer: on Debian 12, `apt-get install clang-14 libclang-rt-14-dev`; and, as
# the addon does, `apt-get install libzstd-dev libxxhash-dev` (the vault layer's zstd and xxHash).
# Usage: bash native/fuzz/build.sh            (CXX_FUZZ=/path/to/clang++ to choose the compiler)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

find_clang() {
  if [ -n "${CXX_FUZZ:-}" ]; then echo "$CXX_FUZZ"; return; fi
  for c in clang++ clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14; do
    if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return; fi
  done
  echo "fuzz/build: no clang++ found; on Debian 12: apt-get install clang-14 libclang-rt-14-dev" >&2
  exit 2
}
CXX="$(find_clang)"

out="$root/build/fuzz"
obj="$out/obj"
mkdir -p "$obj"

common=(-std=c++17 -g -O1 -fno-omit-frame-pointer -D_FILE_OFFSET_BITS=64 -pthread
  -fsanitize=address,undefined -fno-sanitize-recover=undefined
  -I "$root/native/src" -I "$root/native/fuzz")

# Does this clang have libFuzzer? (Debian ships it separately, in libclang-rt-N-dev.)
probe="$obj/probe.cc"
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe"
if ! "$CXX" "${common[@]}" -fsanitize=fuzzer "$probe" -o "$obj/probe" 2>"$obj/probe.log"; then
  echo "fuzz/build: $CXX cannot link -fsanitize=fuzzer (on Debian 12: apt-get install libclang-rt-14-dev):" >&2
  cat "$obj/probe.log" >&2
  exit 2
fi

# The core, compiled with coverage instrumentation but without libFuzzer's main().
mapfile -t sources < <(find native/src -name '*.cc' -not -path 'native/src/addon/*' | sort)
objects=()
pids=()
jobs="${FUZZ_BUILD_JOBS:-$(nproc)}"
for src in "${sources[@]}"; do
  o="$obj/$(echo "${src#native/src/}" | tr '/' '_').o"
  objects+=("$o")
  # Rebuild when the source or any header of the core or the fuzz targets is newer.
  if [ -f "$o" ] && [ ! "$src" -nt "$o" ] && [ -z "$(find native/src -name '*.h' -newer "$o" -print -quit)" ]; then
    continue
  fi
  "$CXX" "${common[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$o" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid"; done

targets=()
for t in native/fuzz/fuzz_*.cc; do
  name="$(basename "$t" .cc)"
  "$CXX" "${common[@]}" -fsanitize=fuzzer "$t" "${objects[@]}" -l:libzstd.a -o "$out/$name" &
  pids+=($!)
  targets+=("$name")
  if [ ${#pids[@]} -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
pids=()
echo "fuzz/build: built ${targets[*]} into build/fuzz/ with $("$CXX" --version | head -1)"
