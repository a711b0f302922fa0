/**
 * DirectoryStorage: a vault in a local directory (docs/vault-format.md, "The commit rule" and
 * "Files and permissions").
 *
 * An object is written to a temporary `.tmp-<pid>-<random>` in its key's directory (O_EXCL,
 * 0600), fsynced, then given its key with link(2), which never replaces an existing file: that
 * is both put() (an existing key is kept) and the conditional create(). The temporary is then
 * removed and the directory fsynced, so a resolved put/create is durable. Nothing is renamed
 * over or rewritten. New directories are 0700 and their parents are fsynced.
 * Locks are OFD write locks on `locks/<name>.lock` taken natively (binding.lockFile): the kernel
 * drops them when the holder exits or is killed.
 *
 * Every filesystem call goes through an FsOps table (node:fs/promises by default) so that the
 * tests can fail the N-th write, fsync, link or unlink of a real run: fault injection on the
 * real filesystem, not a stand-in for it.
 *
 * Thread safety: main thread only (the calls themselves run on libuv's threadpool).
 */
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import { randomBytes } from 'node:crypto';
import { binding } from '../binding';
import { LitevaultError } from '../errors';
import { processAlive } from '../private-temp';
import { Storage, StorageLock, StoredObject } from './storage';

/** @internal The filesystem calls DirectoryStorage makes (fault injection in tests replaces some). */
export interface FsOps {
  open(path: string, flags: string, mode?: number): Promise<fsp.FileHandle>;
  write(handle: fsp.FileHandle, data: Buffer): Promise<void>;
  fsync(handle: fsp.FileHandle): Promise<void>;
  link(existing: string, created: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, mode: number): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  readdir(path: string): Promise<import('node:fs').Dirent[]>;
}

/** @internal */
export const realFsOps: FsOps = {
  open: (path, flags, mode) => fsp.open(path, flags, mode),
  write: async (handle, data) => {
    await handle.writeFile(data);
  },
  fsync: (handle) => handle.sync(),
  link: (a, b) => fsp.link(a, b),
  unlink: (path) => fsp.unlink(path),
  mkdir: async (path, mode) => {
    await fsp.mkdir(path, { mode });
  },
  // One read of the whole file (fs.readFile reads 512 KiB at a time: 16 threadpool round trips
  // for an 8 MiB pack).
  readFile: async (path) => {
    const handle = await fsp.open(path, 'r');
    try {
      const { size } = await handle.stat();
      const data = Buffer.allocUnsafe(size);
      let done = 0;
      while (done < size) {
        const { bytesRead } = await handle.read(data, done, size - done, done);
        if (bytesRead === 0) break; // shrank meanwhile: what was there
        done += bytesRead;
      }
      return done === size ? data : data.subarray(0, done);
    } finally {
      await handle.close();
    }
  },
  readdir: (path) => fsp.readdir(path, { withFileTypes: true }),
};

const TEMP_PREFIX = '.tmp-';
/** Temporaries this process is writing now (sweep() leaves them alone). */
const inFlight = new Set<string>();

function storageError(operation: string, path: string, err: unknown): LitevaultError {
  const e = err as NodeJS.ErrnoException;
  return new LitevaultError({
    message: `vault storage: cannot ${operation} '${path}': ${e.code ?? ''}${e.code ? ': ' : ''}${e.message ?? String(err)}`,
    code: 'LITEVAULT_STORAGE',
    errno: typeof e.errno === 'number' ? Math.abs(e.errno) : undefined,
  });
}

export class DirectoryStorage implements Storage {
  readonly location: string;
  readonly #root: string;
  readonly #ops: FsOps;

  /** @param root the vault directory; @param ops internal: see {@link FsOps}. */
  constructor(root: string, ops: FsOps = realFsOps) {
    this.#root = nodePath.resolve(root);
    this.location = this.#root;
    this.#ops = ops;
  }

  #path(key: string): string {
    return nodePath.join(this.#root, ...key.split('/'));
  }

  async get(key: string): Promise<Buffer> {
    const path = this.#path(key);
    try {
      return await this.#ops.readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new LitevaultError({ message: `vault storage: no object '${key}' in '${this.location}'`, code: 'LITEVAULT_NOT_FOUND', errno: 2 });
      }
      throw storageError('read', path, err);
    }
  }

  put(key: string, data: Buffer): Promise<void> {
    return this.#write(key, data).then(() => undefined);
  }

  create(key: string, data: Buffer): Promise<boolean> {
    return this.#write(key, data);
  }

  // Temporary, fsync, link (never replacing), remove the temporary, fsync the directory.
  // Resolves false when the key already existed (nothing of ours stays then).
  async #write(key: string, data: Buffer): Promise<boolean> {
    const path = this.#path(key);
    const dir = nodePath.dirname(path);
    await this.#ensureDir(dir);
    const temp = nodePath.join(dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    inFlight.add(temp);
    let linked = false;
    try {
      let handle: fsp.FileHandle;
      try {
        handle = await this.#ops.open(temp, 'wx', 0o600);
      } catch (err) {
        throw storageError('create', temp, err);
      }
      try {
        await this.#ops.write(handle, data).catch((err) => {
          throw storageError('write', temp, err);
        });
        await this.#ops.fsync(handle).catch((err) => {
          throw storageError('fsync', temp, err);
        });
      } finally {
        await handle.close().catch(() => undefined);
      }
      try {
        await this.#ops.link(temp, path);
        linked = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw storageError('link', path, err);
      }
      await this.#ops.unlink(temp).catch((err) => {
        throw storageError('remove', temp, err);
      });
      await this.#syncDir(dir);
      return linked;
    } catch (err) {
      await this.#ops.unlink(temp).catch(() => undefined);
      throw err;
    } finally {
      inFlight.delete(temp);
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    const out: StoredObject[] = [];
    const walk = async (keyDir: string): Promise<void> => {
      const dir = keyDir === '' ? this.#root : this.#path(keyDir);
      let entries: import('node:fs').Dirent[];
      try {
        entries = await this.#ops.readdir(dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || (code === 'ENOTDIR' && keyDir !== '')) return;
        throw storageError('list', dir, err);
      }
      const files: string[] = [];
      for (const entry of entries) {
        if (entry.name.startsWith(TEMP_PREFIX)) continue;
        const key = keyDir === '' ? entry.name : `${keyDir}/${entry.name}`;
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(key + '/')) await walk(key);
        } else if (key.startsWith(prefix)) {
          files.push(key);
        }
      }
      // The sizes of one directory's files, asked for all at once.
      const sizes = await Promise.all(files.map((key) => fsp.stat(this.#path(key)).then((st) => st.size, () => -1)));
      files.forEach((key, i) => {
        if (sizes[i]! >= 0) out.push({ key, size: sizes[i]! }); // else removed meanwhile
      });
    };
    await walk(base);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await this.#ops.unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw storageError('delete', path, err);
    }
    await this.#syncDir(nodePath.dirname(path));
  }

  async lock(name: string): Promise<StorageLock> {
    const dir = this.#path('locks');
    await this.#ensureDir(dir);
    const held = await binding.lockFile(nodePath.join(dir, `${name}.lock`));
    let released = false;
    return {
      check: async () => undefined, // the kernel's lock cannot be lost while we live
      release: async () => {
        if (released) return;
        released = true;
        await held.release();
      },
    };
  }

  async sweep(prefix: string): Promise<number> {
    let removed = 0;
    const walk = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await this.#ops.readdir(dir);
      } catch {
        return;
      }
      for (const entry of entries) {
        const path = nodePath.join(dir, entry.name);
        if (entry.isDirectory()) {
          await walk(path);
          continue;
        }
        if (!entry.name.startsWith(TEMP_PREFIX) || inFlight.has(path)) continue;
        const pid = Number(/^\.tmp-(\d+)-/.exec(entry.name)?.[1]);
        if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) continue; // another live writer's
        try {
          await this.#ops.unlink(path);
          removed++;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw storageError('remove', path, err);
        }
      }
    };
    await walk(prefix === '' ? this.#root : this.#path(prefix.replace(/\/$/, '')));
    return removed;
  }

  // mkdir -p with 0700, fsyncing the parent of every directory it creates.
  async #ensureDir(dir: string): Promise<void> {
    const missing: string[] = [];
    for (let d = dir; d !== nodePath.dirname(d); d = nodePath.dirname(d)) {
      try {
        await fsp.stat(d);
        break;
      } catch {
        missing.unshift(d);
      }
    }
    for (const d of missing) {
      try {
        await this.#ops.mkdir(d, 0o700);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw storageError('create directory', d, err);
        continue;
      }
      await this.#syncDir(nodePath.dirname(d));
    }
  }

  async #syncDir(dir: string): Promise<void> {
    let handle: fsp.FileHandle;
    try {
      handle = await this.#ops.open(dir, 'r');
    } catch (err) {
      throw storageError('open directory', dir, err);
    }
    try {
      await this.#ops.fsync(handle);
    } catch (err) {
      throw storageError('fsync directory', dir, err);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
}
