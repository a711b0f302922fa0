// npm run demo: a WAL database made by real SQLite (better-sqlite3); litevault shows its header,
// then, while another process keeps committing, takes a live snapshot backup, a full vault
// backup and a passive checkpoint; after the writer stops, a restore (a backup of the backup),
// an incremental vault backup that stores only the changed pages, the vault's list and a
// restore from the vault; finally real SQLite checks every file.
'use strict';
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const Database = require('better-sqlite3');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litevault-demo-'));
const dbPath = path.join(dir, 'demo.db');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
// Runs the CLI in the demo directory, so commands and their output use short relative names.
const run = (...args) => {
  console.log(`$ litevault ${args.join(' ')}`);
  process.stdout.write(execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: dir }));
};
const say = (text) => console.log(`\n# ${text}`);
const count = (file) => {
  const db = new Database(path.join(dir, file), { readonly: true });
  const check = db.pragma('integrity_check', { simple: true });
  const rows = db.prepare('SELECT count(*) AS n FROM orders').get().n;
  db.close();
  return { check, rows };
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
  console.log(`demo directory: ${dir}`);
  say('demo.db: 20,000 orders written by SQLite in WAL mode. Its header, as litevault reads it:');
  run('info', 'demo.db');

  const writer = spawn(process.execPath, [path.join(__dirname, 'demo-writer.cjs'), dbPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((resolve) => writer.stdout.once('data', resolve));
  say('Another process now commits about 200 orders a second. A live backup copies one snapshot\n# (the commits up to one WAL frame) and never blocks that writer:');
  run('backup', 'demo.db', 'demo-backup.db', '--pages', '128');
  say('A vault keeps backups over time. The first is a full backup: every page of one snapshot,\n# compressed, under the name demo.db:');
  run('vault', 'backup', 'demo.db', 'vault');
  say('A passive checkpoint copies what it can of the WAL into demo.db without waiting for anyone\n# (the writer keeps appending, so the numbers are those of that moment):');
  run('checkpoint', 'demo.db', '--mode', 'passive');

  writer.stdin.write('stop\n');
  const commits = await new Promise((resolve) => writer.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  say(`The writer stopped after ${commits} orders (closing, SQLite checkpointed the rest of its WAL).`);

  say('Restoring is a backup the other way round: the backup is the source.');
  run('backup', 'demo-backup.db', 'restored.db');

  say('The next vault backup is incremental: it reads every page but stores only those that\n# changed since the full one (the writer\'s last orders):');
  run('vault', 'backup', 'demo.db', 'vault');
  run('vault', 'list', 'vault');
  say('Restoring from the vault rebuilds the newest backup page by page, checking every page\n# against the hash recorded when it was backed up:');
  run('vault', 'restore', 'vault', 'demo.db', 'from-vault.db');

  const copy = count('demo-backup.db');
  const fromVault = count('from-vault.db');
  const restored = count('restored.db');
  const live = count('demo.db');
  say('What SQLite itself says (better-sqlite3: PRAGMA integrity_check, SELECT count(*) FROM orders):');
  console.log(`demo.db         integrity_check ${live.check}, ${live.rows} orders (20,000 + all ${commits} live ones)`);
  console.log(`demo-backup.db  integrity_check ${copy.check}, ${copy.rows} orders (20,000 + the ${copy.rows - 20000} committed before its snapshot)`);
  console.log(`restored.db     integrity_check ${restored.check}, ${restored.rows} orders (the backup's)`);
  console.log(`from-vault.db   integrity_check ${fromVault.check}, ${fromVault.rows} orders (the incremental's: all of them)`);
  fs.rmSync(dir, { recursive: true, force: true });
  const ok =
    [copy, restored, live, fromVault].every((c) => c.check === 'ok') &&
    copy.rows >= 20000 &&
    restored.rows === copy.rows &&
    live.rows === 20000 + commits &&
    fromVault.rows === live.rows;
  if (!ok) process.exit(1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
