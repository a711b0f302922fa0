// In-process interleavings on ONE source handle (issue 10: "backup + checkpoint + second backup on
// one handle"), with better-sqlite3 committing in this same process and the sqlite3 shell judging.
// Each backup's copy must equal SQLite's view of the source at the snapshot it finally copied.
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Backup, Checkpoint, checkpoint, Database, pauseAt, resetSyncPoints } from './oracle/testing-addon.js';
import { createDatabase } from './oracle/corpus';
import { integrityCheck, logicalDump, removeTmpDirs, tmpDir } from './oracle/sqlite';

afterAll(removeTmpDirs);
afterEach(resetSyncPoints);
const opened: Database[] = [];
async function open(file: string, options?: Parameters<typeof Database.open>[1]): Promise<Database> {
  const db = await Database.open(file, options);
  opened.push(db);
  return db;
}
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close().catch(() => undefined);
});

function setUp(): { dir: string; src: string; writer: BetterSqlite3.Database } {
  const dir = tmpDir('litevault-interleave-');
  const src = path.join(dir, 'src.db');
  createDatabase(src, { journalMode: 'wal', keepWal: true, targetBytes: 256 * 1024 });
  const writer = new BetterSqlite3(src, { timeout: 300 });
  writer.pragma('wal_autocheckpoint = 0');
  return { dir, src, writer };
}

function commit(writer: BetterSqlite3.Database, tag: string, rows = 200): void {
  writer.prepare(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${rows}) INSERT INTO t(k, v) SELECT ? || i, zeroblob(300) FROM c`).run(tag);
}

const view = (db: string): string => logicalDump(db, { readOnlyUri: true });

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe('backup + checkpoint + second backup on one source handle', () => {
  it('restart mode: both backups notice the commits that the checkpoint and the other backup read first; each copy equals SQLite view', async () => {
    const { dir, src, writer } = setUp();
    try {
      const a = await open(src);
      const o1 = await open(path.join(dir, 'o1.db'), { create: true });
      const o2 = await open(path.join(dir, 'o2.db'), { create: true });
      const b1 = new Backup(a, o1, { mode: 'restart' });
      expect((await b1.step(2)).done).toBe(false);
      commit(writer, 'one');
      await checkpoint(a, { mode: 'passive' }); // reads the new header on handle A first
      const b2 = new Backup(a, o2, { mode: 'restart' });
      expect((await b2.step(2)).done).toBe(false); // and so does the second backup
      commit(writer, 'two');
      await checkpoint(a, { mode: 'passive' });
      const expected = view(src);
      const r1 = await b1.step(-1);
      const r2 = await b2.step(-1);
      expect(r1.done && r2.done).toBe(true);
      expect(r1.restarts).toBeGreaterThanOrEqual(1);
      expect(r2.restarts).toBeGreaterThanOrEqual(1);
      await b1.finish();
      await b2.finish();
      for (const out of ['o1.db', 'o2.db']) {
        expect(integrityCheck(path.join(dir, out))).toBe('ok');
        expect(logicalDump(path.join(dir, out))).toBe(expected);
      }
    } finally {
      writer.close();
    }
  });

  it('snapshot mode: the checkpoint is LOCKED and the second backup waits (LOCKED) while the first pins A; each copy equals SQLite view at its snapshot', async () => {
    const { dir, src, writer } = setUp();
    try {
      const a = await open(src);
      const o1 = await open(path.join(dir, 'o1.db'), { create: true });
      const o2 = await open(path.join(dir, 'o2.db'), { create: true });
      const atPin = view(src);
      const b1 = new Backup(a, o1, { mode: 'snapshot' });
      expect((await b1.step(1)).done).toBe(false);
      commit(writer, 'one');
      const cp = new Checkpoint(a, { mode: 'passive' });
      expect(await codeOf(cp.step())).toBe('SQLITE_LOCKED');
      await cp.finish();
      const b2 = new Backup(a, o2, { mode: 'snapshot' });
      expect(await codeOf(b2.step(1))).toBe('SQLITE_LOCKED'); // one read transaction per handle
      commit(writer, 'two');
      // SQLite's own checkpoint cannot pass the pinned snapshot, and cannot restart the WAL.
      const full = writer.pragma('wal_checkpoint(RESTART)', { simple: false }) as Array<{ busy: number }>;
      expect(full[0]!.busy).toBe(1);
      expect((await b1.step(-1)).done).toBe(true);
      await b1.finish();
      const later = view(src);
      expect((await b2.step(-1)).done).toBe(true);
      await b2.finish();
      expect(integrityCheck(path.join(dir, 'o1.db'))).toBe('ok');
      expect(logicalDump(path.join(dir, 'o1.db'))).toBe(atPin);
      expect(logicalDump(path.join(dir, 'o2.db'))).toBe(later);
      expect(later).not.toBe(atPin);
    } finally {
      writer.close();
    }
  });

  it('a SQLite commit while the first backup step is paused after its header read is seen by the next step (sync point after-header-read)', async () => {
    const { dir, src, writer } = setUp();
    try {
      const a = await open(src);
      const o1 = await open(path.join(dir, 'o1.db'), { create: true });
      const b1 = new Backup(a, o1, { mode: 'restart' });
      const first = await pauseAt('after-header-read', () => b1.step(2), () => commit(writer, 'paused'));
      expect(first.done).toBe(false);
      await checkpoint(a, { mode: 'passive' });
      const expected = view(src);
      const rest = await b1.step(-1);
      expect(rest.done).toBe(true);
      await b1.finish();
      expect(integrityCheck(path.join(dir, 'o1.db'))).toBe('ok');
      expect(logicalDump(path.join(dir, 'o1.db'))).toBe(expected);
    } finally {
      writer.close();
    }
  });
});
