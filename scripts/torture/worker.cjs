/*
 * A torture worker: loops litevault operations on the databases until SIGTERM: a stepped
 * backup (alternating snapshot and restart mode, random pages per step) into a fresh file, which
 * real SQLite then checks (integrity_check and the ledger invariants), and a checkpoint in a
 * random mode. argv: <workDir> <workerId> <db> [<db> ...]. Prints one JSON line of counts and
 * failures when it stops.
 */
'use strict';
const path = require('path');
const fs = require('fs');
const { execFileSync } = require('child_process');
const lv = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

const [workDir, workerId, ...dbs] = process.argv.slice(2);
let stopping = false;
process.on('SIGTERM', () => (stopping = true));
const counts = { backups: 0, backupPages: 0, restarts: 0, busyRetries: 0, checkpoints: 0, checkpointBusy: 0, failures: [] };
const MODES = ['passive', 'full', 'restart', 'truncate'];
const rnd = (n) => Math.floor(Math.random() * n);

// Real SQLite's verdict on a copy: integrity, the constant balance sum, a gap-free ledger.
function verify(copy) {
  const out = execFileSync('sqlite3', ['-bail', '-batch', '-init', '/dev/null', copy,
    "PRAGMA integrity_check; SELECT sum(balance) FROM accounts; SELECT count(*) || ' ' || coalesce(max(seq), 0) || ' ' || coalesce(min(seq), 1) FROM ledger;"],
    { encoding: 'utf8' }).trim().split('\n');
  const [integrity, sum, ledger] = out;
  const [count, max, min] = ledger.split(' ').map(Number);
  const problems = [];
  if (integrity !== 'ok') problems.push(`integrity_check: ${out.slice(0, -2).join(' | ')}`);
  if (Number(sum) !== 16 * 1000) problems.push(`balance sum ${sum} != 16000`);
  if (count !== max || min !== 1) problems.push(`ledger has gaps: count ${count}, seq ${min}..${max}`);
  return problems;
}

async function once(db, n) {
  const copy = path.join(workDir, `copy-${workerId}-${n}.db`);
  const mode = n % 2 === 0 ? 'snapshot' : 'restart';
  const pagesPerStep = [16, 64, 256, -1][rnd(4)];
  try {
    const r = await lv.backup(db, copy, { mode, pagesPerStep, busyTimeout: 10000 });
    counts.backups++;
    counts.backupPages += r.pageCount;
    counts.restarts += r.restarts;
    for (const p of verify(copy)) counts.failures.push(`${path.basename(db)} ${mode} backup ${n}: ${p}`);
  } catch (err) {
    if (err.retryable) counts.busyRetries++;
    else counts.failures.push(`${path.basename(db)} ${mode} backup ${n}: ${err.code}: ${err.message}`);
  } finally {
    for (const s of ['', '-journal', '-wal', '-shm']) fs.rmSync(copy + s, { force: true });
  }
  try {
    const r = await lv.checkpoint(db, { mode: MODES[rnd(4)], busyTimeout: 200, framesPerStep: [8, 64, -1][rnd(3)] });
    counts.checkpoints++;
    if (r.busy) counts.checkpointBusy++;
  } catch (err) {
    // BUSY is an answer, not a failure: a rollback-mode writer (or a snapshot backup pinning
    // SHARED) can hold the database past the short busy timeout.
    if (err.retryable) counts.checkpointBusy++;
    else counts.failures.push(`${path.basename(db)} checkpoint ${n}: ${err.code}: ${err.message}`);
  }
}

(async () => {
  for (let n = 0; !stopping; n++) await once(dbs[n % dbs.length], n);
  process.stdout.write(JSON.stringify({ worker: workerId, ...counts }) + '\n');
})();
