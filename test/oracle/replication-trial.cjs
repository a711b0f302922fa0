// The replication acceptance trial (issue 16), shared by test/replication.test.ts and
// scripts/torture.js (plain CommonJS, so both load it). A ledger writer (ledger-writer.cjs: real
// SQLite, WAL, synchronous=NORMAL, a random wal_autocheckpoint from {1000, 0, 100, 10000}, paced
// commits, forced WAL resets at random moments) runs for `seconds` while `litevault replicate`
// (the CLI, or replicate-child.cjs for an s3:// vault's short lease) follows it and is SIGKILLed
// and restarted at random moments; at the end the writer stops and the replicator gets SIGTERM
// (exit 0, a last 'stopped' line). Then the vault is judged by real SQLite only:
//   - the latest txid (vault list's range end) restores to the writer's last commit: nothing
//     shipped late is lost;
//   - N random txids and N random times in the range (`vault restore --at tx:N | ISO`) restore
//     to a database that passes integrity_check and is exactly the state after commit k, k its
//     max(id) (every ledger row and balance, ledger.cjs);
//   - k never decreases as the txid (or the time) grows;
//   - a time T restores a k whose commit began at or before T + 5 ms (a few ms of clock order;
//     not the time COMMIT returned: SQLite runs wal_autocheckpoint inside it, after the commit
//     is visible), and
//     every commit logged at or before T - lagMs is <= k (lagMs: the bound on how late a commit
//     may be recorded: the replicator's restart after a kill, or a heal's backup).
// Every choice comes from `seed`. The result: a summary (counts) and `failures` (each naming the
// seed, the target and what differed); nothing is thrown for a failed check.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { mulberry32, createLedgerDb, checkLedger, readCommitLog } = require('./ledger.cjs');

const REPO = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO, 'dist', 'cli.js');
const WRITER = path.join(__dirname, 'ledger-writer.cjs');
const API_CHILD = path.join(__dirname, 'replicate-child.cjs');
const NAME = 'ledger';
const AUTOCHECKPOINTS = [1000, 0, 100, 10000];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The children run the shipped build, not a test addon the caller may have loaded.
function childEnv() {
  const env = { ...process.env };
  delete env.LITEVAULT_TEST_ADDON;
  return env;
}

/** Runs `node dist/cli.js ...args`; resolves { code, signal, stdout, stderr }. */
function cli(args, env = childEnv()) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A child whose stdout is JSON lines: `events` collects them, `exited` resolves { code, signal, stderr }. */
function jsonChild(command, args, env, onEvent) {
  const p = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const c = { process: p, events: [], stderr: '', exited: null, lastLine: null };
  let rest = '';
  p.stdout.setEncoding('utf8').on('data', (d) => {
    rest += d;
    let nl;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (!line.trim()) continue;
      c.lastLine = line;
      try {
        const e = JSON.parse(line);
        c.events.push(e);
        onEvent?.(e);
      } catch {
        // a line cut by SIGKILL, or not JSON
      }
    }
  });
  p.stderr.setEncoding('utf8').on('data', (d) => (c.stderr = (c.stderr + d).slice(-8000)));
  c.exited = new Promise((resolve) => p.once('exit', (code, signal) => resolve({ code, signal, stderr: c.stderr })));
  return c;
}

/**
 * Starts a replicator of `db` into `vault` (name 'ledger'), the CLI (`litevault replicate --json
 * --interval`) or, with `api` (Vault.open options, e.g. {endpoint, leaseMs}), replicate-child.cjs.
 */
function startReplicator(db, vault, { interval = 200, remoteArgs = [], api = null, extra = [], onEvent } = {}) {
  const args = api
    ? [API_CHILD, db, vault, NAME, String(interval), JSON.stringify(api)]
    : [CLI, 'replicate', db, vault, '--json', '--name', NAME, '--interval', `${interval}ms`, ...remoteArgs, ...extra];
  return jsonChild(process.execPath, args, childEnv(), onEvent);
}

/** Starts the ledger writer; `done` resolves to its summary ({commits, resets, ...}) or rejects with its stderr. */
function startWriter(db, logPath, { seed, autocheckpoint, rate = 1000, resetEvery = 0, maxCommits } = {}) {
  const args = [WRITER, '--db', db, '--log', logPath, '--seed', String(seed), '--autocheckpoint', String(autocheckpoint), '--rate', String(rate), '--reset-every', String(resetEvery)];
  if (maxCommits !== undefined) args.push('--max-commits', String(maxCommits));
  const c = jsonChild(process.execPath, args, childEnv());
  const done = c.exited.then(({ code, signal, stderr }) => {
    const summary = c.events.at(-1);
    if (code !== 0 || !summary) throw new Error(`ledger writer exited ${code ?? signal}: ${stderr.trim().slice(-2000)}`);
    return summary;
  });
  done.catch(() => undefined);
  return { child: c, done, stop: () => c.process.kill('SIGTERM') };
}

/** The name's log as `vault list --json` reports it ({range, segments, anchors, ...}); throws on a CLI failure. */
async function listLog(vault, remoteArgs = []) {
  const r = await cli(['vault', 'list', vault, '--json', ...remoteArgs]);
  if (r.code !== 0) throw new Error(`vault list exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
  const out = JSON.parse(r.stdout);
  return { log: (out.logs ?? []).find((l) => l.name === NAME) ?? null, backups: out.backups ?? [] };
}

/** `vault restore <vault> ledger <dest> --at <at> --json`: { ok, result | error }. */
async function restoreAt(vault, dest, at, remoteArgs = []) {
  const r = await cli(['vault', 'restore', vault, NAME, dest, '--at', at, '--json', ...remoteArgs]);
  if (r.code !== 0) return { ok: false, error: `exit ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 600)}` };
  try {
    return { ok: true, result: JSON.parse(r.stdout.trim().split('\n').at(-1)) };
  } catch {
    return { ok: false, error: `not JSON: ${r.stdout.slice(0, 300)}` };
  }
}

function walBytes(db) {
  try {
    return fs.statSync(`${db}-wal`).size;
  } catch {
    return 0;
  }
}

/**
 * Runs the trial. Options: seconds, seed, restores (N per kind), rate (1000), kills (default
 * max(2, round(seconds / 15))), resetEvery (mean ms between forced resets, default 3000), lagMs
 * (2000), work (a fresh directory), vault (default <work>/vault), remoteArgs (CLI options for an
 * s3:// vault), api (Vault.open options: run the replicator through the API child), log
 * (progress lines; default console.log). Resolves to { summary, failures }.
 */
async function replicationTrial(o) {
  const started = Date.now();
  const seed = o.seed >>> 0;
  const rand = mulberry32(seed);
  const say = o.log ?? ((s) => console.log(s));
  const seconds = o.seconds;
  const N = o.restores ?? 10;
  const rate = o.rate ?? 1000;
  const kills = o.kills ?? Math.max(2, Math.round(seconds / 15));
  const resetEvery = o.resetEvery ?? 3000;
  const lagMs = o.lagMs ?? 2000;
  const remoteArgs = o.remoteArgs ?? [];
  // One setting for the whole trial, or 'mix': the writer switches among them every few seconds.
  const picked = AUTOCHECKPOINTS[Math.floor(rand() * AUTOCHECKPOINTS.length)];
  const autocheckpoint = o.autocheckpoint ?? picked;
  const work = o.work;
  const db = path.join(work, 'ledger.db');
  const logPath = path.join(work, 'commits.log');
  const vault = o.vault ?? path.join(work, 'vault');
  const failures = [];
  const tag = `seed ${seed}`;
  const fail = (s) => failures.push(`${tag}: ${s}`);
  say(`replication trial: ${tag}, ${seconds} s at ${rate} tx/s, wal_autocheckpoint=${autocheckpoint}, ${kills} kills, resets every ~${resetEvery} ms, ${N}+${N} restores, vault ${vault}${o.api ? ' (API replicator)' : ''}`);

  createLedgerDb(db);
  const events = []; // every replicator run's events, in order
  const eventTimes = []; // when each arrived
  const runs = [];
  let lockWaits = 0;
  const start = async () => {
    for (let tries = 0; ; tries++) {
      let started;
      const firstEvent = new Promise((resolve) => (started = resolve));
      const r = startReplicator(db, vault, { interval: 200, remoteArgs, api: o.api, onEvent: (e) => {
        events.push(e);
        eventTimes.push(Date.now());
        started(null);
      } });
      // A run that stops by itself before its first event (e.g. the name's lease still held by
      // the killed run: a Node start, the SDK's load and moto's answers, longer than any fixed
      // wait on a loaded machine) is tried again; anything else it says is judged at the end.
      let timer;
      const quiet = new Promise((resolve) => (timer = setTimeout(resolve, 15_000, null)));
      const early = await Promise.race([r.exited, firstEvent, quiet]);
      clearTimeout(timer);
      if (early === null) {
        runs.push(r);
        return r;
      }
      if (/BACKUP_IN_PROGRESS/.test(early.stderr) && tries < 200) {
        lockWaits++;
        await sleep(500);
        continue;
      }
      runs.push(r);
      fail(`replicator run ${runs.length} exited at start with ${early.code ?? early.signal}: ${early.stderr.trim().slice(0, 500)}`);
      return r;
    }
  };
  let repl = await start();
  // The writer starts once the replicator's first backup is in the vault.
  for (let i = 0; i < 600 && !events.some((e) => e.type === 'backup'); i++) await sleep(50);
  if (!events.some((e) => e.type === 'backup')) fail('the replicator took no first backup within 30 s');

  const writer = startWriter(db, logPath, { seed, autocheckpoint, rate, resetEvery });
  const t0 = Date.now();
  const killAt = Array.from({ length: kills }, () => (0.05 + 0.9 * rand()) * seconds * 1000).sort((a, b) => a - b);
  const restartDelays = killAt.map(() => Math.floor(rand() * 300));
  let maxWal = 0;
  const sampler = setInterval(() => (maxWal = Math.max(maxWal, walBytes(db))), 50);
  let killed = 0;
  const downtimes = []; // kills: the replicator is down until the next event of any later run
  let writerFailed = null;
  writer.done.catch((err) => (writerFailed = err));
  for (let i = 0; i < killAt.length && !writerFailed; i++) {
    const wait = t0 + killAt[i] - Date.now();
    if (wait > 0) await sleep(wait);
    const alive = repl.process.exitCode === null && repl.process.signalCode === null;
    if (!alive) {
      const e = await repl.exited;
      fail(`replicator run ${runs.length} stopped by itself (${e.code ?? e.signal}) before kill ${i + 1}: ${e.stderr.trim().slice(0, 500)}`);
    } else {
      repl.process.kill('SIGKILL');
      await repl.exited;
      killed++;
    }
    const downSince = Date.now();
    await sleep(restartDelays[i]);
    repl = await start();
    downtimes.push(downSince);
  }
  const left = t0 + seconds * 1000 - Date.now();
  if (left > 0 && !writerFailed) await sleep(left);
  writer.stop();
  let w = { commits: 0, resets: 0, resetsBusy: 0, behindMs: 0 };
  try {
    w = await writer.done;
  } catch (err) {
    fail(String(err.message ?? err));
  }
  clearInterval(sampler);
  // The last run must be past its start (the CLI takes its signals once replicating) before the
  // SIGTERM that should stop it cleanly.
  for (let i = 0; i < 1200 && repl.events.length === 0 && repl.process.exitCode === null; i++) await sleep(50);
  repl.process.kill('SIGTERM');
  const last = await repl.exited;
  if (last.code !== 0) fail(`the last replicator run exited ${last.code ?? last.signal} after SIGTERM (expected 0): ${last.stderr.trim().slice(0, 800)}`);
  const stopped = repl.events.at(-1);
  if (!stopped || stopped.type !== 'stopped') fail(`the last replicator run's last line is not {"type":"stopped"}: ${repl.lastLine}`);

  const count = (type, pred = () => true) => events.filter((e) => e.type === type && pred(e)).length;
  const gaps = count('gap');
  const heals = count('backup', (e) => e.reason === 'gap');
  const gapReasons = {};
  for (const e of events) if (e.type === 'gap') gapReasons[e.reason] = (gapReasons[e.reason] ?? 0) + 1;
  // Every gap is healed by a backup, but a run SIGKILLed between the two says only the gap (the
  // next run finds the same gap and heals it).
  if (heals > gaps || heals < gaps - killed) fail(`${gaps} gap events but ${heals} 'backup' events with reason 'gap' (every gap is healed by a backup; ${killed} runs were killed)`);
  // Gaps right after the replicator's own truncating checkpoint (docs/replication.md: "A restart
  // we did ourselves is never a gap"), counted apart.
  let gapsAfterOwnTruncate = 0;
  for (let i = 1; i < events.length; i++) if (events[i].type === 'gap' && events[i - 1].type === 'checkpoint' && events[i - 1].truncated) gapsAfterOwnTruncate++;
  const retries = count('retry');

  const { times, begins } = readCommitLog(fs.readFileSync(logPath, 'utf8'));
  const commits = times.length - 1;
  if (commits !== w.commits) fail(`the writer says ${w.commits} commits, its log has ${commits}`);
  const { log } = await listLog(vault, remoteArgs);
  const summary = {
    seed, seconds, rate, autocheckpoint, commits, kills: killed, runs: runs.length, lockWaits, resets: w.resets, resetsBusy: w.resetsBusy, autocheckpointSwitches: w.autocheckpointSwitches,
    gaps, gapReasons, gapsAfterOwnTruncate, heals, backups: count('backup'), segments: count('segment'), checkpoints: count('checkpoint', (e) => e.truncated), retries,
    maxWalBytes: maxWal, writerBehindMs: w.behindMs, range: log?.range ?? null, restores: 0, restoreFailures: 0, lagSeenMs: 0, lagMs, failures: 0, ms: 0,
  };
  if (!log || !log.range) {
    fail(`vault list shows no restorable range for ${NAME}: ${JSON.stringify(log)}`);
    summary.failures = failures.length;
    summary.ms = Date.now() - started;
    return { summary, failures };
  }
  // The lag bound: lagMs (a poll interval and a heal's backup), plus the longest time the
  // replicator was down: a kill until a later run next committed to the log (a segment, or a
  // backup with its anchor's txid). That is its start, for an s3:// vault the killed run's lease
  // running out (TTL + 2 s clock slack), and its first heal; a run killed before it committed
  // anything (a gap event said, its heal not yet done) extends the same downtime.
  const committedAt = eventTimes.filter((t, i) => events[i].type === 'segment' || (events[i].type === 'backup' && events[i].txid != null));
  const downMaxMs = Math.max(0, ...downtimes.map((since) => (committedAt.find((t) => t >= since) ?? since) - since));
  summary.downMaxMs = downMaxMs;
  const lagBound = lagMs + downMaxMs;
  summary.lagBoundMs = lagBound;
  const range = log.range;
  const destDir = path.join(work, 'restored');
  fs.mkdirSync(destDir, { recursive: true });
  let n = 0;
  const restoreOne = async (at, label) => {
    const dest = path.join(destDir, `r${++n}.db`);
    const r = await restoreAt(vault, dest, at, remoteArgs);
    summary.restores++;
    if (!r.ok) {
      summary.restoreFailures++;
      fail(`restore --at ${label}: ${r.error}`);
      return null;
    }
    const c = checkLedger(dest, seed);
    fs.rmSync(dest, { force: true });
    for (const sfx of ['-wal', '-shm']) fs.rmSync(dest + sfx, { force: true });
    if (c.problems.length) {
      summary.restoreFailures++;
      fail(`restore --at ${label} (txid ${r.result.txid}, recorded ${r.result.recordedAt}): the database is not the state after commit ${c.k}: ${c.problems.join('; ')}`);
      return null;
    }
    known.push({ txid: r.result.txid, k: c.k, label });
    return { txid: r.result.txid, recordedAt: r.result.recordedAt, k: c.k };
  };
  const known = [];

  // The end of the range is the writer's last commit: nothing was left unshipped.
  const end = await restoreOne(`tx:${range.lastTxid}`, `tx:${range.lastTxid} (the range's end)`);
  if (end && end.k !== commits) fail(`restore --at tx:${range.lastTxid} (the range's end) is the state after commit ${end.k}, but the writer committed ${commits} before the replicator was stopped`);

  const points = [];
  for (let i = 0; i < N; i++) {
    const txid = range.firstTxid + Math.floor(rand() * (range.lastTxid - range.firstTxid + 1));
    const r = await restoreOne(`tx:${txid}`, `tx:${txid}`);
    if (!r) continue;
    if (r.txid !== txid) fail(`restore --at tx:${txid} says it restored transaction ${r.txid}`);
    points.push({ txid, k: r.k, label: `tx:${txid}` });
  }
  const firstMs = Date.parse(range.firstAt);
  const lastMs = Date.parse(range.lastAt);
  const timed = [];
  for (let i = 0; i < N; i++) {
    const T = Math.floor(firstMs + rand() * (lastMs - firstMs + 1));
    const iso = new Date(T).toISOString();
    const r = await restoreOne(iso, iso);
    if (!r) continue;
    if (Date.parse(r.recordedAt) > T) fail(`restore --at ${iso}: restored transaction ${r.txid} recorded at ${r.recordedAt}, after the target`);
    if (r.k > 0 && begins[r.k] > T + 5) fail(`restore --at ${iso}: commit ${r.k} began at ${new Date(begins[r.k]).toISOString()} (${(begins[r.k] - T).toFixed(1)} ms after the target; it returned at ${new Date(times[r.k]).toISOString()})`);
    // Every commit logged at or before T - lagMs must be in it.
    let hi = 0;
    while (hi + 1 < times.length && times[hi + 1] <= T - lagBound) hi++;
    if (hi > r.k) fail(`restore --at ${iso} (txid ${r.txid}, recorded ${r.recordedAt}) is the state after commit ${r.k}, but commit ${hi} was logged at ${new Date(times[hi]).toISOString()}, more than ${lagBound} ms (the lag bound) before the target (commit ${r.k + 1} at ${new Date(times[r.k + 1]).toISOString()})`);
    // How late commit k+1 was recorded, at least.
    if (r.k + 1 < times.length) summary.lagSeenMs = Math.max(summary.lagSeenMs, Math.round(T - times[r.k + 1]));
    points.push({ txid: r.txid, k: r.k, label: iso });
    timed.push({ T, k: r.k, label: iso });
  }
  points.sort((a, b) => a.txid - b.txid);
  for (let i = 1; i < points.length; i++) {
    if (points[i].k < points[i - 1].k) fail(`k decreases with the txid: ${points[i - 1].label} (txid ${points[i - 1].txid}) is commit ${points[i - 1].k}, ${points[i].label} (txid ${points[i].txid}) is commit ${points[i].k}`);
  }
  timed.sort((a, b) => a.T - b.T);
  for (let i = 1; i < timed.length; i++) {
    if (timed[i].k < timed[i - 1].k) fail(`k decreases with the time: ${timed[i - 1].label} is commit ${timed[i - 1].k}, ${timed[i].label} is commit ${timed[i].k}`);
  }
  if (!vault.startsWith('s3://')) Object.assign(summary, await checkRecordTimes({ vault, times, begins, known, restoreOne, fail, lagMs: lagBound, commits }));
  summary.failures = failures.length;
  summary.ms = Date.now() - started;
  return { summary, failures };
}

// A directory vault's log objects: index entries and anchors (JSON line, then its SHA-256).
function readLogObjects(vault) {
  const dir = path.join(vault, 'logs', NAME);
  const json = (f) => JSON.parse(fs.readFileSync(f, 'utf8').split('\n')[0]);
  const list = (sub) => {
    try {
      return fs.readdirSync(path.join(dir, sub)).map((f) => path.join(dir, sub, f));
    } catch {
      return [];
    }
  };
  const entries = list('index').filter((f) => f.endsWith('.idx')).map(json).sort((a, b) => a.firstTxid - b.firstTxid);
  const anchors = list('anchors').filter((f) => f.endsWith('.anchor')).map(json).sort((a, b) => a.txid - b.txid);
  const segment = (key) => fs.readFileSync(path.join(dir, 'segments', key.slice(0, 2), `${key}.seg`));
  return { entries, anchors, segment };
}

/**
 * Every shipped transaction's recordedAt against its commit's logged time (directory vaults):
 * within a run of txids between heal anchors each txid is one commit (k - txid is constant, which
 * the restores check), so a restore in the run names every record's commit. A record may not be
 * recorded more than 5 ms before its commit was logged (then a restore to a time before the
 * commit would hold it), nor more than lagMs after it. A heal anchor's `at` may not be more than
 * 5 ms before the newest commit its backup holds. Runs no restore reached get a restore of their
 * heal anchor (at most 30).
 */
async function checkRecordTimes({ vault, times, begins, known, restoreOne, fail, lagMs, commits }) {
  const { binding } = require(path.join(REPO, 'dist', 'binding.js'));
  const { entries, anchors, segment } = readLogObjects(vault);
  const heals = anchors.filter((a) => a.heal).map((a) => a.txid);
  const runOf = (t) => {
    let run = -1;
    for (const h of heals) if (h <= t) run = h;
    return run;
  };
  const runs = new Map(); // run start txid -> { txid, k } of a restore in it
  const runPoint = (t) => runs.get(runOf(t));
  const note = (p) => {
    const run = runOf(p.txid);
    const q = runs.get(run);
    if (!q) runs.set(run, p);
    else if (p.k - p.txid !== q.k - q.txid) fail(`txids ${q.txid} (${q.label}: commit ${q.k}) and ${p.txid} (${p.label}: commit ${p.k}) lie between the same heal anchors but are not one commit per txid apart`);
  };
  for (const p of known) note(p);
  let extra = 0;
  for (const h of heals) {
    if (runs.has(h) || extra >= 30) continue;
    extra++;
    await restoreOne(`tx:${h}`, `tx:${h} (heal anchor)`);
    const p = known.at(-1);
    if (p && p.txid === h) note(p);
  }
  const out = { recordsChecked: 0, recordsUnmapped: 0, recordEarlyMaxMs: 0, recordLateMaxMs: 0, healAnchors: heals.length, healEarlyMaxMs: 0 };
  for (const a of anchors.filter((x) => x.heal)) {
    const p = known.find((q) => q.txid === a.txid);
    if (!p || p.k === 0) continue;
    const early = begins[p.k] - Date.parse(a.at);
    out.healEarlyMaxMs = Math.max(out.healEarlyMaxMs, Math.round(early));
    if (early > 5) fail(`heal anchor txid ${a.txid} (backup ${a.seq}) is dated ${a.at}, but its backup holds commit ${p.k}, begun ${early.toFixed(1)} ms later: a restore --at a time in between holds a commit made after the time`);
  }
  let reported = 0;
  for (const e of entries) {
    const info = await binding.inspectLogSegment(segment(e.segment), e.segment);
    for (const rec of info.records) {
      const p = runPoint(rec.txid);
      if (!p) {
        out.recordsUnmapped++;
        continue;
      }
      const k = p.k + (rec.txid - p.txid);
      if (k < 1 || k > commits) {
        fail(`txid ${rec.txid} maps to commit ${k} (from ${p.label}: commit ${p.k}), outside 1..${commits}`);
        continue;
      }
      out.recordsChecked++;
      // Early: recorded before the transaction began; late: after COMMIT returned, by more than the bound.
      const early = begins[k] - rec.recordedAt;
      const late = rec.recordedAt - times[k];
      out.recordEarlyMaxMs = Math.max(out.recordEarlyMaxMs, Math.round(early));
      out.recordLateMaxMs = Math.max(out.recordLateMaxMs, Math.round(late));
      if ((early > 5 || late > lagMs) && reported++ < 5) {
        fail(`txid ${rec.txid} (commit ${k}, segment ${e.segment}) is recorded at ${new Date(rec.recordedAt).toISOString()}, but the writer began the commit at ${new Date(begins[k]).toISOString()} and saw it return at ${new Date(times[k]).toISOString()}: ${early > 5 ? `${early.toFixed(1)} ms before it began` : `${late.toFixed(1)} ms late (bound ${lagMs} ms)`}`);
      }
    }
  }
  return out;
}

module.exports = { replicationTrial, startReplicator, startWriter, listLog, restoreAt, cli, walBytes, NAME, AUTOCHECKPOINTS, CLI };
