/**
 * LitevaultError: the one error type litevault throws or rejects with.
 *
 * The native core returns a Status (a SQLite result code, an errno and a message naming the file
 * and the operation); the addon turns it into this class. `code` uses SQLite's vocabulary
 * ('SQLITE_BUSY', 'SQLITE_CORRUPT', 'SQLITE_IOERR_READ', ...). `retryable` is decided in one
 * place for each source: the native core sets it for SQLITE_BUSY and SQLITE_LOCKED (and their
 * extended forms); the vault sets it for LITEVAULT_BACKUP_IN_PROGRESS and, for remote vaults,
 * LITEVAULT_REMOTE_UNAVAILABLE. Nothing else is retryable.
 */

/**
 * A result code name: SQLite's for database conditions (e.g. 'SQLITE_NOTADB'), litevault's own
 * for vault conditions (e.g. 'LITEVAULT_VAULT_CORRUPT'; docs/vault-format.md "Errors").
 */
export type LitevaultErrorCode =
  | 'SQLITE_ERROR'
  | 'SQLITE_INTERNAL'
  | 'SQLITE_PERM'
  | 'SQLITE_ABORT'
  | 'SQLITE_BUSY'
  | 'SQLITE_LOCKED'
  | 'SQLITE_NOMEM'
  | 'SQLITE_READONLY'
  | 'SQLITE_INTERRUPT'
  | 'SQLITE_IOERR'
  | 'SQLITE_CORRUPT'
  | 'SQLITE_NOTFOUND'
  | 'SQLITE_FULL'
  | 'SQLITE_CANTOPEN'
  | 'SQLITE_PROTOCOL'
  | 'SQLITE_MISUSE'
  | 'SQLITE_NOTADB'
  | `SQLITE_${string}_${string}`
  | VaultErrorCode;

/**
 * The vault's own conditions (docs/vault-format.md, "Errors"):
 * - LITEVAULT_NOT_A_VAULT: the directory is not a vault (and `create` was not given);
 * - LITEVAULT_UNSUPPORTED_FORMAT: a vault, pack or manifest of a format version this litevault does not know;
 * - LITEVAULT_VAULT_CORRUPT: a checksum mismatch, a truncated or malformed object, a missing object, a foreign file;
 * - LITEVAULT_NO_FULL_BACKUP: an incremental or differential backup with no full backup of the name;
 * - LITEVAULT_BASE_MISMATCH: the base has another page size, or the source is another database file;
 * - LITEVAULT_BACKUP_IN_PROGRESS: another backup or prune of the name is running (retryable);
 * - LITEVAULT_NOT_FOUND: no backup with that name or id (or no such object in storage);
 * - LITEVAULT_EXISTS: a restore onto an existing file without `overwrite`;
 * - LITEVAULT_STORAGE: the storage failed (errno or HTTP status in the message);
 * - LITEVAULT_BAD_KEY: the key does not open the vault (its key check does not match), is not a key
 *   (32 bytes; 64 hex digits or base64), cannot be read from its key file, or was given for a vault
 *   without encryption;
 * - LITEVAULT_KEY_REQUIRED: an encrypted vault opened without a key;
 * - LITEVAULT_NOT_WAL: replication of a database that is not in WAL mode (only a WAL's
 *   transactions can be followed).
 * In an encrypted vault, an object that fails authentication (altered, or moved from another key,
 * name, backup or vault) is LITEVAULT_VAULT_CORRUPT naming the object.
 * Remote vaults (s3://), each naming the object key, the operation and the HTTP status (also in `httpStatus`):
 * - LITEVAULT_REMOTE_UNAVAILABLE: the store answered 5xx or throttled (503 SlowDown, 429), timed out or
 *   dropped the connection on every attempt the retries allowed (retryable);
 * - LITEVAULT_REMOTE_DENIED: 401/403: missing or wrong credentials, or no permission for the bucket or key;
 * - LITEVAULT_REMOTE_NO_BUCKET: the bucket does not exist (404 NoSuchBucket);
 * - LITEVAULT_REMOTE_UNSUPPORTED: the store does not implement what a vault needs (501, e.g. conditional
 *   writes with If-None-Match / If-Match).
 */
export type VaultErrorCode =
  | 'LITEVAULT_NOT_A_VAULT'
  | 'LITEVAULT_UNSUPPORTED_FORMAT'
  | 'LITEVAULT_VAULT_CORRUPT'
  | 'LITEVAULT_NO_FULL_BACKUP'
  | 'LITEVAULT_BASE_MISMATCH'
  | 'LITEVAULT_BACKUP_IN_PROGRESS'
  | 'LITEVAULT_NOT_FOUND'
  | 'LITEVAULT_EXISTS'
  | 'LITEVAULT_STORAGE'
  | 'LITEVAULT_BAD_KEY'
  | 'LITEVAULT_KEY_REQUIRED'
  | 'LITEVAULT_NOT_WAL'
  | 'LITEVAULT_REMOTE_UNAVAILABLE'
  | 'LITEVAULT_REMOTE_DENIED'
  | 'LITEVAULT_REMOTE_NO_BUCKET'
  | 'LITEVAULT_REMOTE_UNSUPPORTED';

/** The fields the native addon (or litevault's own TypeScript) builds an error from. */
export interface LitevaultErrorFields {
  message: string;
  code: LitevaultErrorCode;
  /** The OS error number, when the failure came from a system call. */
  errno?: number;
  /** Whether the same call may succeed later (see the class's comment for who sets it). */
  retryable?: boolean;
  /** The HTTP status a remote store answered, when a remote vault's request failed with one. */
  httpStatus?: number;
}

/** Every failure litevault reports: a SQLite-style `code`, an `errno` when the OS gave one, and whether retrying can help. */
export class LitevaultError extends Error {
  /** SQLite's name for the result, e.g. 'SQLITE_BUSY'. */
  readonly code: LitevaultErrorCode;
  /** The OS error number (e.g. 2 for ENOENT), when a system call failed. */
  readonly errno: number | undefined;
  /** True only for SQLITE_BUSY, SQLITE_LOCKED, LITEVAULT_BACKUP_IN_PROGRESS and LITEVAULT_REMOTE_UNAVAILABLE: the same call may succeed later. */
  readonly retryable: boolean;
  /** The HTTP status of a remote vault's failed request (e.g. 403, 503); undefined otherwise (and for a dropped connection). */
  readonly httpStatus: number | undefined;

  constructor(fields: LitevaultErrorFields) {
    super(fields.message);
    this.name = 'LitevaultError';
    this.code = fields.code;
    this.errno = fields.errno;
    this.retryable = fields.retryable === true;
    this.httpStatus = fields.httpStatus;
  }
}

/** A SQLITE_MISUSE error for bad arguments, thrown on the calling thread. */
export function misuse(message: string): LitevaultError {
  return new LitevaultError({ message, code: 'SQLITE_MISUSE' });
}

/** A LITEVAULT_VAULT_CORRUPT error: a vault object (manifest, pack, log entry, config) that is damaged or not the format's. */
export function vaultCorrupt(message: string): LitevaultError {
  return new LitevaultError({ message, code: 'LITEVAULT_VAULT_CORRUPT' });
}

/** The SQLITE_ABORT error an operation cancelled through its AbortSignal rejects with; `cause` is the signal's reason. */
export function cancelled(what: string, signal: AbortSignal | undefined): LitevaultError {
  const err = new LitevaultError({ message: `${what} cancelled`, code: 'SQLITE_ABORT' });
  (err as { cause?: unknown }).cause = signal?.reason;
  return err;
}
