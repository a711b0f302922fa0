// Retention (lib/vault/retention.ts): restic's forget rules over dated backups, with every
// backup a kept one depends on kept too. Pure policy, so plain dates are the whole input.
import { describe, expect, it } from 'vitest';
import { checkRules, keptSeqs, parseDuration } from '../lib/vault/retention';

const day = 86400e3;
const at = (ms: number): string => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

// seq 1 full, then incrementals; seq 6 a second full, 7 a differential of it, 8 incremental of 7.
const chain = [
  { seq: 1, base: null, createdAt: at(0) },
  { seq: 2, base: 1, createdAt: at(0.5 * day) },
  { seq: 3, base: 2, createdAt: at(1 * day) },
  { seq: 4, base: 3, createdAt: at(1.5 * day) },
  { seq: 5, base: 4, createdAt: at(8 * day) },
  { seq: 6, base: null, createdAt: at(9 * day) },
  { seq: 7, base: 6, createdAt: at(9.2 * day) },
  { seq: 8, base: 7, createdAt: at(9.4 * day) },
];

describe('vault retention', () => {
  it('keepLast keeps the newest N and what they depend on', () => {
    expect([...keptSeqs(chain, { keepLast: 1 })].sort()).toEqual([6, 7, 8]);
    expect([...keptSeqs(chain, { keepLast: 4 })].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
  it('keepDaily keeps the newest backup of each of the last N days with backups', () => {
    // days: 2026-01-10 (6,7,8 -> 8), 01-09 (5), 01-02 (3,4 -> 4): chains pull 1..4 and 6,7 in.
    expect([...keptSeqs(chain, { keepDaily: 1 })].sort()).toEqual([6, 7, 8]);
    expect([...keptSeqs(chain, { keepDaily: 3 })].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
  it('keepWithin is measured back from the newest backup, not from now', () => {
    expect([...keptSeqs(chain, { keepWithin: parseDuration('12h', 't') })].sort()).toEqual([6, 7, 8]);
  });
  it('keepMonthly and keepWeekly bucket by UTC month and ISO week', () => {
    expect([...keptSeqs(chain, { keepMonthly: 1 })].sort()).toEqual([6, 7, 8]);
    // 2026-01-01 is a Thursday: 01-01..01-02 are ISO week 1, 01-09..01-10 week 2 (newest 8; 5 is not kept).
    expect([...keptSeqs(chain, { keepWeekly: 2 })].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 6, 7, 8]);
  });
  it('refuses no rules and bad values with SQLITE_MISUSE', () => {
    expect(() => checkRules({}, 'prune')).toThrow(expect.objectContaining({ code: 'SQLITE_MISUSE' }));
    expect(() => checkRules({ keepLast: -1 }, 'prune')).toThrow(expect.objectContaining({ code: 'SQLITE_MISUSE' }));
    expect(() => checkRules({ keepWithin: '7 days' }, 'prune')).toThrow(expect.objectContaining({ code: 'SQLITE_MISUSE' }));
    expect(checkRules({ keepWithin: '2w' }, 'prune').keepWithin).toBe(14 * day);
  });
});
