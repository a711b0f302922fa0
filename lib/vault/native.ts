/**
 * @internal The native vault functions (native/src/addon/vault_wrap.h) as lib/vault/ sees them:
 * page reading, hashing, compression and checks happen there, on the threadpool.
 */
import { binding, NativeDatabase } from '../binding';

/** One link of a chain: a whole manifest object, and its key for messages. */
export interface NativeChainLink {
  manifest: Buffer;
  label: string;
}

export interface NativeScanStep {
  done: boolean;
  pack: Buffer | null;
  packKey: string | null;
  pageSize: number;
  pageCount: number;
  pagesScanned: number;
  pagesStored: number;
  bytesStored: number;
  bytesRead: number;
  restarts: number;
  heldLock: boolean;
  mode: 'snapshot' | 'restart';
}

export interface NativeScanResult {
  table: Buffer;
  pageSize: number;
  pageCount: number;
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
  device: string;
  inode: string;
  path: string;
}

export interface NativeVaultScan {
  step(): Promise<NativeScanStep>;
  finish(): Promise<NativeScanResult>;
  close(): Promise<void>;
}

export interface NativeVaultRestore {
  readonly packsNeeded: { link: number; pack: number; key: string }[];
  readonly pageCount: number;
  readonly pageSize: number;
  open(): Promise<void>;
  writePack(link: number, pack: number, bytes: Buffer): Promise<{ pagesWritten: number }>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

export interface NativeVaultBinding {
  vaultDecodeManifest(bytes: Buffer, label: string): { meta: string; runs: number; pages: number };
  vaultEncodeManifest(meta: string, table: Buffer): Buffer;
  vaultHash(bytes: Buffer): string;
  VaultScan: new (
    db: NativeDatabase,
    options: { base: NativeChainLink[]; compression: 'none' | 'zstd'; level: number; threads: number; maxRestarts: number; busyTimeoutMs: number },
  ) => NativeVaultScan;
  VaultRestore: new (tempPath: string, options: { chain: NativeChainLink[]; packs: string[][] }) => NativeVaultRestore;
  lockFile(path: string): Promise<{ release(): Promise<void> }>;
}

export const vaultBinding = binding as unknown as NativeVaultBinding;
