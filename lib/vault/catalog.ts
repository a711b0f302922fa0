/**
 * Catalog: a vault's keys and committed manifests (docs/vault-format.md, "Keys", "Manifest").
 *
 * The catalog is what the storage's manifests say and nothing else: list() and restore() read
 * manifests only, so packs of an unfinished backup are never visible. Every manifest is checked
 * natively (magic, version, checksum, structure) and its meta against its key before use;
 * decoded manifests are cached per Vault (objects are immutable). A key under the vault that the
 * format does not define is a foreign file: LITEVAULT_VAULT_CORRUPT naming it.
 *
 * Thread safety: main thread only.
 */
import { LitevaultError, misuse, vaultCorrupt } from '../errors';
import { binding as vaultBinding } from '../binding';
import { Storage, StoredObject } from './storage';
import { isLogPath } from './log';

/** What a backup is: see docs/vault-format.md. */
export type BackupType = 'full' | 'incremental' | 'differential';

/** A manifest's meta (docs/vault-format.md, "Manifest"). */
export interface ManifestMeta {
  name: string;
  seq: number;
  id: string;
  type: BackupType;
  base: number | null;
  full: number;
  createdAt: string;
  pageSize: number;
  pageCount: number;
  source: { path: string; device: string; inode: string };
  // walSalt1/walSalt2: a WAL snapshot's generation, walChecksum the cumulative checksum after
  // walFrame (docs/vault-format.md "Logs"); absent in older manifests and rollback ones.
  snapshot: { journalMode: 'wal' | 'rollback'; changeCounter: number; walFrame: number; walSalt1?: number; walSalt2?: number; walChecksum?: [number, number] };
  compression: { algorithm: 'zstd' | 'none'; level: number };
  packs: { key: string; bytes: number; slots: number }[];
  pagesScanned: number;
  pagesStored: number;
  bytesStored: number;
  restarts: number;
  heldLock: boolean;
  litevault: string;
}

/** A committed backup: its key, its object and its meta. */
export interface Manifest {
  key: string;
  bytes: Buffer;
  meta: ManifestMeta;
}

export const CONFIG_KEY = 'litevault-vault.json';
export const FORMAT_VERSION = 1;
const TOP_LEVEL = new Set([CONFIG_KEY, 'backups', 'packs', 'locks', 'logs']);
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const MANIFEST = /^(\d{10})\.manifest$/;
const PACK = /^([0-9a-f]{2})\/([0-9a-f]{32})\.pack$/;

// `<hh>/<key32>.pack`, hh being the key's first two digits.
function isPackPath(path: string): boolean {
  const m = PACK.exec(path);
  return m !== null && m[2]!.startsWith(m[1]!);
}

/** @throws SQLITE_MISUSE unless `name` is a valid backup name (no path separator, no '..'). */
export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw misuse(`${what}: a backup name is 1..128 characters of A-Z a-z 0-9 . _ - not starting with '.', not ${JSON.stringify(name)}`);
  }
  return name;
}

export const manifestKey = (name: string, seq: number): string => `backups/${name}/${String(seq).padStart(10, '0')}.manifest`;
export const packKey = (name: string, key: string): string => `packs/${name}/${key.slice(0, 2)}/${key}.pack`;

export class Catalog {
  readonly #storage: Storage;
  readonly #cache = new Map<string, Manifest>();

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  /** Every name with a committed backup or packs (garbage of a first backup that never committed), sorted; checks the vault for foreign files. */
  async names(): Promise<string[]> {
    const names = new Set<string>();
    for (const { key } of await this.#storage.list('')) {
      const [top, name, ...rest] = key.split('/');
      if (!TOP_LEVEL.has(top!) || (top === CONFIG_KEY) !== (name === undefined)) throw this.#foreign(key);
      if (top === 'backups') {
        if (!NAME.test(name!) || rest.length !== 1 || !MANIFEST.test(rest[0]!)) throw this.#foreign(key);
        names.add(name!);
      } else if (top === 'packs') {
        if (!NAME.test(name!) || !isPackPath(rest.join('/'))) throw this.#foreign(key);
        names.add(name!);
      } else if (top === 'logs') {
        if (!NAME.test(name!) || !isLogPath(rest.join('/'))) throw this.#foreign(key);
        names.add(name!);
      } else if (top === 'locks' && (rest.length !== 0 || !/\.(lock|lease)$/.test(name!))) {
        throw this.#foreign(key);
      }
    }
    return [...names].sort();
  }

  /** The committed backups of `name`, oldest first (by seq). */
  async manifests(name: string): Promise<Manifest[]> {
    const out: Manifest[] = [];
    for (const { key, size } of await this.#storage.list(`backups/${name}/`)) {
      const file = key.slice(`backups/${name}/`.length);
      const m = MANIFEST.exec(file);
      if (!m) throw this.#foreign(key);
      const manifest = await this.#load(key, size, name, Number(m[1]));
      if (manifest) out.push(manifest); // else pruned between the listing and the read
    }
    return out;
  }

  /** The packs (storage keys and sizes) under `name`, whatever names them; a foreign file there is LITEVAULT_VAULT_CORRUPT. */
  async packs(name: string): Promise<StoredObject[]> {
    const all = await this.#storage.list(`packs/${name}/`);
    for (const { key } of all) if (!isPackPath(key.slice(`packs/${name}/`.length))) throw this.#foreign(key);
    return all;
  }

  /** `target`'s chain: its full backup first, `target` last, following `base`. */
  chain(all: Manifest[], target: Manifest): Manifest[] {
    const bySeq = new Map(all.map((m) => [m.meta.seq, m]));
    const chain = [target];
    for (let m = target; m.meta.base !== null; ) {
      const base = bySeq.get(m.meta.base);
      if (!base || base.meta.seq >= m.meta.seq) {
        throw vaultCorrupt(`vault '${this.#storage.location}': backup ${m.meta.name} ${m.meta.id} (${m.key}) depends on backup ${m.meta.base}, which is missing`);
      }
      chain.unshift(base);
      m = base;
    }
    if (chain[0]!.meta.type !== 'full') throw vaultCorrupt(`vault '${this.#storage.location}': the chain of ${target.key} does not start with a full backup`);
    return chain;
  }

  forget(key: string): void {
    this.#cache.delete(key);
  }

  // A manifest, or null when it was deleted (by a prune) after the listing named it. The cache
  // is trusted only for an object of the listed size: seqs are never reused (prune keeps every
  // name's newest backup), and the size check is a second guard against a manifest deleted and
  // created again by someone else.
  async #load(key: string, size: number, name: string, seq: number): Promise<Manifest | null> {
    const cached = this.#cache.get(key);
    if (cached && cached.bytes.length === size) return cached;
    let bytes: Buffer;
    try {
      bytes = await this.#storage.get(key);
    } catch (err) {
      if (err instanceof LitevaultError && err.code === 'LITEVAULT_NOT_FOUND') return null;
      throw err;
    }
    const decoded = vaultBinding.vaultDecodeManifest(bytes, key);
    let meta: ManifestMeta;
    try {
      meta = JSON.parse(decoded.meta) as ManifestMeta;
    } catch {
      throw vaultCorrupt(`vault '${this.#storage.location}': manifest ${key}: its meta is not JSON`);
    }
    const bad = (what: string): LitevaultError => vaultCorrupt(`vault '${this.#storage.location}': manifest ${key}: ${what}`);
    if (meta.name !== name || meta.seq !== seq) throw bad(`it says it is ${JSON.stringify(meta.name)} ${meta.seq}`);
    if (!['full', 'incremental', 'differential'].includes(meta.type)) throw bad(`unknown type ${JSON.stringify(meta.type)}`);
    if ((meta.type === 'full') !== (meta.base === null)) throw bad('its base does not match its type');
    if (meta.base !== null && !(Number.isInteger(meta.base) && meta.base < seq)) throw bad(`bad base ${JSON.stringify(meta.base)}`);
    if (!Array.isArray(meta.packs) || meta.packs.some((p) => typeof p?.key !== 'string' || !/^[0-9a-f]{32}$/.test(p.key))) throw bad('bad pack list');
    const manifest = { key, bytes, meta };
    this.#cache.set(key, manifest);
    return manifest;
  }

  #foreign(key: string): LitevaultError {
    return vaultCorrupt(`vault '${this.#storage.location}': foreign file '${key}' (not part of the vault format; move it out of the vault)`);
  }
}
