/**
 * Replicator: continuous replication of one WAL database into a vault name, and the backups that
 * bound what a restore to a point replays (docs/replication.md; objects: docs/vault-format.md,
 * "Logs").
 *
 * One loop, never two steps at once: wait `pollEvery` (a fixed cadence: an fs.watch on the -wal
 * woke us on every frame SQLite wrote, and at 1000 commits/s those wakeups alone doubled the
 * writer's median commit time in the bench); poll the native follower (a read lock for the poll's
 * microseconds, nothing held between polls); keep the transactions it returns in memory; write
 * them as a segment, then its index entry (the commit), every `interval` or `segmentBytes`; take
 * the policy backups when due; and checkpoint only over shipped frames (the shipped TRUNCATE).
 * A gap (the WAL restarted before its last frames were seen) or a transaction too big to hold is
 * healed by an incremental backup, anchored at a txid of its own.
 *
 * Invariants: `#polled` is where the follower continues, `#committed` the last txid whose index
 * entry (or heal anchor) is in the vault; everything between is in `#pending`, in txid order, one
 * WAL generation per segment. The name's vault lock is held from start() to close().
 *
 * Thread safety: main thread only; the native calls run on the libuv threadpool.
 */
import { binding, NativeFollowPosition, NativePollResult, NativeTruncateResult, NativeWalFollower } from '../binding';
import { Database, nativeOf } from '../database';
import { LitevaultError, misuse } from '../errors';
import { Storage, StorageLock } from './storage';
import { encodeAnchor, encodeIndexEntry, LogPoint, logEnd, readLog, segmentKey } from './log';
import type { Manifest } from './catalog';
import type { RetentionRules } from './retention';

/** Options for {@link Vault.replicate}. */
export interface ReplicateOptions {
  /** The name in the vault. Default: the database's file name. */
  name?: string;
  /** How often a segment is written while transactions arrive (its oldest waits about this long), and the longest between polls; ms. Default 1000. */
  interval?: number;
  /** How often the -wal is polled, ms; a transaction's recordedAt is at most about this late. Default 50. */
  pollEvery?: number;
  /** WAL frames above which the replicator checkpoints (over shipped frames only). Default 4000. */
  walFrames?: number;
  /** A segment is written once its transactions hold this many bytes of pages. Default 8 MiB. */
  segmentBytes?: number;
  /** A full backup when the newest full one is older than this (ms, or '24h'). Default 24 h; Infinity: never. */
  fullEvery?: number | string;
  /** A differential backup when the newest backup is older than this (ms, or '1h'). Default 1 h; Infinity: never. */
  differentialEvery?: number | string;
  /**
   * A differential backup once the log shipped since the newest backup holds this many times the
   * database's size in page images (a database under 256 MiB counts as 256 MiB), so a restore to
   * a point never replays more than about that (a busy hour would otherwise be replayed whole).
   * Default 1; Infinity: never.
   */
  replayLimit?: number;
  /** How long the replicator's own checkpoint waits for the writer lock and for readers, ms. Default 250. */
  checkpointWait?: number;
  /** How long start waits for the name's lock held by someone else (a killed run's lease expiring), ms. Default 120000. */
  lockWait?: number;
  /** Segment compression, as for backups. Default 'zstd', level -1. */
  compression?: 'zstd' | 'none';
  level?: number;
  /** Retention rules (as for vault.prune) applied to the name after each policy backup; default none (the replicator holds the name's lock, so vault.prune skips it). */
  retention?: RetentionRules;
  /** Every event, as it happens (the CLI's --json prints them). */
  onEvent?: (event: ReplicatorEvent) => void;
}

/** What the replicator did. */
export type ReplicatorEvent =
  | { type: 'segment'; name: string; firstTxid: number; lastTxid: number; transactions: number; bytes: number; key: string }
  | { type: 'backup'; name: string; seq: number; backupType: string; reason: 'start' | 'full' | 'differential' | 'gap' | 'oversize'; txid: number | null }
  | { type: 'gap'; name: string; reason: 'restarted' | 'oversize' | 'start'; afterTxid: number }
  /** busy: readers stayed, or the hold limit passed while shipping; nothing was truncated. */
  | { type: 'checkpoint'; name: string; truncated: boolean; busy: boolean; frames: number }
  | { type: 'retry'; name: string; error: LitevaultError };

/** Counters since start(). */
export interface ReplicatorStats {
  name: string;
  /** Transactions shipped (committed in the vault). */
  transactions: number;
  segments: number;
  bytes: number;
  /** The newest committed txid, and when it was recorded. */
  lastTxid: number;
  lastRecordedAt: string | null;
  /** Gaps detected (each healed by a backup), and backups taken (start, policy and heals). */
  gaps: number;
  backups: number;
  /** Shipped TRUNCATE checkpoints that truncated the WAL. */
  truncates: number;
  /** Storage failures retried. */
  retries: number;
  /** The most frames the WAL held at a poll. */
  maxWalFrames: number;
}

/** What a Vault gives its replicators. */
export interface ReplicatorHost {
  storage: Storage;
  manifests(name: string): Promise<Manifest[]>;
  /** A backup of `db` under the held `lock`; `type` 'auto' falls back to full as vault.backup does. */
  backup(db: Database, name: string, lock: StorageLock, type: 'auto' | 'full' | 'differential'): Promise<Manifest>;
  /** Deletes the segments no index entry names, and temporaries under logs/<name>/. */
  collectSegments(name: string, lock: StorageLock): Promise<void>;
  /** The retention rules applied to the name (absent without `retention`). */
  prune?: (name: string, lock: StorageLock) => Promise<void>;
}

interface Pending {
  salt1: number;
  salt2: number;
  pageSize: number;
  records: Buffer[];
  bytes: number;
  firstTxid: number;
  lastTxid: number;
  firstAt: number;
  lastAt: number;
  firstFrame: number;
  after: NativeFollowPosition; // the position after its last transaction
}

// An anchor waiting for the transaction that ends at its backup's snapshot to be shipped.
interface WaitingAnchor extends LogPoint {
  seq: number;
  at: string;
  pageSize: number;
  txid: number | null; // known once polled; written once committed
}

/** The options, resolved and checked. */
export type ResolvedOptions = Required<Omit<ReplicateOptions, 'name' | 'onEvent' | 'fullEvery' | 'differentialEvery' | 'retention'>> & {
  fullEvery: number;
  differentialEvery: number;
  onEvent?: ReplicateOptions['onEvent'];
};

const DAY = 86_400_000;

function notWal(path: string): LitevaultError {
  return new LitevaultError({ message: `replicate '${path}': the database is not in WAL mode (PRAGMA journal_mode=WAL); only a WAL database's transactions can be followed`, code: 'LITEVAULT_NOT_WAL' });
}
const MAX_PENDING_BYTES = 64 << 20; // beyond this (a store down for long), polling waits: the WAL keeps the rest
const MAX_TRANSACTION_BYTES = 256 << 20; // a bigger transaction is healed by a backup instead of held in memory
// replayLimit's unit is the database's size, but at least this: a small database's replay is quick
// anyway, and a differential every MiB of log would fill the vault with backups.
const MIN_REPLAY_UNIT = 256 << 20;
const HOLD_MS = 1000; // the longest the shipped TRUNCATE keeps writers waiting while it ships (#checkpointIfDue)

export class Replicator {
  readonly name: string;
  readonly #host: ReplicatorHost;
  readonly #db: Database;
  readonly #ownsDb: boolean;
  readonly #lock: StorageLock;
  readonly #follower: NativeWalFollower;
  readonly #o: ResolvedOptions;
  readonly #stats: ReplicatorStats;
  #polled: NativeFollowPosition | null;
  #nextTxid: number;
  #pending: Pending | null = null;
  #anchor: WaitingAnchor | null = null;
  #lastFullAt = 0;
  #lastBackupAt = 0;
  #replayBytes = 0; // record bytes shipped since the newest backup: what a restore to a point replays
  #databaseBytes = Infinity; // the newest backup's size, at least MIN_REPLAY_UNIT (replayLimit is a multiple of it)
  #lastChangeAt = Date.now();
  // After a shipped TRUNCATE that readers kept from truncating: no new attempt before this time
  // (each attempt holds the write lock for up to checkpointWait).
  #truncateNotBefore = 0;
  #holdNotBefore = 0; // until then lockForTruncate does not hold the locks across a ship
  #holdExpiries = 0; // held TRUNCATEs in a row that ended busy
  #seed: { salt1: number; salt2: number; frame: number } | null = null; // the seed frame our last TRUNCATE wrote
  #closing = false;
  #wake: (() => void) | null = null;
  readonly #done: Promise<void>;

  /** @internal Vault.replicate() makes replicators. */
  constructor(host: ReplicatorHost, db: Database, name: string, lock: StorageLock, o: ResolvedOptions, start: { polled: NativeFollowPosition | null; nextTxid: number; lastFullAt: number; lastBackupAt: number; databaseBytes: number; ownsDb: boolean }) {
    this.#host = host;
    this.#db = db;
    this.#ownsDb = start.ownsDb;
    this.name = name;
    this.#lock = lock;
    this.#o = o;
    this.#follower = new binding.WalFollower(db.path, { busyTimeout: o.checkpointWait, holdTimeout: HOLD_MS });
    this.#polled = start.polled;
    this.#nextTxid = start.nextTxid;
    this.#lastFullAt = start.lastFullAt;
    this.#lastBackupAt = start.lastBackupAt;
    this.#databaseBytes = Math.max(start.databaseBytes, MIN_REPLAY_UNIT);
    this.#stats = { name, transactions: 0, segments: 0, bytes: 0, lastTxid: start.nextTxid - 1, lastRecordedAt: null, gaps: 0, backups: 0, truncates: 0, retries: 0, maxWalFrames: 0 };
    this.#done = this.#run();
    this.#done.catch(() => undefined); // observed by close()
  }

  /** Counters since start (a copy). */
  stats(): ReplicatorStats {
    return { ...this.#stats };
  }

  /**
   * Stops: ships what was polled (a last poll first), releases the lock and the database.
   * Resolves to the final stats; rejects with the error that stopped the replicator, if one did.
   */
  async close(): Promise<ReplicatorStats> {
    this.#closing = true;
    this.#wake?.();
    try {
      await this.#done;
    } finally {
      await this.#follower.close().catch(() => undefined);
      await this.#lock.release();
      if (this.#ownsDb) await this.#db.close().catch(() => undefined);
    }
    return this.stats();
  }

  /** Settles when the replicator has stopped: resolves after close(), rejects with the error that stopped it (one it cannot retry). */
  get stopped(): Promise<void> {
    return this.#done;
  }

  #event(event: ReplicatorEvent): void {
    this.#o.onEvent?.(event);
  }

  async #run(): Promise<void> {
    let delay = 100;
    for (;;) {
      const closing = this.#closing;
      try {
        await this.#cycle(closing);
        delay = 100;
      } catch (err) {
        if (!(err instanceof LitevaultError) || !err.retryable || closing) throw err;
        this.#stats.retries++;
        this.#event({ type: 'retry', name: this.name, error: err });
        await this.#sleep(delay);
        delay = Math.min(delay * 2, 5000);
        continue;
      }
      if (closing) return;
      await this.#waitForPoll();
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // Until the next poll is due (pollEvery, at most interval), or close().
  #waitForPoll(): Promise<void> {
    if (this.#closing) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.min(this.#o.pollEvery, this.#o.interval));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }

  // One turn: poll, take what it found, ship when due, back up when due, checkpoint when due.
  async #cycle(final: boolean): Promise<void> {
    await this.#lock.check();
    const now = Date.now();
    if (this.#pending === null || this.#pending.bytes < MAX_PENDING_BYTES) {
      const r = await this.#follower.poll(this.#polled, this.#nextTxid, now, MAX_TRANSACTION_BYTES);
      await this.#take(r, Date.now());
      if (r.wal) this.#stats.maxWalFrames = Math.max(this.#stats.maxWalFrames, r.mxFrame);
    }
    const p = this.#pending;
    if (p && (final || p.bytes >= this.#o.segmentBytes || Date.now() - p.firstAt >= this.#o.interval)) await this.#ship();
    if (final) return;
    const fullDue = Date.now() - this.#lastFullAt >= this.#o.fullEvery;
    const differentialDue = Date.now() - this.#lastBackupAt >= this.#o.differentialEvery || this.#replayBytes >= this.#o.replayLimit * this.#databaseBytes;
    if (fullDue || differentialDue) await this.#policyBackup(fullDue ? 'full' : 'differential');
    await this.#checkpointIfDue();
  }

  // A poll's result: transactions into #pending, a gap or an oversized transaction healed.
  async #take(r: NativePollResult, at: number): Promise<void> {
    if (!r.wal) {
      throw notWal(this.#db.path);
    }
    if (r.transactions > 0) {
      const p = this.#pending;
      if (p && (p.salt1 !== r.salt1 || p.salt2 !== r.salt2)) await this.#ship(); // one generation per segment
      this.#append(r, at);
      this.#lastChangeAt = at;
    } else if (r.position) {
      this.#polled = r.position;
    }
    this.#resolveAnchor(r);
    if (r.status === 'gap' || r.status === 'oversize') await this.#heal(r.status === 'gap' ? (this.#polled === null ? 'start' : 'restarted') : 'oversize');
  }

  // `at`: a time after the poll returned, so after every commit it returned; it becomes each
  // record's recordedAt (the time given to the poll was taken before its read lock, and a
  // lockForTruncate may have waited for the writer lock meanwhile).
  #append(r: NativePollResult, at: number): void {
    const records = r.records!;
    stampRecords(records, r.pageSize, at);
    const p = this.#pending;
    if (p) {
      p.records.push(records);
      p.bytes += records.length;
      p.lastTxid = this.#nextTxid + r.transactions - 1;
      p.lastAt = at;
      p.after = r.position!;
    } else {
      this.#pending = { salt1: r.salt1, salt2: r.salt2, pageSize: r.pageSize, records: [records], bytes: records.length, firstTxid: this.#nextTxid, lastTxid: this.#nextTxid + r.transactions - 1, firstAt: at, lastAt: at, firstFrame: r.firstFrame, after: r.position! };
    }
    this.#nextTxid += r.transactions;
    this.#polled = r.position;
  }

  // A policy backup's anchor is the shipped transaction that ends at its snapshot's frame.
  #resolveAnchor(r: NativePollResult): void {
    const a = this.#anchor;
    if (!a || a.txid !== null) return;
    if (a.salt1 !== r.salt1 || a.salt2 !== r.salt2) {
      if (r.status === 'gap') this.#anchor = null;
      return;
    }
    const polled = this.#polled;
    if (polled && polled.salt1 === a.salt1 && polled.salt2 === a.salt2 && polled.frame === a.frame) {
      a.txid = this.#nextTxid - 1;
      return;
    }
    if (r.records) {
      for (const end of recordEnds(r.records, r.pageSize)) if (end.endFrame === a.frame) a.txid = end.txid;
    }
  }

  // Segment first, then its index entry: the commit. Then an anchor that was waiting for it.
  async #ship(): Promise<void> {
    const p = this.#pending;
    if (!p) return;
    const { data, key } = await binding.encodeLogSegment(
      { pageSize: p.pageSize, salt1: p.salt1, salt2: p.salt2, firstTxid: p.firstTxid, lastTxid: p.lastTxid, compression: this.#o.compression, level: this.#o.level },
      p.records,
    );
    const storage = this.#host.storage;
    await storage.put(segmentKey(this.name, key), data);
    const entry = encodeIndexEntry(this.name, {
      segment: key, bytes: data.length, firstTxid: p.firstTxid, lastTxid: p.lastTxid, firstAt: new Date(p.firstAt).toISOString(), lastAt: new Date(p.lastAt).toISOString(),
      pageSize: p.pageSize, salt1: p.salt1, salt2: p.salt2, firstFrame: p.firstFrame, frame: p.after.frame, lastFrame: p.after.frame, checksum: p.after.checksum!,
    });
    await this.#create(entry.key, entry.bytes);
    this.#pending = null;
    this.#replayBytes += p.bytes;
    const s = this.#stats;
    s.transactions += p.lastTxid - p.firstTxid + 1;
    s.segments++;
    s.bytes += data.length;
    s.lastTxid = p.lastTxid;
    s.lastRecordedAt = new Date(p.lastAt).toISOString();
    this.#event({ type: 'segment', name: this.name, firstTxid: p.firstTxid, lastTxid: p.lastTxid, transactions: p.lastTxid - p.firstTxid + 1, bytes: data.length, key });
    await this.#writeAnchor();
  }

  // The policy backup's anchor, once its transaction is resolved and committed in the log.
  async #writeAnchor(): Promise<void> {
    const a = this.#anchor;
    if (!a || a.txid === null || a.txid > this.#stats.lastTxid) return;
    this.#anchor = null;
    const anchor = encodeAnchor(this.name, { seq: a.seq, txid: a.txid, at: a.at, heal: false, pageSize: a.pageSize, salt1: a.salt1, salt2: a.salt2, frame: a.frame });
    await this.#create(anchor.key, anchor.bytes);
  }

  // A conditional create under the held lock: false means another writer, which the lock rules
  // out. A create that failed without saying whether it was written (a remote store's lost
  // answers) is looked up before the error counts: shipping again would repeat its txids.
  async #create(key: string, bytes: Buffer): Promise<void> {
    await this.#lock.check();
    const storage = this.#host.storage;
    let created: boolean;
    try {
      created = await storage.create(key, bytes);
    } catch (err) {
      const found = await storage.get(key).catch(() => null);
      if (found === null || !found.equals(bytes)) throw err;
      created = true;
    }
    if (!created) {
      throw new LitevaultError({ message: `replicate ${this.name}: ${key} already exists in '${this.#host.storage.location}' (another replicator of the name?)`, code: 'LITEVAULT_BACKUP_IN_PROGRESS', retryable: false });
    }
  }

  // A backup that stands for everything up to its snapshot, with a txid of its own.
  async #heal(reason: 'start' | 'restarted' | 'oversize'): Promise<void> {
    await this.#ship();
    this.#anchor = null;
    const afterTxid = this.#nextTxid - 1;
    if (reason !== 'start' || afterTxid > 0) {
      this.#stats.gaps++;
      this.#event({ type: 'gap', name: this.name, reason, afterTxid });
    }
    const m = await this.#backup('auto');
    const snap = m.meta.snapshot;
    const txid = this.#nextTxid;
    const anchor = encodeAnchor(this.name, { seq: m.meta.seq, txid, at: m.meta.createdAt, heal: true, pageSize: m.meta.pageSize, salt1: snap.walSalt1 ?? 0, salt2: snap.walSalt2 ?? 0, frame: snap.walFrame });
    await this.#create(anchor.key, anchor.bytes);
    this.#nextTxid = txid + 1;
    this.#lastChangeAt = Date.now();
    // With the snapshot's checksum the position can prove a restart that follows at once (a heal
    // under a busy writer is often followed by one); an older manifest has none: recomputed.
    this.#polled = { salt1: snap.walSalt1 ?? 0, salt2: snap.walSalt2 ?? 0, frame: snap.walFrame, checksum: snap.walChecksum ?? null };
    this.#stats.lastTxid = txid;
    this.#stats.lastRecordedAt = m.meta.createdAt;
    // An empty WAL (a start on a checkpointed database, a gap whose new generation has no frame
    // yet): the application's next writer would pick random salts, another gap, unless the WAL
    // starts with our seed frame; a TRUNCATE of nothing writes one.
    if (snap.walFrame === 0) await this.#checkpointIfDue(true);
    this.#event({ type: 'backup', name: this.name, seq: m.meta.seq, backupType: m.meta.type, reason: reason === 'restarted' ? 'gap' : reason, txid });
  }

  async #backup(type: 'auto' | 'full' | 'differential'): Promise<Manifest> {
    const m = await this.#host.backup(this.#db, this.name, this.#lock, type);
    if (m.meta.snapshot.journalMode !== 'wal') {
      throw notWal(this.#db.path);
    }
    this.#stats.backups++;
    this.#lastBackupAt = Date.parse(m.meta.createdAt);
    if (m.meta.type === 'full') this.#lastFullAt = this.#lastBackupAt;
    this.#replayBytes = 0;
    this.#databaseBytes = Math.max(m.meta.pageCount * m.meta.pageSize, MIN_REPLAY_UNIT);
    return m;
  }

  async #policyBackup(type: 'full' | 'differential'): Promise<void> {
    await this.#ship();
    const m = await this.#backup(type);
    const snap = m.meta.snapshot;
    this.#anchor = { seq: m.meta.seq, at: m.meta.createdAt, pageSize: m.meta.pageSize, salt1: snap.walSalt1 ?? 0, salt2: snap.walSalt2 ?? 0, frame: snap.walFrame, txid: null };
    this.#event({ type: 'backup', name: this.name, seq: m.meta.seq, backupType: m.meta.type, reason: type, txid: null });
    await this.#host.prune?.(this.name, this.#lock);
  }

  // The shipped TRUNCATE (docs/replication.md): past walFrames, or with the WAL idle for an
  // interval. The frames committed since the last poll are read and shipped under the write
  // lock, so the WAL is emptied only once everything in it is in the vault. With nothing new
  // since the last poll the TRUNCATE runs inside lockForTruncate; otherwise the locks stay held
  // while we ship, for HOLD_MS at most (the native handle then releases them itself: an
  // application's synchronous connection in this process may be blocking this thread, waiting
  // for our write lock, and the finish could never run).
  // force: at once and without a hold (#heal's seed).
  async #checkpointIfDue(force = false): Promise<void> {
    const polled = this.#polled;
    if (!polled || this.#pending) return;
    // A WAL holding only our seed frame is empty: truncating it again would only write another.
    const seed = this.#seed;
    const frames = seed && seed.salt1 === polled.salt1 && seed.salt2 === polled.salt2 && seed.frame === polled.frame ? 0 : polled.frame;
    const idle = Date.now() - this.#lastChangeAt >= this.#o.interval;
    if (!force && (frames === 0 || (frames < this.#o.walFrames && !idle) || Date.now() < this.#truncateNotBefore)) return;
    let r: NativePollResult;
    const at = Date.now();
    try {
      r = await this.#follower.lockForTruncate(polled, this.#nextTxid, at, MAX_TRANSACTION_BYTES, !force && Date.now() >= this.#holdNotBefore);
    } catch (err) {
      if (err instanceof LitevaultError && err.code.startsWith('SQLITE_BUSY')) return; // the writer or another checkpointer: next turn
      throw err;
    }
    let f: NativeTruncateResult;
    if (r.truncate) {
      f = r.truncate;
      // A policy backup taken at this very position anchors here: the generation is gone next.
      this.#resolveAnchor(r);
      await this.#writeAnchor();
    } else if (!r.locked) {
      await this.#take(r, Date.now());
      return;
    } else {
      try {
        this.#append(r, Date.now());
        this.#lastChangeAt = Date.now();
        this.#stats.maxWalFrames = Math.max(this.#stats.maxWalFrames, r.mxFrame);
        this.#resolveAnchor(r);
        await this.#ship();
        f = await this.#follower.finishTruncate(true);
      } catch (err) {
        await this.#follower.finishTruncate(false).catch(() => undefined);
        throw err;
      }
    }
    if (f.truncated) {
      this.#polled = { salt1: f.salt1, salt2: f.salt2, frame: f.frame, checksum: f.checksum };
      this.#seed = f.frame > 0 ? { salt1: f.salt1, salt2: f.salt2, frame: f.frame } : null;
      this.#stats.truncates++;
      if (r.locked) this.#holdExpiries = 0;
    } else if (r.locked) {
      // Readers stayed, or the hold limit passed while we shipped (a writer in this process
      // blocking our thread, or a slow store). Until #holdNotBefore, TRUNCATE only with nothing
      // new to ship (no hold, no stall for that writer); then hold again: 10 intervals, doubling
      // with each expiry in a row, up to 10 minutes.
      this.#holdNotBefore = Date.now() + Math.min(10 * this.#o.interval * 2 ** this.#holdExpiries, 600_000);
      this.#holdExpiries++;
    } else {
      this.#truncateNotBefore = Date.now() + 10 * this.#o.interval; // busy readers
    }
    this.#event({ type: 'checkpoint', name: this.name, truncated: f.truncated, busy: f.busy, frames: r.mxFrame });
  }
}

function replayLimitOf(v: number | undefined, what: string): number {
  if (v === undefined) return 1;
  if (typeof v !== 'number' || !(v > 0)) throw misuse(`${what}: replayLimit must be a number > 0 (or Infinity)`);
  return v;
}

// Segment records (docs/vault-format.md, "Segment": 8 txid, 8 recordedAt, 4 end frame, 4 page
// count, 4 pages k, then k x (4 + page size)): stampRecords sets every record's recordedAt to
// `at`; recordEnds lists each record's txid and end frame.
function stampRecords(records: Buffer, pageSize: number, at: number): void {
  for (let offset = 0; offset + 28 <= records.length; offset += 28 + records.readUInt32LE(offset + 24) * (4 + pageSize)) {
    records.writeBigInt64LE(BigInt(at), offset + 8);
  }
}

function recordEnds(records: Buffer, pageSize: number): { txid: number; endFrame: number }[] {
  const out = [];
  for (let at = 0; at + 28 <= records.length; ) {
    out.push({ txid: Number(records.readBigUInt64LE(at)), endFrame: records.readUInt32LE(at + 16) });
    at += 28 + records.readUInt32LE(at + 24) * (4 + pageSize);
  }
  return out;
}

// The name's lock, retried for up to `wait` ms while another holder has it: a replicator
// restarted after a kill waits for the killed run's lease (object storage) to expire.
async function takeLock(storage: Storage, name: string, wait: number): Promise<StorageLock> {
  const deadline = Date.now() + wait;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await storage.lock(name);
    } catch (err) {
      if (!(err instanceof LitevaultError && err.code === 'LITEVAULT_BACKUP_IN_PROGRESS') || Date.now() + delay > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * Starts a replicator: takes the name's lock, removes what a killed run left (temporaries and
 * segments no index entry names), reads where the committed log ends, and begins following.
 * @internal Vault.replicate().
 */
export async function startReplicator(host: ReplicatorHost, db: Database, name: string, o: ResolvedOptions, ownsDb: boolean): Promise<Replicator> {
  const lock = await takeLock(host.storage, name, o.lockWait);
  try {
    await host.collectSegments(name, lock);
    const log = await readLog(host.storage, name);
    const manifests = await host.manifests(name);
    const end = logEnd(log);
    // The log continues only from the same database file the name's backups were taken from.
    const fileId = nativeOf(db, 'vault.replicate()').fileId ?? '';
    const newest = manifests.at(-1);
    const sameFile = newest !== undefined && newest.meta.source.inode === fileId.slice(fileId.indexOf(':') + 1);
    const polled: NativeFollowPosition | null = end && sameFile ? { ...end.point, checksum: end.checksum } : null;
    const lastFull = [...manifests].reverse().find((m) => m.meta.type === 'full');
    return new Replicator(host, db, name, lock, o, {
      polled,
      nextTxid: end?.nextTxid ?? 1,
      lastFullAt: lastFull ? Date.parse(lastFull.meta.createdAt) : 0,
      lastBackupAt: newest ? Date.parse(newest.meta.createdAt) : 0,
      // The log a killed run shipped since that backup is not counted again: a restart can let
      // the replay grow to about twice replayLimit once.
      databaseBytes: newest ? newest.meta.pageCount * newest.meta.pageSize : Infinity,
      ownsDb,
    });
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** Checks and fills in the options. @throws SQLITE_MISUSE */
export function resolveReplicateOptions(options: ReplicateOptions, parseDuration: (v: number | string, what: string) => number, what: string): ResolvedOptions {
  const ms = (v: unknown, dflt: number, key: string, min = 0): number => {
    const value = v ?? dflt;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw misuse(`${what}: ${key} must be a number >= ${min}`);
    return value;
  };
  const every = (v: number | string | undefined, dflt: number, key: string): number => (v === Infinity ? Infinity : v === undefined ? dflt : parseDuration(v, `${what}: ${key}`));
  const compression = options.compression ?? 'zstd';
  if (compression !== 'zstd' && compression !== 'none') throw misuse(`${what}: compression must be 'zstd' or 'none'`);
  const level = options.level ?? -1;
  if (!Number.isInteger(level) || level < -7 || level > 19) throw misuse(`${what}: level must be an integer -7..19`);
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') throw misuse(`${what}: onEvent must be a function`);
  return {
    interval: ms(options.interval, 1000, 'interval', 1),
    pollEvery: ms(options.pollEvery, 50, 'pollEvery', 1),
    walFrames: ms(options.walFrames, 4000, 'walFrames', 1),
    segmentBytes: ms(options.segmentBytes, 8 << 20, 'segmentBytes', 1),
    checkpointWait: ms(options.checkpointWait, 250, 'checkpointWait'),
    lockWait: ms(options.lockWait, 120_000, 'lockWait'),
    fullEvery: every(options.fullEvery, DAY, 'fullEvery'),
    differentialEvery: every(options.differentialEvery, 3_600_000, 'differentialEvery'),
    replayLimit: replayLimitOf(options.replayLimit, what),
    compression,
    level,
    onEvent: options.onEvent,
  };
}
