/*
 * The replication trials' writer (child process): real SQLite (better-sqlite3) on a ledger
 * database made by test/oracle/ledger.cjs, WAL mode, synchronous=NORMAL, the given
 * wal_autocheckpoint, commit k = 1, 2, ... of the ledger model at a paced rate (commit k is due
 * at start + (k - 1) / rate; a writer more than 50 ms behind does not burst to catch up). After
 * each COMMIT returns it appends `k <ms since the epoch> <ms before the transaction began>`
 * (performance.timeOrigin + performance.now(), floats) to the log file, buffered, written every
 * 100 ms and at exit. Both, because the commit is visible to others somewhere between the two:
 * SQLite runs a wal_autocheckpoint inside the COMMIT's sqlite3_step, after the commit itself
 * (sqlite3WalCallback), so with 1000 frames to backfill COMMIT returns ~10 ms after the
 * transaction was in the WAL for every reader.
 * With --reset-every MS it forces a WAL reset between commits at random moments (intervals
 * uniform in 0.5..1.5 x MS): PRAGMA wal_checkpoint(TRUNCATE) or (RESTART), chosen at random;
 * each is logged as `# reset <mode> after <k> at <ms> busy=<0|1>` (busy=1: SQLite could not
 * complete it, so the WAL was not reset). Stops on SIGTERM or SIGINT (or after --max-commits)
 * after its current commit, closes the database, writes the log and prints one JSON line
 * {commits, resets, resetsBusy, busyRetries, behindMs, ms} on stdout; exit 0. A failure prints
 * to stderr, exit 1.
 *
 * argv: --db PATH --log PATH --seed N [--autocheckpoint N|mix (1000)] [--rate N (1000; 0 = as fast
 * as possible)] [--reset-every MS (0 = never)] [--max-commits N] [--busy-timeout MS (10000)]
 */
'use strict';
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');
const Database = require(require.resolve('better-sqlite3', { paths: [__dirname] }));
const { committer, mulberry32 } = require('./ledger.cjs');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) {
    if (fallback === undefined) throw new Error(`ledger-writer: --${name} is required`);
    return fallback;
  }
  return process.argv[i + 1];
}

const dbPath = arg('db');
const logPath = arg('log');
const seed = Number(arg('seed'));
// A number, or 'mix': a random one of MIX now and again every 2-5 s (the trial's "random mix of
// autocheckpoint settings", SQLite's default 1000 and 0 among them).
const MIX = [1000, 0, 100, 10000];
const mixed = arg('autocheckpoint', '1000') === 'mix';
const autocheckpoint = mixed ? null : Number(arg('autocheckpoint', '1000'));
const rate = Number(arg('rate', '1000'));
const resetEvery = Number(arg('reset-every', '0'));
const maxCommits = Number(arg('max-commits', 'Infinity'));
const busyTimeout = Number(arg('busy-timeout', '10000'));

const now = () => performance.timeOrigin + performance.now();
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const rand = mulberry32((seed ^ 0x7e57ab1e) >>> 0);

let stopping = false;
process.on('SIGTERM', () => (stopping = true));
process.on('SIGINT', () => (stopping = true));

const log = fs.openSync(logPath, 'a');
let buffered = [];
let flushedAt = now();
function flush() {
  if (buffered.length) fs.writeSync(log, buffered.join(''));
  buffered = [];
  flushedAt = now();
}

const isBusy = (err) => err && typeof err.code === 'string' && (err.code.startsWith('SQLITE_BUSY') || err.code.startsWith('SQLITE_LOCKED'));

let db;
let commit;
let k = 0;
let resets = 0;
let resetsBusy = 0;
let busyRetries = 0;
let behindMs = 0;
const started = now();
let due = started;
let nextReset = resetEvery > 0 ? started + resetEvery * (0.5 + rand()) : Infinity;
const mixRand = mulberry32((seed ^ 0x5eed0ac) >>> 0); // its own stream: the resets' choices stay the seed's
let nextMix = mixed ? started : Infinity;
let switches = 0;

function step() {
  // Up to ~20 ms of commits per turn, then back to the event loop (signals).
  const turnEnd = now() + 20;
  while (!stopping && k < maxCommits && now() < turnEnd) {
    if (rate > 0) {
      const wait = due - now();
      if (wait > 0.05) Atomics.wait(sleeper, 0, 0, wait);
      else if (wait < -50) {
        behindMs = Math.max(behindMs, -wait);
        due = now();
      }
      due += 1000 / rate;
    }
    if (now() >= nextReset) {
      const mode = rand() < 0.5 ? 'TRUNCATE' : 'RESTART';
      const [r] = db.pragma(`wal_checkpoint(${mode})`);
      if (r.busy) resetsBusy++;
      else resets++;
      buffered.push(`# reset ${mode} after ${k} at ${now().toFixed(3)} busy=${r.busy}\n`);
      nextReset = now() + resetEvery * (0.5 + rand());
    }
    if (now() >= nextMix) {
      const n = MIX[Math.floor(mixRand() * MIX.length)];
      db.pragma(`wal_autocheckpoint = ${n}`);
      switches++;
      buffered.push(`# autocheckpoint ${n} after ${k} at ${now().toFixed(3)}\n`);
      nextMix = now() + 2000 + 3000 * mixRand();
    }
    const begin = now();
    for (;;) {
      try {
        commit(k + 1);
        break;
      } catch (err) {
        if (!isBusy(err)) throw err;
        busyRetries++;
      }
    }
    k++;
    buffered.push(`${k} ${now().toFixed(3)} ${begin.toFixed(3)}\n`);
    if (now() - flushedAt >= 100) flush();
  }
  if (stopping || k >= maxCommits) return finish();
  setImmediate(run);
}

function run() {
  try {
    step();
  } catch (err) {
    try {
      flush();
    } catch {}
    process.stderr.write(`ledger-writer (seed ${seed}, after commit ${k}): ${err && err.stack ? err.stack : String(err)}\n`);
    process.exit(1);
  }
}

function finish() {
  db.close();
  flush();
  fs.closeSync(log);
  process.stdout.write(JSON.stringify({ commits: k, resets, resetsBusy, busyRetries, autocheckpointSwitches: switches, behindMs: Math.round(behindMs), ms: Math.round(now() - started) }) + '\n');
  process.exit(0);
}

try {
  db = new Database(dbPath, { timeout: busyTimeout, fileMustExist: true });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  if (!mixed) db.pragma(`wal_autocheckpoint = ${autocheckpoint}`);
  const last = db.prepare('SELECT coalesce(max(id), 0) AS k FROM ledger').get().k;
  if (last !== 0) throw new Error(`the ledger already has commits 1..${last}; start from a fresh database`);
  commit = committer(db, seed);
} catch (err) {
  process.stderr.write(`ledger-writer: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
}
run();
