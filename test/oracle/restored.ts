/**
 * What a restore that resolved, failed or was killed left at its destination, judged by real
 * SQLite, for the trial suites that count outcomes (test/vault-crash.test.ts: SIGKILL;
 * test/vault-remote-faults.test.ts: a faulty network): a new path is 'absent' or 'complete' (the
 * backup's image outside the per-destination header bytes, integrity_check ok), never 'partial';
 * an overwritten database, after SQLite's own recovery (a read-write open rolls back a hot
 * journal or recovers the WAL, and checkpoints on close), passes integrity_check and is the
 * 'old' database byte for byte or the 'new' one (the backup's image), never a 'mix'.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { BACKUP_HEADER_FIELDS, fileDiff, WAL_DESTINATION_FIELDS } from './expect';
import { integrityCheck } from './sqlite';

export type RestoreKind = 'new' | 'overwrite-rollback' | 'overwrite-wal';

/** sha256 of a file, or null when there is none: an overwritten destination's "before". */
export const fileSha = (f: string): string | null => (existsSync(f) ? createHash('sha256').update(readFileSync(f)).digest('hex') : null);

/**
 * The destination's state and what is wrong with it. `ref` is SQLite's image of the backup;
 * for an overwrite, `old` is the database the destination was a copy of and `oldSha` its sha256
 * before the restore.
 */
export function restoredState(dest: string, ref: string, kind: RestoreKind, old?: { path: string; sha: string | null }): { state: 'absent' | 'complete' | 'partial' | 'old' | 'new' | 'mix'; problems: string[] } {
  const problems: string[] = [];
  if (kind === 'new') {
    if (!existsSync(dest)) return { state: 'absent', problems };
    const d = fileDiff(dest, ref);
    if (d !== null) return { state: 'partial', problems: [`a new destination exists but is not the backup: ${d}`] };
    const ic = integrityCheck(dest);
    if (ic !== 'ok') problems.push(`integrity_check of the complete destination: ${ic.slice(0, 200)}`);
    return { state: 'complete', problems };
  }
  let ic: string;
  try {
    ic = integrityCheck(dest);
  } catch (e) {
    ic = String((e as Error).message ?? e);
  }
  if (ic !== 'ok') problems.push(`integrity_check of the overwritten destination: ${ic.slice(0, 200)}`);
  if (fileSha(dest) === old?.sha) return { state: 'old', problems };
  if (fileDiff(dest, ref, kind === 'overwrite-wal' ? WAL_DESTINATION_FIELDS : BACKUP_HEADER_FIELDS) === null) return { state: 'new', problems };
  problems.push(`the overwritten destination is neither the old database nor the backup (vs old: ${old ? fileDiff(dest, old.path, WAL_DESTINATION_FIELDS) : '?'}; vs backup: ${fileDiff(dest, ref, WAL_DESTINATION_FIELDS)})`);
  return { state: 'mix', problems };
}
