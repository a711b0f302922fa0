// The WAL follower (native/src/wal/wal_follow.h, binding.WalFollower) next to real SQLite: the
// transactions it reads, applied as a restore applies them, give the bytes SQLite's own
// checkpoint gives; WAL restarts by the application are told apart as docs/replication.md
// "Restarts by others" proves them (restarted: nothing lost; anything unprovable: gap); the
// shipped TRUNCATE empties the -wal with SQLite's data intact; and the proof's two reads hold
// under a real writer placed between them by a sync point. Real SQLite (better-sqlite3 in this
// process, the sqlite3 shell in others) writes every database and judges every result.
import { LitevaultError, pauseAt, resetSyncPoints, testBinding } from './oracle/testing-addon.js';
import BetterSqlite3 from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { NativeFollowPosition, NativeWalFollower } from '../dist/binding.js';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite.js';

const dir = tmpDir('litevault-wal-follow-');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);
const PAGE = 1024;
const MAX = 256 << 20;
const apps = new Set<BetterSqlite3.Database>();
const followers = new Set<NativeWalFollower>();

afterEach(async () => {
  resetSyncPoints();
  for (const f of followers) await f.close();
  followers.clear();
  for (const db of apps) if (db.open) db.close();
  apps.clear();
});
afterAll(removeTmpDirs);

// A WAL database of 1 KiB pages with auto_vacuum=FULL (a DELETE shrinks the file at commit),
// its -wal empty; `base` is a copy of its file at that point.
function walDb(name: string): { db: string; base: string } {
  const db = fresh(name);
  sqliteShell(
    db,
    `PRAGMA page_size=${PAGE}; PRAGMA auto_vacuum=FULL; PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); ` +
      `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 20) INSERT INTO t SELECT i, randomblob(300) FROM s; PRAGMA wal_checkpoint(TRUNCATE);`,
  );
  const base = fresh(`${name}-base`);
  fs.copyFileSync(db, base);
  return { db, base };
}

// The application: real SQLite in this process, no automatic checkpoints (the tests restart
// the WAL when they mean to), no waiting for locks.
function app(db: string): BetterSqlite3.Database {
  const c = new BetterSqlite3(db, { timeout: 0 });
  c.pragma('wal_autocheckpoint = 0');
  apps.add(c);
  return c;
}

function follower(db: string, busyTimeout = 2000, holdTimeout?: number): NativeWalFollower {
  const f = new testBinding.WalFollower(db, holdTimeout === undefined ? { busyTimeout } : { busyTimeout, holdTimeout });
  followers.add(f);
  return f;
}

const insert = (c: BetterSqlite3.Database, rows: number, bytes = 300): void => {
  c.prepare('WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) INSERT INTO t(v) SELECT randomblob(?) FROM s').run(rows, bytes);
};
// A backfill of every frame by the application; its next commit restarts the WAL (salt-1 + 1).
const backfill = (c: BetterSqlite3.Database): void => {
  const [r] = c.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
  expect(r.checkpointed).toBe(r.log);
};

interface Rec {
  txid: number;
  recordedAt: number;
  endFrame: number;
  pageCount: number;
  pages: [number, Buffer][];
}

// Segment records (docs/vault-format.md "Segment"), checked as a reader checks them.
function parseRecords(buf: Buffer | null): Rec[] {
  const out: Rec[] = [];
  let o = 0;
  while (buf && o < buf.length) {
    const rec: Rec = {
      txid: Number(buf.readBigUInt64LE(o)),
      recordedAt: Number(buf.readBigInt64LE(o + 8)),
      endFrame: buf.readUInt32LE(o + 16),
      pageCount: buf.readUInt32LE(o + 20),
      pages: [],
    };
    const k = buf.readUInt32LE(o + 24);
    o += 28;
    expect(k).toBeGreaterThan(0);
    for (let i = 0; i < k; i++) {
      const pgno = buf.readUInt32LE(o);
      if (i > 0) expect(pgno).toBeGreaterThan(rec.pages[i - 1][0]);
      expect(pgno).toBeLessThanOrEqual(rec.pageCount);
      rec.pages.push([pgno, buf.subarray(o + 4, o + 4 + PAGE)]);
      o += 4 + PAGE;
    }
    out.push(rec);
  }
  expect(o).toBe(buf ? buf.length : 0);
  return out;
}

// After a shipped TRUNCATE: the -wal is one frame, page 1 exactly as the database file holds
// it, a commit frame of the generation the result names.
function expectSeed(db: string, t: { salt1: number; salt2: number; frame: number }): void {
  const wal = fs.readFileSync(db + '-wal');
  expect(wal.length).toBe(32 + 24 + PAGE);
  expect([wal.readUInt32BE(16), wal.readUInt32BE(20)]).toEqual([t.salt1, t.salt2]);
  expect(wal.readUInt32BE(32)).toBe(1); // page 1
  expect(wal.readUInt32BE(36)).toBe(fs.statSync(db).size / PAGE); // commit: the database's size
  expect([wal.readUInt32BE(40), wal.readUInt32BE(44)]).toEqual([t.salt1, t.salt2]);
  expect(wal.subarray(56).equals(fs.readFileSync(db).subarray(0, PAGE))).toBe(true);
}

// What a restore does with records: every page written, the file cut to the page count.
function applyRecords(file: string, recs: Rec[]): void {
  const fd = fs.openSync(file, 'r+');
  for (const r of recs) {
    for (const [pgno, image] of r.pages) fs.writeSync(fd, image, 0, PAGE, (pgno - 1) * PAGE);
    fs.ftruncateSync(fd, r.pageCount * PAGE);
  }
  fs.closeSync(fd);
}

// The database file SQLite's own checkpoint makes of db and its -wal now (on a copy).
function sqliteImage(db: string): Buffer {
  const d = tmpDir('litevault-wal-follow-image-');
  const copy = path.join(d, 'image.db');
  fs.copyFileSync(db, copy);
  if (fs.existsSync(db + '-wal')) fs.copyFileSync(db + '-wal', copy + '-wal');
  sqliteShell(copy, 'PRAGMA wal_checkpoint(TRUNCATE);');
  return fs.readFileSync(copy);
}

// Polls from `position`, applies what it returns to `replica`, and checks the replica is
// byte for byte what SQLite's checkpoint of the source gives.
async function pollAndCompare(f: NativeWalFollower, db: string, replica: string, position: NativeFollowPosition, firstTxid: number) {
  const r = await f.poll(position, firstTxid, 1234, MAX);
  const recs = parseRecords(r.records);
  expect(recs.length).toBe(r.transactions);
  recs.forEach((rec, i) => {
    expect(rec.txid).toBe(firstTxid + i);
    expect(rec.recordedAt).toBe(1234);
  });
  if (recs.length > 0) {
    expect(r.firstFrame).toBe(recs[0].endFrame);
    expect(r.lastFrame).toBe(recs[recs.length - 1].endFrame);
    expect(r.position!.frame).toBe(r.lastFrame);
  }
  applyRecords(replica, recs);
  if (r.status === 'same' || r.status === 'restarted') {
    expect(r.position!.frame).toBe(r.mxFrame);
    expect(fs.readFileSync(replica).equals(sqliteImage(db))).toBe(true);
  }
  return { r, recs };
}

// The follower's anchor, as a backup's snapshot gives it: the current generation, frame 0, checksum unknown.
async function anchor(f: NativeWalFollower): Promise<NativeFollowPosition> {
  const r = await f.poll(null, 1, 0, MAX);
  expect(r.wal).toBe(true);
  expect(r.status).toBe('gap');
  expect(r.position).toBeNull();
  return { salt1: r.salt1, salt2: r.salt2, frame: 0, checksum: null };
}

// Generations 0 (a long one: its frames stay in the file past the shorter ones), then 1, whose
// frames are all shipped; returns the replica and the position at the end of generation 1.
async function shippedSecondGeneration(name: string) {
  const { db, base } = walDb(name);
  const c = app(db);
  const f = follower(db);
  insert(c, 60); // generation 0: many frames
  const g0 = await anchor(f);
  const { r: r0 } = await pollAndCompare(f, db, base, g0, 1);
  expect(r0.mxFrame).toBeGreaterThan(20);
  backfill(c);
  for (let i = 0; i < 3; i++) insert(c, 2); // generation 1 (salt-1 + 1): a few frames
  // Frame F+1 of generation 0 lies past the end of the -wal: unprovable, a gap (the test
  // knows generation 0 was all shipped, and anchors in generation 1 as a heal would).
  const cut = await f.poll(r0.position!, 1, 0, MAX);
  expect(cut.status).toBe('gap');
  expect(cut.salt1).toBe(r0.salt1 + 1);
  const { r } = await pollAndCompare(f, db, base, await anchor(f), 1 + r0.transactions);
  expect(r.status).toBe('same');
  expect(r.transactions).toBe(3);
  expect(r.mxFrame).toBeLessThan(r0.mxFrame - 2);
  return { db, base, c, f, position: r.position!, nextTxid: 1 + r0.transactions + r.transactions };
}

describe('WalFollower: transactions as SQLite committed them', () => {
  it('records applied to a copy give the bytes of SQLite checkpoint after each poll (growing, shrinking, several per poll)', async () => {
    const { db, base } = walDb('replay');
    const c = app(db);
    const f = follower(db);
    insert(c, 1);
    let position = await anchor(f);
    let txid = 1;
    const step = async (commit: () => void, expected: number) => {
      commit();
      const { r } = await pollAndCompare(f, db, base, position, txid);
      expect(r.status).toBe('same');
      expect(r.transactions).toBe(expected);
      txid += r.transactions;
      position = r.position!;
      expect(position.checksum).not.toBeNull();
    };
    await step(() => undefined, 1); // the commit before the anchor, from frame 1 (checksum recomputed)
    await step(() => insert(c, 40, 900), 1); // grows by many pages
    await step(() => c.prepare('UPDATE t SET v = randomblob(310) WHERE id % 3 = 0').run(), 1);
    await step(() => c.prepare('DELETE FROM t WHERE id > 15').run(), 1); // auto_vacuum: the file shrinks
    await step(() => {
      // three transactions in one poll; one page written twice in a transaction
      c.transaction(() => {
        c.prepare('UPDATE t SET v = x\'01\' WHERE id = 1').run();
        c.prepare('UPDATE t SET v = x\'02\' WHERE id = 1').run();
      })();
      insert(c, 5);
      c.prepare('DELETE FROM t WHERE id % 2 = 0').run();
    }, 3);
    await step(() => undefined, 0); // nothing new: same, position unchanged
    expect(integrityCheck(base)).toBe('ok');
    expect(logicalDump(base)).toBe(logicalDump(db));
  });

  it('a rollback-mode database is wal: false; a position another WAL never had is a gap', async () => {
    const rollback = fresh('rollback');
    sqliteShell(rollback, 'CREATE TABLE t(x); INSERT INTO t VALUES (1);');
    const r = await follower(rollback).poll(null, 1, 0, MAX);
    expect(r.wal).toBe(false);

    const { db } = walDb('foreign');
    const c = app(db);
    insert(c, 3);
    const f = follower(db);
    const g = await anchor(f);
    expect((await f.poll(g, 1, 0, MAX)).status).toBe('same');
    // the right generation, a wrong checksum: not this WAL's frame
    const same = await f.poll({ ...g, frame: 0, checksum: [1, 2] }, 1, 0, MAX);
    expect(same.status).toBe('gap');
    expect(same.position).toBeNull();
    // past mxFrame
    expect((await f.poll({ ...g, frame: 1000, checksum: null }, 1, 0, MAX)).status).toBe('gap');
  });

  it('oversize: a transaction bigger than maxBytes stops the poll after the transactions before it', async () => {
    const { db } = walDb('oversize');
    const c = app(db);
    const f = follower(db);
    insert(c, 1);
    const g = await anchor(f);
    insert(c, 30, 900); // about 30 pages
    const r = await f.poll(g, 7, 0, 8 * PAGE);
    expect(r.status).toBe('oversize');
    expect(r.transactions).toBe(1);
    expect(parseRecords(r.records)[0].txid).toBe(7);
    expect(r.position!.frame).toBe(r.lastFrame);
    expect(r.lastFrame).toBeLessThan(r.mxFrame);
  });
});

describe('WalFollower: restarts by the application (docs/replication.md "Restarts by others")', () => {
  it('restarted after everything was shipped: the new generation from frame 1, nothing lost', async () => {
    const { db, base, c, f, position, nextTxid } = await shippedSecondGeneration('restarted');
    backfill(c);
    insert(c, 1); // generation 2: one frame; frame F+1 is generation 0's
    const { r } = await pollAndCompare(f, db, base, position, nextTxid);
    expect(r.status).toBe('restarted');
    expect(r.salt1).toBe(position.salt1 + 1);
    expect(r.firstFrame).toBe(1);
    expect(logicalDump(base)).toBe(logicalDump(db));
  });

  it('gap: the application committed more before restarting', async () => {
    const { c, f, position } = await shippedSecondGeneration('more-first');
    insert(c, 2); // unshipped frames F+1.. of generation 1
    backfill(c);
    insert(c, 1);
    const r = await f.poll(position, 1, 0, MAX);
    expect(r.status).toBe('gap');
    expect(r.transactions).toBe(0);
    expect(r.position).toBeNull();
  });

  it('gap: two restarts (salt-1 + 2)', async () => {
    const { c, f, position } = await shippedSecondGeneration('two');
    backfill(c);
    insert(c, 1);
    backfill(c);
    insert(c, 1);
    const r = await f.poll(position, 1, 0, MAX);
    expect(r.salt1).toBe(position.salt1 + 2);
    expect(r.status).toBe('gap');
  });

  it("gap: the application's TRUNCATE checkpoint (frame F is gone), before and after its next commit", async () => {
    const { db, c, f, position } = await shippedSecondGeneration('app-truncate');
    c.pragma('wal_checkpoint(TRUNCATE)');
    expect(fs.statSync(db + '-wal').size).toBe(0);
    expect((await f.poll(position, 1, 0, MAX)).status).toBe('gap');
    insert(c, 1);
    expect((await f.poll(position, 1, 0, MAX)).status).toBe('gap');
  });

  it('gap: frame F+1 past the end of the file is not a proof (the WAL may have been cut there)', async () => {
    const { db, base } = walDb('eof');
    const c = app(db);
    const f = follower(db);
    insert(c, 2);
    const g = await anchor(f);
    const { r } = await pollAndCompare(f, db, base, g, 1);
    expect(fs.statSync(db + '-wal').size).toBe(32 + r.mxFrame * (PAGE + 24));
    backfill(c);
    insert(c, 1);
    expect((await f.poll(r.position!, 1, 0, MAX)).status).toBe('gap');
  });
});

describe('WalFollower: the shipped TRUNCATE', () => {
  it('ships what is left, blocks writers only while held, leaves the seed frame alone in the -wal and SQLite data intact', async () => {
    const { db, base, c, f, position, nextTxid } = await shippedSecondGeneration('truncate');
    insert(c, 4, 800); // unshipped
    c.prepare('DELETE FROM t WHERE id < 10').run();
    const r = await f.lockForTruncate(position, nextTxid, 99, MAX, true);
    expect(r.locked).toBe(true);
    expect(r.truncate).toBeNull();
    expect(r.status).toBe('same');
    expect(r.transactions).toBe(2);
    expect(r.position!.frame).toBe(r.mxFrame);
    applyRecords(base, parseRecords(r.records));
    expect(() => insert(c, 1)).toThrow(/SQLITE_BUSY|locked/); // WRITE is ours
    const t = await f.finishTruncate(true);
    expect(t).toMatchObject({ truncated: true, busy: false, salt1: r.salt1 + 1, frame: 1 });
    expectSeed(db, t);
    expect(fs.readFileSync(base).equals(fs.readFileSync(db))).toBe(true); // everything backfilled, file cut to size
    expect(sqliteImage(db).equals(fs.readFileSync(base))).toBe(true); // SQLite's checkpoint of the seed changes nothing
    expect(integrityCheck(db, { readOnlyUri: true })).toBe('ok');
    expect(logicalDump(base)).toBe(logicalDump(db));
    insert(c, 1); // writers go on
    expect(c.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: expect.any(Number) });
  });

  it('with nothing left to ship it truncates in the same call and holds nothing after it', async () => {
    const { db, base, c, f, position } = await shippedSecondGeneration('truncate-at-once');
    const r = await f.lockForTruncate(position, 1, 0, MAX, true);
    expect(r).toMatchObject({ status: 'same', transactions: 0, locked: false });
    expect(r.truncate).toMatchObject({ truncated: true, busy: false, salt1: r.salt1 + 1, frame: 1 });
    expectSeed(db, r.truncate!);
    expect(fs.readFileSync(base).equals(fs.readFileSync(db))).toBe(true);
    insert(c, 1); // c waits for nothing (timeout 0): WRITE and CKPT are free
    expect(integrityCheck(db, { readOnlyUri: true })).toBe('ok');
    await expect(f.finishTruncate(true)).rejects.toThrow(LitevaultError); // no hold to finish
  });

  it('a hold ends after holdTimeout without JavaScript: a synchronous writer on this very thread waiting for WRITE gets it, and finishTruncate is busy', async () => {
    const { db, base, c, position, nextTxid } = await shippedSecondGeneration('truncate-hold');
    const f = follower(db, 100, 300);
    insert(c, 2); // unshipped: lockForTruncate returns holding the locks
    const r = await f.lockForTruncate(position, nextTxid, 0, MAX, true);
    expect(r.locked).toBe(true);
    // This thread now blocks inside SQLite's busy handler (better-sqlite3 is synchronous), as an
    // application's connection in the replicator's own process would: no JavaScript can run, so
    // only the handle's watchdog can let it in before its 10 s busy timeout.
    const waiting = new BetterSqlite3(db, { timeout: 10_000 });
    apps.add(waiting);
    waiting.pragma('wal_autocheckpoint = 0');
    const started = Date.now();
    insert(waiting, 1);
    const waited = Date.now() - started;
    expect(waited).toBeLessThan(5_000); // released by the watchdog (300 ms), not by SQLite giving up
    const t = await f.finishTruncate(true);
    expect(t).toMatchObject({ truncated: false, busy: true, salt1: r.salt1, salt2: r.salt2 });
    expect(fs.statSync(db + '-wal').size).toBeGreaterThan(0); // nothing was checkpointed
    expect(integrityCheck(db, { readOnlyUri: true })).toBe('ok');
    // The follower goes on from what it returned: the writer's commit is the next transaction.
    const next = await f.poll(r.position!, nextTxid + r.transactions, 0, MAX);
    expect(next).toMatchObject({ status: 'same', transactions: 1 });
    applyRecords(base, parseRecords(r.records).concat(parseRecords(next.records)));
    expect(logicalDump(base)).toBe(logicalDump(db));
  });

  it('without hold, transactions to ship release the locks at once and come back as from poll()', async () => {
    const { db, base, c, f, position, nextTxid } = await shippedSecondGeneration('truncate-no-hold');
    insert(c, 2);
    const r = await f.lockForTruncate(position, nextTxid, 0, MAX, false);
    expect(r).toMatchObject({ status: 'same', transactions: 1, locked: false, truncate: null });
    insert(c, 1); // c waits for nothing (timeout 0): nothing is held
    await expect(f.finishTruncate(true)).rejects.toThrow(LitevaultError);
    const next = await f.poll(r.position!, nextTxid + 1, 0, MAX);
    expect(next.transactions).toBe(1);
    applyRecords(base, parseRecords(r.records).concat(parseRecords(next.records)));
    expect(logicalDump(base)).toBe(logicalDump(db));
  });

  it('after it, the next generation continues from the seed frame, also for a writer that never restarted a WAL (nCkpt == 0)', async () => {
    const { db, c, f, position } = await shippedSecondGeneration('after-truncate');
    const first = await f.lockForTruncate(position, 1, 0, MAX, true);
    expect(first.locked).toBe(false);
    const t = first.truncate!;
    expect(t).toMatchObject({ truncated: true, frame: 1 });
    const after = { salt1: t.salt1, salt2: t.salt2, frame: t.frame, checksum: t.checksum };
    const empty = await f.poll(after, 1, 0, MAX);
    expect(empty).toMatchObject({ status: 'same', transactions: 0, mxFrame: 1, position: after });
    insert(c, 1); // c restarted a WAL before (walRestartHdr counted nCkpt)
    const same = await f.poll(after, 1, 0, MAX);
    expect(same).toMatchObject({ status: 'same', transactions: 1, firstFrame: 2, salt1: t.salt1, salt2: t.salt2 });

    // A connection with nCkpt == 0 (it never ran recovery or a restart) writing frame 1 of an
    // empty WAL picks random salts (wal.c walFrames: "if( pWal->nCkpt==0 ) sqlite3_randomness(8,
    // pWal->hdr.aSalt)"); after the seed its first frame is frame 2 of our generation.
    const again = await f.lockForTruncate(same.position!, 2, 0, MAX, true);
    const t2 = again.truncate!;
    expect(t2).toMatchObject({ truncated: true, frame: 1 });
    const other = new BetterSqlite3(db, { timeout: 0 });
    apps.add(other);
    other.pragma('wal_autocheckpoint = 0');
    insert(other, 1);
    const r = await f.poll({ salt1: t2.salt1, salt2: t2.salt2, frame: 1, checksum: t2.checksum }, 3, 0, MAX);
    expect(r).toMatchObject({ status: 'same', transactions: 1, salt1: t2.salt1, salt2: t2.salt2 });
    expect(integrityCheck(db, { readOnlyUri: true })).toBe('ok');
  });

  it('lockForTruncate releases at once on a gap; a reader that stays makes finishTruncate busy, with the locks released', async () => {
    const { c, f, position } = await shippedSecondGeneration('truncate-busy');
    const gap = await f.lockForTruncate({ ...position, checksum: [0, 0] }, 1, 0, MAX, true);
    expect(gap.status).toBe('gap');
    expect(gap.locked).toBe(false);
    insert(c, 1); // no lock was kept
    const reader = new BetterSqlite3(c.name, { timeout: 0 });
    apps.add(reader);
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM t').get(); // a snapshot at the current mxFrame
    const position2 = (await f.poll(position, 1, 0, MAX)).position!;
    insert(c, 1); // a frame the reader does not see
    const quick = follower(c.name, 100);
    const r = await quick.lockForTruncate(position2, 1, 0, MAX, true);
    expect(r.locked).toBe(true);
    const t = await quick.finishTruncate(true);
    expect(t.truncated).toBe(false);
    expect(t.busy).toBe(true);
    reader.exec('COMMIT');
    insert(c, 1); // WRITE was released
    await expect(quick.finishTruncate(true)).rejects.toThrow(LitevaultError);
    await quick.finishTruncate(false);
  });
});

describe('WalFollower: the restart proof under a real writer between its two reads', () => {
  const POINT = 'wal-follow-between-frames';

  it('frames F and F+1 overwritten between the reads of F+1 and F: a gap, never restarted (frames were lost)', async () => {
    const { c, f, position } = await shippedSecondGeneration('race-lost');
    insert(c, 2); // committed, never shipped: lost by the restart below
    backfill(c);
    insert(c, 1); // generation 2, one frame
    const r = await pauseAt(
      POINT,
      () => f.poll(position, 1, 0, MAX),
      () => insert(c, 40, 900), // generation 2 reaches past F+1 while the follower waits
    );
    expect(r.status).toBe('gap');
  });

  it('the same writer when nothing was lost: still a gap (F is no longer intact: the read of F+1 may be torn)', async () => {
    const { c, f, position } = await shippedSecondGeneration('race-kept');
    backfill(c);
    insert(c, 1);
    const r = await pauseAt(POINT, () => f.poll(position, 1, 0, MAX), () => insert(c, 40, 900));
    expect(r.status).toBe('gap');
    // and without the writer in between, the same position is proved
    const { c: c2, f: f2, position: p2 } = await shippedSecondGeneration('race-kept-quiet');
    backfill(c2);
    insert(c2, 1);
    expect((await pauseAt(POINT, () => f2.poll(p2, 1, 0, MAX), () => undefined)).status).toBe('restarted');
  });
});
