/**
 * Storage: the one interface a vault keeps its objects through (docs/vault-format.md, "Keys" and
 * "The commit rule"). It moves finished objects only (Buffers of a few MiB at most); it knows
 * nothing of pages, packs or manifests. Implementations: DirectoryStorage (a local directory)
 * and S3Storage (s3://bucket/prefix); both give the same guarantees (and EncryptedStorage,
 * which wraps any Storage, keeps them):
 * - put() and create() make an object appear complete or not at all (never a partial object
 *   under its key), and durable before they resolve;
 * - create() is the conditional create the commit rule rests on: of two creates of one key,
 *   exactly one resolves true;
 * - lock() never waits, and a holder that dies never blocks the next taker (a directory's OFD
 *   lock is dropped by the kernel at once, an S3 lease expires after its TTL).
 * Failures are LitevaultError LITEVAULT_STORAGE naming the key and the operation (errno set
 * when the OS gave one; remote stores: LITEVAULT_REMOTE_* with the HTTP status), except a
 * missing object in get(), which is LITEVAULT_NOT_FOUND.
 */

/** One object as list() reports it. */
export interface StoredObject {
  /** The key, relative to the vault's root. */
  key: string;
  /** Size in bytes. */
  size: number;
}

/** A held lock; see {@link Storage.lock}. */
export interface StorageLock {
  /**
   * Resolves if the lock is still held, renewing it first if it is a lease that is due;
   * LitevaultError LITEVAULT_BACKUP_IN_PROGRESS if it was lost (a lease that expired and was
   * taken over). The vault calls it before the commit and before every deletion under the name.
   */
  check(): Promise<void>;
  /** Releases the lock (idempotent; never rejects: a lease that cannot be deleted expires). */
  release(): Promise<void>;
}

export interface Storage {
  /** Where the vault is, for messages (a directory path, or an s3:// URL). */
  readonly location: string;
  /** The whole object. @throws LitevaultError LITEVAULT_NOT_FOUND when there is none. */
  get(key: string): Promise<Buffer>;
  /**
   * Writes an object, replacing none: an existing object with this key is left as it is (content
   * objects are named by their checksum, so it holds the same bytes). `data` is the caller's
   * again once the promise settles (vault.backup reuses pack buffers): copy it to keep it.
   */
  put(key: string, data: Buffer): Promise<void>;
  /** Writes an object only if no object has this key; resolves false (writing nothing) if one has. `data` as for put(). */
  create(key: string, data: Buffer): Promise<boolean>;
  /** Every object whose key starts with `prefix`, sorted by key (the implementation's own temporaries excluded). */
  list(prefix: string): Promise<StoredObject[]>;
  /** Deletes an object; a missing one is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Takes the lock `name` by one attempt.
   * @throws LitevaultError LITEVAULT_BACKUP_IN_PROGRESS (retryable) when another holder has it.
   */
  lock(name: string): Promise<StorageLock>;
  /** Removes what interrupted writers of this storage left under `prefix` (temporaries); resolves to how many. */
  sweep(prefix: string): Promise<number>;
}
