// npm run demo: makes a demo database with real SQLite (better-sqlite3, a few thousand rows),
// shows what `litevault info` reads from it, backs it up with `litevault backup` while this
// process keeps a better-sqlite3 connection open on it, and has real SQLite check the copy.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const Database = require('better-sqlite3');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litevault-demo-'));
const dbPath = path.join(dir, 'demo.db');
const copyPath = path.join(dir, 'demo-backup.db');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (...args) => {
  console.log(`$ litevault ${args.map((a) => (path.isAbsolute(a) ? path.relative(dir, a) : a)).join(' ')}`);
  process.stdout.write(execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8' }) + '\n');
};

const db = new Database(dbPath);
db.pragma('journal_mode = DELETE');
db.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total_cents INTEGER NOT NULL, note TEXT)');
const insert = db.prepare('INSERT INTO orders (customer, total_cents, note) VALUES (?, ?, ?)');
for (let batch = 0; batch < 20; batch++) {
  db.transaction(() => {
    for (let i = 0; i < 1000; i++) insert.run(`customer-${(batch * 1000 + i) % 97}`, (batch * 7919 + i * 104729) % 100000, 'x'.repeat(i % 200));
  })();
}
console.log(`demo database: ${dbPath}\n(20,000 orders written by better-sqlite3, which keeps its connection open during the backup)\n`);

run('info', dbPath);
run('backup', dbPath, copyPath, '--pages', '256');

const copy = new Database(copyPath, { readonly: true });
const check = copy.pragma('integrity_check', { simple: true });
const rows = copy.prepare('SELECT count(*) AS n, sum(total_cents) AS total FROM orders').get();
const original = db.prepare('SELECT count(*) AS n, sum(total_cents) AS total FROM orders').get();
console.log(`real SQLite on the copy: integrity_check=${check}, ${rows.n} orders totalling ${rows.total} (original: ${original.n}, ${original.total})`);
copy.close();
db.close();
fs.rmSync(dir, { recursive: true, force: true });
if (check !== 'ok' || rows.n !== original.n || rows.total !== original.total) process.exit(1);
