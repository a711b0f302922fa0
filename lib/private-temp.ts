/**
 * @internal The private temporary a new file is written under before it is moved into place
 * (a backup's new destination, a vault restore): `.<name>.litevault-<pid>-<random>.tmp` beside
 * it. The pid in the name lets the next writer of the same destination remove what a killed one
 * left (its temporary and that file's -journal/-wal/-shm), and never a live process's.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { randomBytes } from 'node:crypto';

/** Whether a process with this pid exists (EPERM: it exists, and is not ours to signal). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A new temporary path for `destination`, after removing the temporaries dead writers left for it. */
export function privateTempPath(destination: string): string {
  const dir = nodePath.dirname(destination);
  const base = nodePath.basename(destination);
  const ours = new RegExp(`^\\.${escape(base)}\\.litevault-(\\d+)-[0-9a-f]{12}\\.tmp(-journal|-wal|-shm)?$`);
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    // the directory's own errors surface when the temporary is created
  }
  for (const entry of entries) {
    const m = ours.exec(entry);
    if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) fs.rmSync(nodePath.join(dir, entry), { force: true });
  }
  return nodePath.join(dir, `.${base}.litevault-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}
