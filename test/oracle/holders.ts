/**
 * Watching and holding SQLite locks from other processes, for the interop tests: the locks the
 * kernel lists for a file (/proc/locks, as another process sees them), and a sqlite3 shell
 * process that takes a lock or a transaction and keeps it until released.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { SQLITE3_BIN } from './sqlite.js';

/** One granted lock of /proc/locks. */
export interface LockLine {
  kind: string; // 'POSIX' | 'OFDLCK' | 'FLOCK'
  type: string; // 'READ' | 'WRITE'
  pid: number; // -1 for OFD locks
  start: number;
  end: number;
}

/** The granted locks the kernel lists for the file at `path`, held by anyone. */
export function locksOn(path: string): LockLine[] {
  const st = statSync(path, { bigint: true });
  const major = ((st.dev >> 8n) & 0xfffn) | ((st.dev >> 32n) & ~0xfffn);
  const minor = (st.dev & 0xffn) | ((st.dev >> 12n) & ~0xffn);
  const out: LockLine[] = [];
  for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
    const m = /^\d+:\s+(\S+)\s+\S+\s+(\S+)\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s+(\d+)\s+(\d+|EOF)/.exec(line);
    if (m === null) continue; // blocked waiters ('->') and other formats
    const [, kind, type, pid, maj, min, ino, start, end] = m as unknown as string[];
    if (BigInt(`0x${maj}`) !== major || BigInt(`0x${min}`) !== minor || BigInt(ino!) !== st.ino) continue;
    out.push({ kind: kind!, type: type!, pid: Number(pid), start: Number(start), end: end === 'EOF' ? Infinity : Number(end) });
  }
  return out;
}

/** Whether some lock of `kind`/`type` (and `pid`, if given) covers bytes first..last. */
export function hasLock(locks: LockLine[], kind: string, type: string, first: number, last: number, pid?: number): boolean {
  return locks.some((l) => l.kind === kind && l.type === type && l.start <= first && l.end >= last && (pid === undefined || l.pid === pid));
}

/** A sqlite3 shell process holding what its SQL took, until release(). */
export interface ShellHolder {
  pid: number;
  child: ChildProcessWithoutNullStreams;
  release(): Promise<void>;
}

/** How {@link holdInShell} waits for locks and ends. */
export interface HoldOptions {
  /** The shell's busy timeout while taking the hold (default 0: fail at once). */
  busyTimeoutMs?: number;
  /** SQL run by release() before quitting (default 'COMMIT;'; '' to just quit). */
  releaseSql?: string;
}

/**
 * Starts a sqlite3 shell with `-bail` that runs `sql` (e.g. `BEGIN EXCLUSIVE;`), answers once
 * it holds what that took, and keeps its connection (and so its locks) until release().
 */
export async function holdInShell(db: string, sql: string, options: HoldOptions = {}): Promise<ShellHolder> {
  const child = spawn(SQLITE3_BIN, ['-bail', '-batch', '-init', '/dev/null', resolve(db)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => {
    err += c;
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`sqlite3 holder on ${db} did not answer: ${err}`)), 10_000);
    child.stdout.on('data', (c: string) => {
      out += c;
      if (out.includes('held\n')) {
        clearTimeout(timer);
        res();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`sqlite3 holder on ${db} exited (${String(code)}) before holding: ${err}`));
    });
    child.stdin.write(`.timeout ${options.busyTimeoutMs ?? 0}\n${sql}\nSELECT 'held';\n`);
  });
  return {
    pid: child.pid!,
    child,
    async release(): Promise<void> {
      child.stdin.end(`${options.releaseSql ?? 'COMMIT;'}\n.quit\n`);
      const code = await exited;
      if (code !== 0 || err !== '') throw new Error(`sqlite3 holder on ${db} ended badly (${String(code)}): ${err}`);
    },
  };
}
