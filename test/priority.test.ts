// Background priority (native/src/os/thread_priority.h): a backup step, a checkpoint and a vault
// scan run on a threadpool thread lowered to nice 19 and I/O best-effort level 7 while they
// run, and that thread has its own values again once the step is over; `priority: 'normal'`
// lowers nothing. The thread is caught at a sync point, mid-step, and read from the kernel
// (/proc/self/task/<tid>/stat for nice, util-linux `ionice -p <tid>` for the I/O class), so what
// is checked is what the scheduler sees, not what our code says it set.
//
// The kernel copy of issue 17 is here too: copy_file_range between two file systems is refused
// (EXDEV), and the backup goes on through reads and writes, page for page what SQLite's own
// .backup makes.
import { backup, Backup, checkpoint, Database, pauseAt, resetSyncPoints, Vault } from './oracle/testing-addon.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite.js';

const dir = tmpDir('litevault-priority-');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);

afterEach(resetSyncPoints);
afterAll(removeTmpDirs);

// A database of `rows` rows made by the sqlite3 shell.
function realDb(name: string, rows: number, journal: 'delete' | 'wal' = 'delete', where = fresh(name)): string {
  sqliteShell(
    where,
    `PRAGMA journal_mode=${journal}; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ` +
      `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${rows}) INSERT INTO t SELECT i, hex(randomblob(100)) FROM c;`,
  );
  return where;
}

interface ThreadPriority {
  tid: number;
  nice: number;
  io: string; // what `ionice -p` prints, e.g. "best-effort: prio 7" or "none: prio 0"
}

// Every thread of this process as the kernel has it now.
function threads(): ThreadPriority[] {
  return readdirSync('/proc/self/task').flatMap((name) => {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${name}/stat`, 'utf8');
    } catch {
      return []; // the thread ended meanwhile
    }
    // Fields after the command name, which is in parentheses and may hold spaces: state is
    // field 3, nice field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tid = Number(name);
    let io: string;
    try {
      io = execFileSync('ionice', ['-p', name], { encoding: 'utf8' }).trim();
    } catch {
      return [];
    }
    return [{ tid, nice: Number(fields[19 - 3]), io }];
  });
}

const BACKGROUND_IO = 'best-effort: prio 7';

// The threads whose priority differs from what `before` recorded for them.
function changed(before: ThreadPriority[], now: ThreadPriority[]): ThreadPriority[] {
  const was = new Map(before.map((t) => [t.tid, t]));
  return now.filter((t) => {
    const b = was.get(t.tid);
    return b !== undefined && (b.nice !== t.nice || b.io !== t.io);
  });
}

// Runs `operation` with a pause at sync point `name`: what it resolved to, the threads whose
// priority differed from before while it was paused, and those still differing once it is over.
async function pausedPriorities<T>(name: string, operation: () => Promise<T>): Promise<{ result: T; during: ThreadPriority[]; after: ThreadPriority[] }> {
  const before = threads();
  let during: ThreadPriority[] = [];
  const result = await pauseAt(name, operation, () => {
    during = changed(before, threads());
  });
  return { result, during, after: changed(before, threads()) };
}

// Exactly one thread, the step's, was lowered to background priority.
function expectOneLowered(during: ThreadPriority[]): void {
  expect(during).toHaveLength(1);
  expect(during[0]).toMatchObject({ nice: 19, io: BACKGROUND_IO });
}

describe('background priority, seen from the kernel while a step is paused', () => {
  it('a backup step runs at nice 19 and I/O best-effort 7 on one threadpool thread, which gets its own values back after the step', async () => {
    const src = realDb('src.db', 500);
    const dst = fresh('dst.db');
    expect(threads().filter((t) => t.nice === 19)).toEqual([]);
    const source = await Database.open(src);
    const destination = await Database.open(dst, { create: true });
    const b = new Backup(source, destination);
    const { result: r, during, after } = await pausedPriorities('backup-step-begin', () => b.step(-1));
    expect(r.done).toBe(true);
    await b.finish();
    expectOneLowered(during);
    // The step is over: every thread is as it was, the one that ran it too.
    expect(after).toEqual([]);
    await source.close();
    await destination.close();
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(logicalDump(src));
  });

  it("priority: 'normal' leaves the step's thread as it is", async () => {
    const src = realDb('src.db', 500);
    const dst = fresh('dst.db');
    const { during } = await pausedPriorities('backup-step-begin', () => backup(src, dst, { priority: 'normal' }));
    expect(during).toEqual([]);
    expect(logicalDump(dst)).toBe(logicalDump(src));
  });

  it('a PASSIVE checkpoint runs at background priority and restores its thread; TRUNCATE, which holds the writer lock during its step, runs at normal priority', async () => {
    for (const mode of ['passive', 'truncate'] as const) {
      const src = realDb(`src-${mode}.db`, 500, 'wal');
      // Frames to copy, left in the -wal by a shell that does not checkpoint when it closes.
      sqliteShell(src, ".dbconfig no_ckpt_on_close on\nPRAGMA wal_autocheckpoint=0; INSERT INTO t(v) SELECT v FROM t;");
      const { result: r, during, after } = await pausedPriorities('checkpoint-before-nbackfill', () => checkpoint(src, { mode }));
      expect(r.busy).toBe(0);
      if (mode === 'passive') expectOneLowered(during);
      else expect(during).toEqual([]);
      expect(after).toEqual([]);
      expect(integrityCheck(src)).toBe('ok');
    }
  });

  it('a vault backup scans at background priority unless the vault was opened with priority normal', async () => {
    const src = realDb('src.db', 500);
    for (const priority of ['background', 'normal'] as const) {
      const vault = await Vault.open(fresh(`vault-${priority}`), { create: true, priority });
      const { during, after } = await pausedPriorities('vault-scan-step', () => vault.backup(src));
      if (priority === 'background') expectOneLowered(during);
      else expect(during).toEqual([]);
      expect(after).toEqual([]);
    }
  });

  it('a bad priority is SQLITE_MISUSE before anything is opened', async () => {
    const src = realDb('src.db', 10);
    const dst = fresh('never.db');
    await expect(backup(src, dst, { priority: 'idle' as never })).rejects.toMatchObject({ code: 'SQLITE_MISUSE' });
    await expect(checkpoint(src, { priority: 'low' as never })).rejects.toMatchObject({ code: 'SQLITE_MISUSE' });
    expect(() => readFileSync(dst)).toThrow();
  });
});

describe('the kernel copy', () => {
  it('copies a new destination on the same file system with copy_file_range: every page but the first chunk, the lock-byte page skipped', async () => {
    const src = realDb('src.db', 60_000); // ~ 8 MiB at 4 KiB pages
    const dst = fresh('dst.db');
    const oracle = fresh('oracle.db');
    sqliteShell(src, `.backup '${oracle}'`);
    const r = await backup(src, dst);
    expect(r.kernelPages).toBeGreaterThan(0);
    expect(r.kernelPages).toBeLessThan(r.pageCount);
    expect(integrityCheck(dst)).toBe('ok');
    expect(readFileSync(dst).equals(readFileSync(oracle))).toBe(true);
  });

  it('falls back to reads and writes where the kernel refuses (source on tmpfs, destination elsewhere: EXDEV), and the copy is the image SQLite makes', async () => {
    const shm = mkdtempSync('/dev/shm/litevault-priority-');
    try {
      const src = realDb('src.db', 20_000, 'delete', path.join(shm, 'src.db'));
      const dst = fresh('dst.db');
      const oracle = fresh('oracle.db');
      sqliteShell(src, `.backup '${oracle}'`);
      const r = await backup(src, dst);
      expect(r.kernelPages).toBe(0);
      expect(integrityCheck(dst)).toBe('ok');
      expect(readFileSync(dst).equals(readFileSync(oracle))).toBe(true);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it('copies a WAL snapshot: long runs of database-file pages by the kernel; the pages the WAL overlays, and the short runs between them, through memory; as SQLite reads them', async () => {
    const src = realDb('src.db', 40_000, 'wal');
    sqliteShell(src, ".dbconfig no_ckpt_on_close on\nPRAGMA wal_autocheckpoint=0; UPDATE t SET v = 'changed in the wal' WHERE id % 97 = 0 AND id < 4000 OR id BETWEEN 20000 AND 21000;");
    const dst = fresh('dst.db');
    const r = await backup(src, dst);
    expect(r.kernelPages).toBeGreaterThan(0);
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(logicalDump(src));
    expect(sqliteShell(dst, "SELECT count(*) FROM t WHERE v = 'changed in the wal';").trim()).toBe(String(Math.floor(3999 / 97) + 1001));
  });
});
