// The test-only sync-point facility (native/src/os/sync_point.h, test build of the addon): an
// armed point really pauses the threadpool thread that reaches it, until released or reset,
// while the main thread runs real SQLite (better-sqlite3) against the same files; an unarmed
// point, or one whose arrivals are used up, does not pause; waitArrived times out (or ends at a
// reset) when nothing arrives; and each point the core names is reached by the operation that
// should reach it. Databases are made and judged by real SQLite.
import { backup, checkpoint, LitevaultError, pauseAt, testBinding, arm, waitArrived, release, resetSyncPoints } from './oracle/testing-addon.js';
import BetterSqlite3 from 'better-sqlite3';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite.js';

const dir = tmpDir('litevault-syncpoint-');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);
const openHandles = new Set<BetterSqlite3.Database>();

afterEach(() => {
  resetSyncPoints();
  for (const db of openHandles) if (db.open) db.close();
  openHandles.clear();
});
afterAll(removeTmpDirs);

function betterSqlite(file: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(file, { timeout: 0 });
  openHandles.add(db);
  return db;
}

// A database of `rows` rows made by the sqlite3 shell; 1 KiB pages so a few rows span pages.
function realDb(name: string, rows: number, journal: 'delete' | 'wal' = 'delete'): string {
  const f = fresh(name);
  sqliteShell(
    f,
    `PRAGMA page_size=1024; PRAGMA journal_mode=${journal}; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ` +
      `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${rows}) INSERT INTO t SELECT i, hex(randomblob(100)) FROM c;`,
  );
  return f;
}

// Resolves to whether `p` is still pending after `ms`.
async function stillPending(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(ms);
  return !settled;
}

describe('sync points pause the thread that reaches them', () => {
  it('the test process has threads to spare for paused steps (UV_THREADPOOL_SIZE >= 8)', () => {
    expect(Number(process.env.UV_THREADPOOL_SIZE)).toBeGreaterThanOrEqual(8);
  });

  it('a backup step pauses at backup-step-begin until released, while better-sqlite3 commits to its source; the copy then holds that commit', async () => {
    const src = realDb('src.db', 200);
    const dst = fresh('dst.db');
    arm('backup-step-begin');
    const running = backup(src, dst, { pagesPerStep: -1 });
    expect(await waitArrived('backup-step-begin', 10_000)).toBe(true);
    // Paused before the step took any source lock: a writer with no busy timeout commits.
    const writer = betterSqlite(src);
    writer.exec("INSERT INTO t(v) VALUES ('committed while the step was paused')");
    expect(await stillPending(running, 300)).toBe(true);
    release('backup-step-begin');
    const result = await running;
    expect(result.restarts).toBe(0);
    expect(integrityCheck(dst)).toBe('ok');
    expect(sqliteShell(dst, "SELECT count(*) FROM t WHERE v = 'committed while the step was paused';").trim()).toBe('1');
    expect(logicalDump(dst)).toBe(logicalDump(src));
  });

  it('paused at backup-after-copy, the step holds SHARED on a rollback source: better-sqlite3 cannot commit until the release', async () => {
    const src = realDb('src.db', 200);
    const dst = fresh('dst.db');
    const before = logicalDump(src);
    await pauseAt(
      'backup-after-copy',
      () => backup(src, dst, { pagesPerStep: -1, mode: 'restart' }),
      () => {
        const writer = betterSqlite(src);
        expect(writer.prepare('SELECT count(*) AS c FROM t').get()).toEqual({ c: 200 }); // readers share
        let err: unknown;
        try {
          writer.exec("INSERT INTO t(v) VALUES ('too early')");
        } catch (e) {
          err = e;
        }
        expect((err as { code?: string } | undefined)?.code).toBe('SQLITE_BUSY');
        writer.close();
      },
    );
    expect(logicalDump(dst)).toBe(before);
    const writer = betterSqlite(src);
    writer.exec("INSERT INTO t(v) VALUES ('after the release')");
    expect(integrityCheck(src)).toBe('ok');
  });

  it('with nothing armed, operations pass every point without pausing', async () => {
    const src = realDb('src.db', 50, 'wal');
    const dst = fresh('dst.db');
    await backup(src, dst, { pagesPerStep: 3 });
    await checkpoint(src, { mode: 'truncate' });
    expect(await waitArrived('backup-step-begin', 50)).toBe(false);
    expect(logicalDump(dst)).toBe(logicalDump(src));
  });

  it('arm(name, 2) pauses exactly the next two arrivals; a release lets go only of the thread paused then', async () => {
    const src = realDb('src.db', 100);
    const dst = fresh('dst.db');
    let steps = 0;
    arm('backup-step-begin', 2);
    const running = backup(src, dst, { pagesPerStep: 8, onProgress: () => steps++ });
    expect(await waitArrived('backup-step-begin', 10_000)).toBe(true);
    expect(await stillPending(running, 200)).toBe(true);
    expect(steps).toBe(0);
    release('backup-step-begin');
    expect(await waitArrived('backup-step-begin', 10_000)).toBe(true); // the second step
    expect(steps).toBe(1);
    release('backup-step-begin');
    const result = await running; // the third and later steps were not armed
    expect(result.steps).toBeGreaterThan(2);
    expect(logicalDump(dst)).toBe(logicalDump(src));
  });

  it('waitArrived times out when nothing arrives, and a reset ends a pending wait at once', async () => {
    arm('after-header-read');
    let started = Date.now();
    expect(await waitArrived('after-header-read', 300)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    started = Date.now();
    const waiting = waitArrived('after-header-read', 20_000);
    await sleep(100);
    resetSyncPoints();
    expect(await waiting).toBe(false);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reset releases a paused step and disarms what was armed', async () => {
    const src = realDb('src.db', 100);
    const dst = fresh('dst.db');
    arm('backup-step-begin', 5);
    const running = backup(src, dst, { pagesPerStep: 2 });
    expect(await waitArrived('backup-step-begin', 10_000)).toBe(true);
    expect(await stillPending(running, 200)).toBe(true);
    resetSyncPoints();
    const result = await running; // no later step pauses, although 4 arrivals were armed
    expect(result.steps).toBeGreaterThan(5);
    expect(await waitArrived('backup-step-begin', 50)).toBe(false);
    expect(integrityCheck(dst)).toBe('ok');
  });

  it('pauseAt rejects when the operation ends without reaching the point, and leaves nothing armed', async () => {
    const src = realDb('src.db', 10, 'wal');
    // A checkpoint of a WAL with nothing to copy never reaches checkpoint-before-nbackfill.
    await checkpoint(src, { mode: 'truncate' });
    await expect(pauseAt('checkpoint-before-nbackfill', () => checkpoint(src), () => undefined)).rejects.toThrow(/without reaching/);
    const dst = fresh('dst.db');
    await backup(src, dst); // would hang if anything were still armed
  });

  it('bad arguments are SQLITE_MISUSE', async () => {
    const misuse = (f: () => unknown): void => {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LitevaultError);
      expect((err as LitevaultError).code).toBe('SQLITE_MISUSE');
    };
    misuse(() => testBinding.syncPointArm('', 1));
    misuse(() => testBinding.syncPointArm('x', 0));
    misuse(() => testBinding.syncPointArm('x', 1.5));
    misuse(() => testBinding.syncPointRelease(42 as unknown as string));
    await expect(testBinding.syncPointWait('x', 30_001)).rejects.toMatchObject({ code: 'SQLITE_MISUSE' });
    await expect(testBinding.syncPointWait('x', -1)).rejects.toMatchObject({ code: 'SQLITE_MISUSE' });
  });
});

describe('the core reaches each named point', () => {
  // WAL source with frames still in the -wal: a backup's read transaction passes the pager's
  // three points and its step the backup's two; a checkpoint with frames to copy passes its own.
  const cases: Array<[string, (src: string) => Promise<unknown>]> = [
    ['after-shared-lock', (src) => backup(src, fresh('dst.db'))],
    ['after-header-read', (src) => backup(src, fresh('dst.db'))],
    ['before-wal-read-lock', (src) => backup(src, fresh('dst.db'))],
    ['backup-step-begin', (src) => backup(src, fresh('dst.db'))],
    ['backup-after-copy', (src) => backup(src, fresh('dst.db'))],
    ['checkpoint-before-nbackfill', (src) => checkpoint(src, { mode: 'passive' })],
  ];
  for (const [point, operation] of cases) {
    it(`${point}: reached, paused, and the operation completes after the release`, async () => {
      const src = fresh('src.db');
      const keep = betterSqlite(src);
      keep.pragma('journal_mode = wal');
      keep.pragma('wal_autocheckpoint = 0');
      keep.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3);');
      let readWhilePaused: unknown;
      await pauseAt(point, () => operation(src), () => {
        readWhilePaused = keep.prepare('SELECT count(*) AS c FROM t').get(); // a reader is never blocked
      });
      expect(readWhilePaused).toEqual({ c: 3 });
      keep.close();
      expect(integrityCheck(src)).toBe('ok');
    });
  }
});
