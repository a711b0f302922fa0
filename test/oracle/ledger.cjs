// The ledger model of the replication trials (test/oracle/ledger-writer.cjs writes it, the tests
// and scripts/torture.js judge restores by it). Commit k (k = 1, 2, ...) of a run with seed S
// inserts ledger row k (account, amount, a text payload of 20..400 bytes, all drawn from a PRNG
// seeded by (S, k) alone) and adds its amount to that account's balance (one of ACCOUNTS rows,
// whose `last` becomes k): so the database after commit k is a function of (S, k) only, and a
// restored copy is checked against it exactly (every ledger row, every balance), by real SQLite
// (better-sqlite3 read-only, and the sqlite3 shell's integrity_check). Plain CommonJS, so the
// vitest suites and the plain-Node torture load the same code. Main thread, any process.
'use strict';
const { createHash } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { existsSync } = require('node:fs');

const Database = require(require.resolve('better-sqlite3', { paths: [__dirname] }));

const ACCOUNTS = 50;
const SQLITE3 = existsSync('/usr/bin/sqlite3') ? '/usr/bin/sqlite3' : 'sqlite3';
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ';

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

/** Commit k's row: { id, account (1..ACCOUNTS), amount (-1000..1000), payload (20..400 chars) }. */
function ledgerRow(seed, k) {
  const r = mulberry32((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(k, 0x85ebca6b) ^ 0x5bd1e995) >>> 0);
  r();
  const account = 1 + Math.floor(r() * ACCOUNTS);
  const amount = Math.floor(r() * 2001) - 1000;
  const n = 20 + Math.floor(r() * 381);
  let payload = '';
  for (let i = 0; i < n; i++) payload += ALPHABET[Math.floor(r() * ALPHABET.length)];
  return { id: k, account, amount, payload };
}

const rowText = (row) => `${row.id}|${row.account}|${row.amount}|${row.payload}\n`;

/** Creates the ledger database (WAL, 4 KiB pages) in the state after commit 0, by better-sqlite3. */
function createLedgerDb(path, { journalMode = 'wal' } = {}) {
  const db = new Database(path);
  try {
    db.pragma('page_size = 4096');
    db.pragma(`journal_mode = ${journalMode}`);
    db.exec(`BEGIN;
      CREATE TABLE ledger(id INTEGER PRIMARY KEY, account INTEGER NOT NULL, amount INTEGER NOT NULL, payload TEXT NOT NULL);
      CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, last INTEGER NOT NULL);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${ACCOUNTS}) INSERT INTO accounts SELECT i, 0, 0 FROM c;
      COMMIT;`);
  } finally {
    db.close();
  }
}

/** The statements one commit runs (better-sqlite3, on an open connection). */
function committer(db, seed) {
  const insert = db.prepare('INSERT INTO ledger(id, account, amount, payload) VALUES (?, ?, ?, ?)');
  const update = db.prepare('UPDATE accounts SET balance = balance + ?, last = ? WHERE id = ?');
  const txn = db.transaction((row) => {
    insert.run(row.id, row.account, row.amount, row.payload);
    update.run(row.amount, row.id, row.account);
  });
  return (k) => txn(ledgerRow(seed, k));
}

const CHECKPOINT_EVERY = 4096;
const models = new Map();

/**
 * The expected state after commit k (k >= 0): { k, count, sum, digest (SHA-256 of rowText over
 * rows 1..k), balances: [{id, balance, last}] }. Memoized per seed: the model keeps its running
 * state every 4096 commits, so a query replays at most that many commits.
 */
function expectedState(seed, k) {
  let m = models.get(seed);
  if (!m) {
    m = { upto: 0, sum: 0, balance: new Array(ACCOUNTS + 1).fill(0), last: new Array(ACCOUNTS + 1).fill(0), hash: createHash('sha256'), marks: [] };
    m.marks.push({ k: 0, sum: 0, balance: m.balance.slice(), last: m.last.slice(), hash: m.hash.copy() });
    models.set(seed, m);
  }
  const advance = (st, to) => {
    for (let j = st.k + 1; j <= to; j++) {
      const row = ledgerRow(seed, j);
      st.balance[row.account] += row.amount;
      st.last[row.account] = j;
      st.sum += row.amount;
      st.hash.update(rowText(row));
    }
    st.k = to;
  };
  // Extend the marks up to k.
  let top = m.marks[m.marks.length - 1];
  while (top.k + CHECKPOINT_EVERY <= k) {
    const st = { k: top.k, sum: top.sum, balance: top.balance.slice(), last: top.last.slice(), hash: top.hash.copy() };
    advance(st, top.k + CHECKPOINT_EVERY);
    m.marks.push(st);
    top = st;
  }
  const from = m.marks[Math.floor(k / CHECKPOINT_EVERY)];
  const st = { k: from.k, sum: from.sum, balance: from.balance.slice(), last: from.last.slice(), hash: from.hash.copy() };
  advance(st, k);
  return { k, count: k, sum: st.sum, digest: st.hash.digest('hex'), balances: st.balance.slice(1).map((b, j) => ({ id: j + 1, balance: b, last: st.last[j + 1] })) };
}

/** What real SQLite reads in `path` (read-only): k = max(id), counts, digest, balances; and integrity_check by the sqlite3 shell. */
function readLedger(path) {
  const integrity = execFileSync(SQLITE3, ['-bail', '-batch', '-init', '/dev/null', '-readonly', path, 'PRAGMA integrity_check;'], { encoding: 'utf8' }).trim();
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const head = db.prepare('SELECT count(*) AS count, coalesce(max(id), 0) AS k, coalesce(sum(amount), 0) AS sum FROM ledger').get();
    const hash = createHash('sha256');
    for (const row of db.prepare('SELECT id, account, amount, payload FROM ledger ORDER BY id').iterate()) hash.update(rowText(row));
    const balances = db.prepare('SELECT id, balance, last FROM accounts ORDER BY id').all();
    return { integrity, k: head.k, count: head.count, sum: head.sum, digest: hash.digest('hex'), balances };
  } finally {
    db.close();
  }
}

// The first row (by id) that is not the model's, or that stands where another id should.
function firstBadRow(path, seed) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    let expect = 1;
    for (const row of db.prepare('SELECT id, account, amount, payload FROM ledger ORDER BY id').iterate()) {
      if (row.id !== expect || rowText(row) !== rowText(ledgerRow(seed, row.id))) return row;
      expect++;
    }
    return null;
  } finally {
    db.close();
  }
}

/**
 * Checks the ledger database `path` against the model: integrity_check ok, and the state is
 * exactly the state after commit k = its max(id) (or after `expectK`, if given). Returns
 * { k, problems: string[] } (no problems: it is that state, every row and balance).
 */
function checkLedger(path, seed, expectK) {
  let got;
  try {
    got = readLedger(path);
  } catch (err) {
    return { k: -1, problems: [`SQLite cannot read it: ${err && err.message ? err.message.split('\n')[0] : String(err)}`] };
  }
  const k = expectK ?? got.k;
  const want = expectedState(seed, k);
  const problems = [];
  if (got.integrity !== 'ok') problems.push(`integrity_check: ${got.integrity.slice(0, 300)}`);
  if (got.k !== k) problems.push(`max(id) ${got.k}, expected ${k}`);
  if (got.count !== want.count || got.sum !== want.sum) problems.push(`count(*), sum(amount) = ${got.count}, ${got.sum}; expected ${want.count}, ${want.sum}`);
  if (got.digest !== want.digest) {
    const bad = firstBadRow(path, seed);
    problems.push(`digest of the ledger rows differs${bad ? `: row ${bad.id} is ${JSON.stringify(bad).slice(0, 120)}, expected ${JSON.stringify(ledgerRow(seed, bad.id)).slice(0, 120)} (ids must run 1..k)` : ' (a row is missing)'}`);
  }
  const wb = want.balances;
  const diff = got.balances.length !== wb.length ? [`${got.balances.length} accounts, expected ${wb.length}`] : got.balances.filter((b, i) => b.id !== wb[i].id || b.balance !== wb[i].balance || b.last !== wb[i].last).slice(0, 3).map((b) => {
    const w = wb.find((x) => x.id === b.id);
    return `account ${b.id}: balance ${b.balance} last ${b.last}, expected ${w ? `${w.balance} last ${w.last}` : 'no such account'}`;
  });
  if (diff.length) problems.push(`balances: ${diff.join('; ')}`);
  return { k: got.k, problems };
}

/**
 * Parses a ledger-writer log: times[k] = ms since the epoch (float) after commit k returned,
 * begins[k] = before its transaction began (commit k became visible in between); '#' lines are
 * notes.
 */
function readCommitLog(text) {
  const times = [0];
  const begins = [0];
  const notes = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      notes.push(line);
      continue;
    }
    const [k, t, b] = line.split(' ');
    if (Number(k) !== times.length) throw new Error(`ledger log: line '${line}' after commit ${times.length - 1}`);
    times.push(Number(t));
    begins.push(b === undefined ? Number(t) : Number(b));
  }
  times[0] = -Infinity;
  begins[0] = -Infinity;
  return { times, begins, notes };
}

module.exports = { ACCOUNTS, mulberry32, ledgerRow, createLedgerDb, committer, expectedState, readLedger, checkLedger, readCommitLog };
