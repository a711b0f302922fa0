// backup(), the one-call form, always finishes and waits for locks no longer than it was told:
// - under a real-SQLite writer committing ~200 times a second, a 'restart'-mode copy (the default
//   for rollback-journal sources, and --mode restart on WAL sources) holds the source's read
//   lock after `maxRestarts` restarts, reports `heldLock: true`, and the copy is a consistent
//   ledger that SQLite itself judges;
// - `busyTimeout` is the total time spent waiting: a sqlite3 process holding a write lock makes
//   the backup fail with SQLITE_BUSY after about busyTimeout, not twice that.
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { backup, LitevaultError, type BackupProgress } from '../dist/index.js';
import { createDatabase } from './oracle/corpus.js';
import { holdInShell, type ShellHolder } from './oracle/holders.js';
import { integrityCheck, removeTmpDirs, tmpDir } from './oracle/sqlite.js';
import { checkLedger, startWriter, type Writer } from './oracle/writer.js';
import { rejection } from './oracle/expect';

const MIB = 1024 * 1024;
const dir = tmpDir('litevault-finishes-');
const writers = new Set<Writer>();
const holders = new Set<ShellHolder>();
afterEach(async () => {
  for (const w of writers) await w.kill('SIGKILL');
  writers.clear();
  for (const h of holders) h.child.kill('SIGKILL');
  holders.clear();
});
afterAll(removeTmpDirs);

describe('backup() always finishes under a busy writer', () => {
  for (const journalMode of ['delete', 'wal'] as const) {
    it(`${journalMode === 'wal' ? 'a WAL source in restart mode' : 'a rollback-journal source'} at ~200 commits/s: after maxRestarts restarts it holds the read lock, finishes with heldLock, and the copy is a valid ledger`, async () => {
      const src = path.join(dir, `busy-${journalMode}.db`);
      const dst = path.join(dir, `busy-${journalMode}-copy.db`);
      createDatabase(src, { targetBytes: 6 * MIB });
      const writer = await startWriter(src, { commitsPerSecond: 200, journalMode, busyTimeoutMs: 20_000 });
      writers.add(writer);
      const progress: BackupProgress[] = [];
      let commitsAtHold = -1;
      const result = await backup(src, dst, {
        pagesPerStep: 4,
        maxRestarts: 3,
        mode: journalMode === 'wal' ? 'restart' : undefined,
        onProgress: (p) => {
          if (p.heldLock && commitsAtHold < 0) commitsAtHold = writer.commits();
          progress.push(p);
        },
      });
      // The writer goes on once the backup lets go of the source.
      const target = writer.commits() + 5;
      while (writer.commits() < target) await new Promise((r) => setTimeout(r, 20));
      const stopped = await writer.stop();
      writers.delete(writer);

      expect(result.heldLock).toBe(true);
      expect(result.restarts).toBeGreaterThanOrEqual(3);
      expect(result.restarts).toBeLessThanOrEqual(4); // at most once more when the lock is taken
      expect(result.mode).toBe('snapshot');
      const firstHeld = progress.findIndex((p) => p.heldLock);
      expect(firstHeld).toBeGreaterThanOrEqual(0);
      expect(progress[firstHeld]!.restarts).toBeGreaterThanOrEqual(3);
      expect(progress.every((p, i) => p.heldLock === i >= firstHeld)).toBe(true);
      expect(integrityCheck(dst)).toBe('ok');
      const ledger = checkLedger(dst);
      expect(ledger.ok).toBe(true);
      expect(ledger.maxSeq).toBeGreaterThan(0);
      expect(stopped.commits).toBeGreaterThan(ledger.maxSeq);
      expect(checkLedger(src).ok).toBe(true);
    });
  }

  it('maxRestarts is checked: a negative or fractional value is SQLITE_MISUSE', async () => {
    const src = path.join(dir, 'small.db');
    createDatabase(src, { targetBytes: 64 * 1024 });
    for (const maxRestarts of [-1, 1.5, Number.NaN]) {
      expect((await rejection(backup(src, path.join(dir, 'x.db'), { maxRestarts }))).code).toBe('SQLITE_MISUSE');
    }
  });
});

describe('busyTimeout is the total time a backup waits', () => {
  for (const journalMode of ['delete', 'wal'] as const) {
    it(`a sqlite3 process holding EXCLUSIVE on a ${journalMode === 'wal' ? 'WAL' : 'rollback-journal'} source: SQLITE_BUSY after about busyTimeout (< 1.5x), retryable`, async () => {
      const src = path.join(dir, `held-${journalMode}.db`);
      createDatabase(src, { targetBytes: 256 * 1024, journalMode });
      // In WAL mode EXCLUSIVE locking mode is what keeps every reader out (SQLite's own readers too).
      const holder = await holdInShell(src, journalMode === 'wal' ? 'PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;' : 'BEGIN EXCLUSIVE;');
      holders.add(holder);
      try {
        for (const busyTimeout of [500, 1500]) {
          const started = Date.now();
          const err = await rejection(backup(src, path.join(dir, `held-copy-${busyTimeout}.db`), { busyTimeout }));
          const ms = Date.now() - started;
          expect(err.code).toBe('SQLITE_BUSY');
          expect(err.retryable).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(busyTimeout - 50);
          expect(ms).toBeLessThan(busyTimeout * 1.5 + 150);
        }
      } finally {
        await holder.release();
        holders.delete(holder);
      }
    });
  }
});
