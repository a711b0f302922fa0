import { misuse } from './errors';

/**
 * The priority litevault's native work runs at: 'background' (the default for backups, PASSIVE
 * checkpoints and vault work) lowers the threadpool thread that runs each step to nice 19 and
 * I/O best-effort level 7 for that step only, and gives the thread back its own values after it,
 * so that an application writing the database meanwhile is disturbed as little as possible. A
 * value is lowered only where it can be put back: a process that may not lower a nice value
 * again (RLIMIT_NICE, CAP_SYS_NICE) lowers only the I/O priority. FULL and stronger checkpoints
 * and streams run at normal priority whatever is asked (README, "Priority and speed"). 'normal'
 * leaves threads as they are.
 */
export type Priority = 'background' | 'normal';

/** @internal Whether `priority` (an option of `where`) means background; throws SQLITE_MISUSE for a bad value. */
export function isBackground(priority: unknown, where: string): boolean {
  if (priority === undefined || priority === 'background') return true;
  if (priority === 'normal') return false;
  throw misuse(`${where}: priority must be 'background' or 'normal'`);
}
