// Issue 13's corruption corpus: real SQLite's PRAGMA integrity_check against litevault's verify().
// test/oracle/corrupt-corpus.ts builds the corpus: bases SQLite wrote at every page size and
// auto_vacuum mode, more than 300 copies of them with one defect each (b-tree page headers, cell
// pointers, cell contents and record headers, interior rowids, child pointers, freeblocks,
// fragment counts, cross-linked pages, overflow chains, the freelist, the header page count, torn
// pages, shuffled cell pointer arrays, pointer maps, the database header), and clean databases
// (heavy churn by the sqlite3 shell and by better-sqlite3, VACUUM, incremental_vacuum, UTF-16le,
// WAL with and without frames in the -wal, empty and one-page files). For every case both SQLites
// judge a copy (better-sqlite3 = SQLite 3.53, read-only; the sqlite3 shell = 3.40.1, -readonly),
// and verify() judges another copy. The rules:
// - wherever either SQLite reports a structural problem (any message outside the SQL-engine class
//   of index-vs-table and column-value messages) or fails as corrupt, verify() says corrupt;
// - verify() says ok on every clean database (0 false alarms);
// - cases only verify() calls corrupt are allowed, counted and listed; 'sql-only' cases (SQLite
//   objects only through the SQL engine) are a documented class, counted, not asserted;
// - a backup with verification (backup(), new Backup(), vault.backup()) of a structurally corrupt
//   case fails with SQLITE_CORRUPT and leaves the destination (a file, a vault) as it was;
// - no input file changes.
// The summary is printed, and written as JSON to $LITEVAULT_CORPUS_REPORT when that is set.
// With $LITEVAULT_CORPUS_SEEDS set, a few small cases are also copied there (fuzz seeds).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backup, backup, Database, LitevaultError, Vault, verify } from '../dist/index.js';
import {
  buildCorruptCorpus,
  classify,
  copyCase,
  MUTATION_KINDS,
  removeCopy,
  sqliteVerdicts,
  type CorpusCase,
  type SqliteVerdict,
} from './oracle/corrupt-corpus';
import { PAGE_SIZES } from './oracle/corpus';
import { mulberry32 } from './oracle/random';
import { removeTmpDirs, tmpDir } from './oracle/sqlite';

afterAll(removeTmpDirs);
const dir = tmpDir('litevault-verify-corpus-');
const work = path.join(dir, 'work');
fs.mkdirSync(work);
let n = 0;
const fresh = (name: string): string => path.join(work, `${n++}-${name}`);
const sha = (f: string): string => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const caseSha = (c: CorpusCase): string => sha(c.file) + (c.wal ? sha(c.file + '-wal') : '');

type SqliteClass = ReturnType<typeof classify>;

interface OursVerdict {
  verdict: 'ok' | 'corrupt' | 'error';
  /** The first findings ('page P structure: message'), or the rejection. */
  findings: string[];
  error: string | null;
  /** verify() left its copy byte-identical. */
  unchanged: boolean;
}

interface Row {
  c: CorpusCase;
  hash: string;
  bs3: SqliteVerdict;
  shell: SqliteVerdict;
  bs3Class: SqliteClass;
  shellClass: SqliteClass;
  /** Both SQLites together: structural if either says so, else sql-only if either says so. */
  sqlite: SqliteClass;
  ours: OursVerdict;
}

function combined(a: SqliteClass, b: SqliteClass): SqliteClass {
  for (const k of ['error', 'structural', 'sql-only'] as const) if (a === k || b === k) return k;
  return 'ok';
}

/** verify() of a copy of `c`, whose files hash to `want` (caseSha). */
async function ours(c: CorpusCase, want: string): Promise<OursVerdict> {
  const copy = fresh('ours.db');
  copyCase(c, copy);
  let v: OursVerdict;
  try {
    const r = await verify(copy);
    const findings = r.findings.slice(0, 8).map((f) => `page ${f.page} ${f.structure}: ${f.message}`);
    if (r.ok !== (r.findings.length === 0)) v = { verdict: 'error', findings, error: `ok is ${r.ok} with ${r.findings.length} findings`, unchanged: true };
    else v = { verdict: r.ok ? 'ok' : 'corrupt', findings, error: null, unchanged: true };
  } catch (err) {
    const e = err as LitevaultError;
    const corrupt = err instanceof LitevaultError && (e.code === 'SQLITE_CORRUPT' || e.code === 'SQLITE_NOTADB');
    v = { verdict: corrupt ? 'corrupt' : 'error', findings: [], error: `${String(e.code)}: ${e.message}`, unchanged: true };
  }
  v.unchanged = sha(copy) + (c.wal ? sha(copy + '-wal') : '') === want;
  removeCopy(copy);
  return v;
}

/** Runs `jobs` with at most `width` in flight. */
async function pool<T>(items: T[], width: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await job(items[next++] as T);
    }),
  );
}

let cases: CorpusCase[] = [];
let rows: Row[] = [];
const timing: Record<string, number> = {};

beforeAll(async () => {
  let t = Date.now();
  cases = await buildCorruptCorpus(path.join(dir, 'corpus'));
  timing.buildMs = Date.now() - t;
  t = Date.now();
  const hashes = new Map(cases.map((c) => [c.id, caseSha(c)]));
  const partial = new Map<string, Partial<Row>>(cases.map((c) => [c.id, { c, hash: hashes.get(c.id) }]));
  // The judges run in child processes while verify() checks in this one.
  const judged = sqliteVerdicts(cases, work).then((verdicts) => {
    for (const c of cases) Object.assign(partial.get(c.id) as Row, verdicts.get(c.id));
    timing.sqliteMs = Date.now() - t;
  });
  await pool(cases, 2, async (c) => {
    Object.assign(partial.get(c.id) as Row, { ours: await ours(c, hashes.get(c.id) ?? '') });
  });
  timing.oursMs = Date.now() - t;
  await judged;
  rows = [...partial.values()].map((p) => {
    const r = p as Row;
    r.bs3Class = classify(r.bs3);
    r.shellClass = classify(r.shell);
    r.sqlite = combined(r.bs3Class, r.shellClass);
    return r;
  });
  timing.verdictsMs = Date.now() - t;
});

const corrupt = (): Row[] => rows.filter((r) => r.c.kind !== 'clean');
const clean = (): Row[] => rows.filter((r) => r.c.kind === 'clean');
const structural = (): Row[] => corrupt().filter((r) => r.sqlite === 'structural');
const show = (r: Row): string =>
  `${r.c.id}: ${r.c.description}\n    SQLite 3.53: ${r.bs3.error ?? ''} ${JSON.stringify(r.bs3.messages.slice(0, 4))}\n    SQLite 3.40: ${r.shell.error ?? ''} ${JSON.stringify(r.shell.messages.slice(0, 4))}\n    ours: ${r.ours.verdict} ${r.ours.error ?? ''} ${JSON.stringify(r.ours.findings.slice(0, 4))}`;

describe('the corruption corpus (issue 13)', () => {
  it('has >= 300 corrupt cases of every kind over every page size and auto_vacuum mode, and >= 30 clean databases', () => {
    expect(corrupt().length).toBeGreaterThanOrEqual(300);
    expect(clean().length).toBeGreaterThanOrEqual(30);
    const kinds = new Set(corrupt().map((r) => r.c.kind));
    for (const k of MUTATION_KINDS) expect(kinds.has(k), `kind ${k}`).toBe(true);
    for (const ps of PAGE_SIZES) {
      for (const av of ['none', 'full', 'incremental'] as const) {
        expect(corrupt().filter((r) => r.c.pageSize === ps && r.c.autoVacuum === av).length, `${ps}/${av}`).toBeGreaterThanOrEqual(15);
      }
    }
    const writers = new Set(clean().map((r) => r.c.writer));
    expect(writers).toEqual(new Set(['better-sqlite3', 'sqlite3-shell']));
    expect(clean().some((r) => r.c.wal), 'a clean WAL case with frames in its -wal').toBe(true);
  });

  it('SQLite (3.53 and 3.40) judges every case, and says ok on every clean database', () => {
    const errors = rows.filter((r) => r.sqlite === 'error');
    expect(errors.map(show), 'cases SQLite could not judge').toEqual([]);
    const notOk = clean().filter((r) => r.sqlite !== 'ok');
    expect(notOk.map(show), 'clean databases SQLite does not call ok').toEqual([]);
  });

  it('most mutations are structural for SQLite itself (the corpus aims where it means to)', () => {
    // A guard for the generator: a mutation that SQLite shrugs off tests nothing.
    expect(structural().length).toBeGreaterThanOrEqual(Math.floor(corrupt().length * 0.9));
  });

  it('verify() says corrupt on every case where SQLite reports a structural problem or fails as corrupt', () => {
    const missed = structural().filter((r) => r.ours.verdict !== 'corrupt');
    expect(missed.map(show), `${missed.length} of ${structural().length} structural cases not found corrupt`).toEqual([]);
  });

  it('verify() says ok on every clean database (no false alarm)', () => {
    const alarms = clean().filter((r) => r.ours.verdict !== 'ok');
    expect(alarms.map(show), `${alarms.length} false alarms over ${clean().length} clean databases`).toEqual([]);
  });

  it('verify() never errors on a corpus case and never writes its input', () => {
    const bad = rows.filter((r) => r.ours.verdict === 'error' || !r.ours.unchanged);
    expect(bad.map(show)).toEqual([]);
  });

  it('every input file is byte-identical after all the checks', () => {
    const changed = rows.filter((r) => caseSha(r.c) !== r.hash).map((r) => r.c.id);
    expect(changed).toEqual([]);
  });
});

// ---- backups of corrupt cases ---------------------------------------------------------------------

/** A deterministic sample of structural cases, spread over the mutation kinds and page sizes. */
function sample(count: number): Row[] {
  const r = mulberry32(1313);
  const byKind = new Map<string, Row[]>();
  for (const row of structural()) byKind.set(row.c.kind, [...(byKind.get(row.c.kind) ?? []), row]);
  for (const list of byKind.values()) {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [list[i], list[j]] = [list[j] as Row, list[i] as Row];
    }
  }
  const out: Row[] = [];
  for (let round = 0; out.length < count; round++) {
    let added = false;
    for (const k of MUTATION_KINDS) {
      const row = byKind.get(k)?.[round];
      if (row && out.length < count) {
        out.push(row);
        added = true;
      }
    }
    if (!added) break;
  }
  return out;
}

/** The code a backup of this case must fail with: SQLITE_NOTADB where SQLite itself says the file is not a database. */
function expectedCodes(r: Row): string[] {
  const notadb = [r.bs3.error, r.shell.error].some((e) => e !== null && /NOTADB|not a database/i.test(e));
  return notadb ? ['SQLITE_CORRUPT', 'SQLITE_NOTADB'] : ['SQLITE_CORRUPT'];
}

async function failure(p: () => Promise<unknown>): Promise<{ code: string; message: string } | null> {
  try {
    await p();
    return null;
  } catch (err) {
    const e = err as LitevaultError;
    return { code: err instanceof LitevaultError ? String(e.code) : 'not a LitevaultError', message: e.message };
  }
}

const HOT_JOURNAL = Buffer.from('d9d505f920a163d7', 'hex');
function hasHotJournal(db: string): boolean {
  const j = db + '-journal';
  if (!fs.existsSync(j)) return false;
  const b = fs.readFileSync(j);
  return b.length >= 8 && b.subarray(0, 8).equals(HOT_JOURNAL);
}

const backupOutcomes: Array<{ id: string; api: string; failedWith: string | null; destinationUnchanged: boolean }> = [];
const vaultOutcomes: Array<{ id: string; backup: 'full' | 'incremental'; failedWith: string | null; vaultUnchanged: boolean; garbageFiles: number }> = [];

// CI backs up a sample of 40 structural cases; LITEVAULT_CORPUS_BACKUPS=all backs up every one
// (minutes: the run behind the issue's "a backup of each corrupt case fails").
const BACKUP_SAMPLE = process.env.LITEVAULT_CORPUS_BACKUPS === 'all' ? Infinity : 40;
const backupSample = (): Row[] => (BACKUP_SAMPLE === Infinity ? structural() : sample(BACKUP_SAMPLE));

describe(`backups of structurally corrupt cases (${BACKUP_SAMPLE === Infinity ? 'every one' : 'a sample of 40'})`, () => {
  it('backup(src, dst, { verify: true }) and new Backup(src, dst, { verify: true }) fail with SQLITE_CORRUPT and leave the destination as it was', async () => {
    const t0 = Date.now();
    const picked = backupSample();
    expect(picked.length).toBe(BACKUP_SAMPLE === Infinity ? structural().length : 40);
    const problems: string[] = [];
    for (const [i, r] of picked.entries()) {
      const src = fresh('src.db');
      copyCase(r.c, src);
      // The destination: a clean backup that exists already (the case's clean base).
      const base = rows.find((x) => x.c.id === `clean.base.${r.c.base}`);
      const dst = fresh('dst.db');
      fs.copyFileSync(base?.c.file ?? '', dst);
      const before = sha(dst);
      const api = i % 2 === 0 ? 'backup()' : 'new Backup()';
      const f =
        api === 'backup()'
          ? await failure(() => backup(src, dst, { verify: true }))
          : await failure(async () => {
              const s = await Database.open(src, { readOnly: true });
              const d = await Database.open(dst);
              const b = new Backup(s, d, { verify: true });
              try {
                await b.step(-1);
              } finally {
                await b.finish().catch(() => undefined);
                await d.close();
                await s.close();
              }
            });
      const unchanged = sha(dst) === before && !hasHotJournal(dst);
      backupOutcomes.push({ id: r.c.id, api, failedWith: f && `${f.code}: ${f.message}`, destinationUnchanged: unchanged });
      if (!f || !expectedCodes(r).includes(f.code)) problems.push(`${api} ${show(r)}\n    backup: ${f ? `${f.code}: ${f.message}` : 'succeeded'}`);
      if (!unchanged) problems.push(`${api} ${r.c.id}: the destination changed`);
      if (caseSha(r.c) !== r.hash) problems.push(`${r.c.id}: the input changed`);
      removeCopy(src);
      removeCopy(dst);
    }
    timing.backupMs = Date.now() - t0;
    expect(problems).toEqual([]);
  });

  it('vault.backup() of each fails with SQLITE_CORRUPT and leaves the vault unchanged (same list, same files, same restores), as a full and as an incremental backup', async () => {
    const t0 = Date.now();
    const vaultDir = path.join(work, 'vault');
    const vault = await Vault.open(vaultDir, { create: true });
    // Every committed backup's restore, as made right after it committed.
    const restores = new Map<string, string>();
    const committed = async (name: string): Promise<void> => {
      for (const b of await vault.list(name)) {
        if (restores.has(`${name}/${b.id}`)) continue;
        const out = fresh('restore.db');
        await vault.restore(name, out, { at: b.id });
        restores.set(`${name}/${b.id}`, sha(out));
        removeCopy(out);
      }
    };
    // 'db': a full and an incremental backup of a clean database; the corrupt cases come as
    // other files under this name (a full backup is attempted).
    const source = fresh('vault-source.db');
    fs.copyFileSync(rows.find((x) => x.c.id === 'clean.base.p4096-none')?.c.file ?? '', source);
    await vault.backup(source, { name: 'db', type: 'full' });
    const w = new BetterSqlite3(source);
    w.prepare('UPDATE t SET c = c + 1 WHERE id % 3 = 0').run();
    w.close();
    await vault.backup(source, { name: 'db' });
    await committed('db');
    expect((await vault.list('db')).length).toBe(2);
    // 'inc-<base>': a file holding the case's clean base, backed up (full), changed by SQLite and
    // backed up again (incremental), then rewritten in place (same inode) with the corrupt case:
    // an incremental backup over the clean ones is attempted.

    const files = (): Map<string, string> => {
      const m = new Map<string, string>();
      const walk = (d: string): void => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else m.set(path.relative(vaultDir, p), sha(p));
        }
      };
      walk(vaultDir);
      return m;
    };
    const problems: string[] = [];
    for (const [i, r] of backupSample().entries()) {
      const incremental = i % 2 === 1;
      let src: string;
      let name: string;
      if (incremental) {
        name = `inc-${r.c.base}`;
        src = fresh('vault-inc.db');
        fs.copyFileSync(rows.find((x) => x.c.id === `clean.base.${r.c.base}`)?.c.file ?? '', src);
        await vault.backup(src, { name });
        const wr = new BetterSqlite3(src);
        wr.prepare('UPDATE t SET c = c + 1 WHERE id % 5 = 0').run();
        wr.close();
        const second = await vault.backup(src, { name });
        expect(second.type, `${name}: the second backup`).toBe('incremental');
        await committed(name);
        fs.writeFileSync(src, fs.readFileSync(r.c.file));
      } else {
        name = 'db';
        src = fresh('vault-src.db');
        copyCase(r.c, src);
      }
      const filesBefore = files();
      const listBefore = JSON.stringify(await vault.list());
      const f = await failure(() => vault.backup(src, { name }));
      const now = files();
      // A failed backup may leave packs it stored before the failure (garbage the next committed
      // backup or prune collects); every other file, and every file that was there, is as it was.
      const lost = [...filesBefore].filter(([k, h]) => now.get(k) !== h).map(([k]) => k);
      const extra = [...now.keys()].filter((k) => !filesBefore.has(k));
      const foreign = extra.filter((k) => !k.startsWith(`packs${path.sep}${name}${path.sep}`));
      const listNow = JSON.stringify(await vault.list());
      const unchanged = lost.length === 0 && foreign.length === 0 && listNow === listBefore;
      vaultOutcomes.push({ id: r.c.id, backup: incremental ? 'incremental' : 'full', failedWith: f && `${f.code}: ${f.message}`, vaultUnchanged: unchanged, garbageFiles: extra.length });
      if (!f || !expectedCodes(r).includes(f.code)) problems.push(`vault (${incremental ? 'incremental' : 'full'}) ${show(r)}\n    vault.backup: ${f ? `${f.code}: ${f.message}` : 'succeeded'}`);
      if (!unchanged) problems.push(`vault ${r.c.id}: changed files ${JSON.stringify(lost)}, new files ${JSON.stringify(foreign)}, list ${listNow === listBefore ? 'same' : 'changed'}`);
      removeCopy(src);
      // A failure that committed (the rule broken) must not make the next case's comparison fail too.
      if (!f) await committed(name);
    }
    // Every committed backup still restores what it restored right after it committed.
    const listed = (await vault.list()).map((b) => `${b.name}/${b.id}`);
    expect(listed.sort()).toEqual([...restores.keys()].sort());
    for (const [key, want] of restores) {
      const [name, id] = key.split('/') as [string, string];
      const out = fresh('restore.db');
      await vault.restore(name, out, { at: id });
      if (sha(out) !== want) problems.push(`backup ${key} restores differently after the failed backups`);
      removeCopy(out);
    }
    timing.vaultMs = Date.now() - t0;
    expect(problems).toEqual([]);
  });
});

// ---- the summary ---------------------------------------------------------------------------------------

afterAll(() => {
  if (rows.length === 0) return;
  const count = (list: Row[], f: (r: Row) => boolean): number => list.filter(f).length;
  const perKind: Record<string, Record<string, number>> = {};
  for (const kind of ['clean', ...MUTATION_KINDS]) {
    const list = rows.filter((r) => r.c.kind === kind);
    perKind[kind] = {
      cases: list.length,
      sqliteOk: count(list, (r) => r.sqlite === 'ok'),
      sqliteStructural: count(list, (r) => r.sqlite === 'structural'),
      sqliteSqlOnly: count(list, (r) => r.sqlite === 'sql-only'),
      oursCorrupt: count(list, (r) => r.ours.verdict === 'corrupt'),
      oursOk: count(list, (r) => r.ours.verdict === 'ok'),
      oursError: count(list, (r) => r.ours.verdict === 'error'),
    };
  }
  const c = corrupt();
  const summary = {
    total: rows.length,
    clean: clean().length,
    corrupt: c.length,
    perKind,
    sqlite: {
      ok: count(c, (r) => r.sqlite === 'ok'),
      structural: count(c, (r) => r.sqlite === 'structural'),
      sqlOnly: count(c, (r) => r.sqlite === 'sql-only'),
      error: count(rows, (r) => r.sqlite === 'error'),
      versionsDisagree: rows.filter((r) => r.bs3Class !== r.shellClass).map((r) => `${r.c.id}: 3.53 ${r.bs3Class}, 3.40 ${r.shellClass}`),
    },
    ours: {
      corrupt: count(c, (r) => r.ours.verdict === 'corrupt'),
      ok: count(c, (r) => r.ours.verdict === 'ok'),
      error: count(rows, (r) => r.ours.verdict === 'error'),
    },
    agreement: {
      structuralFound: count(structural(), (r) => r.ours.verdict === 'corrupt'),
      structuralMissed: structural().filter((r) => r.ours.verdict !== 'corrupt').map((r) => r.c.id),
      cleanOk: count(clean(), (r) => r.ours.verdict === 'ok'),
      falseAlarms: clean().filter((r) => r.ours.verdict !== 'ok').map((r) => r.c.id),
      sqlOnlyFoundByOurs: c.filter((r) => r.sqlite === 'sql-only' && r.ours.verdict === 'corrupt').map((r) => r.c.id),
      sqlOnlyNotFound: c.filter((r) => r.sqlite === 'sql-only' && r.ours.verdict !== 'corrupt').map((r) => r.c.id),
      oursOnlyCorrupt: c.filter((r) => r.sqlite === 'ok' && r.ours.verdict === 'corrupt').map((r) => r.c.id),
      neitherFound: c.filter((r) => r.sqlite === 'ok' && r.ours.verdict !== 'corrupt').map((r) => r.c.id),
    },
    backups: backupOutcomes,
    vault: vaultOutcomes,
    timing,
  };
  const lines = [
    `verify corpus: ${summary.total} cases (${summary.corrupt} corrupt, ${summary.clean} clean) in ${timing.buildMs} ms build + ${timing.verdictsMs} ms verdicts`,
    `SQLite on corrupt cases: ${summary.sqlite.structural} structural, ${summary.sqlite.sqlOnly} sql-only, ${summary.sqlite.ok} ok; versions disagree on ${summary.sqlite.versionsDisagree.length}`,
    `ours on corrupt cases: ${summary.ours.corrupt} corrupt, ${summary.ours.ok} ok; errors ${summary.ours.error}`,
    `agreement: structural found ${summary.agreement.structuralFound}/${structural().length}, clean ok ${summary.agreement.cleanOk}/${summary.clean}, sql-only found ${summary.agreement.sqlOnlyFoundByOurs.length}/${summary.sqlite.sqlOnly}`,
    `  kind                 cases  sqlite ok/struct/sql   ours corrupt/ok/err`,
    ...Object.entries(perKind).map(
      ([k, v]) => `  ${k.padEnd(20)} ${String(v.cases).padStart(5)}  ${`${v.sqliteOk}/${v.sqliteStructural}/${v.sqliteSqlOnly}`.padEnd(22)} ${v.oursCorrupt}/${v.oursOk}/${v.oursError}`,
    ),
    `ours-only corrupt (SQLite ok): ${summary.agreement.oursOnlyCorrupt.length}${summary.agreement.oursOnlyCorrupt.map((id) => `\n  ${id}`).join('')}`,
    `neither found (SQLite ok, ours ok): ${summary.agreement.neitherFound.length}${summary.agreement.neitherFound.map((id) => `\n  ${id}`).join('')}`,
    `structural missed by ours: ${summary.agreement.structuralMissed.length}${summary.agreement.structuralMissed.slice(0, 40).map((id) => `\n  ${id}`).join('')}`,
    `false alarms: ${summary.agreement.falseAlarms.length}${summary.agreement.falseAlarms.map((id) => `\n  ${id}`).join('')}`,
  ];
  console.log(lines.join('\n'));
  const report = process.env.LITEVAULT_CORPUS_REPORT;
  if (report) {
    const full = {
      ...summary,
      cases: rows.map((r) => ({
        id: r.c.id,
        kind: r.c.kind,
        variant: r.c.variant,
        base: r.c.base,
        pageSize: r.c.pageSize,
        autoVacuum: r.c.autoVacuum,
        writer: r.c.writer,
        wal: r.c.wal,
        description: r.c.description,
        sqlite: r.sqlite,
        sqlite353: { class: r.bs3Class, ...r.bs3 },
        sqlite340: { class: r.shellClass, ...r.shell },
        ours: r.ours,
      })),
    };
    fs.writeFileSync(report, JSON.stringify(full, null, 2) + '\n');
  }
  const seeds = process.env.LITEVAULT_CORPUS_SEEDS;
  if (seeds) writeSeeds(seeds);
});

/** Up to 20 small corrupt cases (every kind, then a second variant of some, over the small bases) and up to 10 small clean ones, <= 64 KiB each. */
function writeSeeds(to: string): void {
  fs.mkdirSync(to, { recursive: true });
  const small = rows.filter((r) => !r.c.wal && fs.statSync(r.c.file).size <= 64 * 1024);
  const bases = [...new Set(small.filter((r) => r.c.kind !== 'clean').map((r) => r.c.base))].sort();
  const picked: Row[] = [];
  for (const round of [0, 1]) {
    MUTATION_KINDS.forEach((k, i) => {
      const list = small.filter((r) => r.c.kind === k && r.sqlite === 'structural' && !picked.some((p) => p.c.kind === k && p.c.variant === r.c.variant)).sort((a, b) => a.c.id.localeCompare(b.c.id));
      const base = bases[(i + round) % bases.length];
      const row = list.find((r) => r.c.base === base) ?? list[0];
      if (row && picked.length < 20) picked.push(row);
    });
  }
  const preferred = ['empty', 'one-page', 'base.p512-none-small', 'base.p1024-full-small', 'base.p1024-incremental-small', 'old.p512-none-small', 'overflow-page-512', 'utf-16be', 'reserved-8', 'header-versions'];
  const cleanSmall = small.filter((r) => r.c.kind === 'clean');
  const cleanPicked = preferred.map((p) => cleanSmall.find((r) => r.c.id.endsWith(`.${p}`))).filter((r): r is Row => r !== undefined).slice(0, 10);
  const index: string[] = ['# file\tkind\tSQLite 3.53 verdict\tdescription'];
  for (const r of [...picked, ...cleanPicked]) {
    const name = `${r.c.id}.db`;
    fs.copyFileSync(r.c.file, path.join(to, name));
    const verdict = r.bs3.error ?? (r.bs3.messages[0] ?? 'ok');
    index.push(`${name}\t${r.c.kind}\t${verdict.replace(/\s+/g, ' ')}\t${r.c.description}`);
  }
  fs.writeFileSync(path.join(to, 'INDEX.tsv'), index.join('\n') + '\n');
}
