/*
 * Child process started by test/oracle/writer.ts: a writer that commits to a SQLite database
 * through real SQLite (better-sqlite3, resolved relative to this file, not to the cwd) at a
 * given rate, keeping a checkable invariant. Each transaction moves a random amount between
 * two random rows of `accounts` (so the balance sum never changes) and appends a row to
 * `ledger` with seq = previous max(seq) + 1 (so seqs have no gaps) and total = the balance
 * sum seen inside the transaction. `ledger_meta('expected_sum')` records the sum the accounts
 * were created with. Protocol over the IPC channel: the child sends {type:'commit', commits}
 * (at once for the first commit, then at most every 25 ms), {type:'stopped', commits} after a
 * clean stop (database closed) and {type:'error', message} on failure; the parent sends
 * {type:'stop'}. argv[2] is a JSON object {dbPath, commitsPerSecond (null = as fast as possible), journalMode?, rowsPerCommit,
 * busyTimeoutMs, walAutocheckpoint?, seed?, maxCommits?, synchronous?}.
 * With `seed` the moves come from a seeded PRNG (mulberry32, as test/oracle/random.ts), so the
 * same seed on the same starting database replays the same transactions and SQLite builds the
 * same pages: commit N of a live run can be rebuilt afterwards (test/stream.test.ts). With
 * `maxCommits` the child stops by itself (as after {type:'stop'}) after that many commits.
 */
'use strict';

const Database = require(require.resolve('better-sqlite3', { paths: [__dirname] }));

const ACCOUNTS = 16;
const INITIAL_BALANCE = 1000;
const REPORT_EVERY_MS = 25;

const cfg = JSON.parse(process.argv[2]);
// null stands for Infinity (JSON has no Infinity): commit back to back.
const rate = cfg.commitsPerSecond == null ? Infinity : Number(cfg.commitsPerSecond);
const rowsPerCommit = Number(cfg.rowsPerCommit ?? 1);
const BUSY_TIMEOUT_MS = Number(cfg.busyTimeoutMs ?? 5000);

function send(msg, cb) {
  if (process.connected) process.send(msg, cb);
  else if (cb) cb();
}

function fail(err) {
  const message = err && err.stack ? err.stack : String(err);
  process.stderr.write(`writer-child: ${message}\n`);
  send({ type: 'error', message }, () => process.exit(1));
  setTimeout(() => process.exit(1), 1000).unref();
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
let busyRetries = 0;

function isBusy(err) {
  return err != null && typeof err.code === 'string' && (err.code.startsWith('SQLITE_BUSY') || err.code.startsWith('SQLITE_LOCKED'));
}

/** Runs fn, retrying (after a short sleep) for as long as SQLite answers BUSY/LOCKED. */
function retrying(fn) {
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err)) throw err;
      busyRetries++;
      Atomics.wait(sleeper, 0, 0, 5 + Math.floor(Math.random() * 20));
    }
  }
}

let db;
let commitOnce;
try {
  db = new Database(cfg.dbPath, { timeout: BUSY_TIMEOUT_MS });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  if (cfg.journalMode) retrying(() => db.pragma(`journal_mode = ${cfg.journalMode}`));
  if (cfg.synchronous != null) db.pragma(`synchronous = ${cfg.synchronous}`);
  // walAutocheckpoint: 0 makes the writer never checkpoint, so only the code under test keeps
  // the WAL bounded (test/checkpoint-crash.test.ts).
  if (cfg.walAutocheckpoint != null) {
    db.pragma(`wal_autocheckpoint = ${Number(cfg.walAutocheckpoint)}`);
    if (db.pragma('wal_autocheckpoint', { simple: true }) !== Number(cfg.walAutocheckpoint)) throw new Error('wal_autocheckpoint was not set');
  }

  const init = db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS ledger(seq INTEGER PRIMARY KEY, total INTEGER NOT NULL);' +
        'CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);' +
        'CREATE TABLE IF NOT EXISTS ledger_meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);',
    );
    if (db.prepare('SELECT count(*) FROM accounts').pluck().get() === 0) {
      const ins = db.prepare('INSERT INTO accounts(id, balance) VALUES (?, ?)');
      for (let i = 1; i <= ACCOUNTS; i++) ins.run(i, INITIAL_BALANCE);
      db.prepare("INSERT INTO ledger_meta(name, value) VALUES ('expected_sum', ?)").run(ACCOUNTS * INITIAL_BALANCE);
    }
  });
  retrying(() => init.immediate());

  const nAccounts = db.prepare('SELECT count(*) FROM accounts').pluck().get();
  const maxSeq = db.prepare('SELECT coalesce(max(seq), 0) FROM ledger').pluck();
  const move = db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ?');
  const sum = db.prepare('SELECT sum(balance) FROM accounts').pluck();
  const append = db.prepare('INSERT INTO ledger(seq, total) VALUES (?, ?)');
  const random = cfg.seed == null ? Math.random : mulberry32(Number(cfg.seed));
  const rand = (n) => Math.floor(random() * n);
  const tx = db.transaction(() => {
    for (let r = 0; r < rowsPerCommit; r++) {
      const from = 1 + rand(nAccounts);
      let to = 1 + rand(nAccounts - 1);
      if (to >= from) to++;
      const amount = 1 + rand(100);
      move.run(-amount, from);
      move.run(amount, to);
      append.run(maxSeq.get() + 1, sum.get());
    }
  });
  // IMMEDIATE: take the write lock at BEGIN, so the busy handler applies and no read->write
  // upgrade deadlock (an unretryable BUSY) can happen with other writers.
  commitOnce = () => retrying(() => tx.immediate());
} catch (err) {
  fail(err);
}

let commits = 0;
let lastReport = 0;
let stopping = false;
let timer;
const start = Date.now();

function finish(notify) {
  try {
    db.close();
  } catch (err) {
    fail(err);
    return;
  }
  if (notify) send({ type: 'stopped', commits, busyRetries }, () => process.exit(0));
  else process.exit(0);
}

function tick() {
  timer = undefined;
  if (stopping) return;
  try {
    commitOnce();
  } catch (err) {
    fail(err);
    return;
  }
  commits++;
  const now = Date.now();
  if (commits === 1 || now - lastReport >= REPORT_EVERY_MS) {
    lastReport = now;
    send({ type: 'commit', commits });
  }
  if (cfg.maxCommits != null && commits >= Number(cfg.maxCommits)) {
    stopping = true;
    finish(true);
    return;
  }
  // Commit n (0-based) is due at start + n / rate; catch up when behind.
  const due = Number.isFinite(rate) ? start + (commits * 1000) / rate : now;
  timer = setTimeout(tick, Math.max(0, due - now));
}

if (commitOnce) {
  process.on('message', (msg) => {
    if (msg && msg.type === 'stop' && !stopping) {
      stopping = true;
      if (timer !== undefined) clearTimeout(timer);
      finish(true);
    }
  });
  // The parent went away: stop cleanly rather than writing forever.
  process.on('disconnect', () => {
    if (!stopping) {
      stopping = true;
      if (timer !== undefined) clearTimeout(timer);
      finish(false);
    }
  });
  tick();
}
