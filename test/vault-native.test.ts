// The native half of vaults (native/src/vault/, addon/vault_wrap.cc), driven directly through
// the binding as lib/vault/ will drive it: real SQLite makes every database (the sqlite3 shell
// and better-sqlite3), and a restore is judged against SQLite's own copy, `sqlite3 src
// ".backup ref"`: the same bytes outside the header fields SQLite sets per destination (24..27,
// 40..43, 92..99), and integrity_check ok. Plus the manifest codec's checks, pack damage, and the
// per-name lock between handles and processes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { binding } from '../dist/binding.js';
import { LitevaultError } from '../dist/index.js';
import { removeTmpDirs, sqliteShell, SQLITE3_BIN, tmpDir } from './oracle/sqlite';
import { rejection } from './oracle/expect';

const bigDirs: string[] = [];
afterAll(() => {
  removeTmpDirs();
  for (const d of bigDirs) fs.rmSync(d, { recursive: true, force: true });
});
const dir = tmpDir('litevault-vault-native-');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);

const b = binding;

interface PackMeta {
  key: string;
  bytes: number;
  slots: number;
}
interface Backup {
  manifest: Buffer;
  label: string;
  meta: { pageSize: number; pageCount: number; packs: PackMeta[] } & Record<string, unknown>;
  packs: Map<string, Buffer>;
  pagesStored: number;
  restarts: number;
  mode: string;
}

interface ScanOptions {
  compression?: 'none' | 'zstd';
  threads?: number;
  maxRestarts?: number;
  // Runs between steps (after step `i` returned), e.g. a commit by real SQLite.
  between?: (i: number) => void;
}

async function scan(dbPath: string, base: Backup[], label: string, opts: ScanOptions = {}): Promise<Backup> {
  const db = await b.open(dbPath, true, false, 5000);
  try {
    const s = new b.VaultScan(db, {
      base: base.map((l) => ({ manifest: l.manifest, label: l.label })),
      compression: opts.compression ?? 'zstd',
      level: 1,
      threads: opts.threads ?? 2,
      maxRestarts: opts.maxRestarts ?? -1,
      busyTimeoutMs: 5000,
    });
    const packs = new Map<string, Buffer>();
    const out = Buffer.alloc(s.maxPackBytes);
    let step;
    let i = 0;
    do {
      step = await s.step(out);
      if (step.packBytes > 0) {
        const pack = out.subarray(0, step.packBytes);
        expect(b.vaultHash(pack.subarray(0, pack.length - 16))).toBe(step.packKey);
        expect(pack.subarray(pack.length - 16).toString('hex')).toBe(step.packKey);
        packs.set(step.packKey!, Buffer.from(pack));
      } else {
        expect(step.packKey).toBeNull();
      }
      opts.between?.(i++);
    } while (!step.done);
    const f = await s.finish();
    await s.close(); // idempotent after finish
    expect(f.packs.map((p: PackMeta) => p.key).sort()).toEqual([...packs.keys()].sort());
    const meta = {
      name: 'app',
      seq: base.length + 1,
      type: base.length === 0 ? 'full' : 'incremental',
      pageSize: f.pageSize,
      pageCount: f.pageCount,
      snapshot: { journalMode: f.journalMode, changeCounter: f.changeCounter, walFrame: f.walFrame, walSalt1: f.walSalt1, walSalt2: f.walSalt2 },
      source: { path: f.path, device: f.device, inode: f.inode },
      packs: f.packs,
      pagesScanned: f.pagesScanned,
      pagesStored: f.pagesStored,
    };
    const manifest: Buffer = b.vaultEncodeManifest(JSON.stringify(meta), f.table);
    return { manifest, label, meta, packs, pagesStored: f.pagesStored, restarts: f.restarts, mode: step.mode };
  } finally {
    await db.close();
  }
}

async function restore(chain: Backup[], dest: string, packsOf = (l: Backup) => l.packs): Promise<void> {
  const r = new b.VaultRestore(dest, {
    chain: chain.map((l) => ({ manifest: l.manifest, label: l.label })),
    packs: chain.map((l) => l.meta.packs.map((p) => p.key)),
  });
  await r.open();
  try {
    // Two writes at once, as lib/vault/ overlaps them.
    const needed: { link: number; pack: number; key: string }[] = r.packsNeeded;
    for (let i = 0; i < needed.length; i += 2) {
      await Promise.all(
        needed.slice(i, i + 2).map((p) => r.writePack(p.link, p.pack, packsOf(chain[p.link]!).get(p.key)!)),
      );
    }
    await r.finish();
  } catch (err) {
    await r.abort();
    throw err;
  }
}

function sqliteBackup(src: string, dst: string): void {
  const r = spawnSync(SQLITE3_BIN, ['-bail', src, `.backup '${dst}'`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

// Ranges of a and b that differ, outside the header fields SQLite sets per destination
// (compared a range at a time: the files can be over 1 GiB).
function differingBytes(a: string, bPath: string): string[] {
  const x = fs.readFileSync(a);
  const y = fs.readFileSync(bPath);
  expect(x.length).toBe(y.length);
  const ranges: [number, number][] = [[0, 24], [28, 40], [44, 92], [100, x.length]];
  const out: string[] = [];
  for (const [from, to] of ranges) {
    for (let at = from; at < to; at += 1 << 20) {
      const end = Math.min(to, at + (1 << 20));
      if (!x.subarray(at, end).equals(y.subarray(at, end))) out.push(`bytes ${at}..${end}`);
    }
  }
  return out;
}

const fill = (rows: number, tag: string): string =>
  `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${rows}) INSERT INTO t(v) SELECT '${tag}' || hex(randomblob(200)) FROM c;`;

function rollbackDb(name: string, pageSize: number, rows: number): string {
  const f = fresh(name);
  sqliteShell(f, `PRAGMA page_size=${pageSize}; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX tv ON t(v); ${fill(rows, 'r')}`);
  return f;
}

// Restores `chain` and checks it against SQLite's own copy of `src` as it is now.
async function expectRestoresTo(chain: Backup[], src: string, quickCheck = false, where = dir): Promise<void> {
  const dest = path.join(where, `${n++}-restored.db`);
  await restore(chain, dest);
  const ref = path.join(where, `${n++}-ref.db`);
  sqliteBackup(src, ref);
  expect(differingBytes(dest, ref)).toEqual([]);
  expect(sqliteShell(dest, quickCheck ? 'PRAGMA quick_check;' : 'PRAGMA integrity_check;').trim()).toBe('ok');
  fs.rmSync(ref);
  expect((fs.statSync(dest).mode & 0o777).toString(8)).toBe('600');
  fs.rmSync(dest);
}

describe('VaultScan + VaultRestore against sqlite3 .backup', () => {
  it('a full scan of a rollback-journal database restores to the bytes of SQLite\'s copy (restart mode, no restart)', async () => {
    const src = rollbackDb('rollback.db', 4096, 3000);
    const full = await scan(src, [], 'backups/app/0000000001.manifest');
    expect(full.mode).toBe('restart');
    expect(full.restarts).toBe(0);
    expect(full.pagesStored).toBe(full.meta.pageCount);
    expect([full.meta.snapshot.walSalt1, full.meta.snapshot.walSalt2]).toEqual([0, 0]); // no WAL generation
    await expectRestoresTo([full], src);
  });

  it('a full scan of a WAL database with committed frames still in its -wal restores to SQLite\'s copy (snapshot mode)', async () => {
    const src = fresh('wal.db');
    const writer = new Database(src);
    try {
      writer.pragma('journal_mode = WAL');
      writer.pragma('wal_autocheckpoint = 0');
      writer.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
      for (let i = 0; i < 20; i++) writer.exec(fill(100, `w${i}`));
      expect(fs.statSync(`${src}-wal`).size).toBeGreaterThan(0);
      const full = await scan(src, [], 'backups/wal/0000000001.manifest');
      expect(full.mode).toBe('snapshot');
      const snapshot = JSON.parse(b.vaultDecodeManifest(full.manifest, 'm').meta).snapshot;
      expect(snapshot.walFrame).toBeGreaterThan(0);
      // the snapshot's generation: the salts of the -wal header (big-endian at 16 and 20)
      const walHeader = fs.readFileSync(`${src}-wal`).subarray(0, 32);
      expect([snapshot.walSalt1, snapshot.walSalt2]).toEqual([walHeader.readUInt32BE(16), walHeader.readUInt32BE(20)]);
      await expectRestoresTo([full], src);
    } finally {
      writer.close();
    }
  });

  it('an incremental stores only the changed pages, and [full, incremental] restores to SQLite\'s copy after the change', async () => {
    const src = rollbackDb('incr.db', 1024, 4000);
    const full = await scan(src, [], 'backups/app/0000000001.manifest', { compression: 'none', threads: 0 });
    sqliteShell(src, `UPDATE t SET v = 'changed' || id WHERE id % 97 = 0; ${fill(50, 'new')}`);
    const incr = await scan(src, [full], 'backups/app/0000000002.manifest');
    expect(incr.pagesStored).toBeGreaterThan(0);
    expect(incr.pagesStored).toBeLessThan(full.meta.pageCount / 4);
    await expectRestoresTo([full, incr], src);
    // Nothing changed: an incremental of nothing stores nothing and still restores.
    const none = await scan(src, [full, incr], 'backups/app/0000000003.manifest');
    expect(none.pagesStored).toBe(0);
    expect(none.meta.packs).toEqual([]);
    await expectRestoresTo([full, incr, none], src);
  });

  it('an empty (0-byte) database scans to 0 pages and restores to an empty file', async () => {
    const src = fresh('empty.db');
    fs.writeFileSync(src, '');
    const full = await scan(src, [], 'backups/app/0000000001.manifest');
    expect(full.meta.pageCount).toBe(0);
    expect(full.meta.packs).toEqual([]);
    const dest = fresh('empty-restored.db');
    await restore([full], dest);
    expect(fs.statSync(dest).size).toBe(0);
  });

  it('a database past the lock-byte page (64 KiB pages, > 1 GiB): the page is skipped, and [full, incremental] restores to SQLite\'s copy', async () => {
    // On tmpfs where there is one (these are 3 files of 1 GiB: no disk writes, no fsync wait).
    const bigDir = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/litevault-vault-native-') : dir;
    bigDirs.push(bigDir);
    const src = path.join(bigDir, 'big.db');
    // Page 16385 holds byte 2^30: SQLite leaves it unwritten; the blob's overflow chain skips it.
    sqliteShell(src, `PRAGMA page_size=65536; PRAGMA journal_mode=off; CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB); INSERT INTO t(b) VALUES (zeroblob(540000000)), (zeroblob(540000000)), (randomblob(100000));`);
    const full = await scan(src, [], 'backups/big/0000000001.manifest');
    expect(full.meta.pageCount).toBeGreaterThan(16385);
    expect(full.pagesStored).toBe(full.meta.pageCount - 1);
    sqliteShell(src, `UPDATE t SET b = randomblob(100000) WHERE id = 3;`);
    const incr = await scan(src, [full], 'backups/big/0000000002.manifest');
    expect(incr.pagesStored).toBeLessThan(10);
    await expectRestoresTo([full, incr], src, true, bigDir);
  });

  it('a rollback source written between steps restarts; the pages it already stored are referenced, not stored again', async () => {
    const src = rollbackDb('restart.db', 4096, 50000); // > 8 MiB: several steps
    let wrote = false;
    const full = await scan(src, [], 'backups/app/0000000001.manifest', {
      between: (i) => {
        if (i === 0 && !wrote) {
          wrote = true;
          sqliteShell(src, `UPDATE t SET v = 'late' WHERE id = 7;`);
        }
      },
    });
    expect(full.restarts).toBe(1);
    expect(full.pagesStored).toBeLessThan(full.meta.pageCount + 16); // not twice the database
    await expectRestoresTo([full], src);
  });

  it('maxRestarts 0 holds SHARED from the first step: a writer is blocked until the scan ends, and it never restarts', async () => {
    const src = rollbackDb('held.db', 4096, 50000);
    const results: string[] = [];
    const full = await scan(src, [], 'backups/app/0000000001.manifest', {
      maxRestarts: 0,
      between: (i) => {
        if (i === 0) {
          const r = spawnSync(SQLITE3_BIN, ['-bail', src, `.timeout 10`, `UPDATE t SET v = 'blocked' WHERE id = 7;`], { encoding: 'utf8' });
          results.push(r.status !== 0 && /locked/.test(r.stderr) ? 'busy' : `status ${r.status}: ${r.stderr}`);
        }
      },
    });
    expect(results).toEqual(['busy']); // the writer could not commit while the scan held SHARED
    expect(full.restarts).toBe(0);
    await expectRestoresTo([full], src);
  });
});

describe('VaultScan errors', () => {
  it('SQLITE_BUSY while another connection holds EXCLUSIVE is retryable and leaves the scan usable; finish before done and step after finish are SQLITE_MISUSE', async () => {
    const src = rollbackDb('busy.db', 4096, 500);
    const writer = new Database(src);
    const db = await b.open(src, true, false, 0);
    try {
      const s = new b.VaultScan(db, { base: [], compression: 'zstd', level: 1, threads: 2, maxRestarts: -1, busyTimeoutMs: 0 });
      writer.exec('BEGIN EXCLUSIVE');
      expect(s.maxPackBytes).toBe(32 + (8 << 20) + 16); // header, 8 MiB of raw images, checksum
      expect((await rejection(s.step(Buffer.alloc(s.maxPackBytes - 1)))).code).toBe('SQLITE_MISUSE');
      const out = Buffer.alloc(s.maxPackBytes);
      const busy = await rejection(s.step(out));
      expect(busy.code).toBe('SQLITE_BUSY');
      expect(busy.retryable).toBe(true);
      expect((await rejection(s.finish())).code).toBe('SQLITE_MISUSE');
      writer.exec('COMMIT');
      let step;
      do step = await s.step(out); while (!step.done);
      expect(step.pagesScanned).toBe(step.pageCount);
      expect(step.restarts).toBe(0);
      await s.finish();
      expect((await rejection(s.step(out))).code).toBe('SQLITE_MISUSE');
      await s.close();
    } finally {
      await db.close();
      writer.close();
    }
  });

  it('a damaged base manifest fails the first step with LITEVAULT_VAULT_CORRUPT naming it, and every step after (sticky)', async () => {
    const src = rollbackDb('badbase.db', 4096, 200);
    const full = await scan(src, [], 'backups/app/0000000001.manifest');
    const damaged = Buffer.from(full.manifest);
    damaged[damaged.length - 20]! ^= 1;
    const db = await b.open(src, true, false, 5000);
    try {
      const s = new b.VaultScan(db, { base: [{ manifest: damaged, label: full.label }], compression: 'zstd', level: 1, threads: 2, maxRestarts: -1, busyTimeoutMs: 5000 });
      for (let i = 0; i < 2; i++) {
        const e = await rejection(s.step(Buffer.alloc(s.maxPackBytes)));
        expect(e.code).toBe('LITEVAULT_VAULT_CORRUPT');
        expect(e.message).toContain(full.label);
      }
      await s.close();
    } finally {
      await db.close();
    }
  });

  it('close() mid-scan ends the read transaction: a WAL checkpoint can pass the snapshot again, and the handle closes', async () => {
    const src = fresh('close.db');
    const writer = new Database(src, { timeout: 100 }); // the blocked checkpoint waits 100 ms, not 5 s
    try {
      writer.pragma('journal_mode = WAL');
      writer.pragma('wal_autocheckpoint = 0');
      writer.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
      for (let i = 0; i < 60; i++) writer.exec(fill(600, `c${i}`)); // > 8 MiB: the scan needs several steps
      const db = await b.open(src, true, false, 5000);
      const s = new b.VaultScan(db, { base: [], compression: 'none', level: 1, threads: 0, maxRestarts: -1, busyTimeoutMs: 5000 });
      const first = await s.step(Buffer.alloc(s.maxPackBytes));
      expect(first.done).toBe(false);
      expect(first.mode).toBe('snapshot');
      writer.exec(fill(10, 'after'));
      // The pinned snapshot keeps a TRUNCATE checkpoint from finishing; after close() it can.
      expect(writer.pragma('wal_checkpoint(TRUNCATE)')).toEqual([{ busy: 1, log: expect.any(Number), checkpointed: expect.any(Number) }]);
      await s.close();
      await s.close();
      expect(writer.pragma('wal_checkpoint(TRUNCATE)')).toEqual([{ busy: 0, log: 0, checkpointed: 0 }]);
      await db.close();
    } finally {
      writer.close();
    }
  });
});

describe('manifest codec', () => {
  const table = (runs: number[][], hashes: number): Buffer => {
    const t = Buffer.alloc(4 + 16 * runs.length + 16 * hashes);
    t.writeUInt32LE(runs.length, 0);
    runs.forEach((r, i) => r.forEach((v, j) => t.writeUInt32LE(v, 4 + 16 * i + 4 * j)));
    return t;
  };
  const meta = (extra: object = {}): string =>
    JSON.stringify({ name: 'app', pageSize: 4096, pageCount: 10, packs: [{ key: '0'.repeat(32), bytes: 100, slots: 8 }], ...extra });

  it('encode -> decode round-trips the meta text and counts runs and pages', () => {
    const m = meta({ note: 'ünïcode \u2028' });
    const bytes: Buffer = b.vaultEncodeManifest(m, table([[1, 3, 0, 0], [6, 5, 0, 3]], 8));
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from('4c56 4d41 4e49 0001'.replace(/ /g, ''), 'hex'));
    expect(b.vaultDecodeManifest(bytes, 'x')).toEqual({ meta: m, runs: 2, pages: 8 });
    expect(b.vaultHash(bytes.subarray(0, bytes.length - 16))).toBe(bytes.subarray(bytes.length - 16).toString('hex'));
  });

  it('decode rejects a truncated manifest, a flipped byte and an unknown version, naming the label', async () => {
    const bytes: Buffer = b.vaultEncodeManifest(meta(), table([[1, 3, 0, 0]], 3));
    const label = 'backups/app/0000000001.manifest';
    for (const bad of [bytes.subarray(0, bytes.length - 1), bytes.subarray(0, 10)]) {
      const e = await rejection(() => b.vaultDecodeManifest(bad, label));
      expect(e.code).toBe('LITEVAULT_VAULT_CORRUPT');
      expect(e.message).toContain(label);
      expect(e.retryable).toBe(false);
    }
    for (const at of [12, 20, bytes.length - 40, bytes.length - 1]) {
      const flipped = Buffer.from(bytes);
      flipped[at]! ^= 0x40;
      expect((await rejection(() => b.vaultDecodeManifest(flipped, label))).code).toBe('LITEVAULT_VAULT_CORRUPT');
    }
    const v2 = Buffer.from(bytes);
    v2.writeUInt32LE(2, 8);
    const e = await rejection(() => b.vaultDecodeManifest(v2, label));
    expect(e.code).toBe('LITEVAULT_UNSUPPORTED_FORMAT');
    expect(e.message).toContain('version 2');
  });

  it('encode refuses tables a reader would reject (overlapping runs, the lock-byte page, slots past the pack, a short hash list)', async () => {
    const cases: [string, Buffer][] = [
      [meta(), table([[1, 3, 0, 0], [3, 1, 0, 3]], 4)], // overlap
      [meta(), table([[1, 3, 0, 6]], 3)], // slots 6..8 of 8
      [meta(), table([[9, 3, 0, 0]], 3)], // past pageCount 10
      [meta(), table([[1, 3, 0, 0]], 2)], // hash count
      [meta(), table([[1, 1, 1, 0]], 1)], // no pack 1
      [meta({ pageSize: 65536, pageCount: 20000 }), table([[16380, 10, 0, 0]], 10)], // lock-byte page 16385
      [meta({ pageSize: 1000 }), table([], 0)],
      ['{"pageSize":4096,"pageCount":1}', table([], 0)], // no packs
      ['{"pageSize":4096,"pageCount":1,"packs":[]', table([], 0)], // not JSON
    ];
    for (const [m, t] of cases) expect((await rejection(() => b.vaultEncodeManifest(m, t))).code, m).toBe('SQLITE_MISUSE');
  });
});

describe('damaged packs', () => {
  it('a flipped byte in a pack is LITEVAULT_VAULT_CORRUPT naming the backup and pack; re-checksummed, it names the page; the temporary is removed', async () => {
    const src = rollbackDb('damage.db', 4096, 2000);
    const full = await scan(src, [], 'backups/app/0000000001.manifest', { compression: 'none', threads: 0 });
    const [key, pack] = [...full.packs.entries()][0]!;
    const pageSize = full.meta.pageSize;

    const dest1 = fresh('damaged1.db');
    const flipped = Buffer.from(pack);
    flipped[32 + 5 * pageSize + 100]! ^= 1;
    const e1 = await rejection(restore([full], dest1, () => new Map([[key, flipped]])));
    expect(e1.code).toBe('LITEVAULT_VAULT_CORRUPT');
    expect(e1.message).toContain(`backup ${full.label}: pack ${key}`);
    expect(fs.existsSync(dest1)).toBe(false);

    // The same damage with a consistent checksum (and a manifest naming that key): only the
    // page hash can catch it.
    const body = flipped.subarray(0, flipped.length - 16);
    const newKey: string = b.vaultHash(body);
    const repacked = Buffer.concat([body, Buffer.from(newKey, 'hex')]);
    const meta = { ...full.meta, packs: full.meta.packs.map((p) => (p.key === key ? { ...p, key: newKey } : p)) };
    const decoded = b.vaultDecodeManifest(full.manifest, 'x');
    const tableStart = 16 + Buffer.byteLength(decoded.meta);
    const manifest: Buffer = b.vaultEncodeManifest(JSON.stringify(meta), full.manifest.subarray(tableStart, full.manifest.length - 16));
    const damaged: Backup = { ...full, manifest, meta, packs: new Map([...full.packs].map(([k, v]) => (k === key ? [newKey, repacked] : [k, v]))) };
    const dest2 = fresh('damaged2.db');
    const e2 = await rejection(restore([damaged], dest2));
    expect(e2.code).toBe('LITEVAULT_VAULT_CORRUPT');
    expect(e2.message).toContain(`backup ${full.label}: pack ${newKey}: page 6:`);
    expect(fs.existsSync(dest2)).toBe(false);
  });

  it('a chain with a hole (an incremental whose base lacks pages) is LITEVAULT_VAULT_CORRUPT at construction', async () => {
    const src = rollbackDb('hole.db', 4096, 300);
    const full = await scan(src, [], 'backups/app/0000000001.manifest');
    sqliteShell(src, fill(2000, 'grow'));
    const incr = await scan(src, [full], 'backups/app/0000000002.manifest');
    const e = await rejection(() => new b.VaultRestore(fresh('x.db'), {
      chain: [{ manifest: incr.manifest, label: incr.label }],
      packs: [incr.meta.packs.map((p) => p.key)],
    }));
    expect(e.code).toBe('LITEVAULT_VAULT_CORRUPT');
    expect(e.message).toMatch(/the chain has a hole/);
  });
});

describe('lockFile', () => {
  it('a second lock of the same file is LITEVAULT_BACKUP_IN_PROGRESS (retryable), from this process and from a child; release frees it', async () => {
    const lockPath = path.join(dir, 'app.lock');
    const lock = await b.lockFile(lockPath);
    expect((fs.statSync(lockPath).mode & 0o777).toString(8)).toBe('600');
    const e = await rejection(b.lockFile(lockPath));
    expect(e.code).toBe('LITEVAULT_BACKUP_IN_PROGRESS');
    expect(e.retryable).toBe(true);
    expect(e.message).toBe(`a backup of 'app' is in progress (lock ${lockPath} held)`);

    const child = (): { code?: string; ok?: boolean } => {
      const script = `const { binding } = require(${JSON.stringify(path.join(__dirname, '../dist/binding.js'))});
        binding.lockFile(${JSON.stringify(lockPath)}).then(async (l) => { await l.release(); console.log(JSON.stringify({ ok: true })); },
          (e) => console.log(JSON.stringify({ code: e.code, retryable: e.retryable })));`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    expect(child()).toEqual({ code: 'LITEVAULT_BACKUP_IN_PROGRESS', retryable: true });
    await lock.release();
    await lock.release(); // idempotent
    expect(child()).toEqual({ ok: true });
    const again = await b.lockFile(lockPath);
    await again.release();
  });

  it('a worker thread terminated while holding a lock and a pinned snapshot scan releases both (env cleanup hook)', async () => {
    const lockPath = path.join(dir, 'worker.lock');
    const src = fresh('worker.db');
    const writer = new Database(src, { timeout: 100 });
    try {
      writer.pragma('journal_mode = WAL');
      writer.pragma('wal_autocheckpoint = 0');
      writer.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
      for (let i = 0; i < 60; i++) writer.exec(fill(600, `c${i}`));
      const { Worker } = await import('node:worker_threads');
      const code = `const { parentPort } = require('node:worker_threads');
        const { binding } = require(${JSON.stringify(path.join(__dirname, '../dist/binding.js'))});
        (async () => {
          const lock = await binding.lockFile(${JSON.stringify(lockPath)});
          const db = await binding.open(${JSON.stringify(src)}, true, false, 5000);
          const s = new binding.VaultScan(db, { base: [], compression: 'none', level: 1, threads: 0, maxRestarts: -1, busyTimeoutMs: 5000 });
          const step = await s.step(Buffer.alloc(s.maxPackBytes));
          parentPort.postMessage(step.done ? 'done' : 'pinned');
          setInterval(() => [lock, db, s], 1000); // alive, and so are its handles, until terminate()
        })().catch((e) => parentPort.postMessage(String(e)));`;
      const worker = new Worker(code, { eval: true });
      const message = await new Promise((resolve) => worker.once('message', resolve));
      expect(message).toBe('pinned');
      writer.exec(fill(10, 'after'));
      expect(writer.pragma('wal_checkpoint(TRUNCATE)')).toEqual([{ busy: 1, log: expect.any(Number), checkpointed: expect.any(Number) }]);
      expect((await rejection(b.lockFile(lockPath))).code).toBe('LITEVAULT_BACKUP_IN_PROGRESS');
      await worker.terminate();
      const lock = await b.lockFile(lockPath);
      await lock.release();
      expect(writer.pragma('wal_checkpoint(TRUNCATE)')).toEqual([{ busy: 0, log: 0, checkpointed: 0 }]);
    } finally {
      writer.close();
    }
  });

  it('a child that dies holding the lock (SIGKILL) leaves it free for the next run', async () => {
    const lockPath = path.join(dir, 'killed.lock');
    const script = `const { binding } = require(${JSON.stringify(path.join(__dirname, '../dist/binding.js'))});
      binding.lockFile(${JSON.stringify(lockPath)}).then(() => process.kill(process.pid, 'SIGKILL'));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.signal).toBe('SIGKILL');
    const lock = await b.lockFile(lockPath);
    await lock.release();
  });
});
