// Crash safety of the vault (issue 12, "Done when": SIGKILL trials and fault injection).
//
// (1) SIGKILL (50 backup, 25 restore, 25 prune trials by default): a child process
// (test/fixtures/vault-child.cjs, litevault's shipped build) runs one vault backup, restore or
// prune and is SIGKILLed: after a random delay spread over 1.2x an uninterrupted run, after a
// progress phase (scan, commit), under a read rate limit (maxBytesPerSecond: a long scan), or
// around the n-th real filesystem call of a kind (the child waits a few ms before that call and
// the kill comes 0..10 ms after it reports it, so it lands before, inside or after a chosen
// open/write/fsync/link/unlink of the commit rule; every other such backup trial at the
// manifest's own calls). After every kill, from this process: Vault.open + list: every backup
// committed before the trial is still listed with a byte-identical manifest and the packs its
// meta names, and restores to its oracle (SQLite's own `.backup` of the source taken for that
// backup, compared as byte images outside header bytes 24..27, 40..43, 92..99; spot checks per
// trial, every one at the end); the backup the killed run was making is either committed (listed
// and restorable) or invisible; the next backup succeeds (no stale lock) and leaves no garbage
// (no .tmp-* file, no pack that no manifest's meta.packs names). A killed restore leaves a new
// destination absent or complete, and an overwritten one (rollback or WAL), as SQLite reads it
// after recovery, byte-identical to before or equal to the backup, integrity_check ok. A killed
// prune leaves a subset of the backups that holds every kept one, removed highest seq first per
// name, each listed one restorable; the next prune and backup leave no garbage.
//
// (2) Fault injection: DirectoryStorage's FsOps hook fails the N-th call of one kind with EIO,
// for N = 1, 2, ... until a run makes fewer calls of that kind: every open, write, fsync, link
// (DirectoryStorage's only rename-like call), unlink and mkdir, and the first 8 readFile and
// readdir calls; during an incremental backup, a full backup writing two packs, a prune (with
// garbage to collect) and a restore (new path and overwrite). A failed run rejects with a
// LitevaultError (LITEVAULT_STORAGE or a SQLite code); the vault then lists exactly what it
// listed before, plus the new backup only if its manifest's link(2) succeeded (then it restores);
// a fault absorbed before the commit is a failure for open/write/fsync/link; every listed backup
// restores; the next backup succeeds and leaves no garbage. Then the native fault plan (test
// build, os/fault.h) fails the N-th disk-changing native operation of a restore, one test per
// destination: a new path (EIO, ENOSPC) is absent or complete, never partial or empty; an
// overwritten rollback or WAL database (EIO, and "stop": every operation from the N-th on not
// done, as in a crash) is the old database or the backup; a failed restore removes its temporary.
//
// Databases are built, changed and judged only by real SQLite (the sqlite3 shell); litevault is
// only the code under test. Summary lines start with "vault crash |" for the lead to quote.
import { LitevaultError, testBinding as binding, Vault, type VaultBackupType } from './oracle/testing-addon.js';
import { DirectoryStorage, realFsOps } from '../dist/vault/directory-storage.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrityCheck, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';
import { mulberry32 } from './oracle/random';
import { BACKUP_HEADER_FIELDS, fileDiff, WAL_DESTINATION_FIELDS } from './oracle/expect';
import { fileSha, restoredState } from './oracle/restored';

afterAll(() => {
  binding.setFaultPlan({ mode: 'off' });
  removeTmpDirs();
});

const KIB = 1024;
const MIB = 1024 * KIB;
const DIST = path.resolve(__dirname, '..', 'dist', 'index.js');
const CHILD = path.join(__dirname, 'fixtures', 'vault-child.cjs');
const FAILURE_PREFIX = '/tmp/litevault-vault-crash-failure-';
const MAX_PRESERVED = 4;
/** LITEVAULT_VAULT_CRASH_VERBOSE=1: one line per fault run. */
const VERBOSE = process.env.LITEVAULT_VAULT_CRASH_VERBOSE === '1';

const BACKUP_TRIALS = Number(process.env.LITEVAULT_VAULT_BACKUP_TRIALS ?? 50);
const RESTORE_TRIALS = Number(process.env.LITEVAULT_VAULT_RESTORE_TRIALS ?? 25);
const PRUNE_TRIALS = Number(process.env.LITEVAULT_VAULT_PRUNE_TRIALS ?? 25);

// Reproducible choices: LITEVAULT_VAULT_CRASH_SEED=<n> repeats a run's plans (the seed is in the summary).
const SEED = Number(process.env.LITEVAULT_VAULT_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const rand = mulberry32(SEED);
const uniform = (lo: number, hi: number): number => lo + rand() * (hi - lo);
const pickInt = (lo: number, hi: number): number => Math.floor(uniform(lo, hi + 1));
function pick<T>(items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

// The children run the SHIPPED build (build/), not the test addon this process loaded.
const CHILD_ENV: NodeJS.ProcessEnv = { ...process.env };
delete CHILD_ENV.LITEVAULT_TEST_ADDON;

const errText = (e: unknown): string =>
  e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message.slice(0, 300)}` : String(e);

// ---------------------------------------------------------------------------------------------
// Databases, oracles, images (real SQLite only)

/**
 * A rollback-journal database, 4 KiB pages: table r of random 400-byte blobs (incompressible,
 * so packs are near their 8 MiB limit) and table p of compressible text with an index.
 */
function makeSource(file: string, randomBytes: number, patternBytes: number): void {
  const nr = Math.max(1, Math.ceil(randomBytes / 450));
  const np = Math.max(1, Math.ceil(patternBytes / 360));
  sqliteShell(
    file,
    'PRAGMA page_size=4096;\nPRAGMA journal_mode=delete;\nBEGIN;\n' +
      'CREATE TABLE r(id INTEGER PRIMARY KEY, v BLOB NOT NULL);\n' +
      'CREATE TABLE p(id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL);\nCREATE INDEX p_k ON p(k);\n' +
      `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<${nr}) INSERT INTO r(v) SELECT randomblob(400) FROM c;\n` +
      `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<${np}) INSERT INTO p(k, v) SELECT printf('k%08d', x), printf('%0300d', x) FROM c;\n` +
      'COMMIT;\n',
  );
}

/** Changes about `fraction` of the rows of both tables (plus a few inserts and deletes) with the sqlite3 shell. */
function mutate(file: string, fraction: number, vacuum = false): void {
  const per = Math.max(1, Math.round(fraction * 100000));
  const a = pickInt(1, 99991);
  const b = pickInt(0, 99999);
  const sql =
    'BEGIN;\n' +
    `UPDATE r SET v = randomblob(400) WHERE ((id * ${a} + ${b}) % 100000) < ${per};\n` +
    `UPDATE p SET v = printf('%0300d', abs(random())) WHERE ((id * ${a} + ${b + 7}) % 100000) < ${per};\n` +
    `DELETE FROM r WHERE id IN (SELECT id FROM r ORDER BY (id * ${b + 3}) % 1009 LIMIT ${Math.max(1, Math.round(per / 20))});\n` +
    `INSERT INTO r(v) SELECT randomblob(400) FROM p LIMIT ${Math.max(1, Math.round(per / 10))};\n` +
    `INSERT INTO p(k, v) SELECT printf('n%08d', abs(random()) % 100000000), 'new' FROM p LIMIT ${Math.max(1, Math.round(per / 10))};\n` +
    'COMMIT;\n' +
    (vacuum ? 'VACUUM;\n' : '');
  sqliteShell(file, sql);
}

/** SQLite's own online backup of the source: the oracle a vault backup of it must restore to. */
function oracle(source: string, ref: string): void {
  fs.rmSync(ref, { force: true });
  sqliteShell(source, `.backup '${ref}'\n`);
}

// ---------------------------------------------------------------------------------------------
// Vault files as the format defines them (docs/vault-format.md), read directly

interface PackRef {
  key: string;
  bytes: number;
  slots: number;
}
interface MetaLite {
  name: string;
  seq: number;
  id: string;
  type: string;
  base: number | null;
  packs: PackRef[];
}

/** The meta JSON of a manifest object (magic, version, metaLength, meta). */
function manifestMeta(file: string): MetaLite {
  const b = fs.readFileSync(file);
  if (b.length < 36 || b.subarray(0, 8).toString('hex') !== '4c564d414e490001') throw new Error(`${file}: not a manifest`);
  const m = b.readUInt32LE(12);
  return JSON.parse(b.subarray(16, 16 + m).toString('utf8')) as MetaLite;
}

function walk(dir: string, out: string[] = []): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const manifestFile = (vault: string, name: string, seq: number): string =>
  path.join(vault, 'backups', name, `${String(seq).padStart(10, '0')}.manifest`);
const packFile = (vault: string, name: string, key: string): string => path.join(vault, 'packs', name, key.slice(0, 2), `${key}.pack`);

/** Garbage in the vault (format: unreferenced packs of a name, any .tmp-* file), as relative paths. */
function garbage(vault: string): string[] {
  const out: string[] = [];
  const files = walk(vault).map((f) => path.relative(vault, f));
  const referenced = new Set<string>();
  for (const f of files) {
    const m = /^backups\/([^/]+)\/\d{10}\.manifest$/.exec(f);
    if (!m) continue;
    for (const p of manifestMeta(path.join(vault, f)).packs) referenced.add(path.relative(vault, packFile(vault, m[1]!, p.key)));
  }
  for (const f of files) {
    if (path.basename(f).startsWith('.tmp-')) out.push(f);
    else if (f.startsWith('packs/') && !referenced.has(f)) out.push(f);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Committed backups and their oracles

interface Committed {
  name: string;
  id: string;
  seq: number;
  type: string;
  /** SQLite's .backup of the source as this backup saw it. */
  ref: string;
  manifestSha: string;
}

interface Info {
  id: string;
  seq: number;
  name: string;
  type: string;
  base: string | number | null;
}

async function listAll(dir: string): Promise<Info[]> {
  const v = await Vault.open(dir);
  return (await v.list()) as Info[];
}

function register(vault: string, info: Info, ref: string): Committed {
  return {
    name: info.name,
    id: info.id,
    seq: info.seq,
    type: info.type,
    ref,
    manifestSha: fileSha(manifestFile(vault, info.name, info.seq))!,
  };
}

let restoreCounter = 0;
/** Restores `c` into a fresh file under `scratch` with a fresh Vault.open; problems or []. */
async function checkRestore(dir: string, c: Committed, scratch: string, withIntegrity = false): Promise<string[]> {
  const out = path.join(scratch, `restore-${++restoreCounter}.db`);
  try {
    const v = await Vault.open(dir);
    await v.restore(c.name, out, { at: c.id });
  } catch (e) {
    fs.rmSync(out, { force: true });
    return [`restore of ${c.name} ${c.id} (${c.type}) failed: ${errText(e)}`];
  }
  const problems: string[] = [];
  const d = fileDiff(out, c.ref);
  if (d !== null) problems.push(`restore of ${c.name} ${c.id} (${c.type}) differs from its oracle: ${d}`);
  if (withIntegrity) {
    const ic = integrityCheck(out);
    if (ic !== 'ok') problems.push(`restore of ${c.name} ${c.id}: integrity_check: ${ic.slice(0, 200)}`);
  }
  for (const s of ['', '-journal', '-wal', '-shm']) fs.rmSync(out + s, { force: true });
  return problems;
}

/** Every committed backup is listed, its manifest byte-identical and its packs present with their sizes. */
function checkKept(dir: string, committed: Committed[], listed: Info[]): string[] {
  const problems: string[] = [];
  const ids = new Set(listed.map((i) => `${i.name}/${i.id}`));
  for (const c of committed) {
    if (!ids.has(`${c.name}/${c.id}`)) {
      problems.push(`committed backup ${c.name} ${c.id} is no longer listed`);
      continue;
    }
    const mf = manifestFile(dir, c.name, c.seq);
    if (fileSha(mf) !== c.manifestSha) {
      problems.push(`manifest of ${c.name} ${c.id} changed or vanished`);
      continue;
    }
    for (const p of manifestMeta(mf).packs) {
      const pf = packFile(dir, c.name, p.key);
      const size = fs.existsSync(pf) ? fs.statSync(pf).size : null;
      if (size !== p.bytes) problems.push(`pack ${p.key} of ${c.name} ${c.id}: ${size === null ? 'missing' : `${size} bytes, not ${p.bytes}`}`);
    }
  }
  return problems;
}

let preserved = 0;
/**
 * A -journal whose header still has a zero magic: what a writer killed before its first journal
 * sync leaves (SQLite's writeJournalHdr zeroes magic and record count until syncJournal fills
 * them in, and so does our pager). SQLite's hasHotJournal reads it as not hot and leaves it, as
 * it would after its own writer was killed at that point; it never rolls anything back from it.
 */
function coldJournal(file: string): boolean {
  if (!file.endsWith('-journal')) return false;
  const head = Buffer.alloc(12);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 12, 0);
  } finally {
    fs.closeSync(fd);
  }
  return head.every((b) => b === 0);
}

function preserveFailure(report: Record<string, unknown>, files: Record<string, string>): string {
  if (preserved >= MAX_PRESERVED) return '(not kept: too many failures)';
  preserved++;
  let n = 1;
  while (fs.existsSync(FAILURE_PREFIX + n)) n++;
  const out = FAILURE_PREFIX + n;
  fs.mkdirSync(out, { recursive: true });
  for (const [label, f] of Object.entries(files)) {
    if (fs.existsSync(f)) fs.cpSync(f, path.join(out, label), { recursive: true });
  }
  fs.writeFileSync(path.join(out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  return out;
}

// ---------------------------------------------------------------------------------------------
// The killed child

interface OpEntry {
  kind: string;
  path?: string;
  target?: string;
  flags?: string;
}

type KillPlan =
  | { mode: 'none' }
  | { mode: 'timed'; delayMs: number }
  | { mode: 'phase'; phase: string; delayMs: number }
  | { mode: 'op'; kind: string; nth: number; match?: string; pauseMs: number; delayMs: number };

interface ChildRun {
  killed: boolean;
  done: boolean;
  result: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  exit: string;
  stderr: string;
  readyToEndMs: number | null;
  ops: OpEntry[];
  calls: number;
  phases: string[];
  /** The op the child paused at (plan 'op'), if it got there. */
  pausedAt: OpEntry | null;
  /** The child had sent 'ready' before it died. */
  ready: boolean;
}

interface ChildConfig {
  vault: string;
  op: 'backup' | 'restore' | 'prune';
  name?: string;
  source?: string;
  type?: string;
  dest?: string;
  at?: string;
  overwrite?: boolean;
  prune?: Record<string, unknown>;
  maxBytesPerSecond?: number;
  logOps?: boolean;
}

function runChild(cfg: ChildConfig, plan: KillPlan): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const op = plan.mode === 'op' ? { pauseKind: plan.kind, pauseNth: plan.nth, pauseMatch: plan.match, pauseMs: plan.pauseMs } : {};
    const full = { dist: DIST, ...cfg, ...op };
    const child = fork(CHILD, [JSON.stringify(full)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: CHILD_ENV });
    const run: ChildRun = {
      killed: false,
      done: false,
      result: null,
      error: null,
      exit: '',
      stderr: '',
      readyToEndMs: null,
      ops: [],
      calls: 0,
      phases: [],
      pausedAt: null,
      ready: false,
    };
    child.stderr?.on('data', (d: Buffer) => (run.stderr += d.toString()));
    let readyAt: number | null = null;
    let timer: NodeJS.Timeout | undefined;
    let exited = false;
    let disconnected = false;
    const kill = (): void => {
      if (run.killed || exited) return;
      run.killed = child.kill('SIGKILL');
    };
    const later = (ms: number): void => {
      if (timer === undefined) timer = setTimeout(kill, ms);
    };
    const safety = setTimeout(() => {
      kill();
      reject(new Error(`vault child (${cfg.op}) did not finish within 60 s; stderr: ${run.stderr}`));
    }, 60_000);
    const settle = (): void => {
      if (!exited || !disconnected) return;
      clearTimeout(timer);
      clearTimeout(safety);
      resolve(run);
    };
    child.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'ready') {
        run.ready = true;
        readyAt = performance.now();
        if (plan.mode === 'timed') later(plan.delayMs);
      } else if (m.type === 'progress') {
        const phase = String(m.phase ?? '');
        if (run.phases[run.phases.length - 1] !== phase) run.phases.push(phase);
        if (plan.mode === 'phase' && phase === plan.phase) later(plan.delayMs);
      } else if (m.type === 'op') {
        run.pausedAt = { kind: String(m.kind), path: m.path as string | undefined, target: m.target as string | undefined };
        if (plan.mode === 'op') later(plan.delayMs);
      } else if (m.type === 'done' || m.type === 'error') {
        if (readyAt !== null) run.readyToEndMs = performance.now() - readyAt;
        run.ops = (m.ops as OpEntry[]) ?? [];
        run.calls = Number(m.calls ?? 0);
        if (m.type === 'done') {
          run.done = true;
          run.result = m.result as Record<string, unknown>;
        } else {
          run.error = { code: String(m.code), message: String(m.message) };
        }
      }
    });
    child.on('error', reject);
    child.on('disconnect', () => {
      disconnected = true;
      settle();
    });
    child.on('exit', (code, signal) => {
      exited = true;
      run.exit = signal ?? `exit ${String(code)}`;
      if (!child.connected) disconnected = true;
      settle();
    });
  });
}

/** Ops of a baseline log whose kind changes the disk (where the commit rule's windows are). */
const MUTATING = new Set(['open', 'write', 'fsync', 'link', 'unlink', 'mkdir']);

/**
 * An op plan from the calls of an uninterrupted run's log: the n-th call of one kind (mostly a
 * disk-changing one), which stays the same call when the vault grows (listing more directories).
 */
function opPlan(log: OpEntry[], manifestSide = false): KillPlan {
  const side = (o: OpEntry | undefined): string => {
    const p = `${o?.path ?? ''} ${o?.target ?? ''}`;
    return p.includes('/backups/') || /\/backups$/.test(o?.path ?? '') ? '/backups' : p.includes('/packs/') ? '/packs/' : '';
  };
  const mutating = log.map((o, i) => ({ o, i })).filter(({ o }) => MUTATING.has(o.kind));
  const manifest = mutating.filter(({ o }) => side(o) === '/backups');
  const i =
    manifestSide && manifest.length > 0
      ? pick(manifest).i
      : mutating.length > 0 && rand() < 0.85
        ? pick(mutating).i
        : pickInt(0, Math.max(0, log.length - 1));
  const kind = log[i]?.kind ?? 'readFile';
  // Counted among the calls of this kind on the same side (manifest or packs), which does not
  // change with the number of packs or pack directories a run has.
  const match = side(log[i]) || undefined;
  const nth = log.slice(0, i + 1).filter((o) => o.kind === kind && (match === undefined || side(o) === match)).length || 1;
  // The child waits pauseMs before the call; a kill after 0..pauseMs+6 ms lands before it, inside it or after it.
  const pauseMs = 4;
  return { mode: 'op', kind, nth, match, pauseMs, delayMs: Math.round(uniform(0, pauseMs + 6) * 10) / 10 };
}

/** 'fsync manifest temp', 'link pack', 'fsync pack dir', ...: which call of the commit rule. */
function opLabel(o: OpEntry): string {
  const p = o.target ?? o.path ?? '';
  const object = /\/backups(\/|$)/.test(p) ? 'manifest' : /\/packs(\/|$)/.test(p) ? 'pack' : /\/locks(\/|$)/.test(p) ? 'lock' : 'vault';
  const what = /\/\.tmp-[^/]*$/.test(p) ? ' temp' : /\.(manifest|pack)$/.test(p) ? '' : /\.json$/.test(p) ? ' config' : ' dir';
  return `${o.kind} ${object}${what}`;
}

const inc = (m: Record<string, number>, k: string, by = 1): void => {
  m[k] = (m[k] ?? 0) + by;
};
const fmt = (m: Record<string, number>): string =>
  Object.entries(m)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

// ---------------------------------------------------------------------------------------------
// State shared by the SIGKILL parts: the backup trials' vault is then the restore trials' vault

const work = tmpDir('litevault-vault-crash-');
const scratch = path.join(work, 'scratch');
fs.mkdirSync(scratch);
const V1 = path.join(work, 'vault-1');
const S1 = path.join(work, 'source-1.db');
const NAME1 = 'app';
const committed1: Committed[] = [];
let refCounter = 0;
const newRef = (): string => path.join(work, 'refs', `ref-${++refCounter}.db`);
fs.mkdirSync(path.join(work, 'refs'));

interface Timings {
  ms: number;
  log: OpEntry[];
  calls: number;
}

describe('vault operations survive SIGKILL at any instant', () => {
  const summary: string[] = [];
  afterAll(() => {
    for (const s of summary) console.log(s);
  });

  it(
    `backup: ${BACKUP_TRIALS} SIGKILL trials; every committed backup stays listed and restorable, the killed one is all or nothing, the next backup succeeds and leaves no garbage`,
    async () => {
      const started = performance.now();
      makeSource(S1, 6 * MIB, 3 * MIB);
      const vault = await Vault.open(V1, { create: true });
      // The first full backup, from this process.
      let ref = newRef();
      oracle(S1, ref);
      const first = (await vault.backup(S1, { name: NAME1, type: 'full' })) as { id: string };
      committed1.push(register(V1, (await listAll(V1)).find((i) => i.id === first.id)!, ref));

      // Uninterrupted child runs: how long each type takes and which filesystem calls it makes.
      const base: Record<string, Timings> = {};
      for (const type of ['full', 'incremental', 'throttled']) {
        mutate(S1, 0.01);
        ref = newRef();
        oracle(S1, ref);
        const run = await runChild(
          { vault: V1, op: 'backup', source: S1, name: NAME1, type: type === 'throttled' ? 'incremental' : type, logOps: true, maxBytesPerSecond: type === 'throttled' ? 32 * MIB : undefined },
          { mode: 'none' },
        );
        expect(run.error, `uninterrupted ${type} backup in the child`).toBeNull();
        expect(run.done).toBe(true);
        const info = (await listAll(V1)).find((i) => i.id === (run.result as { id: string }).id);
        expect(info, `uninterrupted ${type} backup is listed`).toBeDefined();
        committed1.push(register(V1, info!, ref));
        base[type] = { ms: run.readyToEndMs ?? 100, log: run.ops, calls: run.calls };
      }
      expect(base.full!.log.some((o) => o.kind === 'link' && /\.manifest$/.test(o.target ?? '')), 'the manifest is created by link(2)').toBe(true);
      expect(garbage(V1)).toEqual([]);

      const counts: Record<string, number> = {};
      const planCounts: Record<string, number> = {};
      const killedAtOp: Record<string, number> = {};
      let opTrials = 0;
      const failures: string[] = [];
      for (let trial = 1; trial <= BACKUP_TRIALS; trial++) {
        const fraction = pick([0.001, 0.01, 0.05, 0.3]);
        mutate(S1, fraction, rand() < 0.05);
        const type = pick(['incremental', 'incremental', 'incremental', 'differential', 'full', 'auto']);
        ref = newRef();
        oracle(S1, ref);
        const draw = rand();
        let plan: KillPlan;
        let throttled = false;
        const b = type === 'full' ? base.full! : base.incremental!;
        if (draw < 0.3) plan = { mode: 'timed', delayMs: Math.round(uniform(0, 1.2 * b.ms)) };
        else if (draw < 0.65) plan = opPlan(b.log, (opTrials++ % 2) === 0); // every other one at the manifest's calls
        else if (draw < 0.8) plan = rand() < 0.3 ? { mode: 'phase', phase: 'scan', delayMs: Math.round(uniform(0, b.ms)) } : { mode: 'phase', phase: 'commit', delayMs: Math.round(uniform(0, 12) * 10) / 10 };
        else {
          throttled = true;
          plan = { mode: 'timed', delayMs: Math.round(uniform(0, 1.2 * base.throttled!.ms)) };
        }
        inc(planCounts, plan.mode + (throttled ? '+throttled' : ''));
        const before = await listAll(V1);
        const run = await runChild(
          { vault: V1, op: 'backup', source: S1, name: NAME1, type, maxBytesPerSecond: throttled ? 32 * MIB : undefined },
          plan,
        );
        const problems: string[] = [];
        if (run.error !== null) problems.push(`the child's backup rejected: ${run.error.code}: ${run.error.message.slice(0, 300)}`);
        if (!run.killed && !run.done) problems.push(`the child ended (${run.exit}) without being killed or finishing: ${run.stderr.slice(0, 300)}`);
        if (run.killed && plan.mode === 'op' && run.pausedAt) inc(killedAtOp, opLabel(run.pausedAt));

        let listed: Info[] = [];
        try {
          listed = (await listAll(V1)).filter((i) => i.name === NAME1);
        } catch (e) {
          problems.push(`Vault.open/list after the kill failed: ${errText(e)}`);
        }
        problems.push(...checkKept(V1, committed1, listed));
        const beforeIds = new Set(before.map((i) => i.id));
        const fresh = listed.filter((i) => !beforeIds.has(i.id));
        let outcome = 'invisible';
        if (fresh.length > 1) problems.push(`${fresh.length} new backups listed after one run: ${fresh.map((i) => i.id).join(', ')}`);
        if (run.done && !fresh.some((i) => i.id === (run.result as { id: string }).id)) problems.push('the child reported its backup done, but it is not listed');
        if (fresh.length === 1) {
          outcome = run.done ? 'completed' : 'committed-then-killed';
          const c = register(V1, fresh[0]!, ref);
          problems.push(...(await checkRestore(V1, c, scratch, trial % 10 === 0)));
          committed1.push(c);
        }
        inc(counts, run.killed ? `killed, ${outcome}` : outcome);
        // Spot checks of older backups (all of them are restored at the end).
        if (committed1.length > 1 && trial % 4 === 0) problems.push(...(await checkRestore(V1, pick(committed1.slice(0, -1)), scratch)));

        // The next backup: no stale lock, and it removes what the killed run left.
        try {
          const next = (await (await Vault.open(V1)).backup(S1, { name: NAME1, type: 'incremental' })) as { id: string };
          const info = (await listAll(V1)).find((i) => i.name === NAME1 && i.id === next.id);
          if (!info) problems.push(`the next backup (${next.id}) is not listed`);
          else committed1.push(register(V1, info, ref));
          const g = garbage(V1);
          if (g.length > 0) problems.push(`garbage after the next backup: ${g.slice(0, 5).join(', ')}${g.length > 5 ? ` (+${g.length - 5})` : ''}`);
        } catch (e) {
          problems.push(`the next backup failed: ${errText(e)}`);
        }
        if (problems.length > 0) {
          const report = { trial, seed: SEED, type, fraction, plan, child: { ...run, ops: undefined }, problems };
          failures.push(`backup trial ${trial} (${JSON.stringify(plan)}; kept in ${preserveFailure(report, { vault: V1, 'source.db': S1, 'ref.db': ref })}): ${problems.join('; ')}`);
        }
      }

      // Every committed backup, restored once more at the end.
      const finalProblems: string[] = [];
      for (const c of committed1) finalProblems.push(...(await checkRestore(V1, c, scratch)));
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      summary.push(
        `vault crash | backup SIGKILL: ${BACKUP_TRIALS} trials (plans: ${fmt(planCounts)}; outcomes: ${fmt(counts)}; ` +
          `op kills paused at: ${fmt(killedAtOp)}); ${committed1.length} committed backups all restored at the end ` +
          `(${finalProblems.length} problems); uninterrupted full ${base.full!.ms.toFixed(0)} ms / incremental ${base.incremental!.ms.toFixed(0)} ms / ` +
          `throttled ${base.throttled!.ms.toFixed(0)} ms, ${base.full!.calls} fs calls; seed ${SEED}; ${seconds} s`,
      );
      expect(failures).toEqual([]);
      expect(finalProblems).toEqual([]);
      const killed = Object.entries(counts).filter(([k]) => k.startsWith('killed')).reduce((s, [, v]) => s + v, 0);
      expect(killed, 'most trials must really kill the child').toBeGreaterThanOrEqual(Math.ceil(BACKUP_TRIALS * 0.6));
      expect(counts['killed, invisible'] ?? 0).toBeGreaterThan(0);
    },
    300_000,
  );

  it(
    `restore: ${RESTORE_TRIALS} SIGKILL trials; a new destination is absent or complete, an overwritten one (rollback or WAL) is the old database or the backup, never a mix`,
    async () => {
      expect(committed1.length).toBeGreaterThan(3);
      const started = performance.now();
      const dir = path.join(work, 'restore-trials');
      fs.mkdirSync(dir);
      // Destinations to overwrite: an older backup's oracle, as a rollback and as a WAL database.
      const oldRollback = path.join(work, 'old-rollback.db');
      const oldWal = path.join(work, 'old-wal.db');
      fs.copyFileSync(committed1[0]!.ref, oldRollback);
      sqliteShell(oldRollback, "CREATE TABLE old_destination(x); INSERT INTO old_destination VALUES ('old');\n");
      fs.copyFileSync(oldRollback, oldWal);
      sqliteShell(oldWal, 'PRAGMA journal_mode=wal;\n');
      expect(fs.existsSync(oldWal + '-wal')).toBe(false);

      // Uninterrupted: a new path and an overwrite, from the latest backup.
      const latest = committed1[committed1.length - 1]!;
      const base: Record<string, Timings> = {};
      for (const kind of ['new', 'overwrite']) {
        const dest = path.join(dir, `baseline-${kind}.db`);
        if (kind === 'overwrite') fs.copyFileSync(oldRollback, dest);
        const run = await runChild({ vault: V1, op: 'restore', name: NAME1, dest, at: latest.id, overwrite: kind === 'overwrite', logOps: true }, { mode: 'none' });
        expect(run.error, `uninterrupted ${kind} restore`).toBeNull();
        expect(fileDiff(dest, latest.ref), `uninterrupted ${kind} restore`).toBeNull();
        base[kind] = { ms: run.readyToEndMs ?? 100, log: run.ops, calls: run.calls };
        for (const s of ['', '-journal', '-wal', '-shm']) fs.rmSync(dest + s, { force: true });
      }

      const counts: Record<string, number> = {};
      const planCounts: Record<string, number> = {};
      let leftoverTemps = 0;
      const failures: string[] = [];
      for (let trial = 1; trial <= RESTORE_TRIALS; trial++) {
        const c = pick(committed1);
        const kind = pick(['new', 'new', 'overwrite-rollback', 'overwrite-wal'] as const);
        const tdir = path.join(dir, `trial-${trial}`);
        fs.mkdirSync(tdir);
        const dest = path.join(tdir, 'restored.db');
        const old = kind === 'overwrite-wal' ? oldWal : oldRollback;
        if (kind !== 'new') fs.copyFileSync(old, dest);
        const beforeSha = fileSha(dest);
        const b = kind === 'new' ? base.new! : base.overwrite!;
        const plan: KillPlan = rand() < 0.55 ? { mode: 'timed', delayMs: Math.round(uniform(0, 1.2 * b.ms) * 10) / 10 } : opPlan(b.log);
        inc(planCounts, plan.mode);
        const run = await runChild({ vault: V1, op: 'restore', name: NAME1, dest, at: c.id, overwrite: kind !== 'new' }, plan);
        const problems: string[] = [];
        if (run.error !== null) problems.push(`the child's restore rejected: ${run.error.code}: ${run.error.message.slice(0, 300)}`);
        if (!run.killed && !run.done) problems.push(`the child ended (${run.exit}) without being killed or finishing`);
        const others = fs.readdirSync(tdir).filter((f) => !['restored.db', 'restored.db-journal', 'restored.db-wal', 'restored.db-shm'].includes(f));
        leftoverTemps += others.length;
        const { state: outcome, problems: found } = restoredState(dest, c.ref, kind, { path: old, sha: beforeSha });
        problems.push(...found);
        if (kind === 'new') {
          if (run.done && outcome === 'absent') problems.push('the child reported the restore done, but the destination is missing');
        } else {
          if (run.done && outcome !== 'new') problems.push(`the child reported the restore done, but SQLite sees ${outcome}`);
          for (const s of ['-journal', '-wal']) if (fs.existsSync(dest + s) && fs.statSync(dest + s).size > 0 && !coldJournal(dest + s)) problems.push(`${s} left after SQLite's close`);
        }
        inc(counts, `${kind} ${run.killed ? 'killed' : 'finished'} ${outcome}`);
        if (problems.length > 0) {
          const report = { trial, seed: SEED, kind, backup: c, plan, child: { ...run, ops: undefined }, problems };
          failures.push(`restore trial ${trial} (${kind}, ${JSON.stringify(plan)}; kept in ${preserveFailure(report, { dest: tdir, 'ref.db': c.ref })}): ${problems.join('; ')}`);
        }
        fs.rmSync(tdir, { recursive: true, force: true });
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      summary.push(
        `vault crash | restore SIGKILL: ${RESTORE_TRIALS} trials (plans: ${fmt(planCounts)}; outcomes: ${fmt(counts)}); ` +
          `temporaries left beside destinations by killed restores: ${leftoverTemps}; uninterrupted new ${base.new!.ms.toFixed(0)} ms / overwrite ${base.overwrite!.ms.toFixed(0)} ms; seed ${SEED}; ${seconds} s`,
      );
      expect(failures).toEqual([]);
    },
    240_000,
  );

  it(
    `prune: ${PRUNE_TRIALS} SIGKILL trials; what stays listed holds every kept backup, was removed highest seq first and restores; the next prune and backup leave no garbage`,
    async () => {
      const started = performance.now();
      // The template: two names, chains with fulls, incrementals and differentials, and some garbage.
      const template = path.join(work, 'prune-template');
      const sources = { alpha: path.join(work, 'prune-alpha.db'), beta: path.join(work, 'prune-beta.db') };
      makeSource(sources.alpha, 512 * KIB, 512 * KIB);
      makeSource(sources.beta, 256 * KIB, 256 * KIB);
      const tv = await Vault.open(template, { create: true });
      const refs = new Map<string, string>(); // name/id -> oracle
      const plan: Array<[keyof typeof sources, string]> = [
        ['alpha', 'full'], ['alpha', 'incremental'], ['beta', 'full'], ['alpha', 'differential'], ['alpha', 'incremental'],
        ['beta', 'incremental'], ['alpha', 'full'], ['beta', 'full'], ['alpha', 'incremental'], ['alpha', 'differential'],
        ['alpha', 'incremental'],
      ];
      for (const [name, type] of plan) {
        mutate(sources[name], 0.03);
        const ref = newRef();
        oracle(sources[name], ref);
        const r = (await tv.backup(sources[name], { name, type: type as VaultBackupType })) as { id: string };
        refs.set(`${name}/${r.id}`, ref);
      }
      // Garbage a killed backup would leave: an unreferenced pack and a dead writer's temporary.
      const fakeKey = 'ab'.repeat(16);
      fs.mkdirSync(path.join(template, 'packs', 'alpha', 'ab'), { recursive: true });
      fs.writeFileSync(packFile(template, 'alpha', fakeKey), Buffer.alloc(100, 7), { mode: 0o600 });
      fs.writeFileSync(path.join(template, 'packs', 'alpha', 'ab', '.tmp-99999999-0badc0ffee00'), 'x', { mode: 0o600 });
      const templateListed = await listAll(template);
      expect(templateListed).toHaveLength(plan.length);
      const committedT = templateListed.map((i) => register(template, i, refs.get(`${i.name}/${i.id}`)!));

      const rulesFor = (): Record<string, unknown> => {
        const r = rand();
        if (r < 0.7) return { keepLast: pickInt(1, 4) };
        if (r < 0.85) return { keepLast: pickInt(1, 3), name: 'alpha' };
        return { keepLast: 1, keepWithin: 0 };
      };
      const copyTemplate = (to: string): void => {
        fs.rmSync(to, { recursive: true, force: true });
        fs.cpSync(template, to, { recursive: true });
      };

      // Uninterrupted prune in a child, on a copy.
      const baseDir = path.join(work, 'prune-baseline');
      copyTemplate(baseDir);
      const baseRun = await runChild({ vault: baseDir, op: 'prune', prune: { keepLast: 2 }, logOps: true }, { mode: 'none' });
      expect(baseRun.error, 'uninterrupted prune in the child').toBeNull();
      expect(garbage(baseDir), 'garbage after an uninterrupted prune').toEqual([]);
      const base: Timings = { ms: baseRun.readyToEndMs ?? 50, log: baseRun.ops, calls: baseRun.calls };

      const counts: Record<string, number> = {};
      const planCounts: Record<string, number> = {};
      let removedTotal = 0;
      let restored = 0;
      const failures: string[] = [];
      for (let trial = 1; trial <= PRUNE_TRIALS; trial++) {
        const dir = path.join(work, `prune-trial`);
        copyTemplate(dir);
        const rules = rulesFor();
        const dry = (await (await Vault.open(dir)).prune({ ...rules, dryRun: true })) as { kept: Info[]; removed: Info[] };
        const problems: string[] = [];
        if (JSON.stringify(await listAll(dir)) !== JSON.stringify(templateListed)) problems.push('a dry-run prune changed the listing');
        // A prune of one name keeps every backup of the others.
        const keptIds = new Set([
          ...dry.kept.map((i) => `${i.name}/${i.id}`),
          ...templateListed.filter((i) => rules.name !== undefined && i.name !== rules.name).map((i) => `${i.name}/${i.id}`),
        ]);
        const toRemove = dry.removed.map((i) => `${i.name}/${i.id}`);
        const pl: KillPlan = rand() < 0.5 ? { mode: 'timed', delayMs: Math.round(uniform(0, 1.2 * base.ms) * 10) / 10 } : opPlan(base.log);
        inc(planCounts, pl.mode);
        const run = await runChild({ vault: dir, op: 'prune', prune: rules }, pl);
        if (run.error !== null) problems.push(`the child's prune rejected: ${run.error.code}: ${run.error.message.slice(0, 300)}`);
        if (!run.killed && !run.done) problems.push(`the child ended (${run.exit}) without being killed or finishing`);

        let listed: Info[] = [];
        try {
          listed = await listAll(dir);
        } catch (e) {
          problems.push(`Vault.open/list after the kill failed: ${errText(e)}`);
        }
        const listedIds = new Set(listed.map((i) => `${i.name}/${i.id}`));
        for (const i of listed) if (!committedT.some((c) => c.name === i.name && c.id === i.id)) problems.push(`a backup that never existed is listed: ${i.name} ${i.id}`);
        for (const k of keptIds) if (!listedIds.has(k)) problems.push(`kept backup ${k} was removed`);
        const gone = toRemove.filter((k) => !listedIds.has(k));
        removedTotal += gone.length;
        // Manifests go in descending seq order, per name: a removed one means every higher one to remove is gone too.
        for (const g of gone) {
          const [name, id] = g.split('/');
          const seq = dry.removed.find((i) => i.name === name && i.id === id)!.seq;
          for (const r of dry.removed) if (r.name === name && r.seq > seq && listedIds.has(`${r.name}/${r.id}`)) problems.push(`${g} was removed before ${r.name}/${r.id} (prune order)`);
        }
        const stillCommitted = committedT.filter((c) => listedIds.has(`${c.name}/${c.id}`));
        problems.push(...checkKept(dir, stillCommitted, listed));
        for (const c of stillCommitted) {
          problems.push(...(await checkRestore(dir, c, scratch)));
          restored++;
        }
        const outcome = gone.length === 0 ? 'nothing removed' : gone.length === toRemove.length ? 'all removed' : 'partly removed';
        inc(counts, `${run.killed ? 'killed' : 'finished'}, ${outcome}`);
        if (run.done && gone.length !== toRemove.length) problems.push(`the child's prune resolved but ${toRemove.length - gone.length} backups it removes are still listed`);

        // The next prune finishes the job; the next backup works; nothing is left over.
        try {
          const v = await Vault.open(dir);
          await v.prune(rules);
          const after = await listAll(dir);
          const afterIds = after.map((i) => `${i.name}/${i.id}`).sort();
          if (JSON.stringify(afterIds) !== JSON.stringify([...keptIds].sort())) problems.push(`after the next prune the vault lists ${afterIds.join(' ')}, not the kept ${[...keptIds].sort().join(' ')}`);
          const g1 = garbage(dir);
          if (g1.length > 0) problems.push(`garbage after the next prune: ${g1.slice(0, 5).join(', ')}`);
          const ref = newRef();
          oracle(sources.alpha, ref);
          const nb = (await v.backup(sources.alpha, { name: 'alpha' })) as { id: string };
          const info = (await listAll(dir)).find((i) => i.name === 'alpha' && i.id === nb.id);
          if (!info) problems.push('the next backup is not listed');
          else problems.push(...(await checkRestore(dir, register(dir, info, ref), scratch)));
          const g2 = garbage(dir);
          if (g2.length > 0) problems.push(`garbage after the next backup: ${g2.slice(0, 5).join(', ')}`);
        } catch (e) {
          problems.push(`the next prune or backup failed: ${errText(e)}`);
        }
        if (problems.length > 0) {
          const report = { trial, seed: SEED, rules, plan: pl, dryRun: { kept: [...keptIds], removed: toRemove }, child: { ...run, ops: undefined }, problems };
          failures.push(`prune trial ${trial} (${JSON.stringify(rules)}, ${JSON.stringify(pl)}; kept in ${preserveFailure(report, { vault: dir })}): ${problems.join('; ')}`);
        }
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      summary.push(
        `vault crash | prune SIGKILL: ${PRUNE_TRIALS} trials on a vault of ${plan.length} backups of 2 names (plans: ${fmt(planCounts)}; outcomes: ${fmt(counts)}); ` +
          `${removedTotal} manifests removed by killed runs, ${restored} still-listed backups restored after the kills; uninterrupted prune ${base.ms.toFixed(0)} ms, ${base.calls} fs calls; seed ${SEED}; ${seconds} s`,
      );
      expect(failures).toEqual([]);
      expect(Object.keys(counts).some((k) => k.startsWith('killed'))).toBe(true);
    },
    240_000,
  );
});

// ---------------------------------------------------------------------------------------------
// Fault injection through DirectoryStorage's FsOps

type Ops = typeof realFsOps;
type FsKind = keyof Ops;
const ALL_KINDS = Object.keys(realFsOps) as FsKind[];
const WRITE_KINDS = ALL_KINDS.filter((k) => MUTATING.has(k));

interface FaultLog {
  entries: Array<OpEntry & { ok: boolean; injected?: boolean }>;
  hit: boolean;
}

/** The real FsOps, with the `at`-th call of `kind` failing with EIO instead of being made. */
function faultyOps(kind: FsKind, at: number, log: FaultLog): Ops {
  let n = 0;
  const out: Record<string, unknown> = {};
  for (const [k, fn] of Object.entries(realFsOps)) {
    out[k] = async (...args: unknown[]) => {
      const entry: OpEntry = {
        kind: k,
        path: typeof args[0] === 'string' ? args[0] : undefined,
        target: k === 'link' && typeof args[1] === 'string' ? args[1] : undefined,
      };
      if (k === kind && ++n === at) {
        log.hit = true;
        log.entries.push({ ...entry, ok: false, injected: true });
        throw Object.assign(new Error(`EIO: i/o error (injected: ${k} call ${at})`), { code: 'EIO', errno: -5, syscall: k, path: entry.path });
      }
      try {
        const r = await (fn as (...a: unknown[]) => Promise<unknown>).apply(realFsOps, args);
        log.entries.push({ ...entry, ok: true });
        return r;
      } catch (e) {
        log.entries.push({ ...entry, ok: false });
        throw e;
      }
    };
  }
  return out as unknown as Ops;
}

/** The manifest's link(2) succeeded before the injected fault: the backup was committed before it. */
function committedInLog(log: FaultLog): boolean {
  const linked = log.entries.findIndex((e) => e.kind === 'link' && e.ok && /\/backups\/[^/]+\/\d{10}\.manifest$/.test(e.target ?? ''));
  const injected = log.entries.findIndex((e) => e.injected === true);
  return linked >= 0 && (injected < 0 || linked < injected);
}
/** The manifest's link(2) succeeded at all in this run. */
const linkedInLog = (log: FaultLog): boolean =>
  log.entries.some((e) => e.kind === 'link' && e.ok && /\/backups\/[^/]+\/\d{10}\.manifest$/.test(e.target ?? ''));

function typedProblem(err: unknown): string | null {
  if (!(err instanceof LitevaultError)) return `rejected with a non-LitevaultError: ${errText(err)}`;
  if (err.code !== 'LITEVAULT_STORAGE' && !/^SQLITE_/.test(err.code)) return `rejected with ${err.code}, not LITEVAULT_STORAGE or a SQLite code: ${err.message.slice(0, 200)}`;
  return null;
}

interface SweepStats {
  runs: number;
  faults: number;
  rejected: number;
  absorbed: Record<string, number>;
  afterCommit: number;
  perKind: Record<string, number>;
}

/**
 * For each kind, N = 1, 2, ...: `attempt(kind, N)` runs the operation with the N-th call of that
 * kind failing and returns whether the fault was hit; the sweep of a kind ends with the first run
 * that makes fewer than N calls of it.
 */
/** Reads (readFile, readdir) fail in turn only in their first READ_CAP calls, to bound the run time; every disk-changing call fails in turn. */
const READ_CAP = 8;

async function sweep(kinds: readonly FsKind[], attempt: (kind: FsKind, at: number) => Promise<boolean>, stats: SweepStats): Promise<void> {
  for (const kind of kinds) {
    const cap = MUTATING.has(kind) ? 400 : READ_CAP;
    for (let at = 1; at <= cap; at++) {
      stats.runs++;
      const hit = await attempt(kind, at);
      if (!hit) break;
      stats.faults++;
      inc(stats.perKind, kind);
    }
  }
}

const newStats = (): SweepStats => ({ runs: 0, faults: 0, rejected: 0, absorbed: {}, afterCommit: 0, perKind: {} });
const statLine = (s: SweepStats): string =>
  `${s.runs} runs, ${s.faults} faults injected (${fmt(s.perKind)}; reads: their first ${READ_CAP} calls), ${s.rejected} rejected with a typed error, ` +
  `${s.afterCommit} failed after the commit point (committed, restorable), absorbed: ${fmt(s.absorbed) || 'none'}`;

describe('every filesystem call of the vault failing, one at a time (DirectoryStorage FsOps)', () => {
  const fwork = tmpDir('litevault-vault-fault-');
  const summary: string[] = [];
  afterAll(() => {
    for (const s of summary) console.log(s);
  });

  /** A template vault with backups of `source` (types), their oracles, and the source changed once more. */
  async function buildTemplate(label: string, types: string[], randomBytes: number, patternBytes: number): Promise<{ dir: string; source: string; committed: Committed[]; ref: string }> {
    const dir = path.join(fwork, `${label}-template`);
    const source = path.join(fwork, `${label}.db`);
    makeSource(source, randomBytes, patternBytes);
    const v = await Vault.open(dir, { create: true });
    const committed: Committed[] = [];
    for (const type of types) {
      mutate(source, 0.05);
      const ref = path.join(fwork, `${label}-ref-${committed.length + 1}.db`);
      oracle(source, ref);
      const r = (await v.backup(source, { name: label, type: type as VaultBackupType })) as { id: string };
      committed.push(register(dir, (await listAll(dir)).find((i) => i.id === r.id)!, ref));
    }
    mutate(source, 0.05);
    const ref = path.join(fwork, `${label}-ref-next.db`);
    oracle(source, ref);
    return { dir, source, committed, ref };
  }

  async function backupSweep(label: string, types: string[], randomBytes: number, patternBytes: number, type: string, kinds: readonly FsKind[]): Promise<void> {
    const t = await buildTemplate(label, types, randomBytes, patternBytes);
    const stats = newStats();
    const failures: string[] = [];
    const dir = path.join(fwork, `${label}-run`);
    await sweep(
      kinds,
      async (kind, at) => {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.cpSync(t.dir, dir, { recursive: true });
        const log: FaultLog = { entries: [], hit: false };
        let err: unknown = null;
        let result: { id: string } | null = null;
        try {
          const v = await Vault.open(dir, { storage: new DirectoryStorage(dir, faultyOps(kind, at, log)) });
          result = (await v.backup(t.source, { name: label, type: type as VaultBackupType })) as { id: string };
        } catch (e) {
          err = e;
        }
        const problems: string[] = [];
        const where = `${kind} call ${at}`;
        if (err !== null) {
          if (!log.hit) problems.push(`rejected without the fault being hit: ${errText(err)}`);
          else stats.rejected++;
          const p = typedProblem(err);
          if (p) problems.push(p);
        } else if (log.hit) {
          // Past the commit point a failure can only leave garbage: the backup may resolve, with a note.
          if (committedInLog(log)) {
            inc(stats.absorbed, `${kind} after the commit`);
            // (A readdir of the final sweep of temporaries is best effort and silent: the next backup sweeps again.)
            if (kind !== 'readdir' && ((result as { notes?: string[] } | null)?.notes ?? []).length === 0) {
              problems.push(`a ${kind} failure after the commit was swallowed without a note in the result`);
            }
          } else {
            inc(stats.absorbed, kind);
            if (['open', 'write', 'fsync', 'link'].includes(kind)) problems.push(`the backup resolved although its ${kind} failed before the commit (a durability failure swallowed)`);
          }
        }
        let listed: Info[] = [];
        try {
          listed = (await listAll(dir)).filter((i) => i.name === label);
        } catch (e) {
          problems.push(`list after the fault failed: ${errText(e)}`);
        }
        problems.push(...checkKept(dir, t.committed, listed));
        const fresh = listed.filter((i) => !t.committed.some((c) => c.id === i.id));
        const manifestLinked = linkedInLog(log);
        if (fresh.length > 1) problems.push(`${fresh.length} new backups listed`);
        if (err === null && result !== null && !fresh.some((i) => i.id === result!.id)) problems.push('the backup resolved but is not listed');
        if (err !== null && fresh.length === 1 && !manifestLinked) problems.push(`a failed backup is listed (${fresh[0]!.id}) although its manifest link never succeeded`);
        if (manifestLinked && fresh.length === 0) problems.push('the manifest was linked, but the backup is not listed');
        const all = [...t.committed];
        if (fresh.length === 1) {
          if (err !== null) stats.afterCommit++;
          all.push(register(dir, fresh[0]!, t.ref));
        }
        for (const c of all) problems.push(...(await checkRestore(dir, c, scratch)));
        try {
          const nb = (await (await Vault.open(dir)).backup(t.source, { name: label, type: 'incremental' })) as { id: string };
          if (!(await listAll(dir)).some((i) => i.name === label && i.id === nb.id)) problems.push('the next backup is not listed');
          const g = garbage(dir);
          if (g.length > 0) problems.push(`garbage after the next backup: ${g.slice(0, 5).join(', ')}`);
        } catch (e) {
          problems.push(`the next backup failed: ${errText(e)}`);
        }
        if (problems.length > 0) {
          const ops = log.entries.map((e) => `${e.injected ? '*' : ''}${e.kind}${e.ok ? '' : '!'} ${path.relative(dir, e.target ?? e.path ?? '')}`);
          failures.push(`${label} ${type} backup, ${where} (kept in ${preserveFailure({ label, where, problems, ops }, { vault: dir })}): ${problems.join('; ')}`);
        }
        return log.hit;
      },
      stats,
    );
    summary.push(`vault crash | fault injection, ${type} backup (${label}, ${types.length} backups before): ${statLine(stats)}`);
    expect(failures).toEqual([]);
    expect(stats.faults).toBeGreaterThan(10);
  }

  it('an incremental backup: every call of every kind failing in turn', async () => {
    await backupSweep('inc', ['full', 'incremental'], 256 * KIB, 768 * KIB, 'incremental', ALL_KINDS);
  }, 240_000);

  it('a full backup writing several packs: every disk-changing call failing in turn', async () => {
    await backupSweep('multi', ['full'], 9 * MIB, 512 * KIB, 'full', WRITE_KINDS);
  }, 240_000);

  it('a prune: every call of every kind failing in turn leaves a restorable subset, finished by the next prune', async () => {
    const t = await buildTemplate('prn', ['full', 'incremental', 'differential', 'full', 'incremental'], 256 * KIB, 512 * KIB);
    // Garbage for prune to remove: an unreferenced pack and a dead writer's temporary.
    const fakeKey = 'cd'.repeat(16);
    fs.mkdirSync(path.join(t.dir, 'packs', 'prn', 'cd'), { recursive: true });
    fs.writeFileSync(packFile(t.dir, 'prn', fakeKey), Buffer.alloc(64, 1), { mode: 0o600 });
    fs.writeFileSync(path.join(t.dir, 'packs', 'prn', 'cd', '.tmp-99999999-deadbeef0000'), 'x', { mode: 0o600 });
    const rules = { keepLast: 1 };
    const dry = (await (await Vault.open(t.dir)).prune({ ...rules, dryRun: true })) as { kept: Info[]; removed: Info[] };
    expect(dry.kept.map((i) => i.seq)).toEqual([4, 5]);
    const keptIds = dry.kept.map((i) => i.id).sort();
    const stats = newStats();
    const failures: string[] = [];
    const dir = path.join(fwork, 'prn-run');
    await sweep(
      ALL_KINDS,
      async (kind, at) => {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.cpSync(t.dir, dir, { recursive: true });
        const log: FaultLog = { entries: [], hit: false };
        let err: unknown = null;
        try {
          const v = await Vault.open(dir, { storage: new DirectoryStorage(dir, faultyOps(kind, at, log)) });
          await v.prune(rules);
        } catch (e) {
          err = e;
        }
        const problems: string[] = [];
        if (err !== null) {
          if (!log.hit) problems.push(`rejected without the fault being hit: ${errText(err)}`);
          else stats.rejected++;
          const p = typedProblem(err);
          if (p) problems.push(p);
        } else if (log.hit) inc(stats.absorbed, kind);
        let listed: Info[] = [];
        try {
          listed = (await listAll(dir)).filter((i) => i.name === 'prn');
        } catch (e) {
          problems.push(`list after the fault failed: ${errText(e)}`);
        }
        const ids = new Set(listed.map((i) => i.id));
        for (const k of keptIds) if (!ids.has(k)) problems.push(`kept backup ${k} was removed`);
        for (const i of listed) if (!t.committed.some((c) => c.id === i.id)) problems.push(`unknown backup ${i.id} listed`);
        for (const r of dry.removed) {
          if (ids.has(r.id)) continue;
          for (const s of dry.removed) if (s.seq > r.seq && ids.has(s.id)) problems.push(`${r.id} removed before ${s.id} (prune order)`);
        }
        if (err === null && listed.length !== keptIds.length) problems.push(`the prune resolved but lists ${[...ids].join(' ')}`);
        const still = t.committed.filter((c) => ids.has(c.id));
        problems.push(...checkKept(dir, still, listed));
        for (const c of still) problems.push(...(await checkRestore(dir, c, scratch)));
        try {
          const v = await Vault.open(dir);
          await v.prune(rules);
          const after = (await listAll(dir)).map((i) => i.id).sort();
          if (JSON.stringify(after) !== JSON.stringify(keptIds)) problems.push(`after the next prune: ${after.join(' ')}`);
          const g = garbage(dir);
          if (g.length > 0) problems.push(`garbage after the next prune: ${g.slice(0, 5).join(', ')}`);
          const nb = (await v.backup(t.source, { name: 'prn' })) as { id: string };
          const info = (await listAll(dir)).find((i) => i.id === nb.id);
          if (!info) problems.push('the next backup is not listed');
          else problems.push(...(await checkRestore(dir, register(dir, info, t.ref), scratch)));
        } catch (e) {
          problems.push(`the next prune or backup failed: ${errText(e)}`);
        }
        if (problems.length > 0) {
          const ops = log.entries.map((e) => `${e.injected ? '*' : ''}${e.kind}${e.ok ? '' : '!'} ${path.relative(dir, e.target ?? e.path ?? '')}`);
          failures.push(`prune, ${kind} call ${at} (kept in ${preserveFailure({ kind, at, problems, ops }, { vault: dir })}): ${problems.join('; ')}`);
        }
        return log.hit;
      },
      stats,
    );
    summary.push(`vault crash | fault injection, prune keepLast 1 of 5 backups (3 removed) + garbage: ${statLine(stats)}`);
    expect(failures).toEqual([]);
    expect(stats.faults).toBeGreaterThan(10);
  }, 240_000);

  it('a restore (new path and overwrite): every storage call failing in turn leaves no destination / the old one', async () => {
    const t = await buildTemplate('rst', ['full', 'incremental', 'differential', 'incremental'], 256 * KIB, 512 * KIB);
    const target = t.committed[t.committed.length - 1]!;
    const old = path.join(fwork, 'rst-old.db');
    fs.copyFileSync(t.committed[0]!.ref, old);
    const oldSha = fileSha(old);
    const stats = newStats();
    const failures: string[] = [];
    for (const kind of ['new', 'overwrite'] as const) {
      await sweep(
        ALL_KINDS,
        async (fk, at) => {
          const dd = path.join(fwork, `rst-dest-${kind}`);
          fs.rmSync(dd, { recursive: true, force: true });
          fs.mkdirSync(dd);
          const dest = path.join(dd, 'restored.db');
          if (kind === 'overwrite') fs.copyFileSync(old, dest);
          const log: FaultLog = { entries: [], hit: false };
          let err: unknown = null;
          try {
            const v = await Vault.open(t.dir, { storage: new DirectoryStorage(t.dir, faultyOps(fk, at, log)) });
            await v.restore('rst', dest, { at: target.id, overwrite: kind === 'overwrite' });
          } catch (e) {
            err = e;
          }
          const problems: string[] = [];
          if (err !== null) {
            if (!log.hit) problems.push(`rejected without the fault being hit: ${errText(err)}`);
            else stats.rejected++;
            const p = typedProblem(err);
            if (p) problems.push(p);
            if (kind === 'new' && fs.existsSync(dest)) problems.push('a failed restore left a destination');
            if (kind === 'overwrite' && fileSha(dest) !== oldSha) problems.push('a failed restore changed the destination');
            const extra = fs.readdirSync(dd).filter((f) => f !== 'restored.db');
            if (extra.length > 0) problems.push(`a failed restore left ${extra.join(', ')} beside the destination`);
          } else {
            if (log.hit) inc(stats.absorbed, fk);
            const d = fileDiff(dest, target.ref);
            if (d !== null) problems.push(`the restore resolved but the destination is not the backup: ${d}`);
          }
          if (problems.length > 0) failures.push(`restore to a ${kind} destination, ${fk} call ${at}: ${problems.join('; ')}`);
          return log.hit;
        },
        stats,
      );
    }
    summary.push(`vault crash | fault injection, restore (new path and overwrite) of a 4-backup chain: ${statLine(stats)}`);
    expect(failures).toEqual([]);
    expect(stats.faults).toBeGreaterThan(3);
  }, 240_000);
});

// ---------------------------------------------------------------------------------------------
// The native fault plan (test build) during restore

describe('every disk-changing native operation of a restore failing in turn (os/fault.h)', () => {
  type Kind = 'new' | 'overwrite-rollback' | 'overwrite-wal';
  const nwork = tmpDir('litevault-vault-native-fault-');
  const dir = path.join(nwork, 'vault');
  const ref = path.join(nwork, 'ref.db');
  const old = path.join(nwork, 'old.db');
  const oldWal = path.join(nwork, 'old-wal.db');
  let target = '';
  const summary: string[] = [];

  beforeAll(async () => {
    const source = path.join(nwork, 'src.db');
    // Small, so that every operation can fail in turn: 1 KiB pages, ~20 of them.
    sqliteShell(
      source,
      'PRAGMA page_size=1024;\nCREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);\n' +
        'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<40) INSERT INTO t(v) SELECT randomblob(300) FROM c;\n',
    );
    const v = await Vault.open(dir, { create: true });
    await v.backup(source, { name: 'n', type: 'full' });
    sqliteShell(source, 'UPDATE t SET v = randomblob(300) WHERE id % 7 = 0;\nINSERT INTO t(v) SELECT randomblob(300) FROM t LIMIT 8;\n');
    oracle(source, ref);
    target = ((await v.backup(source, { name: 'n', type: 'incremental' })) as { id: string }).id;
    sqliteShell(old, 'PRAGMA page_size=1024;\nCREATE TABLE old(x);\nINSERT INTO old VALUES (1), (2), (3);\n');
    fs.copyFileSync(old, oldWal);
    sqliteShell(oldWal, 'PRAGMA journal_mode=wal;\n');
  });
  afterAll(() => {
    for (const line of summary) console.log(line);
  });

  const prepare = (kind: Kind): { dd: string; dest: string; before: string | null } => {
    const dd = path.join(nwork, `dest-${kind}`);
    fs.rmSync(dd, { recursive: true, force: true });
    fs.mkdirSync(dd);
    const dest = path.join(dd, 'restored.db');
    if (kind !== 'new') fs.copyFileSync(kind === 'overwrite-wal' ? oldWal : old, dest);
    return { dd, dest, before: fileSha(dest) };
  };
  const restoreOnce = async (kind: Kind, dest: string): Promise<unknown> => {
    try {
      const vv = await Vault.open(dir);
      await vv.restore('n', dest, { at: target, overwrite: kind !== 'new' });
      return null;
    } catch (e) {
      return e;
    } finally {
      binding.setFaultPlan({ mode: 'off' });
    }
  };

  const TITLES: Record<Kind, string> = {
    new: 'a new destination is absent or complete after a fault at each operation (EIO, ENOSPC)',
    'overwrite-rollback': 'an overwritten rollback-journal destination is the old database or the backup after a fault at each operation (EIO, stop)',
    'overwrite-wal': 'an overwritten WAL destination is the old database or the backup after a fault at each operation (EIO, stop)',
  };

  for (const kind of ['new', 'overwrite-rollback', 'overwrite-wal'] as Kind[]) {
    it(`${kind}: ${TITLES[kind]}`, async () => {
      const started = performance.now();
      const counts: Record<string, number> = {};
      const failures: string[] = [];
      let runs = 0;
      let temps = 0;
      let journals = 0;
      // Count the operations of an uninterrupted restore.
      const p0 = prepare(kind);
      binding.setFaultPlan({ mode: 'off' });
      const vv = await Vault.open(dir);
      await vv.restore('n', p0.dest, { at: target, overwrite: kind !== 'new' });
      const operations = binding.faultOperations();
      binding.setFaultPlan({ mode: 'off' });
      expect(fileDiff(p0.dest, ref, kind === 'overwrite-wal' ? WAL_DESTINATION_FIELDS : BACKUP_HEADER_FIELDS), `uninterrupted ${kind} restore`).toBeNull();
      expect(operations, `native disk operations of a ${kind} restore`).toBeGreaterThan(2);
      const plans: Array<{ name: string; plan: { mode: 'fail' | 'stop'; errno?: 'EIO' | 'ENOSPC' } }> = [{ name: 'EIO', plan: { mode: 'fail', errno: 'EIO' } }];
      // ENOSPC takes the same paths as EIO in the core (only the code differs): once, on the new path, to bound the time.
      if (kind === 'new') plans.push({ name: 'ENOSPC', plan: { mode: 'fail', errno: 'ENOSPC' } });
      // "stop" (every operation from the N-th on silently not done) is a crash only where nothing
      // the plan does not count acts afterwards: an overwrite's writer. A new path's placeholder
      // (os/publish.cc) is created by an open the plan does not count, so a "stop" would create
      // it after the simulated crash.
      if (kind !== 'new') plans.push({ name: 'stop', plan: { mode: 'stop' } });
      for (const { name, plan } of plans) {
        for (let at = 1; at <= operations; at++) {
          runs++;
          const { dd, dest, before } = prepare(kind);
          binding.setFaultPlan({ ...plan, at });
          const err = await restoreOnce(kind, dest);
          const where = `${kind}, ${name} at native operation ${at} of ${operations}`;
          const problems: string[] = [];
          if (err !== null) {
            const p = typedProblem(err);
            if (p) problems.push(p);
          }
          let outcome: string;
          if (kind === 'new') {
            if (!fs.existsSync(dest)) outcome = 'absent';
            else if (fs.statSync(dest).size === 0) {
              outcome = 'empty file';
              problems.push(`the restore (${err === null ? 'resolved' : errText(err).slice(0, 120)}) left a 0-byte file at the new destination`);
            } else {
              const d = fileDiff(dest, ref);
              // Rejected but complete: the failure came after the rename (the directory sync).
              outcome = d === null ? 'complete' : 'partial';
              if (d !== null) problems.push(`the destination exists but is not the backup: ${d}`);
            }
            if (err === null && outcome !== 'complete') problems.push(`the restore resolved but the destination is ${outcome}`);
          } else {
            const ic = (() => {
              try {
                return integrityCheck(dest);
              } catch (e) {
                return errText(e);
              }
            })();
            if (ic !== 'ok') problems.push(`integrity_check: ${ic.slice(0, 200)}`);
            if (fileSha(dest) === before) outcome = 'old';
            else if (fileDiff(dest, ref, WAL_DESTINATION_FIELDS) === null) outcome = 'new';
            else {
              outcome = 'mix';
              problems.push(`the destination is neither the old database nor the backup: ${fileDiff(dest, ref, WAL_DESTINATION_FIELDS)}`);
            }
            if (err === null && plan.mode === 'fail' && outcome !== 'new') problems.push(`the restore resolved but SQLite sees ${outcome}`);
          }
          const left = fs.readdirSync(dd).filter((f) => f !== 'restored.db');
          const temp = left.filter((f) => /\.litevault-.*\.tmp$/.test(f));
          if (left.includes('restored.db-journal')) journals++;
          if (temp.length > 0 && plan.mode === 'fail') {
            temps++;
            // Resolved with the temporary left: the failing operation was the temporary's own removal.
            if (err !== null) problems.push(`a failed restore left its temporary ${temp.join(', ')} beside the destination`);
          }
          const foreign = left.filter((f) => !temp.includes(f) && !['restored.db-journal', 'restored.db-wal', 'restored.db-shm'].includes(f));
          if (foreign.length > 0) problems.push(`left beside the destination: ${foreign.join(', ')}`);
          inc(counts, `${err === null ? 'resolved' : 'rejected'} ${outcome}${plan.mode === 'stop' ? ' (stop)' : ''}`);
          if (VERBOSE) console.log(`native fault | ${where} | ${err === null ? 'resolved' : errText(err).slice(0, 160)} | ${outcome}`);
          if (problems.length > 0) failures.push(`${where}: ${problems.join('; ')}`);
        }
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      summary.push(
        `vault crash | native fault plan, restore to ${kind === 'new' ? 'a new path' : `an existing ${kind.slice(10)} database (overwrite)`}: ` +
          `${runs} runs over ${operations} native operations (${plans.map((p) => p.name).join(', ')}); outcomes: ${fmt(counts)}; ` +
          `runs that left the restore's temporary: ${temps}${kind === 'new' ? '' : `, a -journal SQLite found not hot: ${journals}`}; ${seconds} s`,
      );
      expect(failures).toEqual([]);
    }, 240_000);
  }
});
