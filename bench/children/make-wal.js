// Leaves a WAL of the requested number of frames (or a few more) next to a database made by
// make-db.js: many small transactions (10 random same-length row updates each) with
// wal_autocheckpoint=0, then process.exit() without closing, so the -wal stays behind
// (SQLite would checkpoint and delete it on close). The parent deletes the -shm.
// Usage: node make-wal.js '{"path":"...","frames":100000}'
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const { betterSqlite3 } = require('../lib/load');

const spec = JSON.parse(process.argv[2]);
const Database = betterSqlite3();
const started = process.hrtime.bigint();
const db = new Database(spec.path);
db.pragma('wal_autocheckpoint = 0');
db.pragma('synchronous = OFF'); // the frames are the same; only the build is faster
const pageSize = db.pragma('page_size', { simple: true });
const rows = db.prepare('SELECT max(id) FROM items').pluck().get();
const update = db.prepare('UPDATE items SET body = ? WHERE id = ?');
const bodyLength = (id) => 200 + ((id * 7919) % 1600); // as make-db.js
const pool = crypto.randomBytes(4 << 20);
// xorshift32: deterministic, and (unlike a float LCG) no short cycle: a repeated (row, content)
// pair would be a no-op update that SQLite does not even write.
let seed = 2463534242;
const random = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) & 0x7fffffff;
};
const perTransaction = spec.updatesPerTransaction ?? 10;
const txn = db.transaction((updates) => {
  for (let i = 0; i < updates; i++) {
    const id = 1 + (random() % rows);
    const len = bodyLength(id);
    const at = random() % (pool.length - len);
    update.run(pool.subarray(at, at + len), id);
  }
});
const walPath = `${spec.path}-wal`;
const frames = () => {
  const size = fs.existsSync(walPath) ? fs.statSync(walPath).size : 0;
  return size > 32 ? Math.floor((size - 32) / (pageSize + 24)) : 0;
};
let transactions = 0;
// Each update rewrites one leaf page (same-size rows are overwritten in place), so a
// transaction adds about as many frames as it has updates; the last ones shrink to land on the
// requested count exactly.
while (frames() < spec.frames) {
  const remaining = spec.frames - frames();
  if (remaining > 50 * perTransaction) {
    const n = Math.floor(remaining / (4 * perTransaction));
    for (let i = 0; i < n; i++) txn(perTransaction);
    transactions += n;
  } else {
    txn(Math.max(1, Math.min(perTransaction, Math.floor(remaining / 2))));
    transactions++;
  }
}
process.stdout.write(
  JSON.stringify({ frames: frames(), transactions, walBytes: fs.statSync(walPath).size, ms: Number(process.hrtime.bigint() - started) / 1e6 }) + '\n',
);
process.exit(0); // no close: keep the -wal
