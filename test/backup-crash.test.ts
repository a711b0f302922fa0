// Crash safety of backup(): a child process runs litevault's backup() and is SIGKILLed at random
// instants across the whole copy (96 trials: delays spread over 1.2x an uninterrupted backup,
// kills right after the first step, and kills around the final, committing step). After every
// kill, real SQLite (the sqlite3 shell, opening the destination read-write and so rolling back
// any hot journal) must find the destination intact and holding exactly its old content or
// exactly the full copy of the source, and the source must be byte-identical with no journal
// beside it. Destinations vary: smaller and larger than the source, 1024- and 8192-byte pages, a
// 0-byte file and a missing file. All databases are built and judged by real SQLite only;
// litevault runs only in the killed child.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DbSpec } from './oracle/corpus';
import { integrityCheck, logicalDump, pragmas, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';
import { mulberry32 } from './oracle/random';

afterAll(removeTmpDirs);

const KIB = 1024;
const MIB = 1024 * KIB;
const DIST = path.resolve(__dirname, '..', 'dist', 'index.js');
const CHILD = path.join(__dirname, 'fixtures', 'backup-child.cjs');
const TRIALS = 96;
/** At least this share of the kills must land between the first and the last step. */
const MIN_MID_COPY_SHARE = 0.5;
/** pagesPerStep is drawn log-uniformly from 1..MAX_PAGES_PER_STEP. */
const MAX_PAGES_PER_STEP = 64;
/** Share of the trials that kill as soon as the child reports its first step. */
const FIRST_PROGRESS_SHARE = 0.2;
/** Share of the trials that kill around the final, committing step. */
const NEAR_COMMIT_SHARE = 0.2;
/** Failing trials keep their files in the first free /tmp/litevault-crash-failure-N. */
const FAILURE_PREFIX = '/tmp/litevault-crash-failure-';

// Reproducible trials: LITEVAULT_CRASH_SEED=<n> repeats a run (the seed is in the summary line).
const SEED = Number(process.env.LITEVAULT_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface DestKind {
  name: string;
  /** How real SQLite builds the old destination; null: no file at all. */
  spec: DbSpec | null;
}

const DEST_KINDS: DestKind[] = [
  { name: 'smaller-4096', spec: { targetBytes: 512 * KIB } },
  { name: 'larger-4096', spec: { targetBytes: 5 * MIB, freePages: 20 } },
  { name: 'page-1024', spec: { pageSize: 1024, targetBytes: 1536 * KIB } },
  { name: 'page-8192-larger', spec: { pageSize: 8192, targetBytes: 4608 * KIB, overflow: true } },
  { name: 'empty-file', spec: { empty: true } },
  { name: 'missing', spec: null },
];

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const fileSize = (f: string): number | null => (fs.existsSync(f) ? fs.statSync(f).size : null);

interface Expected {
  dumpHash: string;
  pageSize: number;
  pageCount: number;
}

interface Template {
  kind: DestKind;
  /** The old destination file, or null for a missing destination. */
  file: string | null;
  old: Expected;
  /** Uninterrupted backup time (ready -> done, as seen by the parent) with pagesPerStep 1 and 64. */
  ms1: number;
  ms64: number;
}

// The one source, built by beforeAll.
let dir = '';
let source = '';
let sourceSha = '';
let sourceNew: Expected;
const templates: Template[] = [];
const baselineProblems: string[] = [];

function sourceFingerprint(): string {
  const extras = ['-journal', '-wal', '-shm'].filter((s) => fs.existsSync(source + s));
  return fs.existsSync(source) ? sha256(fs.readFileSync(source)) + (extras.length ? ` + ${extras.join(' ')}` : '') : 'missing';
}

type Phase = 'before-first-step' | 'mid-copy' | 'after-completion';

interface ChildRun {
  killed: boolean;
  /** How far the child had got when it died or exited, from every message it managed to send. */
  phase: Phase;
  steps: number;
  lastCopied: number;
  /** Pages left after the last step the child reported (0 before its first step). */
  lastRemaining: number;
  /** Whether a step reported done (an existing destination committed) or backup() resolved. */
  committed: boolean;
  readyToDoneMs: number | null;
  error: string | null;
  exit: string;
  stderr: string;
}

/**
 * When to kill: never; `delayMs` after the child reports it is calling backup(); as soon as it
 * reports its first step; or, once it reports that only the final (committing) step is left,
 * after `fraction` x 1.5 x the time its last step took, so that kills also land inside the
 * commit (truncation, sync, journal deletion).
 */
type KillPlan =
  | { mode: 'none' }
  | { mode: 'timed'; delayMs: number }
  | { mode: 'first-progress' }
  | { mode: 'near-commit'; fraction: number };

/** Runs backup(source, destination) in a child and SIGKILLs it as planned. */
function runChild(destination: string, pagesPerStep: number, plan: KillPlan): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const cfg = { dist: DIST, source, destination, pagesPerStep };
    // A new destination is written under a temporary name and renamed into place after its last
    // step: only backup() resolving says it is there. An existing one commits in its last step.
    const isNew = !fs.existsSync(destination);
    const child = fork(CHILD, [JSON.stringify(cfg)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let killed = false;
    let steps = 0;
    let lastCopied = 0;
    let lastRemaining = 0;
    let committed = false;
    let readyAt: number | null = null;
    let lastStepAt: number | null = null;
    let doneAt: number | null = null;
    let error: string | null = null;
    let timer: NodeJS.Timeout | undefined;
    let exit: string | null = null;
    let disconnected = false;

    const kill = (): void => {
      if (killed || exit !== null) return;
      killed = child.kill('SIGKILL');
    };
    const settle = (): void => {
      // Messages the child sent before it died are still delivered after the kill; wait for the
      // channel to close as well as for the exit, so `phase` sees all of them.
      if (exit === null || !disconnected) return;
      clearTimeout(timer);
      clearTimeout(safety);
      const phase: Phase = committed ? 'after-completion' : steps > 0 ? 'mid-copy' : 'before-first-step';
      const readyToDoneMs = readyAt !== null && doneAt !== null ? doneAt - readyAt : null;
      resolve({ killed, phase, steps, lastCopied, lastRemaining, committed, readyToDoneMs, error, exit, stderr });
    };
    const safety = setTimeout(() => {
      kill();
      reject(new Error(`backup child did not finish within 60 s (pagesPerStep ${pagesPerStep}, ${destination}); stderr: ${stderr}`));
    }, 60_000);

    child.on('message', (m: { type: string; copied?: number; remaining?: number; done?: boolean; message?: string }) => {
      if (m.type === 'ready') {
        readyAt = performance.now();
        if (plan.mode === 'timed') timer = setTimeout(kill, plan.delayMs);
      } else if (m.type === 'progress') {
        steps++;
        lastCopied = m.copied ?? 0;
        lastRemaining = m.remaining ?? 0;
        if (m.done === true && !isNew) committed = true;
        if (plan.mode === 'first-progress' && steps === 1) kill();
        const now = performance.now();
        if (plan.mode === 'near-commit' && timer === undefined && m.done !== true && (m.remaining ?? Infinity) <= pagesPerStep) {
          const lastStepMs = now - (lastStepAt ?? readyAt ?? now);
          timer = setTimeout(kill, plan.fraction * 1.5 * lastStepMs);
        }
        lastStepAt = now;
      } else if (m.type === 'done') {
        committed = true;
        doneAt = performance.now();
      } else if (m.type === 'error') {
        error = m.message ?? 'unknown error';
      }
    });
    child.on('error', reject);
    child.on('disconnect', () => {
      disconnected = true;
      settle();
    });
    child.on('exit', (code, signal) => {
      exit = signal ?? `exit ${String(code)}`;
      if (!child.connected) disconnected = true;
      settle();
    });
  });
}

interface RawState {
  dbSize: number | null;
  journalSize: number | null;
  /** First 32 bytes of the -journal in hex, as the kill left it. */
  journalHead: string | null;
  /** A -journal SQLite will play back: non-empty, first byte not 0, beside a non-empty database. */
  hotJournal: boolean;
}

interface Verdict {
  raw: RawState;
  integrity: string | null;
  outcome: 'old' | 'new' | 'neither' | 'unreadable';
  sqliteError: string | null;
  pageSize: number | null;
  pageCount: number | null;
  problems: string[];
}

/**
 * Judges a destination with real SQLite after the child is gone. The raw files are copied to
 * `rawDir` first, because SQLite's read-write open rolls back and deletes a hot journal.
 */
function judge(dst: string, rawDir: string, old: Expected, run: ChildRun): Verdict {
  const journal = dst + '-journal';
  for (const f of fs.readdirSync(rawDir)) fs.rmSync(path.join(rawDir, f));
  const raw: RawState = { dbSize: fileSize(dst), journalSize: fileSize(journal), journalHead: null, hotJournal: false };
  if (raw.dbSize !== null) fs.copyFileSync(dst, path.join(rawDir, 'destination.db'));
  if (raw.journalSize !== null) {
    fs.copyFileSync(journal, path.join(rawDir, 'destination.db-journal'));
    raw.journalHead = fs.readFileSync(journal).subarray(0, 32).toString('hex');
    raw.hotJournal = raw.journalSize > 0 && (raw.dbSize ?? 0) > 0 && !raw.journalHead.startsWith('00');
  }

  const v: Verdict = { raw, integrity: null, outcome: 'unreadable', sqliteError: null, pageSize: null, pageCount: null, problems: [] };
  try {
    v.integrity = integrityCheck(dst); // read-write: SQLite rolls back a hot journal here
    const dumpHash = sha256(logicalDump(dst));
    const p = pragmas(dst);
    v.pageSize = p.pageSize;
    v.pageCount = p.pageCount;
    v.outcome = dumpHash === old.dumpHash ? 'old' : dumpHash === sourceNew.dumpHash ? 'new' : 'neither';
  } catch (e) {
    v.sqliteError = (e as Error).message;
  }

  if (run.error !== null) v.problems.push(`backup() rejected in the child: ${run.error}`);
  if (!run.killed && !run.committed) v.problems.push(`the child ended (${run.exit}) without being killed or finishing; stderr: ${run.stderr}`);
  if (v.sqliteError !== null) v.problems.push(`real SQLite failed on the destination: ${v.sqliteError}`);
  if (v.integrity !== null && v.integrity !== 'ok') v.problems.push(`integrity_check: ${v.integrity}`);
  if (v.outcome === 'neither') v.problems.push('the dump equals neither the old destination nor the source');
  const expected = v.outcome === 'old' ? old : v.outcome === 'new' ? sourceNew : null;
  if (expected !== null && (v.pageCount !== expected.pageCount || (expected.pageCount > 0 && v.pageSize !== expected.pageSize))) {
    v.problems.push(
      `${v.outcome} content, but page size/count ${v.pageSize}/${v.pageCount} instead of ${expected.pageSize}/${expected.pageCount}`,
    );
  }
  if (run.committed && v.outcome !== 'new') v.problems.push(`the child reported the copy committed, but SQLite sees: ${v.outcome}`);
  const fp = sourceFingerprint();
  if (fp !== sourceSha) v.problems.push(`the source changed: ${fp} (was ${sourceSha})`);
  return v;
}

/** Keeps a failing trial's files and a report in the first free /tmp/litevault-crash-failure-N. */
function preserveFailure(report: Record<string, unknown>, dst: string, rawDir: string, template: string | null): string {
  let n = 1;
  while (fs.existsSync(FAILURE_PREFIX + n)) n++;
  const out = FAILURE_PREFIX + n;
  fs.mkdirSync(out, { recursive: true });
  for (const f of fs.readdirSync(rawDir)) fs.copyFileSync(path.join(rawDir, f), path.join(out, `before-sqlite-${f}`));
  if (fs.existsSync(dst)) fs.copyFileSync(dst, path.join(out, 'after-sqlite-destination.db'));
  if (fs.existsSync(dst + '-journal')) fs.copyFileSync(dst + '-journal', path.join(out, 'after-sqlite-destination.db-journal'));
  fs.copyFileSync(source, path.join(out, 'source.db'));
  for (const s of ['-journal', '-wal', '-shm']) if (fs.existsSync(source + s)) fs.copyFileSync(source + s, path.join(out, `source.db${s}`));
  if (template !== null) fs.copyFileSync(template, path.join(out, 'old-destination.db'));
  fs.writeFileSync(path.join(out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  return out;
}

function expectedOf(file: string): Expected {
  const p = pragmas(file);
  return { dumpHash: sha256(logicalDump(file)), pageSize: p.pageSize, pageCount: p.pageCount };
}

describe('backup() survives SIGKILL at any instant', () => {
  beforeAll(async () => {
    dir = tmpDir('litevault-backup-crash-');
    source = path.join(dir, 'source.db');
    createDatabase(source, { targetBytes: 3 * MIB, overflow: true, freePages: 16 });
    sqliteShell(source, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES ('source'), ('of'), ('the'), ('backup');");
    const p = pragmas(source);
    expect(p.journalMode).toBe('delete');
    expect(p.pageSize).toBe(4096);
    expect(p.pageCount * p.pageSize).toBeGreaterThan(2 * MIB);
    expect(p.pageCount * p.pageSize).toBeLessThan(4 * MIB);
    sourceNew = expectedOf(source);
    sourceSha = sourceFingerprint();
    expect(sourceSha).toMatch(/^[0-9a-f]{64}$/); // and no -journal, -wal or -shm beside it

    const emptyFile = path.join(dir, 'empty-reference.db');
    createDatabase(emptyFile, { empty: true });
    const empty = expectedOf(emptyFile);

    const rawDir = tmpDir('litevault-backup-crash-raw-');
    for (const kind of DEST_KINDS) {
      let file: string | null = null;
      let old = empty;
      if (kind.spec !== null) {
        file = path.join(dir, `old-${kind.name}.db`);
        createDatabase(file, kind.spec);
        if (kind.spec.empty !== true) {
          sqliteShell(file, `CREATE TABLE old_destination(kind TEXT); INSERT INTO old_destination VALUES ('${kind.name}');`);
        }
        old = expectedOf(file);
      }
      expect(old.dumpHash).not.toBe(sourceNew.dumpHash);
      const t: Template = { kind, file, old, ms1: 0, ms64: 0 };
      // Uninterrupted runs: the baseline (the full copy) and the durations the kill delays span.
      for (const pagesPerStep of [64, 1, 64]) {
        const dst = path.join(dir, `baseline-${kind.name}.db`);
        if (file !== null) fs.copyFileSync(file, dst);
        const run = await runChild(dst, pagesPerStep, { mode: 'none' });
        const v = judge(dst, rawDir, old, run);
        if (v.outcome !== 'new') v.problems.push(`uninterrupted backup gave ${v.outcome}`);
        if (v.raw.journalSize !== null) v.problems.push(`uninterrupted backup left a -journal of ${v.raw.journalSize} bytes`);
        for (const problem of v.problems) baselineProblems.push(`${kind.name}, pagesPerStep ${pagesPerStep}: ${problem}`);
        // The first run with 64 warms the page cache; the second one is the measurement.
        if (pagesPerStep === 1) t.ms1 = run.readyToDoneMs ?? 0;
        else t.ms64 = run.readyToDoneMs ?? 0;
        for (const s of ['', '-journal']) fs.rmSync(dst + s, { force: true });
      }
      templates.push(t);
    }
  });

  it('an uninterrupted backup into every kind of destination gives exactly the source, as real SQLite reads it', () => {
    expect(baselineProblems).toEqual([]);
    expect(templates).toHaveLength(DEST_KINDS.length);
  });

  it(
    `SIGKILL of the backup process at random points (${TRIALS} trials) always leaves a destination that real SQLite ` +
      'opens as either the old content or the full copy, and the source untouched',
    async () => {
      const started = performance.now();
      const rand = mulberry32(SEED);
      const rawDir = tmpDir('litevault-backup-crash-raw-');
      const sourcePages = sourceNew.pageCount;
      const stepsFor = (pps: number): number => Math.ceil(sourcePages / pps);
      // Uninterrupted duration for a pagesPerStep, interpolated by step count between the runs with 1 and 64.
      const durationFor = (t: Template, pps: number): number => {
        const perStep = Math.max(0, (t.ms1 - t.ms64) / (stepsFor(1) - stepsFor(MAX_PAGES_PER_STEP)));
        return Math.max(1, t.ms64 + perStep * (stepsFor(pps) - stepsFor(MAX_PAGES_PER_STEP)));
      };

      const counts = { killed: 0, notKilled: 0, beforeFirstStep: 0, midCopy: 0, afterCompletion: 0, inFinalStep: 0, old: 0, new: 0, hotJournals: 0 };
      const perKind = new Map<string, { old: number; new: number; midCopy: number }>();
      const failures: Array<Record<string, unknown>> = [];

      for (let trial = 1; trial <= TRIALS; trial++) {
        const t = templates[(trial - 1) % templates.length]!;
        const pagesPerStep = Math.min(MAX_PAGES_PER_STEP, Math.max(1, Math.round(2 ** (rand() * Math.log2(MAX_PAGES_PER_STEP)))));
        const expectedMs = durationFor(t, pagesPerStep);
        const draw = rand();
        const plan: KillPlan =
          draw < FIRST_PROGRESS_SHARE
            ? { mode: 'first-progress' }
            : draw < FIRST_PROGRESS_SHARE + NEAR_COMMIT_SHARE
              ? { mode: 'near-commit', fraction: Math.round(rand() * 100) / 100 }
              : { mode: 'timed', delayMs: Math.round(rand() * 1.2 * expectedMs * 10) / 10 };

        const dst = path.join(dir, `trial-${trial}.db`);
        if (t.file !== null) fs.copyFileSync(t.file, dst);
        const run = await runChild(dst, pagesPerStep, plan);
        const v = judge(dst, rawDir, t.old, run);

        if (run.killed) {
          counts.killed++;
          if (run.phase === 'before-first-step') counts.beforeFirstStep++;
          else if (run.phase === 'mid-copy') {
            counts.midCopy++;
            if (run.lastRemaining <= pagesPerStep) counts.inFinalStep++;
          }
          else counts.afterCompletion++;
        } else {
          counts.notKilled++;
        }
        if (v.raw.hotJournal) counts.hotJournals++;
        const k = perKind.get(t.kind.name) ?? { old: 0, new: 0, midCopy: 0 };
        if (v.outcome === 'old' || v.outcome === 'new') {
          counts[v.outcome]++;
          k[v.outcome]++;
        }
        if (run.killed && run.phase === 'mid-copy') k.midCopy++;
        perKind.set(t.kind.name, k);

        if (v.problems.length > 0) {
          const report = {
            trial,
            seed: SEED,
            destinationKind: t.kind.name,
            pagesPerStep,
            plan,
            expectedUninterruptedMs: expectedMs,
            child: { ...run },
            problems: v.problems,
            sqlite: { integrity: v.integrity, error: v.sqliteError, outcome: v.outcome, pageSize: v.pageSize, pageCount: v.pageCount },
            rawAfterKill: {
              destinationBytes: v.raw.dbSize,
              journalBytes: v.raw.journalSize,
              journalFirst32BytesHex: v.raw.journalHead,
              hotJournal: v.raw.hotJournal,
            },
            oldDestination: { ...t.old, bytes: t.file === null ? null : fileSize(t.file) },
            source: { ...sourceNew, bytes: fileSize(source), sha256: sourceSha },
          };
          failures.push({ ...report, artifacts: preserveFailure(report, dst, rawDir, t.file) });
        }
        for (const s of ['', '-journal']) fs.rmSync(dst + s, { force: true });
      }

      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(
        `crash trials: ${TRIALS} (killed ${counts.killed}: mid-copy ${counts.midCopy} [${counts.inFinalStep} in the final, committing step], before the first step ${counts.beforeFirstStep}, ` +
          `after completion ${counts.afterCompletion}; finished before the kill ${counts.notKilled}; ` +
          `SQLite saw old ${counts.old}, new ${counts.new}; hot journals rolled back ${counts.hotJournals}; seed ${SEED}; ${seconds} s)`,
      );
      console.log(
        'per destination: ' +
          templates
            .map((t) => {
              const k = perKind.get(t.kind.name)!;
              return `${t.kind.name} old ${k.old}/new ${k.new}/mid-copy ${k.midCopy} (uninterrupted ${t.ms1.toFixed(0)} ms at 1 page/step, ${t.ms64.toFixed(0)} ms at 64)`;
            })
            .join('; '),
      );
      for (const f of failures) {
        const problems = (f.problems as string[]).map((p) => (p.length > 400 ? `${p.slice(0, 400)}...` : p));
        console.log(`crash trial failure: ${JSON.stringify({ ...f, problems, sqlite: undefined }, null, 2)}`);
      }

      expect(failures.map((f) => `trial ${String(f.trial)} (${String(f.artifacts)}): ${(f.problems as string[]).join('; ').slice(0, 300)}`)).toEqual([]);
      expect(counts.old + counts.new).toBe(TRIALS);
      // The kills must really land inside the copy, or the test proves nothing.
      expect(counts.midCopy).toBeGreaterThanOrEqual(Math.ceil(TRIALS * MIN_MID_COPY_SHARE));
      expect(counts.old).toBeGreaterThan(0);
      expect(counts.new).toBeGreaterThan(0);
      expect(counts.hotJournals).toBeGreaterThan(0);
    },
    240_000,
  );
});
