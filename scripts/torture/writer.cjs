/*
 * A torture writer: commits through REAL SQLite, either better-sqlite3 in this process
 * (engine "bs3") or a long-running sqlite3 shell fed over stdin (engine "shell"). Each
 * transaction moves money between two accounts (the balance sum never changes), appends a
 * ledger row with seq = max(seq) + 1 (no gaps) tagged with this writer's id, inserts a scratch
 * row and deletes old scratch rows, so inserts, updates and deletes all happen.
 * argv: <db> <engine> <writerId> <commitsPerSecond>. Stops on SIGTERM after its current
 * transaction and prints {"writer", "commits"} (commits confirmed by SQLite) on stdout.
 */
'use strict';
const { spawn } = require('child_process');
const [db, engine, writerId, rateText] = process.argv.slice(2);
const rate = Number(rateText);
let stopping = false;
let commits = 0;
process.on('SIGTERM', () => (stopping = true));

const txn = (n) =>
  `BEGIN IMMEDIATE;
UPDATE accounts SET balance = balance - ${n % 97} WHERE id = ${n % 16};
UPDATE accounts SET balance = balance + ${n % 97} WHERE id = ${(n * 7 + 3) % 16};
INSERT INTO ledger(seq, writer, amount) SELECT coalesce(max(seq), 0) + 1, '${writerId}', ${n % 97} FROM ledger;
INSERT INTO scratch(writer, payload) VALUES ('${writerId}', randomblob(${200 + (n % 800)}));
DELETE FROM scratch WHERE writer = '${writerId}' AND id < (SELECT max(id) FROM scratch) - 200;
COMMIT;`;

function finish(code) {
  process.stdout.write(JSON.stringify({ writer: writerId, commits }) + '\n');
  process.exit(code);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function runBs3() {
  const Database = require(require.resolve('better-sqlite3', { paths: [__dirname] }));
  const conn = new Database(db);
  conn.pragma('busy_timeout = 10000');
  while (!stopping) {
    try {
      conn.exec(txn(commits));
      commits++;
    } catch (err) {
      if (!/BUSY|LOCKED/.test(String(err.code))) {
        process.stderr.write(`writer ${writerId}: ${err.code}: ${err.message}\n`);
        conn.close();
        return finish(1);
      }
      try { conn.exec('ROLLBACK'); } catch {}
    }
    await sleep(1000 / rate);
  }
  conn.close();
  finish(0);
}

async function runShell() {
  const shell = spawn('sqlite3', ['-bail', '-batch', '-init', '/dev/null', db], { stdio: ['pipe', 'pipe', 'pipe'] });
  let buffered = '';
  let waiting = null;
  shell.stdout.on('data', (d) => {
    buffered += d;
    while (buffered.includes('committed\n')) {
      buffered = buffered.replace('committed\n', '');
      commits++;
      if (waiting) waiting();
    }
  });
  let failed = '';
  shell.stderr.on('data', (d) => (failed += d));
  const exited = new Promise((r) => shell.once('exit', r));
  shell.stdin.write('.timeout 60000\n');
  while (!stopping && !failed) {
    const done = new Promise((r) => (waiting = r));
    shell.stdin.write(txn(commits) + "\nSELECT 'committed';\n");
    await Promise.race([done, exited]);
    if (failed) break;
    await sleep(1000 / rate);
  }
  shell.stdin.end('.quit\n');
  await exited;
  if (failed) process.stderr.write(`writer ${writerId} (sqlite3 shell): ${failed}\n`);
  finish(failed ? 1 : 0);
}

(engine === 'shell' ? runShell() : runBs3()).catch((err) => {
  process.stderr.write(`writer ${writerId}: ${err.stack}\n`);
  finish(1);
});
