/**
 * @internal Where a restore writes (vault.restore(), restoreStream()): the image is built in a
 * private temporary beside the destination (private-temp.ts), complete, checked and synced
 * before the destination is touched, and only then placed: a new path by publish (a rename that
 * never replaces a file that appeared meanwhile), an existing database by a backup into it,
 * under its locks and rollback journal, so its readers see the old content or the new.
 */
import * as fs from 'node:fs';
import { backup } from './backup';
import { binding } from './binding';
import { LitevaultError } from './errors';
import type { Priority } from './priority';

/**
 * Whether `destination` holds something a restore would replace; LITEVAULT_EXISTS when it does
 * and `overwrite` is not true. A 0-byte file is an empty database with nothing to lose (and what
 * a restore killed while publishing can leave): it is taken over like a missing path.
 */
export function restoreDestinationExists(destination: string, overwrite: boolean | undefined, what: string): boolean {
  const stat = fs.statSync(destination, { throwIfNoEntry: false });
  const existed = stat !== undefined && !(stat.isFile() && stat.size === 0);
  if (existed && overwrite !== true) {
    throw new LitevaultError({ message: `${what}: '${destination}' exists; restore onto it with overwrite (--overwrite), or choose a new path`, code: 'LITEVAULT_EXISTS' });
  }
  return existed;
}

/**
 * Places the finished, synced private file `temp` at `destination`. Resolves true when `temp`
 * itself became the destination (published), false when its content was copied into an existing
 * database (`temp` is then the caller's to remove).
 */
export async function placeRestored(temp: string, destination: string, existed: boolean, options: { busyTimeout?: number; signal?: AbortSignal; priority?: Priority }, what: string): Promise<boolean> {
  if (existed) {
    await backup(temp, destination, { busyTimeout: options.busyTimeout, signal: options.signal, priority: options.priority });
    return false;
  }
  try {
    await binding.publish(temp, destination);
  } catch (err) {
    if (err instanceof LitevaultError && err.errno === 17) {
      throw new LitevaultError({ message: `${what}: '${destination}' appeared while restoring; it was left as it is`, code: 'LITEVAULT_EXISTS' });
    }
    throw err;
  }
  return true;
}

/**
 * Removes what reading the private copy left beside it: a WAL-mode image opened for checking or
 * copying becomes a WAL reader, with an empty -wal and a -shm that are ours alone (nobody else
 * knows the temporary's name).
 */
export function removeCompanions(temp: string): void {
  for (const companion of ['-wal', '-shm', '-journal']) fs.rmSync(temp + companion, { force: true });
}
