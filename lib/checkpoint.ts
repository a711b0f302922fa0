/**
 * Checkpoint: SQLite's sqlite3_wal_checkpoint_v2 (PASSIVE, FULL, RESTART, TRUNCATE) as a stepped
 * handle, and checkpoint(), the one-call form; every step runs on the libuv threadpool.
 */
import { binding, NativeCheckpoint } from './binding';
import { Database, nativeOf } from './database';
import { cancelled, LitevaultError, misuse } from './errors';
import { isBackground, Priority } from './priority';

/**
 * - 'passive': copy what can be copied without waiting for anyone (never waits).
 * - 'full': wait (busyTimeout) for the writer lock and for readers to reach the latest snapshot,
 *   then copy every frame. New writers wait meanwhile; readers do not.
 * - 'restart': 'full', then wait until no reader uses the WAL, so the next writer starts it over.
 * - 'truncate': 'restart', then truncate the -wal to zero bytes.
 */
export type CheckpointMode = 'passive' | 'full' | 'restart' | 'truncate';

const MODES: readonly CheckpointMode[] = ['passive', 'full', 'restart', 'truncate'];

/** The result of a step, and of {@link checkpoint}: PRAGMA wal_checkpoint's row, plus `done`. */
export interface CheckpointResult {
  /** 1 when something the mode waits for could not be had (or another checkpointer was running), else 0. */
  busy: 0 | 1;
  /** Frames in the WAL; -1 for a database not in WAL mode (or when another checkpointer ran). */
  log: number;
  /** Frames copied into the database so far (nBackfill); -1 as for `log`. */
  checkpointed: number;
}

/** What {@link Checkpoint.step} resolves to. */
export interface CheckpointStepResult extends CheckpointResult {
  /** True when this checkpoint has nothing more to do (its locks are then released). */
  done: boolean;
}

/** Options for `new Checkpoint()` and {@link checkpoint}. */
export interface CheckpointOptions {
  /** Default 'passive'. */
  mode?: CheckpointMode;
  /** How long 'full' and stronger wait for locks and readers, in ms. Default 5000. */
  busyTimeout?: number;
  /** The priority the steps run at; see {@link Priority}. Default 'background'. */
  priority?: Priority;
}

function modeIndex(mode: CheckpointMode | undefined): number {
  const index = MODES.indexOf(mode ?? 'passive');
  if (index < 0) throw misuse(`checkpoint mode must be one of ${MODES.join(', ')}`);
  return index;
}

function timeout(busyTimeout: number | undefined): number {
  const value = busyTimeout ?? 5000;
  if (!Number.isInteger(value) || value < 0) throw misuse('checkpoint busyTimeout must be a non-negative integer (ms)');
  return value;
}

/**
 * A checkpoint in steps. After each step the database holds, for every page, its newest frame
 * up to the new `checkpointed` count, synced, so a crash between steps loses nothing and SQLite
 * readers stay correct. The first step takes the checkpoint lock (held until done or finish());
 * 'full' and stronger hold the writer lock only while a step runs.
 */
export class Checkpoint {
  readonly #native: NativeCheckpoint;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(db: Database, options: CheckpointOptions = {}) {
    if (!(db instanceof Database)) throw misuse('new Checkpoint(db): db must be a Database');
    const background = isBackground(options.priority, 'new Checkpoint()');
    this.#native = new binding.Checkpoint(nativeOf(db, 'new Checkpoint()'), modeIndex(options.mode), timeout(options.busyTimeout), background);
  }

  /**
   * Backfills up to `frames` more frames (all when negative, the default). Rejects with the
   * retryable `SQLITE_LOCKED` while the same Database handle has an open transaction (a snapshot
   * backup from it, or a backup into it), as SQLite refuses to checkpoint on such a connection;
   * a second Checkpoint on the same handle is busy at once, like a second SQLite checkpointer.
   * When a reader keeps the checkpoint from going on (one whose snapshot is the database file
   * alone), the step is `done`, with `busy: 1` for 'full' and stronger, as in SQLite.
   */
  step(frames = -1): Promise<CheckpointStepResult> {
    if (typeof frames !== 'number' || Number.isNaN(frames)) return Promise.reject(misuse('checkpoint.step(frames): frames must be a number'));
    return this.#enqueue(() => this.#native.step(frames));
  }

  /** Releases the checkpoint's locks (also when not done). Harmless to call again. */
  finish(): Promise<void> {
    return this.#enqueue(() => this.#native.finish());
  }

  /** `await using cp = new Checkpoint(db)` finishes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.finish();
  }

  #enqueue<T>(call: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(call, call);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}

/** Options for {@link checkpoint}. */
export interface CheckpointCallOptions extends CheckpointOptions {
  /** Cancels between steps: the locks are released and the promise rejects with SQLITE_ABORT. */
  signal?: AbortSignal;
  /** Frames per step (default: all in one step, as SQLite does). */
  framesPerStep?: number;
}

/**
 * Checkpoints the WAL of the database at `target` (a path or an open Database) and resolves to
 * what `PRAGMA wal_checkpoint(MODE)` would report in the same situation:
 * `{busy: 0, log: -1, checkpointed: -1}` for a database not in WAL mode.
 */
export async function checkpoint(target: string | Database, options: CheckpointCallOptions = {}): Promise<CheckpointResult> {
  const framesPerStep = options.framesPerStep ?? -1;
  if (!Number.isInteger(framesPerStep) || framesPerStep === 0) throw misuse('checkpoint(): framesPerStep must be a non-zero integer');
  isBackground(options.priority, 'checkpoint()');
  const { signal } = options;
  const aborted = (): LitevaultError => cancelled('checkpoint', signal);
  if (signal?.aborted) throw aborted();
  const db = typeof target === 'string' ? await Database.open(target, { busyTimeout: timeout(options.busyTimeout) }) : target;
  try {
    const job = new Checkpoint(db, options);
    try {
      for (;;) {
        if (signal?.aborted) throw aborted();
        const r = await job.step(framesPerStep);
        if (r.done) return { busy: r.busy, log: r.log, checkpointed: r.checkpointed };
      }
    } finally {
      await job.finish();
    }
  } finally {
    if (db !== target) await db.close();
  }
}
