// Issue 10's WAL, -shm, checkpoint and backup-handle defects (items 4, 6, 8 and 10), each proven
// against real SQLite: the sqlite3 shell and better-sqlite3 children create, write, checkpoint and
// judge the databases; litevault's results must equal what SQLite reports or holds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Backup, Checkpoint, checkpoint, Database } from '../dist/index.js';
import { createDatabase } from './oracle/corpus';
import { integrityCheck, logicalDump, pragmas, removeTmpDirs, sqliteShell, SQLITE3_BIN, tmpDir } from './oracle/sqlite';

afterAll(removeTmpDirs);
// Handles are closed after each test, failures ignored, so that a failed assertion is reported
// as itself (an unfinished backup makes close() BUSY).
const opened: Database[] = [];
async function open(file: string, options?: Parameters<typeof Database.open>[1]): Promise<Database> {
  const db = await Database.open(file, options);
  opened.push(db);
  return db;
}
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close().catch(() => undefined);
});
const ACTOR = path.join(__dirname, 'fixtures', 'sqlite-actor.cjs');
const BUSY_MS = 300;
type Mode = 'passive' | 'full' | 'restart' | 'truncate';
const MODES: Mode[] = ['passive', 'full', 'restart', 'truncate'];

// Commits through the sqlite3 shell without checkpointing (an actor keeps the database open).
function commit(db: string, rows: number, tag = 'c'): void {
  sqliteShell(db, `PRAGMA wal_autocheckpoint=0; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${rows}) INSERT INTO t(k, v) SELECT '${tag}' || i, printf('%0300d', i) FROM c;`);
}

async function actor(db: string, role: 'holder' | 'reader' | 'writer'): Promise<ChildProcess> {
  const child = spawn(process.execPath, [ACTOR, db, role], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`actor ${role} exited ${code}`)));
  });
  return child;
}

async function stop(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.stdin!.end();
        }),
    ),
  );
}

function sqliteCheckpoint(db: string, mode: Mode): { busy: number; log: number; checkpointed: number } {
  const r = spawnSync(SQLITE3_BIN, ['-bail', '-batch', '-init', '/dev/null', db], {
    input: `.timeout ${BUSY_MS}\nPRAGMA wal_checkpoint(${mode.toUpperCase()});\n`,
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  const [busy, log, checkpointed] = r.stdout.trim().split('|').map(Number);
  return { busy, log, checkpointed };
}

function walDb(targetBytes = 256 * 1024): string {
  const db = path.join(tmpDir('litevault-waldefects-'), 'db.db');
  createDatabase(db, { journalMode: 'wal', keepWal: true, targetBytes });
  return db;
}

// SQLite's view of the database now, read-only (leaves -wal and -shm as they are).
function sqliteView(db: string): string {
  return logicalDump(db, { readOnlyUri: true });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe('item 4: a checkpoint on a handle with an open read transaction', () => {
  it("is SQLITE_LOCKED on every step, and the snapshot backup's read lock survives it: the copy equals SQLite's view at the snapshot", async () => {
    const db = walDb();
    const holder = await actor(db, 'holder');
    try {
      commit(db, 200);
      const a = await open(db);
      const out = await open(path.join(path.dirname(db), 'out.db'), { create: true });
      const cp = new Checkpoint(a, { mode: 'passive' });
      const first = await cp.step(1); // takes CKPT, backfills one frame: a stepped checkpoint in progress
      expect(first.done).toBe(false);
      const expected = sqliteView(db);
      const backup = new Backup(a, out, { mode: 'snapshot' });
      const s = await backup.step(1); // pins A's read transaction
      expect(s.done).toBe(false);
      commit(db, 50, 'later'); // the backup's read mark is now below mxFrame
      expect(await codeOf(cp.step(-1))).toBe('SQLITE_LOCKED');
      expect(await codeOf(cp.step(-1))).toBe('SQLITE_LOCKED'); // every step, not just one
      // A Checkpoint made while the snapshot is pinned is refused at its first step too.
      const late = new Checkpoint(a, { mode: 'passive' });
      expect(await codeOf(late.step())).toBe('SQLITE_LOCKED');
      await late.finish();
      await cp.finish();
      // Another process commits and tries to restart the WAL: the pinned reader must stop it.
      commit(db, 50, 'more');
      const r = sqliteCheckpoint(db, 'restart');
      expect(r.busy).toBe(1);
      commit(db, 50, 'after');
      const done = await backup.step(-1);
      expect(done.done).toBe(true);
      await backup.finish();
      await out.close();
      const dst = path.join(path.dirname(db), 'out.db');
      expect(integrityCheck(dst)).toBe('ok');
      expect(logicalDump(dst)).toBe(expected);
    } finally {
      await stop([holder]);
    }
  });
});

describe('item 6: a checkpoint on the handle of a restart-mode backup', () => {
  it("does not hide another process's commit from the backup: the next step restarts and the copy equals SQLite's", async () => {
    const db = walDb();
    const holder = await actor(db, 'holder');
    try {
      const a = await open(db);
      const dst = path.join(path.dirname(db), 'out.db');
      const out = await open(dst, { create: true });
      const backup = new Backup(a, out, { mode: 'restart' });
      const s = await backup.step(2);
      expect(s.done).toBe(false);
      commit(db, 300, 'new'); // grows the database
      await checkpoint(a, { mode: 'passive' }); // reads the wal-index header on handle A
      const expected = sqliteView(db);
      const done = await backup.step(-1);
      expect(done.done).toBe(true);
      expect(done.restarts).toBe(1);
      await backup.finish();
      await out.close();
      expect(integrityCheck(dst)).toBe('ok');
      expect(logicalDump(dst)).toBe(expected);
    } finally {
      await stop([holder]);
    }
  });
});

describe('item 8: a reader holding READ_LOCK(0) (its snapshot is "all backfilled")', () => {
  const template = walDb();

  // Holder; everything checkpointed; a reader starts (READ_LOCK(0)); a writer restarts the WAL.
  async function setUp(): Promise<{ db: string; children: ChildProcess[] }> {
    const db = path.join(tmpDir('litevault-waldefects-'), 'db.db');
    fs.copyFileSync(template, db);
    fs.copyFileSync(template + '-wal', db + '-wal');
    const children = [await actor(db, 'holder')];
    const all = sqliteCheckpoint(db, 'passive');
    expect(all.checkpointed).toBe(all.log);
    children.push(await actor(db, 'reader'));
    commit(db, 40);
    return { db, children };
  }

  for (const mode of MODES) {
    it(`${mode}: checkpoint() in steps of 2 frames returns promptly with PRAGMA wal_checkpoint's row`, async () => {
      const ours = await setUp();
      let result;
      const started = Date.now();
      try {
        result = await checkpoint(ours.db, { mode, busyTimeout: BUSY_MS, framesPerStep: 2, signal: AbortSignal.timeout(5000) });
      } finally {
        await stop(ours.children);
      }
      const ms = Date.now() - started;
      const theirs = await setUp();
      let expected;
      try {
        expected = sqliteCheckpoint(theirs.db, mode);
      } finally {
        await stop(theirs.children);
      }
      expect(result).toEqual(expected);
      expect(ms).toBeLessThan(5000);
      expect(integrityCheck(ours.db)).toBe('ok');
      expect(logicalDump(ours.db)).toBe(logicalDump(theirs.db));
    }, 20_000);
  }

  it('a stepped passive checkpoint is done after one step (no spinning)', async () => {
    const ours = await setUp();
    try {
      const h = await open(ours.db);
      const cp = new Checkpoint(h, { mode: 'passive' });
      const r = await cp.step(2);
      expect(r.done).toBe(true);
      expect(r.busy).toBe(0);
      expect(r.checkpointed).toBe(0);
      await cp.finish();
    } finally {
      await stop(ours.children);
    }
  }, 20_000);
});

// The wal-index header's checksum (walChecksumBytes, native = little-endian words here).
function indexChecksum(header: Buffer): [number, number] {
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < 40; i += 8) {
    s1 = (s1 + header.readUInt32LE(i) + s2) >>> 0;
    s2 = (s2 + header.readUInt32LE(i + 4) + s1) >>> 0;
  }
  return [s1, s2];
}

function shellErrorOf(db: string): string {
  const r = spawnSync(SQLITE3_BIN, ['-bail', '-batch', '-init', '/dev/null', db], { input: 'SELECT count(*) FROM t;\n', encoding: 'utf8' });
  return r.status === 0 ? '' : r.stderr;
}

describe('item 10', () => {
  it('a: a -shm whose DMS byte another process write-locks (it is initializing) is SQLITE_BUSY, as SQLite', async () => {
    const db = walDb(32 * 1024);
    const holder = spawn('python3', ['-c', `import fcntl,sys\nf=open(${JSON.stringify(db + '-shm')},'a+b')\nfcntl.lockf(f, fcntl.LOCK_EX|fcntl.LOCK_NB, 1, 128)\nprint('ready', flush=True)\nsys.stdin.read()`], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`the DMS holder exited ${code}`)));
    });
    try {
      let err: { code?: string; message?: string } | undefined;
      try {
        await checkpoint(db, { mode: 'passive', busyTimeout: 100 });
      } catch (e) {
        err = e as { code?: string };
      }
      expect(err?.code).toBe('SQLITE_BUSY');
      expect(err?.message).toMatch(/being initialized/);
      // SQLite fails too: its unixLockSharedMemory BUSY is retried by walTryBeginRead until it
      // gives up with "locking protocol" (SQLITE_PROTOCOL, after ~10 s).
      expect(shellErrorOf(db)).toMatch(/locking protocol|locked|busy/i);
    } finally {
      await stop([holder]);
    }
  }, 30_000);

  it('b: a -shm whose valid header claims an absurd mxFrame gives SQLITE_CORRUPT, not an aborted process', async () => {
    const db = walDb(64 * 1024);
    const holder = await actor(db, 'holder'); // keeps the -shm (and our crafted header) alive
    try {
      const shm = fs.openSync(db + '-shm', 'r+');
      const header = Buffer.alloc(48);
      fs.readSync(shm, header, 0, 48, 0);
      header.writeUInt32LE(0xf0000000, 16); // mxFrame
      const [s1, s2] = indexChecksum(header);
      header.writeUInt32LE(s1, 40);
      header.writeUInt32LE(s2, 44);
      fs.writeSync(shm, header, 0, 48, 48);
      fs.writeSync(shm, header, 0, 48, 0);
      fs.closeSync(shm);
      const script = `const { checkpoint } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
        checkpoint(${JSON.stringify(db)}, { mode: 'passive' }).then((r) => console.log('ok', JSON.stringify(r)), (e) => console.log('error', e.code));`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
      expect(r.signal).toBe(null);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe('error SQLITE_CORRUPT');
    } finally {
      holder.kill('SIGKILL');
      await stop([holder]);
    }
  });

  it('c: a rollback source whose page size changes between steps into a WAL destination: the next step is SQLITE_READONLY, as SQLite', async () => {
    const dir = tmpDir('litevault-waldefects-');
    const src = path.join(dir, 'src.db');
    createDatabase(src, { targetBytes: 128 * 1024 });
    const dst = path.join(dir, 'dst.db');
    createDatabase(dst, { journalMode: 'wal', targetBytes: 32 * 1024 });
    const before = logicalDump(dst);
    const s = await open(src);
    const d = await open(dst);
    const backup = new Backup(s, d, { mode: 'restart' });
    expect((await backup.step(2)).done).toBe(false);
    sqliteShell(src, 'PRAGMA page_size=8192; VACUUM;');
    expect(pragmas(src).pageSize).toBe(8192);
    expect(await codeOf(backup.step(-1))).toBe('SQLITE_READONLY');
    expect(await codeOf(backup.finish())).toBe('SQLITE_READONLY');
    await d.close();
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(before);
  });

  it('d: a destination whose handle holds a pinned snapshot (source of a snapshot backup) is "in use" at creation', async () => {
    const dir = tmpDir('litevault-waldefects-');
    const a = walDb(64 * 1024);
    const ha = await open(a);
    const other = await open(path.join(dir, 'o.db'), { create: true });
    const third = await open(path.join(dir, 't.db'), { create: true });
    const b1 = new Backup(ha, other, { mode: 'snapshot' });
    expect((await b1.step(1)).done).toBe(false);
    let err: { code?: string; message?: string } | undefined;
    try {
      new Backup(third, ha);
    } catch (e) {
      err = e as { code?: string };
    }
    expect(err?.code).toBe('SQLITE_ERROR');
    expect(err?.message).toMatch(/destination database is in use/);
    await b1.finish();
    const b2 = new Backup(ha, third); // fine again once the snapshot is released
    await b2.step(-1);
    await b2.finish();
  });

  it('e: an empty source into a WAL destination makes it the one-page empty database, as sqlite3 .restore does', async () => {
    const dir = tmpDir('litevault-waldefects-');
    const src = path.join(dir, 'empty.db');
    fs.writeFileSync(src, '');
    const ours = path.join(dir, 'ours.db');
    const theirs = path.join(dir, 'theirs.db');
    for (const f of [ours, theirs]) createDatabase(f, { journalMode: 'wal', targetBytes: 32 * 1024 });
    sqliteShell(theirs, `.restore ${src}\n`);
    {
      const s = await open(src);
      const d = await open(ours);
      const b = new Backup(s, d);
      expect((await b.step(-1)).done).toBe(true);
      await b.finish();
    }
    expect(integrityCheck(ours)).toBe('ok');
    const p = pragmas(ours);
    const q = pragmas(theirs);
    expect(p.pageCount).toBe(q.pageCount);
    expect(p.journalMode).toBe(q.journalMode);
    expect(logicalDump(ours)).toBe(logicalDump(theirs));
  });

  it('g: a second Checkpoint on the same handle gets busy at once while the first holds the checkpoint lock, like a second SQLite checkpointer', async () => {
    const db = walDb();
    const holder = await actor(db, 'holder');
    try {
      commit(db, 100);
      const h = await open(db);
      const cp1 = new Checkpoint(h, { mode: 'passive' });
      expect((await cp1.step(1)).done).toBe(false);
      const cp2 = new Checkpoint(h, { mode: 'passive' });
      expect(await cp2.step()).toEqual({ done: true, busy: 1, log: -1, checkpointed: -1 });
      await cp2.finish();
      const rest = await cp1.step();
      expect(rest.done).toBe(true);
      expect(rest.checkpointed).toBe(rest.log);
      await cp1.finish();
      expect(sqliteCheckpoint(db, 'passive').busy).toBe(0); // CKPT was released
    } finally {
      await stop([holder]);
    }
  });

  it('h: extending the -shm writes a byte on every OS page (no holes that a full disk could turn into SIGBUS)', async () => {
    // A WAL with more frames than region 0 holds, recovered by us as the first user (the -shm is new).
    const dir = tmpDir('litevault-waldefects-');
    const db = path.join(dir, 'big.db');
    sqliteShell(db, 'PRAGMA page_size=512; PRAGMA journal_mode=wal; CREATE TABLE t(k, v);');
    const holder = await actor(db, 'holder');
    try {
      for (let i = 0; i < 5; i++) commit(db, 1200);
    } finally {
      await stop([holder]); // exits without closing: -wal stays
    }
    fs.rmSync(db + '-shm', { force: true });
    const h = await open(db);
    const copy = await open(path.join(dir, 'copy.db'), { create: true });
    const b = new Backup(h, copy);
    await b.step(1);
    const st = fs.statSync(db + '-shm');
    expect(st.size).toBeGreaterThanOrEqual(2 * 32768);
    expect(st.blocks * 512).toBeGreaterThanOrEqual(st.size);
    await b.finish();
  });
});

describe('item 7: recovery while SQLite readers probe the hash tables', () => {
  it('rebuilding the wal-index over and over never makes a concurrent SQLite reader see a page from the database file instead of its frame', async () => {
    const dir = tmpDir('litevault-waldefects-');
    const db = path.join(dir, 'gen.db');
    const ROWS = 2000;
    const GEN = 40;
    sqliteShell(db, `PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, gen, pad);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${ROWS}) INSERT INTO t SELECT i, 0, zeroblob(400) FROM c;`);
    const holder = await actor(db, 'holder'); // the database file keeps gen 0, the WAL has the rest
    const children: ChildProcess[] = [holder];
    try {
      for (let g = 1; g <= GEN; g++) sqliteShell(db, 'PRAGMA wal_autocheckpoint=0; UPDATE t SET gen = gen + 1;');
      const reader = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'wal-probe-reader.cjs'), db, String(GEN), String(ROWS)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.push(reader);
      let out = '';
      reader.stdout!.setEncoding('utf8');
      reader.stdout!.on('data', (c: string) => (out += c));
      await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => out.includes('ready') && (clearInterval(t), resolve()), 10);
        reader.once('exit', (code) => reject(new Error(`reader exited ${code}`)));
      });
      const h = await open(db);
      const shm = fs.openSync(db + '-shm', 'r+');
      const junk = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
      let recoveries = 0;
      for (let i = 0; i < 600; i++) {
        fs.writeSync(shm, junk, 0, 4, 8); // copy 0's iChange: the two header copies now differ
        const cp = new Checkpoint(h, { mode: 'passive' });
        try {
          const r = await cp.step(0); // reads the header (recovering it), copies nothing
          if (r.log > 0) recoveries++;
        } catch (err) {
          // The SQLite reader saw the same broken header and is recovering it under the WAL write
          // lock: BUSY, as SQLite's own second recoverer would get. Try again next round.
          if (!(err as { retryable?: boolean }).retryable) throw err;
        } finally {
          await cp.finish();
        }
      }
      fs.closeSync(shm);
      const summary = await new Promise<{ transactions: number; busy: number; failures: number; first: string | null }>((resolve) => {
        reader.stdout!.on('data', () => {
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line !== undefined) resolve(JSON.parse(line));
        });
        reader.stdin!.end();
      });
      console.log(`recovery test: ${recoveries} checkpoints, reader ${JSON.stringify(summary)}`);
      expect(summary.transactions - summary.busy).toBeGreaterThan(3);
      expect(summary.failures, summary.first ?? '').toBe(0);
      expect(integrityCheck(db, { readOnlyUri: true })).toBe('ok');
    } finally {
      await stop(children);
    }
  }, 120_000);
});

describe('item 10i: the environment cleanup hook', () => {
  it('a worker thread that ends mid-backup (snapshot source, destination written) releases every lock: SQLite can then TRUNCATE-checkpoint the source and BEGIN EXCLUSIVE on the destination', async () => {
    const { Worker } = await import('node:worker_threads');
    const src = walDb();
    const holder = await actor(src, 'holder');
    try {
      commit(src, 100);
      const dst = path.join(path.dirname(src), 'dst.db');
      sqliteShell(dst, 'CREATE TABLE old(x); INSERT INTO old VALUES (1);');
      const code = `const { parentPort, workerData } = require('node:worker_threads');
        const { Backup, Database } = require(workerData.lib);
        (async () => {
          const s = await Database.open(workerData.src);
          const d = await Database.open(workerData.dst);
          const b = new Backup(s, d, { mode: 'snapshot' });
          await b.step(1);
          globalThis.keep = [s, d, b];
          parentPort.postMessage('stepped');
        })().catch((e) => parentPort.postMessage(String(e)));`;
      for (const how of ['terminate', 'exit'] as const) {
        const worker = new Worker(how === 'exit' ? code.replace("parentPort.postMessage('stepped');", "parentPort.postMessage('stepped'); process.exit(0);") : code, {
          eval: true,
          workerData: { lib: path.join(__dirname, '..', 'dist', 'index.js'), src, dst },
        });
        const message = await new Promise<unknown>((resolve) => worker.once('message', resolve));
        expect(message).toBe('stepped');
        if (how === 'terminate') await worker.terminate();
        else await new Promise((resolve) => worker.once('exit', resolve));
        commit(src, 20, `after-${how}`);
        expect(sqliteCheckpoint(src, 'truncate'), how).toEqual({ busy: 0, log: 0, checkpointed: 0 });
        const r = spawnSync(SQLITE3_BIN, ['-bail', '-batch', '-init', '/dev/null', dst], { input: '.timeout 500\nBEGIN EXCLUSIVE;\nSELECT count(*) FROM old;\nCOMMIT;\n', encoding: 'utf8' });
        expect(r.stderr, how).toBe('');
        expect(r.stdout.trim(), how).toBe('1'); // the unfinished backup was rolled back
        expect(integrityCheck(dst)).toBe('ok');
      }
    } finally {
      await stop([holder]);
    }
  }, 60_000);
});
