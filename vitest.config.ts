// Tests run in forked processes: each loads the native addon and real SQLite (better-sqlite3)
// on its own, and crash or lock tests must not share a process with unrelated files.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
