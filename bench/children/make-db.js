// Builds the benchmark database with real SQLite (better-sqlite3): 4 KiB pages, a table of rows
// with blobs (200..1799 bytes, random content), filled with prepared inserts in big
// transactions until the file reaches the requested size, then switched to WAL mode and closed
// (so it is a WAL database with no -wal file left). Also creates the (empty) table the writer
// benchmark appends to.
// Usage: node make-db.js '{"path":"...","sizeMiB":1024}'
'use strict';
const crypto = require('crypto');
const { betterSqlite3 } = require('../lib/load');

const spec = JSON.parse(process.argv[2]);
const Database = betterSqlite3();
const started = process.hrtime.bigint();
const pageSize = spec.pageSize ?? 4096;
const target = Math.ceil((spec.sizeMiB * 1048576) / pageSize);

const db = new Database(spec.path);
db.pragma(`page_size = ${pageSize}`);
db.pragma('journal_mode = OFF');
db.pragma('synchronous = OFF');
db.pragma('cache_size = -65536');
db.exec(`CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, tag INTEGER NOT NULL, body BLOB NOT NULL);
         CREATE TABLE IF NOT EXISTS writer_log (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, body BLOB NOT NULL);`);

const pool = crypto.randomBytes(4 << 20);
const bodyLength = (id) => 200 + ((id * 7919) % 1600); // make-wal.js relies on this
const body = (id) => {
  const len = bodyLength(id);
  const at = (id * 4099) % (pool.length - len);
  return pool.subarray(at, at + len);
};

const insert = db.prepare('INSERT INTO items (id, tag, body) VALUES (?, ?, ?)');
const pageCount = db.prepare('PRAGMA page_count').pluck();
let id = db.prepare('SELECT coalesce(max(id), 0) FROM items').pluck().get();
const batch = db.transaction((n) => {
  for (let i = 0; i < n; i++) {
    id++;
    insert.run(id, id % 1009, body(id));
  }
});
while (pageCount.get() < target) {
  const missing = target - pageCount.get();
  batch(Math.max(1, Math.min(50000, Math.ceil(missing * 3))));
}
db.pragma('journal_mode = WAL');
const pages = pageCount.get();
db.close();
process.stdout.write(
  JSON.stringify({ rows: id, pages, pageSize, bytes: pages * pageSize, ms: Number(process.hrtime.bigint() - started) / 1e6 }) + '\n',
);
