/**
 * EncryptedStorage: client-side encryption of a vault's objects over ANY Storage (a directory,
 * S3, a test's fault-injecting one), as docs/vault-format.md "Encryption" defines it. put() and
 * create() seal the object (AES-256-GCM, a fresh random 96-bit nonce, authenticated data binding
 * it to the vault's id and to its own key) and hand the sealed bytes to the inner storage; get()
 * opens it and returns the plaintext, or fails with LITEVAULT_VAULT_CORRUPT naming the key when
 * the tag does not authenticate: an altered object, or one moved from another key, name, backup
 * or vault. No unauthenticated byte is ever returned. list(), delete(), lock() and sweep() pass
 * through; list() reports plaintext sizes (what get() returns), so the catalog's size checks hold.
 * litevault-vault.json and lock (lease) objects are left as they are.
 *
 * The cipher runs through WebCrypto (node:crypto's webcrypto.subtle), whose jobs run on libuv's
 * threadpool, so sealing an 8 MiB pack does not hold the main thread.
 *
 * Thread safety: main thread only, like every Storage; any number of calls may be in flight.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { LitevaultError, vaultCorrupt } from '../errors';
import { CONFIG_KEY } from './catalog';
import { Storage, StorageLock, StoredObject } from './storage';

const MAGIC = Buffer.from('4c565345414c0001', 'hex'); // 'LVSEAL\0\1'
const SEAL_VERSION = 1;
const HEADER_BYTES = 12; // magic + seal version: the first part of the authenticated data
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes a sealed object has beyond its plaintext: header, nonce, tag. */
export const SEAL_OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;

const HEADER = Buffer.alloc(HEADER_BYTES);
MAGIC.copy(HEADER, 0);
HEADER.writeUInt32LE(SEAL_VERSION, 8);

// Objects stored as they are: the vault's description (it says the vault is encrypted) and locks.
const isPlain = (key: string): boolean => key === CONFIG_KEY || key.startsWith('locks/');

export class EncryptedStorage implements Storage {
  readonly location: string;
  readonly #inner: Storage;
  readonly #vaultId: Buffer;
  readonly #key: Promise<webcrypto.CryptoKey>;

  /**
   * @param inner where the sealed objects are kept
   * @param objectKey the vault's 32-byte object key (vault-key.ts derives it)
   * @param vaultId the 16 bytes of the vault's id
   */
  constructor(inner: Storage, objectKey: Buffer, vaultId: Buffer) {
    this.#inner = inner;
    this.location = inner.location;
    this.#vaultId = Buffer.from(vaultId);
    this.#key = webcrypto.subtle.importKey('raw', objectKey, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  }

  // Magic and seal version, the vault's id, the object's key: what each object is bound to.
  #aad(key: string): Buffer {
    return Buffer.concat([HEADER, this.#vaultId, Buffer.from(key, 'utf8')]);
  }

  async #seal(key: string, plain: Buffer): Promise<Buffer> {
    const nonce = randomBytes(NONCE_BYTES);
    const sealed = await webcrypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: this.#aad(key), tagLength: TAG_BYTES * 8 }, await this.#key, plain);
    return Buffer.concat([HEADER, nonce, new Uint8Array(sealed)]);
  }

  async #open(key: string, sealed: Buffer): Promise<Buffer> {
    const where = `vault '${this.location}': object '${key}'`;
    if (sealed.length < SEAL_OVERHEAD) throw vaultCorrupt(`${where}: ${sealed.length} bytes, shorter than any sealed object (${SEAL_OVERHEAD}): truncated`);
    if (!sealed.subarray(0, MAGIC.length).equals(MAGIC)) throw vaultCorrupt(`${where}: not a sealed object (no LVSEAL magic), in an encrypted vault`);
    const version = sealed.readUInt32LE(8);
    if (version !== SEAL_VERSION) {
      throw new LitevaultError({ message: `${where}: sealed with seal version ${version}; this litevault knows version ${SEAL_VERSION} only`, code: 'LITEVAULT_UNSUPPORTED_FORMAT' });
    }
    let plain: ArrayBuffer;
    try {
      const iv = sealed.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
      plain = await webcrypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: this.#aad(key), tagLength: TAG_BYTES * 8 }, await this.#key, sealed.subarray(HEADER_BYTES + NONCE_BYTES));
    } catch {
      throw vaultCorrupt(`${where}: authentication failed: the object was altered, or belongs to another vault, name or backup`);
    }
    return Buffer.from(plain);
  }

  async get(key: string): Promise<Buffer> {
    const stored = await this.#inner.get(key);
    return isPlain(key) ? stored : this.#open(key, stored);
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.#inner.put(key, isPlain(key) ? data : await this.#seal(key, data));
  }

  async create(key: string, data: Buffer): Promise<boolean> {
    return this.#inner.create(key, isPlain(key) ? data : await this.#seal(key, data));
  }

  async list(prefix: string): Promise<StoredObject[]> {
    return (await this.#inner.list(prefix)).map(({ key, size }) => ({ key, size: isPlain(key) ? size : Math.max(0, size - SEAL_OVERHEAD) }));
  }

  delete(key: string): Promise<void> {
    return this.#inner.delete(key);
  }

  lock(name: string): Promise<StorageLock> {
    return this.#inner.lock(name);
  }

  sweep(prefix: string): Promise<number> {
    return this.#inner.sweep(prefix);
  }
}
