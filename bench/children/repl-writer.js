// The replication section's writer (bench/replication.js): real SQLite (better-sqlite3, WAL,
// the given synchronous, the default auto-checkpoint unless told) in its own process, committing
// one small row per transaction into repl_log (emptied by the harness's fresh copy) with `id` = its
// commit number (1, 2, 3, ...), so a restored copy's max(id) says which commits it holds. Nothing is written before {cmd:'start'}.
//   paced (rate > 0): an open-loop schedule of `rate` commits a second (a late commit does not
//     push later ones back) for `durationMs`; every commit's end time and latency (hrtime ms:
//     CLOCK_MONOTONIC, the same clock as the harness's process.hrtime, so the harness can compare
//     them with the times it saw the replicator's events) are reported;
//   unpaced (rate 0): `count` commits as fast as it can, in bursts of `burst` commits with a 1 ms
//     timer between bursts (so another process waiting for the write lock, the replicator's
//     checkpoint, gets it: a busy loop would starve it); only counts and the time are reported.
// IPC: sends {type:'ready'}; on {cmd:'start'} it commits; when done it sends {type:'stats',
// commits, errors, ms, firstError, endMs: [...], latenciesMs: [...], lagsMs: [...]} (paced), closes
// the database and exits.
// Usage: fork('repl-writer.js', ['{"path":"...","rate":1000,"durationMs":30000,"synchronous":"NORMAL"}'])
'use strict';
const { betterSqlite3 } = require('../lib/load');

const spec = JSON.parse(process.argv[2]);
const Database = betterSqlite3();
const db = new Database(spec.path);
db.pragma('busy_timeout = 5000');
db.pragma(`synchronous = ${spec.synchronous ?? 'NORMAL'}`);
if (spec.walAutocheckpoint !== undefined) db.pragma(`wal_autocheckpoint = ${Number(spec.walAutocheckpoint)}`);
if (db.pragma('journal_mode', { simple: true }) !== 'wal') throw new Error(`${spec.path} is not in WAL mode`);
const insert = db.prepare('INSERT INTO repl_log (id, ts, body) VALUES (?, ?, ?)');
const body = Buffer.alloc(100, 7);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let n = 0; // commits made (and the id of the last row)
let errors = 0;
let firstError;
const paced = spec.rate > 0;
const endMs = paced ? new Float64Array(Math.ceil((spec.durationMs / 1000) * spec.rate) + 16) : null;
const latenciesMs = paced ? new Float64Array(endMs.length) : null;
const lagsMs = paced ? new Float64Array(endMs.length) : null;

function commit(due) {
  const started = now();
  try {
    insert.run(n + 1, Date.now(), body);
    n++;
  } catch (err) {
    errors++;
    firstError ??= `${err.code}: ${err.message}`;
    return;
  }
  const ended = now();
  if (paced && n <= endMs.length) {
    endMs[n - 1] = ended;
    latenciesMs[n - 1] = ended - started;
    lagsMs[n - 1] = Math.max(0, started - due);
  }
}

async function pacedRun() {
  const period = 1000 / spec.rate;
  const start = now();
  const stopAt = start + spec.durationMs;
  let due = start;
  for (;;) {
    const t = now();
    if (t >= stopAt) break;
    while (due <= t && due < stopAt) {
      commit(due);
      due += period;
    }
    await sleep(Math.max(0, due - now()));
  }
  return now() - start;
}

async function unpacedRun() {
  const burst = spec.burst ?? 200;
  const start = now();
  while (n < spec.count) {
    const end = Math.min(spec.count, n + burst);
    while (n < end) {
      const before = n;
      commit(0);
      if (n === before && errors > 1000) throw new Error(`writer: ${errors} failed commits, the first: ${firstError}`);
    }
    await sleep(1);
  }
  return now() - start;
}

process.send({ type: 'ready' });
process.on('message', async (msg) => {
  if (msg.cmd !== 'start') return;
  const ms = paced ? await pacedRun() : await unpacedRun();
  const k = Math.min(n, paced ? endMs.length : 0);
  const stats = { type: 'stats', commits: n, errors, firstError, ms };
  if (paced) Object.assign(stats, { endMs: Array.from(endMs.subarray(0, k)), latenciesMs: Array.from(latenciesMs.subarray(0, k)), lagsMs: Array.from(lagsMs.subarray(0, k)) });
  db.close();
  process.send(stats, () => process.exit(0));
});
