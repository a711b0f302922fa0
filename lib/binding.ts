/**
 * The native addon, loaded only through node-gyp-build (prebuilds/<platform>-<arch>/ first, then
 * build/Release/ for a from-source build), with LitevaultError handed to it so every native
 * rejection arrives typed. Internal: the public surface is in index.ts.
 *
 * TEST-ONLY switch: when the environment variable LITEVAULT_TEST_ADDON names a `.node` file (the
 * test build, build-test/Release/litevault.node, with fault injection and sync points), that file
 * is loaded instead. test/oracle/testing-addon.ts sets it; nothing else should.
 */
import * as path from 'node:path';
import nodeGypBuild = require('node-gyp-build');
import { LitevaultError, LitevaultErrorFields } from './errors';
import type { DatabaseInfo } from './inspect';

/** @internal native/src/addon/database_wrap.h */
export interface NativeDatabase {
  readonly path: string;
  readonly readOnly: boolean;
  /** "<device>:<inode>" of the open file. */
  readonly fileId: string | null;
  close(): Promise<void>;
}

/** @internal The progress a native backup step reports. */
export interface NativeBackupProgress {
  done: boolean;
  remaining: number;
  pageCount: number;
  restarts: number;
  pageSize: number;
  mode: 'snapshot' | 'restart'; // decided by the first step, so always set in a step's result
  snapshotFrame: number;
  kernelPages: number;
}

/** @internal native/src/addon/backup_wrap.h */
export interface NativeBackup {
  step(pages: number): Promise<NativeBackupProgress>;
  finish(): Promise<void>;
  /** Switches to snapshot mode: from the next step on the source's read lock is kept until done. */
  holdSource(): void;
  readonly remaining: number;
  readonly pageCount: number;
  readonly restarts: number;
  readonly finished: boolean;
}

/** @internal native/src/addon/checkpoint_wrap.h */
export interface NativeCheckpoint {
  step(frames: number): Promise<{ done: boolean; busy: 0 | 1; log: number; checkpointed: number }>;
  finish(): Promise<void>;
}

/** @internal One link of a vault chain: a whole manifest object as stored (C++ verifies and parses it). */
export interface NativeChainLink {
  manifest: Buffer;
  /** Names it in messages, e.g. "backups/app/0000000007.manifest". */
  label: string;
}

/** @internal Options of new VaultScan (native/src/vault/vault_scan.h). */
export interface NativeVaultScanOptions {
  /** The base state's chain, FULL FIRST, the base itself last; [] for a full backup. */
  base: NativeChainLink[];
  compression: 'none' | 'zstd';
  /** zstd level (TS default 1). */
  level: number;
  /** Compression threads (vault/pack_encoder.h); 0 = compress on the step's thread. */
  threads: number;
  /** Rollback-journal sources: restarts before holding SHARED to the end; -1 = never hold. */
  maxRestarts: number;
  busyTimeoutMs: number;
  /** Structure check of every page read (vault/vault_scan.h); default true. */
  verify?: boolean;
  /** Steps at background priority (os/thread_priority.h). */
  background?: boolean;
}

/** @internal What one VaultScan step reports. */
export interface NativeScanStep {
  /** The scan has seen every page of the snapshot and handed out every pack: call finish(). */
  done: boolean;
  /** A complete pack object to store now (at most one per step) is in the step's buffer at [0, packBytes); 0: none. */
  packBytes: number;
  /** Its key (32 hex = its checksum trailer). */
  packKey: string | null;
  pageSize: number;
  pageCount: number;
  /** Pages read and hashed so far in this pass. */
  pagesScanned: number;
  /** Pages put into packs so far (all passes). */
  pagesStored: number;
  /** Bytes of packs handed out so far. */
  bytesStored: number;
  /** Bytes of database read so far (all passes): for the rate limit. */
  bytesRead: number;
  restarts: number;
  heldLock: boolean;
  mode: 'snapshot' | 'restart';
}

/** @internal What VaultScan.finish() resolves to. */
export interface NativeScanResult {
  /** The manifest's runs + hashes section (runCount .. last hash), for vaultEncodeManifest. */
  table: Buffer;
  pageSize: number;
  pageCount: number;
  /** Every pack handed out, index = run.pack. */
  packs: { key: string; bytes: number; slots: number }[];
  pagesScanned: number;
  pagesStored: number;
  bytesStored: number;
  bytesRead: number;
  restarts: number;
  heldLock: boolean;
  journalMode: 'wal' | 'rollback';
  changeCounter: number;
  walFrame: number;
  /** The snapshot's WAL generation (0, 0 for a rollback snapshot). */
  walSalt1: number;
  walSalt2: number;
  /** The cumulative WAL checksum after frame walFrame (null when walFrame is 0 or for a rollback snapshot). */
  walChecksum: [number, number] | null;
  /** When the snapshot was taken (ms since the epoch): read just after its read transaction began, so every commit it holds began earlier. */
  snapshotAt: number;
  device: string;
  inode: string;
  path: string;
}

/** @internal native/src/addon/vault_wrap.h VaultScanWrap */
export interface NativeVaultScan {
  /** The size a step's buffer must have: the biggest pack object. */
  readonly maxPackBytes: number;
  /**
   * Reads up to 8 MiB of pages, hashes them, keeps the changed ones; a pack it hands out is
   * written into `buffer` (kept referenced until the step settles). BUSY/LOCKED are retryable.
   */
  step(buffer: Buffer): Promise<NativeScanStep>;
  /** Only after done; releases every lock. */
  finish(): Promise<NativeScanResult>;
  /** Cancels: ends the read transaction; idempotent; safe any time. */
  close(): Promise<void>;
}

/** @internal native/src/addon/vault_wrap.h VaultRestoreWrap */
export interface NativeVaultRestore {
  /** Every pack that supplies a page, in file order. */
  readonly packsNeeded: { link: number; pack: number; key: string }[];
  readonly pageCount: number;
  readonly pageSize: number;
  /** Creates tempPath as a private 0600 file (O_EXCL). */
  open(): Promise<void>;
  /** Verifies the pack and its pages, then writes the pages it supplies; two may run at once. */
  writePack(link: number, pack: number, bytes: Buffer): Promise<{ pagesWritten: number }>;
  /**
   * Restore to a transaction (vault/vault_restore.h): after every writePack, before finish().
   * Verifies the segment as inspectLogSegment does, then applies its records with
   * afterTxid < txid <= uptoTxid in order (pages written; pageCount = the last one's). Applied
   * txids must continue afterTxid + 1 / the previous call's last + 1, else LITEVAULT_VAULT_CORRUPT
   * "transaction N missing"; a page size other than the backup's is LITEVAULT_VAULT_CORRUPT.
   */
  applySegment(bytes: Buffer, key: string, afterTxid: number, uptoTxid: number): Promise<NativeAppliedSegment>;
  /** Every planned page written, size = pageCount x pageSize, fsync, close. */
  finish(): Promise<void>;
  /** Closes and unlinks tempPath; idempotent. */
  abort(): Promise<void>;
  /** Check mode (vault/vault_restore.h): no file; writePack feeds a structure check (page 1's pack first). */
  openCheck(maxFindings: number, cksumvfs: 'auto' | 'on' | 'off'): void;
  /** After every pack of packsNeeded was written: the packs to write again for the check's second phase. */
  packsForCheck(): { link: number; pack: number; key: string }[];
  finishCheck(): Promise<NativeReport>;
}

/** @internal The header of a new log segment (docs/vault-format.md "Logs"; native/src/vault/log_segment.h). */
export interface NativeSegmentHeader {
  pageSize: number;
  salt1: number;
  salt2: number;
  firstTxid: number;
  lastTxid: number;
  compression: 'zstd' | 'none';
  level: number;
}

/** @internal What binding.inspectLogSegment resolves to. */
export interface NativeSegmentInfo {
  pageSize: number;
  salt1: number;
  salt2: number;
  firstTxid: number;
  lastTxid: number;
  /** The payload's own compression: zstd unless the frame would not have been smaller. */
  compression: 'zstd' | 'none';
  /** One per transaction, txids firstTxid..lastTxid; `pages` is how many page images the record holds. */
  records: { txid: number; recordedAt: number; endFrame: number; pageCount: number; pages: number }[];
}

/** @internal What VaultRestore.applySegment resolves to (firstTxid/lastTxid 0 when none applied). */
export interface NativeAppliedSegment {
  transactions: number;
  firstTxid: number;
  lastTxid: number;
  pageCount: number;
}

/** @internal A held vault lock (binding.lockFile). */
export interface NativeVaultLock {
  /** Unlocks and closes the descriptor; idempotent. */
  release(): Promise<void>;
}

/** A check's verdict (native/src/addon/verify_wrap.h); lib/verify.ts documents the fields. */
export interface NativeReport {
  ok: boolean;
  findingCount: number;
  findings: { page: number; structure: string; message: string }[];
  pageSize: number;
  pageCount: number;
  cksumvfs: boolean;
}

export interface NativeVerify {
  run(): Promise<NativeReport>;
  cancel(): void;
  readonly pagesRead: number;
  readonly pageCount: number;
}

/** @internal The snapshot an ImageReader holds (native/src/backup/image_reader.h). */
export interface NativeImageSnapshot {
  pageSize: number;
  pageCount: number;
  bytes: number;
  wal: boolean;
  walFrame: number;
}

/** @internal native/src/addon/image_reader_wrap.h */
export interface NativeImageReader {
  /** The read transaction, held until end(); waits up to busyTimeoutMs for a lock. */
  begin(busyTimeoutMs: number): Promise<NativeImageSnapshot>;
  /** Fills `buffer` with the image's bytes from `offset` (whole pages); several may run at once. */
  read(offset: number, buffer: Buffer): Promise<void>;
  /** The image's bytes [offset, offset + length) written to descriptor fd in order (sendfile); one call at a time. */
  sendTo(fd: number, offset: number, length: number): Promise<void>;
  /** Waits for reads in flight and releases every lock; idempotent. */
  end(): Promise<void>;
}

/** @internal Where a shipped log ends (docs/replication.md): a WAL generation, a commit frame, the checksum after it (null: recompute). */
export interface NativeFollowPosition {
  salt1: number;
  salt2: number;
  frame: number;
  checksum: [number, number] | null;
}

/** @internal What a WalFollower poll found. */
export interface NativePollResult {
  /** False: the database is not in WAL mode; nothing else is meaningful. */
  wal: boolean;
  /** same: the position's generation; restarted: a new one, nothing lost (proved); gap: maybe lost; oversize: the next transaction exceeds maxBytes. */
  status: 'same' | 'restarted' | 'gap' | 'oversize';
  pageSize: number;
  salt1: number;
  salt2: number;
  /** After the returned transactions; null on a gap. */
  position: NativeFollowPosition | null;
  transactions: number;
  /** The transactions as segment records (docs/vault-format.md "Segment"), txids from firstTxid; null when none. */
  records: Buffer | null;
  firstFrame: number;
  lastFrame: number;
  mxFrame: number;
  nBackfill: number;
  /**
   * lockForTruncate only: the checkpointer and write locks are held until finishTruncate(), or
   * until holdTimeout passes (the handle releases them itself; finishTruncate(true) is then busy).
   */
  locked?: boolean;
  /** lockForTruncate only: nothing was left to ship, so the TRUNCATE ran in the same call (locked is false); else null. */
  truncate?: NativeTruncateResult | null;
}

/** @internal A shipped TRUNCATE's outcome and the WAL generation afterwards. */
export interface NativeTruncateResult {
  truncated: boolean;
  busy: boolean;
  salt1: number;
  salt2: number;
  /** Truncated: the seed frame (1) the new generation starts with, or 0 without one. */
  frame: number;
  /** The cumulative checksum after `frame`; null when it is 0. */
  checksum: [number, number] | null;
}

/** @internal native/src/addon/wal_follower_wrap.h */
export interface NativeWalFollower {
  poll(position: NativeFollowPosition | null, firstTxid: number, recordedAt: number, maxBytes: number): Promise<NativePollResult>;
  lockForTruncate(position: NativeFollowPosition, firstTxid: number, recordedAt: number, maxBytes: number, hold: boolean): Promise<NativePollResult>;
  finishTruncate(apply: boolean): Promise<NativeTruncateResult>;
  close(): Promise<void>;
}

/** The functions native/src/addon/ registers. */
interface NativeBinding {
  setErrorClass(ctor: new (fields: LitevaultErrorFields) => LitevaultError): void;
  inspect(path: string): Promise<DatabaseInfo>;
  open(path: string, readOnly: boolean, create: boolean, busyTimeoutMs: number, createPrivate?: boolean): Promise<NativeDatabase>;
  /** Moves a finished private file into place (no replace), then syncs its directory. */
  publish(from: string, to: string): Promise<void>;
  /** Note the order: sqlite3_backup_init's (destination first); lib/backup.ts takes the source first. */
  Backup: new (destination: NativeDatabase, source: NativeDatabase, mode: 'snapshot' | 'restart' | 'auto', verify: boolean, background: boolean) => NativeBackup;
  Checkpoint: new (db: NativeDatabase, mode: number, busyTimeoutMs: number, background: boolean) => NativeCheckpoint;
  Verify: new (db: NativeDatabase, maxFindings: number, cksumvfs: 'auto' | 'on' | 'off') => NativeVerify;
  ImageReader: new (db: NativeDatabase) => NativeImageReader;
  /** (sync) Parses and verifies one manifest object; LITEVAULT_VAULT_CORRUPT / _UNSUPPORTED_FORMAT "<label>: <what>". */
  vaultDecodeManifest(bytes: Buffer, label: string): { meta: string; runs: number; pages: number };
  /** (sync) Builds a manifest object from meta JSON and the table from VaultScan.finish(). */
  vaultEncodeManifest(meta: string, table: Buffer): Buffer;
  /** (sync) XXH3-128 of bytes, canonical, 32 lowercase hex. */
  vaultHash(bytes: Buffer): string;
  VaultScan: new (db: NativeDatabase, options: NativeVaultScanOptions) => NativeVaultScan;
  /** (constructor: sync, no I/O) builds the restore plan; a page found nowhere is LITEVAULT_VAULT_CORRUPT. */
  VaultRestore: new (tempPath: string, options: { chain: NativeChainLink[]; packs: string[][]; background: boolean }) => NativeVaultRestore;
  /** Creates path 0600 if missing and takes a whole-file OFD write lock by one attempt; held: LITEVAULT_BACKUP_IN_PROGRESS. */
  lockFile(path: string): Promise<NativeVaultLock>;
  WalFollower: new (path: string, options: { busyTimeout: number; holdTimeout?: number }) => NativeWalFollower;
  /**
   * Builds a log segment from whole records (as WalFollower.poll returns them) on the threadpool:
   * they must parse, run firstTxid..lastTxid and hold pages of pageSize (else SQLITE_MISUSE);
   * zstd unless not smaller; key = the 32 hex of the XXH3-128 trailer.
   */
  encodeLogSegment(header: NativeSegmentHeader, records: Buffer[]): Promise<{ data: Buffer; key: string }>;
  /** Verifies a segment as a reader does (threadpool); LITEVAULT_VAULT_CORRUPT "segment <key>: <what>". */
  inspectLogSegment(data: Buffer, key: string): Promise<NativeSegmentInfo>;
  napiVersion: number;
}

/**
 * @internal The hooks only the TEST build registers (native/src/addon/testing.cc); the shipped
 * binary has none of them. test/oracle/testing-addon.ts wraps them.
 */
export interface NativeTestHooks {
  /** os/fault.h: make the N-th disk-changing operation fail, or stop all from it on. */
  setFaultPlan(plan: { mode: 'off' | 'fail' | 'stop'; at?: number; errno?: 'EIO' | 'ENOSPC' }): void;
  /** Disk-changing operations since the last setFaultPlan(). */
  faultOperations(): number;
  /** os/sync_point.h: the next `count` (default 1) threads that reach `name` pause there. */
  syncPointArm(name: string, count?: number): void;
  /** Resolves true once a thread is paused at `name`, false after timeoutMs (0..30000). */
  syncPointWait(name: string, timeoutMs: number): Promise<boolean>;
  /** Lets every thread paused at `name` go on. */
  syncPointRelease(name: string): void;
  /** Disarms every point and releases every paused thread. */
  syncPointReset(): void;
}

// Node < 18.18 has no Symbol.asyncDispose; TypeScript's `await using` looks it up by this name.
(Symbol as { asyncDispose?: symbol }).asyncDispose ??= Symbol.for('Symbol.asyncDispose');

const packageRoot = path.join(__dirname, '..');
const testAddon = process.env.LITEVAULT_TEST_ADDON;
const binaryPath = testAddon ? path.resolve(testAddon) : nodeGypBuild.resolve(packageRoot);

/** @internal */
export const binding = (testAddon ? require(binaryPath) : nodeGypBuild(packageRoot)) as NativeBinding & Partial<NativeTestHooks>;
binding.setErrorClass(LitevaultError);

/** Where the loaded native binary came from. */
export interface NativeAddonInfo {
  /** Absolute path of the .node file that was loaded. */
  path: string;
  /**
   * 'prebuilds' for a shipped prebuilt binary, 'build' for one compiled from source, 'test' for
   * the test build named by LITEVAULT_TEST_ADDON (test-only).
   */
  from: 'prebuilds' | 'build' | 'test';
  /** The Node-API version the binary was built for. */
  napiVersion: number;
}

/** Which native binary this process loaded (prebuilt or compiled from source). */
export const nativeAddon: NativeAddonInfo = Object.freeze({
  path: binaryPath,
  from: testAddon ? 'test' : path.relative(packageRoot, binaryPath).split(path.sep)[0] === 'prebuilds' ? 'prebuilds' : 'build',
  napiVersion: binding.napiVersion,
});
