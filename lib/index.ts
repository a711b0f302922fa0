/**
 * litevault: online backups, checkpoints and inspection of live SQLite databases, done by its own
 * C++ core (SQLite's file formats and locks, no SQLite linked) on the libuv threadpool.
 */
export { LitevaultError } from './errors';
export type { LitevaultErrorCode, LitevaultErrorFields } from './errors';
export { inspect } from './inspect';
export type { DatabaseInfo, WalInfo, WalIndexInfo } from './inspect';
export { nativeAddon } from './binding';
export type { NativeAddonInfo } from './binding';
export { Database } from './database';
export type { OpenOptions } from './database';
export { Backup, backup } from './backup';
export type { BackupStepResult, BackupProgress, BackupOptions, BackupResult, BackupMode, BackupHandleOptions } from './backup';
export type { Priority } from './priority';
export { Checkpoint, checkpoint } from './checkpoint';
export { verify } from './verify';
export { BackupStream, backupStream, restoreStream } from './stream';
export type { BackupStreamOptions, BackupStreamSnapshot, RestoreStreamOptions, RestoreStreamResult } from './stream';
export type { VerifyFinding, VerifyResult, VerifyOptions } from './verify';
export type { CheckpointMode, CheckpointResult, CheckpointStepResult, CheckpointOptions, CheckpointCallOptions } from './checkpoint';
export { Vault } from './vault/vault';
export type {
  BackupType,
  VaultOpenOptions,
  VaultBackupType,
  VaultBackupOptions,
  VaultBackupProgress,
  VaultBackupResult,
  VaultBackupInfo,
  VaultRestoreOptions,
  VaultRestoreResult,
  VaultExportOptions,
  VaultPruneOptions,
  VaultPruneResult,
  VaultVerifyOptions,
  VaultVerifyBackup,
  VaultVerifyResult,
  VaultLogInfo,
  LogRange,
  ReplicateOptions,
  Replicator,
  ReplicatorEvent,
  ReplicatorStats,
} from './vault/vault';
export type { RetentionRules } from './vault/retention';
export { readKeyFile as readVaultKeyFile } from './vault/vault-key';
export type { VaultKey } from './vault/vault-key';
export type { Storage, StoredObject, StorageLock } from './vault/storage';
