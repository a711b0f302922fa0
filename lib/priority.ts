import { misuse } from './errors';

/**
 * The priority litevault's native work runs at: 'background' (the default for backups,
 * checkpoints and vault work) lowers the threadpool thread that runs each step to nice 19 and
 * I/O best-effort level 7 for that step only, and gives the thread back its own values after it,
 * so that an application writing the database meanwhile does not notice. Where the process may
 * not raise a thread's CPU priority again once lowered (an unprivileged process whose
 * RLIMIT_NICE forbids it), only the I/O priority is lowered. 'normal' leaves threads as they are.
 */
export type Priority = 'background' | 'normal';

/** @internal Whether `priority` (an option of `where`) means background; throws SQLITE_MISUSE for a bad value. */
export function isBackground(priority: unknown, where: string): boolean {
  if (priority === undefined || priority === 'background') return true;
  if (priority === 'normal') return false;
  throw misuse(`${where}: priority must be 'background' or 'normal'`);
}
