/*
 * Seed corpora for litevault's fuzz targets, made by REAL SQLite: the sqlite3 shell (3.40.1 on
 * Debian 12) creates databases and keeps WAL frames and -shm files (`.dbconfig
 * no_ckpt_on_close on` + `PRAGMA wal_autocheckpoint=0`), and better-sqlite3 children with a
 * 10-page cache spill a big transaction into the database file and SIGKILL themselves, leaving
 * hot rollback journals. The relevant bytes are then cut out and framed for each target (see
 * the input layouts at the top of each native/fuzz/fuzz_*.cc):
 *   fuzz_db_header  first 128 bytes of databases of every page size, reserve, encoding, mode
 *   fuzz_wal        whole -wal files (including one restarted WAL with stale frames after
 *                   the new ones)
 *   fuzz_wal_index  the 136-byte -shm header regions
 *   fuzz_journal    [db size/256][page-size exponent][hot journal], plus copies with a
 *                   super-journal pointer appended (naming an existing and a missing file)
 *   fuzz_open       [flags][db][-wal or -journal][-shm] in several flag combinations
 *   fuzz_vault_manifest  whole vault manifests (full and incremental, rollback and WAL, several
 *                   page sizes) and small packs, made by litevault's own
 *                   scan (build/Release, `npm run compile`) over databases the shell made
 *   fuzz_log_segment  log segments (binding.encodeLogSegment, raw and zstd) whose records hold
 *                   pages of shell-made databases (page sizes 512, 1024, 4096), one to three
 *                   transactions each
 *   fuzz_verify     whole databases of at most 64 KiB, every one passing SQLite's
 *                   integrity_check: page sizes 512, 1024, 4096 and 65536, auto_vacuum none,
 *                   full and incremental, indexes, overflow chains (table and index cells), a
 *                   freelist (one and two trunks), WITHOUT ROWID, views and triggers, UTF-16, a
 *                   WAL-mode header, and one with 8 reserved bytes holding cksumvfs checksums
 *                   (computed here: ext/misc/cksumvfs.c's sums over the shell's pages)
 * Usage: node native/fuzz/make-seeds.cjs <out-dir>   (out-dir/<target>/ is created)
 */
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const { execFileSync, spawnSync } = require('child_process');

const out = path.resolve(process.argv[2] || 'build/fuzz/seeds');
const root = path.resolve(__dirname, '..', '..');
const SQLITE3 = fs.existsSync('/usr/bin/sqlite3') ? '/usr/bin/sqlite3' : 'sqlite3';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'litevault-fuzz-seeds-'));
const targets = ['fuzz_db_header', 'fuzz_wal', 'fuzz_wal_index', 'fuzz_journal', 'fuzz_open', 'fuzz_vault_manifest', 'fuzz_verify', 'fuzz_log_segment'];
for (const t of targets) fs.mkdirSync(path.join(out, t), { recursive: true });
const counts = Object.fromEntries(targets.map((t) => [t, 0]));

function seed(target, name, bytes) {
  fs.writeFileSync(path.join(out, target, name), bytes);
  counts[target]++;
}

function shell(db, sql) {
  return execFileSync(SQLITE3, ['-bail', '-batch', '-init', '/dev/null', db], { input: sql, encoding: 'utf8' });
}

let n = 0;
const fresh = (name) => path.join(work, `${n++}-${name}`);
const rows = (count, size, tag) =>
  `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${count}) INSERT INTO t(k, v) SELECT '${tag}' || i, randomblob(${size}) FROM c;`;
const u24 = (len) => Buffer.from([(len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff]);
const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f) : Buffer.alloc(0));

// 1. Database headers: every page size and the header variants SQLite can write.
const headerSpecs = [];
for (const ps of [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]) headerSpecs.push([`ps${ps}`, `PRAGMA page_size=${ps};`]);
headerSpecs.push(
  ['reserve8', '.filectrl reserve_bytes 8\nPRAGMA page_size=1024;'],
  ['reserve32-512', '.filectrl reserve_bytes 32\nPRAGMA page_size=512;'],
  ['autovacuum-full', 'PRAGMA auto_vacuum=1;'],
  ['autovacuum-incr', 'PRAGMA auto_vacuum=2;'],
  ['utf16le', "PRAGMA encoding='UTF-16le';"],
  ['utf16be', "PRAGMA encoding='UTF-16be';"],
  ['wal', 'PRAGMA journal_mode=wal;'],
  ['versions', 'PRAGMA user_version=-123456789; PRAGMA application_id=1280332849;'],
);
for (const [name, setup] of headerSpecs) {
  const db = fresh(`${name}.db`);
  shell(db, `${setup}\nCREATE TABLE t(k TEXT, v BLOB);\n${rows(20, 50, 'h')}\n`);
  seed('fuzz_db_header', name, read(db).subarray(0, 128));
}

// 2. WAL databases with frames (and the -shm) left behind by the shell.
function walDb(name, ps, commits, extraSql = '') {
  const db = fresh(`${name}.db`);
  shell(db, `PRAGMA page_size=${ps}; CREATE TABLE t(k TEXT, v BLOB); ${rows(10, 40, 'w')} PRAGMA journal_mode=wal;\n`);
  const sql = ['.dbconfig no_ckpt_on_close on', 'PRAGMA wal_autocheckpoint=0;'];
  for (let i = 0; i < commits; i++) sql.push(`INSERT INTO t VALUES ('c${i}', randomblob(${30 + i}));`);
  sql.push(extraSql);
  shell(db, sql.join('\n') + '\n');
  return db;
}
const wals = [
  ['wal-512', walDb('wal-512', 512, 3)],
  ['wal-1024', walDb('wal-1024', 1024, 5)],
  ['wal-4096', walDb('wal-4096', 4096, 2)],
  // Restarted WAL: new salts, 2 new frames, then stale frames of the previous generation.
  ['wal-restarted', walDb('wal-restarted', 512, 8, "PRAGMA wal_checkpoint(RESTART);\nINSERT INTO t VALUES ('r1', randomblob(20));\nINSERT INTO t VALUES ('r2', randomblob(20));")],
];
for (const [name, db] of wals) {
  const wal = read(db + '-wal');
  const shm = read(db + '-shm');
  if (wal.length <= 32 || shm.length < 136) throw new Error(`${name}: SQLite left no frames (wal ${wal.length}, shm ${shm.length})`);
  seed('fuzz_wal', name, wal);
  seed('fuzz_wal_index', name, shm.subarray(0, 136));
  const dbBytes = read(db);
  // WAL layout (2); with the DMS held by "another process" (4), checksum fix-up (8), checkpoint (16).
  for (const flags of [2, 2 | 4, 2 | 4 | 8, 2 | 16, 2 | 4 | 16, 2 | 4 | 1]) {
    seed('fuzz_open', `${name}-flags${flags}`, Buffer.concat([Buffer.from([flags]), u24(dbBytes.length), dbBytes, u24(wal.length), wal, shm]));
  }
}
// A WAL database whose -wal the shell checkpointed away (0-byte -wal, fresh -shm).
{
  const db = fresh('wal-empty.db');
  shell(db, `PRAGMA page_size=1024; PRAGMA journal_mode=wal; CREATE TABLE t(k TEXT, v BLOB); ${rows(5, 40, 'e')}\n`);
  seed('fuzz_wal_index', 'fresh-shm-none', Buffer.alloc(136));
  const dbBytes = read(db);
  seed('fuzz_open', 'wal-checkpointed', Buffer.concat([Buffer.from([2 | 4]), u24(dbBytes.length), dbBytes, u24(0)]));
}

// 3. Hot journals: better-sqlite3 with a 10-page cache spills an uncommitted transaction into
// the database, then SIGKILLs itself.
const bs3 = require.resolve('better-sqlite3', { paths: [root] });
function hotJournal(name, ps, rowsBefore, insertRows) {
  const db = fresh(`${name}.db`);
  shell(db, `PRAGMA page_size=${ps}; CREATE TABLE t(k TEXT, v BLOB); ${rows(rowsBefore, 60, 'o')}\n`);
  const before = read(db);
  const script = `
    const Database = require(${JSON.stringify(bs3)});
    const db = new Database(${JSON.stringify(db)});
    db.pragma('cache_size = 10');
    db.exec('BEGIN');
    const ins = db.prepare('INSERT INTO t(k, v) VALUES (?, ?)');
    for (let i = 0; i < ${insertRows}; i++) ins.run('hot' + i, Buffer.alloc(80, i));
    db.exec('UPDATE t SET v = zeroblob(10)');
    process.kill(process.pid, 'SIGKILL');`;
  const r = spawnSync(process.execPath, ['-e', script]);
  if (r.signal !== 'SIGKILL') throw new Error(`${name}: the writer was not killed: ${r.stderr}`);
  const journal = read(db + '-journal');
  if (journal.length < 512 || journal.readUInt32BE(0) !== 0xd9d505f9) throw new Error(`${name}: no hot journal (${journal.length} bytes)`);
  return { db, before, journal, ps };
}
function superPointer(name, ps) {
  const nameBytes = Buffer.from(name);
  let sum = 0;
  for (const c of nameBytes) sum = (sum + ((c << 24) >> 24)) >>> 0;
  const tail = Buffer.alloc(4 + nameBytes.length + 16);
  tail.writeUInt32BE(Math.floor(0x40000000 / ps) + 1, 0);
  nameBytes.copy(tail, 4);
  tail.writeUInt32BE(nameBytes.length, 4 + nameBytes.length);
  tail.writeUInt32BE(sum, 8 + nameBytes.length);
  Buffer.from('d9d505f920a163d7', 'hex').copy(tail, 12 + nameBytes.length);
  return tail;
}
const hots = [hotJournal('hot-512', 512, 30, 200), hotJournal('hot-1024', 1024, 20, 300), hotJournal('hot-4096', 4096, 10, 1500)];
for (const h of hots) {
  const exp = Math.log2(h.ps / 512);
  const units = Math.min(256, Math.ceil(h.before.length / 256));
  const frame = (journal) => Buffer.concat([Buffer.from([units >> 8, units & 0xff, exp]), journal]);
  seed('fuzz_journal', `${path.basename(h.db)}`, frame(h.journal));
  const padded = Buffer.concat([h.journal, Buffer.alloc((512 - (h.journal.length % 512)) % 512)]);
  seed('fuzz_journal', `${path.basename(h.db)}-super-exists`, frame(Buffer.concat([padded, superPointer(h.db, h.ps)])));
  seed('fuzz_journal', `${path.basename(h.db)}-super-missing`, frame(Buffer.concat([padded, superPointer(h.db + '-no-such-super', h.ps)])));
  if (h.ps > 1024) continue; // keep fuzz_open's inputs small (its -max_len is 128 KiB)
  const dbNow = read(h.db); // the spilled (uncommitted) state the journal rolls back
  // Rollback layout with the journal (32): read-write (rolls back), read-only (1), fix-up (64), write (128).
  for (const flags of [32, 32 | 1, 32 | 64, 32 | 128, 128]) {
    seed('fuzz_open', `${path.basename(h.db)}-flags${flags}`, Buffer.concat([Buffer.from([flags]), u24(dbNow.length), dbNow, h.journal]));
  }
}
// journal_mode=persist leaves a journal with a zeroed header: not hot.
{
  const db = fresh('persist.db');
  shell(db, `PRAGMA page_size=1024; PRAGMA journal_mode=persist; CREATE TABLE t(k TEXT, v BLOB); ${rows(20, 60, 'p')}\n`);
  const journal = read(db + '-journal');
  seed('fuzz_journal', 'persist', Buffer.concat([Buffer.from([0, 64, 1]), journal]));
  const dbBytes = read(db);
  seed('fuzz_open', 'persist', Buffer.concat([Buffer.from([32]), u24(dbBytes.length), dbBytes, journal]));
}

// Whole databases for the structure check: small (<= 64 KiB, mostly 512- and 1024-byte pages,
// so mutations hit structure), each one SQLite's integrity_check passes.
{
  const verifySpecs = [
    ['ps512-rowid-index-overflow', 'PRAGMA page_size=512;',
      `CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB); CREATE INDEX tb ON t(b);
       WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<48)
       INSERT INTO t(a, b, c) SELECT i * 3, 'key-' || i, randomblob(CASE WHEN i % 8 = 0 THEN 1400 ELSE 18 END) FROM c;
       DELETE FROM t WHERE a % 5 = 0;`],
    ['ps512-without-rowid', 'PRAGMA page_size=512;',
      `CREATE TABLE w(k TEXT PRIMARY KEY, v INTEGER, x BLOB) WITHOUT ROWID; CREATE INDEX wv ON w(v, x);
       WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<30)
       INSERT INTO w SELECT printf('%.*c', 20 + (i % 4) * 50, 'k') || i, i * 7 - 100, randomblob(i % 3 * 40) FROM c;
       CREATE VIEW wview AS SELECT k FROM w WHERE v > 0;
       CREATE TRIGGER wtrig AFTER INSERT ON w BEGIN SELECT 1; END;`],
    ['ps512-deep-index', 'PRAGMA page_size=512;',
      `CREATE TABLE d(id INTEGER PRIMARY KEY, name TEXT); CREATE INDEX dn ON d(name);
       WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<90)
       INSERT INTO d(name) SELECT printf('%080d', i * 7919 % 1000) FROM c;`],
    ['ps512-freelist-2trunks', 'PRAGMA page_size=512;',
      `CREATE TABLE f(a INTEGER PRIMARY KEY, b BLOB); CREATE TABLE keep(x);  INSERT INTO keep VALUES (1);
       WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<61)
       INSERT INTO f(b) SELECT randomblob(900) FROM c;
       DELETE FROM f;`],
    // The schema itself over several pages: an interior page, leaves, and overflowing SQL.
    ['ps512-big-schema', 'PRAGMA page_size=512;',
      Array.from({ length: 14 }, (_, i) =>
        `CREATE TABLE s${i}(${Array.from({ length: 4 + (i % 5) * 12 }, (_, j) => `column_${j} TEXT`).join(', ')});` +
        (i % 3 === 0 ? ` CREATE INDEX s${i}i ON s${i}(column_1, column_2);` : '')).join('\n') +
      ' INSERT INTO s0(column_1) VALUES (1);'],
    ['ps512-utf16le', "PRAGMA page_size=512; PRAGMA encoding='UTF-16le';",
      `CREATE TABLE u(a TEXT PRIMARY KEY, b) WITHOUT ROWID; CREATE TABLE r(x INTEGER PRIMARY KEY, y TEXT); CREATE INDEX ry ON r(y);
       WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<20)
       INSERT INTO u SELECT 'u' || i || printf('%.*c', i * 3, 'z'), i FROM c;
       INSERT INTO r(y) SELECT a FROM u;`],
    ['ps1024-autovacuum-full', 'PRAGMA page_size=1024; PRAGMA auto_vacuum=full;',
      `CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB); CREATE INDEX tb ON t(b); CREATE TABLE w(k PRIMARY KEY, v) WITHOUT ROWID;
       WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<40)
       INSERT INTO t(b, c) SELECT 'v' || i, randomblob(CASE WHEN i % 6 = 0 THEN 2500 ELSE 30 END) FROM c;
       INSERT INTO w SELECT b, a FROM t;
       DELETE FROM t WHERE a % 4 = 0;`],
    ['ps1024-autovacuum-incremental', 'PRAGMA page_size=1024; PRAGMA auto_vacuum=incremental;',
      `CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB); CREATE INDEX tb ON t(b);
       WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<40)
       INSERT INTO t(b, c) SELECT 'v' || i, randomblob(CASE WHEN i % 5 = 0 THEN 2000 ELSE 40 END) FROM c;
       DELETE FROM t WHERE a % 3 = 0; PRAGMA incremental_vacuum(2);`],
    ['ps1024-wal', 'PRAGMA page_size=1024; PRAGMA journal_mode=wal;',
      `CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX tb ON t(b);
       WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<60)
       INSERT INTO t(b) SELECT hex(randomblob(10)) FROM c;`],
    ['ps4096-mixed', 'PRAGMA page_size=4096;',
      `CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB); CREATE INDEX tb ON t(b); CREATE TABLE w(k PRIMARY KEY, v) WITHOUT ROWID;
       WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<120)
       INSERT INTO t(b, c) SELECT printf('%.*c', i % 40, 'b') || i, randomblob(CASE WHEN i = 60 THEN 9000 ELSE 50 END) FROM c;
       INSERT INTO w SELECT b, a FROM t WHERE a % 2 = 0;
       DELETE FROM t WHERE a > 100;`],
    ['ps65536-views', 'PRAGMA page_size=65536;',
      `CREATE VIEW v1 AS SELECT 1 AS x; CREATE VIEW v2 AS SELECT x * 2 AS y FROM v1;
       CREATE VIEW v3 AS WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<3) SELECT i FROM c;`],
    ['ps65536-empty', 'PRAGMA page_size=65536;', 'PRAGMA user_version=7;'],
    ['ps1024-cksumvfs', '.filectrl reserve_bytes 8\nPRAGMA page_size=1024;',
      `CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB); CREATE INDEX tb ON t(b);
       WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<30)
       INSERT INTO t(b, c) SELECT 'c' || i, randomblob(CASE WHEN i % 10 = 0 THEN 1500 ELSE 25 END) FROM c;
       DELETE FROM t WHERE a % 7 = 0;`],
  ];
  // ext/misc/cksumvfs.c: s1/s2 over native-order (little-endian here) 32-bit words, two at a time,
  // stored as s1 then s2, little-endian, in the page's last 8 bytes.
  const cksumvfs = (page) => {
    let s1 = 0, s2 = 0;
    for (let i = 0; i + 8 <= page.length - 8; i += 8) {
      s1 = (s1 + page.readUInt32LE(i) + s2) >>> 0;
      s2 = (s2 + page.readUInt32LE(i + 4) + s1) >>> 0;
    }
    page.writeUInt32LE(s1, page.length - 8);
    page.writeUInt32LE(s2, page.length - 4);
  };
  for (const [name, setup, sql] of verifySpecs) {
    const db = fresh(`${name}.db`);
    shell(db, `${setup}\n${sql}\n`);
    const check = shell(db, 'PRAGMA integrity_check;').trim();
    if (check !== 'ok') throw new Error(`${name}: SQLite's integrity_check says ${check}`);
    const bytes = read(db);
    const ps = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16);
    if (bytes.length > 65536 || bytes.length % ps !== 0) throw new Error(`${name}: ${bytes.length} bytes (at most 64 KiB)`);
    if (name.includes('cksumvfs')) {
      if (bytes[20] !== 8) throw new Error(`${name}: the shell reserved ${bytes[20]} bytes, not 8`);
      for (let at = 0; at < bytes.length; at += ps) cksumvfs(bytes.subarray(at, at + ps));
      fs.writeFileSync(db, bytes);
      const again = shell(db, 'PRAGMA integrity_check;').trim();
      if (again !== 'ok') throw new Error(`${name}: with checksums, integrity_check says ${again}`);
    }
    seed('fuzz_verify', name, bytes);
  }
}

// Vault manifests and packs: litevault's scan over shell-made databases, in a child process
// (the addon's calls are asynchronous).
{
  const specs = [];
  for (const ps of [512, 1024, 4096, 65536]) {
    const db = fresh(`vault-${ps}.db`);
    shell(db, `PRAGMA page_size=${ps}; CREATE TABLE t(k TEXT, v BLOB); ${rows(ps === 65536 ? 40 : 200, 300, 'v')}\n`);
    specs.push({ db, change: `UPDATE t SET v = randomblob(300) WHERE rowid % 7 = 0; ${rows(5, 300, 'n')}` });
  }
  specs.push({ db: walDb('vault-wal', 4096, 3), change: `INSERT INTO t VALUES ('x', randomblob(500));` });
  const script = `
    const fs = require('fs');
    const { binding } = require(${JSON.stringify(path.join(root, 'dist', 'binding.js'))});
    const specs = ${JSON.stringify(specs)};
    const out = ${JSON.stringify(path.join(out, 'fuzz_vault_manifest'))};
    const { execFileSync } = require('child_process');
    async function scan(db, base) {
      const h = await binding.open(db, true, false, 5000);
      const s = new binding.VaultScan(h, { base, compression: 'zstd', level: 1, threads: 0, maxRestarts: -1, busyTimeoutMs: 5000 });
      const packs = [];
      let st;
      const out = Buffer.alloc(s.maxPackBytes);
      do { st = await s.step(out); if (st.packBytes > 0) packs.push(Buffer.from(out.subarray(0, st.packBytes))); } while (!st.done);
      const f = await s.finish();
      await h.close();
      const meta = { format: 'seed', pageSize: f.pageSize, pageCount: f.pageCount, packs: f.packs, type: base.length ? 'incremental' : 'full' };
      return { manifest: binding.vaultEncodeManifest(JSON.stringify(meta), f.table), packs };
    }
    (async () => {
      let i = 0;
      for (const { db, change } of specs) {
        const full = await scan(db, []);
        execFileSync(${JSON.stringify(SQLITE3)}, ['-bail', '-batch', '-init', '/dev/null', db], { input: change });
        const incr = await scan(db, [{ manifest: full.manifest, label: 'full' }]);
        fs.writeFileSync(out + '/full-' + i, full.manifest);
        fs.writeFileSync(out + '/incr-' + i, incr.manifest);
        const small = full.packs.concat(incr.packs).filter((p) => p.length <= 65536);
        if (small.length) fs.writeFileSync(out + '/pack-' + i, small[0]);
        i++;
      }
      console.log(i * 2);
    })().catch((e) => { console.error(e); process.exit(1); });`;
  counts.fuzz_vault_manifest += Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
}

// Log segments: records of real pages (every page of a shell-made database, a few per
// transaction), encoded by litevault's own encoder in a child process.
{
  const dbs = [];
  for (const ps of [512, 1024, 4096]) {
    const db = fresh(`segment-${ps}.db`);
    shell(db, `PRAGMA page_size=${ps}; CREATE TABLE t(k TEXT, v BLOB); ${rows(ps === 4096 ? 12 : 30, 200, 'v')}\n`);
    dbs.push({ db, ps });
  }
  const script = `
    const fs = require('fs');
    const { binding } = require(${JSON.stringify(path.join(root, 'dist', 'binding.js'))});
    const dbs = ${JSON.stringify(dbs)};
    const out = ${JSON.stringify(path.join(out, 'fuzz_log_segment'))};
    function record(txid, pageCount, pages) {
      const head = Buffer.alloc(28);
      head.writeBigUInt64LE(BigInt(txid), 0);
      head.writeBigInt64LE(BigInt(1764700000000 + txid), 8);
      head.writeUInt32LE(txid * 2, 16);
      head.writeUInt32LE(pageCount, 20);
      head.writeUInt32LE(pages.length, 24);
      const parts = [head];
      for (const [n, image] of pages) { const p = Buffer.alloc(4); p.writeUInt32LE(n, 0); parts.push(p, image); }
      return Buffer.concat(parts);
    }
    (async () => {
      let count = 0;
      for (const { db, ps } of dbs) {
        const bytes = fs.readFileSync(db);
        const pageCount = bytes.length / ps;
        const page = (n) => bytes.subarray((n - 1) * ps, n * ps);
        for (const txs of [1, 3]) {
          const records = [];
          for (let t = 0; t < txs; t++) {
            const pages = [];
            for (let n = 1 + (t % pageCount); n <= pageCount && pages.length < 3; n += 1 + t) pages.push([n, page(n)]);
            records.push(record(7 + t, Math.max(1, pageCount - t), pages));
          }
          for (const compression of ['zstd', 'none']) {
            const seg = await binding.encodeLogSegment({ pageSize: ps, salt1: 3911, salt2: 2870150812, firstTxid: 7, lastTxid: 6 + txs, compression, level: 1 }, records);
            if (seg.data.length > 65536) continue;
            fs.writeFileSync(out + '/seg-' + ps + '-' + txs + '-' + compression, seg.data);
            count++;
          }
        }
      }
      console.log(count);
    })().catch((e) => { console.error(e); process.exit(1); });`;
  counts.fuzz_log_segment += Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
}

fs.rmSync(work, { recursive: true, force: true });
console.log(`fuzz/seeds: ${targets.map((t) => `${t} ${counts[t]}`).join(', ')} in ${path.relative(process.cwd(), out) || out}`);
