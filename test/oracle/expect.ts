/**
 * Assertions the tests share: the typed rejection every failure path must give, and the byte
 * image a backup must have (SQLite's, outside the header fields a backup may change).
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { LitevaultError } from '../../dist/index.js';

/** Awaits `p` (or calls `p`), expecting it to fail with a LitevaultError, and returns that error. */
export async function rejection(p: Promise<unknown> | (() => unknown)): Promise<LitevaultError> {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'expected a LitevaultError').toBeInstanceOf(LitevaultError);
  return err as LitevaultError;
}

/** Header bytes a backup may differ in: change counter, schema cookie, version-valid-for and SQLite version. */
export const BACKUP_HEADER_FIELDS: ReadonlyArray<readonly [number, number]> = [
  [24, 28],
  [40, 44],
  [92, 100],
];

/** The two files have the same bytes outside {@link BACKUP_HEADER_FIELDS}. */
export function expectSameImage(actual: string, expected: string): void {
  const a = readFileSync(actual);
  const b = readFileSync(expected);
  expect(a.length, `${actual} and ${expected} sizes`).toBe(b.length);
  for (const [from, to] of BACKUP_HEADER_FIELDS) {
    a.fill(0, from, to);
    b.fill(0, from, to);
  }
  expect(a.equals(b), `${actual} is ${expected}'s image outside header bytes 24..27, 40..43, 92..99`).toBe(true);
}
