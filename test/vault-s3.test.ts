// What only a remote (s3://) vault has, against a real S3-protocol server (moto_server on a
// free loopback port, test/oracle/moto.ts), judged by SQLite and by the AWS SDK's own view of
// the bucket (the chains and the concurrency rules run against moto in vault-chains and
// vault-concurrency, from the same code as for directories):
// - local commands never load the AWS SDK (require.cache of a child process), s3:// ones do;
// - the conditional writes the commit rule rests on, as moto honours them: If-None-Match: * on
//   PutObject and on CompleteMultipartUpload (multipart packs, restored byte-exact by SQLite's
//   judgement), and a create whose answer was lost and that the SDK sent again (the fault
//   proxy, test/oracle/fault-proxy.ts, drops the first answer) still resolves true;
// - every PutObject carries its CRC32 and an unsigned payload, and the AWS SDK's own response
//   checksum validation (against the CRC32 moto kept) accepts every object of a backup; a store
//   that refuses those headers (the proxy answers 501 as R2 did) gets Content-MD5 instead;
// - leases: one left by a SIGKILLed holder is refused until it expires, then taken over; a
//   lease lost to another holder stops the run before it commits or deletes anything;
// - sweep aborts the multipart uploads a killed run left;
// - failures are typed: no bucket, a store that answers 503 or drops every connection (after
//   the configured attempts, retryable, naming the object), a missing object;
// - the CLI: --endpoint, AWS_ENDPOINT_URL, and remote options on a directory (usage error).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LitevaultError, Vault } from '../dist/index.js';
import { S3Storage } from '../dist/vault/s3-storage.js';
import { rejection } from './oracle/expect';
import { startFaultProxy } from './oracle/fault-proxy';
import { moto, stopMoto, type Moto } from './oracle/moto';
import { incompressibleDb, integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';
import { vaultPlace } from './oracle/vault-places';

afterAll(removeTmpDirs);
afterAll(stopMoto);
const repo = path.join(__dirname, '..');
const cli = path.join(repo, 'dist', 'cli.js');
const dir = tmpDir('litevault-vault-s3-');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);
const MIB = 1024 * 1024;
const children = new Set<ReturnType<typeof spawn>>();
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
});

let server: Moto;
let bucket: string;
let sdk: typeof import('@aws-sdk/client-s3');
let client: import('@aws-sdk/client-s3').S3Client;
beforeAll(async () => {
  server = await moto();
  bucket = await server.bucket();
  sdk = await import('@aws-sdk/client-s3');
  client = new sdk.S3Client({ endpoint: server.endpoint, forcePathStyle: true });
});

/** A database of about `mib` MiB of incompressible rows, made by the sqlite3 shell. */
const bigDb = (file: string, mib: number): string => incompressibleDb(fresh(file), mib);

const prefix = (): string => `p${n++}-${randomBytes(3).toString('hex')}`;
const head = (key: string) => client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
const getText = async (key: string): Promise<string> => (await (await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString());
const exists = (key: string): Promise<boolean> => head(key).then(() => true, () => false);

function cliRun(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
}

describe('the AWS SDK is loaded for s3:// vaults only', () => {
  // Lists the modules a child has loaded when it exits (written to a file by a preload).
  const preload = path.join(dir, 'loaded-at-exit.cjs');
  fs.writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(process.env.LOADED_OUT, JSON.stringify(Object.keys(require.cache))));`);
  const loaded = (args: string[], out: string): string[] => {
    const r = spawnSync(process.execPath, ['-r', preload, ...args], { cwd: repo, encoding: 'utf8', env: { ...process.env, LOADED_OUT: out } });
    expect(r.status, r.stderr).toBe(0);
    return (JSON.parse(fs.readFileSync(out, 'utf8')) as string[]).filter((m) => /[\\/]node_modules[\\/]@(aws-sdk|smithy|aws)[\\/]/.test(m));
  };

  it("require('litevault') with a backup, list, restore and prune of a directory vault loads no @aws-sdk module; the CLI's vault verbs on a directory neither", async () => {
    const db = bigDb('local.db', 1);
    const vdir = fresh('local-vault');
    const script = `
      const { Vault } = require('litevault');
      (async () => {
        const v = await Vault.open(${JSON.stringify(vdir)}, { create: true });
        await v.backup(${JSON.stringify(db)}, { name: 'l' });
        await v.list();
        await v.restore('l', ${JSON.stringify(fresh('local-restored.db'))});
        await v.prune({ keepLast: 1 });
      })().catch((e) => { console.error(e); process.exit(1); });`;
    expect(loaded(['-e', script], fresh('loaded-api.json'))).toEqual([]);
    expect(loaded([cli, 'vault', 'backup', db, vdir, '--name', 'c'], fresh('loaded-cli-backup.json'))).toEqual([]);
    expect(loaded([cli, 'vault', 'list', vdir], fresh('loaded-cli-list.json'))).toEqual([]);
  });

  it('an s3:// vault command does load it (the check above sees the SDK when it is there)', () => {
    const db = bigDb('remote.db', 1);
    const mods = loaded([cli, 'vault', 'backup', db, `s3://${bucket}/${prefix()}`, '--endpoint', server.endpoint], fresh('loaded-s3.json'));
    expect(mods.some((m) => m.includes(`${path.sep}@aws-sdk${path.sep}client-s3${path.sep}`))).toBe(true);
  });
});

describe('conditional writes on the store', () => {
  it('create() is If-None-Match: * (moto 5.2.1 honours it): the second create of a key with other bytes is false and the object keeps the first bytes; put() never replaces', async () => {
    const p = prefix();
    const s = new S3Storage(`s3://${bucket}/${p}`, { endpoint: server.endpoint });
    expect(await s.create('k/one', Buffer.from('first'))).toBe(true);
    expect(await s.create('k/one', Buffer.from('second'))).toBe(false);
    expect(await getText(`${p}/k/one`)).toBe('first');
    await s.put('k/one', Buffer.from('third'));
    expect(await getText(`${p}/k/one`)).toBe('first');
    // Our own bytes already there (what a retried create finds): true.
    expect(await s.create('k/one', Buffer.from('first'))).toBe(true);
    // Many creates of one key at once: exactly one wins.
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => s.create(`race/${round}`, Buffer.from(`writer ${i}`))));
      expect(results.filter(Boolean), `round ${round}`).toHaveLength(1);
      expect(await getText(`${p}/race/${round}`)).toBe(`writer ${results.indexOf(true)}`);
    }
  });

  it('multipart uploads (objects past the threshold): the condition is on CompleteMultipartUpload; a backup of multipart packs restores to what SQLite reads', async () => {
    const p = prefix();
    const opts = { endpoint: server.endpoint, multipartBytes: 6 * MIB, partBytes: 5 * MIB };
    const s = new S3Storage(`s3://${bucket}/${p}`, opts);
    const a = randomBytes(7 * MIB);
    const b = randomBytes(7 * MIB);
    expect(await s.create('big', a)).toBe(true);
    expect((await head(`${p}/big`)).ETag, 'stored in two parts').toMatch(/-2"$/);
    expect(await s.create('big', b)).toBe(false);
    expect(Buffer.from(await (await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: `${p}/big` }))).Body!.transformToByteArray()).equals(a)).toBe(true);
    expect(await s.create('big', a)).toBe(true);
    expect((await client.send(new sdk.ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${p}/` }))).Uploads ?? [], 'refused uploads are aborted').toEqual([]);

    const db = bigDb('multipart.db', 20);
    const v = await Vault.open(`s3://${bucket}/${p}-vault`, { ...opts, create: true });
    const r = await v.backup(db, { name: 'mp', compression: 'none' });
    expect(r.type).toBe('full');
    const packs = (await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: `${p}-vault/packs/mp/` }))).Contents ?? [];
    expect(packs.length).toBeGreaterThan(1);
    const etags = await Promise.all(packs.map(async (o) => (await head(o.Key!)).ETag!));
    expect(etags.filter((e) => /-\d+"$/.test(e)).length, 'the 8 MiB packs went up in parts').toBeGreaterThan(0);
    const out = fresh('multipart-restored.db');
    await v.restore('mp', out);
    expect(integrityCheck(out)).toBe('ok');
    expect(logicalDump(out)).toBe(logicalDump(db));
  });

  it("every PutObject carries its bytes' CRC32 (x-amz-checksum-crc32) and an unsigned payload; the AWS SDK's own response validation accepts every object of a backup, and refuses one stored with a wrong CRC32", async () => {
    const p = prefix();
    const db = bigDb('crc.db', 20); // incompressible: several packs
    const proxy = await startFaultProxy(server.endpoint);
    try {
      const v = await Vault.open(`s3://${bucket}/${p}`, { endpoint: proxy.endpoint, create: true });
      await v.backup(db, { name: 'crc' });
      const puts = proxy.log.filter((r) => r.operation === 'PutObject');
      expect(puts.length).toBeGreaterThanOrEqual(6); // config, lease, 3 packs, manifest
      for (const r of puts) {
        expect(r.headers['x-amz-content-sha256'], r.key).toBe('UNSIGNED-PAYLOAD');
        expect(r.headers['x-amz-checksum-crc32'], r.key).toMatch(/^[A-Za-z0-9+/]{6}==$/);
        expect(r.headers['x-amz-sdk-checksum-algorithm'], r.key).toBe('CRC32');
        expect(r.headers['content-md5'], r.key).toBeUndefined();
      }
    } finally {
      await proxy.close();
    }
    // moto keeps the CRC32 it was given and returns it with x-amz-checksum-mode: ENABLED; the
    // SDK then checks the body against it with its own CRC32 (@aws-crypto/crc32).
    const checking = new sdk.S3Client({ endpoint: server.endpoint, forcePathStyle: true, responseChecksumValidation: 'WHEN_SUPPORTED' });
    const getChecked = async (key: string): Promise<Buffer> => {
      const res = await checking.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
      expect(res.ChecksumCRC32, key).toMatch(/==$/);
      return Buffer.from(await res.Body!.transformToByteArray());
    };
    const listed = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: `${p}/` }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    expect(keys.filter((k) => k.endsWith('.pack')).length).toBeGreaterThanOrEqual(3);
    for (const key of keys.filter((k) => !k.includes('/locks/'))) await getChecked(key);
    // The control: an object stored with a CRC32 that is not its bytes' fails that check.
    const bad = `${p}/control/wrong-crc`;
    await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: bad, Body: Buffer.from('some bytes'), ChecksumAlgorithm: 'CRC32', ChecksumCRC32: 'AAAAAA==' }));
    await expect(getChecked(bad)).rejects.toThrow(/checksum/i);
    checking.destroy();
  });

  it("a store that refuses the checksum headers (501 NotImplemented naming x-amz-checksum-crc32, as R2 answered the AWS SDK) gets that upload again and every later one with Content-MD5 and a signed payload; the backup restores as SQLite's copy", async () => {
    const p = prefix();
    const db = bigDb('no-crc.db', 12);
    const proxy = await startFaultProxy(server.endpoint);
    try {
      proxy.setPlan({ rules: [{ method: 'PUT', header: 'x-amz-checksum-crc32', action: { kind: 'status', status: 501 } }] });
      const v = await Vault.open(`s3://${bucket}/${p}`, { endpoint: proxy.endpoint, create: true });
      await v.backup(db, { name: 'nocrc' });
      const puts = proxy.log.filter((r) => r.operation === 'PutObject');
      expect(puts.map((r) => r.action), 'one refusal, then every upload passes').toEqual(['status 501', ...puts.slice(1).map(() => 'pass')]);
      for (const r of puts.slice(1)) {
        expect(r.headers['x-amz-checksum-crc32'], r.key).toBeUndefined();
        expect(r.headers['content-md5'], r.key).toMatch(/==$/);
        expect(r.headers['x-amz-content-sha256'], r.key).toMatch(/^[0-9a-f]{64}$/);
      }
      const out = fresh('no-crc-restored.db');
      await v.restore('nocrc', out);
      expect(integrityCheck(out)).toBe('ok');
      expect(logicalDump(out)).toBe(logicalDump(db));
    } finally {
      await proxy.close();
    }
  });

  it("a create whose answer is lost (the fault proxy forwards the PUT to moto and drops the connection before the answer) and that the SDK sends again still resolves true: the 412 is its own write", async () => {
    const p = prefix();
    const proxy = await startFaultProxy(server.endpoint);
    try {
      proxy.setPlan({ rules: [{ method: 'PUT', key: /\/lost-answer\//, nth: 1, action: { kind: 'drop-after' } }] });
      const s = new S3Storage(`s3://${bucket}/${p}`, { endpoint: proxy.endpoint });
      expect(await s.create('lost-answer/x/0000000001.manifest', Buffer.from('the manifest'))).toBe(true);
      expect(proxy.log.filter((r) => r.action === 'drop-after').map((r) => r.storeStatus), 'moto stored it; the client never heard').toEqual([200]);
      expect(proxy.log.map((r) => r.operation), 'the PUT was sent twice, then the object read back').toEqual(['PutObject', 'PutObject', 'GetObject']);
      expect(await getText(`${p}/lost-answer/x/0000000001.manifest`)).toBe('the manifest');
      // And another writer's object under the same key is still "exists".
      expect(await s.create('lost-answer/x/0000000001.manifest', Buffer.from('another manifest'))).toBe(false);
    } finally {
      await proxy.close();
    }
  });
});

describe('leases', () => {
  const HOLDER = `
    const { Vault } = require(${JSON.stringify(path.join(repo, 'dist', 'index.js'))});
    const [location, endpoint, db] = process.argv.slice(1); // node -e SCRIPT args...
    (async () => {
      const v = await Vault.open(location, { endpoint, leaseMs: 4000, create: true });
      let said = false;
      await v.backup(db, { name: 'k', type: 'full', maxBytesPerSecond: 2 * 1024 * 1024, onProgress: (p) => {
        if (!said && p.pagesScanned > 0) { said = true; process.stdout.write('started\\n'); }
      } });
    })().catch((e) => { process.stderr.write(String(e && e.code) + ' ' + String(e && e.message) + '\\n'); process.exit(1); });`;

  it('a lease left by a SIGKILLed holder: the next backup is refused (LITEVAULT_BACKUP_IN_PROGRESS, retryable) until it expires, then takes it over, commits and releases it', async () => {
    const p = prefix();
    const location = `s3://${bucket}/${p}`;
    const db = bigDb('leased.db', 16);
    const holder = spawn(process.execPath, ['-e', HOLDER, location, server.endpoint, db], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(holder);
    let err = '';
    holder.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.setEncoding('utf8').on('data', (d: string) => d.includes('started') && resolve());
      holder.once('exit', () => reject(new Error(`holder exited: ${err}`)));
    });
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));

    const lease = JSON.parse(await getText(`${p}/locks/k.lease`)) as { holder: string; pid: number; ttlMs: number; expiresAt: string };
    expect(lease).toMatchObject({ pid: holder.pid, ttlMs: 4000 });
    expect(lease.holder).toContain(`:${holder.pid}:`);
    const v = await Vault.open(location, { endpoint: server.endpoint });
    const refused = await rejection(v.backup(db, { name: 'k' }));
    expect(refused.code).toBe('LITEVAULT_BACKUP_IN_PROGRESS');
    expect(refused.retryable).toBe(true);
    expect(refused.message).toContain('locks/k.lease');
    expect(await v.list('k')).toEqual([]);
    let refusals = 1;
    let result;
    for (;;) {
      try {
        result = await v.backup(db, { name: 'k' });
        break;
      } catch (e) {
        if (!(e instanceof LitevaultError && e.code === 'LITEVAULT_BACKUP_IN_PROGRESS') || refusals > 200) throw e;
        refusals++;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    expect(result).toMatchObject({ seq: 1, type: 'full' });
    expect(await exists(`${p}/locks/k.lease`), 'released').toBe(false);
    const out = fresh('leased-restored.db');
    await v.restore('k', out);
    expect(logicalDump(out)).toBe(logicalDump(db));
  }, 60_000);

  it('a lease lost to another holder (overwritten behind its back) stops the run before its commit: LITEVAULT_BACKUP_IN_PROGRESS, no manifest, and the other holder\'s lease is left alone', async () => {
    const p = prefix();
    const location = `s3://${bucket}/${p}`;
    const db = bigDb('lost.db', 16);
    const v = await Vault.open(location, { endpoint: server.endpoint, leaseMs: 1500, create: true });
    const first = await v.backup(db, { name: 'l', type: 'full' });
    const other = JSON.stringify({ holder: 'elsewhere:1:0123456789abcdef', pid: 1, renewal: 0, ttlMs: 60000, renewedAt: new Date().toISOString(), expiresAt: new Date().toISOString() });
    let overwritten = false;
    const err = await rejection(
      v.backup(db, {
        name: 'l',
        type: 'full',
        maxBytesPerSecond: 6 * MIB,
        onProgress: (pr) => {
          if (!overwritten && pr.pagesScanned > 0) {
            overwritten = true;
            void client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: `${p}/locks/l.lease`, Body: other }));
          }
        },
      }),
    );
    expect(overwritten).toBe(true);
    expect(err.code).toBe('LITEVAULT_BACKUP_IN_PROGRESS');
    expect(err.message).toContain('lost');
    expect((await v.list('l')).map((b) => b.id)).toEqual([first.id]);
    expect(await getText(`${p}/locks/l.lease`)).toBe(other);
    // The first backup is whole.
    const out = fresh('lost-restored.db');
    await v.restore('l', out, { at: first.id });
    expect(integrityCheck(out)).toBe('ok');
  }, 60_000);
});

describe('lease expiry goes by the store\'s clock', () => {
  it('a taker whose own clock is an hour ahead still finds an unexpired lease held (the store\'s Date against its Last-Modified)', async () => {
    const location = `s3://${bucket}/${prefix()}`;
    const holder = new S3Storage(location, { endpoint: server.endpoint, leaseMs: 60_000 });
    const held = await holder.lock('c');
    const realNow = Date.now;
    Date.now = () => realNow() + 3600_000;
    try {
      const err = await rejection(new S3Storage(location, { endpoint: server.endpoint }).lock('c'));
      expect(err.code).toBe('LITEVAULT_BACKUP_IN_PROGRESS');
    } finally {
      Date.now = realNow;
    }
    await held.release();
    expect(await exists(`${location.slice(`s3://${bucket}/`.length)}/locks/c.lease`)).toBe(false);
  });
});

describe('sweep', () => {
  it('the next backup of a name aborts the multipart uploads an interrupted run left under packs/<name>/ (and no other name\'s)', async () => {
    const place = await vaultPlace('s3', fresh('vault-sweep'));
    const v = await Vault.open(place.location, { ...place.options, create: true });
    const [, Bucket, p] = /^s3:\/\/([^/]+)\/(.+)$/.exec(place.location)!;
    const start = async (key: string): Promise<string> => {
      const { UploadId } = await client.send(new sdk.CreateMultipartUploadCommand({ Bucket, Key: `${p}/${key}` }));
      await client.send(new sdk.UploadPartCommand({ Bucket, Key: `${p}/${key}`, UploadId, PartNumber: 1, Body: randomBytes(5 * MIB) }));
      return UploadId!;
    };
    await start(`packs/s/ab/ab${'0'.repeat(30)}.pack`);
    const otherName = await start(`packs/other/cd/cd${'0'.repeat(30)}.pack`);
    expect(await place.leftovers()).toHaveLength(2);
    const db = bigDb('sweep.db', 1);
    await v.backup(db, { name: 's' });
    const left = await place.leftovers();
    expect(left).toHaveLength(1);
    expect(left[0]).toContain(otherName);
    expect((await v.list()).map((b) => b.name)).toEqual(['s']);
  });
});

describe('typed failures', () => {
  it('no such bucket: LITEVAULT_REMOTE_NO_BUCKET (404) naming the object', async () => {
    const err = await rejection(Vault.open('s3://litevault-no-such-bucket/x', { endpoint: server.endpoint, create: true }));
    expect(err.code).toBe('LITEVAULT_REMOTE_NO_BUCKET');
    expect(err.httpStatus).toBe(404);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('s3://litevault-no-such-bucket/x/litevault-vault.json');
  });

  it('a store that answers 503 SlowDown, and one that drops every connection: LITEVAULT_REMOTE_UNAVAILABLE (retryable) after exactly maxAttempts requests, naming the object and the status', async () => {
    const proxy = await startFaultProxy(server.endpoint);
    try {
      proxy.setPlan({ rules: [{ action: { kind: 'status', status: 503 } }] });
      const s = new S3Storage(`s3://${bucket}/x`, { endpoint: proxy.endpoint, maxAttempts: 3 });
      const e1 = await rejection(s.put('packs/a/0b/0b.pack', Buffer.from('x')));
      expect(e1.code).toBe('LITEVAULT_REMOTE_UNAVAILABLE');
      expect(e1.retryable).toBe(true);
      expect(e1.httpStatus).toBe(503);
      expect(e1.message).toContain(`s3://${bucket}/x/packs/a/0b/0b.pack`);
      expect(e1.message).toContain('SlowDown');
      expect(proxy.log).toHaveLength(3);
      proxy.setPlan({ rules: [{ action: { kind: 'drop-before' } }] });
      const e2 = await rejection(s.get('backups/a/0000000001.manifest'));
      expect(e2.code).toBe('LITEVAULT_REMOTE_UNAVAILABLE');
      expect(e2.retryable).toBe(true);
      expect(e2.httpStatus).toBeUndefined();
      expect(e2.message).toContain(`s3://${bucket}/x/backups/a/0000000001.manifest`);
      expect(proxy.log).toHaveLength(3);
    } finally {
      await proxy.close();
    }
  });

  it('a missing object is LITEVAULT_NOT_FOUND; URLs that are not s3://bucket[/prefix], and remote options with a directory, are SQLITE_MISUSE', async () => {
    const s = new S3Storage(`s3://${bucket}/${prefix()}`, { endpoint: server.endpoint });
    expect((await rejection(s.get('nothing/here'))).code).toBe('LITEVAULT_NOT_FOUND');
    await s.delete('nothing/here'); // a missing object is not an error
    for (const bad of ['s3://', 's3:///x', 's3://b/a//c', 's3://b/./c', 's3://b/..']) {
      expect((await rejection(Vault.open(bad, { endpoint: server.endpoint }))).code, bad).toBe('SQLITE_MISUSE');
    }
    // Remote options with a directory are a mistake, not ignored (and nothing is created).
    const vdir = fresh('not-remote');
    for (const opts of [{ endpoint: server.endpoint }, { region: 'us-east-1' }, { leaseMs: 1000 }]) {
      const err = await rejection(Vault.open(vdir, { ...opts, create: true }));
      expect(err.code).toBe('SQLITE_MISUSE');
      expect(err.message).toContain('s3:// vaults only');
    }
    expect(fs.existsSync(vdir)).toBe(false);
  });
});

describe('the CLI with s3:// vaults', () => {
  it('--endpoint, or AWS_ENDPOINT_URL instead: backup, list --json, verify and restore, judged by SQLite', () => {
    const db = fresh('cli.db');
    sqliteShell(db, "PRAGMA journal_mode=wal; CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 'one'), (2, randomblob(5000));");
    const location = `s3://${bucket}/${prefix()}`;
    const b = cliRun(['vault', 'backup', db, location, '--endpoint', server.endpoint, '--json']);
    expect(b.status, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout)).toMatchObject({ vault: location, type: 'full', seq: 1 });
    expect(b.stderr).toBe('');
    const env = { ...process.env, AWS_ENDPOINT_URL: server.endpoint };
    const l = cliRun(['vault', 'list', location, '--json'], env);
    expect(l.status, l.stderr).toBe(0);
    expect(JSON.parse(l.stdout).backups.map((x: { id: string }) => x.id)).toEqual(['1']);
    const verified = cliRun(['vault', 'verify', location, '--json'], env);
    expect(verified.status, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout).ok).toBe(true);
    const out = fresh('cli-restored.db');
    const r = cliRun(['vault', 'restore', location, path.basename(db), out], env);
    expect(r.status, r.stderr).toBe(0);
    expect(logicalDump(out)).toBe(logicalDump(db));
  });

  it('--endpoint, --region or --path-style with a directory vault is a usage error (exit 2)', () => {
    const vdir = fresh('cli-dir-vault');
    for (const extra of [['--endpoint', server.endpoint], ['--region', 'us-east-1'], ['--path-style']]) {
      const r = cliRun(['vault', 'list', vdir, ...extra]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain('s3:// vaults only');
    }
    expect(cliRun(['vault', 'list', `s3://${bucket}/x`, '--endpoint', 'ftp://nope']).status).toBe(2);
  });
});

describe('README\'s "Remote vaults (S3, R2, MinIO)"', () => {
  const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
  const start = readme.search(/^## Remote vaults/m);
  const rest = readme.slice(start);
  const section = rest.slice(0, rest.slice(1).search(/^## /m) + 1);
  // Shell commands, continuation lines joined.
  const commands = [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1]!.replace(/\\\n\s*/g, ' ').split('\n'))
    .map((l) => l.trim().replace(/^(\w+=\S+ )+/, ''))
    .filter((l) => l.startsWith('litevault vault '));

  it('its commands use only options the verbs document in --help', () => {
    expect(start).toBeGreaterThan(0);
    expect(commands.length).toBeGreaterThan(3);
    for (const line of commands) {
      const verb = /^litevault vault (\w+)/.exec(line)![1]!;
      const help = cliRun(['vault', verb, '--help']).stdout;
      expect(help, line).toContain(`usage: litevault vault ${verb}`);
      for (const opt of line.match(/ --[a-z-]+/g) ?? []) expect(help, `${line}: ${opt}`).toContain(opt.trim());
    }
  });

  it('its MinIO commands run as written against moto (AWS_ENDPOINT_URL pointing there, the bucket and paths replaced), and the restore is what SQLite reads', () => {
    const minio = commands.filter((l) => l.includes('s3://backups/app'));
    expect(minio.map((l) => /^litevault vault (\w+)/.exec(l)![1])).toEqual(['backup', 'list', 'restore']);
    const db = fresh('app.db');
    sqliteShell(db, "CREATE TABLE t(a); INSERT INTO t VALUES ('readme'), (randomblob(3000));");
    const out = fresh('app-restored.db');
    const location = `s3://${bucket}/${prefix()}`;
    const env = { ...process.env, AWS_ENDPOINT_URL: server.endpoint };
    for (const line of minio) {
      const args = line
        .replace(/^litevault /, '')
        .replace('s3://backups/app', location)
        .replace('/srv/app.db', db)
        .replace('/tmp/app-restored.db', out)
        .replace(/ app\.db /, ` ${path.basename(db)} `)
        .split(/\s+/);
      const r = cliRun(args, env);
      expect(r.status, `${line}\n${r.stderr}`).toBe(0);
    }
    expect(logicalDump(out)).toBe(logicalDump(db));
  });
});
