// One measured Node-side operation in a fresh process: litevault's backup, checkpoint or
// verify(), a litevault backupStream() into /dev/null or into a slow consumer, a litevault vault
// backup or restore (a directory vault, or an s3:// one with spec.remote), better-sqlite3's
// backup, PRAGMA wal_checkpoint or PRAGMA integrity_check / quick_check, an upload of files with
// the AWS SDK's lib-storage alone (the remote section's reference), or an idle wait (the noise
// floor).
// It measures, for itself:
//  - wall time of the operation (process.hrtime), and where it applies with the open included;
//  - the event loop's delay with perf_hooks.monitorEventLoopDelay({ resolution: 1 }) enabled from
//    20 ms before the operation until a few ms after it (so a blocking call is recorded too);
//    Node records the whole interval between 1 ms timer callbacks, so an idle loop reads ~1.1 ms:
//    the harness reports the raw values and the delay beyond the 1 ms interval;
//  - peak RSS: process.resourceUsage().maxRSS at the end, minus maxRSS right after startup
//    (before any library or database work: "an idle Node process"), and minus RSS after the
//    library was loaded.
// Usage: node node-op.js '<json spec>'; prints one JSON line on stdout.
'use strict';
const idleMaxRssKiB = process.resourceUsage().maxRSS; // first thing: the idle process
const fs = require('fs');
const { monitorEventLoopDelay } = require('perf_hooks');
const { litevault, litevaultModule, betterSqlite3 } = require('../lib/load');

const spec = JSON.parse(process.argv[2]);
const now = () => Number(process.hrtime.bigint()) / 1e6;
// With spec.announce, '@start' / '@end' lines on stdout mark the timed span as it happens (the
// writer benchmark aligns the writer's measurement window with them).
const announce = (what) => spec.announce && process.stdout.write(`@${what}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// With spec.trace (a diagnostic run, not a competitor): the vault's DirectoryStorage gets an
// FsOps table that wraps the real filesystem calls (the one the tests use for fault injection)
// and records, per call kind, the calls, the bytes, the summed time and the wall time during
// which at least one such call was in flight (puts overlap), so the report can say how much of a
// backup is storage writes and fsyncs.
function tracedStorage(dir, trace) {
  const { DirectoryStorage, realFsOps } = litevaultModule('vault/directory-storage.js');
  const any = { inFlight: 0, since: 0, busyMs: 0 };
  const wrap = (name, fn) => async (...args) => {
    const st = (trace[name] ??= { calls: 0, ms: 0, maxMs: 0, bytes: 0, busyMs: 0, inFlight: 0, since: 0 });
    const start = now();
    if (st.inFlight++ === 0) st.since = start;
    if (any.inFlight++ === 0) any.since = start;
    try {
      const result = await fn(...args);
      if (name === 'write') st.bytes += args[1].length;
      if (name === 'readFile') st.bytes += result.length;
      return result;
    } finally {
      const end = now();
      st.calls++;
      st.ms += end - start;
      st.maxMs = Math.max(st.maxMs, end - start);
      if (--st.inFlight === 0) st.busyMs += end - st.since;
      if (--any.inFlight === 0) any.busyMs += end - any.since;
      trace.any = { busyMs: any.busyMs };
    }
  };
  const ops = Object.fromEntries(Object.entries(realFsOps).map(([k, f]) => [k, wrap(k, f)]));
  return new DirectoryStorage(dir, ops);
}

// Vault.open()'s options: an s3:// vault's (spec.remote: endpoint, ...), create for the
// untimed setup, or the traced storage of a diagnostic run.
function vaultOptions(extra = {}) {
  return { ...(spec.remote ?? {}), ...extra };
}

// The remote section's reference (op sdk-upload): spec.objects ({file, key}) read into memory
// (untimed: `before` runs before the clock starts), then uploaded into spec.bucket with
// lib-storage's Upload as a plain SDK user would, spec.inFlight objects at a time, the last
// object (the manifest) alone after all the others (litevault's commit rule's order). The client
// is configured as litevault's S3Storage configures its own (endpoint, path style, retries, no
// SDK checksums); Upload's parts are S3Storage's (spec.partBytes, spec.partsInFlight), so an
// object of up to one part goes as a single PutObject. With spec.litevaultRequests, each such
// object also carries what litevault's put() adds (lib/vault/s3-storage.ts putObject):
// If-None-Match: *, its CRC32 (zlib.crc32 on the main thread) as x-amz-checksum-crc32, and an
// unsigned payload (a bigger one: a CRC32 per part, the condition on the completion, as
// S3Storage's multipart uploads).
async function sdkUpload({ S3Client }, { Upload }, before) {
  const bodies = await Promise.all(spec.objects.map((o) => fs.promises.readFile(o.file))); // off the event loop
  const multipart = bodies.filter((b) => b.length > spec.partBytes).length;
  before();
  const t0 = now();
  const client = new S3Client({
    endpoint: spec.remote.endpoint,
    forcePathStyle: true,
    maxAttempts: 5,
    retryMode: 'standard',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: 10_000, socketTimeout: 60_000 },
  });
  if (spec.litevaultRequests) {
    client.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'PutObjectCommand' && args.request.headers) args.request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        return next(args);
      },
      { step: 'build', name: 'benchUnsignedPayload' },
    );
  }
  const upload = (i) => {
    const body = bodies[i];
    const params = { Bucket: spec.bucket, Key: spec.objects[i].key, Body: body };
    if (spec.litevaultRequests) {
      Object.assign(params, { IfNoneMatch: '*', ChecksumAlgorithm: 'CRC32' });
      if (body.length <= spec.partBytes) {
        const sum = Buffer.alloc(4);
        sum.writeUInt32BE(require('zlib').crc32(body) >>> 0);
        params.ChecksumCRC32 = sum.toString('base64');
      }
    }
    return new Upload({ client, params, partSize: spec.partBytes, queueSize: spec.partsInFlight, leavePartsOnError: false }).done();
  };
  const last = bodies.length - 1;
  let next = 0;
  const worker = async () => {
    while (next < last) await upload(next++);
  };
  await Promise.all(Array.from({ length: spec.inFlight }, worker));
  await upload(last);
  const t1 = now();
  client.destroy();
  return { t0, t1, out: { objects: bodies.length, bytes: bodies.reduce((a, b) => a + b.length, 0), multipart } };
}

// process.cpuUsage() since `cpu0` (every thread of the process), in ms.
function cpuSince(cpu0) {
  const cpu = process.cpuUsage(cpu0);
  return { userMs: cpu.user / 1000, systemMs: cpu.system / 1000 };
}

// Times `consume(stream)` on a backupStream(spec.src) (with spec.chunkBytes, when given), from
// the stream's creation to consume's end, with the CPU time of every thread; records the
// snapshot it announced and when ('snapshot' fires after the open and the read lock).
async function timedStream(lib, spec, consume) {
  const out = {};
  announce('start');
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const stream = lib.backupStream(spec.src, spec.chunkBytes ? { chunkBytes: spec.chunkBytes } : {});
  stream.once('snapshot', (s) => {
    out.snapshot = s;
    out.snapshotMs = now() - t0;
  });
  await consume(stream);
  const t1 = now();
  announce('end');
  out.cpu = cpuSince(cpu0);
  return { t0, t1, out };
}

async function main() {
  const lib = spec.op.startsWith('lv-') ? litevault() : spec.op.startsWith('bs-') ? betterSqlite3() : spec.op.startsWith('sdk-') ? [require('@aws-sdk/client-s3'), require('@aws-sdk/lib-storage')] : null;
  const loadedRssKiB = Math.round(process.memoryUsage().rss / 1024);
  const out = { op: spec.op, ok: true };

  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  await sleep(20);
  let t0;
  let t1;
  let tOpen;
  try {
    switch (spec.op) {
      case 'idle': {
        announce('start');
        t0 = now();
        await sleep(spec.ms);
        t1 = now();
        announce('end');
        break;
      }
      case 'lv-backup': {
        const options = {};
        if (spec.mode) options.mode = spec.mode;
        if (spec.pagesPerStep) options.pagesPerStep = spec.pagesPerStep;
        if (spec.verify !== undefined) options.verify = spec.verify;
        if (spec.priority) options.priority = spec.priority;
        announce('start');
        t0 = now();
        out.result = await lib.backup(spec.src, spec.dst, options);
        t1 = now();
        announce('end');
        out.restarts = out.result.restarts;
        out.finished = true;
        out.nativeAddon = lib.nativeAddon;
        break;
      }
      case 'bs-backup': {
        // better-sqlite3's documented call: db.backup(file) steps 100 pages at a time on the main
        // thread, with setImmediate between steps. A restart shows as `remainingPages` going up.
        let restarts = 0;
        let previous = Infinity;
        let steps = 0;
        let timedOut = false;
        announce('start');
        t0 = now();
        const db = new lib(spec.src);
        const deadline = t0 + (spec.timeoutMs ?? Infinity);
        try {
          out.result = await db.backup(spec.dst, {
            progress({ remainingPages }) {
              steps++;
              if (remainingPages > previous) restarts++;
              previous = remainingPages;
              if (now() > deadline) {
                timedOut = true;
                throw new Error('bench timeout');
              }
            },
          });
        } catch (err) {
          if (!timedOut) throw err;
        }
        t1 = now();
        announce('end');
        db.close();
        Object.assign(out, { restarts, steps, finished: !timedOut, remainingPages: timedOut ? previous : 0 });
        break;
      }
      case 'lv-vault-init': {
        // Untimed setup: creates the (empty) vault, as `restic init` creates the repository.
        t0 = now();
        const vault = await lib.Vault.open(spec.vault, vaultOptions({ create: true }));
        t1 = now();
        out.location = vault.location;
        break;
      }
      case 'lv-vault-backup': {
        // Timed: opening the vault and the whole backup call (lock, base chain, scan, packs and
        // manifest written and fsynced, lock released). onProgress records when each phase was
        // first and last reported, and process.cpuUsage() the CPU time of every thread (the
        // threadpool's hashing and compression included), to show where the time goes.
        const options = { type: spec.type, name: spec.name };
        if (spec.compression) options.compression = spec.compression;
        if (spec.level !== undefined) options.level = spec.level;
        if (spec.verify !== undefined) options.verify = spec.verify;
        const phases = {};
        options.onProgress = (p) => {
          const t = now() - t0;
          const ph = (phases[p.phase] ??= { firstMs: t, lastMs: t, calls: 0 });
          ph.lastMs = t;
          ph.calls++;
          out.lastProgress = p;
        };
        announce('start');
        const cpu0 = process.cpuUsage();
        const trace = spec.trace ? {} : null;
        t0 = now();
        const vault = await lib.Vault.open(spec.vault, vaultOptions(trace ? { storage: tracedStorage(spec.vault, trace) } : {}));
        out.openMs = now() - t0;
        out.result = await vault.backup(spec.src, options);
        t1 = now();
        announce('end');
        out.cpu = cpuSince(cpu0);
        out.phases = phases;
        if (trace) out.trace = trace;
        if (spec.type && out.result.type !== spec.type) throw new Error(`asked for a ${spec.type} backup, got a ${out.result.type} one`);
        break;
      }
      case 'lv-vault-restore': {
        // Timed: opening the vault and the whole restore call (chain manifests read, every pack
        // read, checked and decompressed, every page checked and written, fsync, link, directory
        // fsync).
        const options = {};
        if (spec.at) options.at = spec.at;
        const phases = {};
        options.onProgress = () => {
          const t = now() - t0;
          const ph = (phases.write ??= { firstMs: t, lastMs: t, calls: 0 });
          ph.lastMs = t;
          ph.calls++;
        };
        const trace = spec.trace ? {} : null;
        announce('start');
        const cpu0 = process.cpuUsage();
        t0 = now();
        const vault = await lib.Vault.open(spec.vault, vaultOptions(trace ? { storage: tracedStorage(spec.vault, trace) } : {}));
        out.openMs = now() - t0;
        out.result = await vault.restore(spec.name, spec.dst, options);
        t1 = now();
        announce('end');
        out.cpu = cpuSince(cpu0);
        out.phases = phases;
        if (trace) out.trace = trace;
        break;
      }
      case 'lv-vault-list': {
        t0 = now();
        const vault = await lib.Vault.open(spec.vault, vaultOptions());
        out.result = (await vault.list(spec.name)).map(({ id, seq, type, base, full }) => ({ id, seq, type, base, full }));
        t1 = now();
        break;
      }
      case 'lv-verify': {
        // Timed: the whole verify(path) call (open read-only, a read transaction, every page
        // read and checked, close), with the CPU time of every thread.
        announce('start');
        const cpu0 = process.cpuUsage();
        t0 = now();
        const r = await lib.verify(spec.db);
        t1 = now();
        announce('end');
        out.cpu = cpuSince(cpu0);
        out.result = { ...r, findings: r.findings.slice(0, 5) };
        break;
      }
      case 'lv-stream-null': {
        // Timed: backupStream(path) created (the open and the snapshot included) until
        // pipeline() into an fs.WriteStream of /dev/null resolves (every byte written, the
        // snapshot released, the source closed). The sink counts the bytes it wrote.
        const { pipeline } = require('stream/promises');
        const sink = fs.createWriteStream('/dev/null');
        const streamed = await timedStream(lib, spec, (stream) => pipeline(stream, sink));
        ({ t0, t1 } = streamed);
        Object.assign(out, streamed.out, { bytes: sink.bytesWritten });
        break;
      }
      case 'lv-stream-slow': {
        // A slow consumer: an async iterator over backupStream(path) that, after each chunk
        // (chunkBytes, default 1 MiB), awaits a spec.intervalMs timer before taking the next:
        // at most 1 MiB every 10 ms. Timed from backupStream() to the iterator's end.
        let bytes = 0;
        let chunks = 0;
        let maxChunk = 0;
        const streamed = await timedStream(lib, spec, async (stream) => {
          for await (const chunk of stream) {
            bytes += chunk.length;
            chunks++;
            maxChunk = Math.max(maxChunk, chunk.length);
            await sleep(spec.intervalMs);
          }
        });
        ({ t0, t1 } = streamed);
        Object.assign(out, streamed.out, { bytes, chunks, maxChunk });
        break;
      }
      case 'fs-stream-slow': {
        // The same slow consumer over Node's own file stream of the database file
        // (fs.createReadStream, 1 MiB chunks): the event loop and memory floor of streaming a
        // file in Node at all (a reference for lv-stream-slow, not a copy of a live database).
        let bytes = 0;
        let chunks = 0;
        let maxChunk = 0;
        announce('start');
        const cpu0 = process.cpuUsage();
        t0 = now();
        for await (const chunk of require('fs').createReadStream(spec.src, { highWaterMark: spec.chunkBytes })) {
          bytes += chunk.length;
          chunks++;
          maxChunk = Math.max(maxChunk, chunk.length);
          await sleep(spec.intervalMs);
        }
        t1 = now();
        announce('end');
        Object.assign(out, { cpu: cpuSince(cpu0), bytes, chunks, maxChunk, snapshot: { bytes } });
        break;
      }
      case 'sdk-upload': {
        // Timed: the client made, every object uploaded (the files were read before).
        announce('start');
        let cpu0;
        const uploaded = await sdkUpload(lib[0], lib[1], () => {
          out.preloadedRssKiB = Math.round(process.memoryUsage().rss / 1024);
          cpu0 = process.cpuUsage();
        });
        ({ t0, t1 } = uploaded);
        announce('end');
        Object.assign(out, uploaded.out, { cpu: cpuSince(cpu0) });
        break;
      }
      case 'bs-pragma': {
        // Timed: only the pragma (integrity_check or quick_check: one row 'ok', or the problems).
        tOpen = now();
        const db = new lib(spec.db);
        announce('start');
        t0 = now();
        out.result = db.pragma(spec.pragma, { simple: false }).map((row) => Object.values(row)[0]);
        t1 = now();
        announce('end');
        db.close();
        break;
      }
      case 'lv-checkpoint': {
        tOpen = now();
        const db = await lib.Database.open(spec.db);
        announce('start');
        t0 = now();
        const cp = new lib.Checkpoint(db, { mode: spec.mode });
        let r;
        do r = await cp.step(-1);
        while (!r.done);
        await cp.finish();
        t1 = now();
        announce('end');
        await db.close();
        out.result = { busy: r.busy, log: r.log, checkpointed: r.checkpointed };
        break;
      }
      case 'bs-checkpoint': {
        tOpen = now();
        const db = new lib(spec.db);
        // With recovered: a read first, so SQLite rebuilds the WAL index before the clock starts
        // (without it, the pragma's first read does that recovery itself, as litevault's step does).
        if (spec.recovered) db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get();
        announce('start');
        t0 = now();
        out.result = db.pragma(`wal_checkpoint(${spec.mode.toUpperCase()})`)[0];
        t1 = now();
        announce('end');
        out.keepOpen = true; // closing would checkpoint again and delete the -wal; exit instead
        break;
      }
      default:
        throw new Error(`unknown op ${spec.op}`);
    }
  } catch (err) {
    out.ok = false;
    out.error = `${err.code ? err.code + ': ' : ''}${err.message}`;
    t1 ??= now();
    t0 ??= t1;
  }
  await sleep(3); // let a blocked loop's late timer be recorded
  await sleep(3);
  histogram.disable();
  const peakMaxRssKiB = process.resourceUsage().maxRSS;
  out.ms = t1 - t0;
  if (tOpen !== undefined) out.msWithOpen = t1 - tOpen;
  out.eld = {
    samples: histogram.count,
    maxMs: histogram.max / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    p50Ms: histogram.percentile(50) / 1e6,
  };
  out.rss = {
    idleKiB: idleMaxRssKiB,
    loadedKiB: loadedRssKiB,
    peakKiB: peakMaxRssKiB,
    peakAboveIdleKiB: peakMaxRssKiB - idleMaxRssKiB,
    peakAboveLoadedKiB: peakMaxRssKiB - loadedRssKiB,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ op: spec.op, ok: false, error: String(err && err.stack) }) + '\n');
  process.exit(1);
});
