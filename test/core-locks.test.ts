// Change detection and lock waits of the core against real SQLite (issue 10 items 3 and 9):
// every Backup keeps its own signature of the source version it copied, so another backup or a
// checkpoint on the same handle never hides a commit from it; and a connection never waits for
// a lock while it holds SHARED, so litevault and a SQLite writer never wait each other out.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Backup, backup, checkpoint, Database } from '../dist/index.js';
import { holdInShell } from './oracle/holders';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';

afterAll(removeTmpDirs);
const ro = { readOnlyUri: true } as const;

function rows(file: string, n: number, wal: boolean): void {
  sqliteShell(
    file,
    [
      wal ? '.dbconfig no_ckpt_on_close on' : '',
      wal ? 'PRAGMA journal_mode=wal;' : '',
      'PRAGMA page_size=1024;',
      'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);',
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ${n}) INSERT INTO t SELECT i, hex(randomblob(100)) FROM n;`,
    ].join('\n') + '\n',
  );
}

function commitElsewhere(file: string, wal: boolean): void {
  sqliteShell(file, `${wal ? '.dbconfig no_ckpt_on_close on\n' : ''}UPDATE t SET v = 'changed-' || id WHERE id % 3 = 0;\nINSERT INTO t(v) VALUES ('new');\n`);
}

describe('each backup keeps its own view of the source (item 3)', () => {
  it('two restart-mode backups from one source handle: a commit seen first by one restarts the other too', async () => {
    const dir = tmpDir('litevault-two-backups-');
    const src = path.join(dir, 'src.db');
    rows(src, 2000, false);
    const s = await Database.open(src);
    const da = await Database.open(path.join(dir, 'a.db'), { create: true });
    const db = await Database.open(path.join(dir, 'b.db'), { create: true });
    const a = new Backup(s, da, { mode: 'restart' });
    const b = new Backup(s, db, { mode: 'restart' });
    try {
      await a.step(10);
      await b.step(10);
      commitElsewhere(src, false); // another process commits between steps
      await b.step(10); // b sees the change first
      const ra = await a.step(-1);
      const rb = await b.step(-1);
      expect(ra.done && rb.done).toBe(true);
      expect(ra.restarts).toBe(1);
      expect(rb.restarts).toBe(1);
    } finally {
      await a.finish();
      await b.finish();
      for (const h of [s, da, db]) await h.close();
    }
    const want = logicalDump(src, ro);
    for (const copy of ['a.db', 'b.db']) {
      expect(integrityCheck(path.join(dir, copy), ro)).toBe('ok');
      expect(logicalDump(path.join(dir, copy), ro)).toBe(want);
    }
  });

  it('a checkpoint on the backup\'s own source handle between steps does not hide a commit from a restart-mode backup', async () => {
    const dir = tmpDir('litevault-backup-ckpt-');
    const src = path.join(dir, 'src.db');
    rows(src, 2000, true);
    const s = await Database.open(src);
    const d = await Database.open(path.join(dir, 'copy.db'), { create: true });
    const job = new Backup(s, d, { mode: 'restart' });
    try {
      await job.step(10);
      commitElsewhere(src, true);
      await checkpoint(s, { mode: 'passive' }); // reads the new wal-index header on the same handle
      const r = await job.step(-1);
      expect(r.done).toBe(true);
      expect(r.restarts).toBe(1);
    } finally {
      await job.finish();
      await d.close();
      await s.close();
    }
    expect(integrityCheck(path.join(dir, 'copy.db'), ro)).toBe('ok');
    expect(logicalDump(path.join(dir, 'copy.db'), ro)).toBe(logicalDump(src, ro));
  });
});

describe('no lock is waited for while SHARED is held (item 9)', () => {
  it('a backup into a database whose SQLite writer holds RESERVED lets that writer commit at once instead of waiting each other out', async () => {
    const dir = tmpDir('litevault-reserved-wait-');
    const src = path.join(dir, 'src.db');
    rows(src, 200, false);
    const dst = path.join(dir, 'dst.db');
    rows(dst, 50, false);
    // A real SQLite writer holds RESERVED; its COMMIT will need EXCLUSIVE (it waits up to 8 s).
    const writer = await holdInShell(dst, "BEGIN IMMEDIATE;\nINSERT INTO t(v) VALUES ('writer');", { busyTimeoutMs: 8000 });
    const copying = backup(src, dst, { busyTimeout: 8000 });
    await new Promise((r) => setTimeout(r, 300)); // the backup is now retrying for RESERVED
    const t0 = Date.now();
    await writer.release(); // COMMIT
    const commitMs = Date.now() - t0;
    await copying;
    // Waiting for RESERVED while holding SHARED would have kept the writer's PENDING from ever
    // becoming EXCLUSIVE until one side's busy timeout ran out (seconds).
    expect(commitMs).toBeLessThan(2000);
    expect(logicalDump(dst, ro)).toBe(logicalDump(src, ro));
    expect(fs.existsSync(dst + '-journal')).toBe(false);
  });
});

describe('descriptors: parked while reachable by name, closed once deleted (item 2)', () => {
  const fdsOn = (file: string): number => {
    const { ino, dev } = fs.statSync(file);
    return fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        const st = fs.statSync(`/proc/self/fd/${fd}`);
        return st.ino === ino && st.dev === dev;
      } catch {
        return false;
      }
    }).length;
  };

  it('closing our last handle keeps the descriptor open (parked) while the file has a name, and reuses it', async () => {
    const dir = tmpDir('litevault-parked-');
    const file = path.join(dir, 'db.db');
    rows(file, 10, false);
    const db = await Database.open(file);
    await backup(db, path.join(dir, 'copy.db'));
    await db.close();
    // Nobody else has the file open, yet the descriptor stays: a close() here could race with
    // another SQLite in this process opening and locking the same inode.
    expect(fdsOn(file)).toBe(1);
    for (let i = 0; i < 20; i++) await (await Database.open(file)).close();
    expect(fdsOn(file)).toBe(1);
  });

  it('a parked descriptor of a deleted database is closed at the next release (no descriptor or disk space kept)', async () => {
    const dir = tmpDir('litevault-parked-deleted-');
    const file = path.join(dir, 'db.db');
    rows(file, 10, false);
    await (await Database.open(file)).close();
    const link = `/proc/self/fd/`;
    const heldDeleted = (): number =>
      fs.readdirSync(link).filter((fd) => {
        try {
          return fs.readlinkSync(link + fd) === file + ' (deleted)';
        } catch {
          return false;
        }
      }).length;
    fs.rmSync(file);
    expect(heldDeleted()).toBe(1);
    const other = path.join(dir, 'other.db');
    rows(other, 10, false);
    await (await Database.open(other)).close(); // any release sweeps the parked files
    expect(heldDeleted()).toBe(0);
  });

  it('better-sqlite3 opening and locking the file while our last handle closes, 10,000 times: its locks stay intact (checked from another process)', async () => {
    const dir = tmpDir('litevault-close-race-');
    const file = path.join(dir, 'db.db');
    rows(file, 10, false);
    const Better = (await import('better-sqlite3')).default;
    let readers: InstanceType<typeof Better>[] = [];
    try {
      for (let i = 0; i < 10_000; i++) {
        const ours = await Database.open(file);
        const closing = ours.close(); // on the threadpool, while SQLite opens and locks here
        const theirs = new Better(file);
        theirs.exec('BEGIN');
        theirs.prepare('SELECT count(*) FROM t').get(); // SHARED, a POSIX lock of this process
        await closing;
        readers.push(theirs);
        if (readers.length > 2) {
          const r = readers.shift()!;
          r.exec('COMMIT');
          r.close();
        }
      }
      // better-sqlite3 still holds SHARED: a writer in another process cannot get EXCLUSIVE.
      const r = await import('node:child_process');
      const out = r.spawnSync('sqlite3', [file, 'BEGIN EXCLUSIVE;'], { encoding: 'utf8' });
      expect(out.stderr).toMatch(/database is locked/);
    } finally {
      for (const r of readers) r.close();
      readers = [];
    }
  }, 300_000);
});

describe('-shm descriptors (review finding)', () => {
  it('a -shm that SQLite\'s last closer deleted is released at our next attach: 20 rounds keep at most one deleted -shm open', async () => {
    const dir = tmpDir('litevault-shm-lifetimes-');
    const file = path.join(dir, 'w.db');
    rows(file, 20, true);
    const deletedShm = (): number =>
      fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return /-shm \(deleted\)$/.test(fs.readlinkSync(`/proc/self/fd/${fd}`));
        } catch {
          return false;
        }
      }).length;
    for (let i = 0; i < 20; i++) {
      await backup(file, path.join(dir, `c${i}.db`)); // attaches to the -shm, detaches at close
      sqliteShell(file, 'SELECT count(*) FROM t;\n'); // SQLite is the last closer: it deletes -wal and -shm
      expect(fs.existsSync(file + '-shm')).toBe(false);
    }
    expect(deletedShm()).toBeLessThanOrEqual(1);
  });
});
