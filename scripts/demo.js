// npm run demo: makes a demo database with real SQLite (better-sqlite3, WAL mode, a few thousand
// rows, some of it still in the -wal), then runs the litevault CLI on it.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const Database = require('better-sqlite3');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litevault-demo-'));
const dbPath = path.join(dir, 'demo.db');
const db = new Database(dbPath);
db.pragma('journal_mode = WAL');
db.pragma('wal_autocheckpoint = 0'); // keep the commits in the -wal so `info` has frames to show
db.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total_cents INTEGER NOT NULL)');
const insert = db.prepare('INSERT INTO orders (customer, total_cents) VALUES (?, ?)');
for (let batch = 0; batch < 20; batch++) {
  db.transaction(() => {
    for (let i = 0; i < 250; i++) insert.run(`customer-${(batch * 250 + i) % 97}`, (batch * 7919 + i * 104729) % 100000);
  })();
}
console.log(`demo database: ${dbPath} (5000 orders in 20 commits, WAL mode, open in this process)\n`);

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
console.log('$ litevault info demo.db');
process.stdout.write(execFileSync(process.execPath, [cli, 'info', dbPath], { encoding: 'utf8' }));
db.close();
fs.rmSync(dir, { recursive: true, force: true });
