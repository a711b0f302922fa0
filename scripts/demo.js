// npm run demo: a WAL database made by real SQLite (better-sqlite3), then, while another process
// keeps committing to it, litevault inspects it, takes a live snapshot backup and checkpoints
// it; finally real SQLite checks the copy.
'use strict';
const { execFileSync, spawn } = require('child_process');
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

async function main() {
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0'); // leave the checkpointing to litevault
  db.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total_cents INTEGER NOT NULL, note TEXT)');
  const insert = db.prepare('INSERT INTO orders (customer, total_cents, note) VALUES (?, ?, ?)');
  for (let batch = 0; batch < 20; batch++) {
    db.transaction(() => {
      for (let i = 0; i < 1000; i++) insert.run(`customer-${(batch * 1000 + i) % 97}`, (batch * 7919 + i * 104729) % 100000, 'x'.repeat(i % 200));
    })();
  }
  db.close();

  const writer = spawn(process.execPath, [path.join(__dirname, 'demo-writer.cjs'), dbPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((resolve) => writer.stdout.once('data', resolve));
  console.log(`demo database: ${dbPath}\n20,000 orders in WAL mode; another process now commits about 200 orders a second.\n`);

  run('info', dbPath);
  run('backup', dbPath, copyPath, '--pages', '128');
  run('checkpoint', dbPath, '--mode', 'passive');
  run('info', dbPath);

  writer.stdin.write('stop\n');
  const commits = await new Promise((resolve) => writer.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  const copy = new Database(copyPath, { readonly: true });
  const check = copy.pragma('integrity_check', { simple: true });
  const rows = copy.prepare('SELECT count(*) AS n FROM orders').get().n;
  copy.close();
  console.log(`the writer committed ${commits} orders meanwhile; real SQLite on the copy: integrity_check=${check}, ${rows} orders (a consistent snapshot: 20,000 plus those committed before it was taken)`);
  fs.rmSync(dir, { recursive: true, force: true });
  if (check !== 'ok' || rows < 20000) process.exit(1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
