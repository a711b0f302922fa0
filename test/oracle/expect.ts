/**
 * Assertions the tests share: the typed rejection every failure path must give, and the byte
 * image a backup must have (SQLite's, outside the header fields a backup may change), as an
 * assertion or, for the trial suites that classify outcomes, as a description of the first
 * difference.
 */
import { existsSync, readFileSync } from 'node:fs';
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

/** A WAL destination keeps its file format bytes (18, 19) through an overwrite. */
export const WAL_DESTINATION_FIELDS: ReadonlyArray<readonly [number, number]> = [...BACKUP_HEADER_FIELDS, [18, 20]];

/** null when the images are equal outside `ignored`, else where they first differ. */
export function imageDiff(a: Buffer, b: Buffer, ignored = BACKUP_HEADER_FIELDS): string | null {
  if (a.length !== b.length) return `size ${a.length} vs ${b.length}`;
  const skip = (i: number): boolean => ignored.some(([lo, hi]) => i >= lo && i < hi);
  for (let i = 0; i < Math.min(100, a.length); i++) if (a[i] !== b[i] && !skip(i)) return `header byte ${i}: ${a[i]} vs ${b[i]}`;
  if (a.subarray(100).equals(b.subarray(100))) return null;
  const raw = a.length >= 18 ? a.readUInt16BE(16) : 0;
  const page = raw === 1 ? 65536 : raw >= 512 ? raw : 4096;
  for (let off = 0; off < a.length; off += page) {
    const s = Math.max(off, 100);
    const e = Math.min(a.length, off + page);
    if (s < e && !a.subarray(s, e).equals(b.subarray(s, e))) {
      let i = s;
      while (a[i] === b[i]) i++;
      return `byte ${i} (page ${Math.floor(i / page) + 1})`;
    }
  }
  return 'differs';
}

/** {@link imageDiff} of two files; 'missing' when `file` does not exist. */
export function fileDiff(file: string, ref: string, ignored = BACKUP_HEADER_FIELDS): string | null {
  if (!existsSync(file)) return 'missing';
  return imageDiff(readFileSync(file), readFileSync(ref), ignored);
}

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
