// The replication section of the benchmark harness (`node bench/run.js --only replication`; part
// of the default run): issue 16's targets for continuous replication (docs/replication.md), with
// `litevault replicate` (dist/cli.js of the benchmarked build) as a child process, exactly as a
// user runs it, and a real-SQLite writer (children/repl-writer.js: better-sqlite3, WAL,
// synchronous=NORMAL, default auto-checkpoint) committing one row per transaction, `id` = its
// commit number.
//
// 1. Live, each round, rotated, each from a fresh copy of the bench database:
//      alone:  the writer at `rate` commits/s for `seconds`, nothing else (the reference);
//      dir:    `litevault replicate <db> <dir vault> --json --interval 1s --wal-frames 4000`
//              started first (its start backup done), then the same writer;
//      s3:     the same into s3://<fresh bucket>/vault on moto_server (loopback; started as
//              bench/remote.js starts it).
//    Measured: the writer's commit latency (p99, against `alone` in the same round), the -wal's
//    size every 50 ms (its maximum against 2 x --wal-frames frames), and each transaction's lag:
//    the time the harness read the replicator's event that made it restorable (the 'segment'
//    whose txid range covers it, or the 'backup' of a heal after it) minus the writer's commit
//    time (both CLOCK_MONOTONIC: process.hrtime in the harness and in the writer).
// 2. History: a fresh copy, the replicator into a directory vault, the writer unpaced for
//    `history` transactions (3.6 M = one hour at 1000/s by default); then, rotated, `vault restore
//    --at tx:<last>` (the anchor's backup + every segment after it) vs `vault restore --at <the
//    full backup's id>` (the anchor alone), each a whole CLI process timed spawn to exit.
//
// Mapping txids to commits (docs/replication.md "Transaction ids"): the replicator numbers the
// transactions it ships 1, 2, ... in the order SQLite committed them, and an anchor (its start
// backup, a heal after a gap) takes an id of its own that stands for every commit up to its
// snapshot. The writer is the database's only writer (no other transaction can take an id) and
// starts after the start backup's event (txid 1 = the state before commit 1), so between two
// anchors the ids count the writer's commits one to one: txid T_i + j is commit M_i + j, where
// M_i is the last commit in anchor i's snapshot (0 for the start backup). The last stretch's M
// follows from the end: every commit is shipped before the replicator stops (SIGTERM ships what
// it has), so its last txid is the writer's last commit. A heal in between has an unknown M_i: it
// is read by restoring that point (max(id) of repl_log; up to MAX_HEAL_RESTORES per run, the
// others' segments are left out and counted). Round 1 (every round in --smoke) checks the whole
// mapping by restoring the last txid: max(id) and count(*) must be the writer's commit count.
// Called by run.js with its helpers; results go to lib/report-replication.js.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { randomBytes } = require('crypto');
const { now, sleep, runTimed, forkNode, nextMessage, removeDb, syncFs, fsyncFiles, output } = require('./lib/proc');
const { litevaultCli, betterSqlite3 } = require('./lib/load');
const { percentile, median, max } = require('./lib/stats');
const { isolateAwsEnv, startMotoServer, stopMotoServer } = require('../test/oracle/moto-server.cjs');

const NAME = 'bench';
// The ship interval: a segment is written once its oldest transaction is this old, so the lag
// is about the interval plus one upload; 500 ms puts the p99 under the 1 s target (issue 16)
// with room for moto's uploads, at two segments a second.
const INTERVAL = '500ms';
const INTERVAL_MS = 500;
const WAL_FRAMES = 4000; // the replicator's default, passed explicitly
const SAMPLE_MS = 50;
const MAX_HEAL_RESTORES = 6;
const KINDS = ['alone', 'dir', 's3'];

// CPU (user + system, ms) and peak RSS (VmHWM, KiB) of a running process, from /proc.
function procUsage(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const hwm = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { userMs: Number(f[11]) * 10, systemMs: Number(f[12]) * 10, peakRssKiB: hwm ? Number(hwm[1]) : undefined };
  } catch {
    return undefined;
  }
}

// How many events of each kind (backups by reason, checkpoints by outcome).
function eventCounts(events) {
  const counts = {};
  for (const { e } of events) {
    const k = e.type === 'backup' ? `backup:${e.reason}` : e.type === 'checkpoint' ? `checkpoint:${e.truncated ? 'truncated' : 'kept'}` : e.type;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

const pct = (values) => (values.length ? { n: values.length, p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99), p999: percentile(values, 99.9), max: max(values) } : { n: 0 });

// `litevault replicate` as a long-lived child: every stdout line stamped with the harness's clock
// as it arrives.
function startReplicator(db, vault, extraArgs) {
  const args = [litevaultCli(), 'replicate', db, vault, '--json', '--name', NAME, '--interval', INTERVAL, '--wal-frames', String(WAL_FRAMES), ...extraArgs];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const rep = { child, args, events: [], stderr: '', exited: null, waiters: [] };
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    const t = now();
    pending += d;
    let at;
    while ((at = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, at);
      pending = pending.slice(at + 1);
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        continue;
      }
      rep.events.push({ t, e });
      for (const w of rep.waiters.slice()) w();
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d) => (rep.stderr = (rep.stderr + d).slice(-4000)));
  rep.exit = new Promise((resolve) => child.on('close', (code, signal) => {
    rep.exited = { code, signal, t: now() };
    for (const w of rep.waiters.slice()) w();
    resolve(rep.exited);
  }));
  // Resolves to the first event (from index `from`) that satisfies pred; rejects when the child exits first or on timeout.
  rep.waitFor = (pred, timeoutMs, from = 0) => new Promise((resolve, reject) => {
    const check = () => {
      const hit = rep.events.slice(from).find(({ e }) => pred(e));
      if (hit) return done(() => resolve(hit));
      if (rep.exited) return done(() => reject(new Error(`litevault replicate exited (${rep.exited.code ?? rep.exited.signal}): ${rep.stderr.trim().slice(-1500)}`)));
      return undefined;
    };
    const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for the replicator (${rep.stderr.trim().slice(-500)})`))), timeoutMs);
    const done = (f) => {
      clearTimeout(timer);
      rep.waiters = rep.waiters.filter((w) => w !== check);
      f();
    };
    rep.waiters.push(check);
    check();
  });
  return rep;
}

// The -wal's size every SAMPLE_MS until stop().
function walSampler(db) {
  const s = { maxBytes: 0, samples: 0, sum: 0 };
  const take = () => {
    let size = 0;
    try {
      size = fs.statSync(`${db}-wal`).size;
    } catch {}
    s.samples++;
    s.sum += size;
    if (size > s.maxBytes) s.maxBytes = size;
  };
  take();
  const timer = setInterval(take, SAMPLE_MS);
  return { stop: () => { clearInterval(timer); take(); return { maxBytes: s.maxBytes, meanBytes: s.sum / s.samples, samples: s.samples, everyMs: SAMPLE_MS }; } };
}

// The commit count held by a restored copy (and whether it is whole: rows 1..max).
function restoredCommits(file) {
  const db = new (betterSqlite3())(file, { readonly: true });
  try {
    const { hi, n } = db.prepare('SELECT coalesce(max(id), 0) AS hi, count(*) AS n FROM repl_log').get();
    const check = db.pragma('quick_check', { simple: true });
    return { commits: hi, rows: n, check, ok: hi === n && check === 'ok' };
  } finally {
    db.close();
  }
}

// `litevault vault restore ... --json` as a whole process: its result line and spawn-to-exit time.
async function cliRestore(vault, dst, at, extraArgs) {
  removeDb(dst);
  const r = await runTimed(process.execPath, [litevaultCli(), 'vault', 'restore', vault, NAME, dst, '--at', at, '--json', ...extraArgs]);
  let result;
  try {
    result = JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {}
  if (r.code !== 0 || !result) return { ok: false, ms: r.ms, error: `vault restore --at ${at}: exit ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(-1500)}` };
  return { ok: true, ms: r.ms, result };
}

/**
 * The lag of every transaction a run's replicator made restorable (see the header for the
 * mapping). events: [{t, e}] as read; endMs: the writer's commit end times (commit k at k-1);
 * stopT: when SIGTERM was sent (segments read after it are counted apart); resolveM(txid): the
 * commit count at an anchor, by restoring it.
 */
async function lagOf(events, endMs, commits, lastTxid, stopT, resolveM) {
  const anchors = events.filter(({ e }) => e.type === 'backup' && e.txid !== null).map(({ t, e }) => ({ t, txid: e.txid, reason: e.reason, seq: e.seq }));
  const segments = events.filter(({ e }) => e.type === 'segment').map(({ t, e }) => ({ t, first: e.firstTxid, last: e.lastTxid }));
  const out = { anchors: anchors.length, heals: anchors.filter((a) => a.reason !== 'start').length, segments: segments.length, unmapped: 0, atStop: 0, healRestores: 0, notes: [] };
  if (!anchors.length || anchors[0].reason !== 'start') {
    out.notes.push('no start backup event: no mapping');
    return out;
  }
  // Stretches between anchors: [T_i, end_i], n_i transactions shipped after the anchor.
  const st = anchors.map((a, i) => ({ ...a, end: i + 1 < anchors.length ? anchors[i + 1].txid - 1 : lastTxid }));
  for (const s of st) s.n = s.end - s.txid;
  st[0].M = 0;
  const last = st[st.length - 1];
  if (st.length > 1) last.M = commits - last.n;
  else if (commits !== last.n) out.notes.push(`the replicator shipped ${last.n} transactions after its start backup, the writer made ${commits} commits: the ids do not count the commits one to one`);
  for (let i = 1; i < st.length - 1; i++) {
    if (out.healRestores >= MAX_HEAL_RESTORES) break;
    out.healRestores++;
    st[i].M = await resolveM(st[i].txid);
  }
  // Each stretch's commits must follow the previous one's (P_i = M_{i-1} + n_{i-1} <= M_i).
  for (let i = 1; i < st.length; i++) {
    if (st[i - 1].M === undefined || st[i].M === undefined) continue;
    st[i].P = st[i - 1].M + st[i - 1].n;
    if (st[i].M < st[i].P) out.notes.push(`anchor ${st[i].txid} holds ${st[i].M} commits, fewer than the ${st[i].P} shipped before it: mapping inconsistent`);
  }
  const segLags = [];
  const healLags = [];
  const stretchOf = (txid) => {
    for (let i = st.length - 1; i >= 0; i--) if (txid > st[i].txid) return st[i];
    return null;
  };
  for (const seg of segments) {
    const atStop = seg.t >= stopT;
    for (let txid = seg.first; txid <= seg.last; txid++) {
      const s = stretchOf(txid);
      if (!s || s.M === undefined) {
        out.unmapped++;
        continue;
      }
      const k = s.M + (txid - s.txid);
      if (k < 1 || k > endMs.length) {
        out.unmapped++;
        continue;
      }
      if (atStop) out.atStop++;
      else segLags.push(seg.t - endMs[k - 1]);
    }
  }
  // Commits that only a heal's backup made restorable: P_i + 1 .. M_i, at the backup's event.
  const healDurations = [];
  for (let i = 1; i < st.length; i++) {
    const s = st[i];
    const gap = events.filter(({ t, e }) => e.type === 'gap' && t <= s.t).pop();
    if (gap) healDurations.push(s.t - gap.t);
    if (s.P === undefined || s.M === undefined) continue;
    for (let k = s.P + 1; k <= s.M && k <= endMs.length; k++) healLags.push(s.t - endMs[k - 1]);
  }
  out.healed = healLags.length;
  out.segment = pct(segLags);
  out.all = pct(segLags.concat(healLags));
  out.healMs = pct(healDurations);
  out.healDurationsMs = healDurations;
  out.gapReasons = events.filter(({ e }) => e.type === 'gap').map(({ e }) => e.reason);
  out.rawSegmentLagsMs = segLags; // pooled across rounds, then dropped (run.js stripRaw keeps no *Ms arrays of this name)
  return out;
}

async function replicationSection(context) {
  const { opts, src, workDir, errors, settle, log, rotate } = context;
  const dir = path.join(workDir, 'replication');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'aws'), { recursive: true });
  const work = path.join(dir, 'work.db');
  const restored = path.join(dir, 'restored.db');
  const seconds = opts.replSeconds;
  const rate = opts.replRate;
  const history = opts.replHistory;
  const fail = (what, error) => {
    error = String(error).replace(/\n\s*/g, ' ').slice(0, 600);
    errors.push(`replication/${what}: ${error}`);
    log(`replication ${what}: FAILED ${error}`);
  };
  // The bench database with an empty repl_log (the writer section has filled writer_log by now),
  // made by real SQLite; its close checkpoints and removes the -wal, so the copy is one file.
  const freshCopy = (file) => {
    removeDb(file);
    fs.copyFileSync(src, file);
    const db = new (betterSqlite3())(file);
    db.exec('DROP TABLE IF EXISTS repl_log; CREATE TABLE repl_log (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, body BLOB NOT NULL)');
    db.close();
    if (fs.existsSync(`${file}-wal`)) throw new Error(`${file}-wal is left after the copy's close`);
    fsyncFiles([file]);
  };
  const pageSize = new (betterSqlite3())(src, { readonly: true });
  const shape = { pageSize: pageSize.pragma('page_size', { simple: true }), pageCount: pageSize.pragma('page_count', { simple: true }), sourceBytes: fs.statSync(src).size };
  pageSize.close();
  const walLimitBytes = 2 * WAL_FRAMES * (shape.pageSize + 24) + 32;

  isolateAwsEnv(path.join(dir, 'aws'));
  const server = await startMotoServer();
  const killServer = () => server.process.kill('SIGKILL');
  process.once('exit', killServer);
  log(`replication: moto_server at ${server.endpoint}`);
  const { S3Client, CreateBucketCommand } = require('@aws-sdk/client-s3');
  const s3 = new S3Client({ endpoint: server.endpoint, forcePathStyle: true });
  const endpointArgs = ['--endpoint', server.endpoint];

  // One live run: the writer alone, or under a replicator into a directory or moto.
  async function live(kind, round) {
    const rec = { kind, round, ok: false };
    freshCopy(work);
    let vault = null;
    let extra = [];
    if (kind === 'dir') {
      vault = path.join(dir, `vault-${round}`);
      fs.rmSync(vault, { recursive: true, force: true });
    } else if (kind === 's3') {
      const bucket = `lv-repl-${round}-${randomBytes(4).toString('hex')}`;
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      vault = `s3://${bucket}/vault`;
      extra = endpointArgs;
    }
    rec.vault = vault;
    await settle(dir, [work], `replication round ${round} ${kind}`, { warmFirst: true });
    let rep = null;
    let writer = null;
    let sampler = null;
    try {
      if (vault) {
        const t0 = now();
        rep = startReplicator(work, vault, extra);
        await rep.waitFor((e) => e.type === 'backup' && e.reason === 'start', 30 * 60 * 1000);
        rec.startBackupMs = now() - t0;
      }
      writer = forkNode('repl-writer.js', { path: work, rate, durationMs: seconds * 1000, synchronous: opts.writerSync, walAutocheckpoint: opts.replAutocheckpoint });
      await nextMessage(writer, 'ready');
      sampler = walSampler(work);
      const usageBefore = rep ? procUsage(rep.child.pid) : undefined;
      writer.send({ cmd: 'start' });
      const ws = await nextMessage(writer, 'stats', seconds * 1000 + 120000);
      const wrote = now();
      if (rep) {
        // Let the replicator ship the rest on its own (a segment every interval), then stop it.
        await sleep(3 * INTERVAL_MS);
      }
      rec.wal = sampler.stop();
      sampler = null;
      const lat = ws.latenciesMs;
      rec.writer = { commits: ws.commits, errors: ws.errors, firstError: ws.firstError, ms: ws.ms, rate: ws.commits / (ws.ms / 1000), latency: pct(lat), scheduleLag: pct(ws.lagsMs), latenciesMs: lat };
      if (ws.errors) throw new Error(`the writer's commits failed ${ws.errors} times: ${ws.firstError}`);
      if (rep) {
        const usage = procUsage(rep.child.pid);
        const stopT = now();
        rep.child.kill('SIGTERM');
        const exit = await Promise.race([rep.exit, sleep(120000).then(() => null)]);
        if (!exit) {
          rep.child.kill('SIGKILL');
          throw new Error('the replicator did not stop within 120 s of SIGTERM');
        }
        if (exit.code !== 0) throw new Error(`the replicator exited ${exit.code ?? exit.signal}: ${rep.stderr.trim().slice(-1500)}`);
        const stopped = rep.events.find(({ e }) => e.type === 'stopped');
        if (!stopped) throw new Error('the replicator printed no final stats');
        rec.stoppedMs = rep.exited.t - stopT;
        rec.replicator = { stats: stopped.e.stats, cpu: usage && usageBefore ? { userMs: usage.userMs - usageBefore.userMs, systemMs: usage.systemMs - usageBefore.systemMs, wallMs: stopT - (wrote - ws.ms) } : undefined, peakRssKiB: usage?.peakRssKiB };
        rec.replicator.events = eventCounts(rep.events);
        const all = rep.events; // from the start backup's event on
        const resolveM = async (txid) => {
          const r = await cliRestore(vault, restored, `tx:${txid}`, extra);
          if (!r.ok) throw new Error(r.error);
          const c = restoredCommits(restored);
          removeDb(restored);
          if (!c.ok) throw new Error(`the restore of tx:${txid} is not whole: max(id) ${c.commits}, ${c.rows} rows, quick_check ${c.check}`);
          return c.commits;
        };
        rec.lag = await lagOf(all, ws.endMs, ws.commits, stopped.e.stats.lastTxid, stopT, resolveM);
        for (const n of rec.lag.notes) fail(`round ${round} ${kind} mapping`, n);
        if (round === 1 || opts.smoke) {
          const last = stopped.e.stats.lastTxid;
          const r = await cliRestore(vault, restored, `tx:${last}`, extra);
          if (!r.ok) fail(`round ${round} ${kind} check`, r.error);
          else {
            const c = restoredCommits(restored);
            rec.check = { txid: last, ...c, expected: ws.commits, ms: r.ms };
            if (!c.ok || c.commits !== ws.commits) fail(`round ${round} ${kind} check`, `restore --at tx:${last} holds ${c.commits} commits (${c.rows} rows, quick_check ${c.check}), the writer made ${ws.commits}`);
          }
          removeDb(restored);
        }
      }
      rec.ok = true;
    } catch (err) {
      rec.error = err.message;
    } finally {
      sampler?.stop();
      if (writer && writer.exitCode === null) writer.kill('SIGKILL');
      if (rep && !rep.exited) {
        rep.child.kill('SIGKILL');
        await rep.exit;
      }
    }
    return rec;
  }

  const rounds = [];
  const hist = { ok: false };
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      const runs = {};
      for (const kind of rotate(KINDS, round)) {
        const r = await live(kind, round);
        runs[kind] = r;
        if (!r.ok) fail(`round ${round} ${kind}`, r.error);
        else log(`replication round ${round}/${opts.rounds} ${kind}: ${r.writer.commits} commits at ${r.writer.rate.toFixed(0)}/s, p99 ${r.writer.latency.p99.toFixed(2)} ms, -wal max ${(r.wal.maxBytes / 1048576).toFixed(1)} MiB${r.lag ? `; lag p99 ${r.lag.segment.p99?.toFixed(0)} ms over ${r.lag.segment.n} txns, ${r.lag.heals} heals, ${r.lag.unmapped} unmapped` : ''}`);
        if (kind === 'dir') fs.rmSync(path.join(dir, `vault-${round}`), { recursive: true, force: true });
      }
      rounds.push(runs);
      const res = await fetch(`${server.endpoint}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset: HTTP ${res.status}`);
    }
  } finally {
    s3.destroy();
    await stopMotoServer(server.process);
    process.off('exit', killServer);
    log('replication: moto_server stopped');
  }

  // Pooled over the rounds (the raw arrays are dropped from the record afterwards).
  const pooled = {};
  for (const kind of KINDS) {
    const ok = rounds.map((r) => r[kind]).filter((r) => r && r.ok);
    pooled[kind] = { latency: pct(ok.flatMap((r) => r.writer.latenciesMs)) };
    if (kind !== 'alone') pooled[kind].lag = pct(ok.flatMap((r) => r.lag?.rawSegmentLagsMs ?? []));
    for (const r of ok) if (r.lag) delete r.lag.rawSegmentLagsMs;
  }

  // 2. The history and the restores.
  const histDb = path.join(dir, 'history.db');
  const histVault = path.join(dir, 'history-vault');
  try {
    freshCopy(histDb);
    fs.rmSync(histVault, { recursive: true, force: true });
    await settle(dir, [histDb], 'replication history', { warmFirst: true });
    const rep = startReplicator(histDb, histVault, []);
    let writer;
    let sampler;
    try {
      await rep.waitFor((e) => e.type === 'backup' && e.reason === 'start', 30 * 60 * 1000);
      writer = forkNode('repl-writer.js', { path: histDb, rate: 0, count: history, burst: 200, synchronous: opts.writerSync, walAutocheckpoint: opts.replAutocheckpoint });
      await nextMessage(writer, 'ready');
      sampler = walSampler(histDb);
      const usageBefore = procUsage(rep.child.pid);
      const t0 = now();
      log(`replication history: ${history.toLocaleString('en-US')} transactions, the writer unpaced`);
      writer.send({ cmd: 'start' });
      const ws = await nextMessage(writer, 'stats', 6 * 3600 * 1000);
      if (ws.errors) throw new Error(`the history writer's commits failed ${ws.errors} times: ${ws.firstError}`);
      // Until the replicator has shipped everything: its last txid then stays put for 3 intervals.
      let last = -1;
      let stable = 0;
      const lastTxid = () => rep.events.filter(({ e }) => e.type === 'segment' || (e.type === 'backup' && e.txid !== null)).reduce((m, { e }) => Math.max(m, e.lastTxid ?? e.txid), 0);
      for (let waited = 0; stable < 3 && waited < 1200; waited++) {
        await sleep(INTERVAL_MS);
        const l = lastTxid();
        stable = l === last ? stable + 1 : 0;
        last = l;
      }
      const caughtUpMs = now() - t0;
      const usage = procUsage(rep.child.pid);
      rep.child.kill('SIGTERM');
      const exit = await rep.exit;
      if (exit.code !== 0) throw new Error(`the replicator exited ${exit.code ?? exit.signal}: ${rep.stderr.trim().slice(-1500)}`);
      const stopped = rep.events.find(({ e }) => e.type === 'stopped');
      Object.assign(hist, {
        transactions: ws.commits,
        writerMs: ws.ms,
        writerRate: ws.commits / (ws.ms / 1000),
        caughtUpMs,
        wal: sampler.stop(),
        replicator: { stats: stopped?.e.stats, events: eventCounts(rep.events), cpu: usage && usageBefore ? { userMs: usage.userMs - usageBefore.userMs, systemMs: usage.systemMs - usageBefore.systemMs } : undefined, peakRssKiB: usage?.peakRssKiB },
      });
    } finally {
      sampler?.stop(); // its interval would keep the bench process alive after a failure
      if (writer && writer.exitCode === null) writer.kill('SIGKILL');
      if (!rep.exited) {
        rep.child.kill('SIGKILL');
        await rep.exit;
      }
    }
    const listed = await runTimed(process.execPath, [litevaultCli(), 'vault', 'list', histVault, '--name', NAME, '--json']);
    const list = JSON.parse(listed.stdout);
    const full = list.backups.find((b) => b.type === 'full');
    const logInfo = list.logs.find((l) => l.name === NAME);
    const lastTxid = logInfo?.range?.lastTxid;
    const anchor = [...(logInfo?.anchors ?? [])].filter((a) => a.txid <= lastTxid).pop();
    Object.assign(hist, { full: full && { id: full.id, seq: full.seq, pageCount: full.pageCount, bytesStored: full.bytesStored }, backups: list.backups.length, log: logInfo && { segments: logInfo.segments, bytes: logInfo.bytes, range: logInfo.range, anchors: logInfo.anchors.length, heals: logInfo.anchors.filter((a) => a.heal).length }, lastTxid, anchor, vaultBytes: Number(output('du', ['-sb', histVault]).split(/\s/)[0]) });
    if (!full || !lastTxid) throw new Error(`the history vault has ${full ? 'no log range' : 'no full backup'}: ${listed.stdout.slice(0, 500)}`);
    log(`replication history: ${hist.transactions.toLocaleString('en-US')} commits in ${(hist.writerMs / 1000).toFixed(0)} s (${hist.writerRate.toFixed(0)}/s), shipped by ${(hist.caughtUpMs / 1000).toFixed(0)} s; log ${hist.log.segments} segments, ${(hist.log.bytes / 1048576).toFixed(1)} MiB, txids ${hist.log.range.firstTxid}..${lastTxid}, anchor ${anchor?.seq} (tx ${anchor?.txid}${anchor?.heal ? ', a heal' : ''}); full backup ${full.id}`);
    fs.rmSync(histDb, { force: true });
    removeDb(histDb);
    syncFs(dir);
    const competitors = [
      { key: 'point', at: `tx:${lastTxid}` },
      { key: 'full', at: full.id },
    ];
    hist.rounds = [];
    for (let round = 1; round <= opts.rounds; round++) {
      const runs = {};
      for (const c of rotate(competitors, round)) {
        removeDb(restored);
        await settle(dir, [histVault], `replication restore round ${round} ${c.key}`, { warmFirst: true });
        const r = await cliRestore(histVault, restored, c.at, []);
        if (r.ok && (round === 1 || opts.smoke)) {
          r.check = restoredCommits(restored);
          const want = c.key === 'point' ? hist.transactions : 0;
          if (!r.check.ok || r.check.commits !== want) {
            r.ok = false;
            r.error = `restore --at ${c.at} holds ${r.check.commits} commits (${r.check.rows} rows, quick_check ${r.check.check}), not ${want}`;
          }
        }
        removeDb(restored);
        if (!r.ok) fail(`restore round ${round} ${c.key}`, r.error);
        else log(`replication restore round ${round}/${opts.rounds} ${c.key} (--at ${c.at}): ${r.ms.toFixed(0)} ms (its own ${r.result.ms} ms)`);
        runs[c.key] = r;
      }
      hist.rounds.push(runs);
    }
    hist.ok = true;
  } catch (err) {
    hist.error = err.message;
    fail('history', err.message);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  syncFs(workDir);
  return {
    ...shape,
    name: NAME,
    rate,
    seconds,
    history,
    interval: INTERVAL,
    walFrames: WAL_FRAMES,
    walLimitBytes,
    sampleMs: SAMPLE_MS,
    synchronous: opts.writerSync,
    autocheckpoint: opts.replAutocheckpoint,
    moto: output('python3', ['-c', 'import moto; print(moto.__version__)']) || '?',
    rounds,
    pooled,
    hist,
  };
}

module.exports = { replicationSection, lagOf };
