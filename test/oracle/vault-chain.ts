/**
 * One vault backup chain judged by real SQLite, shared by the tests that run it over different
 * vaults (test/vault-chains.test.ts: a directory; test/vault-encryption.test.ts: an encrypted
 * one): for a corpus database, full -> incremental -> differential -> incremental ->
 * incremental, with real-SQLite writes between the backups touching ~0.1%, ~1% and ~30% of the
 * pages and then a VACUUM, and for rollback sources a page-size change (an incremental is
 * LITEVAULT_BASE_MISMATCH; with fallbackToFull a full). After every vault backup SQLite's own
 * `.backup` of the source is the reference; every input file stays byte-identical; an
 * incremental stores exactly the pages whose image differs from its base's, a differential
 * those that differ from the full; at the end every backup is restored to a new path and must
 * equal its reference byte for byte outside the header fields SQLite's backup sets per
 * destination (24..27, 40..43, 92..99), pass integrity_check and give the same .dump.
 */
import Sqlite from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { expect } from 'vitest';
import type { Vault } from '../../dist/index.js';
import { createDatabase, type CorpusEntry } from './corpus';
import { integrityCheck, logicalDump, SQLITE3_BIN } from './sqlite';
import { rejection } from './expect';

/** A new path (under a test's temporary directory) for a file called `name`. */
export type Fresh = (name: string) => string;

export const sha = (f: string): string => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** sha256 of the database and of its -wal and -journal when present (not -shm: read marks may move). */
export function inputHashes(db: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const suffix of ['', '-wal', '-journal']) if (fs.existsSync(db + suffix)) out[suffix || 'db'] = sha(db + suffix);
  return out;
}

const HEADER_ALLOWED = (i: number): boolean => (i >= 24 && i < 28) || (i >= 40 && i < 44) || (i >= 92 && i < 100);

/** Offsets where a and b differ outside the header fields SQLite's backup sets per destination. */
export function differingBytes(a: string, b: string): number[] {
  const x = fs.readFileSync(a);
  const y = fs.readFileSync(b);
  expect(x.length, `${a} vs ${b}: file sizes`).toBe(y.length);
  const out: number[] = [];
  for (let i = 0; i < x.length && out.length < 20; i++) if (x[i] !== y[i] && !HEADER_ALLOWED(i)) out.push(i);
  return out;
}

/**
 * Pages of `cur` (1-based) whose image differs from `prev`'s (a page past prev's end always
 * differs). Page 1 is judged outside the per-destination header bytes, so the result is a
 * range: [min, min+1] when page 1 looks unchanged (its change counter may still differ).
 */
function changedPages(prevRef: string, curRef: string, pageSize: number): { min: number; max: number } {
  const a = fs.readFileSync(prevRef);
  const b = fs.readFileSync(curRef);
  const prevPages = a.length / pageSize;
  const curPages = b.length / pageSize;
  let min = 0;
  let page1Differs = false;
  for (let p = 1; p <= curPages; p++) {
    const off = (p - 1) * pageSize;
    if (p > prevPages) {
      min++;
      continue;
    }
    if (p === 1) {
      for (let i = 0; i < pageSize; i++) {
        if (a[i] !== b[i] && !HEADER_ALLOWED(i)) {
          page1Differs = true;
          break;
        }
      }
      if (page1Differs) min++;
      continue;
    }
    if (a.compare(b, off, off + pageSize, off, off + pageSize) !== 0) min++;
  }
  return { min, max: page1Differs || prevPages < 1 ? min : min + 1 };
}

export function sqliteBackup(src: string, dst: string): void {
  const r = spawnSync(SQLITE3_BIN, ['-bail', '-batch', '-init', '/dev/null', '-readonly', src, `.backup '${dst}'`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

type Conn = InstanceType<typeof Sqlite>;

function ensureTable(db: Conn): void {
  db.exec('CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, k TEXT NOT NULL, v BLOB NOT NULL); CREATE INDEX IF NOT EXISTS t_k ON t(k);');
  if ((db.prepare('SELECT count(*) FROM t').pluck().get() as number) === 0) {
    const ins = db.prepare('INSERT INTO t(k, v) VALUES (?, randomblob(120))');
    db.transaction(() => {
      for (let i = 0; i < 200; i++) ins.run(`seed${i}`);
    })();
  }
}

const pageCount = (db: Conn): number => db.pragma('page_count', { simple: true }) as number;
const ids = (db: Conn): number[] => db.prepare('SELECT id FROM t ORDER BY id').pluck().all() as number[];

/** `count` ids spread evenly over the table. */
function spread(all: number[], count: number): number[] {
  const n = Math.min(all.length, Math.max(1, count));
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(all[Math.floor((i * all.length) / n)]!);
  return [...new Set(out)];
}

/** Real-SQLite writes touching about `fraction` of the pages (updates, deletes, inserts). */
function writeStep(db: Conn, step: 'tiny' | 'small' | 'large' | 'vacuum'): void {
  const pc = pageCount(db);
  const all = ids(db);
  const update = db.prepare('UPDATE t SET v = randomblob(length(v)) WHERE id = ?');
  const del = db.prepare('DELETE FROM t WHERE id = ?');
  const ins = db.prepare('INSERT INTO t(k, v) VALUES (?, randomblob(?))');
  db.transaction(() => {
    if (step === 'tiny') {
      // ~0.1% of the pages: in-place updates of rows on different leaves.
      for (const id of spread(all, Math.round(pc * 0.001))) update.run(id);
    } else if (step === 'small') {
      // ~1%: updates, deletes and inserts.
      const k = Math.max(4, Math.round(pc * 0.01));
      const chosen = spread(all, k);
      chosen.forEach((id, i) => (i % 4 === 0 ? del.run(id) : update.run(id)));
      for (let i = 0; i < Math.ceil(k / 4); i++) ins.run(`small${Date.now()}-${i}`, 80 + i);
    } else if (step === 'large') {
      // ~30%: a contiguous quarter of the rows rewritten, 3% deleted, 2% inserted.
      const q = Math.floor(all.length * 0.25);
      const start = Math.floor(all.length * 0.1);
      for (const id of all.slice(start, start + q)) update.run(id);
      for (const id of all.slice(all.length - Math.ceil(all.length * 0.03))) del.run(id);
      for (let i = 0; i < Math.ceil(all.length * 0.02) + 1; i++) ins.run(`large-${i}`, 100 + (i % 50));
    } else {
      for (const id of spread(all, Math.ceil(all.length * 0.1))) del.run(id);
    }
  })();
  if (step === 'vacuum') db.exec('VACUUM');
}

interface Taken {
  id: string;
  seq: number;
  type: string;
  base: string | null;
  ref: string;
  pageSize: number;
  pagesStored: number;
}

async function backupChecked(
  vault: Vault,
  src: string,
  name: string,
  opts: Record<string, unknown>,
  taken: Taken[],
  fresh: Fresh,
): Promise<Taken> {
  const before = inputHashes(src);
  const r = await vault.backup(src, { name, ...opts });
  expect(inputHashes(src), `${name}: input files changed by backup ${r.id}`).toEqual(before);
  const ref = fresh(`${name}-ref-${taken.length}.db`);
  sqliteBackup(src, ref);
  expect(inputHashes(src), `${name}: input files changed by sqlite3 .backup`).toEqual(before);
  const refPages = fs.statSync(ref).size / r.pageSize;
  expect(r.pageCount, `${name}: backup ${r.id} pageCount vs SQLite's copy`).toBe(refPages);
  expect(r.pagesScanned).toBe(r.pageCount);
  expect(r.pagesStored).toBeLessThanOrEqual(r.pageCount);
  expect(r.bytesStored).toBeGreaterThan(0);
  expect(r.name).toBe(name);
  expect(typeof r.id).toBe('string');
  expect(Array.isArray(r.notes)).toBe(true);
  const t: Taken = { id: r.id, seq: r.seq, type: r.type, base: r.base, ref, pageSize: r.pageSize, pagesStored: r.pagesStored };
  taken.push(t);
  return t;
}

async function restoreAndJudge(vault: Vault, name: string, t: Taken, fresh: Fresh): Promise<void> {
  const out = fresh(`${name}-restored-${t.seq}.db`);
  const r = await vault.restore(name, out, { at: t.id });
  expect(r.id).toBe(t.id);
  expect(r.pageSize).toBe(t.pageSize);
  expect(differingBytes(out, t.ref), `${name} backup ${t.id} (${t.type}) vs SQLite's .backup at that snapshot`).toEqual([]);
  expect(logicalDump(out)).toBe(logicalDump(t.ref));
  expect(integrityCheck(out)).toBe('ok');
}

/**
 * The chain for one corpus entry in `vault` (see the opening comment), every file under paths
 * `fresh` gives; every backup restored and judged at the end.
 */
export async function chain(vault: Vault, entry: CorpusEntry, fresh: Fresh): Promise<void> {
  const src = fresh(`${entry.name}.db`);
  createDatabase(src, entry.spec);
  const name = `${entry.name}.db`;
  const wal = entry.spec.journalMode === 'wal';
  const taken: Taken[] = [];
  // One real-SQLite connection writes for the whole chain; it stays open (idle) during the
  // vault's backups and SQLite's .backup, so WAL sources keep frames in their -wal.
  const db = new Sqlite(src);
  try {
    if (!wal) db.pragma(`journal_mode=${entry.spec.journalMode ?? 'delete'}`);
    else db.pragma('wal_autocheckpoint=0');
    ensureTable(db);

    const full = await backupChecked(vault, src, name, { type: 'full' }, taken, fresh);
    expect(full).toMatchObject({ type: 'full', base: null, seq: 1 });
    expect(full.pagesStored).toBe(fs.statSync(full.ref).size / full.pageSize);

    writeStep(db, 'tiny');
    const inc1 = await backupChecked(vault, src, name, { type: 'incremental' }, taken, fresh);
    expect(inc1).toMatchObject({ type: 'incremental', base: full.id });
    const c1 = changedPages(full.ref, inc1.ref, inc1.pageSize);
    expect(inc1.pagesStored, `${name}: incremental after ~0.1% stores only the changed pages`).toBeGreaterThanOrEqual(c1.min);
    expect(inc1.pagesStored).toBeLessThanOrEqual(c1.max);
    expect(inc1.pagesStored).toBeLessThanOrEqual(Math.max(3, Math.ceil((fs.statSync(inc1.ref).size / inc1.pageSize) * 0.01) + 2));

    writeStep(db, 'small');
    const diff = await backupChecked(vault, src, name, { type: 'differential' }, taken, fresh);
    expect(diff).toMatchObject({ type: 'differential', base: full.id });
    const c2 = changedPages(full.ref, diff.ref, diff.pageSize);
    expect(diff.pagesStored, `${name}: differential stores the pages changed since the full`).toBeGreaterThanOrEqual(c2.min);
    expect(diff.pagesStored).toBeLessThanOrEqual(c2.max);

    writeStep(db, 'large');
    const inc2 = await backupChecked(vault, src, name, { type: 'incremental' }, taken, fresh);
    expect(inc2).toMatchObject({ type: 'incremental', base: diff.id });
    const c3 = changedPages(diff.ref, inc2.ref, inc2.pageSize);
    expect(inc2.pagesStored).toBeGreaterThanOrEqual(c3.min);
    expect(inc2.pagesStored).toBeLessThanOrEqual(c3.max);

    writeStep(db, 'vacuum');
    const inc3 = await backupChecked(vault, src, name, { type: 'incremental' }, taken, fresh);
    expect(inc3).toMatchObject({ type: 'incremental', base: inc2.id });
    const c4 = changedPages(inc2.ref, inc3.ref, inc3.pageSize);
    expect(inc3.pagesStored).toBeGreaterThanOrEqual(c4.min);
    expect(inc3.pagesStored).toBeLessThanOrEqual(c4.max);

    if (!wal) {
      // A page-size change: the chain's base no longer fits.
      const oldSize = db.pragma('page_size', { simple: true }) as number;
      const newSize = oldSize === 4096 ? 8192 : 4096;
      db.pragma(`page_size=${newSize}`);
      db.exec('VACUUM');
      expect(db.pragma('page_size', { simple: true })).toBe(newSize);
      const before = inputHashes(src);
      const listed = (await vault.list(name)).length;
      const err = await rejection(vault.backup(src, { name, type: 'incremental' }));
      expect(err.code).toBe('LITEVAULT_BASE_MISMATCH');
      expect(err.retryable).toBe(false);
      expect((await vault.list(name)).length, 'a refused backup adds nothing').toBe(listed);
      expect(inputHashes(src)).toEqual(before);
      const newFull = await backupChecked(vault, src, name, { type: 'incremental', fallbackToFull: true }, taken, fresh);
      expect(newFull).toMatchObject({ type: 'full', base: null, pageSize: newSize });
      writeStep(db, 'tiny');
      const inc4 = await backupChecked(vault, src, name, { type: 'incremental' }, taken, fresh);
      expect(inc4).toMatchObject({ type: 'incremental', base: newFull.id, pageSize: newSize });
      const c5 = changedPages(newFull.ref, inc4.ref, newSize);
      expect(inc4.pagesStored).toBeGreaterThanOrEqual(c5.min);
      expect(inc4.pagesStored).toBeLessThanOrEqual(c5.max);
    }
  } finally {
    db.close();
  }

  // list() names every backup, oldest first, with its type and base.
  const list = await vault.list(name);
  expect(list.map((b) => [b.id, b.seq, b.type, b.base])).toEqual(taken.map((t) => [t.id, t.seq, t.type, t.base]));
  expect(list.map((b) => b.seq)).toEqual(taken.map((_, i) => i + 1));
  for (const b of list) {
    expect(b.name).toBe(name);
    const root = b.type === 'full' ? b : list.filter((x) => x.type === 'full' && x.seq < b.seq).pop();
    expect(String(b.full), `backup ${b.id}: the full at the root of its chain`).toBe(String(root?.id));
  }

  // Every backup restores to SQLite's view of the source at its snapshot.
  for (const t of taken) await restoreAndJudge(vault, name, t, fresh);
}
