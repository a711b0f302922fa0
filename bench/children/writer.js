// A live writer for the "backup under a writer" benchmark: real SQLite (better-sqlite3) in its
// own process, committing one small row per transaction on a fixed schedule (`rate` commits a
// second; an open-loop schedule: a late commit does not push later ones back, the writer catches
// up), timing each commit (the INSERT's run(), which commits in autocommit mode) with hrtime.
// IPC: sends {type:'ready'}; on {cmd:'start'} it begins recording, on {cmd:'end'} it stops
// recording (and keeps committing); on {cmd:'stop'} it sends
// {type:'stats', latenciesMs, lagsMs, commits, windowMs, errors}, closes the database and exits.
// Usage: fork('writer.js', ['{"path":"...","rate":1000,"synchronous":"NORMAL"}'])
'use strict';
const { betterSqlite3 } = require('../lib/load');

const spec = JSON.parse(process.argv[2]);
const Database = betterSqlite3();
const db = new Database(spec.path);
db.pragma('busy_timeout = 5000');
db.pragma(`synchronous = ${spec.synchronous ?? 'NORMAL'}`);
if (spec.walAutocheckpoint !== undefined) db.pragma(`wal_autocheckpoint = ${Number(spec.walAutocheckpoint)}`);
const insert = db.prepare('INSERT INTO writer_log (ts, body) VALUES (?, ?)');
const body = Buffer.alloc(100, 7);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const period = 1000 / spec.rate;

let recording = false;
let windowStart = 0;
let windowMs = 0;
let commits = 0;
let errors = 0;
const latencies = [];
const lags = [];
let due = now();
let timer;

function commit() {
  const started = now();
  try {
    insert.run(Date.now(), body);
  } catch (err) {
    errors++;
  }
  const ended = now();
  if (recording) {
    latencies.push(ended - started);
    lags.push(Math.max(0, started - due));
    commits++;
  }
}

function tick() {
  const t = now();
  while (due <= t) {
    commit();
    due += period;
  }
  timer = setTimeout(tick, Math.max(0, due - now()));
}

commit(); // open the WAL, warm the statement
due = now() + period;
tick();
process.send({ type: 'ready' });

process.on('message', (msg) => {
  if (msg.cmd === 'start') {
    recording = true;
    windowStart = now();
  } else if (msg.cmd === 'end') {
    if (recording) windowMs = now() - windowStart;
    recording = false;
  } else if (msg.cmd === 'stop') {
    clearTimeout(timer);
    if (recording) windowMs = now() - windowStart;
    recording = false;
    process.send({ type: 'stats', latenciesMs: latencies, lagsMs: lags, commits, windowMs, errors }, () => {
      db.close();
      process.exit(0);
    });
  }
});
