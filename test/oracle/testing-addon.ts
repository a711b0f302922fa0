/**
 * The TEST build of the addon, for the fault-injection and interleaving tests. Import it FIRST,
 * before anything that loads ../dist (it sets LITEVAULT_TEST_ADDON, then loads the API), and
 * take the API from here:
 *
 *   import { backup, Backup, Database, pauseAt, testBinding } from './oracle/testing-addon.js';
 *
 *   const result = await pauseAt('backup-step-begin', () => b.step(-1), () => {
 *     writer.exec('INSERT ...');          // real SQLite acts while the step is held at the point
 *   });
 *
 * Sync points (native/src/os/sync_point.h) in the core: after-shared-lock, after-header-read,
 * before-wal-read-lock (pager), checkpoint-before-nbackfill, wal-follow-between-frames (wal), backup-step-begin,
 * backup-after-copy (backup), vault-scan-step (vault), image-reader-read (a backup stream's read,
 * after its snapshot was taken). A paused operation still holds its handle's mutex: whilePaused must
 * not call the same handle (it would queue behind the pause until the 30 s safety release).
 */
import './use-test-addon.js';
import { TEST_ADDON_PATH } from './use-test-addon.js';
import * as api from '../../dist/index.js';
import { binding, type NativeTestHooks } from '../../dist/binding.js';

export * from '../../dist/index.js';
export { TEST_ADDON_PATH };

if (api.nativeAddon.from !== 'test' || api.nativeAddon.path !== TEST_ADDON_PATH || typeof binding.syncPointArm !== 'function') {
  throw new Error(
    `the test addon is not the one loaded (${api.nativeAddon.path}): import test/oracle/testing-addon.js before anything that loads dist/`,
  );
}

/** The binding with the test build's hooks (setFaultPlan, faultOperations, syncPoint*). */
export const testBinding = binding as typeof binding & NativeTestHooks;

/** The next `count` threads that reach `name` pause there until released. */
export function arm(name: string, count = 1): void {
  testBinding.syncPointArm(name, count);
}
/** True once a thread is paused at `name`; false after timeoutMs or a reset. */
export function waitArrived(name: string, timeoutMs = 10_000): Promise<boolean> {
  return testBinding.syncPointWait(name, timeoutMs);
}
/** Lets every thread paused at `name` go on. */
export function release(name: string): void {
  testBinding.syncPointRelease(name);
}
/** Disarms every point and releases every paused thread (use in afterEach). */
export function resetSyncPoints(): void {
  testBinding.syncPointReset();
}
/** os/fault.h: the N-th disk-changing operation fails, or all from it on silently do not happen. */
export function setFaultPlan(plan: Parameters<NativeTestHooks['setFaultPlan']>[0]): void {
  testBinding.setFaultPlan(plan);
}
/** Disk-changing operations since the last setFaultPlan(). */
export function faultOperations(): number {
  return testBinding.faultOperations();
}

export interface PauseOptions {
  /** How long to wait for the operation to reach the point (default 10 s). */
  timeoutMs?: number;
}

/**
 * Arms `name`, starts `operation`, waits until it is paused at `name`, runs `whilePaused` (real
 * SQLite acts there), then releases the point and resolves to what the operation resolved to
 * (or rejects with its error). Rejects if the operation ends, or the timeout passes, without
 * reaching the point; the point is released and disarmed however this ends.
 */
export async function pauseAt<T>(
  name: string,
  operation: () => Promise<T>,
  whilePaused: () => unknown,
  options: PauseOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  arm(name, 1);
  const running = operation();
  const settled = running.then(
    () => 'settled' as const,
    () => 'settled' as const,
  );
  let cleanExit = false;
  try {
    const first = await Promise.race([waitArrived(name, timeoutMs).then((ok) => (ok ? 'arrived' : 'timeout') as const), settled]);
    if (first !== 'arrived') {
      throw new Error(`sync point '${name}': the operation ${first === 'settled' ? 'ended' : `ran ${timeoutMs} ms`} without reaching it`);
    }
    await whilePaused();
    cleanExit = true;
  } finally {
    if (cleanExit) {
      release(name);
    } else {
      resetSyncPoints(); // disarm what was not consumed, release the pause, end the pending wait
      await running.catch(() => undefined);
    }
  }
  return running;
}
