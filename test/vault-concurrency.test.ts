// One backup at a time per name (JET_errBackupInProgress), with real processes and real signals:
// - two concurrent backups of one name from this process (one Vault object, and two Vault
//   objects on the same directory): exactly one commits, the other rejects at once with
//   LITEVAULT_BACKUP_IN_PROGRESS, retryable;
// - two `node dist/cli.js vault backup ... --json` processes started at once: exactly one
//   commits per round in which they overlap, the other exits 1 with the JSON error; a CLI run
//   while this process holds the name's lock fails the same way;
// - a holder killed with SIGKILL in the middle of a (rate-limited) backup never blocks the next
//   run, and leaves nothing visible: the next backup succeeds, removes the garbage, and every
//   committed backup restores;
// - prune skips (and reports) a name whose lock is held; backups of different names run
//   concurrently and all commit.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LitevaultError, Vault } from '../dist/index.js';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';

afterAll(removeTmpDirs);
const dir = tmpDir('litevault-vault-conc-');
const repo = path.join(__dirname, '..');
const cli = path.join(repo, 'dist', 'cli.js');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);
const MIB = 1024 * 1024;
const children = new Set<ReturnType<typeof spawn>>();
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
});

/** A database of about `mib` MiB of incompressible rows, made by the sqlite3 shell. */
function bigDb(file: string, mib: number): string {
  const f = fresh(file);
  const rows = Math.ceil((mib * MIB) / 3000);
  sqliteShell(
    f,
    `CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${rows}) INSERT INTO t SELECT i, randomblob(3000) FROM c;`,
  );
  return f;
}

async function settle<T>(p: Promise<T>): Promise<{ ok: T } | { err: unknown }> {
  return p.then(
    (ok) => ({ ok }),
    (err: unknown) => ({ err }),
  );
}

function oneWon(results: Array<{ ok: unknown } | { err: unknown }>): void {
  const wins = results.filter((r) => 'ok' in r);
  const losses = results.filter((r) => 'err' in r).map((r) => (r as { err: unknown }).err);
  expect(wins, 'exactly one of the two backups commits').toHaveLength(1);
  expect(losses).toHaveLength(1);
  const e = losses[0];
  expect(e).toBeInstanceOf(LitevaultError);
  expect((e as LitevaultError).code).toBe('LITEVAULT_BACKUP_IN_PROGRESS');
  expect((e as LitevaultError).retryable).toBe(true);
}

interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<CliRun> {
  const c = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(c);
  let stdout = '';
  let stderr = '';
  c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => c.once('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
}

/** A child process running a real backup through the package, paused by a read-rate limit. */
const HOLDER = `
const { Vault } = require(${JSON.stringify(path.join(repo, 'dist', 'index.js'))});
const [vaultDir, db, name, rate] = process.argv.slice(2);
(async () => {
  const v = await Vault.open(vaultDir, { create: true });
  let said = false;
  let stored = false;
  await v.backup(db, { name, type: 'full', maxBytesPerSecond: Number(rate), onProgress: (p) => {
    if (!said && p.pagesScanned > 0) { said = true; process.stdout.write('started\\n'); }
    if (!stored && p.bytesStored > 0) { stored = true; process.stdout.write('stored\\n'); }
  } });
  process.stdout.write('done\\n');
})().catch((e) => { process.stderr.write(String(e && e.code) + ' ' + String(e && e.message) + '\\n'); process.exit(1); });
`;
const holderScript = path.join(dir, 'holder.cjs');
fs.writeFileSync(holderScript, HOLDER);

/** Starts a holder and resolves once it printed `marker` ('started': scanning; 'stored': a pack was handed to storage). */
function startHolder(vaultDir: string, db: string, name: string, rate: number, marker = 'started'): Promise<ReturnType<typeof spawn>> {
  const c = spawn(process.execPath, [holderScript, vaultDir, db, name, String(rate)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(c);
  let out = '';
  let err = '';
  c.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`holder did not print ${marker}: ${err}`)), 30_000);
    c.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes(`${marker}\n`)) {
        clearTimeout(timer);
        resolve(c);
      }
    });
    c.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`holder exited (${String(code)}, ${String(sig)}) before starting: ${err}`));
    });
  });
}

/** Every file under `d`, relative. */
function files(d: string): string[] {
  const out: string[] = [];
  const walk = (p: string, rel: string): void => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(p, e.name), path.join(rel, e.name));
      else out.push(path.join(rel, e.name));
    }
  };
  if (fs.existsSync(d)) walk(d, '');
  return out.sort();
}

/** meta JSON of a manifest file (docs/vault-format.md: magic, version, metaLength, meta). */
function manifestMeta(file: string): { packs: Array<{ key: string }>; seq: number } {
  const b = fs.readFileSync(file);
  const m = b.readUInt32LE(12);
  return JSON.parse(b.subarray(16, 16 + m).toString('utf8'));
}

/** No temporaries anywhere, and the packs of `name` on disk are exactly those its manifests name. */
function noGarbage(vaultDir: string, name: string): void {
  const all = files(vaultDir);
  expect(all.filter((f) => path.basename(f).startsWith('.tmp-')), 'temporaries left').toEqual([]);
  const named = new Set<string>();
  for (const f of all.filter((x) => x.startsWith(`backups/${name}/`))) for (const p of manifestMeta(path.join(vaultDir, f)).packs) named.add(p.key);
  const onDisk = all.filter((f) => f.startsWith(`packs/${name}/`)).map((f) => path.basename(f, '.pack'));
  expect(onDisk.sort(), 'packs on disk = packs the manifests name').toEqual([...named].sort());
}

describe('one backup at a time per name', () => {
  it('two concurrent backups of one name from this process (one Vault, then two Vault objects): exactly one commits, the other is LITEVAULT_BACKUP_IN_PROGRESS (retryable)', async () => {
    // Bigger than one 8 MiB scan step, so the rate limit (applied between steps) slows it.
    const db = bigDb('same.db', 16);
    const vdir = fresh('vault-same');
    const v = await Vault.open(vdir, { create: true });
    // Rate-limited so the two calls certainly overlap.
    const slow = { name: 'same', type: 'full' as const, maxBytesPerSecond: 12 * MIB };
    oneWon(await Promise.all([settle(v.backup(db, slow)), settle(v.backup(db, slow))]));
    expect(await v.list('same')).toHaveLength(1);

    const v2 = await Vault.open(vdir);
    oneWon(await Promise.all([settle(v.backup(db, { ...slow, type: 'incremental' })), settle(v2.backup(db, { ...slow, type: 'incremental' }))]));
    const list = await v.list('same');
    expect(list.map((b) => [b.seq, b.type])).toEqual([
      [1, 'full'],
      [2, 'incremental'],
    ]);
    // The loser left nothing behind; and the name is free again.
    noGarbage(vdir, 'same');
    const r = await v.backup(db, { name: 'same' });
    expect(r.seq).toBe(3);
    const out = fresh('same-restored.db');
    await v.restore('same', out);
    expect(logicalDump(out)).toBe(logicalDump(db));
  });

  it('two `vault backup --json` processes at once: exactly one commits when they overlap, the other exits 1 with LITEVAULT_BACKUP_IN_PROGRESS', async () => {
    const db = bigDb('cli-same.db', 64);
    const vdir = fresh('vault-cli-same');
    await Vault.open(vdir, { create: true });
    let overlapped = 0;
    let commits = 0;
    for (let round = 0; round < 5 && overlapped < 2; round++) {
      const runs = await Promise.all([0, 1].map(() => runCli(['vault', 'backup', db, vdir, '--name', 'cli', '--type', 'full', '--json'])));
      const ok = runs.filter((r) => r.status === 0);
      const failed = runs.filter((r) => r.status !== 0);
      for (const r of ok) {
        const lines = r.stdout.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0]!)).toMatchObject({ name: 'cli', type: 'full' });
      }
      commits += ok.length;
      if (failed.length === 0) continue; // they ran one after the other: both may commit
      overlapped++;
      expect(ok, `round ${round}: ${JSON.stringify(runs)}`).toHaveLength(1);
      const f = failed[0]!;
      expect(f.status).toBe(1);
      expect(f.stdout).toBe('');
      const e = JSON.parse(f.stderr.trim().split('\n').pop()!) as { error: { code: string; retryable: boolean; message: string } };
      expect(e.error.code).toBe('LITEVAULT_BACKUP_IN_PROGRESS');
      expect(e.error.retryable).toBe(true);
    }
    expect(overlapped, 'the two processes overlapped in at least one round').toBeGreaterThan(0);
    const v = await Vault.open(vdir);
    const list = await v.list('cli');
    expect(list).toHaveLength(commits);
    expect(list.map((b) => b.seq)).toEqual(list.map((_, i) => i + 1));
    noGarbage(vdir, 'cli');
  }, 180_000);

  it('a CLI backup while this process holds the name: exit 1, LITEVAULT_BACKUP_IN_PROGRESS, and the vault gets only our backup', async () => {
    const db = bigDb('held.db', 16);
    const vdir = fresh('vault-held');
    const v = await Vault.open(vdir, { create: true });
    let started!: () => void;
    const isStarted = new Promise<void>((r) => (started = r));
    const mine = v.backup(db, { name: 'held', type: 'full', maxBytesPerSecond: 4 * MIB, onProgress: () => started() });
    await isStarted;
    const r = await runCli(['vault', 'backup', db, vdir, '--name', 'held', '--json']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stderr.trim().split('\n').pop()!).error).toMatchObject({ code: 'LITEVAULT_BACKUP_IN_PROGRESS', retryable: true });
    await mine;
    expect((await v.list('held')).map((b) => b.seq)).toEqual([1]);
  });

  it('a holder killed with SIGKILL mid-backup never blocks the next run; what it wrote stays invisible and is removed by the next backup', async () => {
    const db = bigDb('killed.db', 24);
    const vdir = fresh('vault-killed');
    const v = await Vault.open(vdir, { create: true });
    const first = await v.backup(db, { name: 'k', type: 'full' });
    sqliteShell(db, 'UPDATE t SET v = randomblob(3000) WHERE id % 3 = 0;');
    for (let trial = 0; trial < 3; trial++) {
      // Killed while scanning (trial 0), just as its first pack went to storage (1), and a little after (2).
      const holder = await startHolder(vdir, db, 'k', 4 * MIB, trial === 0 ? 'started' : 'stored');
      // It really holds the name: a backup from here is refused.
      const refused = await settle(v.backup(db, { name: 'k' }));
      expect('err' in refused && (refused.err as LitevaultError).code).toBe('LITEVAULT_BACKUP_IN_PROGRESS');
      await new Promise((r) => setTimeout(r, trial === 2 ? 400 : 0));
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
      expect((await v.list('k')).map((b) => b.id), 'the killed backup is not visible').toEqual([first.id]);
    }
    // The killed runs left garbage (a pack no manifest names, or a temporary) ...
    const all = files(vdir);
    const named = new Set((await v.list('k')).length === 1 ? manifestMeta(path.join(vdir, 'backups/k/0000000001.manifest')).packs.map((p) => p.key) : []);
    const garbage = all.filter((f) => (f.startsWith('packs/k/') && !named.has(path.basename(f, '.pack'))) || path.basename(f).startsWith('.tmp-'));
    expect(garbage.length, 'the killed backups wrote packs before they were killed').toBeGreaterThan(0);
    // ... which the next backup removes.
    const next = await v.backup(db, { name: 'k', type: 'incremental' });
    expect(next).toMatchObject({ seq: 2, type: 'incremental', base: first.id });
    noGarbage(vdir, 'k');
    for (const b of await v.list('k')) {
      const out = fresh(`k-${b.id}.db`);
      await v.restore('k', out, { at: b.id });
      expect(integrityCheck(out)).toBe('ok');
    }
    const out = fresh('k-latest.db');
    await v.restore('k', out);
    expect(logicalDump(out)).toBe(logicalDump(db));
  }, 120_000);

  it('a backup cancelled through its AbortSignal rejects with SQLITE_ABORT, leaves the vault as it was and frees the name at once', async () => {
    const db = bigDb('abort.db', 16);
    const vdir = fresh('vault-abort');
    const v = await Vault.open(vdir, { create: true });
    const first = await v.backup(db, { name: 'ab', type: 'full' });
    const manifestsBefore = files(vdir).filter((f) => f.startsWith('backups/'));
    sqliteShell(db, 'UPDATE t SET v = randomblob(3000) WHERE id % 2 = 0;');
    const ac = new AbortController();
    const p = v.backup(db, {
      name: 'ab',
      type: 'full',
      maxBytesPerSecond: 4 * MIB,
      signal: ac.signal,
      onProgress: (pr: { pagesScanned: number }) => {
        if (pr.pagesScanned > 0) ac.abort();
      },
    });
    const r = await settle(p);
    expect('err' in r && (r.err as LitevaultError).code).toBe('SQLITE_ABORT');
    expect(files(vdir).filter((f) => f.startsWith('backups/'))).toEqual(manifestsBefore);
    expect((await v.list('ab')).map((b) => b.id)).toEqual([first.id]);
    const next = await v.backup(db, { name: 'ab' });
    expect(next).toMatchObject({ seq: 2, type: 'incremental', base: first.id });
    noGarbage(vdir, 'ab');
    const out = fresh('ab.db');
    await v.restore('ab', out);
    expect(logicalDump(out)).toBe(logicalDump(db));
  });

  it('prune skips and reports a name whose lock is held, and removes nothing of it', async () => {
    const db = bigDb('pr.db', 8);
    const vdir = fresh('vault-prune-held');
    const v = await Vault.open(vdir, { create: true });
    await v.backup(db, { name: 'p', type: 'full' });
    await v.backup(db, { name: 'p', type: 'full' });
    const holder = await startHolder(vdir, db, 'p', 1 * MIB);
    const before = files(vdir).filter((f) => !f.includes('.tmp-') && !f.startsWith('packs/'));
    const r = await v.prune({ keepLast: 1 });
    expect(r.skipped).toContain('p');
    expect(r.removed.filter((b: { name: string }) => b.name === 'p')).toEqual([]);
    expect(files(vdir).filter((f) => !f.includes('.tmp-') && !f.startsWith('packs/'))).toEqual(before);
    holder.kill('SIGKILL');
    await new Promise((res) => holder.once('exit', res));
    const r2 = await v.prune({ keepLast: 1 });
    expect(r2.skipped).toEqual([]);
    expect(r2.removed.map((b: { seq: number }) => b.seq)).toEqual([1]);
    noGarbage(vdir, 'p');
  }, 60_000);

  it('backups of different names run concurrently and all commit', async () => {
    const vdir = fresh('vault-names');
    const v = await Vault.open(vdir, { create: true });
    const dbs = ['a', 'b', 'c'].map((x) => bigDb(`${x}.db`, 4));
    const spans: Array<[number, number]> = [];
    const results = await Promise.all(
      dbs.map(async (db, i) => {
        const t0 = Date.now();
        const r = await v.backup(db, { name: `n${i}`, maxBytesPerSecond: 8 * MIB });
        spans.push([t0, Date.now()]);
        return r;
      }),
    );
    expect(results.map((r) => [r.name, r.type, r.seq])).toEqual([
      ['n0', 'full', 1],
      ['n1', 'full', 1],
      ['n2', 'full', 1],
    ]);
    // They did overlap in time (each takes ~0.5 s at the rate limit).
    const latestStart = Math.max(...spans.map((s) => s[0]));
    const earliestEnd = Math.min(...spans.map((s) => s[1]));
    expect(latestStart).toBeLessThan(earliestEnd);
    for (let i = 0; i < 3; i++) {
      const out = fresh(`n${i}.db`);
      await v.restore(`n${i}`, out);
      expect(logicalDump(out)).toBe(logicalDump(dbs[i]!));
    }
    // And from processes: three names in parallel CLI runs.
    const runs = await Promise.all(dbs.map((db, i) => runCli(['vault', 'backup', db, vdir, '--name', `n${i}`, '--json'])));
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    expect((await v.list()).length).toBe(6);
  });
});
