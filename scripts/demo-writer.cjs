// The demo's live writer: real SQLite (better-sqlite3) committing orders to the demo database
// about 200 times a second until it is told to stop (a line on stdin), then it reports its
// commit count and closes the database.
'use strict';
const Database = require('better-sqlite3');
const db = new Database(process.argv[2]);
db.pragma('busy_timeout = 5000');
const insert = db.prepare('INSERT INTO orders (customer, total_cents, note) VALUES (?, ?, ?)');
let commits = 0;
const timer = setInterval(() => {
  insert.run(`live-${commits % 13}`, (commits * 7919) % 100000, 'placed during the demo');
  commits++;
}, 5);
process.stdout.write('writing\n');
process.stdin.once('data', () => {
  clearInterval(timer);
  db.close();
  process.stdout.write(`${commits}\n`);
  process.exit(0);
});
