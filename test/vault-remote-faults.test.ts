// A remote vault under a faulty network (issue 15, item 6 and "Done when": 200 randomized runs of
// backup, restore and prune under the fault proxy: 0 committed backups lost, 0 partial restores,
// every failure a typed error naming the object and the HTTP status).
//
// The vault is a prefix in a bucket of a real S3-protocol server (moto_server on loopback,
// test/oracle/moto.ts). Every run opens it through our fault proxy (test/oracle/fault-proxy.ts),
// with 2 or 3 attempts per request, and runs one backup (full, incremental, differential or
// auto, of one of two databases real SQLite writes between runs: a rollback-journal one changed
// by the sqlite3 shell, and a WAL one that a better-sqlite3 connection keeps open and writes,
// frames left in its -wal), one restore (to a new path, or with overwrite onto a rollback or a
// WAL database) or one prune (keep-last N, of one name or all). The proxy faults requests at a
// per-run rate drawn from the run's seed (500 / 503 SlowDown with or without the store having
// done the work, delays, connections dropped before forwarding or after the store's answer,
// answers cut off mid-body), and a third of the runs add an explicit rule at the commit rule's
// sore points (the manifest's create answered or dropped after the store wrote it, its read-back
// failing, a pack's put, the lease's create and renewal, a manifest or pack deletion of a prune,
// a pack's or manifest's body cut off in a restore).
//
// Each run is judged from outside: the bucket listed and read with the AWS SDK directly (ETags
// and sizes), and a clean Vault.open without the proxy:
// - every backup committed before the run is still listed, its manifest unchanged (ETag, size)
//   and every pack its meta names present with its size; the clean vault lists exactly the
//   backups the model holds;
// - a backup that resolved is listed with its seq; one that rejected either committed (its
//   manifest is there: "failed after commit", and then its error says the backup may have been
//   committed) or left the manifests exactly as they were ("failed clean"); never two new
//   manifests, never a manifest with a pack missing; each new backup restores (clean vault) to
//   SQLite's own `.backup` of the source taken at backup time, outside header bytes 24..27,
//   40..43, 92..99;
// - a restore to a new path leaves it absent or the complete image (integrity_check ok); one
//   with overwrite leaves the old database byte-identical or the backup's image, integrity_check
//   ok; no temporary beside the destination; a restore that resolved wrote the backup;
// - a prune removes only what its dry run (clean vault, before) said, each name's highest seqs
//   first, never a backup a kept one depends on; what it left restores;
// - every rejection is a LitevaultError with a documented code for a store that fails
//   transiently (LITEVAULT_REMOTE_UNAVAILABLE, retryable, naming the object's s3:// URL and, when
//   the last answer for that object was a 5xx, that status in httpStatus and in the message;
//   LITEVAULT_BACKUP_IN_PROGRESS naming the lease, only for a lease not renewed for a whole TTL:
//   no other holder ever exists here);
// - a lease is left only by a release that could not reach the store, a take that failed after
//   the store wrote it or a lease lost to its TTL, never by a release refused for an ETag the
//   lease no longer had; its name is then kept out of backups and prunes for 8 runs, after which
//   the lease must have expired by itself (taken and released without the proxy).
// At the end every backup still committed is restored once more. The summary line starts with
// "remote faults |". LITEVAULT_REMOTE_FAULT_SEED=<n> repeats a run's plans (the fault draws
// follow the order requests arrive in), LITEVAULT_REMOTE_FAULT_RUNS=<n> changes the count.
import Sqlite from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LitevaultError, Vault } from '../dist/index.js';
import { S3Storage } from '../dist/vault/s3-storage.js';
import { fileDiff } from './oracle/expect';
import { startFaultProxy, type FaultPlan, type FaultProxy, type FaultRule, type ProxiedRequest } from './oracle/fault-proxy';
import { moto, stopMoto } from './oracle/moto';
import { mulberry32 } from './oracle/random';
import { integrityCheck, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';
import { fileSha, restoredState } from './oracle/restored';
import { manifestMeta, vaultPlace, type StoredObjectView, type VaultPlace } from './oracle/vault-places';

const RUNS = Number(process.env.LITEVAULT_REMOTE_FAULT_RUNS ?? 200);
const SEED = Number(process.env.LITEVAULT_REMOTE_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const rand = mulberry32(SEED);
const pickInt = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
/** One of the keys, with chances proportional to the weights. */
function weighted<K extends string>(weights: Record<K, number>): K {
  const entries = Object.entries(weights) as [K, number][];
  let x = rand() * entries.reduce((sum, [, w]) => sum + w, 0);
  return entries.find(([, w]) => (x -= w) < 0)?.[0] ?? entries[0]![0];
}
const LEASE_MS = 1500;
const BLOCK_RUNS = 8;
const NAMES = ['roll', 'live'] as const;
type Name = (typeof NAMES)[number];

const work = tmpDir('litevault-remote-faults-');
const scratch = path.join(work, 'scratch');
fs.mkdirSync(scratch);
let fileCounter = 0;
const fresh = (label: string): string => path.join(work, `${++fileCounter}-${label}`);
const errText = (e: unknown): string => (e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message.slice(0, 400)}` : String(e));
const inc = (m: Record<string, number>, k: string, by = 1): void => void (m[k] = (m[k] ?? 0) + by);
const fmt = (m: Record<string, number>): string =>
  Object.entries(m)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

let proxy: FaultProxy;
let place: VaultPlace;
let live: Sqlite.Database;
const sources: Record<Name, string> = { roll: path.join(work, 'roll.db'), live: path.join(work, 'live.db') };

afterAll(async () => {
  live?.close();
  await proxy?.close();
  await stopMoto();
  removeTmpDirs();
});

// ---------------------------------------------------------------------------------------------
// The databases, written and judged by real SQLite only

/** Table r: random 400-byte blobs (incompressible); table p: compressible text with an index. A few hundred KiB. */
const SCHEMA =
  'PRAGMA page_size=4096;\nBEGIN;\n' +
  'CREATE TABLE r(id INTEGER PRIMARY KEY, v BLOB NOT NULL);\n' +
  'CREATE TABLE p(id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL);\nCREATE INDEX p_k ON p(k);\n' +
  'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<450) INSERT INTO r(v) SELECT randomblob(400) FROM c;\n' +
  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<300) INSERT INTO p(k, v) SELECT printf('k%08d', x), printf('%0300d', x) FROM c;\n" +
  'COMMIT;\n';

/** SQL that changes about `fraction` of both tables' rows (plus inserts and deletes, the database staying about its size), VACUUM sometimes. */
function changeSql(fraction: number): string {
  const per = Math.max(1, Math.round(fraction * 1000));
  const a = pickInt(1, 997);
  const b = pickInt(0, 999);
  const n = Math.max(1, Math.round(per / 10));
  return (
    'BEGIN;\n' +
    `UPDATE r SET v = randomblob(400) WHERE ((id * ${a} + ${b}) % 1000) < ${per};\n` +
    `UPDATE p SET v = printf('%0300d', abs(random())) WHERE ((id * ${a} + ${b + 7}) % 1000) < ${per};\n` +
    `DELETE FROM r WHERE id IN (SELECT id FROM r ORDER BY (id * ${b + 3}) % 1009 LIMIT ${n});\n` +
    `INSERT INTO r(v) SELECT randomblob(400) FROM p LIMIT ${n};\n` +
    `DELETE FROM p WHERE id IN (SELECT id FROM p ORDER BY (id * ${a}) % 1013 LIMIT ${n});\n` +
    `INSERT INTO p(k, v) SELECT printf('n%08d', abs(random()) % 100000000), 'new' FROM p LIMIT ${n};\n` +
    'COMMIT;\n' +
    (rand() < 0.05 ? 'VACUUM;\n' : '')
  );
}

/** The sqlite3 shell changes the rollback database; the open better-sqlite3 connection changes the WAL one (leaving frames in its -wal). */
function change(name: Name): void {
  const sql = changeSql(pick([0.002, 0.01, 0.05, 0.3]));
  if (name === 'roll') sqliteShell(sources.roll, sql);
  else live.exec(sql);
}

/** SQLite's own online backup of the source (the sqlite3 shell, another process): what a vault backup of it must restore to. */
function oracle(name: Name): string {
  const ref = fresh(`${name}-ref.db`);
  sqliteShell(sources[name], `.backup '${ref}'\n`);
  return ref;
}

// ---------------------------------------------------------------------------------------------
// The model: what the vault must hold, and checks of the bucket against it

interface Committed {
  name: Name;
  seq: number;
  id: string;
  type: string;
  base: number | null;
  /** SQLite's .backup of the source when the backup was taken. */
  ref: string;
  key: string;
  tag: string;
  size: number;
  packs: { key: string; bytes: number }[];
}

const committed: Committed[] = [];
const manifestKey = (name: string, seq: number): string => `backups/${name}/${String(seq).padStart(10, '0')}.manifest`;
const packKey = (name: string, key: string): string => `packs/${name}/${key.slice(0, 2)}/${key}.pack`;
const MANIFEST = /^backups\/([^/]+)\/(\d{10})\.manifest$/;

const objectsNow = async (): Promise<Map<string, StoredObjectView>> => new Map((await place.objects()).map((o) => [o.key, o]));
const manifestKeys = (objects: Map<string, StoredObjectView>): string[] => [...objects.keys()].filter((k) => MANIFEST.test(k));

/** Every backup of `backups` is stored as committed: its manifest unchanged, every pack it names there with its size. */
function checkStored(objects: Map<string, StoredObjectView>, backups: readonly Committed[]): string[] {
  const problems: string[] = [];
  for (const c of backups) {
    const m = objects.get(c.key);
    if (!m) {
      problems.push(`committed backup ${c.name} ${c.id} is gone (${c.key})`);
      continue;
    }
    if (m.tag !== c.tag || m.size !== c.size) problems.push(`the manifest of ${c.name} ${c.id} changed (ETag ${m.tag}, ${m.size} bytes; was ${c.tag}, ${c.size})`);
    for (const p of c.packs) {
      const o = objects.get(packKey(c.name, p.key));
      if (o?.size !== p.bytes) problems.push(`pack ${p.key} of ${c.name} ${c.id}: ${o ? `${o.size} bytes, not ${p.bytes}` : 'missing'}`);
    }
  }
  return problems;
}

/** A manifest found in the bucket, read directly, as a model entry (its packs checked present). */
async function register(key: string, objects: Map<string, StoredObjectView>, ref: string, problems: string[]): Promise<Committed> {
  const meta = manifestMeta(await place.read(key));
  const o = objects.get(key)!;
  const c: Committed = { name: meta.name as Name, seq: meta.seq, id: meta.id, type: meta.type, base: meta.base, ref, key, tag: o.tag, size: o.size, packs: meta.packs.map((p) => ({ key: p.key, bytes: p.bytes })) };
  problems.push(...checkStored(objects, [c]));
  return c;
}

const cleanVault = (): Promise<Vault> => Vault.open(place.location, place.options);

/** The clean vault lists exactly the model's backups. */
async function checkListing(vault: Vault): Promise<string[]> {
  let listed: string[];
  try {
    listed = (await vault.list()).map((b) => `${b.name}/${b.id}`);
  } catch (e) {
    return [`the clean vault cannot list: ${errText(e)}`];
  }
  const expected = committed.map((c) => `${c.name}/${c.id}`).sort();
  return JSON.stringify(listed.sort()) === JSON.stringify(expected) ? [] : [`the clean vault lists ${listed.join(' ')}, the model holds ${expected.join(' ')}`];
}

let restores = 0;
/** Restores `c` through a clean vault to a new file: it must be SQLite's image of the source at backup time. */
async function checkRestore(c: Committed, vault: Vault, withIntegrity = false): Promise<string[]> {
  restores++;
  const out = path.join(scratch, `check-${restores}.db`);
  try {
    await vault.restore(c.name, out, { at: c.id });
  } catch (e) {
    return [`restore of ${c.name} ${c.id} (${c.type}) through the clean vault failed: ${errText(e)}`];
  }
  const problems: string[] = [];
  const d = fileDiff(out, c.ref);
  if (d !== null) problems.push(`restore of ${c.name} ${c.id} (${c.type}) differs from SQLite's .backup at that time: ${d}`);
  if (withIntegrity && integrityCheck(out) !== 'ok') problems.push(`restore of ${c.name} ${c.id}: integrity_check failed`);
  for (const s of ['', '-journal', '-wal', '-shm']) fs.rmSync(out + s, { force: true });
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Judging a rejection

const failing = (r: ProxiedRequest): boolean => r.action !== 'pass' && !r.action.startsWith('delay');
const errorCodes: Record<string, number> = {};
const errorStatuses: Record<string, number> = {};

/** A run's rejection must be typed, documented, and name the object (and the status the store's last answer for it had). */
function judgeError(err: unknown, log: readonly ProxiedRequest[], name: string | undefined): string[] {
  if (!(err instanceof LitevaultError)) {
    inc(errorCodes, 'untyped');
    return [`not a LitevaultError: ${(err as Error)?.constructor?.name} ${errText(err)}`];
  }
  inc(errorCodes, err.code);
  inc(errorStatuses, err.httpStatus === undefined ? 'none' : String(err.httpStatus));
  const problems: string[] = [];
  if (!err.retryable) problems.push(`${err.code} is not retryable: ${err.message}`);
  if (err.code === 'LITEVAULT_REMOTE_UNAVAILABLE') {
    const url = /'(s3:\/\/[^']+)'/.exec(err.message)?.[1];
    if (url === undefined || !url.startsWith(`${place.location}/`)) return [...problems, `the message names no object of the vault: ${err.message}`];
    const fullKey = url.slice('s3://'.length).split('/').slice(1).join('/');
    const last = log.filter((r) => r.key === fullKey).at(-1);
    if (!last) problems.push(`the message names ${url}, which no request of the run was for`);
    else if (last.status !== undefined && last.status >= 500 && err.httpStatus !== last.status) problems.push(`the last answer for ${url} was ${last.status}, the error's httpStatus is ${String(err.httpStatus)}: ${err.message}`);
    if (err.httpStatus !== undefined && !err.message.includes(`HTTP ${err.httpStatus}`)) problems.push(`httpStatus ${err.httpStatus} is not in the message: ${err.message}`);
  } else if (err.code === 'LITEVAULT_BACKUP_IN_PROGRESS') {
    // No other holder ever exists here (a lease a run left is waited out before the next run):
    // the only true reason is a lease this run could not renew for a whole TTL.
    if (name === undefined || !err.message.includes(`locks/${name}.lease`)) problems.push(`LITEVAULT_BACKUP_IN_PROGRESS does not name the lease: ${err.message}`);
    if (!/could not be renewed for/.test(err.message)) problems.push(`LITEVAULT_BACKUP_IN_PROGRESS with no other holder of the lease: ${err.message}`);
  } else {
    problems.push(`${err.code} is not what a store that fails transiently gives: ${err.message}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The explicit rules: the commit rule's sore points

const MANIFEST_RE = /\/backups\/[^/]+\/\d{10}\.manifest$/;
const PACK_RE = /\/packs\/[^/]+\/[0-9a-f]{2}\/[0-9a-f]{32}\.pack$/;
const LEASE_RE = /\/locks\/[^/]+\.lease$/;
const every = (attempts: number, from = 1): number[] => Array.from({ length: attempts }, (_, i) => from + i);

function targeted(op: 'backup' | 'restore' | 'prune', attempts: number): { label: string; rules: FaultRule[] } | null {
  if (rand() >= 0.35) return null;
  const put = { method: 'PUT', operation: 'PutObject' };
  if (op === 'backup') {
    return pick([
      { label: 'manifest create: the store writes it, the answer is dropped (the retry finds it)', rules: [{ ...put, key: MANIFEST_RE, nth: 1, action: { kind: 'drop-after' } }] },
      { label: 'manifest create: the store writes it, the answer is 503', rules: [{ ...put, key: MANIFEST_RE, nth: 1, action: { kind: 'status-after', status: 503 } }] },
      { label: 'manifest create: every answer dropped after the store', rules: [{ ...put, key: MANIFEST_RE, action: { kind: 'drop-after' } }] },
      {
        label: 'manifest create: answer dropped, then its read-back fails',
        rules: [
          { ...put, key: MANIFEST_RE, nth: 1, action: { kind: 'drop-after' } },
          { method: 'GET', key: MANIFEST_RE, action: { kind: 'status', status: 500 } },
        ],
      },
      {
        // The timer's renewal (during a listing held up 650 ms) is written by the store but never
        // confirmed; the next renewal (before the commit) finds the lease under an ETag it never heard of.
        label: 'lease renewal: the store writes it, every answer fails',
        rules: [
          { method: 'GET', operation: 'ListObjectsV2', key: /\/backups\/[^/]+\/$/, nth: 1, action: { kind: 'delay', ms: 650 } },
          { ...put, key: LEASE_RE, nth: 2, action: { kind: 'status-after', status: 500 } },
          { ...put, key: LEASE_RE, nth: every(attempts - 1, 3), action: { kind: 'status', status: 500 } },
        ],
      },
      { label: 'pack put: every answer dropped after the store', rules: [{ ...put, key: PACK_RE, action: { kind: 'drop-after' } }] },
      { label: 'lease create: the store writes it, the answer is dropped', rules: [{ ...put, key: LEASE_RE, nth: 1, action: { kind: 'drop-after' } }] },
    ] as { label: string; rules: FaultRule[] }[]);
  }
  if (op === 'restore') {
    return pick([
      { label: 'pack body cut off once', rules: [{ method: 'GET', key: PACK_RE, nth: 1, action: { kind: 'truncate', fraction: rand() } }] },
      { label: 'pack body cut off on every attempt', rules: [{ method: 'GET', key: PACK_RE, action: { kind: 'truncate', fraction: rand() } }] },
      { label: 'manifest body cut off once', rules: [{ method: 'GET', key: MANIFEST_RE, nth: 1, action: { kind: 'truncate', fraction: rand() } }] },
    ] as { label: string; rules: FaultRule[] }[]);
  }
  const k = pickInt(1, 3);
  return pick([
    { label: `manifest deletion ${k} fails on every attempt`, rules: [{ method: 'DELETE', key: MANIFEST_RE, nth: every(attempts, k), action: { kind: 'status', status: 503 } }] },
    { label: 'manifest deletion: the store deletes, the answer is 500', rules: [{ method: 'DELETE', key: MANIFEST_RE, nth: 1, action: { kind: 'status-after', status: 500 } }] },
    { label: 'pack deletion: every answer dropped after the store', rules: [{ method: 'DELETE', key: PACK_RE, action: { kind: 'drop-after' } }] },
  ] as { label: string; rules: FaultRule[] }[]);
}

// ---------------------------------------------------------------------------------------------
// One run

/** One run: its plan, what its operation did, and what the judge found. */
interface Run {
  n: number;
  plan: FaultPlan;
  maxAttempts: number;
  /** Names no lease left by an earlier run keeps out of backups and prunes. */
  free: Name[];
  problems: string[];
  outcome: string;
  name?: Name;
  err: unknown;
  log: readonly ProxiedRequest[];
  /** The bucket after the operation. */
  after: Map<string, StoredObjectView>;
  /** The judge's clean vault (no proxy), opened once per run after the operation. */
  judge?: Promise<Vault>;
}

const judgeVault = (run: Run): Promise<Vault> => (run.judge ??= cleanVault());

/** `operation` on the vault opened through the proxy under the run's plan: its result, or null (run.err); run.log is what the proxy saw. */
async function throughProxy<T>(run: Run, operation: (vault: Vault) => Promise<T>): Promise<T | null> {
  proxy.setPlan(run.plan);
  try {
    return await operation(await Vault.open(place.location, { endpoint: proxy.endpoint, maxAttempts: run.maxAttempts, leaseMs: LEASE_MS }));
  } catch (e) {
    run.err = e;
    return null;
  } finally {
    run.log = proxy.log;
    proxy.setPlan({});
  }
}

/** A backup of a database SQLite has just changed: committed (listed, restores to SQLite's image) or the manifests as they were. */
async function backupRun(run: Run): Promise<void> {
  const { problems } = run;
  const name = (run.name = pick(run.free));
  const before = await objectsNow();
  change(name);
  const ref = oracle(name);
  const type = pick(['incremental', 'incremental', 'differential', 'full', 'auto'] as const);
  const wanted = type === 'auto' ? 'incremental' : type;
  const result = await throughProxy(run, (v) => v.backup(sources[name], { name, type }));
  const after = (run.after = await objectsNow());
  problems.push(...checkStored(after, committed));
  const added = manifestKeys(after).filter((k) => !before.has(k));
  const lost = manifestKeys(before).filter((k) => !after.has(k));
  if (lost.length > 0) problems.push(`manifests gone after a backup: ${lost.join(', ')}`);
  if (added.length > 1) problems.push(`${added.length} new manifests after one backup: ${added.join(', ')}`);
  const expected = manifestKey(name, Math.max(0, ...committed.filter((c) => c.name === name).map((c) => c.seq)) + 1);
  for (const k of added) if (k !== expected) problems.push(`a new manifest ${k}, not ${expected}`);
  if (result !== null) {
    run.outcome = run.log.some(failing) ? 'committed after retries' : 'committed';
    if (manifestKey(name, result.seq) !== expected || !added.includes(expected)) problems.push(`the backup resolved as ${name} ${result.seq}, but ${expected} is not new in the bucket`);
    if (result.type !== wanted) problems.push(`asked for ${type}, took ${result.type}`);
  } else {
    problems.push(...judgeError(run.err, run.log, name));
    run.outcome = added.length === 1 ? 'failed after commit' : 'failed clean';
    // The store wrote the manifest but no answer said so: the rejection must not read as "nothing happened".
    if (added.length === 1 && !/may have been committed/.test((run.err as Error)?.message ?? '')) problems.push(`the backup was committed, but its rejection does not say it may have been: ${errText(run.err)}`);
  }
  if (added.includes(expected)) {
    const c = await register(expected, after, ref, problems);
    if (c.type !== wanted) problems.push(`asked for ${type}, the manifest says ${c.type}`);
    committed.push(c);
    problems.push(...(await checkRestore(c, await judgeVault(run), run.n % 10 === 0)));
  }
  // A spot check of an older backup (all are restored at the end).
  if (run.n % 5 === 0) problems.push(...(await checkRestore(pick(committed), await judgeVault(run))));
}

/** Destinations restores overwrite: an old image with a table of its own, as a rollback and as a WAL database. */
const oldDestinations = { rollback: '', wal: '' };

/** A restore to a new path (absent or complete after it) or over an existing database (the old one byte for byte, or the backup). */
async function restoreRun(run: Run): Promise<void> {
  const { problems } = run;
  const c = pick(committed);
  run.name = c.name;
  const kind = pick(['new', 'new', 'overwrite-rollback', 'overwrite-wal'] as const);
  const dir = fresh('restore');
  fs.mkdirSync(dir);
  const dest = path.join(dir, 'restored.db');
  const old = kind === 'overwrite-wal' ? oldDestinations.wal : oldDestinations.rollback;
  if (kind !== 'new') fs.copyFileSync(old, dest);
  const oldSha = fileSha(dest);
  const newest = committed.filter((x) => x.name === c.name).every((x) => x.seq <= c.seq);
  const at = newest && rand() < 0.5 ? undefined : c.id;
  const done = (await throughProxy(run, (v) => v.restore(c.name, dest, { at, overwrite: kind !== 'new' }))) !== null;
  if (!done) problems.push(...judgeError(run.err, run.log, run.name));
  const others = fs.readdirSync(dir).filter((f) => !/^restored\.db(-journal|-wal|-shm)?$/.test(f));
  if (others.length > 0) problems.push(`left beside the destination: ${others.join(', ')}`);
  const { state, problems: found } = restoredState(dest, c.ref, kind, kind === 'new' ? undefined : { path: old, sha: oldSha });
  problems.push(...found);
  if (done && state !== (kind === 'new' ? 'complete' : 'new')) problems.push(`the restore resolved, the destination is ${state}`);
  run.outcome = `${kind} ${done ? 'done' : 'failed'} ${state}`;
  fs.rmSync(dir, { recursive: true, force: true });
  run.after = await objectsNow();
  problems.push(...checkStored(run.after, committed));
}

let removedByPrunes = 0;

/** A prune: removes only what its dry run (before, clean vault) removes, highest seqs first; what it leaves restores. */
async function pruneRun(run: Run): Promise<void> {
  const { problems } = run;
  const rules = rand() < 0.3 || run.free.length < NAMES.length ? { keepLast: pickInt(1, 4), name: pick(run.free) } : { keepLast: pickInt(2, 5) };
  run.name = rules.name;
  // The dry run's clean vault is the judge's after the prune too.
  const dry = await (await judgeVault(run)).prune({ ...rules, dryRun: true });
  const removable = new Set(dry.removed.map((b) => `${b.name}/${b.id}`));
  const result = await throughProxy(run, (v) => v.prune(rules));
  if (result === null) problems.push(...judgeError(run.err, run.log, run.name ?? /locks\/([^/.]+)\.lease/.exec((run.err as Error)?.message ?? '')?.[1]));
  const after = (run.after = await objectsNow());
  const gone = committed.filter((c) => !after.has(c.key));
  for (const c of gone) {
    if (!removable.has(`${c.name}/${c.id}`)) problems.push(`prune removed ${c.name} ${c.id}, which its dry run keeps`);
    const higher = dry.removed.filter((b) => b.name === c.name && b.seq > c.seq && after.has(manifestKey(b.name, b.seq)));
    if (higher.length > 0) problems.push(`prune removed ${c.name} ${c.id} before ${higher.map((b) => b.id).join(', ')} (highest seq first)`);
  }
  const unknown = manifestKeys(after).filter((k) => !committed.some((c) => c.key === k));
  if (unknown.length > 0) problems.push(`manifests nobody committed: ${unknown.join(', ')}`);
  if (result !== null && result.skipped.length === 0 && gone.length !== removable.size) problems.push(`the prune resolved, but ${removable.size - gone.length} of the backups its dry run removes are still there`);
  for (const c of gone) committed.splice(committed.indexOf(c), 1);
  removedByPrunes += gone.length;
  problems.push(...checkStored(after, committed));
  // Whatever it left restores (so each base of each kept backup is still there).
  const touched = new Set(gone.map((c) => c.name));
  for (const c of committed) if (touched.has(c.name)) problems.push(...(await checkRestore(c, await judgeVault(run))));
  run.outcome = `${result === null ? 'failed' : result.skipped.length > 0 ? 'skipped' : 'finished'}, ${gone.length === 0 ? 'nothing removed' : gone.length === removable.size ? 'all removed' : 'partly removed'}`;
}

// ---------------------------------------------------------------------------------------------
// Leases failed runs leave

const leaseReasons: Record<string, number> = {};
/** By name: the lease a failed run left, and the run after which the name may be backed up or pruned again. */
const leftLeases = new Map<Name, { key: string; tag: string; until: number }>();
let leaseWaitMs = 0;

/**
 * A lease left after the run: only by a release that could not reach the store, a take that
 * failed after the store wrote it, or a lease lost to a TTL without renewal, never by a release
 * the store refused for an ETag the lease no longer had (our own renewal's). Its name then stays
 * out of backups and prunes for BLOCK_RUNS runs.
 */
function noteLeftLeases(run: Run): void {
  for (const key of [...run.after.keys()].filter((k) => k.startsWith('locks/'))) {
    const name = key.slice('locks/'.length, -'.lease'.length) as Name;
    const tag = run.after.get(key)!.tag;
    if (leftLeases.get(name)?.tag === tag) continue; // an earlier run's, still waiting
    const release = run.log.filter((r) => r.method === 'DELETE' && r.key.endsWith(`/${key}`)).at(-1);
    const message = run.err instanceof Error ? run.err.message : '';
    if (release?.storeStatus === 412) run.problems.push(`the lease ${key} was left: the store refused its release (412), an ETag it no longer had`);
    if (release === undefined && !message.includes(key)) run.problems.push(`the lease ${key} was left with no attempt to release it (${run.err === null ? 'the run resolved' : errText(run.err)})`);
    inc(leaseReasons, release !== undefined ? 'release failed' : /could not be renewed/.test(message) ? 'lost, not renewed for a TTL' : /take the lease/.test(message) ? 'take failed after the store wrote it' : 'other');
    leftLeases.set(name, { key, tag, until: run.n + BLOCK_RUNS });
  }
}

/** A left lease has expired by itself (by the store's clock): it is taken and released without the proxy, waiting for that if need be. */
async function waitOut(name: Name, key: string): Promise<string[]> {
  const storage = new S3Storage(place.location, place.options);
  const started = performance.now();
  for (;;) {
    try {
      await (await storage.lock(name)).release();
      leaseWaitMs += performance.now() - started;
      return [];
    } catch (e) {
      if (!(e instanceof LitevaultError && e.code === 'LITEVAULT_BACKUP_IN_PROGRESS') || performance.now() - started > 20_000) return [`the lease ${key} a run left did not expire: ${errText(e)}`];
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  const server = await moto();
  proxy = await startFaultProxy(server.endpoint);
  place = await vaultPlace('s3', fresh('vault'));
  sqliteShell(sources.roll, SCHEMA + 'PRAGMA journal_mode=delete;\n');
  sqliteShell(sources.live, SCHEMA + 'PRAGMA journal_mode=wal;\n');
  live = new Sqlite(sources.live);
  live.pragma('journal_mode = wal');
});

describe('a remote vault through a faulty network', () => {
  it(`${RUNS} randomized runs of backup, restore and prune through the fault proxy: no committed backup lost, no partial restore, every failure typed`, async () => {
    const started = performance.now();
    // The starting point, without faults: a full backup of each name.
    const setup = await Vault.open(place.location, { ...place.options, create: true });
    for (const name of NAMES) {
      change(name);
      const ref = oracle(name);
      const r = await setup.backup(sources[name], { name, type: 'full' });
      const p: string[] = [];
      committed.push(await register(manifestKey(name, r.seq), await objectsNow(), ref, p));
      expect(p).toEqual([]);
    }
    oldDestinations.rollback = fresh('old-rollback.db');
    fs.copyFileSync(committed[0]!.ref, oldDestinations.rollback);
    sqliteShell(oldDestinations.rollback, "CREATE TABLE old_destination(x); INSERT INTO old_destination VALUES ('old');\n");
    oldDestinations.wal = fresh('old-wal.db');
    fs.copyFileSync(oldDestinations.rollback, oldDestinations.wal);
    sqliteShell(oldDestinations.wal, 'PRAGMA journal_mode=wal;\n');

    const counts: Record<string, number> = {};
    const ruleCounts: Record<string, number> = {};
    const actions: Record<string, number> = {};
    let requests = 0;
    const failures: string[] = [];
    for (let n = 1; n <= RUNS; n++) {
      const problems: string[] = [];
      for (const [name, left] of leftLeases) {
        if (left.until >= n) continue;
        problems.push(...(await waitOut(name, left.key)));
        leftLeases.delete(name);
      }
      const free = NAMES.filter((name) => !leftLeases.has(name));
      let op = weighted({ backup: 10, restore: 7, prune: 3 });
      if (free.length === 0) op = 'restore';
      const rate = pick([0.02, 0.05, 0.1, 0.18]);
      const maxAttempts = pick([2, 2, 3]);
      const rules = targeted(op, maxAttempts);
      if (rules) inc(ruleCounts, rules.label);
      const plan: FaultPlan = { seed: Math.floor(rand() * 2 ** 31), rate, rules: rules?.rules, slowDown: 0.3, maxDelayMs: 150 };
      const run: Run = { n, plan, maxAttempts, free, problems, outcome: '', err: null, log: [], after: new Map() };
      await { backup: backupRun, restore: restoreRun, prune: pruneRun }[op](run);
      problems.push(...(await checkListing(await judgeVault(run))));
      noteLeftLeases(run);

      inc(counts, `${op}: ${run.outcome}`);
      requests += run.log.length;
      for (const r of run.log) inc(actions, r.action.replace(/ \d.*$/, ''));
      if (problems.length > 0) {
        const faults = run.log.filter((r) => r.action !== 'pass').map((r) => `#${r.n} ${r.method} ${r.key.slice(r.key.indexOf('/') + 1)}: ${r.action}`);
        failures.push(
          `run ${n} (${op} ${run.name ?? 'all'}, rate ${rate}, ${maxAttempts} attempts, ${rules?.label ?? 'random faults only'}, plan seed ${plan.seed}; ${run.outcome}): ` +
            `${problems.join('; ')} [${run.log.length} requests; faults: ${faults.join('; ')}]`,
        );
      }
    }

    // Every backup still committed restores once more, checked by integrity_check too.
    const finalProblems: string[] = [];
    for (const [name, left] of leftLeases) finalProblems.push(...(await waitOut(name, left.key)));
    const v = await cleanVault();
    for (const c of committed) finalProblems.push(...(await checkRestore(c, v, true)));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `remote faults | ${RUNS} runs (outcomes: ${fmt(counts)}); explicit rules: ${fmt(ruleCounts)}; errors: ${fmt(errorCodes)} (httpStatus: ${fmt(errorStatuses)}); ` +
        `${removedByPrunes} backups removed by prunes, ${committed.length} committed at the end all restored (${finalProblems.length} problems), ${restores} restores checked; ` +
        `proxy: ${requests} requests (${fmt(actions)}); leases left by failed runs (each name's then kept out of ${BLOCK_RUNS} runs; expired by themselves, ` +
        `${(leaseWaitMs / 1000).toFixed(1)} s waited for that): ${fmt(leaseReasons) || 'none'}; seed ${SEED}; ${seconds} s`,
    );
    expect(failures).toEqual([]);
    expect(finalProblems).toEqual([]);
  }, 300_000);
});
