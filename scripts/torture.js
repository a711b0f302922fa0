// npm run torture -- --seconds N: the multi-process soak. Real SQLite writers (better-sqlite3
// and the sqlite3 shell, 4 per database) commit inserts, updates and deletes to a WAL database
// and a rollback-journal database, keeping a ledger whose invariants real SQLite can check,
// while 2 litevault processes loop stepped backups (snapshot and restart mode) and checkpoints
// (every mode). Every backup must pass integrity_check and the invariants, the sources must at
// the end, no writer may fail, and every commit a writer saw confirmed must be in the source.
// Then the replication trial (test/oracle/replication-trial.cjs, test/replication.test.ts's
// acceptance trial) for as long: a ledger writer at 1000 tx/s, `litevault replicate` SIGKILLed
// and restarted once per 15 s, forced WAL resets, then restores at random txids and times
// (--restores N of each; default seconds / 6, 10..50), each exactly the state after a commit.
// --only soak | replication runs one of the two; --seed N (or LITEVAULT_SEED) repeats a
// replication trial's choices; --autocheckpoint N|mix sets its writer's wal_autocheckpoint.
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] || 60);
const rate = Number(args.includes('--rate') ? args[args.indexOf('--rate') + 1] : 40);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const seed = Number(args.includes('--seed') ? args[args.indexOf('--seed') + 1] : process.env.LITEVAULT_SEED ?? Math.floor(Math.random() * 2 ** 31)) >>> 0;
// The replication trial's writer: wal_autocheckpoint N, or 'mix' (default: a random one of
// 1000, 0, 100, 10000 every 2-5 s).
const autocheckpointArg = args.includes('--autocheckpoint') ? args[args.indexOf('--autocheckpoint') + 1] : 'mix';
const restores = Number(args.includes('--restores') ? args[args.indexOf('--restores') + 1] : process.env.LITEVAULT_REPLICATION_RESTORES ?? Math.min(50, Math.max(10, Math.round(seconds / 6))));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'litevault-torture-'));
const sqlite = (db, sql) => execFileSync('sqlite3', ['-bail', '-batch', '-init', '/dev/null', db, sql], { encoding: 'utf8' }).trim();

function createDb(name, journal) {
  const db = path.join(work, name);
  sqlite(db, `PRAGMA journal_mode=${journal};
    CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
    WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i<15) INSERT INTO accounts SELECT i, 1000 FROM c;
    CREATE TABLE ledger(seq INTEGER PRIMARY KEY, writer TEXT NOT NULL, amount INTEGER NOT NULL);
    CREATE TABLE scratch(id INTEGER PRIMARY KEY, writer TEXT, payload BLOB);
    CREATE TABLE bulk(id INTEGER PRIMARY KEY, v BLOB);
    WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<4000) INSERT INTO bulk SELECT i, randomblob(900) FROM c;`);
  return db;
}

function collect(child) {
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, out, err })));
}

async function soak() {
  const started = Date.now();
  const dbs = [createDb('wal.db', 'wal'), createDb('rollback.db', 'delete')];
  const writers = [];
  for (const db of dbs) {
    for (const [i, engine] of ['bs3', 'shell', 'bs3', 'shell'].entries()) {
      const id = `${path.basename(db, '.db')}-${engine}-${i}`;
      const child = spawn(process.execPath, [path.join(__dirname, 'torture', 'writer.cjs'), db, engine, id, String(rate)]);
      writers.push({ db, id, done: collect(child), child });
    }
  }
  const workers = ['a', 'b'].map((id) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'torture', 'worker.cjs'), work, id, ...dbs]);
    return { child, done: collect(child) };
  });
  console.log(`torture: ${seconds} s, 8 writers at ${rate} commits/s each on ${dbs.map((d) => path.basename(d)).join(' and ')}, 2 litevault workers; in ${work}`);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  for (const w of [...writers, ...workers]) w.child.kill('SIGTERM');

  const failures = [];
  const writerResults = await Promise.all(writers.map((w) => w.done));
  const workerResults = await Promise.all(workers.map((w) => w.done));
  const confirmed = {};
  writerResults.forEach((r, i) => {
    if (r.code !== 0) failures.push(`writer ${writers[i].id} exited ${r.code ?? r.signal}: ${r.err.trim()}`);
    const line = r.out.trim().split('\n').pop();
    confirmed[writers[i].id] = line ? JSON.parse(line).commits : 0;
  });
  const totals = { backups: 0, backupPages: 0, restarts: 0, busyRetries: 0, checkpoints: 0, checkpointBusy: 0 };
  workerResults.forEach((r) => {
    if (r.code !== 0) failures.push(`worker exited ${r.code ?? r.signal}: ${r.err.trim()}`);
    const line = r.out.trim().split('\n').pop();
    if (!line) return;
    const c = JSON.parse(line);
    for (const k of Object.keys(totals)) totals[k] += c[k];
    failures.push(...c.failures);
  });
  let commits = 0;
  for (const db of dbs) {
    const integrity = sqlite(db, 'PRAGMA integrity_check;');
    if (integrity !== 'ok') failures.push(`${path.basename(db)}: integrity_check ${integrity}`);
    if (Number(sqlite(db, 'SELECT sum(balance) FROM accounts;')) !== 16000) failures.push(`${path.basename(db)}: balance sum changed`);
    const [count, max] = sqlite(db, "SELECT count(*) || ' ' || coalesce(max(seq),0) FROM ledger;").split(' ').map(Number);
    if (count !== max) failures.push(`${path.basename(db)}: ledger gaps (${count} rows, max seq ${max})`);
    for (const line of sqlite(db, 'SELECT writer || \' \' || count(*) FROM ledger GROUP BY writer;').split('\n')) {
      const [id, n] = line.split(' ');
      if (Number(n) !== confirmed[id]) failures.push(`${id}: ${confirmed[id]} commits confirmed but ${n} in the database`);
      commits += Number(n);
    }
  }
  const summary = { seconds, commits, ...totals, failures: failures.length, ms: Date.now() - started };
  console.log(`torture summary: ${JSON.stringify(summary)}`);
  for (const f of failures) console.log(`FAILURE: ${f}`);
  console.log(`${totals.backups + totals.checkpoints} passed, ${failures.length} failed`);
  return failures.length === 0 && totals.backups > 0 && totals.checkpoints > 0;
}

async function replication() {
  const { replicationTrial } = require('../test/oracle/replication-trial.cjs');
  const dir = path.join(work, 'replication');
  fs.mkdirSync(dir);
  const { summary, failures } = await replicationTrial({ seconds, seed, restores, work: dir, autocheckpoint: autocheckpointArg });
  console.log(`torture replication summary: ${JSON.stringify(summary)}`);
  for (const f of failures) console.log(`FAILURE: ${f}`);
  console.log(`${summary.restores - summary.restoreFailures} restores passed, ${failures.length} failed (seed ${seed}; --seed ${seed} repeats the choices)`);
  return failures.length === 0;
}

(async () => {
  let ok = true;
  if (only === null || only === 'soak') ok = (await soak()) && ok;
  if (only === null || only === 'replication') ok = (await replication()) && ok;
  if (ok) fs.rmSync(work, { recursive: true, force: true });
  else console.log(`files kept in ${work}`);
  process.exit(ok ? 0 : 1);
})().catch((err) => {
  console.log(`torture: ${err && err.stack ? err.stack : String(err)}`);
  console.log(`files kept in ${work}`);
  process.exit(1);
});
