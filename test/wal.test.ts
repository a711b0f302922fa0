// litevault as a WAL participant next to real SQLite: snapshot reads while real SQLite commits,
// recovery of the wal-index that SQLite then uses, WALs written by us that SQLite accepts frame
// by frame, torn and damaged WAL tails cut where SQLite cuts them, and big-endian-checksum WALs.
// Real SQLite makes every database and judges every result.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Backup, backup, Database, inspect } from '../dist/index.js';
import { createDatabase } from './oracle/corpus';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, SQLITE3_BIN, tmpDir } from './oracle/sqlite';
import { checkLedger, startWriter } from './oracle/writer';

afterAll(removeTmpDirs);
const dir = tmpDir('litevault-wal-');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);

// A copy of db and of the first `frames` frames of its -wal (no -shm): opened by SQLite, it is
// the database exactly as of WAL frame `frames`, by SQLite's own recovery.
function viewAtFrame(db: string, frames: number, pageSize: number): string {
  const copy = path.join(tmpDir('litevault-view-'), 'view.db');
  fs.copyFileSync(db, copy);
  const wal = fs.readFileSync(db + '-wal');
  fs.writeFileSync(copy + '-wal', wal.subarray(0, 32 + frames * (pageSize + 24)));
  return copy;
}

// A copy of db and its -wal that SQLite may recover, checkpoint and delete freely.
function copyWithWal(db: string): string {
  const copy = path.join(tmpDir('litevault-copy-'), 'copy.db');
  fs.copyFileSync(db, copy);
  if (fs.existsSync(db + '-wal')) fs.copyFileSync(db + '-wal', copy + '-wal');
  return copy;
}

// SQLite's count of committed frames in a WAL (recovery on a copy, then a checkpoint's `log`).
function sqliteWalFrames(db: string): number {
  return JSON.parse(sqliteShell(copyWithWal(db), 'PRAGMA wal_checkpoint(PASSIVE);', { json: true }))[0].log;
}

// A WAL database whose -wal still holds `commits` transactions (written by better-sqlite3 in a
// child that exits without checkpointing).
function walWithFrames(name: string, commits: number, pageSize = 4096): string {
  const db = fresh(name);
  createDatabase(db, { journalMode: 'wal', pageSize, targetBytes: 64 * 1024 });
  const script = `
    const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
    const db = new Database(${JSON.stringify(db)});
    db.pragma('wal_autocheckpoint = 0');
    const ins = db.prepare('INSERT INTO t(k, v) VALUES (?, randomblob(200))');
    for (let i = 0; i < ${commits}; i++) db.transaction(() => { for (let j = 0; j < 20; j++) ins.run('w' + i + '-' + j); })();
    process.exit(0); // no close(): the frames stay in the -wal`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(fs.statSync(db + '-wal').size).toBeGreaterThan(32);
  return db;
}

// What a copy must equal: the writer's ledger tables row for row, and the bulk table by aggregate
// (a .dump of 256 MiB of blobs would not fit in a string).
function contentOf(db: string): string {
  const ledger = sqliteShell(db, '.dump ledger accounts ledger_meta');
  const bulk = sqliteShell(db, 'SELECT count(*), sum(length(v)), total(id), max(k) FROM t;');
  return ledger + bulk;
}

describe('snapshot reads while real SQLite commits', () => {
  const big = fresh('big.db');
  createDatabase(big, { journalMode: 'wal', targetBytes: 256 * 1024 * 1024 });

  for (const rate of [100, 1000]) {
    it(`a snapshot backup of a 256 MiB WAL database under a better-sqlite3 writer at ${rate} commits/s: 0 restarts, integrity ok, exactly the commits up to its snapshot frame`, async () => {
      const src = fresh('ledger.db');
      fs.copyFileSync(big, src);
      const writer = await startWriter(src, { commitsPerSecond: rate, journalMode: 'wal' });
      try {
        await new Promise((r) => setTimeout(r, 200));
        await using s = await Database.open(src);
        const dst = fresh('copy.db');
        await using d = await Database.open(dst, { create: true });
        const b = new Backup(s, d);
        const first = await b.step(1024);
        expect(first.mode).toBe('snapshot');
        const frame = first.snapshotFrame;
        expect(frame).toBeGreaterThan(0);
        // While the snapshot is pinned, frames <= frame cannot be overwritten: take SQLite's view at it.
        const view = viewAtFrame(src, frame, first.pageSize);
        let r = first;
        let writerCommitsDuring = writer.commits();
        while (!r.done) {
          r = await b.step(1024);
          await new Promise((res) => setTimeout(res, 1)); // let the writer commit between steps
        }
        writerCommitsDuring = writer.commits() - writerCommitsDuring;
        await b.finish();
        expect(r.restarts).toBe(0);
        expect(r.snapshotFrame).toBe(frame);
        expect(writerCommitsDuring).toBeGreaterThan(5); // the writer really ran during the copy
        expect(integrityCheck(dst)).toBe('ok');
        const ledger = checkLedger(dst);
        expect(ledger.ok).toBe(true);
        expect(contentOf(dst)).toBe(contentOf(view));
        console.log(`snapshot backup at ${rate} commits/s: ${r.pageCount} pages, snapshot frame ${frame}, ledger rows ${ledger.maxSeq}, writer commits during the copy ${writerCommitsDuring}, restarts ${r.restarts}`);
      } finally {
        await writer.stop();
      }
      expect(checkLedger(src).ok).toBe(true);
    });
  }

  it('restart mode keeps SQLite behaviour: a commit between steps restarts the copy of a WAL source', async () => {
    const src = walWithFrames('restart.db', 3);
    await using s = await Database.open(src);
    await using d = await Database.open(fresh('copy.db'), { create: true });
    const b = new Backup(s, d, { mode: 'restart' });
    const first = await b.step(2);
    expect(first.mode).toBe('restart');
    sqliteShell(src, "INSERT INTO t(k, v) VALUES ('between', x'00');");
    const second = await b.step(2);
    expect(second.restarts).toBe(1);
    await b.step(-1);
    await b.finish();
    expect(integrityCheck(d.path)).toBe('ok');
    expect(logicalDump(d.path)).toBe(logicalDump(copyWithWal(src)));
  });
});

describe('wal-index recovery that SQLite then uses', () => {
  it('with no -shm, our reader rebuilds the index; a SQLite process reading meanwhile uses it and finds every commit', async () => {
    const src = walWithFrames('recover.db', 12);
    const expected = logicalDump(copyWithWal(src));
    fs.rmSync(src + '-shm', { force: true });
    await using s = await Database.open(src);
    await using d = await Database.open(fresh('copy.db'), { create: true });
    const b = new Backup(s, d);
    await b.step(1); // recovery happens here; the snapshot stays pinned, so our DMS lock is held
    const index = (await inspect(src)).wal!.index!;
    expect(index.frames).toBe(sqliteWalFrames(src));
    expect(index.backfilled).toBe(0);
    // SQLite cannot re-initialize the -shm while we hold DMS, so it reads through our index.
    expect(integrityCheck(src)).toBe('ok');
    expect(logicalDump(src)).toBe(expected);
    await b.step(-1);
    await b.finish();
    expect(logicalDump(d.path)).toBe(expected);
  });

  it('a torn last frame and a bad checksum cut the WAL at the last valid commit, as SQLite does', async () => {
    for (const damage of ['torn', 'checksum'] as const) {
      const src = walWithFrames(`${damage}.db`, 10);
      const info = await inspect(src);
      const frameSize = info.wal!.pageSize + 24;
      if (damage === 'torn') {
        fs.truncateSync(src + '-wal', fs.statSync(src + '-wal').size - 700);
      } else {
        const fd = fs.openSync(src + '-wal', 'r+');
        const at = 32 + Math.floor(info.wal!.frames / 2) * frameSize + 24 + 50;
        fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, at);
        fs.closeSync(fd);
      }
      fs.rmSync(src + '-shm', { force: true });
      const expected = logicalDump(copyWithWal(src)); // SQLite's recovery of the damaged WAL
      const copy = fresh('copy.db');
      const result = await backup(src, copy);
      expect(result.snapshotFrame).toBe(sqliteWalFrames(src));
      expect(integrityCheck(copy)).toBe('ok');
      expect(logicalDump(copy)).toBe(expected);
    }
  });

  it('a WAL with big-endian checksums (magic 0x377f0683) is read like SQLite reads it', async () => {
    const src = walWithFrames('be.db', 6, 1024);
    // Re-encode the -wal with big-endian checksum words (the test's own encoder; SQLite is the judge).
    const wal = fs.readFileSync(src + '-wal');
    const sum = (buf: Buffer, s: [number, number]): [number, number] => {
      let [s0, s1] = s;
      for (let i = 0; i < buf.length; i += 8) {
        s0 = (s0 + buf.readUInt32BE(i) + s1) >>> 0;
        s1 = (s1 + buf.readUInt32BE(i + 4) + s0) >>> 0;
      }
      return [s0, s1];
    };
    wal.writeUInt32BE(0x377f0683, 0);
    let s = sum(wal.subarray(0, 24), [0, 0]);
    wal.writeUInt32BE(s[0], 24);
    wal.writeUInt32BE(s[1], 28);
    const pageSize = wal.readUInt32BE(8);
    for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
      s = sum(wal.subarray(at, at + 8), s);
      s = sum(wal.subarray(at + 24, at + 24 + pageSize), s);
      wal.writeUInt32BE(s[0], at + 16);
      wal.writeUInt32BE(s[1], at + 20);
    }
    fs.writeFileSync(src + '-wal', wal);
    fs.rmSync(src + '-shm', { force: true });
    const info = await inspect(src);
    expect(info.wal!.bigEndianChecksums).toBe(true);
    expect(info.wal!.frames).toBe(sqliteWalFrames(src)); // SQLite accepts the re-encoded frames
    expect(info.wal!.frames).toBe(info.wal!.framesInFile);
    const copy = fresh('copy.db');
    await backup(src, copy);
    expect(integrityCheck(copy)).toBe('ok');
    expect(logicalDump(copy)).toBe(logicalDump(copyWithWal(src)));
  });
});

describe('WALs written by litevault', () => {
  it('a backup into a WAL destination writes frames SQLite accepts, every one of them', async () => {
    const dst = fresh('dest.db');
    sqliteShell(dst, "PRAGMA journal_mode=wal; CREATE TABLE old(x); INSERT INTO old VALUES ('old');");
    const src = fresh('src.db');
    createDatabase(src, { targetBytes: 512 * 1024, overflow: true });
    // Our handle stays open (SHARED + DMS held) until the end of the test, so no SQLite
    // connection can checkpoint our frames away before they are inspected.
    await using d = await Database.open(dst);
    await using s = await Database.open(src);
    const b = new Backup(s, d);
    let r = await b.step(10);
    while (!r.done) r = await b.step(10);
    await b.finish();
    const info = await inspect(dst);
    expect(info.journalMode).toBe('wal');
    expect(info.wal!.frames).toBe(info.wal!.framesInFile); // our frames end in a commit
    expect(sqliteWalFrames(dst)).toBe(info.wal!.framesInFile); // SQLite's recovery accepts them all
    expect(integrityCheck(copyWithWal(dst))).toBe('ok');
    expect(logicalDump(copyWithWal(dst))).toBe(logicalDump(src));
  });

  it('a WAL destination with another page size is SQLITE_READONLY, as in sqlite3_backup', async () => {
    const dst = fresh('dest1k.db');
    sqliteShell(dst, 'PRAGMA page_size=1024; PRAGMA journal_mode=wal; CREATE TABLE x(y);');
    const src = fresh('src4k.db');
    sqliteShell(src, 'PRAGMA page_size=4096; CREATE TABLE t(x); INSERT INTO t VALUES (1);');
    const before = logicalDump(copyWithWal(dst));
    const err = await backup(src, dst).then(
      () => null,
      (e: { code: string }) => e,
    );
    expect(err?.code).toBe('SQLITE_READONLY');
    expect(logicalDump(copyWithWal(dst))).toBe(before);
  });
});
