// Tests run in forked processes: each loads the native addon and real SQLite (better-sqlite3)
// on its own, and crash or lock tests must not share a process with unrelated files.
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The sanitizer run (scripts/test-asan.sh, LITEVAULT_SANITIZED=1) leaves out what exercises no
    // native code of its own beyond what the rest covers: packaging and build checks, the CLI's
    // argument handling, the SIGKILL trial suites (their children run the same paths the
    // other tests run in-process), and the remote-vault tests (test/vault-s3.test.ts,
    // test/vault-remote-faults.test.ts, and the s3 runs of the storage-parameterized ones:
    // test/oracle/vault-places.ts), whose native code is the directory runs'. `npm test` runs
    // everything.
    exclude:
      process.env.LITEVAULT_SANITIZED === '1'
        ? [...configDefaults.exclude, 'test/install.test.ts', 'test/build-sources.test.ts', 'test/binary-baseline.test.ts', 'test/cli.test.ts', 'test/vault-cli.test.ts', 'test/backup-crash.test.ts', 'test/checkpoint-crash.test.ts', 'test/vault-crash.test.ts', 'test/vault-s3.test.ts', 'test/vault-remote-faults.test.ts']
        : configDefaults.exclude,
    pool: 'forks',
    // The sanitizer run takes two test files at a time, also on a 2-core machine (vitest's
    // default there is one): it leaves out the kill-trial files, one of which holds a
    // statistical bound that needs the machine to itself (checkpoint-crash: a WAL kept to a
    // third of the control's under load), and the rest wait on child processes, lock timeouts
    // and fsync more than they compute. `npm test` runs one file at a time (a two-file run
    // failed that bound once). LITEVAULT_TEST_FORKS overrides both.
    poolOptions: { forks: { maxForks: Number(process.env.LITEVAULT_TEST_FORKS ?? (process.env.LITEVAULT_SANITIZED === '1' ? 2 : 1)), minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Passed to every forked test process at spawn, before libuv starts its pool: an
    // interleaving test's paused step holds a threadpool thread (test/oracle/testing-addon.ts).
    env: { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '8' },
  },
});
