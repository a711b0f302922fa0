// Tests run in forked processes: each loads the native addon and real SQLite (better-sqlite3)
// on its own, and crash or lock tests must not share a process with unrelated files.
import { configDefaults, defineConfig } from 'vitest/config';

// Files that need the machine to themselves (scripts/test.js runs them after the rest, one at a
// time): checkpoint-crash holds a statistical bound (a WAL kept to a third of the control's under
// load), vault-writer a rate (a backup a second beside a writer), and the SIGKILL trial suites
// and the replication torture time their kills against a writer.
export const SERIAL_FILES = ['test/checkpoint-crash.test.ts', 'test/vault-writer.test.ts', 'test/backup-crash.test.ts', 'test/vault-crash.test.ts', 'test/replication.test.ts'];

// The sanitizer run (scripts/test-asan.sh, LITEVAULT_SANITIZED=1) leaves out what exercises no
// native code of its own beyond what the rest covers: packaging and build checks, the CLI's
// argument handling, the SIGKILL trial suites (their children run the same paths the other tests
// run in-process), the remote-vault tests (test/vault-s3.test.ts, test/vault-remote-faults.test.ts,
// and the s3 runs of the storage-parameterized ones: test/oracle/vault-places.ts), whose native
// code is the directory runs', and the vault suites that repeat the scan and restore paths
// vault-native, vault-damage and vault-retention already run under it (vault-chains' 78 chains,
// the vault-writer and vault-concurrency soaks, the stream suite's destroy trials; stream's
// native writer is backup-finishes' and new-destination's; vault-encryption's 49 tests, whose
// encryption is TypeScript over node:crypto around the same native scans and restores, took 95 s
// of the sanitizer run). `npm test` runs everything.
const SANITIZER_EXCLUDED = [
  'test/install.test.ts', 'test/build-sources.test.ts', 'test/binary-baseline.test.ts', 'test/cli.test.ts', 'test/vault-cli.test.ts',
  'test/backup-crash.test.ts', 'test/checkpoint-crash.test.ts', 'test/vault-crash.test.ts', 'test/vault-s3.test.ts', 'test/vault-remote-faults.test.ts',
  'test/vault-chains.test.ts', 'test/vault-writer.test.ts', 'test/vault-concurrency.test.ts', 'test/stream.test.ts', 'test/replication.test.ts',
  'test/vault-encryption.test.ts',
];

const sanitized = process.env.LITEVAULT_SANITIZED === '1';
const pass = process.env.LITEVAULT_TEST_PASS; // scripts/test.js: 'parallel' | 'serial'; unset: every file
const include = pass === 'serial' ? SERIAL_FILES : ['test/**/*.test.ts'];
const exclude = [...configDefaults.exclude, ...(sanitized ? SANITIZER_EXCLUDED : []), ...(pass === 'parallel' ? SERIAL_FILES : [])];
const forks = Number(process.env.LITEVAULT_TEST_FORKS ?? (pass === 'serial' ? 1 : 2));

export default defineConfig({
  test: {
    include,
    exclude,
    pool: 'forks',
    // Two files at a time, also on a 2-core machine (vitest's default there is one), except the
    // serial pass (above). LITEVAULT_TEST_FORKS overrides.
    poolOptions: { forks: { maxForks: forks, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Passed to every forked test process at spawn, before libuv starts its pool: an
    // interleaving test's paused step holds a threadpool thread (test/oracle/testing-addon.ts).
    env: { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '8' },
  },
});
