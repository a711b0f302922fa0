// verify() and the copy-time check of Backup / backup() / Vault.backup() (issue 13), on databases
// real SQLite made and judged:
// 1. verify() says ok on real databases of every shape (WAL and rollback, page sizes, auto_vacuum,
//    UTF-16, WITHOUT ROWID, overflow chains, freelists, a 0-byte file, one page) and leaves the
//    files byte-identical; it takes an open Database; it rejects with the documented codes when it
//    cannot check; maxFindings caps the list but not the count; an AbortSignal cancels it.
// 2. One corrupt database (a table leaf whose type byte SQLite's integrity_check rejects): verify
//    names the page; a verified backup() / Backup / vault backup fails with SQLITE_CORRUPT naming
//    it and leaves the destination (new: absent; existing: the same bytes) and the vault as they
//    were; without the check the same copies succeed (the documented defaults).
// 3. Concurrency at the test build's sync points, with real SQLite committing at the instant that
//    matters: a rollback-journal source rewritten between two steps of a verified restart-mode
//    backup (and vault scan) restarts the check with the copy, and the result is SQLite's
//    `.backup` of the final state; a WAL source whose schema and freelist change after the last
//    page was copied, before the check's second phase rereads them, is checked in the backup's
//    snapshot, and the result is SQLite's `.backup` of the state before the write.
// Sync points: native/src/backup/backup.cc (backup-step-begin, backup-after-copy),
// native/src/vault/vault_scan.cc (vault-scan-step), native/src/pager/pager.cc (after-header-read).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  arm,
  backup,
  Backup,
  Database,
  LitevaultError,
  pauseAt,
  release,
  resetSyncPoints,
  Vault,
  verify,
  waitArrived,
  type VerifyResult,
} from './oracle/testing-addon.js';
import { createDatabase, type DbSpec } from './oracle/corpus';
import { expectSameImage, rejection } from './oracle/expect';
import { mulberry32 } from './oracle/random';
import { integrityCheck, logicalDump, pragmas, removeTmpDirs, sqliteShell, SQLITE3_BIN, tmpDir } from './oracle/sqlite';
import { checkLedger, startWriter, type Writer } from './oracle/writer';

const KIB = 1024;
const MIB = 1024 * 1024;
const ro = { readOnlyUri: true } as const;

afterAll(removeTmpDirs);
afterEach(resetSyncPoints);
// Handles are closed after each test, failures ignored, so that a failed assertion is reported as
// itself (an unfinished backup makes close() BUSY).
const opened: Database[] = [];
async function open(file: string, options?: Parameters<typeof Database.open>[1]): Promise<Database> {
  const db = await Database.open(file, options);
  opened.push(db);
  return db;
}
const writers = new Set<BetterSqlite3.Database>();
const children = new Set<Writer>();
afterEach(async () => {
  for (const w of writers) w.close();
  writers.clear();
  for (const c of children) await c.kill('SIGKILL');
  children.clear();
  for (const db of opened.splice(0)) await db.close().catch(() => undefined);
});

// ---- oracles and helpers -------------------------------------------------------------------

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/**
 * The database file, its -wal and -journal by content, the -shm by presence only (every WAL
 * reader, SQLite's too, writes its read mark into the -shm), and every other file in the directory.
 */
function filesState(db: string): Record<string, string> {
  const state: Record<string, string> = {};
  for (const suffix of ['', '-wal', '-journal', '-shm']) {
    const f = db + suffix;
    state[suffix || 'db'] = !fs.existsSync(f) ? 'absent' : suffix === '-shm' ? 'present' : sha(f);
  }
  state.dir = fs.readdirSync(path.dirname(db)).sort().join(',');
  return state;
}

/** SQLite's integrity_check output, also when it stops with an error (exit 1), read-only. */
function sqliteVerdict(db: string): string {
  const r = spawnSync(SQLITE3_BIN, ['-batch', '-init', '/dev/null', '-readonly', path.resolve(db)], { input: 'PRAGMA integrity_check;\n', encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim();
}

/** Pages of b-tree `name` of one dbstat page type ('leaf', 'internal', 'overflow'), per SQLite. */
function pagesOf(db: string, name: string, type: string): number[] {
  const out = sqliteShell(db, `SELECT pageno FROM dbstat WHERE name = '${name}' AND pagetype = '${type}' ORDER BY pageno;\n`, ro);
  return out.trim().split('\n').filter(Boolean).map(Number);
}
const rootOf = (db: string, name: string): number => Number(sqliteShell(db, `SELECT rootpage FROM sqlite_schema WHERE name = '${name}';\n`, ro).trim());

/** Overwrites the b-tree page type byte of `page` (not page 1) with 0x07, which is no page type. */
function breakPageType(db: string, page: number, pageSize = 4096): void {
  const fd = fs.openSync(db, 'r+');
  try {
    fs.writeSync(fd, Buffer.from([0x07]), 0, 1, (page - 1) * pageSize);
  } finally {
    fs.closeSync(fd);
  }
}

/** Deterministic bytes for row contents. */
function bytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE((rand() * 0x100000000) >>> 0, Math.min(i, n - 4));
  return b;
}

interface SourceSpec {
  wal?: boolean;
  autoVacuum?: 'none' | 'full';
  /** Rows of table t, about 560 bytes each on disk (6 per 4 KiB page). */
  rows: number;
  seed: number;
}

/**
 * A source for the concurrency cases (4 KiB pages), made by the sqlite3 shell (settings) and
 * better-sqlite3 (rows): table t with an index, overflow chains in `big`, 40 tables with long
 * definitions so that sqlite_schema spans several pages, and (without auto_vacuum full) a
 * freelist with trunk pages.
 */
function buildSource(file: string, spec: SourceSpec): void {
  sqliteShell(file, `PRAGMA page_size=4096;\nPRAGMA auto_vacuum=${spec.autoVacuum === 'full' ? 1 : 0};\n${spec.wal ? 'PRAGMA journal_mode=wal;\n' : ''}CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT NOT NULL, v BLOB NOT NULL);\n`);
  const rand = mulberry32(spec.seed);
  const db = new BetterSqlite3(file);
  try {
    db.pragma('synchronous=OFF');
    db.transaction(() => {
      db.exec('CREATE INDEX t_k ON t(k); CREATE TABLE big(id INTEGER PRIMARY KEY, data BLOB NOT NULL);');
      for (let i = 1; i <= 40; i++) {
        const cols = Array.from({ length: 12 }, (_, c) => `column_number_${c}_of_table_${i} TEXT DEFAULT 'a default value for column ${c}'`).join(', ');
        db.exec(`CREATE TABLE schema_filler_${i}(id INTEGER PRIMARY KEY, ${cols});`);
      }
      const insert = db.prepare('INSERT INTO t(id, k, v) VALUES (?, ?, ?)');
      for (let id = 1; id <= spec.rows; id++) insert.run(id, `key-${String(id).padStart(8, '0')}`, bytes(rand, 400 + ((id * 53) % 200)));
      const big = db.prepare('INSERT INTO big(id, data) VALUES (?, ?)');
      for (let id = 1; id <= 24; id++) big.run(id, bytes(rand, 9000 + id * 100));
    })();
    db.exec('DELETE FROM t WHERE id % 9 = 0; DELETE FROM big WHERE id % 4 = 0;');
  } finally {
    db.close();
  }
}

/** SQLite's own `.backup` of `src` into `dst` (read-only: leaves a -wal as it is). */
function sqliteBackup(src: string, dst: string): void {
  sqliteShell(src, `.backup '${dst}'\n`, ro);
}

// ---- 1. the API on sound databases --------------------------------------------------------

describe('verify() on sound databases made by SQLite', () => {
  const dir = tmpDir('litevault-verify-ok-');
  const cases: Array<[string, DbSpec]> = [
    ['rollback journal, 4 KiB pages, freelist and overflow chains', { freePages: 12, overflow: true, targetBytes: 256 * KIB }],
    ['WAL with committed frames in the -wal, freelist, overflow', { journalMode: 'wal', keepWal: true, freePages: 6, overflow: true, targetBytes: 128 * KIB }],
    ['512-byte pages, auto_vacuum incremental (several pointer-map pages), freelist, overflow', { pageSize: 512, autoVacuum: 'incremental', freePages: 20, overflow: true, targetBytes: 200 * KIB }],
    ['1 KiB pages, auto_vacuum full, overflow', { pageSize: 1024, autoVacuum: 'full', overflow: true, targetBytes: 160 * KIB }],
    ['8 KiB pages, UTF-16le', { pageSize: 8192, encoding: 'UTF-16le', overflow: true, targetBytes: 128 * KIB }],
    ['2 KiB pages, UTF-16be, freelist', { pageSize: 2048, encoding: 'UTF-16be', freePages: 5, targetBytes: 64 * KIB }],
    ['64 KiB pages, WAL with frames, auto_vacuum full', { pageSize: 65536, journalMode: 'wal', keepWal: true, autoVacuum: 'full', overflow: true, targetBytes: 512 * KIB }],
    ['8 reserved bytes per page that carry no cksumvfs checksums', { reservedBytes: 8, freePages: 4, targetBytes: 64 * KIB }],
    ['one page (no tables)', { noTables: true, userVersion: 5 }],
    ['an empty 0-byte file', { empty: true }],
  ];

  for (const [label, spec] of cases) {
    it(`${label}: ok, SQLite's page size and count, files byte-identical`, async () => {
      const db = path.join(dir, `${label.replace(/[^a-z0-9]+/gi, '-')}.db`);
      createDatabase(db, spec);
      // SQLite's judgement first (a read-only open, which may create -wal/-shm itself).
      expect(integrityCheck(db, ro)).toBe('ok');
      const p = pragmas(db, ro);
      const before = filesState(db);
      const result = await verify(db);
      expect(result).toEqual<VerifyResult>({ ok: true, findings: [], findingCount: 0, pageSize: result.pageSize, pageCount: p.pageCount, cksumvfs: false });
      if (p.pageCount > 0) expect(result.pageSize).toBe(p.pageSize);
      expect(filesState(db)).toEqual(before);
    });
  }

  it('WITHOUT ROWID tables with overflowing keys, an index on them, a freelist: ok, files byte-identical', async () => {
    const db = path.join(dir, 'without-rowid.db');
    sqliteShell(db, 'PRAGMA page_size=1024;\nCREATE TABLE w(a TEXT PRIMARY KEY, b BLOB, c INTEGER) WITHOUT ROWID;\nCREATE INDEX w_c ON w(c, b);\nCREATE TABLE w2(x INTEGER, y TEXT, PRIMARY KEY (y, x)) WITHOUT ROWID;\n');
    const rand = mulberry32(13);
    const bs = new BetterSqlite3(db);
    try {
      bs.transaction(() => {
        const ins = bs.prepare('INSERT INTO w VALUES (?, ?, ?)');
        for (let i = 0; i < 600; i++) ins.run(`key ${String(i).padStart(5, '0')} ${'p'.repeat(i % 7 === 0 ? 1500 : 20)}`, bytes(rand, 30 + (i % 50)), i % 37);
        const ins2 = bs.prepare('INSERT INTO w2 VALUES (?, ?)');
        for (let i = 0; i < 800; i++) ins2.run(i, `y${(i * 7919) % 800}`);
      })();
      bs.exec('DELETE FROM w WHERE c % 3 = 0;');
    } finally {
      bs.close();
    }
    expect(integrityCheck(db, ro)).toBe('ok');
    expect(pragmas(db, ro).freelistCount).toBeGreaterThan(0);
    expect(pagesOf(db, 'w', 'overflow').length).toBeGreaterThan(0);
    const before = filesState(db);
    const result = await verify(db);
    expect(result.ok, JSON.stringify(result.findings)).toBe(true);
    expect(result.pageCount).toBe(pragmas(db, ro).pageCount);
    expect(filesState(db)).toEqual(before);
  });

  it('a WAL database without a -wal: the main file stays byte-identical, and the -wal/-shm left beside it are what a read-only SQLite reader leaves', async () => {
    const ours = path.join(tmpDir('litevault-verify-wal-'), 'a.db');
    const theirs = path.join(tmpDir('litevault-verify-wal-'), 'a.db');
    createDatabase(ours, { journalMode: 'wal', targetBytes: 64 * KIB });
    fs.copyFileSync(ours, theirs);
    const hash = sha(ours);
    expect(fs.existsSync(ours + '-wal')).toBe(false);
    expect((await verify(ours)).ok).toBe(true);
    sqliteShell(theirs, 'SELECT count(*) FROM t;\n', ro);
    expect(sha(ours)).toBe(hash);
    expect(fs.readdirSync(path.dirname(ours)).sort()).toEqual(fs.readdirSync(path.dirname(theirs)).sort());
    expect(fs.statSync(ours + '-wal').size).toBe(fs.statSync(theirs + '-wal').size);
  });

  it('verify(db) on an open Database (twice), which stays usable for a backup afterwards', async () => {
    const src = path.join(dir, 'open-handle.db');
    createDatabase(src, { journalMode: 'wal', keepWal: true, overflow: true, targetBytes: 128 * KIB });
    const expected = logicalDump(src, ro);
    const before = filesState(src);
    const db = await open(src);
    const first = await verify(db);
    expect(first.ok).toBe(true);
    expect(first.pageCount).toBe(pragmas(src, ro).pageCount);
    expect(await verify(db, { maxFindings: 1 })).toEqual(first);
    const dst = path.join(dir, 'open-handle-copy.db');
    await backup(db, dst);
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(expected);
    await db.close();
    expect(filesState(src)).toEqual({ ...before, dir: fs.readdirSync(dir).sort().join(',') });
    expect(sha(src)).toBe(before.db);
    // A closed handle is a misuse, not a crash.
    expect((await rejection(verify(db))).code).toBe('SQLITE_MISUSE');
  });

  it('a rollback-journal and a WAL database under a 200 commits/s SQLite writer: every check is ok, and the writer goes on (its ledger is sound)', async () => {
    for (const journalMode of ['delete', 'wal'] as const) {
      const src = path.join(dir, `live-${journalMode}.db`);
      createDatabase(src, { journalMode, targetBytes: 2 * MIB });
      const writer = await startWriter(src, { commitsPerSecond: 200, journalMode, rowsPerCommit: 5, busyTimeoutMs: 10_000 });
      children.add(writer);
      const start = writer.commits();
      for (let i = 0; i < 6; i++) {
        const r = await verify(src, { busyTimeout: 10_000 });
        expect(r.ok, `${journalMode} check ${i}: ${JSON.stringify(r.findings.slice(0, 3))}`).toBe(true);
      }
      while (writer.commits() < start + 20) await new Promise((res) => setTimeout(res, 20));
      await writer.stop();
      children.delete(writer);
      expect(checkLedger(src).ok).toBe(true);
    }
  });
});

describe('verify(): what it cannot check rejects with the documented codes', () => {
  const dir = tmpDir('litevault-verify-bad-');
  const good = path.join(dir, 'good.db');
  beforeAll(() => createDatabase(good, { targetBytes: 64 * KIB }));

  it('a file that is not a database: SQLITE_NOTADB (SQLite agrees: "file is not a database")', async () => {
    const f = path.join(dir, 'notes.txt');
    fs.writeFileSync(f, 'not a database, just text long enough to fill a header and more\n'.repeat(20));
    expect(sqliteVerdict(f)).toMatch(/file is not a database/);
    const err = await rejection(verify(f));
    expect(err).toBeInstanceOf(LitevaultError);
    expect(err.code).toBe('SQLITE_NOTADB');
    expect(err.message).toContain(f);
  });

  it('a missing file or a directory: SQLITE_CANTOPEN, and the missing file is not created', async () => {
    const missing = path.join(dir, 'missing.db');
    const err = await rejection(verify(missing));
    expect(err.code).toBe('SQLITE_CANTOPEN');
    expect(err.message).toContain('missing.db');
    expect(fs.existsSync(missing)).toBe(false);
    expect((await rejection(verify(dir))).code).toMatch(/^SQLITE_CANTOPEN/); // SQLITE_CANTOPEN_ISDIR
  });

  it('a file cut short (the header counts more pages than the file has): SQLITE_CORRUPT, as SQLite refuses it too', async () => {
    const cut = path.join(dir, 'cut.db');
    fs.copyFileSync(good, cut);
    fs.truncateSync(cut, Math.floor(fs.statSync(cut).size / 2 / 4096) * 4096);
    expect(sqliteVerdict(cut)).toMatch(/malformed/);
    expect((await rejection(verify(cut))).code).toBe('SQLITE_CORRUPT');
  });

  it('bad options and a bad first argument: SQLITE_MISUSE before anything is opened', async () => {
    const bad: Array<[unknown, unknown]> = [
      [good, { maxFindings: 0 }],
      [good, { maxFindings: 1.5 }],
      [good, { maxFindings: 1_000_001 }],
      [good, { maxFindings: '10' }],
      [good, { cksumvfs: 'yes' }],
      [good, { cksumvfs: 1 }],
      [good, { busyTimeout: -1 }],
      [42, {}],
      [undefined, {}],
    ];
    for (const [target, options] of bad) {
      const err = await rejection(verify(target as string, options as object));
      expect(err.code, JSON.stringify(options)).toBe('SQLITE_MISUSE');
    }
    expect((await verify(good, { maxFindings: 1_000_000, cksumvfs: false, busyTimeout: 0 })).ok).toBe(true);
  });

  it("cksumvfs: true on a database whose 8 reserved bytes hold no checksums finds them all wrong; 'auto' and false say ok", async () => {
    const db = path.join(dir, 'reserved8.db');
    createDatabase(db, { reservedBytes: 8, targetBytes: 32 * KIB });
    const pages = pragmas(db).pageCount;
    const asked = await verify(db, { cksumvfs: true });
    expect(asked.ok).toBe(false);
    expect(asked.cksumvfs).toBe(true);
    expect(asked.findingCount).toBe(pages);
    expect(asked.findings.every((f) => f.structure === 'cksumvfs')).toBe(true);
    expect((await verify(db, { cksumvfs: 'auto' })).ok).toBe(true);
    expect(await verify(db, { cksumvfs: false })).toMatchObject({ ok: true, cksumvfs: false });
    // A database without reserved bytes cannot carry checksums at all.
    expect((await verify(good, { cksumvfs: true })).ok).toBe(false);
  });
});

describe('verify(): maxFindings, cancellation, progress', () => {
  const dir = tmpDir('litevault-verify-limits-');

  it('maxFindings caps `findings` (first found first) but findingCount counts every finding', async () => {
    const db = path.join(dir, 'many.db');
    createDatabase(db, { targetBytes: 512 * KIB });
    const leaves = pagesOf(db, 't', 'leaf');
    expect(leaves.length).toBeGreaterThan(40);
    const broken = leaves.filter((_, i) => i % 4 === 1).slice(0, 12);
    for (const page of broken) breakPageType(db, page);
    const verdict = sqliteVerdict(db);
    for (const page of broken) expect(verdict).toContain(`Page ${page}: btreeInitPage() returns error code 11`);

    const all = await verify(db);
    expect(all.ok).toBe(false);
    expect(all.findingCount).toBeGreaterThanOrEqual(broken.length);
    expect(all.findings).toHaveLength(Math.min(100, all.findingCount));
    for (const page of broken) expect(all.findings.some((f) => f.page === page), `page ${page}`).toBe(true);
    for (const max of [1, 3, broken.length]) {
      const capped = await verify(db, { maxFindings: max });
      expect(capped.findingCount).toBe(all.findingCount);
      expect(capped.findings).toEqual(all.findings.slice(0, max));
      expect(capped.ok).toBe(false);
    }
  });

  describe('cancellation on a 64 MiB database', () => {
    const big = path.join(dir, 'big.db');
    beforeAll(() => {
      sqliteShell(big, 'PRAGMA page_size=4096;\nCREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);\nWITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 16384) INSERT INTO t SELECT i, zeroblob(4000) FROM c;\n');
      expect(fs.statSync(big).size).toBeGreaterThan(64 * MIB);
    });

    it('an AbortSignal already aborted: SQLITE_ABORT at once', async () => {
      const ac = new AbortController();
      ac.abort();
      expect((await rejection(verify(big, { signal: ac.signal }))).code).toBe('SQLITE_ABORT');
    });

    it('aborted from onProgress while the check waits in its read transaction (sync point after-header-read): SQLITE_ABORT; the handle stays usable and the file unchanged', async () => {
      const before = filesState(big);
      for (const target of ['path', 'handle'] as const) {
        const db = target === 'handle' ? await open(big, { readOnly: true }) : undefined;
        const ac = new AbortController();
        const progress: Array<{ pagesRead: number; pageCount: number }> = [];
        const running = pauseAt(
          'after-header-read',
          () => verify(db ?? big, { signal: ac.signal, onProgress: (p) => { progress.push(p); ac.abort(); } }),
          async () => {
            // onProgress comes about every 100 ms, also while the check is held.
            while (progress.length === 0) await new Promise((res) => setTimeout(res, 20));
          },
        );
        const err = await rejection(running);
        expect(err.code, err.message).toBe('SQLITE_ABORT');
        expect(progress.length).toBeGreaterThan(0);
        for (const p of progress) expect(p.pagesRead).toBeLessThanOrEqual(Math.max(p.pageCount, 0));
        if (db) {
          const r = await verify(db);
          expect(r).toMatchObject({ ok: true, pageCount: pragmas(big, ro).pageCount });
        }
      }
      expect(filesState(big)).toEqual(before);
    });

    it('aborted while verify(path) is still opening the file (the same tick as the call): SQLITE_ABORT', async () => {
      // verify() looks at signal.aborted before it opens the file and listens for 'abort' only
      // after: an abort in between must still cancel (the documented contract: "Cancels the
      // check: it rejects with SQLITE_ABORT").
      const ac = new AbortController();
      const running = verify(big, { signal: ac.signal });
      ac.abort();
      const outcome = await running.then(
        (r) => `resolved ok=${r.ok}`,
        (e: LitevaultError) => e.code,
      );
      expect(outcome).toBe('SQLITE_ABORT');
    });

    it('onProgress reports pagesRead <= pageCount, and a signal aborted after the check finished changes nothing', async () => {
      const progress: Array<{ pagesRead: number; pageCount: number }> = [];
      const ac = new AbortController();
      const running = pauseAt(
        'after-header-read',
        () => verify(big, { signal: ac.signal, onProgress: (p) => progress.push(p) }),
        async () => {
          while (progress.length < 2) await new Promise((res) => setTimeout(res, 20));
        },
      );
      const r = await running;
      ac.abort();
      expect(r.ok).toBe(true);
      expect(r.pageCount).toBe(pragmas(big, ro).pageCount);
      expect(progress.length).toBeGreaterThanOrEqual(2);
      for (const p of progress) {
        expect(p.pagesRead).toBeGreaterThanOrEqual(0);
        expect(p.pagesRead).toBeLessThanOrEqual(r.pageCount);
        expect([0, r.pageCount]).toContain(p.pageCount);
      }
    });
  });
});

// ---- 2. one corrupt database --------------------------------------------------------------

describe('a corrupt database (a table leaf page whose type byte SQLite rejects)', () => {
  const dir = tmpDir('litevault-verify-corrupt-');
  const template = path.join(dir, 'template.db'); // sound
  let page = 0; // the broken page
  let root = 0; // its tree's root page
  beforeAll(() => {
    createDatabase(template, { targetBytes: 400 * KIB, freePages: 4, overflow: true });
    const leaves = pagesOf(template, 't', 'leaf');
    page = leaves[Math.floor(leaves.length / 2)]!;
    root = rootOf(template, 't');
  });
  let n = 0;
  /** A fresh sound copy of the template, and a function that breaks it in place. */
  function fresh(): { db: string; corrupt: () => void } {
    const sub = path.join(dir, `case-${n++}`);
    fs.mkdirSync(sub);
    const db = path.join(sub, 'app.db');
    fs.copyFileSync(template, db);
    return {
      db,
      corrupt: () => {
        breakPageType(db, page);
        expect(sqliteVerdict(db)).toContain(`Page ${page}: btreeInitPage() returns error code 11`);
      },
    };
  }
  const expectNamesPage = (err: LitevaultError): void => {
    expect(err.code, err.message).toBe('SQLITE_CORRUPT');
    expect(err.message).toMatch(new RegExp(`\\bpage ${page}\\b`));
  };

  it('verify() resolves ok: false with a finding naming the page and its tree; the file is unchanged', async () => {
    const { db, corrupt } = fresh();
    corrupt();
    const before = filesState(db);
    const r = await verify(db);
    expect(r.ok).toBe(false);
    expect(r.findingCount).toBeGreaterThanOrEqual(1);
    const finding = r.findings.find((f) => f.page === page);
    expect(finding, JSON.stringify(r.findings)).toBeDefined();
    expect(finding!.structure).toBe(`tree ${root}`);
    expect(finding!.message).toMatch(new RegExp(`page ${page}\\b`));
    expect(r.findings[0]!.page).toBe(page);
    expect(r.pageCount).toBe(pragmas(db, ro).pageCount);
    expect(filesState(db)).toEqual(before);
  });

  it('backup(src, dst, { verify: true }) rejects SQLITE_CORRUPT naming the page; a new destination is not created, nothing is left beside it', async () => {
    const { db, corrupt } = fresh();
    corrupt();
    const before = filesState(db);
    const dst = path.join(path.dirname(db), 'new-copy.db');
    for (const pagesPerStep of [1_000_000, 16]) {
      expectNamesPage(await rejection(backup(db, dst, { verify: true, pagesPerStep })));
      expect(fs.existsSync(dst)).toBe(false);
      expect(fs.readdirSync(path.dirname(db)).sort()).toEqual(['app.db']);
    }
    expect(filesState(db)).toEqual(before);
  });

  it('backup(..., { verify: true }) into an EXISTING destination (an earlier good backup): it stays byte-identical and sound', async () => {
    const { db, corrupt } = fresh();
    const dst = path.join(path.dirname(db), 'previous.db');
    await backup(db, dst);
    const expected = logicalDump(db);
    corrupt();
    const hash = sha(dst);
    for (const pagesPerStep of [1_000_000, 8]) {
      expectNamesPage(await rejection(backup(db, dst, { verify: true, pagesPerStep })));
      expect(sha(dst)).toBe(hash);
      expect(fs.existsSync(dst + '-journal')).toBe(false);
    }
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(expected);
  });

  it('new Backup(src, dst, { verify: true }) over several steps: the last step and finish() reject SQLITE_CORRUPT, the destination is rolled back', async () => {
    const { db, corrupt } = fresh();
    const dstPath = path.join(path.dirname(db), 'handle-dst.db');
    await backup(db, dstPath);
    corrupt();
    const hash = sha(dstPath);
    const src = await open(db);
    const dst = await open(dstPath);
    const b = new Backup(src, dst, { verify: true });
    let steps = 0;
    let err: LitevaultError | undefined;
    for (;;) {
      try {
        const r = await b.step(10);
        steps++;
        expect(r.done, 'a corrupt source never completes a verified backup').toBe(false);
      } catch (e) {
        err = e as LitevaultError;
        break;
      }
    }
    expect(steps).toBeGreaterThan(3);
    expectNamesPage(err!);
    expectNamesPage(await rejection(b.finish()));
    expect(sha(dstPath)).toBe(hash);
    expect(fs.existsSync(dstPath + '-journal')).toBe(false);
    expect(integrityCheck(dstPath)).toBe('ok');
  });

  it('without verify (the default of backup() and Backup) the same copy succeeds, faithfully: the destination is the damaged image', async () => {
    const { db, corrupt } = fresh();
    corrupt();
    const dst = path.join(path.dirname(db), 'unchecked.db');
    const r = await backup(db, dst);
    expect(r.pageCount).toBe(pragmas(db, ro).pageCount);
    expectSameImage(dst, db);
    expect(sqliteVerdict(dst)).toContain(`Page ${page}: btreeInitPage() returns error code 11`);
    const dst2 = path.join(path.dirname(db), 'unchecked2.db');
    const h = await open(dst2, { create: true });
    const b = new Backup(await open(db), h, { verify: false });
    expect((await b.step(-1)).done).toBe(true);
    await b.finish();
    expectSameImage(dst2, db);
  });

  it('Vault.backup() (verify by default) rejects SQLITE_CORRUPT; list(), the vault files and the earlier backup are unchanged; verify: false lets it through', async () => {
    const { db, corrupt } = fresh();
    const vaultDir = path.join(path.dirname(db), 'vault');
    const ref = path.join(path.dirname(db), 'ref-good.db');
    sqliteBackup(db, ref);
    const vault = await Vault.open(vaultDir, { create: true });
    const first = await vault.backup(db, { name: 'app', type: 'full' });
    const listed = await vault.list();
    const files = vaultFiles(vaultDir);
    corrupt();
    for (const type of ['auto', 'incremental', 'full'] as const) {
      expectNamesPage(await rejection(vault.backup(db, { name: 'app', type })));
      expect(await vault.list()).toEqual(listed);
      expect(vaultFiles(vaultDir)).toEqual(files);
    }
    const restored = path.join(path.dirname(db), 'restored.db');
    await vault.restore('app', restored);
    expectSameImage(restored, ref);
    expect(integrityCheck(restored)).toBe('ok');

    const unchecked = await vault.backup(db, { name: 'app', verify: false });
    expect((await vault.list()).map((b) => b.id)).toEqual([first.id, unchecked.id]);
    const damaged = path.join(path.dirname(db), 'restored-damaged.db');
    await vault.restore('app', damaged, { at: unchecked.id });
    expectSameImage(damaged, db);
    // The earlier backup restores as before.
    const again = path.join(path.dirname(db), 'restored-again.db');
    await vault.restore('app', again, { at: first.id });
    expectSameImage(again, ref);
  });

  it('Vault.backup() of a corrupt source of several 8 MiB packs (the damage in the first): rejected; list(), the manifests and every earlier file unchanged; packs it stored are garbage the next backup removes', async () => {
    // The packs of the first steps may be stored while the scan reads on (how many depends on
    // how fast they compress); the check's verdict comes at the last step, before the manifest.
    // Such packs are named by no manifest: vault.ts leaves them "for the next backup or prune".
    const dir2 = tmpDir('litevault-verify-corrupt-packs-');
    const db = path.join(dir2, 'app.db');
    const vaultDir = path.join(dir2, 'vault');
    buildSource(db, { rows: 30000, seed: 12 });
    expect(pragmas(db).pageCount).toBeGreaterThan(4096);
    const ref = path.join(dir2, 'ref.db');
    sqliteBackup(db, ref);
    const vault = await Vault.open(vaultDir, { create: true });
    const first = await vault.backup(db, { name: 'app', type: 'full' });
    const listed = await vault.list();
    const files = vaultFiles(vaultDir);
    const bad = pagesOf(db, 't', 'leaf').find((p) => p > 100 && p < 1500)!;
    const original = fs.readFileSync(db).subarray((bad - 1) * 4096, bad * 4096);
    breakPageType(db, bad);
    expect(sqliteVerdict(db)).toContain(`Page ${bad}: btreeInitPage() returns error code 11`);
    const garbage = new Set<string>();
    for (const type of ['full', 'incremental', 'full'] as const) {
      const err = await rejection(vault.backup(db, { name: 'app', type }));
      expect(err.code, err.message).toBe('SQLITE_CORRUPT');
      expect(err.message).toMatch(new RegExp(`\\bpage ${bad}\\b`));
      expect(await vault.list()).toEqual(listed);
      const now = vaultFiles(vaultDir);
      for (const [f, hash] of Object.entries(files)) expect(now[f], f).toBe(hash);
      for (const f of Object.keys(now).filter((f) => !(f in files))) {
        expect(f).toMatch(/^packs\/app\/[0-9a-f]{2}\/[0-9a-f]+\.pack$/);
        garbage.add(f);
      }
    }
    const restored = path.join(dir2, 'restored.db');
    await vault.restore('app', restored, { at: first.id });
    expectSameImage(restored, ref);
    // Repaired (the page's own bytes back), the next backup succeeds and removes the garbage.
    const fd = fs.openSync(db, 'r+');
    fs.writeSync(fd, original, 0, original.length, (bad - 1) * 4096);
    fs.closeSync(fd);
    expect(sqliteVerdict(db)).toBe('ok');
    const next = await vault.backup(db, { name: 'app' });
    expect(next.type).toBe('incremental');
    const after = vaultFiles(vaultDir);
    for (const f of garbage) expect(after[f], `${f} is still there`).toBeUndefined();
    const again = path.join(dir2, 'restored-next.db');
    await vault.restore('app', again);
    expectSameImage(again, ref);
  });
});

/** Every file of a vault by content, except the lock files a backup takes (docs/vault-format.md "Locks"). */
function vaultFiles(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else if (!r.startsWith('locks/')) out[r] = sha(path.join(d, e.name));
    }
  };
  walk(root, '');
  return out;
}

// ---- 3. concurrency at the sync points ------------------------------------------------------

/**
 * An onProgress callback that arms sync point `name` once `step - 1` steps have reported, so that
 * exactly step `step` pauses there. backup() and vault.backup() call onProgress after a step
 * resolved and before they start the next, so the arming cannot race the steps. (Releasing a
 * point and arming it again for the next step does race: syncPointWait counts a released thread
 * as paused until it has woken up, so it can return before the next step has arrived.)
 */
function armForStep(name: string, step: number): (progress: object) => void {
  let steps = 0;
  if (step === 1) arm(name, 1);
  return (progress) => {
    if ('phase' in progress && progress.phase !== 'scan') return; // a vault backup's commit phase
    if (++steps === step - 1) arm(name, 1);
  };
}

/** A real SQLite writer in this process (better-sqlite3; rollback or WAL as the file says). */
function sqliteWriter(file: string): BetterSqlite3.Database {
  const w = new BetterSqlite3(file, { timeout: 2000 });
  w.pragma('synchronous = OFF'); // commits as usual, without waiting for the disk (the machine is shared)
  writers.add(w);
  return w;
}

// Rewrites most pages of t (every second row grows, so leaves split and move), frees a third of
// t and half of big's overflow chains, and changes the schema.
const REWRITE = `BEGIN;
UPDATE t SET v = v || zeroblob(150) WHERE id % 2 = 0;
DELETE FROM t WHERE id % 3 = 0;
DELETE FROM big WHERE id % 2 = 1;
CREATE TABLE added(x INTEGER PRIMARY KEY, y TEXT);
CREATE INDEX added_y ON added(y);
INSERT INTO added SELECT id, k FROM t WHERE id % 5 = 1;
COMMIT;`;

// A schema change (new table and index, one more sqlite_schema row on a schema leaf) and pages
// freed to the freelist (new leaves on its trunk), in one transaction.
const SCHEMA_AND_FREE = `BEGIN;
CREATE TABLE appeared(a INTEGER PRIMARY KEY, b TEXT, c BLOB);
CREATE INDEX appeared_b ON appeared(b);
INSERT INTO appeared SELECT id, k, v FROM t WHERE id % 4 = 0;
DELETE FROM t WHERE id % 2 = 1;
DELETE FROM big WHERE id % 3 = 0;
COMMIT;`;

describe('verified Backup, rollback-journal source, restart mode: SQLite rewrites the source at backup-step-begin', () => {
  for (const autoVacuum of ['none', 'full'] as const) {
    for (const at of ['the 2nd step', 'the last step'] as const) {
      it(`auto_vacuum ${autoVacuum}, at ${at}: the copy restarts with its check, finishes ok, and is SQLite's .backup of the final state`, async () => {
        const dir = tmpDir('litevault-verify-restart-');
        const src = path.join(dir, 'src.db');
        buildSource(src, { rows: 3000, autoVacuum, seed: 7 });
        if (autoVacuum === 'none') expect(pragmas(src).freelistCount).toBeGreaterThan(10);
        const pageCount = pragmas(src).pageCount;
        const s = await open(src);
        const d = await open(path.join(dir, 'copy.db'), { create: true });
        const b = new Backup(s, d, { mode: 'restart', verify: true });
        let r = await b.step(100);
        expect(r).toMatchObject({ done: false, mode: 'restart', restarts: 0 });
        if (at === 'the last step') while (r.remaining > 100) r = await b.step(100);
        const stepsBefore = Math.ceil((pageCount - r.remaining) / 100);
        const writer = sqliteWriter(src);
        r = await pauseAt('backup-step-begin', () => b.step(100), () => writer.exec(REWRITE));
        writer.close();
        writers.delete(writer);
        expect(r.restarts).toBe(1);
        let steps = stepsBefore + 1;
        while (!r.done) {
          r = await b.step(100);
          steps++;
        }
        expect(steps).toBeGreaterThan(stepsBefore + 1);
        expect(r.restarts).toBe(1);
        await b.finish();
        const ref = path.join(dir, 'ref.db');
        sqliteBackup(src, ref);
        expect(r.pageCount).toBe(pragmas(ref).pageCount);
        if (autoVacuum === 'full') expect(r.pageCount).toBeLessThan(pageCount); // SQLite moved pages and truncated
        expectSameImage(path.join(dir, 'copy.db'), ref);
        expect(integrityCheck(path.join(dir, 'copy.db'))).toBe('ok');
        expect(logicalDump(path.join(dir, 'copy.db'))).toBe(logicalDump(src));
      });
    }
  }

  it('backup(src, dst, { verify: true, mode: restart }) with the rewrite at the 2nd step: ok, SQLite\'s .backup of the final state', async () => {
    const dir = tmpDir('litevault-verify-restart-fn-');
    const src = path.join(dir, 'src.db');
    const dst = path.join(dir, 'copy.db');
    buildSource(src, { rows: 3000, seed: 8 });
    const running = backup(src, dst, { verify: true, mode: 'restart', pagesPerStep: 64, onProgress: armForStep('backup-step-begin', 2) });
    expect(await waitArrived('backup-step-begin')).toBe(true); // step 2
    const writer = sqliteWriter(src);
    writer.exec(REWRITE);
    writer.close();
    writers.delete(writer);
    release('backup-step-begin');
    const r = await running;
    expect(r.restarts).toBe(1);
    const ref = path.join(dir, 'ref.db');
    sqliteBackup(src, ref);
    expectSameImage(dst, ref);
    expect(integrityCheck(dst)).toBe('ok');
  });
});

describe('verified Backup, WAL source, snapshot mode: SQLite changes the schema and frees pages at backup-after-copy of the last step', () => {
  it('the check reads the backup\'s snapshot: ok, and the copy is SQLite\'s .backup of the state before the write', async () => {
    const dir = tmpDir('litevault-verify-snapshot-');
    const src = path.join(dir, 'src.db');
    buildSource(src, { wal: true, rows: 3000, seed: 9 });
    expect(pragmas(src).freelistCount).toBeGreaterThan(10);
    expect(pagesOf(src, 'sqlite_schema', 'leaf').length).toBeGreaterThan(2);
    const writer = sqliteWriter(src);
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec("CREATE TABLE warm(x); INSERT INTO warm VALUES ('frames in the -wal before the backup');");
    const pre = path.join(dir, 'pre.db');
    sqliteBackup(src, pre);
    const s = await open(src);
    const d = await open(path.join(dir, 'copy.db'), { create: true });
    const b = new Backup(s, d, { verify: true });
    let r = await b.step(150);
    expect(r).toMatchObject({ done: false, mode: 'snapshot' });
    while (r.remaining > 150) r = await b.step(150);
    let checkpoint: unknown;
    r = await pauseAt('backup-after-copy', () => b.step(-1), () => {
      writer.exec(SCHEMA_AND_FREE);
      // A checkpoint cannot pass the backup's read mark: the pages of its snapshot stay readable.
      checkpoint = writer.pragma('wal_checkpoint(PASSIVE)');
    });
    expect(r.done).toBe(true);
    expect(r.restarts).toBe(0);
    await b.finish();
    expect(checkpoint).toBeDefined();
    const copy = path.join(dir, 'copy.db');
    expectSameImage(copy, pre);
    expect(integrityCheck(copy)).toBe('ok');
    expect(logicalDump(copy)).toBe(logicalDump(pre));
    expect(r.pageCount).toBe(pragmas(pre).pageCount);
    // The write did happen, and SQLite's view of the source is the new state.
    const now = logicalDump(src, ro);
    expect(now).toContain('CREATE TABLE appeared');
    expect(now).not.toBe(logicalDump(pre));
  });
});

describe('verified vault backups at vault-scan-step (8 MiB of pages a step)', () => {
  // ~5000 pages of 4 KiB: three reading steps (2048 pages each, the last one runs the check's second phase).
  const ROWS = 30000;

  it('rollback-journal source: SQLite rewrites it before the 2nd step; the scan restarts with its check, and the backup is SQLite\'s .backup of the final state', async () => {
    const dir = tmpDir('litevault-verify-vault-restart-');
    const src = path.join(dir, 'src.db');
    buildSource(src, { rows: ROWS, seed: 10 });
    const pages = pragmas(src).pageCount;
    expect(pages).toBeGreaterThan(4096);
    expect(pages).toBeLessThanOrEqual(6144);
    const vault = await Vault.open(path.join(dir, 'vault'), { create: true });
    const running = vault.backup(src, { type: 'full', name: 'src', onProgress: armForStep('vault-scan-step', 2) });
    expect(await waitArrived('vault-scan-step')).toBe(true); // step 2: step 1 released SHARED
    const writer = sqliteWriter(src);
    writer.exec(REWRITE);
    writer.close();
    writers.delete(writer);
    release('vault-scan-step');
    const r = await running;
    expect(r.restarts).toBe(1);
    expect(r.heldLock).toBe(false);
    const ref = path.join(dir, 'ref.db');
    sqliteBackup(src, ref);
    const restored = path.join(dir, 'restored.db');
    await vault.restore('src', restored);
    expectSameImage(restored, ref);
    expect(integrityCheck(restored)).toBe('ok');
  });

  it('WAL source: SQLite changes the schema and frees pages before the last reading step; the check reads the snapshot, and the backup is the state before the write', async () => {
    const dir = tmpDir('litevault-verify-vault-wal-');
    const src = path.join(dir, 'src.db');
    buildSource(src, { wal: true, rows: ROWS, seed: 11 });
    const pages = pragmas(src).pageCount;
    expect(pages).toBeGreaterThan(4096);
    expect(pages).toBeLessThanOrEqual(6144);
    const before = path.join(dir, 'before.db');
    sqliteBackup(src, before);
    const writer = sqliteWriter(src);
    writer.pragma('wal_autocheckpoint = 0');
    const vault = await Vault.open(path.join(dir, 'vault'), { create: true });
    const running = vault.backup(src, { type: 'full', name: 'src', onProgress: armForStep('vault-scan-step', 3) });
    expect(await waitArrived('vault-scan-step')).toBe(true); // step 3: reads the last pages, then checks
    writer.exec(SCHEMA_AND_FREE);
    writer.pragma('wal_checkpoint(PASSIVE)');
    release('vault-scan-step');
    const r = await running;
    expect(r.restarts).toBe(0);
    expect(r.pageCount).toBe(pages);
    const restored = path.join(dir, 'restored.db');
    await vault.restore('src', restored);
    expectSameImage(restored, before);
    expect(integrityCheck(restored)).toBe('ok');
    expect(logicalDump(src, ro)).toContain('CREATE TABLE appeared');
  });
});
