/**
 * Retention: which backups of one name a prune keeps (docs/vault-format.md, "Prune"). Pure: no
 * I/O. The rules are restic's `forget` rules; a backup is kept when any rule keeps it, and then
 * every backup it depends on (its base, recursively) is kept too, so a kept backup always
 * restores.
 */
import { misuse } from '../errors';

/** Which backups {@link Vault.prune} keeps; at least one rule is required. */
export interface RetentionRules {
  /** Keep the newest N backups. */
  keepLast?: number;
  /** Keep every backup made within this long before the newest one: ms, or '90m', '36h', '7d', '2w', '1y'. */
  keepWithin?: number | string;
  /** For the last N UTC days that have backups, keep the newest backup of each. */
  keepDaily?: number;
  /** For the last N ISO weeks (UTC) that have backups, keep the newest backup of each. */
  keepWeekly?: number;
  /** For the last N UTC months that have backups, keep the newest backup of each. */
  keepMonthly?: number;
}

/** The fields retention looks at. */
export interface Dated {
  seq: number;
  base: number | null;
  createdAt: string;
}

const UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3, y: 365 * 86400e3 };

/** '7d' -> ms. @throws SQLITE_MISUSE */
export function parseDuration(value: number | string, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw misuse(`${what}: a duration must be a non-negative number of ms`);
    return value;
  }
  const m = /^(\d+)([smhdwy])$/.exec(value);
  if (!m) throw misuse(`${what}: a duration is a number and a unit (s, m, h, d, w, y), e.g. '7d', not ${JSON.stringify(value)}`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

function checkCount(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw misuse(`${what} must be a non-negative integer`);
  return value as number;
}

/** Validates the rules. @throws SQLITE_MISUSE without any rule or with a bad one. */
export function checkRules(rules: RetentionRules, what: string): RetentionRules {
  const out: RetentionRules = {
    keepLast: checkCount(rules.keepLast, `${what}: keepLast`),
    keepDaily: checkCount(rules.keepDaily, `${what}: keepDaily`),
    keepWeekly: checkCount(rules.keepWeekly, `${what}: keepWeekly`),
    keepMonthly: checkCount(rules.keepMonthly, `${what}: keepMonthly`),
    keepWithin: rules.keepWithin === undefined ? undefined : parseDuration(rules.keepWithin, `${what}: keepWithin`),
  };
  if (Object.values(out).every((v) => v === undefined)) {
    throw misuse(`${what}: give at least one rule (keepLast, keepWithin, keepDaily, keepWeekly, keepMonthly); prune never removes everything by default`);
  }
  return out;
}

function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const year = t.getUTCFullYear();
  const week = Math.ceil(((t.getTime() - Date.UTC(year, 0, 1)) / 86400e3 + 1) / 7);
  return `${year}-W${week}`;
}

/** The seqs to keep, given every backup of one name (any order) and validated rules. */
export function keptSeqs<T extends Dated>(backups: readonly T[], rules: RetentionRules): Set<number> {
  const newest = [...backups].sort((a, b) => b.seq - a.seq);
  const keep = new Set<number>();
  newest.slice(0, rules.keepLast ?? 0).forEach((b) => keep.add(b.seq));
  if (rules.keepWithin !== undefined && newest.length > 0) {
    const since = Date.parse(newest[0]!.createdAt) - (rules.keepWithin as number);
    for (const b of newest) if (Date.parse(b.createdAt) >= since) keep.add(b.seq);
  }
  const buckets = (n: number | undefined, bucket: (d: Date) => string): void => {
    const seen = new Set<string>();
    for (const b of newest) {
      if (seen.size >= (n ?? 0)) break;
      const key = bucket(new Date(b.createdAt));
      if (seen.has(key)) continue;
      seen.add(key);
      keep.add(b.seq);
    }
  };
  buckets(rules.keepDaily, (d) => d.toISOString().slice(0, 10));
  buckets(rules.keepWeekly, isoWeek);
  buckets(rules.keepMonthly, (d) => d.toISOString().slice(0, 7));
  // Dependencies: a kept backup's base chain is kept.
  const bySeq = new Map(backups.map((b) => [b.seq, b]));
  for (const seq of [...keep]) {
    for (let b = bySeq.get(seq); b && b.base !== null; b = bySeq.get(b.base)) keep.add(b.base);
  }
  return keep;
}
