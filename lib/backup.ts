/**
 * Backup: SQLite's online backup API (sqlite3_backup_init / step / remaining / pagecount /
 * finish), done by litevault's own core on the libuv threadpool; and backup(), the one-call form
 * with progress, retries and cancellation.
 */
import * as fs from 'node:fs';
import { binding, NativeBackup } from './binding';
import { createPrivateDatabase, Database, nativeOf } from './database';
import { cancelled, LitevaultError, misuse } from './errors';
import { privateTempPath } from './private-temp';
import { isBackground, Priority } from './priority';

/** What a step reports; also the state {@link Backup.remaining} and friends read between steps. */
export interface BackupStepResult {
  /** True once every page is copied and the destination is committed. */
  done: boolean;
  /** Pages still to copy, as of this step. */
  remaining: number;
  /** Pages in the source, as of this step. */
  pageCount: number;
  /** How many times the copy started over because another connection changed the source. */
  restarts: number;
  /** The source's page size, as of this step (0 for an empty source). */
  pageSize: number;
  /** The mode in use: 'snapshot' (one pinned read transaction) or 'restart' (SQLite's). */
  mode: BackupMode;
  /** For a WAL source, the WAL frame (mxFrame) of the snapshot being copied; else 0. */
  snapshotFrame: number;
  /**
   * Pages copied so far file to file by the kernel (copy_file_range), all passes counted: pages
   * of the source's database file copied into a rollback-journal destination on a file system
   * that allows it. The rest (page 1, WAL frames, checked copies) went through memory.
   */
  kernelPages: number;
}

/**
 * 'snapshot': hold one read transaction on the source from the first step to the last, so the
 * copy is a single consistent snapshot and never restarts. For a WAL source writers are not
 * blocked, but checkpoints cannot pass the pinned snapshot while the backup runs. For a
 * rollback-journal source the read lock blocks writers until the backup finishes.
 * 'restart': SQLite's behaviour: the source is read-locked only during a step, and a change by
 * another connection between steps restarts the copy.
 * Default: 'snapshot' for WAL sources, 'restart' for rollback-journal sources.
 */
export type BackupMode = 'snapshot' | 'restart';

/** Options for `new Backup()`. */
export interface BackupHandleOptions {
  /** See {@link BackupMode}; decided at the first step when omitted. */
  mode?: BackupMode;
  /**
   * Check the source's structure while copying it (see `verify()`): a source that fails
   * the check fails the last step with SQLITE_CORRUPT naming the first bad page, and the
   * destination is rolled back. Default false (SQLite's backup copies pages unchecked).
   */
  verify?: boolean;
  /** The priority the steps run at; see {@link Priority}. Default 'background'. */
  priority?: Priority;
}

/**
 * A step-wise copy of `source` into `destination`, with the rules of sqlite3_backup. The source
 * comes first, as in {@link backup} and the CLI; note that this is the opposite of
 * sqlite3_backup_init(destination, source).
 * - the first step takes an exclusive lock on the destination and keeps a write transaction
 *   open there (through a rollback journal) until the copy is done or finish() is called;
 * - the source is read-locked only while a step runs, so other processes read and write it
 *   between steps; if one of them changes it, the next step starts the copy over;
 * - SQLITE_BUSY and SQLITE_LOCKED are retryable and leave the handle usable; any other error is
 *   fatal and finish() reports it again;
 * - finish() must be called exactly once; before the copy is done it rolls the destination back.
 */
export class Backup {
  readonly #native: NativeBackup;
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * Pairs the two databases (no I/O happens until the first step).
   * @throws LitevaultError SQLITE_ERROR if they are the same file or the destination is already
   *   the target of an unfinished backup; SQLITE_MISUSE for closed handles.
   */
  constructor(source: Database, destination: Database, options: BackupHandleOptions = {}) {
    if (!(source instanceof Database) || !(destination instanceof Database)) {
      throw misuse('new Backup(source, destination): both must be Database handles (from Database.open)');
    }
    if (options.mode !== undefined && options.mode !== 'snapshot' && options.mode !== 'restart') {
      throw misuse("new Backup(): mode must be 'snapshot' or 'restart'");
    }
    if (destination === source) throw new LitevaultError({ message: 'source and destination must be distinct', code: 'SQLITE_ERROR' });
    // The native constructor keeps sqlite3_backup_init's order (destination, source).
    const background = isBackground(options.priority, 'new Backup()');
    this.#native = new binding.Backup(nativeOf(destination, 'new Backup()'), nativeOf(source, 'new Backup()'), options.mode ?? 'auto', options.verify === true, background);
  }

  /**
   * Copies up to `pages` pages (all that remain when negative, the default) on the threadpool.
   * Calls made while another step runs wait for it; they never interleave.
   */
  step(pages = -1): Promise<BackupStepResult> {
    if (typeof pages !== 'number' || Number.isNaN(pages)) return Promise.reject(misuse('backup.step(pages): pages must be a number'));
    return this.#enqueue(() => this.#native.step(pages));
  }

  /** Pages still to copy, as of the last step (0 before the first). */
  get remaining(): number {
    return this.#native.remaining;
  }

  /** Pages in the source, as of the last step (0 before the first). */
  get pageCount(): number {
    return this.#native.pageCount;
  }

  /** Times the copy restarted because the source changed between steps. */
  get restarts(): number {
    return this.#native.restarts;
  }

  /**
   * Switches to snapshot mode between steps: from the next step on, the source's read
   * transaction is kept until the copy is done, so it restarts at most once more. On a
   * rollback-journal source that read lock makes writers wait until the backup ends; on a WAL
   * source it only keeps checkpoints from passing the snapshot. {@link backup} calls it after
   * `maxRestarts` restarts. Queued behind steps already called.
   */
  holdSource(): Promise<void> {
    return this.#enqueue(async () => this.#native.holdSource());
  }

  /** Whether finish() has been called. */
  get finished(): boolean {
    return this.#native.finished;
  }

  /**
   * Ends the backup: releases the destination, rolling it back if the copy is not done.
   * Rejects with the first fatal error any step met. A second call rejects with SQLITE_MISUSE.
   */
  finish(): Promise<void> {
    return this.#enqueue(() => this.#native.finish());
  }

  /** `await using b = new Backup(src, dst)` finishes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#native.finished) await this.finish();
  }

  // Calls run in order, one at a time (the native side serializes too; this keeps the order
  // of results equal to the order of calls).
  #enqueue<T>(call: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(call, call);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}

/** Progress reported by {@link backup} after every step. */
export interface BackupProgress extends BackupStepResult {
  /** Pages copied so far in the current pass. */
  copied: number;
  /** True once the backup holds the source's read lock to the end (see {@link BackupOptions.maxRestarts}). */
  heldLock: boolean;
}

/** Options for {@link backup}. */
export interface BackupOptions {
  /** Pages per step; between steps other processes may use the source. Default 1024. */
  pagesPerStep?: number;
  /** Called after every step. */
  onProgress?: (progress: BackupProgress) => void;
  /** Cancels the backup: the destination is rolled back and the promise rejects with SQLITE_ABORT. */
  signal?: AbortSignal;
  /**
   * The longest time, in ms, the backup waits for locks other connections hold, in total over
   * one wait (a wait ends when a step succeeds); then it fails with SQLITE_BUSY. Default 5000.
   */
  busyTimeout?: number;
  /** See {@link BackupMode}. */
  mode?: BackupMode;
  /** See {@link BackupHandleOptions.verify}. Default false. */
  verify?: boolean;
  /** The priority the copy runs at; see {@link Priority}. Default 'background'. */
  priority?: Priority;
  /**
   * How many times a 'restart'-mode copy may start over because other connections changed the
   * source; after that it holds the source's read lock for the rest of the copy (as 'snapshot'
   * mode does), so it always finishes. On a rollback-journal source writers then wait until the
   * backup ends. The copy may restart once more when the lock is first taken. Default 3;
   * `Infinity` keeps SQLite's behaviour (a busy source may never finish).
   */
  maxRestarts?: number;
}

/** Default for {@link BackupOptions.maxRestarts}. */
export const DEFAULT_MAX_RESTARTS = 3;

/** What {@link backup} resolves to. */
export interface BackupResult {
  /** Pages in the copy. */
  pageCount: number;
  /** Page size of the copy (the source's). */
  pageSize: number;
  /** Times the copy started over because the source changed. */
  restarts: number;
  /** The mode the copy ended in ('snapshot' once it held the source's read lock). */
  mode: BackupMode;
  /** True when, after `maxRestarts` restarts, the backup held the source's read lock to the end. */
  heldLock: boolean;
  /** For a WAL source, the WAL frame of the snapshot copied (the copy holds every commit up to it). */
  snapshotFrame: number;
  /** Pages the kernel copied file to file; see {@link BackupStepResult.kernelPages}. */
  kernelPages: number;
  /** Steps taken. */
  steps: number;
  /** Wall time in milliseconds. */
  ms: number;
}

const aborted = (signal: AbortSignal): LitevaultError => cancelled('backup', signal);

/** @internal Opens a database to read from (lib/vault/ reads its sources the same way). */
export async function openSource(path: string, busyTimeout: number): Promise<Database> {
  try {
    // Read-write when allowed, so a hot journal left by a crashed writer can be rolled back
    // first, as SQLite's own reader would. The source is never written otherwise.
    return await Database.open(path, { busyTimeout });
  } catch (err) {
    if (err instanceof LitevaultError && err.code === 'SQLITE_READONLY') return Database.open(path, { busyTimeout, readOnly: true });
    throw err;
  }
}

/**
 * Where a backup writes. A destination path that does not exist is never created in place: the
 * copy goes to a private temporary file beside it (O_EXCL, 0600), which is synced, closed and
 * only then renamed to the destination (never replacing a file that appeared meanwhile), so the
 * destination path either does not exist or holds a complete backup, whatever happens to the
 * process. An existing destination is written in place under SQLite's rollback journal (or WAL),
 * so it holds its old content or the complete copy.
 */
interface Destination {
  db: Database;
  /** Called after the backup committed: closes the handle and moves the file into place. */
  publish(): Promise<void>;
  /** Called after a failure: closes the handle and removes what a new destination left. */
  discard(): Promise<void>;
}

async function openDestination(destination: string, busyTimeout: number): Promise<Destination> {
  if (fs.existsSync(destination)) {
    const db = await Database.open(destination, { create: true, busyTimeout });
    const close = () => db.close();
    return { db, publish: close, discard: () => close().catch(() => undefined) };
  }
  const temp = privateTempPath(destination);
  const db = await createPrivateDatabase(temp, busyTimeout);
  const remove = (): void => {
    for (const f of [temp, temp + '-journal']) fs.rmSync(f, { force: true });
  };
  return {
    db,
    async publish() {
      await db.close();
      try {
        await binding.publish(temp, destination);
      } catch (err) {
        remove();
        throw err;
      }
    },
    async discard() {
      await db.close().catch(() => undefined);
      remove();
    },
  };
}

/**
 * Copies the database `source` into `destination` (paths, or open handles), step by step on the
 * threadpool, retrying SQLITE_BUSY with backoff for at most `busyTimeout` ms in all. It always
 * finishes: after `maxRestarts` restarts it holds the source's read lock to the end. A missing
 * destination is written under a temporary name and renamed into place when complete; an
 * existing one is written crash-safely in place. Either way an interrupted backup leaves the
 * destination as it was, or complete.
 * @throws LitevaultError with the failing step's code; SQLITE_ABORT when `signal` fires.
 */
export async function backup(source: string | Database, destination: string | Database, options: BackupOptions = {}): Promise<BackupResult> {
  const started = Date.now();
  const pagesPerStep = options.pagesPerStep ?? 1024;
  const busyTimeout = options.busyTimeout ?? 5000;
  if (!Number.isInteger(pagesPerStep) || pagesPerStep === 0) throw misuse('backup(): pagesPerStep must be a non-zero integer');
  const maxRestarts = options.maxRestarts ?? DEFAULT_MAX_RESTARTS;
  if (!Number.isInteger(busyTimeout) || busyTimeout < 0) throw misuse('backup(): busyTimeout must be a non-negative integer (ms)');
  if (!(Number.isInteger(maxRestarts) || maxRestarts === Infinity) || maxRestarts < 0) {
    throw misuse('backup(): maxRestarts must be a non-negative integer or Infinity');
  }
  isBackground(options.priority, 'backup()');
  const { signal } = options;
  if (signal?.aborted) throw aborted(signal);

  const opened: Database[] = [];
  let target: Destination | undefined;
  let published = false;
  try {
    const src = typeof source === 'string' ? await openSource(source, busyTimeout) : source;
    if (src !== source) opened.push(src);
    target = typeof destination === 'string' ? await openDestination(destination, busyTimeout) : undefined;
    const dst = target ? target.db : (destination as Database);

    const job = new Backup(src, dst, { mode: options.mode, verify: options.verify, priority: options.priority });
    let steps = 0;
    let last: BackupStepResult | undefined;
    let heldLock = false;
    // The busy timeout is a total: a wait starts with the first step that came back BUSY (the
    // native lock wait inside that step counts) and ends when a step succeeds.
    let waitStarted: number | undefined;
    let delay = 10;
    try {
      for (;;) {
        if (signal?.aborted) throw aborted(signal);
        let result: BackupStepResult;
        const stepStarted = Date.now();
        try {
          result = await job.step(pagesPerStep);
        } catch (err) {
          if (!(err instanceof LitevaultError) || !err.retryable) throw err;
          waitStarted ??= stepStarted;
          const left = waitStarted + busyTimeout - Date.now();
          if (left <= 0) throw err;
          await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
          delay = Math.min(delay * 2, 250);
          continue;
        }
        waitStarted = undefined;
        delay = 10;
        steps++;
        last = result;
        if (!result.done && !heldLock && result.mode === 'restart' && result.restarts >= maxRestarts) {
          await job.holdSource();
          heldLock = true;
        }
        options.onProgress?.({ ...result, copied: result.pageCount - result.remaining, heldLock });
        if (result.done) break;
      }
    } catch (err) {
      await job.finish().catch(() => undefined); // rolls the destination back; the first error wins
      throw err;
    }
    await job.finish();
    await target?.publish();
    published = true;
    const { pageCount, pageSize, mode, snapshotFrame, kernelPages } = last!;
    return { pageCount, pageSize, restarts: job.restarts, mode, heldLock, snapshotFrame, kernelPages, steps, ms: Date.now() - started };
  } catch (err) {
    if (!published) await target?.discard();
    throw err;
  } finally {
    for (const db of opened.reverse()) await db.close().catch(() => undefined);
  }
}
