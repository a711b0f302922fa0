// Changes a given share of a benchmark database's pages at random with real SQLite
// (better-sqlite3), for the vault benchmark: UPDATEs of random rows' blobs with fresh random bytes
// of the same length (so SQLite rewrites each row in place in its leaf page and nothing else), in
// transactions, until the WAL holds frames for `pct` % of the database's pages; then a TRUNCATE
// checkpoint and close, so the database file itself holds every change and no -wal is left (a
// file-level tool such as restic sees the same content as litevault).
// Row ids come from a seeded xorshift32, so a given seed changes the same rows in every round.
// Usage: node vault-change.js '{"path":"...","pct":1,"seed":1}'; prints one JSON line.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const { betterSqlite3 } = require('../lib/load');

const spec = JSON.parse(process.argv[2]);
const Database = betterSqlite3();
const started = process.hrtime.bigint();
const db = new Database(spec.path);
db.pragma('wal_autocheckpoint = 0');
if (db.pragma('journal_mode', { simple: true }) !== 'wal') throw new Error(`${spec.path} is not in WAL mode`);
const pageSize = db.pragma('page_size', { simple: true });
const pageCount = db.pragma('page_count', { simple: true });
const target = Math.max(1, Math.round((pageCount * spec.pct) / 100));
const maxId = db.prepare('SELECT max(id) FROM items').pluck().get();
const lengthOf = db.prepare('SELECT length(body) FROM items WHERE id = ?').pluck();
const update = db.prepare('UPDATE items SET body = ? WHERE id = ?');

let seed = (spec.seed >>> 0) || 2463534242;
const random = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) & 0x7fffffff;
};

// Distinct page numbers among the WAL's frames: the pages changed so far.
const walPath = `${spec.path}-wal`;
const frameHeader = Buffer.alloc(24);
function walPages() {
  if (!fs.existsSync(walPath)) return 0;
  const fd = fs.openSync(walPath, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const pages = new Set();
    for (let at = 32; at + 24 + pageSize <= size; at += 24 + pageSize) {
      fs.readSync(fd, frameHeader, 0, 24, at);
      pages.add(frameHeader.readUInt32BE(0));
    }
    return pages.size;
  } finally {
    fs.closeSync(fd);
  }
}

let updates = 0;
let transactions = 0;
const batch = db.transaction((n) => {
  for (let i = 0; i < n; i++) {
    const id = 1 + (random() % maxId);
    const len = lengthOf.get(id);
    if (len === undefined) continue;
    update.run(crypto.randomBytes(len), id);
    updates++;
  }
});
let changed = walPages();
while (changed < target) {
  // Most rows land on a page not touched yet; top up until the target is reached.
  batch(Math.max(1, Math.ceil((target - changed) * 1.02)));
  transactions++;
  changed = walPages();
}
const checkpoint = db.pragma('wal_checkpoint(TRUNCATE)')[0];
db.close();
process.stdout.write(
  JSON.stringify({
    ok: checkpoint.busy === 0,
    error: checkpoint.busy === 0 ? undefined : `checkpoint busy: ${JSON.stringify(checkpoint)}`,
    pct: spec.pct,
    target,
    pagesChanged: changed,
    updates,
    transactions,
    pageCount,
    pageSize,
    checkpoint,
    walLeft: fs.existsSync(walPath) ? fs.statSync(walPath).size : 0,
    ms: Number(process.hrtime.bigint() - started) / 1e6,
  }) + '\n',
);
