// Tests run in forked processes: each loads the native addon and real SQLite (better-sqlite3)
// on its own, and crash or lock tests must not share a process with unrelated files.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Passed to every forked test process at spawn, before libuv starts its pool: an
    // interleaving test's paused step holds a threadpool thread (test/oracle/testing-addon.ts).
    env: { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '8' },
  },
});
