/**
 * Storage: the one interface a vault keeps its objects through (docs/vault-format.md, "Keys" and
 * "The commit rule"). It moves finished objects only (Buffers of a few MiB at most); it knows
 * nothing of pages, packs or manifests. Implementations: DirectoryStorage (a local directory)
 * now, an S3 one next; both give the same guarantees (and EncryptedStorage, which wraps any
 * Storage, keeps them):
 * - put() and create() make an object appear complete or not at all (never a partial object
 *   under its key), and durable before they resolve;
 * - create() is the conditional create the commit rule rests on: of two creates of one key,
 *   exactly one resolves true;
 * - lock() never waits, and a holder that dies never blocks the next taker.
 * Failures are LitevaultError LITEVAULT_STORAGE naming the key and the operation (errno set
 * when the OS gave one), except a missing object in get(), which is LITEVAULT_NOT_FOUND.
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
  /** Releases the lock (idempotent). */
  release(): Promise<void>;
}

export interface Storage {
  /** Where the vault is, for messages (a directory path, or an s3:// URL). */
  readonly location: string;
  /** The whole object. @throws LitevaultError LITEVAULT_NOT_FOUND when there is none. */
  get(key: string): Promise<Buffer>;
  /** Writes an object, replacing none: an existing object with this key is left as it is (content objects are named by their checksum, so it holds the same bytes). */
  put(key: string, data: Buffer): Promise<void>;
  /** Writes an object only if no object has this key; resolves false (writing nothing) if one has. */
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
