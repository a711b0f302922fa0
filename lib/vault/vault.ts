/**
 * Vault: backup sets with history, in a directory (and, through the same Storage interface,
 * object storage): full, incremental and differential backups of live SQLite databases, with
 * restore, list and prune. The contract is ESE's JetBackup (design.md "ESE-style backups"); the
 * format and its commit rule are docs/vault-format.md.
 *
 * Who does what: the native VaultScan reads one consistent snapshot of the source, hashes every
 * page, compares with the base state and hands back finished packs; this class only moves those
 * Buffers to storage (a few puts in flight while the next steps run), writes the manifest last by
 * conditional create (the commit point), and keeps the rules: one backup per name at a time (the
 * storage lock), nothing visible before the commit, garbage removed only by holders of the
 * name's lock. Restore is the native VaultRestore fed pack by pack (two in flight).
 *
 * Thread safety: main thread only; any number of calls may run at once (the locks decide).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { DEFAULT_MAX_RESTARTS, openSource } from '../backup';
import { binding, NativeScanResult, NativeVaultRestore } from '../binding';
import { checkpoint } from '../checkpoint';
import { Database, nativeOf } from '../database';
import { cancelled, LitevaultError, misuse, vaultCorrupt } from '../errors';
import { isBackground, Priority } from '../priority';
import { privateTempPath } from '../private-temp';
import { placeRestored, removeCompanions, restoreDestinationExists } from '../restore-target';
import { nativeCheckOptions, VerifyFinding } from '../verify';
import { BackupType, Catalog, checkName, CONFIG_KEY, FORMAT_VERSION, Manifest, ManifestMeta, manifestKey, packKey } from './catalog';
import { DirectoryStorage } from './directory-storage';
import { EncryptedStorage } from './encrypted-storage';
import { anchorKey, LogIndexEntry, logRange, LogRange, PointPlan, planPoint, readLog, segmentKey } from './log';
import { ReplicateOptions, Replicator, ReplicatorHost, resolveReplicateOptions, startReplicator } from './replicator';
import { checkRules, keptSeqs, parseDuration, RetentionRules } from './retention';
import { RemoteVaultOptions, remoteStorage } from './s3-storage';
import { Storage, StorageLock } from './storage';
import { ENCRYPTED_FORMAT_VERSION, newEncryption, parseKey, unlockStorage, VaultKey } from './vault-key';

export type { BackupType } from './catalog';
export type { ReplicateOptions, Replicator, ReplicatorEvent, ReplicatorStats } from './replicator';
export type { LogRange } from './log';

// What #supplyPacks feeds: the backup (its name, chain full first, and the backup itself) and
// how (packs fetched at once, cancellation, the operation's name for messages, per-pack progress).
interface BackupPlan {
  name: string;
  chain: Manifest[];
  target: Manifest;
}
interface SupplyRun {
  inFlight: number;
  signal: AbortSignal | undefined;
  what: string;
  onPack: (pages: number) => void;
}

/** Options for {@link Vault.open}; those of {@link RemoteVaultOptions} apply to `s3://` vaults only. */
export interface VaultOpenOptions extends RemoteVaultOptions {
  /** Create the vault (directory 0700, or under its s3:// prefix, and its litevault-vault.json) if there is none. Default false. */
  create?: boolean;
  /**
   * The vault's key (docs/vault-format.md, "Encryption"): 32 bytes as a Buffer, or as 64 hex
   * digits or base64 in a string. With `create` on a new vault, the vault is created encrypted;
   * an encrypted vault needs it (LITEVAULT_KEY_REQUIRED without it, LITEVAULT_BAD_KEY for a wrong
   * one), and a vault without encryption refuses one (LITEVAULT_BAD_KEY). The API takes the key
   * only from here (never from the environment); the CLI reads LITEVAULT_KEY or --key-file.
   */
  key?: VaultKey;
  /**
   * The priority of this vault's native work (backup scans, restores, verification); see
   * {@link Priority}. Default 'background'.
   */
  priority?: Priority;
  /** @internal Another Storage than a directory (object storage; tests' fault injection). */
  storage?: Storage;
}

/**
 * 'auto' (the default): an incremental backup, or a full one when the name has no usable full
 * backup (none yet, another database file, another page size).
 */
export type VaultBackupType = 'auto' | BackupType;

/** Progress of {@link Vault.backup} (ESE's JET_PFNSTATUS), after every step. */
export interface VaultBackupProgress {
  phase: 'scan' | 'commit' | 'truncate';
  name: string;
  /** Pages read and hashed so far in this pass, of `pageCount`. */
  pagesScanned: number;
  pageCount: number;
  /** Pages that differed from the base and were stored. */
  pagesStored: number;
  /** Bytes of packs stored so far. */
  bytesStored: number;
  restarts: number;
  heldLock: boolean;
}

/** Options for {@link Vault.backup}. */
export interface VaultBackupOptions {
  /** See {@link VaultBackupType}. Default 'auto'. */
  type?: VaultBackupType;
  /** The name the backups of this database are kept under. Default: the database file's base name. */
  name?: string;
  /**
   * When an incremental or differential cannot be taken (LITEVAULT_NO_FULL_BACKUP,
   * LITEVAULT_BASE_MISMATCH), take a full backup instead; the result's `type` and `notes` say so.
   * Default false ('auto' always falls back).
   */
  fallbackToFull?: boolean;
  /**
   * After the backup is committed, checkpoint the source's WAL with TRUNCATE (JetTruncateLog);
   * if readers prevent that, a PASSIVE checkpoint and a note. Never after a failed backup, and a
   * checkpoint failure never fails the backup. Default false.
   */
  truncateWal?: boolean;
  /** Default 'zstd'. */
  compression?: 'zstd' | 'none';
  /** zstd level: -7 (fastest) .. 19 (smallest); default -1, zstd's first fast level (as small as 1 with long-distance matching, and quicker). */
  level?: number;
  /** Rollback-journal sources: restarts before the backup holds the read lock to the end. Default 3. */
  maxRestarts?: number;
  /** Total time to wait for other connections' locks, ms. Default 5000. */
  busyTimeout?: number;
  /** Read the database at most this fast (bytes per second), to spare the disk. Default unlimited. */
  maxBytesPerSecond?: number;
  /**
   * Check the source's structure while reading it (see `verify()`); a source that fails the
   * check rejects with SQLITE_CORRUPT naming the first bad page, and nothing is committed.
   * Default true.
   */
  verify?: boolean;
  onProgress?: (progress: VaultBackupProgress) => void;
  /** Cancels: the vault is left as it was and the promise rejects with SQLITE_ABORT. */
  signal?: AbortSignal;
}

/** Options for {@link Vault.verify}. */
export interface VaultVerifyOptions {
  /** Only the backups of this name (default: every name). */
  name?: string;
  /** Only this backup of `name`. */
  at?: string;
  /** Findings listed per backup (default 100). */
  maxFindings?: number;
  /** cksumvfs page checksums, as for verify(): 'auto' (default), true, false. */
  cksumvfs?: 'auto' | boolean;
  signal?: AbortSignal;
  onProgress?: (progress: { name: string; id: string; backup: number; backups: number; pagesChecked: number; pageCount: number }) => void;
}

/** One backup's verdict in {@link VaultVerifyResult}. */
export interface VaultVerifyBackup {
  name: string;
  id: string;
  type: BackupType;
  /** The backup rebuilds from intact objects and the database it holds passes the structure check. */
  ok: boolean;
  pageSize: number;
  pageCount: number;
  /** The structure check's findings in the rebuilt database (as verify() reports them). */
  findings: VerifyFinding[];
  findingCount: number;
  /** A damaged or missing vault object (LITEVAULT_VAULT_CORRUPT naming it), else null. */
  error: { code: string; message: string } | null;
}

/** What {@link Vault.verify} resolves to. */
export interface VaultVerifyResult {
  /** Every backup checked is ok and no manifest is damaged. */
  ok: boolean;
  backups: VaultVerifyBackup[];
  /** Names whose manifests or transaction log could not all be read (a damaged object: LITEVAULT_VAULT_CORRUPT). */
  problems: { name: string; code: string; message: string }[];
  /** Log segments of replicated names checked against their keys (every one, unless `at` was given). */
  segmentsChecked: number;
  /** Pack reads (a pack shared by several backups is read for each). */
  packsChecked: number;
  /** Page images checked against their hashes. */
  pagesChecked: number;
  ms: number;
}

/** What {@link Vault.backup} resolves to. */
export interface VaultBackupResult {
  /** The backup's id within its name (its sequence number, as a string). */
  id: string;
  seq: number;
  name: string;
  /** The type actually taken (a fallback makes it 'full'). */
  type: BackupType;
  /** The id of the backup this one stores its difference from; null for a full backup. */
  base: string | null;
  pageCount: number;
  pageSize: number;
  pagesScanned: number;
  pagesStored: number;
  /** Bytes this backup added to the vault: its packs and its manifest. */
  bytesStored: number;
  /** The state the backup holds; createdAt (ISO 8601) is when that snapshot was taken: every commit in it began earlier. */
  snapshot: { journalMode: 'wal' | 'rollback'; changeCounter: number; walFrame: number; createdAt: string };
  /** Times the scan of a rollback-journal source started over because another connection wrote it. */
  restarts: number;
  /** True when the backup held the source's read lock to the end (after maxRestarts restarts). */
  heldLock: boolean;
  /** Wall time, ms. */
  ms: number;
  /** What happened besides the backup: a fallback to full, a WAL that could not be truncated, garbage not collected. */
  notes: string[];
}

/** One committed backup, as {@link Vault.list} reports it. */
export interface VaultBackupInfo {
  id: string;
  seq: number;
  name: string;
  type: BackupType;
  base: string | null;
  /** The id of the full backup at the root of its chain. */
  full: string;
  /** When its snapshot was taken (ISO 8601). */
  createdAt: string;
  pageCount: number;
  pageSize: number;
  pagesStored: number;
  bytesStored: number;
  journalMode: 'wal' | 'rollback';
}

/** One replicated name's log, as {@link Vault.logs} reports it. */
export interface VaultLogInfo {
  name: string;
  /** What a restore to a point can reach: from the first anchored backup's transaction to the last shipped one. */
  range: LogRange | null;
  segments: number;
  bytes: number;
  /** The backups that are points of the log (heal: taken because the log could not continue). */
  anchors: { seq: number; txid: number; at: string; heal: boolean }[];
}

/** Options for {@link Vault.restore}. */
export interface VaultRestoreOptions {
  /** The id of the backup to restore. Default: the newest. */
  at?: string;
  /**
   * A point of a replicated name's log (docs/replication.md) instead of a backup: the state after
   * transaction `txid`, or after the newest transaction recorded at or before `time` (an ISO 8601
   * string or a Date). At most one of `at`, `txid` and `time`.
   */
  txid?: number;
  time?: string | Date;
  /**
   * Write over an existing destination (which may be a live database: it is written under an
   * exclusive lock through a rollback journal or WAL frames, so its readers see the old content
   * or the new). Without it an existing destination is LITEVAULT_EXISTS. Default false.
   */
  overwrite?: boolean;
  /** Lock wait for an overwritten destination, ms. Default 5000. */
  busyTimeout?: number;
  onProgress?: (progress: { pagesWritten: number; pageCount: number }) => void;
  /** Cancels: the destination is left as it was; rejects with SQLITE_ABORT. */
  signal?: AbortSignal;
}

/** Options for {@link Vault.exportStream}. */
export interface VaultExportOptions {
  /** The id of the backup to export. Default: the newest. */
  at?: string;
  /** Where the private rebuilt copy is kept while it streams. Default: os.tmpdir(). */
  tempDir?: string;
  /** Bytes per chunk the stream emits (its highWaterMark too). Default 1 MiB. */
  chunkBytes?: number;
  /** Progress of the rebuild, before the first byte. */
  onProgress?: (progress: { pagesWritten: number; pageCount: number }) => void;
  /** Destroys the stream with SQLITE_ABORT; the private copy is removed. */
  signal?: AbortSignal;
}

/** What {@link Vault.restore} resolves to. */
export interface VaultRestoreResult {
  /** The backup rebuilt (for a point: the one the log was applied to). */
  id: string;
  /** For a point: the transaction restored, and when the replicator recorded it. */
  txid?: number;
  recordedAt?: string;
  name: string;
  destination: string;
  pageCount: number;
  pageSize: number;
  ms: number;
}

/** Options for {@link Vault.prune}: retention rules (at least one) and where they apply. */
export interface VaultPruneOptions extends RetentionRules {
  /** Prune only this name. Default: every name. */
  name?: string;
  /** Decide and report, remove nothing. */
  dryRun?: boolean;
}

/** What {@link Vault.prune} resolves to. */
export interface VaultPruneResult {
  kept: VaultBackupInfo[];
  removed: VaultBackupInfo[];
  /** Pack objects removed (or, in a dry run, that would be). */
  packsRemoved: number;
  /** Bytes freed (or that would be). */
  bytesFreed: number;
  /** Log index entries, anchors and segments removed (or that would be): the log older than every kept backup. */
  logEntriesRemoved: number;
  /** Names skipped because a backup of them was running. */
  skipped: string[];
  dryRun: boolean;
}

const DEFAULT_LEVEL = -1;
const PACKS_IN_FLIGHT = 3; // restore: packs fetched and written at once

// The native rebuild of a chain's state: into `temp`, or ('') for the structure check only.
function restoreJob(temp: string, chain: Manifest[], background: boolean): NativeVaultRestore {
  return new binding.VaultRestore(temp, {
    chain: chain.map((m) => ({ manifest: m.bytes, label: m.key })),
    packs: chain.map((m) => m.meta.packs.map((p) => p.key)),
    background,
  });
}
const PUTS_IN_FLIGHT = 3; // backup: packs being stored while the scan goes on
const version: string = require('../../package.json').version;

function info(meta: ManifestMeta): VaultBackupInfo {
  return {
    id: meta.id,
    seq: meta.seq,
    name: meta.name,
    type: meta.type,
    base: meta.base === null ? null : String(meta.base),
    full: String(meta.full),
    createdAt: meta.createdAt,
    pageCount: meta.pageCount,
    pageSize: meta.pageSize,
    pagesStored: meta.pagesStored,
    bytesStored: meta.bytesStored,
    journalMode: meta.snapshot.journalMode,
  };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The manifest's create failed without an answer saying whether it was written (a remote store
 * that did the work but whose every answer was lost, a directory whose link(2) succeeded before
 * a failed fsync): the backup may be committed. The same error, saying so.
 */
function commitUnknown(err: unknown, name: string, seq: number): unknown {
  if (!(err instanceof LitevaultError)) return err;
  const { code, errno, retryable, httpStatus } = err;
  const message = `${err.message}; backup ${seq} of ${name} may have been committed (the store may have written its manifest before the failure): list the vault to see`;
  return Object.assign(new LitevaultError({ message, code, errno, retryable, httpStatus }), { cause: err });
}

function emptyPruneResult(dryRun: boolean): VaultPruneResult {
  return { kept: [], removed: [], packsRemoved: 0, bytesFreed: 0, logEntriesRemoved: 0, skipped: [], dryRun };
}

function positive(value: unknown, what: string): void {
  if (value !== undefined && !(typeof value === 'number' && value > 0 && Number.isFinite(value))) throw misuse(`${what} must be a positive number`);
}

/** A vault: open one with {@link Vault.open}. */
export class Vault {
  /** Where the vault is (its directory, or its s3://bucket/prefix URL). */
  readonly location: string;
  /** The vault's objects are encrypted (docs/vault-format.md, "Encryption"). */
  readonly encrypted: boolean;
  readonly #storage: Storage;
  readonly #catalog: Catalog;
  readonly #priority: Priority;

  private constructor(storage: Storage, priority: Priority) {
    this.#storage = storage;
    this.#priority = priority;
    this.location = storage.location;
    this.encrypted = storage instanceof EncryptedStorage;
    this.#catalog = new Catalog(storage);
  }

  /**
   * Opens the vault at `location`: a directory, or `s3://bucket/prefix` on S3-compatible object
   * storage (the same format; see {@link RemoteVaultOptions} for the endpoint, region and
   * credentials; the bucket must exist); with `key`, an encrypted one (see
   * {@link VaultOpenOptions.key}).
   * @throws LitevaultError LITEVAULT_NOT_A_VAULT (no vault there and no `create`, or a non-empty
   *   directory or prefix that is not a vault), LITEVAULT_UNSUPPORTED_FORMAT,
   *   LITEVAULT_KEY_REQUIRED, LITEVAULT_BAD_KEY, LITEVAULT_STORAGE, LITEVAULT_REMOTE_* (s3://).
   */
  static async open(location: string, options: VaultOpenOptions = {}): Promise<Vault> {
    if (typeof location !== 'string' || location.length === 0) throw misuse('Vault.open(location): location must be a non-empty string');
    const key = options.key === undefined ? undefined : parseKey(options.key, 'Vault.open(): key');
    const priority: Priority = isBackground(options.priority, 'Vault.open()') ? 'background' : 'normal';
    const storage = options.storage ?? remoteStorage(location, options) ?? new DirectoryStorage(location);
    const notVault = (why: string): LitevaultError => new LitevaultError({ message: `'${storage.location}' is not a litevault vault: ${why}`, code: 'LITEVAULT_NOT_A_VAULT' });
    let config: Buffer;
    try {
      config = await storage.get(CONFIG_KEY);
    } catch (err) {
      if (!(err instanceof LitevaultError && err.code === 'LITEVAULT_NOT_FOUND')) throw err;
      if (options.create !== true) throw notVault(`it has no ${CONFIG_KEY} (create one with Vault.open(location, { create: true }) or 'litevault vault backup')`);
      if ((await storage.list('')).length > 0) throw notVault(`it holds other files and no ${CONFIG_KEY}; not creating a vault over them`);
      const vaultId = randomBytes(16).toString('hex');
      const encryption = key === undefined ? {} : { encryption: newEncryption(key, vaultId) };
      const created = { format: 'litevault-vault', version: key === undefined ? FORMAT_VERSION : ENCRYPTED_FORMAT_VERSION, vaultId, createdAt: new Date().toISOString(), ...encryption };
      await storage.create(CONFIG_KEY, Buffer.from(JSON.stringify(created, null, 2) + '\n'));
      config = await storage.get(CONFIG_KEY);
    }
    let parsed: { format?: unknown; version?: unknown; vaultId?: unknown; encryption?: unknown };
    try {
      parsed = JSON.parse(config.toString('utf8')) as typeof parsed;
    } catch {
      throw notVault(`${CONFIG_KEY} is not JSON`);
    }
    if (parsed?.format !== 'litevault-vault') throw notVault(`${CONFIG_KEY} does not describe a litevault vault`);
    if (parsed.version !== FORMAT_VERSION && parsed.version !== ENCRYPTED_FORMAT_VERSION) {
      throw new LitevaultError({
        message: `vault '${storage.location}': ${CONFIG_KEY} has format version ${JSON.stringify(parsed.version)}; this litevault (${version}) reads versions ${FORMAT_VERSION} and ${ENCRYPTED_FORMAT_VERSION} only`,
        code: 'LITEVAULT_UNSUPPORTED_FORMAT',
      });
    }
    return new Vault(unlockStorage(storage, parsed, key), priority);
  }

  /**
   * Backs up one database (a path, or an open Database) into the vault. The backup is committed
   * when its manifest is written, last; until then nothing of it is visible, and a failure,
   * cancellation or kill leaves the vault as it was. The one exception is a failure of that
   * write itself: the store may have written the manifest though no answer said so (a remote
   * store's lost answers), and then the backup is committed; the error says that it may have
   * been ({@link Vault.list} shows whether it was).
   * @throws LitevaultError LITEVAULT_NO_FULL_BACKUP, LITEVAULT_BASE_MISMATCH,
   *   LITEVAULT_BACKUP_IN_PROGRESS (retryable), LITEVAULT_VAULT_CORRUPT (a damaged base),
   *   LITEVAULT_STORAGE, SQLite codes for the database, SQLITE_ABORT when cancelled.
   */
  async backup(source: string | Database, options: VaultBackupOptions = {}): Promise<VaultBackupResult> {
    const started = Date.now();
    const what = 'vault.backup()';
    const type = options.type ?? 'auto';
    if (!['auto', 'full', 'incremental', 'differential'].includes(type)) throw misuse(`${what}: type must be 'auto', 'full', 'incremental' or 'differential'`);
    if (typeof source !== 'string' && !(source instanceof Database)) throw misuse(`${what}: the source must be a path or a Database`);
    const sourcePath = typeof source === 'string' ? source : source.path;
    const name = checkName(options.name ?? nodePath.basename(sourcePath), what);
    const compression = options.compression ?? 'zstd';
    if (compression !== 'zstd' && compression !== 'none') throw misuse(`${what}: compression must be 'zstd' or 'none'`);
    const level = options.level ?? DEFAULT_LEVEL;
    if (!Number.isInteger(level) || level < -7 || level > 19) throw misuse(`${what}: level must be an integer -7..19`);
    const busyTimeout = options.busyTimeout ?? 5000;
    if (!Number.isInteger(busyTimeout) || busyTimeout < 0) throw misuse(`${what}: busyTimeout must be a non-negative integer (ms)`);
    const maxRestarts = options.maxRestarts ?? DEFAULT_MAX_RESTARTS;
    if (!(Number.isInteger(maxRestarts) || maxRestarts === Infinity) || maxRestarts < 0) throw misuse(`${what}: maxRestarts must be a non-negative integer or Infinity`);
    positive(options.maxBytesPerSecond, `${what}: maxBytesPerSecond`);
    const { signal } = options;
    if (signal?.aborted) throw cancelled('vault backup', signal);
    const fallback = options.fallbackToFull === true || type === 'auto';
    const notes: string[] = [];

    const db = typeof source === 'string' ? await openSource(source, busyTimeout) : source;
    try {
      const lock = await this.#storage.lock(name);
      let meta: ManifestMeta;
      try {
        meta = (await this.#backupLocked(db, name, lock, { type, fallback, compression, level, maxRestarts, busyTimeout, options }, notes)).meta;
      } finally {
        await lock.release();
      }
      if (options.truncateWal === true) await this.#truncateWal(db, name, busyTimeout, meta, notes, options);
      return {
        id: meta.id,
        seq: meta.seq,
        name,
        type: meta.type,
        base: meta.base === null ? null : String(meta.base),
        pageCount: meta.pageCount,
        pageSize: meta.pageSize,
        pagesScanned: meta.pagesScanned,
        pagesStored: meta.pagesStored,
        bytesStored: meta.bytesStored,
        snapshot: { ...meta.snapshot, createdAt: meta.createdAt },
        restarts: meta.restarts,
        heldLock: meta.heldLock,
        ms: Date.now() - started,
        notes,
      };
    } finally {
      if (db !== source) await db.close().catch(() => undefined);
    }
  }

  // One backup of `db` as `name`, whose lock the caller holds (vault.backup, a replicator): the
  // sweep, the plan, the scan, the manifest's commit and the collection of unused packs.
  async #backupLocked(
    db: Database,
    name: string,
    lock: StorageLock,
    b: { type: VaultBackupType; fallback: boolean; compression: 'zstd' | 'none'; level: number; maxRestarts: number; busyTimeout: number; options: VaultBackupOptions },
    notes: string[],
  ): Promise<Manifest> {
    const what = 'vault.backup()';
    const { type, fallback, compression, level, maxRestarts, busyTimeout, options } = b;
    const sourcePath = db.path;
    await this.#storage.sweep(`packs/${name}/`);
    await this.#storage.sweep(`backups/${name}/`);
    // A foreign file under packs/<name>/ fails the backup before it does anything.
    await this.#catalog.packs(name);
    const all = await this.#catalog.manifests(name);
    const fileId = nativeOf(db, what).fileId ?? '';
    let plan = this.#plan(name, all, type, fallback, fileId.slice(fileId.indexOf(':') + 1), notes);
    const scan = { name, compression, level, maxRestarts, busyTimeout, options };
    let result = await this.#scan(db, plan.chain, scan);
    if (plan.base && result.pageSize !== plan.base.meta.pageSize) {
      const why = `the page size changed from ${plan.base.meta.pageSize} (backup ${plan.base.meta.id}) to ${result.pageSize}`;
      if (!fallback) throw new LitevaultError({ message: `${what}: cannot take a${plan.type === 'incremental' ? 'n' : ''} ${plan.type} backup of '${sourcePath}' as ${name}: ${why}`, code: 'LITEVAULT_BASE_MISMATCH' });
      notes.push(`took a full backup: ${why}`);
      plan = { type: 'full', base: null, chain: [] };
      result = await this.#scan(db, [], scan);
    }
    // The snapshot's own time (not when the scan was asked for: its first step may start later, a
    // restart later still): a restore to a point before it must not get a commit made after it.
    const takenAt = new Date(result.snapshotAt);
    options.onProgress?.({ phase: 'commit', name, pagesScanned: result.pagesScanned, pageCount: result.pageCount, pagesStored: result.pagesStored, bytesStored: result.bytesStored, restarts: result.restarts, heldLock: result.heldLock });
    const seq = (all.at(-1)?.meta.seq ?? 0) + 1;
    const manifest = this.#manifest(name, seq, takenAt, plan, result, compression, level);
    await lock.check();
    if (!(await this.#storage.create(manifest.key, manifest.bytes).catch((err: unknown) => Promise.reject(commitUnknown(err, name, seq))))) {
      throw new LitevaultError({ message: `${what}: another backup of ${name} committed backup ${seq} meanwhile`, code: 'LITEVAULT_BACKUP_IN_PROGRESS', retryable: true });
    }
    // Committed. What follows can only leave garbage behind, never lose the backup.
    try {
      await this.#collect(name, [...all, manifest], lock);
    } catch (err) {
      notes.push(`unused packs were left for the next backup or prune to remove: ${(err as Error).message}`);
    }
    return manifest;
  }

  // Fetches each listed pack of `chain` and hands it to `job` (which checks its key and every
  // page's hash), `inFlight` at a time; the first failure stops the others after their pack.
  async #supplyPacks(job: NativeVaultRestore, packs: { link: number; pack: number; key: string }[], backup: BackupPlan, run: SupplyRun): Promise<void> {
    const { name, chain, target } = backup;
    const { inFlight, signal, what, onPack } = run;
    const queue = [...packs];
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        if (signal?.aborted) throw cancelled(what, signal);
        const owner = chain[next.link]!;
        let bytes: Buffer;
        try {
          bytes = await this.#storage.get(packKey(name, next.key));
        } catch (err) {
          if (err instanceof LitevaultError && err.code === 'LITEVAULT_NOT_FOUND') {
            if (!(await this.#catalog.manifests(name)).some((m) => m.key === target.key)) {
              throw new LitevaultError({ message: `vault '${this.location}': backup ${name} ${target.meta.id} was pruned while it was being read`, code: 'LITEVAULT_NOT_FOUND' });
            }
            throw vaultCorrupt(`vault '${this.location}': backup ${name} ${owner.meta.id} (${owner.key}): its pack ${packKey(name, next.key)} is missing`);
          }
          throw err;
        }
        onPack((await job.writePack(next.link, next.pack, bytes)).pagesWritten);
      }
    };
    let failure: unknown;
    await Promise.all(Array.from({ length: inFlight }, () => worker().catch((err) => {
      failure ??= err;
      queue.length = 0; // the other workers stop after their current pack
    })));
    if (failure !== undefined) throw failure;
    if (signal?.aborted) throw cancelled(what, signal);
  }

  /**
   * Verifies the vault without writing anything: every manifest's checksum; every chain
   * complete (each incremental's and differential's base present, a full backup first); every
   * pack a backup needs read, its checksum (its key) recomputed and every page checked against
   * the hash its manifest records; and each backup rebuilt in memory page by page and checked
   * as verify() checks a database. All backups of all names by default, or those of `name`,
   * or only backup `at` of `name`. A damaged backup is reported (`ok: false` with its findings or
   * its vault error), not thrown; the others are still checked.
   * @throws LitevaultError LITEVAULT_NOT_FOUND (no such name or backup), LITEVAULT_STORAGE,
   *   SQLITE_ABORT when cancelled.
   */
  async verify(options: VaultVerifyOptions = {}): Promise<VaultVerifyResult> {
    const started = Date.now();
    const what = 'vault.verify()';
    if (options.at !== undefined && (typeof options.at !== 'string' || options.name === undefined)) {
      throw misuse(`${what}: at must be a backup id (a string), and needs name`);
    }
    const [maxFindings, cksumvfs] = nativeCheckOptions(options, what);
    const { signal } = options;
    if (signal?.aborted) throw cancelled('vault verify', signal);
    const names = options.name === undefined ? await this.#catalog.names() : [checkName(options.name, what)];
    const result: VaultVerifyResult = { ok: true, backups: [], problems: [], packsChecked: 0, pagesChecked: 0, segmentsChecked: 0, ms: 0 };
    const fail = (err: unknown): { code: string; message: string } => {
      if (err instanceof LitevaultError && (err.code === 'LITEVAULT_VAULT_CORRUPT' || err.code === 'LITEVAULT_UNSUPPORTED_FORMAT')) {
        result.ok = false;
        return { code: err.code, message: err.message };
      }
      throw err;
    };
    const targets: Array<{ name: string; all: Manifest[]; target: Manifest }> = [];
    for (const name of names) {
      let all: Manifest[];
      try {
        all = await this.#catalog.manifests(name);
      } catch (err) {
        result.problems.push({ name, ...fail(err) });
        continue;
      }
      const chosen = options.at === undefined ? all : all.filter((m) => m.meta.id === options.at);
      if (chosen.length === 0 && options.name !== undefined) {
        throw new LitevaultError({ message: `vault '${this.location}' has no backup ${options.at === undefined ? `named ${name}` : `${options.at} of ${name}`}`, code: 'LITEVAULT_NOT_FOUND' });
      }
      for (const target of chosen) targets.push({ name, all, target });
    }
    for (const [index, { name, all, target }] of targets.entries()) {
      const entry: VaultVerifyBackup = { name, id: target.meta.id, type: target.meta.type, ok: false, pageSize: 0, pageCount: 0, findings: [], findingCount: 0, error: null };
      result.backups.push(entry);
      try {
        const chain = this.#catalog.chain(all, target);
        const job = restoreJob('', chain, this.#priority === 'background');
        job.openCheck(maxFindings, cksumvfs);
        entry.pageSize = job.pageSize;
        entry.pageCount = job.pageCount;
        const needed = job.packsNeeded;
        let pages = 0;
        // One pack at a time: the check takes pages in order, page 1 first.
        await this.#supplyPacks(job, needed, { name, chain, target }, { inFlight: 1, signal, what: 'vault verify', onPack: (n) => {
          pages += n;
          options.onProgress?.({ name, id: target.meta.id, backup: index + 1, backups: targets.length, pagesChecked: pages, pageCount: job.pageCount });
        } });
        result.packsChecked += needed.length;
        result.pagesChecked += pages;
        await this.#supplyPacks(job, job.packsForCheck(), { name, chain, target }, { inFlight: 1, signal, what: 'vault verify', onPack: () => undefined });
        const report = await job.finishCheck();
        entry.ok = report.ok;
        entry.findings = report.findings;
        entry.findingCount = report.findingCount;
        if (!report.ok) result.ok = false;
      } catch (err) {
        entry.error = fail(err);
      }
    }
    // The logs of replicated names (whole, when no backup `at` was chosen): every index entry and
    // anchor checked (readLog), every committed segment against its key, record by record.
    if (options.at === undefined) {
      for (const name of names) {
        try {
          for (const e of (await readLog(this.#storage, name)).entries) {
            if (signal?.aborted) throw cancelled('vault verify', signal);
            await binding.inspectLogSegment(await this.#segment(name, e), e.segment);
            result.segmentsChecked++;
          }
        } catch (err) {
          result.problems.push({ name, ...fail(err) });
        }
      }
    }
    result.ms = Date.now() - started;
    return result;
  }

  /** Every committed backup (of `name`, or of every name), by name then oldest first. */
  async list(name?: string): Promise<VaultBackupInfo[]> {
    const names = name === undefined ? await this.#catalog.names() : [checkName(name, 'vault.list()')];
    const out: VaultBackupInfo[] = [];
    for (const n of names) for (const m of await this.#catalog.manifests(n)) out.push(info(m.meta));
    return out;
  }

  /**
   * Restores backup `at` (default: the newest) of `name` to `destination`. Every pack is checked
   * against its key and every page against its recorded hash before the destination changes: a
   * damaged vault is LITEVAULT_VAULT_CORRUPT (naming the backup, the object and the page) and
   * leaves the destination untouched. A new destination appears complete or not at all; an
   * existing one (with `overwrite`) is written as a backup into it, under its locks.
   * @throws LitevaultError LITEVAULT_NOT_FOUND, LITEVAULT_EXISTS, LITEVAULT_VAULT_CORRUPT,
   *   LITEVAULT_STORAGE, SQLite codes for the destination, SQLITE_ABORT when cancelled.
   */
  async restore(name: string, destination: string, options: VaultRestoreOptions = {}): Promise<VaultRestoreResult> {
    const started = Date.now();
    const what = 'vault.restore()';
    if (typeof destination !== 'string' || destination.length === 0) throw misuse(`${what}: destination must be a non-empty path`);
    const point = await this.#findPoint(name, options, what);
    const plan = point?.backup ?? (await this.#find(name, options, what));
    const existed = restoreDestinationExists(destination, options.overwrite, what);
    const temp = privateTempPath(destination);
    const job = restoreJob(temp, plan.chain, this.#priority === 'background');
    let published = false;
    try {
      await this.#rebuild(job, plan, options, point ? () => this.#applyLog(job, name, point.log, options.signal) : undefined);
      published = await placeRestored(temp, destination, existed, { busyTimeout: options.busyTimeout, signal: options.signal, priority: this.#priority }, what);
    } finally {
      if (!published) await job.abort().catch(() => undefined);
      removeCompanions(temp);
    }
    const at = point ? { txid: point.log.txid, recordedAt: point.log.recordedAt } : {};
    return { id: plan.target.meta.id, ...at, name, destination, pageCount: job.pageCount, pageSize: job.pageSize, ms: Date.now() - started };
  }

  /**
   * Backup `at` (default: the newest) of `name` as a stream of its database image: the bytes
   * {@link Vault.restore} would write to a new file. The backup is first rebuilt, every pack and
   * page checked as a restore checks them, in a private temporary file in `tempDir` (default
   * the system's temporary directory), which is removed when the stream ends, errors or is
   * destroyed; a damaged vault is the stream's 'error' (LITEVAULT_VAULT_CORRUPT) before any byte.
   * For `litevault vault restore <vault> <name> -`.
   */
  exportStream(name: string, options: VaultExportOptions = {}): Readable {
    const what = 'vault.exportStream()';
    checkName(name, what);
    if (options.tempDir !== undefined && (typeof options.tempDir !== 'string' || options.tempDir.length === 0)) throw misuse(`${what}: tempDir must be a directory path`);
    const chunkBytes = options.chunkBytes ?? 1 << 20;
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > 1 << 30) throw misuse(`${what}: chunkBytes must be an integer 1..1073741824`);
    const self = this;
    // Destroying the stream (or options.signal) aborts a rebuild still under way, not only the
    // reads after it.
    const stop = new AbortController();
    const rebuildOptions = { ...options, signal: stop.signal };
    async function* image(): AsyncGenerator<Buffer> {
      const plan = await self.#find(name, rebuildOptions, what);
      const temp = privateTempPath(nodePath.join(options.tempDir ?? os.tmpdir(), `litevault-export-${name}.db`));
      const job = restoreJob(temp, plan.chain, self.#priority === 'background');
      try {
        await self.#rebuild(job, plan, rebuildOptions);
        const file = await fs.promises.open(temp, 'r');
        try {
          for (let at = 0; ; ) {
            const { bytesRead, buffer } = await file.read(Buffer.allocUnsafe(chunkBytes), 0, chunkBytes, at);
            if (bytesRead === 0) break;
            at += bytesRead;
            yield bytesRead === chunkBytes ? buffer : buffer.subarray(0, bytesRead);
          }
        } finally {
          await file.close();
        }
      } finally {
        await job.abort().catch(() => undefined);
        removeCompanions(temp);
      }
    }
    // Not Readable.from(): its destroy waits for the generator's next step, which during the
    // rebuild is the whole rebuild; this one aborts the rebuild first.
    const iterator = image();
    const { signal } = options;
    const stream = new Readable({
      highWaterMark: chunkBytes,
      read() {
        iterator.next().then(
          (r) => void this.push(r.done ? null : r.value),
          (err: Error) => this.destroy(err),
        );
      },
      destroy(err, callback) {
        signal?.removeEventListener('abort', onAbort);
        stop.abort();
        iterator.return(undefined).then(
          () => callback(err),
          (returnErr: Error) => callback(err ?? returnErr),
        );
      },
    });
    const onAbort = (): void => void stream.destroy(cancelled('vault export', signal));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    return stream;
  }

  // The backup a restore or an export asked for, and its chain (full first).
  async #find(name: string, options: { at?: string; signal?: AbortSignal }, what: string): Promise<BackupPlan> {
    checkName(name, what);
    if (options.at !== undefined && typeof options.at !== 'string') throw misuse(`${what}: at must be a backup id (a string)`);
    if (options.signal?.aborted) throw cancelled('vault restore', options.signal);
    await this.#catalog.names(); // the whole layout: a foreign file anywhere fails the restore, rather than guess
    const all = await this.#catalog.manifests(name);
    const target = options.at === undefined ? all.at(-1) : all.find((m) => m.meta.id === options.at);
    if (!target) {
      const message = all.length === 0 ? `vault '${this.location}' has no backup named ${name}` : `vault '${this.location}' has no backup ${options.at} of ${name} (it has ${all.map((m) => m.meta.id).join(', ')})`;
      throw new LitevaultError({ message, code: 'LITEVAULT_NOT_FOUND' });
    }
    return { name, target, chain: this.#catalog.chain(all, target) };
  }

  // Rebuilds `target` into the job's private file: every pack and page checked, the file
  // complete and synced.
  async #rebuild(job: NativeVaultRestore, plan: BackupPlan, options: { signal?: AbortSignal; onProgress?: VaultRestoreOptions['onProgress'] }, beforeFinish?: () => Promise<void>): Promise<void> {
    const { signal } = options;
    await job.open();
    let pagesWritten = 0;
    await this.#supplyPacks(job, job.packsNeeded, plan, { inFlight: PACKS_IN_FLIGHT, signal, what: 'vault restore', onPack: (pages) => {
      pagesWritten += pages;
      options.onProgress?.({ pagesWritten, pageCount: job.pageCount });
    } });
    if (signal?.aborted) throw cancelled('vault restore', signal);
    await beforeFinish?.();
    await job.finish();
  }

  // A restore to a point: the plan (anchor, segments, target) and the anchor's backup; null
  // when the options name no point.
  async #findPoint(name: string, options: VaultRestoreOptions, what: string): Promise<{ backup: BackupPlan; log: PointPlan } | null> {
    const { txid, time } = options;
    if (txid === undefined && time === undefined) return null;
    if ([options.at, txid, time].filter((v) => v !== undefined).length > 1) throw misuse(`${what}: give at most one of at, txid and time`);
    if (txid !== undefined && !(Number.isSafeInteger(txid) && txid >= 1)) throw misuse(`${what}: txid must be a positive integer`);
    const ms = time === undefined ? NaN : time instanceof Date ? time.getTime() : typeof time === 'string' ? Date.parse(time) : NaN;
    if (time !== undefined && Number.isNaN(ms)) throw misuse(`${what}: time must be a Date or an ISO 8601 time, not ${JSON.stringify(time)}`);
    checkName(name, what);
    await this.#catalog.names(); // the whole layout: a foreign file anywhere fails the restore, rather than guess
    const all = await this.#catalog.manifests(name);
    const log = await readLog(this.#storage, name);
    const bySeq = new Map(all.map((m) => [m.meta.seq, m]));
    const target = txid !== undefined ? { txid } : { time: ms };
    const point = await planPoint(log, new Set(bySeq.keys()), target, (e) => this.#recordTimes(name, e), `${what}: ${name} in '${this.location}'`);
    const backup = bySeq.get(point.anchor.seq)!;
    return { backup: { name, target: backup, chain: this.#catalog.chain(all, backup) }, log: point };
  }

  // A committed segment's object; one its index entry names but the storage lacks is damage.
  async #segment(name: string, e: LogIndexEntry): Promise<Buffer> {
    try {
      return await this.#storage.get(segmentKey(name, e.segment));
    } catch (err) {
      if (err instanceof LitevaultError && err.code === 'LITEVAULT_NOT_FOUND') throw vaultCorrupt(`vault '${this.location}': segment ${segmentKey(name, e.segment)}, which ${e.key} commits, is missing`);
      throw err;
    }
  }

  async #recordTimes(name: string, e: LogIndexEntry): Promise<{ txid: number; recordedAt: number }[]> {
    const info = await binding.inspectLogSegment(await this.#segment(name, e), e.segment);
    return info.records;
  }

  // The log after the anchor, onto the rebuilt backup: each segment checked natively (its key,
  // every record), its transactions up to the target written.
  async #applyLog(job: NativeVaultRestore, name: string, point: PointPlan, signal: AbortSignal | undefined): Promise<void> {
    for (const e of point.segments) {
      if (signal?.aborted) throw cancelled('vault restore', signal);
      await job.applySegment(await this.#segment(name, e), e.segment, point.anchor.txid, point.txid);
    }
  }

  /**
   * The transaction logs of replicated names (of `name`, or of every name): per name, the range
   * a restore to a point can reach (null before the first anchored backup) and the log's size.
   */
  async logs(name?: string): Promise<VaultLogInfo[]> {
    const names = name === undefined ? await this.#catalog.names() : [checkName(name, 'vault.logs()')];
    const out: VaultLogInfo[] = [];
    for (const n of names) {
      const log = await readLog(this.#storage, n);
      if (log.entries.length === 0 && log.anchors.length === 0) continue;
      const committed = new Set((await this.#catalog.manifests(n)).map((m) => m.meta.seq));
      out.push({
        name: n,
        range: logRange(log, committed),
        segments: log.entries.length,
        bytes: log.entries.reduce((a, e) => a + e.bytes, 0),
        anchors: log.anchors.filter((a) => committed.has(a.seq)).map((a) => ({ seq: a.seq, txid: a.txid, at: a.at, heal: a.heal })),
      });
    }
    return out;
  }

  /**
   * Follows `source` (a WAL database) and ships every committed transaction into this vault as
   * `name`, with policy backups, until close() (docs/replication.md). Holds the name's lock the
   * whole time (a backup or prune of the name meanwhile is LITEVAULT_BACKUP_IN_PROGRESS); prunes
   * the name itself after each policy backup when `retention` is given.
   * @throws LitevaultError LITEVAULT_BACKUP_IN_PROGRESS, LITEVAULT_VAULT_CORRUPT (a damaged log),
   *   SQLite codes for the database; once running, failures it cannot retry (LITEVAULT_NOT_WAL,
   *   ...) stop it: see {@link Replicator.stopped}.
   */
  async replicate(source: string | Database, options: ReplicateOptions = {}): Promise<Replicator> {
    const what = 'vault.replicate()';
    if (typeof source !== 'string' && !(source instanceof Database)) throw misuse(`${what}: the source must be a path or a Database`);
    const name = checkName(options.name ?? nodePath.basename(typeof source === 'string' ? source : source.path), what);
    const o = resolveReplicateOptions(options, parseDuration, what);
    const rules = options.retention === undefined ? undefined : checkRules(options.retention, `${what}: retention`);
    const db = typeof source === 'string' ? await openSource(source, 5000) : source;
    const host: ReplicatorHost = {
      storage: this.#storage,
      manifests: (n) => this.#catalog.manifests(n),
      backup: (d, n, lock, type) =>
        this.#backupLocked(d, n, lock, { type, fallback: true, compression: o.compression, level: o.level, maxRestarts: DEFAULT_MAX_RESTARTS, busyTimeout: 5000, options: {} }, []),
      collectSegments: (n, lock) => this.#collectSegments(n, lock),
      prune: rules === undefined ? undefined : (n, lock) => this.#pruneLocked(n, lock, rules, false, emptyPruneResult(false)).then(() => undefined),
    };
    try {
      return await startReplicator(host, db, name, o, db !== source);
    } catch (err) {
      if (db !== source) await db.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Removes the backups no rule keeps, never one a kept backup depends on, then the packs no
   * remaining backup uses. Manifests go first, newest first, so a prune killed at any point
   * leaves every listed backup restorable. Names with a backup running are skipped.
   * @throws LitevaultError SQLITE_MISUSE (no rule), LITEVAULT_VAULT_CORRUPT, LITEVAULT_STORAGE.
   */
  async prune(options: VaultPruneOptions): Promise<VaultPruneResult> {
    const what = 'vault.prune()';
    if (typeof options !== 'object' || options === null) throw misuse(`${what}: give the retention rules`);
    const rules = checkRules(options, what);
    const dryRun = options.dryRun === true;
    const names = options.name === undefined ? await this.#catalog.names() : [checkName(options.name, what)];
    const result = emptyPruneResult(dryRun);
    for (const name of names) {
      let lock;
      try {
        lock = await this.#storage.lock(name);
      } catch (err) {
        if (err instanceof LitevaultError && err.code === 'LITEVAULT_BACKUP_IN_PROGRESS') {
          result.skipped.push(name);
          continue;
        }
        throw err;
      }
      try {
        await this.#pruneLocked(name, lock, rules, dryRun, result);
      } finally {
        await lock.release();
      }
    }
    result.removed.sort((a, b) => (a.name === b.name ? a.seq - b.seq : a.name < b.name ? -1 : 1));
    return result;
  }

  // Prune of one name whose lock the caller holds (vault.prune, a replicator with retention):
  // manifests, then the log the kept backups no longer need, then unused packs and segments.
  async #pruneLocked(name: string, lock: StorageLock, rules: ReturnType<typeof checkRules>, dryRun: boolean, result: VaultPruneResult): Promise<void> {
    // A foreign file under packs/<name>/ fails the prune before anything is removed.
    await this.#catalog.packs(name);
    const all = await this.#catalog.manifests(name);
    const keep = keptSeqs(all.map((m) => m.meta), rules);
    const kept = all.filter((m) => keep.has(m.meta.seq));
    const removed = all.filter((m) => !keep.has(m.meta.seq)).reverse();
    result.kept.push(...kept.map((m) => info(m.meta)));
    result.removed.push(...removed.map((m) => info(m.meta)));
    const logGarbage = await this.#logGarbage(name, keep);
    result.logEntriesRemoved += logGarbage.length;
    if (dryRun) {
      const used = new Set(kept.flatMap((m) => m.meta.packs.map((p) => p.key)));
      const freed = new Map<string, number>();
      for (const m of removed) for (const p of m.meta.packs) if (!used.has(p.key)) freed.set(p.key, p.bytes);
      result.packsRemoved += freed.size;
      result.bytesFreed += [...freed.values()].reduce((a, b) => a + b, 0) + removed.reduce((a, m) => a + m.bytes.length, 0);
      return;
    }
    for (const m of removed) {
      await lock.check();
      await this.#storage.delete(m.key);
      this.#catalog.forget(m.key);
      result.bytesFreed += m.bytes.length;
    }
    for (const key of logGarbage) {
      await lock.check();
      await this.#storage.delete(key);
    }
    await this.#collectSegments(name, lock);
    const collected = await this.#collect(name, kept, lock);
    result.packsRemoved += collected.packs;
    result.bytesFreed += collected.bytes;
    await this.#storage.sweep(`packs/${name}/`);
    await this.#storage.sweep(`backups/${name}/`);
  }

  // What of the log of `name` no kept backup needs (docs/vault-format.md, "Logs", Prune), in the
  // order to delete it: anchors of removed backups (a heal anchor only below the oldest kept
  // anchor: above it, it holds the log's run of ids together), then index entries that end at or
  // before the oldest kept anchor, oldest first.
  async #logGarbage(name: string, keep: Set<number>): Promise<string[]> {
    const log = await readLog(this.#storage, name);
    const oldest = log.anchors.find((a) => keep.has(a.seq));
    const anchors = log.anchors.filter((a) => !keep.has(a.seq) && (!a.heal || oldest === undefined || a.txid < oldest.txid));
    const entries = log.entries.filter((e) => oldest === undefined || e.lastTxid <= oldest.txid);
    return [...anchors.map((a) => a.key), ...entries.map((e) => e.key)];
  }

  // Deletes the segments of `name` that no index entry names (a killed replicator's, or pruned
  // ones). The caller holds the name's lock.
  async #collectSegments(name: string, lock: StorageLock): Promise<void> {
    const named = new Set((await readLog(this.#storage, name)).entries.map((e) => segmentKey(name, e.segment)));
    for (const { key } of await this.#storage.list(`logs/${name}/segments/`)) {
      if (named.has(key)) continue;
      await lock.check();
      await this.#storage.delete(key);
    }
    await this.#storage.sweep(`logs/${name}/`);
  }

  // Which backup to take, and its base chain (full first).
  #plan(name: string, all: Manifest[], type: VaultBackupType, fallback: boolean, inode: string, notes: string[]): { type: BackupType; base: Manifest | null; chain: Manifest[] } {
    const full = { type: 'full' as const, base: null, chain: [] };
    if (type === 'full') return full;
    const wanted = type === 'auto' ? 'incremental' : type;
    const lastFull = [...all].reverse().find((m) => m.meta.type === 'full');
    if (!lastFull) {
      if (!fallback) {
        throw new LitevaultError({ message: `vault.backup(): no full backup of ${name} in '${this.location}' to base a${wanted === 'incremental' ? 'n' : ''} ${wanted} backup on; take a full one first`, code: 'LITEVAULT_NO_FULL_BACKUP' });
      }
      if (type !== 'auto') notes.push(`took a full backup: there was no full backup to base a${wanted === 'incremental' ? 'n' : ''} ${wanted} on`);
      return full;
    }
    const base = wanted === 'incremental' ? all.at(-1)! : lastFull;
    const chain = this.#catalog.chain(all, base);
    const recorded = chain[0]!.meta.source;
    if (recorded.inode !== inode) {
      const why = `the source is another database file than the one backup ${chain[0]!.meta.id} of ${recorded.path} was taken from (inode ${inode}, not ${recorded.inode})`;
      if (!fallback) throw new LitevaultError({ message: `vault.backup(): cannot take a${wanted === 'incremental' ? 'n' : ''} ${wanted} backup: ${why}`, code: 'LITEVAULT_BASE_MISMATCH' });
      notes.push(`took a full backup: ${why}`);
      return full;
    }
    return { type: wanted, base, chain };
  }

  // One pass of the native scan: steps until done, storing each finished pack (a few puts in
  // flight while the next steps read), with BUSY retries, the rate limit and cancellation.
  async #scan(
    db: Database,
    chain: Manifest[],
    o: { name: string; compression: 'zstd' | 'none'; level: number; maxRestarts: number; busyTimeout: number; options: VaultBackupOptions },
  ): Promise<NativeScanResult> {
    const { signal, maxBytesPerSecond, onProgress } = o.options;
    const scan = new binding.VaultScan(nativeOf(db, 'vault.backup()'), {
      base: chain.map((m) => ({ manifest: m.bytes, label: m.key })),
      compression: o.compression,
      level: o.level,
      threads: 2,
      maxRestarts: o.maxRestarts === Infinity ? -1 : o.maxRestarts,
      busyTimeoutMs: o.busyTimeout,
      verify: o.options.verify !== false,
      background: this.#priority === 'background',
    });
    // Puts in flight while the next steps read: each put ends with two fsyncs, so a few overlap.
    const inFlight = new Set<Promise<void>>();
    // Pack buffers: a step writes the pack it hands out into one, a put holds it until it
    // settles, then it is reused; so at most PUTS_IN_FLIGHT + 1 exist (made as needed), and a
    // backup's memory never waits for a GC.
    const buffers: Buffer[] = [];
    let failure: unknown;
    const started = Date.now();
    let waitStarted: number | undefined;
    let delay = 10;
    try {
      for (;;) {
        if (signal?.aborted) throw cancelled('vault backup', signal);
        if (failure !== undefined) throw failure;
        const stepStarted = Date.now();
        let step;
        const buffer = buffers.pop() ?? Buffer.allocUnsafeSlow(scan.maxPackBytes);
        try {
          step = await scan.step(buffer);
        } catch (err) {
          buffers.push(buffer);
          if (!(err instanceof LitevaultError) || !err.retryable) throw err;
          waitStarted ??= stepStarted;
          const left = waitStarted + o.busyTimeout - Date.now();
          if (left <= 0) throw err;
          await sleep(Math.min(delay, left), signal);
          delay = Math.min(delay * 2, 250);
          continue;
        }
        waitStarted = undefined;
        delay = 10;
        if (step.packBytes > 0) {
          const key = packKey(o.name, step.packKey!);
          if (inFlight.size >= PUTS_IN_FLIGHT) await Promise.race(inFlight);
          const put: Promise<void> = this.#storage.put(key, buffer.subarray(0, step.packBytes)).then(
            () => {
              inFlight.delete(put);
              buffers.push(buffer);
            },
            (err: unknown) => {
              failure ??= err;
              inFlight.delete(put);
              buffers.push(buffer);
            },
          );
          inFlight.add(put);
        } else {
          buffers.push(buffer);
        }
        onProgress?.({ phase: 'scan', name: o.name, pagesScanned: step.pagesScanned, pageCount: step.pageCount, pagesStored: step.pagesStored, bytesStored: step.bytesStored, restarts: step.restarts, heldLock: step.heldLock });
        if (step.done) break;
        if (maxBytesPerSecond !== undefined) {
          const due = started + (step.bytesRead / maxBytesPerSecond) * 1000;
          if (due > Date.now()) await sleep(due - Date.now(), signal);
        }
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
      return await scan.finish();
    } finally {
      await Promise.all(inFlight);
      await scan.close().catch(() => undefined);
    }
  }

  // The manifest object of a finished scan. bytesStored counts the manifest itself, so the
  // encoding is repeated until that number stops changing its own length.
  #manifest(name: string, seq: number, takenAt: Date, plan: { type: BackupType; base: Manifest | null; chain: Manifest[] }, r: NativeScanResult, compression: 'zstd' | 'none', level: number): Manifest {
    const packBytes = r.packs.reduce((a, p) => a + p.bytes, 0);
    const meta: ManifestMeta = {
      name,
      seq,
      id: String(seq),
      type: plan.type,
      base: plan.base?.meta.seq ?? null,
      full: plan.chain[0]?.meta.seq ?? seq,
      createdAt: takenAt.toISOString(),
      pageSize: r.pageSize,
      pageCount: r.pageCount,
      source: { path: r.path, device: r.device, inode: r.inode },
      snapshot: { journalMode: r.journalMode, changeCounter: r.changeCounter, walFrame: r.walFrame, ...(r.journalMode === 'wal' ? { walSalt1: r.walSalt1, walSalt2: r.walSalt2, ...(r.walChecksum ? { walChecksum: r.walChecksum } : {}) } : {}) },
      compression: { algorithm: compression, level },
      packs: r.packs,
      pagesScanned: r.pagesScanned,
      pagesStored: r.pagesStored,
      bytesStored: packBytes,
      restarts: r.restarts,
      heldLock: r.heldLock,
      litevault: version,
    };
    let bytes = binding.vaultEncodeManifest(JSON.stringify(meta), r.table);
    for (let i = 0; i < 3 && meta.bytesStored !== packBytes + bytes.length; i++) {
      meta.bytesStored = packBytes + bytes.length;
      bytes = binding.vaultEncodeManifest(JSON.stringify(meta), r.table);
    }
    return { key: manifestKey(name, seq), bytes, meta };
  }

  // Deletes the packs of `name` that none of `manifests` uses. The caller holds the name's lock,
  // so no backup of the name is writing packs meanwhile; it is checked before every deletion (a
  // lost lease must not delete the packs of the run that took it over).
  async #collect(name: string, manifests: Manifest[], lock: StorageLock): Promise<{ packs: number; bytes: number }> {
    const used = new Set(manifests.flatMap((m) => m.meta.packs.map((p) => packKey(name, p.key))));
    let packs = 0;
    let bytes = 0;
    // Only pack keys are candidates: a foreign file is LITEVAULT_VAULT_CORRUPT, never deleted.
    for (const { key, size } of await this.#catalog.packs(name)) {
      if (used.has(key)) continue;
      await lock.check();
      await this.#storage.delete(key);
      packs++;
      bytes += size;
    }
    return { packs, bytes };
  }

  // JetTruncateLog: a TRUNCATE checkpoint after a committed backup, PASSIVE if readers prevent it.
  async #truncateWal(db: Database, name: string, busyTimeout: number, meta: ManifestMeta, notes: string[], options: VaultBackupOptions): Promise<void> {
    if (meta.snapshot.journalMode !== 'wal') {
      notes.push('truncateWal: the database is not in WAL mode; nothing to truncate');
      return;
    }
    options.onProgress?.({ phase: 'truncate', name, pagesScanned: meta.pagesScanned, pageCount: meta.pageCount, pagesStored: meta.pagesStored, bytesStored: meta.bytesStored, restarts: meta.restarts, heldLock: meta.heldLock });
    try {
      const r = await checkpoint(db, { mode: 'truncate', busyTimeout, priority: this.#priority });
      if (r.busy) {
        const p = await checkpoint(db, { mode: 'passive', busyTimeout, priority: this.#priority });
        notes.push(
          p.log < 0
            ? 'truncateWal: other connections kept the WAL from being truncated, and another checkpoint was running, so no passive checkpoint ran either'
            : `truncateWal: other connections kept the WAL from being truncated; a passive checkpoint copied ${p.checkpointed} of ${p.log} frames`,
        );
      }
    } catch (err) {
      notes.push(`truncateWal: the checkpoint failed (the backup is committed): ${(err as Error).message}`);
    }
  }
}
