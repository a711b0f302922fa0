// One backup at a time per name (JET_errBackupInProgress), with real processes and real signals:
// - two concurrent backups of one name from this process (one Vault object, and two Vault
//   objects on the same directory): exactly one commits, the other rejects at once with
//   LITEVAULT_BACKUP_IN_PROGRESS, retryable;
// - two `node dist/cli.js vault backup ... --json` processes started at once: exactly one
//   commits per round in which they overlap, the other exits 1 with the JSON error; a CLI run
//   while this process holds the name's lock fails the same way;
// - a holder killed with SIGKILL in the middle of a (rate-limited) backup never blocks the next
//   run (a remote vault: once its lease has expired), and leaves nothing visible: the next backup succeeds, removes the garbage, and every
//   committed backup restores;
// - prune skips (and reports) a name whose lock is held; backups of different names run
//   concurrently and all commit.
// All of it runs, from this same code, against a directory vault and against a remote one (a
// prefix in a bucket of a real moto_server on loopback), where the lock is a lease object with
// a TTL: there a killed holder blocks the name until its lease expires (a short TTL here), and
// the next run is refused until then and proceeds after.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LitevaultError, Vault } from '../dist/index.js';
import { incompressibleDb, integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';
import { stopMoto } from './oracle/moto';
import { STORAGE_KINDS, vaultPlace, type VaultPlace } from './oracle/vault-places';

afterAll(removeTmpDirs);
afterAll(stopMoto);
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
const bigDb = (file: string, mib: number): string => incompressibleDb(fresh(file), mib);

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

/**
 * A child process running a real backup through the package, paused by a read-rate limit. A
 * name still held (a remote vault's lease left by a holder killed before) is retried until it
 * is free.
 */
const HOLDER = `
const { Vault } = require(${JSON.stringify(path.join(repo, 'dist', 'index.js'))});
const [location, options, db, name, rate] = process.argv.slice(2);
(async () => {
  const v = await Vault.open(location, { ...JSON.parse(options), create: true });
  let said = false;
  let stored = false;
  for (let tries = 0; ; tries++) {
    try {
      await v.backup(db, { name, type: 'full', maxBytesPerSecond: Number(rate), onProgress: (p) => {
        if (!said && p.pagesScanned > 0) { said = true; process.stdout.write('started\\n'); }
        if (!stored && p.bytesStored > 0) { stored = true; process.stdout.write('stored\\n'); }
      } });
      break;
    } catch (e) {
      if (e.code !== 'LITEVAULT_BACKUP_IN_PROGRESS' || said || tries > 200) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  process.stdout.write('done\\n');
})().catch((e) => { process.stderr.write(String(e && e.code) + ' ' + String(e && e.message) + '\\n'); process.exit(1); });
`;
const holderScript = path.join(dir, 'holder.cjs');
fs.writeFileSync(holderScript, HOLDER);

/** Starts a holder and resolves once it printed `marker` ('started': scanning; 'stored': a pack was handed to storage). */
function startHolder(place: VaultPlace, db: string, name: string, rate: number, marker = 'started'): Promise<ReturnType<typeof spawn>> {
  const c = spawn(process.execPath, [holderScript, place.location, JSON.stringify(openOptions(place)), db, name, String(rate)], { stdio: ['ignore', 'pipe', 'pipe'] });
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

/** A remote vault's lease TTL here: short, so a killed holder's lease expires within seconds. */
const LEASE_MS = 3000;
/** Vault.open's options for a place (remote: its endpoint and the short lease). */
function openOptions(place: VaultPlace): Record<string, unknown> {
  return place.kind === 'directory' ? place.options : { ...place.options, leaseMs: LEASE_MS };
}

/** meta JSON of a stored manifest (docs/vault-format.md: magic, version, metaLength, meta). */
async function manifestMeta(place: VaultPlace, key: string): Promise<{ packs: Array<{ key: string }>; seq: number }> {
  const b = await place.read(key);
  const m = b.readUInt32LE(12);
  return JSON.parse(b.subarray(16, 16 + m).toString('utf8'));
}

/** Nothing of unfinished writes anywhere, and the stored packs of `name` are exactly those its manifests name. */
async function noGarbage(place: VaultPlace, name: string): Promise<void> {
  const all = await place.keys();
  expect(await place.leftovers(), 'temporaries left').toEqual([]);
  const named = new Set<string>();
  for (const f of all.filter((x) => x.startsWith(`backups/${name}/`))) for (const p of (await manifestMeta(place, f)).packs) named.add(p.key);
  const stored = all.filter((f) => f.startsWith(`packs/${name}/`)).map((f) => path.basename(f, '.pack'));
  expect(stored.sort(), 'packs stored = packs the manifests name').toEqual([...named].sort());
}

describe.each(STORAGE_KINDS)('%s vault: one backup at a time per name', (kind) => {
  const place = (label: string): Promise<VaultPlace> => vaultPlace(kind, fresh(label));
  const open = (p: VaultPlace, create = false): Promise<Vault> => Vault.open(p.location, { ...openOptions(p), create });
  // What runs after a holder was killed: at once on a directory (the kernel dropped the lock);
  // on object storage it is refused (LITEVAULT_BACKUP_IN_PROGRESS) until the killed holder's
  // lease has expired, then it proceeds.
  async function afterKill<T>(run: () => Promise<T>): Promise<T> {
    for (let tries = 0; ; tries++) {
      try {
        return await run();
      } catch (err) {
        if (kind === 'directory' || !(err instanceof LitevaultError && err.code === 'LITEVAULT_BACKUP_IN_PROGRESS' && err.retryable) || tries > 200) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  it('two concurrent backups of one name from this process (one Vault, then two Vault objects): exactly one commits, the other is LITEVAULT_BACKUP_IN_PROGRESS (retryable)', async () => {
    // Bigger than one 8 MiB scan step, so the rate limit (applied between steps) slows it.
    const db = bigDb('same.db', 16);
    const vp = await place('vault-same');
    const v = await open(vp, true);
    // Rate-limited so the two calls certainly overlap.
    const slow = { name: 'same', type: 'full' as const, maxBytesPerSecond: 12 * MIB };
    oneWon(await Promise.all([settle(v.backup(db, slow)), settle(v.backup(db, slow))]));
    expect(await v.list('same')).toHaveLength(1);

    const v2 = await open(vp);
    oneWon(await Promise.all([settle(v.backup(db, { ...slow, type: 'incremental' })), settle(v2.backup(db, { ...slow, type: 'incremental' }))]));
    const list = await v.list('same');
    expect(list.map((b) => [b.seq, b.type])).toEqual([
      [1, 'full'],
      [2, 'incremental'],
    ]);
    // The loser left nothing behind; and the name is free again.
    await noGarbage(vp, 'same');
    const r = await v.backup(db, { name: 'same' });
    expect(r.seq).toBe(3);
    const out = fresh('same-restored.db');
    await v.restore('same', out);
    expect(logicalDump(out)).toBe(logicalDump(db));
  });

  it('two `vault backup --json` processes at once: exactly one commits when they overlap, the other exits 1 with LITEVAULT_BACKUP_IN_PROGRESS', async () => {
    const db = bigDb('cli-same.db', 64);
    const vp = await place('vault-cli-same');
    await open(vp, true);
    let overlapped = 0;
    let commits = 0;
    for (let round = 0; round < 5 && overlapped < 2; round++) {
      const runs = await Promise.all([0, 1].map(() => runCli(['vault', 'backup', db, vp.location, ...vp.cliArgs, '--name', 'cli', '--type', 'full', '--json'])));
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
    const v = await open(vp);
    const list = await v.list('cli');
    expect(list).toHaveLength(commits);
    expect(list.map((b) => b.seq)).toEqual(list.map((_, i) => i + 1));
    await noGarbage(vp, 'cli');
  }, 180_000);

  it('a CLI backup while this process holds the name: exit 1, LITEVAULT_BACKUP_IN_PROGRESS, and the vault gets only our backup', async () => {
    const db = bigDb('held.db', 16);
    const vp = await place('vault-held');
    const v = await open(vp, true);
    let started!: () => void;
    const isStarted = new Promise<void>((r) => (started = r));
    const mine = v.backup(db, { name: 'held', type: 'full', maxBytesPerSecond: 4 * MIB, onProgress: () => started() });
    await isStarted;
    const r = await runCli(['vault', 'backup', db, vp.location, ...vp.cliArgs, '--name', 'held', '--json']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stderr.trim().split('\n').pop()!).error).toMatchObject({ code: 'LITEVAULT_BACKUP_IN_PROGRESS', retryable: true });
    await mine;
    expect((await v.list('held')).map((b) => b.seq)).toEqual([1]);
  });

  it('a holder killed with SIGKILL mid-backup blocks the next run no longer than its lock lives (a directory: not at all; a lease: its TTL); what it wrote stays invisible and is removed by the next backup', async () => {
    const db = bigDb('killed.db', 24);
    const vp = await place('vault-killed');
    const v = await open(vp, true);
    const first = await v.backup(db, { name: 'k', type: 'full' });
    sqliteShell(db, 'UPDATE t SET v = randomblob(3000) WHERE id % 3 = 0;');
    for (let trial = 0; trial < 3; trial++) {
      // Killed while scanning (trial 0), just as its first pack went to storage (1), and a little after (2).
      const holder = await startHolder(vp, db, 'k', 4 * MIB, trial === 0 ? 'started' : 'stored');
      // It really holds the name: a backup from here is refused.
      const refused = await settle(v.backup(db, { name: 'k' }));
      expect('err' in refused && (refused.err as LitevaultError).code).toBe('LITEVAULT_BACKUP_IN_PROGRESS');
      await new Promise((r) => setTimeout(r, trial === 2 ? 400 : 0));
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
      expect((await v.list('k')).map((b) => b.id), 'the killed backup is not visible').toEqual([first.id]);
    }
    // The killed runs left garbage (a pack no manifest names, or a temporary) ...
    const all = await vp.keys();
    const named = new Set((await v.list('k')).length === 1 ? (await manifestMeta(vp, 'backups/k/0000000001.manifest')).packs.map((p) => p.key) : []);
    const garbage = [...all.filter((f) => (f.startsWith('packs/k/') && !named.has(path.basename(f, '.pack'))) || path.basename(f).startsWith('.tmp-')), ...(await vp.leftovers())];
    expect(garbage.length, 'the killed backups wrote packs before they were killed').toBeGreaterThan(0);
    // ... which the next backup removes.
    const next = await afterKill(() => v.backup(db, { name: 'k', type: 'incremental' }));
    expect(next).toMatchObject({ seq: 2, type: 'incremental', base: first.id });
    await noGarbage(vp, 'k');
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
    const vp = await place('vault-abort');
    const v = await open(vp, true);
    const first = await v.backup(db, { name: 'ab', type: 'full' });
    const manifestsBefore = (await vp.keys()).filter((f) => f.startsWith('backups/'));
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
    expect((await vp.keys()).filter((f) => f.startsWith('backups/'))).toEqual(manifestsBefore);
    expect((await v.list('ab')).map((b) => b.id)).toEqual([first.id]);
    const next = await v.backup(db, { name: 'ab' });
    expect(next).toMatchObject({ seq: 2, type: 'incremental', base: first.id });
    await noGarbage(vp, 'ab');
    const out = fresh('ab.db');
    await v.restore('ab', out);
    expect(logicalDump(out)).toBe(logicalDump(db));
  });

  it('prune skips and reports a name whose lock is held, and removes nothing of it', async () => {
    const db = bigDb('pr.db', 8);
    const vp = await place('vault-prune-held');
    const v = await open(vp, true);
    await v.backup(db, { name: 'p', type: 'full' });
    await v.backup(db, { name: 'p', type: 'full' });
    const holder = await startHolder(vp, db, 'p', 1 * MIB);
    const before = (await vp.keys()).filter((f) => !f.includes('.tmp-') && !f.startsWith('packs/'));
    const r = await v.prune({ keepLast: 1 });
    expect(r.skipped).toContain('p');
    expect(r.removed.filter((b: { name: string }) => b.name === 'p')).toEqual([]);
    expect((await vp.keys()).filter((f) => !f.includes('.tmp-') && !f.startsWith('packs/'))).toEqual(before);
    holder.kill('SIGKILL');
    await new Promise((res) => holder.once('exit', res));
    const r2 = await afterKill(async () => {
      const r = await v.prune({ keepLast: 1 });
      if (r.skipped.length > 0) throw new LitevaultError({ message: `skipped ${r.skipped.join(', ')}`, code: 'LITEVAULT_BACKUP_IN_PROGRESS', retryable: true });
      return r;
    });
    expect(r2.skipped).toEqual([]);
    expect(r2.removed.map((b: { seq: number }) => b.seq)).toEqual([1]);
    await noGarbage(vp, 'p');
  }, 60_000);

  it('backups of different names run concurrently and all commit', async () => {
    const vp = await place('vault-names');
    const v = await open(vp, true);
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
    const runs = await Promise.all(dbs.map((db, i) => runCli(['vault', 'backup', db, vp.location, ...vp.cliArgs, '--name', `n${i}`, '--json'])));
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    expect((await v.list()).length).toBe(6);
  });
});
