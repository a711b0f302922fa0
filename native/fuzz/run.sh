#!/usr/bin/env bash
# Builds the fuzz targets, makes the seed corpora with real SQLite, and runs every target for
# N seconds (default 60) with ASan+UBSan, a 5 s per-input timeout and leak detection.
# Prints each target's final "#N DONE ... exec/s" line and exits non-zero if any target found a
# crash, sanitizer report, leak, timeout or out-of-memory; the offending inputs are copied to
# /tmp/litevault-fuzz-crash-<target>-<time>/ (and stay in build/fuzz/artifacts/<target>/).
#
# Usage: bash native/fuzz/run.sh [seconds-per-target] [target...]
#   FUZZ_NO_SEEDS=1     reuse build/fuzz/seeds instead of making them again
#   FUZZ_JOBS=N         run N targets at once (default 1; each target is one process)
# New interesting inputs accumulate in build/fuzz/corpus/<target>/ from run to run. A committed
# seed directory native/fuzz/seeds-<name>/ (fuzz_<name>'s) is read too when it exists.
# fuzz_verify first replays its generated seeds with FUZZ_VERIFY_EXPECT_OK=1: every one passed
# SQLite's integrity_check, so the structure check must find nothing in them either.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

seconds="${1:-60}"
shift || true
all=(fuzz_db_header fuzz_wal fuzz_wal_index fuzz_journal fuzz_open fuzz_vault_manifest fuzz_verify fuzz_log_segment)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

declare -A maxlen=([fuzz_db_header]=4096 [fuzz_wal]=65536 [fuzz_wal_index]=1024 [fuzz_journal]=65536 [fuzz_open]=131072 [fuzz_vault_manifest]=65536 [fuzz_verify]=65536 [fuzz_log_segment]=65536)

bash native/fuzz/build.sh
if [ -z "${FUZZ_NO_SEEDS:-}" ] || [ ! -d build/fuzz/seeds ]; then bash native/fuzz/make-seeds.sh; fi

out=build/fuzz
mkdir -p "$out/logs"
status=0
summary=()

run_one() {
  local t="$1"
  local corpus="$out/corpus/$t" artifacts="$out/artifacts/$t/" log="$out/logs/$t.log"
  mkdir -p "$corpus" "$artifacts"
  rm -f "$log.rc"
  local rc=0
  local extra=()
  [ -d "native/fuzz/seeds-${t#fuzz_}" ] && extra+=("native/fuzz/seeds-${t#fuzz_}")
  if [ "$t" = fuzz_verify ]; then
    FUZZ_VERIFY_EXPECT_OK=1 "$out/$t" "$out/seeds/$t"/* >"$log.seeds" 2>&1 || {
      cp "$log.seeds" "$log"
      echo 1 >"$log.rc"
      return
    }
  fi
  # -rss_limit_mb: ASan's quarantine plus the inputs; a real leak or blow-up still trips it.
  "$out/$t" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=4096 -max_len="${maxlen[$t]:-65536}" \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" "$out/seeds/$t" "${extra[@]}" >"$log" 2>&1 || rc=$?
  echo "$rc" >"$log.rc"
}

jobs="${FUZZ_JOBS:-1}"
running=0
for t in "${targets[@]}"; do
  [ -x "$out/$t" ] || { echo "fuzz/run: no target $t" >&2; exit 2; }
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true

for t in "${targets[@]}"; do
  log="$out/logs/$t.log"
  rc="$(cat "$log.rc" 2>/dev/null || echo 1)"
  done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)"
  execs="$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -1 || true)"
  bad="$(grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|FUZZ_CHECK failed|ALARM: working on the last Unit|out-of-memory|deadly signal' "$log" | head -3 || true)"
  if [ "$rc" != "0" ] || [ -n "$bad" ]; then
    status=1
    keep="/tmp/litevault-fuzz-crash-$t-$(date +%Y%m%d-%H%M%S)"
    mkdir -p "$keep"
    cp "$log" "$keep/" || true
    cp "$out/artifacts/$t/"* "$keep/" 2>/dev/null || true
    summary+=("FAIL $t (exit $rc, ${execs:-?} executions): ${bad:-see log}; inputs and log in $keep")
  else
    summary+=("ok   $t: ${execs:-?} executions in ${seconds}s | ${done_line:-no DONE line}")
  fi
done

echo "fuzz/run: ${seconds}s per target"
printf '  %s\n' "${summary[@]}"
exit "$status"
