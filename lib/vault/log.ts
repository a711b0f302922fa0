/**
 * Log: a name's committed transaction log in a vault (docs/vault-format.md, "Logs"): segment,
 * index-entry and anchor keys, the JSON-and-digest encoding of index entries and anchors, reading
 * and checking a name's whole log, and resolving a restore target (a txid or a time) to the
 * anchor to start from and the segments to apply.
 *
 * The log is what the index entries and anchors say: a segment no index entry names is garbage of
 * a failed run, never read. Every entry is checked (digest, members, its key) before use, and the
 * log as a whole must be one run of ids (index entries and heal anchors, each starting where the
 * one before ended).
 *
 * Thread safety: main thread only.
 */
import { createHash } from 'node:crypto';
import { LitevaultError, vaultCorrupt } from '../errors';
import { Storage } from './storage';

/** A WAL generation and a frame in it: where a shipped log ends (docs/replication.md). */
export interface LogPoint {
  salt1: number;
  salt2: number;
  frame: number;
}

/** One committed segment: its index entry. */
export interface LogIndexEntry extends LogPoint {
  key: string; // the index entry's own storage key
  segment: string; // 32 hex: the segment's checksum and key
  bytes: number;
  firstTxid: number;
  lastTxid: number;
  firstAt: string;
  lastAt: string;
  pageSize: number;
  firstFrame: number;
  lastFrame: number;
  checksum: [number, number];
}

/** A backup as a transaction of the log. */
export interface LogAnchor extends LogPoint {
  key: string;
  seq: number;
  txid: number;
  at: string;
  heal: boolean;
  pageSize: number;
}

/** A name's committed log: index entries and anchors, each sorted by txid. */
export interface NameLog {
  entries: LogIndexEntry[];
  anchors: LogAnchor[];
}

const U32 = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
const TXID = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= 9_999_999_999;
const TIME = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));
const PAGE_SIZE = (v: unknown): v is number => U32(v) && v >= 512 && v <= 65536 && (v & (v - 1)) === 0;
const HEX32 = /^[0-9a-f]{32}$/;
const INDEX_FILE = /^(\d{10})\.idx$/;
const ANCHOR_FILE = /^(\d{10})\.anchor$/;
const SEGMENT_PATH = /^([0-9a-f]{2})\/([0-9a-f]{32})\.seg$/;

const pad10 = (n: number): string => String(n).padStart(10, '0');
export const segmentKey = (name: string, key: string): string => `logs/${name}/segments/${key.slice(0, 2)}/${key}.seg`;
export const indexKey = (name: string, lastTxid: number): string => `logs/${name}/index/${pad10(lastTxid)}.idx`;
export const anchorKey = (name: string, seq: number): string => `logs/${name}/anchors/${pad10(seq)}.anchor`;

/** True for `<hh>/<key32>.seg` (what may lie under logs/<name>/segments/). */
export function isSegmentPath(path: string): boolean {
  const m = SEGMENT_PATH.exec(path);
  return m !== null && m[2]!.startsWith(m[1]!);
}

/** True for a key the format allows under `logs/<name>/`, given as the part after it. */
export function isLogPath(rest: string): boolean {
  if (rest.startsWith('segments/')) return isSegmentPath(rest.slice('segments/'.length));
  if (rest.startsWith('index/')) return INDEX_FILE.test(rest.slice('index/'.length));
  if (rest.startsWith('anchors/')) return ANCHOR_FILE.test(rest.slice('anchors/'.length));
  return false;
}

// JSON, a newline, the SHA-256 of the JSON bytes in hex, a newline.
function encodeEntry(body: object): Buffer {
  const json = Buffer.from(JSON.stringify(body));
  return Buffer.concat([json, Buffer.from(`\n${createHash('sha256').update(json).digest('hex')}\n`)]);
}

function decodeEntry(bytes: Buffer, what: string): Record<string, unknown> {
  const text = bytes.toString('utf8');
  const m = /^([^\n]*)\n([0-9a-f]{64})\n$/.exec(text);
  if (!m) throw vaultCorrupt(`${what}: not a log entry (JSON, then its SHA-256)`);
  if (createHash('sha256').update(m[1]!, 'utf8').digest('hex') !== m[2]) throw vaultCorrupt(`${what}: its SHA-256 does not match (damaged)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(m[1]!);
  } catch {
    throw vaultCorrupt(`${what}: not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw vaultCorrupt(`${what}: not a JSON object`);
  return parsed as Record<string, unknown>;
}

export function encodeIndexEntry(name: string, e: Omit<LogIndexEntry, 'key'>): { key: string; bytes: Buffer } {
  const body = {
    format: 'litevault-log-index', version: 1, name,
    segment: e.segment, bytes: e.bytes, firstTxid: e.firstTxid, lastTxid: e.lastTxid, firstAt: e.firstAt, lastAt: e.lastAt,
    pageSize: e.pageSize, salt1: e.salt1, salt2: e.salt2, firstFrame: e.firstFrame, lastFrame: e.frame, checksum: e.checksum,
  };
  return { key: indexKey(name, e.lastTxid), bytes: encodeEntry(body) };
}

export function encodeAnchor(name: string, a: Omit<LogAnchor, 'key'>): { key: string; bytes: Buffer } {
  const body = { format: 'litevault-log-anchor', version: 1, name, seq: a.seq, txid: a.txid, at: a.at, heal: a.heal, pageSize: a.pageSize, salt1: a.salt1, salt2: a.salt2, frame: a.frame };
  return { key: anchorKey(name, a.seq), bytes: encodeEntry(body) };
}

function parseIndexEntry(bytes: Buffer, key: string, name: string, lastTxid: number, where: string): LogIndexEntry {
  const what = `vault '${where}': log index ${key}`;
  const o = decodeEntry(bytes, what);
  const bad = (member: string): LitevaultError => vaultCorrupt(`${what}: bad or missing ${member}`);
  if (o.format !== 'litevault-log-index' || o.version !== 1) throw bad('format/version');
  if (o.name !== name) throw bad('name');
  if (typeof o.segment !== 'string' || !HEX32.test(o.segment)) throw bad('segment');
  if (!Number.isSafeInteger(o.bytes) || (o.bytes as number) < 72) throw bad('bytes');
  if (!TXID(o.firstTxid) || !TXID(o.lastTxid) || o.lastTxid < o.firstTxid || o.lastTxid !== lastTxid) throw bad('firstTxid/lastTxid');
  if (!TIME(o.firstAt) || !TIME(o.lastAt)) throw bad('firstAt/lastAt');
  if (!PAGE_SIZE(o.pageSize)) throw bad('pageSize');
  if (!U32(o.salt1) || !U32(o.salt2)) throw bad('salt1/salt2');
  if (!U32(o.firstFrame) || !U32(o.lastFrame) || o.firstFrame < 1 || o.lastFrame < o.firstFrame) throw bad('firstFrame/lastFrame');
  const c = o.checksum;
  if (!Array.isArray(c) || c.length !== 2 || !U32(c[0]) || !U32(c[1])) throw bad('checksum');
  return {
    key, segment: o.segment, bytes: o.bytes as number, firstTxid: o.firstTxid, lastTxid: o.lastTxid, firstAt: o.firstAt, lastAt: o.lastAt,
    pageSize: o.pageSize, salt1: o.salt1, salt2: o.salt2, firstFrame: o.firstFrame, frame: o.lastFrame, lastFrame: o.lastFrame, checksum: [c[0], c[1]],
  };
}

function parseAnchor(bytes: Buffer, key: string, name: string, seq: number, where: string): LogAnchor {
  const what = `vault '${where}': log anchor ${key}`;
  const o = decodeEntry(bytes, what);
  const bad = (member: string): LitevaultError => vaultCorrupt(`${what}: bad or missing ${member}`);
  if (o.format !== 'litevault-log-anchor' || o.version !== 1) throw bad('format/version');
  if (o.name !== name) throw bad('name');
  if (o.seq !== seq) throw bad('seq');
  if (!TXID(o.txid)) throw bad('txid');
  if (!TIME(o.at)) throw bad('at');
  if (typeof o.heal !== 'boolean') throw bad('heal');
  if (!PAGE_SIZE(o.pageSize)) throw bad('pageSize');
  if (!U32(o.salt1) || !U32(o.salt2) || !U32(o.frame)) throw bad('salt1/salt2/frame');
  return { key, seq, txid: o.txid, at: o.at, heal: o.heal, pageSize: o.pageSize, salt1: o.salt1, salt2: o.salt2, frame: o.frame };
}

/**
 * Reads the committed log of `name`: every index entry and anchor, checked, sorted by txid.
 * A foreign file under logs/<name>/ is LITEVAULT_VAULT_CORRUPT. Index entries and heal anchors
 * must form one run of ids; a log that does not is LITEVAULT_VAULT_CORRUPT naming the first
 * missing or repeated id.
 */
export async function readLog(storage: Storage, name: string): Promise<NameLog> {
  const prefix = `logs/${name}/`;
  const entries: LogIndexEntry[] = [];
  const anchors: LogAnchor[] = [];
  for (const { key } of await storage.list(prefix)) {
    const rest = key.slice(prefix.length);
    if (!isLogPath(rest)) throw vaultCorrupt(`vault '${storage.location}': foreign file '${key}' (not part of the vault format; move it out of the vault)`);
    const index = INDEX_FILE.exec(rest.slice('index/'.length));
    const anchor = ANCHOR_FILE.exec(rest.slice('anchors/'.length));
    if (rest.startsWith('index/') && index) entries.push(parseIndexEntry(await storage.get(key), key, name, Number(index[1]), storage.location));
    else if (rest.startsWith('anchors/') && anchor) anchors.push(parseAnchor(await storage.get(key), key, name, Number(anchor[1]), storage.location));
  }
  entries.sort((a, b) => a.lastTxid - b.lastTxid);
  anchors.sort((a, b) => a.txid - b.txid || a.seq - b.seq);
  checkRun(entries, anchors, `vault '${storage.location}': the log of ${name}`);
  return { entries, anchors };
}

// Index entries and heal anchors, in txid order, each starting right after the one before.
// Pruning removes the oldest entries, so the run may start anywhere; non-heal anchors must name a
// txid inside the run (or its end, once shipped).
function checkRun(entries: LogIndexEntry[], anchors: LogAnchor[], what: string): void {
  const steps = [
    ...entries.map((e) => ({ first: e.firstTxid, last: e.lastTxid, key: e.key })),
    ...anchors.filter((a) => a.heal).map((a) => ({ first: a.txid, last: a.txid, key: a.key })),
  ].sort((a, b) => a.first - b.first);
  for (let i = 1; i < steps.length; i++) {
    const prev = steps[i - 1]!;
    const step = steps[i]!;
    if (step.first !== prev.last + 1) {
      throw vaultCorrupt(`${what}: ${step.first <= prev.last ? `transaction ${step.first} is in both ${prev.key} and ${step.key}` : `transactions ${prev.last + 1}..${step.first - 1} are missing (between ${prev.key} and ${step.key})`}`);
    }
  }
}

/** The id after the log's last transaction, and where the shipped log ends; null for an empty log. */
export function logEnd(log: NameLog): { nextTxid: number; point: LogPoint; checksum: [number, number] | null; pageSize: number } | null {
  const entry = log.entries.at(-1);
  const heal = log.anchors.filter((a) => a.heal).at(-1);
  if (!entry && !heal) return null;
  if (entry && (!heal || entry.lastTxid > heal.txid)) {
    return { nextTxid: entry.lastTxid + 1, point: { salt1: entry.salt1, salt2: entry.salt2, frame: entry.frame }, checksum: entry.checksum, pageSize: entry.pageSize };
  }
  return { nextTxid: heal!.txid + 1, point: { salt1: heal!.salt1, salt2: heal!.salt2, frame: heal!.frame }, checksum: null, pageSize: heal!.pageSize };
}

/** The restorable range of a log: its first anchor's transaction to its last transaction. */
export interface LogRange {
  firstTxid: number;
  firstAt: string;
  lastTxid: number;
  lastAt: string;
}

/** The range a restore to a point can reach, given the seqs of the name's committed backups; null if none. */
export function logRange(log: NameLog, committed: Set<number>): LogRange | null {
  const first = log.anchors.find((a) => committed.has(a.seq));
  if (!first) return null;
  const entry = log.entries.at(-1);
  const heal = log.anchors.filter((a) => a.heal && committed.has(a.seq)).at(-1);
  let last = { txid: first.txid, at: first.at };
  if (entry && entry.lastTxid > last.txid) last = { txid: entry.lastTxid, at: entry.lastAt };
  if (heal && heal.txid > last.txid) last = { txid: heal.txid, at: heal.at };
  return { firstTxid: first.txid, firstAt: first.at, lastTxid: last.txid, lastAt: last.at };
}

/** What a restore to a point does: rebuild `anchor`'s backup, then apply `segments` up to `txid`. */
export interface PointPlan {
  anchor: LogAnchor;
  segments: LogIndexEntry[];
  txid: number;
  recordedAt: string;
}

/**
 * The plan for restoring `name` to transaction `target.txid`, or to the newest transaction
 * recorded at or before `target.time` (docs/vault-format.md, "Restore to a transaction").
 * `recordTimes` reads one segment's per-transaction times (only the segment a time falls inside
 * is read). Anchors of backups not in `committed` are never a starting point.
 * @throws LitevaultError LITEVAULT_NOT_FOUND when the target lies outside the restorable range.
 */
export async function planPoint(
  log: NameLog,
  committed: Set<number>,
  target: { txid: number } | { time: number },
  recordTimes: (entry: LogIndexEntry) => Promise<{ txid: number; recordedAt: number }[]>,
  what: string,
): Promise<PointPlan> {
  const range = logRange(log, committed);
  if (!range) throw new LitevaultError({ message: `${what}: no transaction log to restore from (no replicated backup)`, code: 'LITEVAULT_NOT_FOUND' });
  const outside = (t: string): LitevaultError =>
    new LitevaultError({ message: `${what}: ${t} is outside the restorable range: transactions ${range.firstTxid} (${range.firstAt}) to ${range.lastTxid} (${range.lastAt})`, code: 'LITEVAULT_NOT_FOUND' });
  let txid: number;
  let recordedAt: string;
  if ('txid' in target) {
    txid = target.txid;
    if (txid < range.firstTxid || txid > range.lastTxid) throw outside(`transaction ${txid}`);
    recordedAt = '';
  } else {
    const at = target.time;
    const label = new Date(at).toISOString();
    // Times grow with ids (each is the time of the poll that saw it): the last step starting at
    // or before `at` holds the answer.
    const steps = [
      ...log.entries.map((e) => ({ first: e.firstTxid, firstAt: Date.parse(e.firstAt), entry: e as LogIndexEntry | null, anchor: null as LogAnchor | null })),
      ...log.anchors.filter((a) => a.heal).map((a) => ({ first: a.txid, firstAt: Date.parse(a.at), entry: null, anchor: a })),
    ].sort((a, b) => a.first - b.first);
    const step = steps.filter((s) => s.firstAt <= at).at(-1);
    if (!step) throw outside(label);
    if (step.anchor) {
      txid = step.anchor.txid;
      recordedAt = step.anchor.at;
    } else if (Date.parse(step.entry!.lastAt) <= at) {
      txid = step.entry!.lastTxid;
      recordedAt = step.entry!.lastAt;
    } else {
      const times = await recordTimes(step.entry!);
      const hit = times.filter((r) => r.recordedAt <= at).at(-1)!;
      txid = hit.txid;
      recordedAt = new Date(hit.recordedAt).toISOString();
    }
    if (txid < range.firstTxid) throw outside(label);
  }
  const anchor = log.anchors.filter((a) => a.txid <= txid && committed.has(a.seq)).at(-1)!;
  const heal = log.anchors.find((a) => a.heal && a.txid > anchor.txid && a.txid <= txid);
  if (heal) {
    // A heal stands for changes no segment holds: only its backup reaches past it.
    throw vaultCorrupt(`${what}: transaction ${heal.txid} is a backup (${heal.seq}) that is no longer in the vault, so transactions ${heal.txid}..${txid} cannot be rebuilt`);
  }
  const segments = log.entries.filter((e) => e.lastTxid > anchor.txid && e.firstTxid <= txid);
  let next = anchor.txid + 1;
  for (const e of segments) {
    if (e.firstTxid > next) throw vaultCorrupt(`${what}: transaction ${next} is in no segment of the log`);
    next = e.lastTxid + 1;
  }
  if (next <= txid) throw vaultCorrupt(`${what}: transaction ${next} is in no segment of the log`);
  if (recordedAt === '') {
    const entry = segments.find((e) => e.firstTxid <= txid && txid <= e.lastTxid);
    if (txid === anchor.txid) recordedAt = anchor.at;
    else if (entry && txid === entry.lastTxid) recordedAt = entry.lastAt;
    else if (entry) recordedAt = new Date((await recordTimes(entry)).find((r) => r.txid === txid)!.recordedAt).toISOString();
  }
  return { anchor, segments, txid, recordedAt };
}
