/**
 * Writer processes for litevault's tests: separate Node processes (test/oracle/writer-child.cjs)
 * that commit to a database through real SQLite (better-sqlite3) at a given rate while the
 * code under test backs it up, checkpoints or inspects it. Each commit keeps an invariant
 * that real SQLite can judge afterwards with `checkLedger`: `ledger.seq` runs 1..max with no
 * gaps, every `ledger.total` and the sum of `accounts.balance` equal the sum the accounts were
 * created with. Writers can be stopped cleanly (`stop`, the database is closed) or crashed
 * (`kill`, e.g. SIGKILL), after which SQLite's own recovery must still yield a valid ledger.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sqliteShell, type ShellOpenOptions } from './sqlite.js';

/** Path of the child script a writer runs. */
export const WRITER_CHILD: string = fileURLToPath(new URL('./writer-child.cjs', import.meta.url));

/** Options for {@link startWriter}. */
export interface WriterOptions {
  /**
   * Target commit rate; commit n is scheduled at start + n / rate (catching up when late).
   * `Infinity` commits back to back.
   */
  commitsPerSecond: number;
  /** Journal mode the child sets before its first commit (default: leave the database's). */
  journalMode?: 'wal' | 'delete';
  /** Ledger rows (account moves) per transaction (default 1). */
  rowsPerCommit?: number;
  /** The child's SQLite busy timeout (default 5000 ms); a BUSY that outlasts it is retried. */
  busyTimeoutMs?: number;
  /** Moves from a seeded PRNG: the same seed replays the same transactions (see {@link replayWriter}). */
  seed?: number;
  /** Stop by itself after this many commits (then `stop()` resolves at once). */
  maxCommits?: number;
  /** `PRAGMA synchronous` for the child (default SQLite's); content is the same either way. */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL';
}

/** How a writer process ended. */
export interface WriterExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What a cleanly stopped writer reports. */
export interface WriterStopped {
  commits: number;
  busyRetries: number;
}

/** A running writer process. */
export interface Writer {
  /** Process id of the child. */
  readonly pid: number;
  /** The commit count the child last reported (reports come at most every 25 ms). */
  commits(): number;
  /**
   * Asks the child to stop after its current commit, close the database and exit; resolves
   * with its final commit count and how often it had to retry after SQLITE_BUSY/LOCKED
   * outlasted the busy timeout. Rejects if the child did not stop cleanly.
   */
  stop(): Promise<WriterStopped>;
  /** Sends `signal` (default SIGKILL) to the child and resolves once it has exited. */
  kill(signal?: NodeJS.Signals): Promise<WriterExit>;
  /** Resolves when the child has exited, however that happened. */
  readonly exited: Promise<WriterExit>;
}

type ChildMessage =
  | { type: 'commit'; commits: number }
  | { type: 'stopped'; commits: number; busyRetries: number }
  | { type: 'error'; message: string };

const START_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 20000;

/**
 * Starts a writer child on `dbPath` (created if missing; tables `ledger`, `accounts` and
 * `ledger_meta` are created if missing, so several writers may share one database). Resolves
 * once the child has made its first commit; rejects (with the child's stderr) if it fails or
 * exits before that. The child uses a 5000 ms busy timeout (see `busyTimeoutMs`), BEGIN
 * IMMEDIATE transactions, and retries whenever SQLITE_BUSY/SQLITE_LOCKED still comes back.
 */
export function startWriter(dbPath: string, opts: WriterOptions): Promise<Writer> {
  if (!(opts.commitsPerSecond > 0)) return Promise.reject(new Error('commitsPerSecond must be > 0'));
  const rowsPerCommit = opts.rowsPerCommit ?? 1;
  if (!Number.isInteger(rowsPerCommit) || rowsPerCommit < 1) {
    return Promise.reject(new Error('rowsPerCommit must be a positive integer'));
  }
  const cfg = {
    dbPath,
    commitsPerSecond: opts.commitsPerSecond === Infinity ? null : opts.commitsPerSecond,
    journalMode: opts.journalMode,
    rowsPerCommit,
    busyTimeoutMs: opts.busyTimeoutMs ?? 5000,
    seed: opts.seed,
    maxCommits: opts.maxCommits,
    synchronous: opts.synchronous,
  };
  const child: ChildProcess = spawn(process.execPath, [WRITER_CHILD, JSON.stringify(cfg)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-65536);
  });

  let lastCommits = 0;
  let stopped: WriterStopped | undefined;
  let error: string | undefined;
  const exited = new Promise<WriterExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  child.on('message', (raw: unknown) => {
    const msg = raw as ChildMessage;
    if (msg.type === 'commit') lastCommits = Math.max(lastCommits, msg.commits);
    else if (msg.type === 'stopped') {
      lastCommits = msg.commits;
      stopped = { commits: msg.commits, busyRetries: msg.busyRetries };
    } else if (msg.type === 'error') error = msg.message;
  });
  const describe = (what: string): Error =>
    new Error(`writer ${String(child.pid)} on ${dbPath}: ${what}${error ? `\n${error}` : ''}${stderr ? `\nstderr: ${stderr}` : ''}`);

  const writer: Writer = {
    get pid(): number {
      if (child.pid === undefined) throw new Error('writer has no pid');
      return child.pid;
    },
    commits: () => lastCommits,
    exited,
    async stop(): Promise<WriterStopped> {
      if (child.exitCode === null && child.signalCode === null && child.connected) child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const exit = await exited;
      clearTimeout(timer);
      if (stopped === undefined) throw describe(`did not stop cleanly (exit code ${String(exit.code)}, signal ${String(exit.signal)})`);
      return stopped;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<WriterExit> {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };

  return new Promise<Writer>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(describe(`no first commit within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const onMessage = (raw: unknown): void => {
      const msg = raw as ChildMessage;
      if (msg.type === 'commit') {
        cleanup();
        resolve(writer);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(describe(`exited before its first commit (code ${String(code)}, signal ${String(signal)})`));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(describe(`could not start: ${err.message}`));
    };
    function cleanup(): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Result of {@link checkLedger}. */
export interface LedgerCheck {
  /** No gaps, seqs start at 1, every total and the balance sum equal expectedSum. */
  ok: boolean;
  /** Highest ledger seq (0 for an empty ledger). */
  maxSeq: number;
  /** Number of ledger rows. */
  rows: number;
  /** Missing seqs between 1 and maxSeq (maxSeq - rows). */
  gaps: number;
  /** Ledger rows whose total differs from expectedSum. */
  badTotals: number;
  /** Current sum of accounts.balance. */
  balanceSum: number;
  /** The sum the accounts were created with (from ledger_meta). */
  expectedSum: number;
}

interface LedgerRow {
  rows: number;
  minSeq: number;
  maxSeq: number;
  balanceSum: number;
  expectedSum: number | null;
  badTotals: number;
}

const LEDGER_SQL = `SELECT
  (SELECT count(*) FROM ledger) AS rows,
  (SELECT coalesce(min(seq), 0) FROM ledger) AS minSeq,
  (SELECT coalesce(max(seq), 0) FROM ledger) AS maxSeq,
  (SELECT coalesce(sum(balance), 0) FROM accounts) AS balanceSum,
  (SELECT value FROM ledger_meta WHERE name = 'expected_sum') AS expectedSum,
  (SELECT count(*) FROM ledger WHERE total IS NOT (SELECT value FROM ledger_meta WHERE name = 'expected_sum')) AS badTotals;
`;

/**
 * Judges a writer's database with the sqlite3 shell in a separate process, in one read
 * transaction. The default read-write open lets SQLite recover first (roll back a hot
 * journal, replay the -wal) exactly as any later user would; with `{ readOnlyUri: true }` the
 * files are left untouched, but a hot rollback journal then makes it throw (SQLITE_READONLY).
 */
export function checkLedger(dbPath: string, opts: ShellOpenOptions = {}): LedgerCheck {
  const out = sqliteShell(dbPath, LEDGER_SQL, { ...opts, json: true });
  const r = (JSON.parse(out) as LedgerRow[])[0];
  if (r === undefined) throw new Error(`checkLedger: no output for ${dbPath}`);
  const expectedSum = r.expectedSum ?? Number.NaN;
  const gaps = r.maxSeq - r.rows;
  const ok =
    r.expectedSum !== null &&
    gaps === 0 &&
    (r.rows === 0 || r.minSeq === 1) &&
    r.badTotals === 0 &&
    r.balanceSum === expectedSum;
  return { ok, maxSeq: r.maxSeq, rows: r.rows, gaps, badTotals: r.badTotals, balanceSum: r.balanceSum, expectedSum };
}

/**
 * Rebuilds, in `dbPath` (prepared as the live run's database was, e.g. its journal mode set),
 * the first `commits` transactions a writer with `opts.seed` made: SQLite, given the same
 * statements on the same starting database, writes the same pages, so the result is what the
 * live database held after commit `commits` (outside the header's counters).
 */
export async function replayWriter(dbPath: string, commits: number, opts: WriterOptions & { seed: number }): Promise<void> {
  if (commits === 0) return;
  const writer = await startWriter(dbPath, { ...opts, commitsPerSecond: Infinity, maxCommits: commits, synchronous: 'OFF' });
  await writer.exited; // it stops by itself after `commits`
  const stopped = await writer.stop();
  if (stopped.commits !== commits) throw new Error(`replay made ${stopped.commits} commits, not ${commits}`);
}
