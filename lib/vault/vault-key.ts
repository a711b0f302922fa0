/**
 * Vault keys (docs/vault-format.md, "Encryption" and "`litevault-vault.json`"): the user's 32-byte
 * key in the forms litevault accepts (a Buffer, 64 hex digits, base64, a key file), the per-vault
 * keys HKDF-SHA256 derives from it and the vault's id, and the decision Vault.open makes from
 * litevault-vault.json: no encryption (the storage as it is), or the key check passed and the
 * storage wrapped in an EncryptedStorage. A wrong key is refused here, by the recorded key check,
 * before any sealed object is read. The key itself is never stored or put in a message.
 *
 * Pure functions except readKeyFile (one synchronous read); any thread (main in practice).
 */
import * as fs from 'node:fs';
import { hkdfSync, timingSafeEqual } from 'node:crypto';
import { LitevaultError, misuse, vaultCorrupt } from '../errors';
import { CONFIG_KEY } from './catalog';
import { EncryptedStorage } from './encrypted-storage';
import { Storage } from './storage';

/** A vault key: 32 raw bytes, or their text form (64 hex digits, or base64 with its padding). */
export type VaultKey = Buffer | string;

/** The `encryption` member of an encrypted vault's litevault-vault.json. */
export interface EncryptionConfig {
  algorithm: 'aes-256-gcm';
  kdf: 'hkdf-sha256';
  /** HKDF(key, vaultId, 'litevault-vault key check v1'), 64 lowercase hex digits. */
  keyCheck: string;
}

/** The format version of an encrypted vault (an unencrypted one stays at 1). */
export const ENCRYPTED_FORMAT_VERSION = 2;

const KEY_BYTES = 32;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;
const INFO_OBJECT_KEY = 'litevault-vault object key v1';
const INFO_KEY_CHECK = 'litevault-vault key check v1';

function badKey(message: string, errno?: number): LitevaultError {
  return new LitevaultError({ message, code: 'LITEVAULT_BAD_KEY', errno });
}

/**
 * The 32 key bytes of `key`, where `from` says where it came from (for messages, e.g.
 * 'LITEVAULT_KEY'). A Buffer is the raw key; a string is its text form, whitespace around it ignored.
 * @throws LitevaultError LITEVAULT_BAD_KEY when it is not a key; SQLITE_MISUSE for another type.
 */
export function parseKey(key: unknown, from: string): Buffer {
  if (Buffer.isBuffer(key)) {
    if (key.length !== KEY_BYTES) throw badKey(`${from} is ${key.length} bytes; a vault key is ${KEY_BYTES} bytes`);
    return Buffer.from(key);
  }
  if (typeof key !== 'string') throw misuse(`${from} must be a Buffer of ${KEY_BYTES} bytes or a string (64 hex digits, or base64)`);
  const text = key.trim();
  if (HEX_KEY.test(text)) return Buffer.from(text, 'hex');
  if (BASE64_KEY.test(text)) return Buffer.from(text, 'base64');
  throw badKey(`${from} is not a vault key: give ${KEY_BYTES} random bytes as 64 hex digits or as base64 (44 characters), e.g. from 'openssl rand -hex 32'`);
}

/**
 * The key in a key file: exactly 32 raw bytes, or the text form (see {@link parseKey}).
 * @throws LitevaultError LITEVAULT_BAD_KEY (unreadable, or not a key; errno set when the OS gave one).
 */
export function readKeyFile(path: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw badKey(`cannot read key file '${path}': ${e.message}`, typeof e.errno === 'number' ? Math.abs(e.errno) : undefined);
  }
  if (bytes.length === KEY_BYTES) return bytes;
  return parseKey(bytes.toString('latin1'), `key file '${path}'`);
}

function derive(key: Buffer, vaultId: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, vaultId, info, KEY_BYTES));
}

/** The `encryption` member for a new vault with id `vaultId` (32 hex digits). */
export function newEncryption(key: Buffer, vaultId: string): EncryptionConfig {
  return { algorithm: 'aes-256-gcm', kdf: 'hkdf-sha256', keyCheck: derive(key, Buffer.from(vaultId, 'hex'), INFO_KEY_CHECK).toString('hex') };
}

/**
 * The storage a vault's objects are read and written through, given its parsed
 * litevault-vault.json and the caller's key (undefined: none given).
 * @throws LitevaultError LITEVAULT_KEY_REQUIRED, LITEVAULT_BAD_KEY, LITEVAULT_UNSUPPORTED_FORMAT,
 *   LITEVAULT_VAULT_CORRUPT (a malformed encryption member or vaultId).
 */
export function unlockStorage(storage: Storage, config: { vaultId?: unknown; encryption?: unknown }, key: Buffer | undefined): Storage {
  const where = `vault '${storage.location}'`;
  if (config.encryption === undefined) {
    if (key !== undefined) throw badKey(`${where} is not encrypted, so no key opens it: open it without one (unset LITEVAULT_KEY, drop --key-file); a vault's encryption is chosen when it is created`);
    return storage;
  }
  const enc = config.encryption as Partial<EncryptionConfig> | null;
  if (typeof enc !== 'object' || enc === null || typeof enc.keyCheck !== 'string' || !/^[0-9a-f]{64}$/.test(enc.keyCheck)) {
    throw vaultCorrupt(`${where}: ${CONFIG_KEY}: its encryption member is malformed (no keyCheck of 64 hex digits)`);
  }
  if (enc.algorithm !== 'aes-256-gcm' || enc.kdf !== 'hkdf-sha256') {
    throw new LitevaultError({ message: `${where}: ${CONFIG_KEY}: encryption ${JSON.stringify(enc.algorithm)} with kdf ${JSON.stringify(enc.kdf)}; this litevault knows aes-256-gcm with hkdf-sha256 only`, code: 'LITEVAULT_UNSUPPORTED_FORMAT' });
  }
  if (typeof config.vaultId !== 'string' || !/^[0-9a-f]{32}$/.test(config.vaultId)) throw vaultCorrupt(`${where}: ${CONFIG_KEY}: its vaultId is not 32 hex digits`);
  if (key === undefined) {
    throw new LitevaultError({ message: `${where} is encrypted: give its key (Vault.open(location, { key }), or LITEVAULT_KEY / --key-file for the CLI)`, code: 'LITEVAULT_KEY_REQUIRED' });
  }
  const vaultId = Buffer.from(config.vaultId, 'hex');
  if (!timingSafeEqual(derive(key, vaultId, INFO_KEY_CHECK), Buffer.from(enc.keyCheck, 'hex'))) {
    throw badKey(`the key does not open ${where} (its key check does not match: another vault's key, or a mistyped one)`);
  }
  return new EncryptedStorage(storage, derive(key, vaultId, INFO_OBJECT_KEY), vaultId);
}
