// Backup next to real SQLite (rollback-journal databases): litevault's backup must roll back a
// hot journal a killed SQLite writer left (in the source or the destination), exactly as SQLite's
// own reader would; restart and still end in one committed state while a SQLite process commits
// between steps; hold the source's SHARED lock only during a step and the destination's EXCLUSIVE
// lock until the copy is done; honour SQLite's PENDING and RESERVED locks (with a live journal
// left alone); never drop the POSIX locks better-sqlite3 holds in this same process; leave, when
// killed mid-copy, a journal that real SQLite rolls back to the old destination; and report
// SQLITE_BUSY as retryable, leaving the handle usable. Databases are created, written and judged
// only by real SQLite (the sqlite3 shell and better-sqlite3); lock state is read from /proc/locks.
import BetterSqlite3 from 'better-sqlite3';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Backup, backup, Database, LitevaultError, type BackupStepResult } from '../dist/index.js';
import { createDatabase } from './oracle/corpus.js';
import { integrityCheck, logicalDump, removeTmpDirs, SQLITE3_BIN, shellError, sqliteShell, tmpDir } from './oracle/sqlite.js';
import { hasLock, holdInShell as holdShell, locksOn, type ShellHolder } from './oracle/holders.js';
import { checkLedger, startWriter, type Writer, type WriterStopped } from './oracle/writer.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const ro = { readOnlyUri: true } as const;
// SQLite's lock bytes (os_unix.c): PENDING, RESERVED, then the 510-byte SHARED range.
const PENDING_BYTE = 0x40000000;
const RESERVED_BYTE = PENDING_BYTE + 1;
const SHARED_FIRST = PENDING_BYTE + 2;
const SHARED_LAST = SHARED_FIRST + 510 - 1;
const JOURNAL_MAGIC = 0xd9d505f9;

const dir = tmpDir('litevault-backup-interop-');
const holders = new Set<ChildProcessWithoutNullStreams>();
const writers = new Set<Writer>();
const openHandles = new Set<BetterSqlite3.Database>();

afterEach(async () => {
  for (const h of holders) h.kill('SIGKILL');
  holders.clear();
  for (const w of writers) await w.kill('SIGKILL');
  writers.clear();
  for (const db of openHandles) if (db.open) db.close();
  openHandles.clear();
});
afterAll(removeTmpDirs);

/** holdInShell (test/oracle/holders.ts), with the holder killed by afterEach if a test fails. */
async function holdInShell(db: string, sql: string): Promise<ShellHolder> {
  const held = await holdShell(db, sql);
  holders.add(held.child);
  return {
    ...held,
    async release(): Promise<void> {
      try {
        await held.release();
      } finally {
        holders.delete(held.child);
      }
    },
  };
}

/**
 * Leaves a HOT rollback journal beside `db`: a better-sqlite3 child with a 10-page cache spills a
 * big uncommitted transaction into the database file, then SIGKILLs itself.
 */
function leaveHotJournal(db: string): void {
  const bs3 = createRequire(import.meta.url).resolve('better-sqlite3');
  const script = `
    const Database = require(${JSON.stringify(bs3)});
    const db = new Database(${JSON.stringify(db)});
    db.pragma('cache_size = 10');
    db.exec('BEGIN');
    const ins = db.prepare('INSERT INTO t(k, v) VALUES (?, ?)');
    for (let i = 0; i < 3000; i++) ins.run('hot' + i, Buffer.alloc(300, i));
    db.exec('UPDATE t SET v = zeroblob(10)');
    process.kill(process.pid, 'SIGKILL');`;
  const r = spawnSync(process.execPath, ['-e', script]);
  expect(r.signal).toBe('SIGKILL');
}

/** step(pages), retried after a short sleep for as long as it fails with a retryable error. */
async function stepRetrying(b: Backup, pages: number, busy: { count: number }): Promise<BackupStepResult> {
  for (;;) {
    try {
      return await b.step(pages);
    } catch (err) {
      if (!(err instanceof LitevaultError) || !err.retryable) throw err;
      busy.count++;
      await sleep(5);
    }
  }
}

/** A step that must fail: returns the error and how long the call took. */
async function failingStep(b: Backup, pages: number): Promise<{ err: unknown; ms: number }> {
  const t0 = Date.now();
  const err = await b.step(pages).then(
    (r) => new Error(`step unexpectedly succeeded: ${JSON.stringify(r)}`),
    (e: unknown) => e,
  );
  return { err, ms: Date.now() - t0 };
}

describe('backup and real SQLite in other processes', () => {
  it('a hot journal left by a killed real-SQLite writer is rolled back before copying', async () => {
    const src = join(dir, 'hot.db');
    const dst = join(dir, 'hot-copy.db');
    createDatabase(src, { targetBytes: 256 * KIB });
    const before = logicalDump(src);
    const bytesBefore = readFileSync(src);

    leaveHotJournal(src);
    const journal = readFileSync(src + '-journal');
    expect(journal.length).toBeGreaterThan(0);
    expect(journal.readUInt32BE(0)).toBe(JOURNAL_MAGIC);
    // The crash really changed the database file (the spill), so a rollback is needed.
    expect(readFileSync(src).equals(bytesBefore)).toBe(false);

    const result = await backup(src, dst);

    // The source was rolled back by litevault, not by the judge: a read-only SQLite open
    // refuses a hot journal, and SQLite's rollback would have deleted the journal and truncated
    // the file back to its size before the transaction, restoring every byte.
    expect(existsSync(src + '-journal')).toBe(false);
    expect(integrityCheck(src, ro)).toBe('ok');
    expect(logicalDump(src, ro)).toBe(before);
    expect(statSync(src).size).toBe(bytesBefore.length);
    expect(readFileSync(src).equals(bytesBefore)).toBe(true);

    expect(result.pageCount).toBe(bytesBefore.length / 4096);
    expect(result.pageSize).toBe(4096);
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(before);
  });

  it('with a real-SQLite writer process committing in a loop, a stepped backup restarts and ends in a consistent committed state', async () => {
    const src = join(dir, 'ledger.db');
    const dst = join(dir, 'ledger-copy.db');
    createDatabase(src, { targetBytes: 3 * MIB });
    const writer = await startWriter(src, { commitsPerSecond: 200, journalMode: 'delete' });
    writers.add(writer);

    const s = await Database.open(src, { busyTimeout: 20 });
    const d = await Database.open(dst, { create: true, busyTimeout: 20 });
    const b = new Backup(s, d);
    const PAGES = 16;
    // Let the writer interleave with the copy for a while (about half a second) before stopping it.
    const RESTARTS_BEFORE_STOP = 10;
    const COMMITS_BEFORE_STOP = 80;
    const busy = { count: 0 };
    const deadline = Date.now() + 30_000;
    let stopped: WriterStopped | undefined;
    let restartsWhileRunning = 0;
    let commitsAtFirstStep = -1;
    let prev: BackupStepResult | undefined;
    let last: BackupStepResult;
    let steps = 0;
    try {
      for (;;) {
        if (Date.now() > deadline) throw new Error(`backup did not finish in 30 s (steps ${steps}, last ${JSON.stringify(prev)})`);
        last = await stepRetrying(b, PAGES, busy);
        steps++;
        if (commitsAtFirstStep < 0) commitsAtFirstStep = writer.commits();
        // A restart starts the copy over at page 1: this step copied pages 1..16 again.
        if (prev !== undefined && last.restarts > prev.restarts && !last.done) {
          expect(last.remaining).toBe(last.pageCount - PAGES);
        }
        prev = last;
        if (last.done) break;
        if (stopped === undefined && last.restarts >= RESTARTS_BEFORE_STOP && writer.commits() - commitsAtFirstStep >= COMMITS_BEFORE_STOP) {
          // SQLite's documented behaviour: a copy that keeps restarting finishes only once the
          // source stops changing for a whole pass.
          restartsWhileRunning = last.restarts;
          stopped = await writer.stop();
          writers.delete(writer);
        }
        await sleep(10); // the writer commits between steps
      }
      await b.finish();
    } finally {
      if (!b.finished) await b.finish().catch(() => undefined);
      await s.close();
      await d.close();
    }
    console.log(
      `writer backup: ${steps} steps, ${last.restarts} restarts (${restartsWhileRunning} while the writer ran), ` +
        `${busy.count} busy retries, writer commits ${String(stopped?.commits)}`,
    );
    // The copy is one committed state of the source, whatever happened while it was taken.
    expect(integrityCheck(dst)).toBe('ok');
    const ledger = checkLedger(dst);
    expect(ledger.ok).toBe(true);
    expect(last.done).toBe(true);
    // The copy could not finish while the writer changed the source between steps.
    expect(stopped).toBeDefined();
    expect(restartsWhileRunning).toBeGreaterThanOrEqual(RESTARTS_BEFORE_STOP);
    expect(stopped!.commits - commitsAtFirstStep).toBeGreaterThanOrEqual(COMMITS_BEFORE_STOP);
    expect(last.restarts).toBeGreaterThanOrEqual(restartsWhileRunning);
    // Nothing wrote after the writer stopped, so the copy holds its last commit.
    expect(ledger.maxSeq).toBe(stopped!.commits);
    expect(logicalDump(dst)).toBe(logicalDump(src));
    expect(integrityCheck(src)).toBe('ok');
  });

  it('with a real-SQLite writer committing, one-step backups finish without restarts and every copy is a valid ledger', async () => {
    const src = join(dir, 'ledger-one.db');
    createDatabase(src, { targetBytes: 1 * MIB });
    const writer = await startWriter(src, { commitsPerSecond: 400, journalMode: 'delete' });
    writers.add(writer);
    const copies: Array<{ path: string; low: number; high: number }> = [];
    try {
      for (let i = 0; i < 5; i++) {
        const dst = join(dir, `ledger-one-${i}.db`);
        const low = writer.commits();
        const r = await backup(src, dst, { pagesPerStep: -1, busyTimeout: 2000 });
        expect(r.steps).toBe(1);
        expect(r.restarts).toBe(0);
        copies.push({ path: dst, low, high: writer.commits() });
        await sleep(20);
      }
    } finally {
      const stopped = await writer.stop();
      writers.delete(writer);
      expect(stopped.commits).toBeGreaterThan(copies.length);
    }
    for (const c of copies) {
      expect(integrityCheck(c.path)).toBe('ok');
      const ledger = checkLedger(c.path);
      expect(ledger.ok).toBe(true);
      // Reports lag by up to 25 ms, so the copy may hold a few commits more than `high` says.
      expect(ledger.maxSeq).toBeGreaterThanOrEqual(c.low);
    }
    // The writer really committed between the copies.
    expect(new Set(copies.map((c) => checkLedger(c.path).maxSeq)).size).toBeGreaterThan(1);
  });

  it('the source holds SHARED only during a step: between steps another process can write, while the destination stays locked until finish', async () => {
    const src = join(dir, 'between.db');
    const dst = join(dir, 'between-copy.db');
    createDatabase(src, { targetBytes: 512 * KIB });
    // The destination already holds an older database, which readers must not see half-overwritten.
    createDatabase(dst, { pageSize: 1024 });
    const s = await Database.open(src, { busyTimeout: 0 });
    const d = await Database.open(dst, { busyTimeout: 0 });
    const b = new Backup(s, d);
    try {
      const r1 = await b.step(16);
      expect(r1.done).toBe(false);
      expect(r1.remaining).toBe(r1.pageCount - 16);

      // Between steps nobody holds any lock on the source...
      expect(locksOn(src)).toEqual([]);
      // ...so a writer with no busy wait commits at once, and can even take EXCLUSIVE.
      sqliteShell(src, ".timeout 0\nINSERT INTO t(k, v) VALUES ('written-between-steps', x'0102');\n");
      sqliteShell(src, '.timeout 0\nBEGIN EXCLUSIVE;\nCOMMIT;\n');

      // The destination is held EXCLUSIVE (write locks on PENDING, RESERVED and SHARED).
      const dstLocks = locksOn(dst);
      expect(hasLock(dstLocks, 'OFDLCK', 'WRITE', SHARED_FIRST, SHARED_LAST)).toBe(true);
      expect(hasLock(dstLocks, 'OFDLCK', 'WRITE', PENDING_BYTE, PENDING_BYTE)).toBe(true);
      expect(shellError(dst, '.timeout 0\nSELECT count(*) FROM sqlite_schema;\n')).toMatch(/database is locked/);

      // The source changed between steps: the next step starts over at page 1.
      const r2 = await b.step(16);
      expect(r2.restarts).toBe(1);
      expect(r2.remaining).toBe(r2.pageCount - 16);
      expect(locksOn(src)).toEqual([]);
      expect(shellError(dst, '.timeout 0\nSELECT count(*) FROM sqlite_schema;\n')).toMatch(/database is locked/);

      let r = r2;
      while (!r.done) {
        expect(shellError(src, '.timeout 0\nBEGIN EXCLUSIVE;\nCOMMIT;\n')).toBe('');
        r = await b.step(16);
      }
      expect(r.restarts).toBe(1);
      await b.finish();
    } finally {
      if (!b.finished) await b.finish().catch(() => undefined);
      await s.close();
      await d.close();
    }
    expect(locksOn(dst)).toEqual([]);
    expect(sqliteShell(dst, '.timeout 0\nSELECT count(*) FROM sqlite_schema;\n').trim()).not.toBe('');
    expect(integrityCheck(dst)).toBe('ok');
    const copy = logicalDump(dst);
    expect(copy).toContain('written-between-steps');
    expect(copy).toBe(logicalDump(src));
  });
});

describe('crashes on the destination side', () => {
  it('a hot journal left in the destination by a killed real-SQLite writer is rolled back before the backup writes, so an unfinished backup leaves the pre-crash content', async () => {
    const src = join(dir, 'dsthot-src.db');
    const dst = join(dir, 'dsthot.db');
    createDatabase(src, { targetBytes: 128 * KIB, overflow: true });
    createDatabase(dst, { targetBytes: 256 * KIB });
    const before = logicalDump(dst);
    const bytesBefore = readFileSync(dst);
    leaveHotJournal(dst);
    expect(readFileSync(dst + '-journal').readUInt32BE(0)).toBe(JOURNAL_MAGIC);
    expect(readFileSync(dst).equals(bytesBefore)).toBe(false);

    const s = await Database.open(src);
    const d = await Database.open(dst);
    const b = new Backup(s, d);
    try {
      const r = await b.step(10);
      expect(r.done).toBe(false);
    } finally {
      await b.finish(); // not done: rolls our writes back
      await s.close();
      await d.close();
    }
    // Judged read-only, so the judge could not have rolled anything back itself.
    expect(existsSync(dst + '-journal')).toBe(false);
    expect(integrityCheck(dst, ro)).toBe('ok');
    expect(logicalDump(dst, ro)).toBe(before);
    expect(readFileSync(dst).equals(bytesBefore)).toBe(true);

    await backup(src, dst);
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(logicalDump(src));
  });

  it.each([
    [4096, 4096],
    [4096, 1024],
    [1024, 4096],
  ])(
    'a backup process SIGKILLed mid-copy (source pages %i, destination pages %i) leaves a hot journal that real SQLite rolls back to the old destination',
    (srcPage, dstPage) => {
      const src = join(dir, `killed-src-${srcPage}-${dstPage}.db`);
      const dst = join(dir, `killed-dst-${srcPage}-${dstPage}.db`);
      createDatabase(src, { pageSize: srcPage, targetBytes: 384 * KIB, overflow: true });
      // Smaller than what three steps copy when the source's pages are big: the copy extends the file.
      createDatabase(dst, { pageSize: dstPage, targetBytes: 64 * KIB, freePages: 4 });
      const before = logicalDump(dst);
      const bytesBefore = readFileSync(dst);

      const child = join(__dirname, 'fixtures', 'interop-backup-kill.cjs');
      const distIndex = join(__dirname, '..', 'dist', 'index.js');
      const r = spawnSync(process.execPath, [child, distIndex, src, dst, '3', '16'], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.signal).toBe('SIGKILL');
      const last = JSON.parse(r.stdout) as BackupStepResult;
      expect(last.done).toBe(false);
      expect(last.remaining).toBe(last.pageCount - 48);
      // The destination was really overwritten, and the journal is hot (SQLite's magic).
      expect(readFileSync(dst).equals(bytesBefore)).toBe(false);
      if (48 * srcPage > bytesBefore.length) expect(statSync(dst).size).toBeGreaterThan(bytesBefore.length);
      expect(readFileSync(dst + '-journal').readUInt32BE(0)).toBe(JOURNAL_MAGIC);
      // Real SQLite sees a hot journal: a read-only open refuses it...
      expect(() => integrityCheck(dst, ro)).toThrow(/readonly/);
      // ...and a read-write open rolls it back to the old database, byte for byte.
      expect(integrityCheck(dst)).toBe('ok');
      expect(existsSync(dst + '-journal')).toBe(false);
      expect(logicalDump(dst)).toBe(before);
      expect(readFileSync(dst).equals(bytesBefore)).toBe(true);
      // The source was only read.
      expect(integrityCheck(src, ro)).toBe('ok');
    },
  );
});

describe('backup and better-sqlite3 in this process', () => {
  it('better-sqlite3 in this process keeps its SHARED lock after our handle on the same file closes', async () => {
    const src = join(dir, 'inproc.db');
    const dst = join(dir, 'inproc-copy.db');
    createDatabase(src, { targetBytes: 128 * KIB });
    const before = logicalDump(src);

    const bs = new BetterSqlite3(src);
    openHandles.add(bs);
    bs.exec('BEGIN');
    expect(bs.prepare('SELECT count(*) AS n FROM t').get()).toMatchObject({ n: expect.any(Number) });
    // better-sqlite3's SHARED lock: a POSIX read lock on the SHARED range, owned by this process.
    expect(hasLock(locksOn(src), 'POSIX', 'READ', SHARED_FIRST, SHARED_LAST, process.pid)).toBe(true);

    const result = await backup(src, dst); // opens, locks, unlocks and closes its own handle on src
    expect(result.pageCount).toBeGreaterThan(1);

    // The lock is still there, in the kernel and as another SQLite process sees it.
    expect(hasLock(locksOn(src), 'POSIX', 'READ', SHARED_FIRST, SHARED_LAST, process.pid)).toBe(true);
    expect(locksOn(src).filter((l) => l.kind !== 'POSIX')).toEqual([]); // and none of ours is left
    expect(shellError(src, '.timeout 0\nBEGIN EXCLUSIVE;\nCOMMIT;\n')).toMatch(/database is locked/);

    // better-sqlite3 still works on its connection, and ending its transaction frees the file.
    expect(bs.prepare('SELECT count(*) AS n FROM t').get()).toMatchObject({ n: expect.any(Number) });
    bs.exec('COMMIT');
    expect(locksOn(src)).toEqual([]);
    expect(shellError(src, '.timeout 0\nBEGIN EXCLUSIVE;\nCOMMIT;\n')).toBe('');
    bs.prepare("INSERT INTO t(k, v) VALUES ('after-backup', x'00')").run();
    bs.close();

    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(before);
    expect(integrityCheck(src)).toBe('ok');
    expect(logicalDump(src)).toContain('after-backup');
  });

  it('while better-sqlite3 in this process holds RESERVED with a live journal, the backup reads the committed state and leaves the journal alone, as a SQLite reader does', async () => {
    const src = join(dir, 'reserved.db');
    const dst = join(dir, 'reserved-copy.db');
    createDatabase(src, { targetBytes: 128 * KIB });
    const before = logicalDump(src);

    const bs = new BetterSqlite3(src);
    openHandles.add(bs);
    // synchronous=OFF makes SQLite write the journal magic at once, so the live journal looks
    // exactly like a hot one; only the RESERVED lock says that a writer owns it.
    bs.pragma('synchronous = OFF');
    bs.exec('BEGIN IMMEDIATE');
    bs.prepare("UPDATE t SET k = 'uncommitted' WHERE id = 1").run();
    const journal = readFileSync(src + '-journal');
    expect(journal.readUInt32BE(0)).toBe(JOURNAL_MAGIC);
    const srcLocks = locksOn(src);
    expect(hasLock(srcLocks, 'POSIX', 'WRITE', RESERVED_BYTE, RESERVED_BYTE, process.pid)).toBe(true);
    expect(hasLock(srcLocks, 'POSIX', 'READ', SHARED_FIRST, SHARED_LAST, process.pid)).toBe(true);
    // What SQLite itself does: another process reads the committed state during RESERVED.
    expect(sqliteShell(src, ".timeout 0\nSELECT k FROM t WHERE id = 1;\n").trim()).toBe('k00000001');

    const result = await backup(src, dst, { busyTimeout: 500 });
    expect(result.pageCount).toBeGreaterThan(1);

    // The live journal is untouched and better-sqlite3 still holds RESERVED.
    expect(readFileSync(src + '-journal').equals(journal)).toBe(true);
    expect(hasLock(locksOn(src), 'POSIX', 'WRITE', RESERVED_BYTE, RESERVED_BYTE, process.pid)).toBe(true);
    expect(shellError(src, '.timeout 0\nBEGIN IMMEDIATE;\nCOMMIT;\n')).toMatch(/database is locked/);

    bs.exec('COMMIT');
    bs.close();
    expect(existsSync(src + '-journal')).toBe(false);
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(before);
    expect(sqliteShell(src, 'SELECT k FROM t WHERE id = 1;\n').trim()).toBe('uncommitted');
    expect(integrityCheck(src)).toBe('ok');
  });
  it('better-sqlite3 in this process reading the destination makes a step BUSY, and its connection then sees the copied database', async () => {
    const src = join(dir, 'inproc-dst-src.db');
    const dst = join(dir, 'inproc-dst.db');
    createDatabase(src, { targetBytes: 128 * KIB, overflow: true });
    createDatabase(dst, { pageSize: 1024 });
    const bs = new BetterSqlite3(dst);
    openHandles.add(bs);
    // Cache the old schema and pages in better-sqlite3's connection.
    expect(bs.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'big'").get()).toEqual({ n: 0 });
    bs.exec('BEGIN');
    bs.prepare('SELECT count(*) FROM t').get();

    const s = await Database.open(src, { busyTimeout: 50 });
    const d = await Database.open(dst, { busyTimeout: 50 });
    const b = new Backup(s, d);
    try {
      // Its SHARED lock (a POSIX lock of this process) keeps our EXCLUSIVE out, as it would keep
      // out another SQLite connection.
      const { err } = await failingStep(b, 10);
      expect(err).toBeInstanceOf(LitevaultError);
      expect(err).toMatchObject({ code: 'SQLITE_BUSY', retryable: true });
      expect(locksOn(dst).filter((l) => l.kind === 'OFDLCK')).toEqual([]);
      expect(hasLock(locksOn(dst), 'POSIX', 'READ', SHARED_FIRST, SHARED_LAST, process.pid)).toBe(true);
      bs.exec('COMMIT');

      let r = await b.step(10);
      while (!r.done) r = await b.step(10);
      await b.finish();
    } finally {
      if (!b.finished) await b.finish().catch(() => undefined);
      await s.close();
      await d.close();
    }
    // The same better-sqlite3 connection notices the new change counter and schema cookie.
    expect(bs.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'big'").get()).toEqual({ n: 1 });
    expect(bs.pragma('page_size', { simple: true })).toBe(4096);
    expect(bs.pragma('integrity_check', { simple: true })).toBe('ok');
    bs.prepare("INSERT INTO t(k, v) VALUES ('written-by-better-sqlite3', x'04')").run();
    bs.close();
    expect(integrityCheck(dst)).toBe('ok');
    const copy = logicalDump(dst);
    expect(copy).toContain('written-by-better-sqlite3');
    expect(copy.replace(/INSERT INTO t VALUES\(\d+,'written-by-better-sqlite3',X'04'\);\n/, '')).toBe(logicalDump(src));
  });
});


describe('SQLITE_BUSY', () => {
  it('BUSY on a source held EXCLUSIVE by a sqlite3 process is retryable and leaves the handle usable', async () => {
    const src = join(dir, 'busy-src.db');
    const dst = join(dir, 'busy-src-copy.db');
    createDatabase(src, { targetBytes: 256 * KIB });
    createDatabase(dst, { pageSize: 1024 });
    const dstBefore = logicalDump(dst);
    const s = await Database.open(src, { busyTimeout: 50 });
    const d = await Database.open(dst, { busyTimeout: 50 });
    const b = new Backup(s, d);
    try {
      // The first step: the source cannot be read.
      let holder = await holdInShell(src, 'BEGIN EXCLUSIVE;');
      const first = await failingStep(b, 10);
      expect(first.err).toBeInstanceOf(LitevaultError);
      expect(first.err).toMatchObject({ code: 'SQLITE_BUSY', retryable: true });
      expect(first.ms).toBeGreaterThanOrEqual(45); // the busy timeout was waited out
      expect(first.ms).toBeLessThan(5000);
      // The failed step took no lock on the destination: another process reads it.
      expect(locksOn(dst)).toEqual([]);
      expect(logicalDump(dst)).toBe(dstBefore);
      await holder.release();

      const r1 = await b.step(10);
      expect(r1.done).toBe(false);
      expect(r1.remaining).toBe(r1.pageCount - 10);

      // A later step: BUSY again, and the destination stays held with the progress kept.
      holder = await holdInShell(src, 'BEGIN EXCLUSIVE;');
      const later = await failingStep(b, 10);
      expect(later.err).toMatchObject({ code: 'SQLITE_BUSY', retryable: true });
      expect(shellError(dst, '.timeout 0\nSELECT count(*) FROM sqlite_schema;\n')).toMatch(/database is locked/);
      expect(b.remaining).toBe(r1.remaining);
      await holder.release();

      let r = await b.step(10);
      // An EXCLUSIVE transaction that wrote nothing did not change the source: no restart.
      expect(r.restarts).toBe(0);
      expect(r.remaining).toBe(r1.remaining - 10);
      while (!r.done) r = await b.step(10);
      await b.finish();
    } finally {
      if (!b.finished) await b.finish().catch(() => undefined);
      await s.close();
      await d.close();
    }
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(logicalDump(src));
  });

  it('BUSY on a destination held EXCLUSIVE by a sqlite3 process is retryable and leaves the handle usable', async () => {
    const src = join(dir, 'busy-dst.db');
    const dst = join(dir, 'busy-dst-copy.db');
    createDatabase(src, { targetBytes: 256 * KIB });
    createDatabase(dst, { pageSize: 1024 });
    const s = await Database.open(src, { busyTimeout: 50 });
    const d = await Database.open(dst, { busyTimeout: 50 });
    const b = new Backup(s, d);
    try {
      const holder = await holdInShell(dst, 'BEGIN EXCLUSIVE;');
      const first = await failingStep(b, 10);
      expect(first.err).toBeInstanceOf(LitevaultError);
      expect(first.err).toMatchObject({ code: 'SQLITE_BUSY', retryable: true });
      expect(first.ms).toBeGreaterThanOrEqual(45);
      expect(first.ms).toBeLessThan(5000);
      // The failed step released the source: a writer without busy wait gets EXCLUSIVE at once.
      expect(locksOn(src)).toEqual([]);
      expect(shellError(src, '.timeout 0\nBEGIN EXCLUSIVE;\nCOMMIT;\n')).toBe('');
      // A second attempt while still held is BUSY too.
      expect((await failingStep(b, 10)).err).toMatchObject({ code: 'SQLITE_BUSY', retryable: true });
      await holder.release();

      let r = await b.step(10);
      expect(r.done).toBe(false);
      expect(r.remaining).toBe(r.pageCount - 10);
      expect(shellError(dst, '.timeout 0\nSELECT count(*) FROM sqlite_schema;\n')).toMatch(/database is locked/);
      while (!r.done) r = await b.step(10);
      expect(r.restarts).toBe(0);
      await b.finish();
    } finally {
      if (!b.finished) await b.finish().catch(() => undefined);
      await s.close();
      await d.close();
    }
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(logicalDump(src));
  });

  it('a real-SQLite writer waiting for EXCLUSIVE (PENDING) makes a step BUSY, as it makes a new SQLite reader BUSY', async () => {
    const src = join(dir, 'pending.db');
    const dst = join(dir, 'pending-copy.db');
    createDatabase(src, { targetBytes: 128 * KIB });
    // Process A reads; process B then wants to commit and waits (with PENDING) for A to finish.
    const reader = await holdInShell(src, 'BEGIN;\nSELECT count(*) FROM t;');
    const writer = spawn(SQLITE3_BIN, ['-bail', '-batch', '-init', '/dev/null', resolve(src)], { stdio: ['pipe', 'pipe', 'pipe'] });
    holders.add(writer);
    let writerErr = '';
    writer.stderr.setEncoding('utf8');
    writer.stderr.on('data', (c: string) => {
      writerErr += c;
    });
    const writerExit = new Promise<number | null>((res) => writer.once('exit', (code) => res(code)));
    writer.stdin.end(".timeout 20000\nBEGIN IMMEDIATE;\nINSERT INTO t(k, v) VALUES ('after-pending', x'03');\nCOMMIT;\n");
    const until = Date.now() + 10_000;
    while (!hasLock(locksOn(src), 'POSIX', 'WRITE', PENDING_BYTE, PENDING_BYTE, writer.pid)) {
      if (Date.now() > until) throw new Error(`the sqlite3 writer never took PENDING: ${writerErr}`);
      await sleep(5);
    }
    // What SQLite does: no new reader while a writer waits for EXCLUSIVE.
    expect(shellError(src, '.timeout 0\nSELECT count(*) FROM t;\n')).toMatch(/database is locked/);

    const s = await Database.open(src, { busyTimeout: 50 });
    const d = await Database.open(dst, { create: true, busyTimeout: 50 });
    const b = new Backup(s, d);
    try {
      const first = await failingStep(b, 10);
      expect(first.err).toBeInstanceOf(LitevaultError);
      expect(first.err).toMatchObject({ code: 'SQLITE_BUSY', retryable: true });
      // The failed step left no lock of ours that could hold the writer up.
      expect(locksOn(src).filter((l) => l.kind === 'OFDLCK')).toEqual([]);

      await reader.release();
      expect(await writerExit).toBe(0);
      holders.delete(writer);
      expect(writerErr).toBe('');

      let r = await b.step(10);
      while (!r.done) r = await b.step(10);
      expect(r.restarts).toBe(0);
      await b.finish();
    } finally {
      if (!b.finished) await b.finish().catch(() => undefined);
      await s.close();
      await d.close();
    }
    expect(integrityCheck(dst)).toBe('ok');
    const copy = logicalDump(dst);
    expect(copy).toContain('after-pending');
    expect(copy).toBe(logicalDump(src));
  });
});
