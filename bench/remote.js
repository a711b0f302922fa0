// The remote section of the benchmark harness (`node bench/run.js --only remote`; part of the
// default run): issue 15's claim about remote vaults, against a real S3-protocol server on
// loopback (moto_server, started here on a free 127.0.0.1 port by test/oracle/moto-server.cjs,
// the tests' own launcher, and stopped at the end). Before the rounds, untimed: a litevault full
// backup of the database into a local directory vault, whose packs and manifest are the objects
// the reference uploads. Each round, into a fresh bucket, from a fresh copy of the database:
//   full:        litevault `Vault.open(s3://bucket/vault)` + `vault.backup(db, {type: 'full'})`
//                | the same objects uploaded into s3://bucket/raw/ with lib-storage's Upload
//                alone (the transport's own limit; the target's reference) | the same with what
//                litevault's put() adds to each request, If-None-Match: *, a CRC32 and an
//                unsigned payload (reference), each in a fresh Node child
//                (bench/children/node-op.js), rotated; the CPU time moto_server spent during
//                each run is read from /proc (it shares the machine's cores);
//   incremental: 1% of the pages changed (children/vault-change.js, checkpointed into the file),
//                then a litevault incremental into the same vault: its time and bytes.
// The raw uploads send exactly the bytes litevault stored: after every litevault full, the
// bucket's packs must be the local vault's (same keys, which are their checksums, and sizes),
// or the run fails. Checks (round 1, every round of a smoke run): the full and the incremental
// are restored from moto and must be the database's image (lib/pages.js sameImage), pass
// quick_check and hold every row. moto is reset after each round (its objects live in its
// memory). Every run is preceded by run.js's settle() (database and local vault read into the
// page cache, then fresh memory touched). Called by run.js with its helpers; results go to
// lib/report-remote.js.
'use strict';
const fs = require('fs');
const path = require('path');
const { randomBytes } = require('crypto');
const { runNode, output, removeDb, syncFs, fsyncFiles } = require('./lib/proc');
const { databaseShape, sameImage } = require('./lib/pages');
const { litevaultDist } = require('./lib/load');
const { isolateAwsEnv, startMotoServer, stopMotoServer } = require('../test/oracle/moto-server.cjs');

const NAME = 'bench';
const CHANGE_PCT = 1; // the incremental's change
const VAULT_PREFIX = 'vault'; // litevault's vault in each round's bucket
const PREFIXES = { raw: 'raw', 'raw-lv': 'raw-lv' }; // the references' uploads, beside it

// CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat (clock ticks of
// 10 ms), or undefined where /proc has none.
function processCpuMs(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

// How litevault uploads (the benchmarked build's own constants, read from its dist/): content
// objects (packs) in flight at once while the scan goes on (lib/vault/vault.ts PUTS_IN_FLIGHT),
// and, for objects past its multipart threshold, lib-storage's part size and parts in flight
// (lib/vault/s3-storage.ts PART_BYTES, PARTS_IN_FLIGHT, MULTIPART_BYTES).
function uploadShape() {
  const constant = (rel, name) => {
    const file = litevaultDist(rel);
    const m = new RegExp(`\\b${name} = ([0-9 <*+]+)[;,]`).exec(fs.readFileSync(file, 'utf8'));
    if (!m) throw new Error(`remote: cannot find ${name} in ${file} (the reference must upload as litevault does)`);
    return Function(`"use strict"; return (${m[1]});`)();
  };
  return {
    putsInFlight: constant('vault/vault.js', 'PUTS_IN_FLIGHT'),
    partBytes: constant('vault/s3-storage.js', 'PART_BYTES'),
    partsInFlight: constant('vault/s3-storage.js', 'PARTS_IN_FLIGHT'),
    multipartBytes: constant('vault/s3-storage.js', 'MULTIPART_BYTES'),
  };
}

// The harness's own requests to the server (untimed): through the AWS SDK, as a user would.
function s3(endpoint) {
  const { S3Client, CreateBucketCommand, ListObjectsV2Command } = require('@aws-sdk/client-s3');
  const client = new S3Client({ endpoint, forcePathStyle: true });
  return {
    async bucket(round) {
      const name = `lv-bench-${round}-${randomBytes(4).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    // Every object under prefix/ as { key (below the prefix), size }, sorted by key.
    async list(bucket, prefix) {
      const out = [];
      let token;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
        for (const o of page.Contents ?? []) out.push({ key: o.Key.slice(prefix.length + 1), size: o.Size });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out.sort((a, b) => (a.key < b.key ? -1 : 1));
    },
    // Drops every bucket and object (moto keeps them in memory).
    async reset() {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset: HTTP ${res.status}`);
    },
    destroy: () => client.destroy(),
  };
}

const isPack = (key) => key.startsWith(`packs/${NAME}/`) && key.endsWith('.pack');
const isManifest = (key) => key.startsWith(`backups/${NAME}/`) && key.endsWith('.manifest');
const sum = (objects) => objects.reduce((a, o) => a + o.size, 0);

// The files of a directory vault, as { key, size, file } sorted by key.
function localObjects(dir) {
  const out = [];
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const key = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(key);
      else out.push({ key, size: fs.statSync(path.join(dir, key)).size, file: path.join(dir, key) });
    }
  };
  walk('');
  return out.sort((a, b) => (a.key < b.key ? -1 : 1));
}

async function remoteSection(context) {
  const { opts, src, workDir, errors, settle, log, rotate, verifyCopy } = context;
  const dir = path.join(workDir, 'remote');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'aws'), { recursive: true });
  const work = path.join(dir, 'work.db'); // the database every run backs up (a fresh copy each round)
  const local = path.join(dir, 'local-vault'); // the objects the references upload
  const restored = path.join(dir, 'restored.db');
  const shape = databaseShape(src);
  const expectedRows = verifyCopy(src).rows;
  const upload = uploadShape();
  const fail = (what, error) => {
    errors.push(`remote/${what}: ${error}`);
    log(`remote ${what}: FAILED ${error}`);
  };
  const freshCopy = () => {
    removeDb(work);
    fs.copyFileSync(src, work);
    fsyncFiles([work]);
  };

  // The reference's objects: a full backup of the same database (same path) into a local vault.
  freshCopy();
  const init = await runNode('node-op.js', { op: 'lv-vault-init', vault: local });
  if (!init.ok) throw new Error(`remote: cannot create the local vault ${local}: ${init.error}`);
  const made = await runNode('node-op.js', { op: 'lv-vault-backup', vault: local, src: work, name: NAME, type: 'full' });
  if (!made.ok) throw new Error(`remote: the local full backup failed: ${made.error}`);
  const files = localObjects(local);
  const packs = files.filter((o) => isPack(o.key));
  const manifest = files.filter((o) => isManifest(o.key));
  if (!packs.length || manifest.length !== 1) throw new Error(`remote: the local vault holds ${packs.length} packs and ${manifest.length} manifests`);
  const objects = [...packs, ...manifest]; // manifest last: the commit rule's order
  const objectBytes = sum(objects);
  if (objectBytes !== made.result.bytesStored) throw new Error(`remote: the local vault's packs and manifest hold ${objectBytes} bytes, the backup says it stored ${made.result.bytesStored}`);
  log(`remote: the full backup stores ${objects.length} objects (${packs.length} packs, ${manifest[0].size} bytes of manifest), ${(objectBytes / 1048576).toFixed(1)} MiB; ${upload.putsInFlight} uploads in flight`);

  isolateAwsEnv(path.join(dir, 'aws'));
  const server = await startMotoServer();
  const killServer = () => server.process.kill('SIGKILL'); // if the harness dies before the finally below
  process.once('exit', killServer);
  log(`remote: moto_server at ${server.endpoint}`);
  const store = s3(server.endpoint);
  const remote = { endpoint: server.endpoint };
  const rounds = [];
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      const checking = round === 1 || opts.smoke;
      const rec = { round, full: {}, incremental: {}, checks: {} };
      rounds.push(rec);
      const bucket = await store.bucket(round);
      const url = `s3://${bucket}/${VAULT_PREFIX}`;
      rec.bucket = bucket;
      freshCopy();
      const created = await runNode('node-op.js', { op: 'lv-vault-init', vault: url, remote });
      if (!created.ok) throw new Error(`remote: cannot create the vault ${url}: ${created.error}`);
      const lvBackup = (type) => runNode('node-op.js', { op: 'lv-vault-backup', vault: url, remote, src: work, name: NAME, type });
      const rawUpload = (key, litevaultRequests) => async () => {
        const prefix = PREFIXES[key];
        const r = await runNode('node-op.js', {
          op: 'sdk-upload',
          remote,
          bucket,
          objects: objects.map((o) => ({ file: o.file, key: `${prefix}/${o.key}` })),
          inFlight: upload.putsInFlight,
          partBytes: upload.partBytes,
          partsInFlight: upload.partsInFlight,
          litevaultRequests,
        });
        if (r.ok) {
          const stored = await store.list(bucket, prefix);
          if (stored.length !== objects.length || sum(stored) !== objectBytes) Object.assign(r, { ok: false, error: `${prefix}/ holds ${stored.length} objects, ${sum(stored)} bytes after the upload, not ${objects.length}, ${objectBytes}` });
        }
        return r;
      };

      // 1. Full: litevault and the references, rotated.
      const competitors = [
        {
          key: 'litevault',
          run: async () => {
            const r = await lvBackup('full');
            if (!r.ok) return r;
            // Its objects must be the ones the references upload: the same packs (a pack's key is
            // its checksum) and a manifest of the same size, give or take the inode's digits.
            const stored = await store.list(bucket, VAULT_PREFIX);
            const storedPacks = stored.filter((o) => isPack(o.key));
            const storedManifest = stored.filter((o) => isManifest(o.key));
            r.objects = { count: storedPacks.length + storedManifest.length, bytes: sum(storedPacks) + sum(storedManifest), manifestBytes: sum(storedManifest), other: stored.filter((o) => !isPack(o.key) && !isManifest(o.key)).map((o) => o.key) };
            const same = JSON.stringify(storedPacks.map(({ key, size }) => ({ key, size }))) === JSON.stringify(packs.map(({ key, size }) => ({ key, size })));
            if (!same || storedManifest.length !== 1 || Math.abs(r.objects.manifestBytes - manifest[0].size) > 64) {
              Object.assign(r, { ok: false, error: `the bucket's packs and manifest (${storedPacks.length} packs, ${r.objects.manifestBytes} bytes of manifest) are not the local vault's (${packs.length}, ${manifest[0].size}): the references would not upload the same bytes` });
            }
            return r;
          },
        },
        { key: 'raw', run: rawUpload('raw', false) },
        { key: 'raw-lv', run: rawUpload('raw-lv', true) },
      ];
      for (const c of rotate(competitors, round)) {
        await settle(dir, [work, local], `remote round ${round} full ${c.key}`, { warmFirst: true });
        const motoBefore = processCpuMs(server.process.pid);
        const r = await c.run();
        const motoAfter = processCpuMs(server.process.pid);
        if (motoBefore !== undefined && motoAfter !== undefined) r.motoCpuMs = motoAfter - motoBefore;
        if (!r.ok) fail(`round ${round} full ${c.key}`, r.error);
        rec.full[c.key] = r;
        if (r.ok) log(`remote round ${round}/${opts.rounds} full ${c.key}: ${r.ms.toFixed(0)} ms${c.key === 'litevault' ? `, stored ${r.objects.count} objects, ${(r.objects.bytes / 1048576).toFixed(1)} MiB` : ''}`);
      }
      const check = async (what, expected) => {
        fs.rmSync(restored, { force: true });
        const r = await runNode('node-op.js', { op: 'lv-vault-restore', vault: url, remote, name: NAME, dst: restored });
        let result;
        if (!r.ok) result = { ok: false, why: r.error };
        else {
          const image = sameImage(expected, restored);
          const copy = verifyCopy(restored, expectedRows); // the changes rewrite rows in place
          result = { ok: image.same && copy.ok, image: image.same ? 'the database\'s image' : image.why, check: copy.check, rows: copy.rows, ms: r.ms };
          if (!result.ok) result.why = `${image.same ? '' : `not the database's image (${image.why}); `}quick_check ${copy.check}, ${copy.rows} rows`;
        }
        fs.rmSync(restored, { force: true });
        if (!result.ok) fail(`round ${round} ${what} restore check`, result.why);
        else log(`remote round ${round} ${what}: restored from moto: the database's image, quick_check ${result.check}, ${result.rows} rows`);
        return result;
      };
      if (checking && rec.full.litevault?.ok) rec.checks.full = await check('full', src);

      // 2. 1% of the pages changed, checkpointed into the file; the incremental.
      if (rec.full.litevault?.ok) {
        const ch = await runNode('vault-change.js', { path: work, pct: CHANGE_PCT, seed: 1 });
        if (!ch.ok) throw new Error(`remote round ${round}: changing the database failed: ${ch.error}`);
        rec.change = { pagesChanged: ch.pagesChanged, updates: ch.updates, transactions: ch.transactions, pageCount: ch.pageCount };
        syncFs(dir);
        const before = await store.list(bucket, VAULT_PREFIX);
        await settle(dir, [work], `remote round ${round} incremental litevault`, { warmFirst: true });
        const motoBefore = processCpuMs(server.process.pid);
        const r = await lvBackup('incremental');
        const motoAfter = processCpuMs(server.process.pid);
        if (motoBefore !== undefined && motoAfter !== undefined) r.motoCpuMs = motoAfter - motoBefore;
        if (r.ok) {
          const after = await store.list(bucket, VAULT_PREFIX);
          const had = new Set(before.map((o) => o.key));
          const added = after.filter((o) => !had.has(o.key));
          r.added = { objects: added.length, bytes: sum(added) };
          log(`remote round ${round}/${opts.rounds} incremental litevault: ${r.ms.toFixed(0)} ms, ${ch.pagesChanged} pages changed, ${r.result.pagesStored} stored, +${added.length} objects, ${(r.added.bytes / 1048576).toFixed(2)} MiB`);
        } else fail(`round ${round} incremental litevault`, r.error);
        rec.incremental.litevault = r;
        if (checking && r.ok) rec.checks.incremental = await check('incremental', work);
      }
      await store.reset();
    }
  } finally {
    store.destroy();
    await stopMotoServer(server.process);
    process.off('exit', killServer);
    log('remote: moto_server stopped');
  }
  fs.rmSync(dir, { recursive: true, force: true });
  syncFs(workDir);
  return {
    ...shape,
    rows: expectedRows,
    name: NAME,
    changePct: CHANGE_PCT,
    upload,
    objects: { count: objects.length, packs: packs.length, bytes: objectBytes, manifestBytes: manifest[0].size, largest: Math.max(...objects.map((o) => o.size)) },
    moto: output('python3', ['-c', 'import moto; print(moto.__version__)']) || '?',
    sdk: { clientS3: require('@aws-sdk/client-s3/package.json').version, libStorage: require('@aws-sdk/lib-storage/package.json').version },
    rounds,
  };
}

module.exports = { remoteSection };
