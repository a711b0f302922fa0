// Log segments (docs/vault-format.md "Logs"; native/src/vault/log_segment.h) and restore to a
// transaction (VaultRestore.applySegment), with REAL SQLite as the oracle. The records are built
// here, independently of the native code, from page images real SQLite wrote: the frames of a
// WAL better-sqlite3 wrote (one record per commit frame: the newest image of each page, page
// count = the commit frame's nTruncate), and the changed pages of rollback-journal databases
// between versions. Version 1 is backed up into a real directory vault (vault.backup), rebuilt
// by a VaultRestore job fed the vault's own manifest and packs, and the segments applied; the
// result must be byte-identical to the database SQLite itself has at that transaction (after a
// TRUNCATE checkpoint), growing and shrinking, and pass integrity_check. The segment's bytes are
// parsed here as the format says (the trailer is XXH3-128 of the bytes before it, a zstd payload
// decompresses with the zstd CLI to exactly the records). Then damage: every header field, a
// truncated payload, a bad checksum, bad record bounds, non-consecutive txids, a wrong page
// size, a transaction missing between two applySegment calls: each LITEVAULT_VAULT_CORRUPT (or
// UNSUPPORTED_FORMAT for a version) naming the segment, nothing written, and abort() removes the
// temporary.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binding, type NativeVaultRestore } from '../dist/binding.js';
import { Vault } from '../dist/index.js';
import { integrityCheck, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';
import { rejection } from './oracle/expect';

afterAll(removeTmpDirs);
const dir = tmpDir('litevault-log-segment-');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);
const NAME = 'app';

// ---- the format, written out from docs/vault-format.md ------------------------------------
const MAGIC = Buffer.from('4c565345474d0001', 'hex'); // LVSEGM\0\1
const HEADER = 56;

interface Rec {
  txid: number;
  recordedAt: number;
  endFrame: number;
  pageCount: number;
  pages: [number, Buffer][]; // ascending page numbers
}

function recordBytes(r: Rec): Buffer {
  const head = Buffer.alloc(28);
  head.writeBigUInt64LE(BigInt(r.txid), 0);
  head.writeBigInt64LE(BigInt(r.recordedAt), 8);
  head.writeUInt32LE(r.endFrame, 16);
  head.writeUInt32LE(r.pageCount, 20);
  head.writeUInt32LE(r.pages.length, 24);
  const parts = [head];
  for (const [page, image] of r.pages) {
    const p = Buffer.alloc(4);
    p.writeUInt32LE(page, 0);
    parts.push(p, image);
  }
  return Buffer.concat(parts);
}

interface Fields {
  magic?: Buffer;
  version?: number;
  pageSize: number;
  salt1?: number;
  salt2?: number;
  first: number;
  last: number;
  compression?: number;
  reserved?: number;
  payloadLength?: number;
}
// A segment built by hand, with its checksum computed (or `badSum`: left wrong).
function segmentBytes(f: Fields, payload: Buffer, badSum = false): { data: Buffer; key: string } {
  const h = Buffer.alloc(HEADER);
  (f.magic ?? MAGIC).copy(h, 0);
  h.writeUInt32LE(f.version ?? 1, 8);
  h.writeUInt32LE(f.pageSize, 12);
  h.writeUInt32LE(f.salt1 ?? 7, 16);
  h.writeUInt32LE(f.salt2 ?? 9, 20);
  h.writeBigUInt64LE(BigInt(f.first), 24);
  h.writeBigUInt64LE(BigInt(f.last), 32);
  h.writeUInt32LE(f.compression ?? 0, 40);
  h.writeUInt32LE(f.reserved ?? 0, 44);
  h.writeBigUInt64LE(BigInt(f.payloadLength ?? payload.length), 48);
  const body = Buffer.concat([h, payload]);
  const key = binding.vaultHash(body);
  const sum = Buffer.from(key, 'hex');
  if (badSum) sum[0] ^= 1;
  return { data: Buffer.concat([body, sum]), key };
}
// The same object with its trailer recomputed (after a change to its bytes).
function resum(data: Buffer): { data: Buffer; key: string } {
  const body = data.subarray(0, data.length - 16);
  const key = binding.vaultHash(body);
  return { data: Buffer.concat([body, Buffer.from(key, 'hex')]), key };
}

// ---- real SQLite's pages -------------------------------------------------------------------
// The WAL's transactions: frames with the header's salts, cut at commit frames (nTruncate != 0),
// newest image per page.
function walTransactions(wal: Buffer): { endFrame: number; pageCount: number; pages: Map<number, Buffer> }[] {
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  const out: { endFrame: number; pageCount: number; pages: Map<number, Buffer> }[] = [];
  let pages = new Map<number, Buffer>();
  for (let frame = 1, at = 32; at + 24 + pageSize <= wal.length; frame++, at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    pages.set(wal.readUInt32BE(at), Buffer.from(wal.subarray(at + 24, at + 24 + pageSize)));
    const nTruncate = wal.readUInt32BE(at + 4);
    if (nTruncate !== 0) {
      out.push({ endFrame: frame, pageCount: nTruncate, pages });
      pages = new Map();
    }
  }
  return out;
}

const sortedPages = (m: Map<number, Buffer>): [number, Buffer][] => [...m.entries()].sort((a, b) => a[0] - b[0]);

// Pages 1..count(b) of b whose image differs from a's (a page past a's end always differs).
function changedPages(a: Buffer, b: Buffer, pageSize: number): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  for (let p = 1; p * pageSize <= b.length; p++) {
    const img = b.subarray((p - 1) * pageSize, p * pageSize);
    if (p * pageSize > a.length || !img.equals(a.subarray((p - 1) * pageSize, p * pageSize))) out.push([p, Buffer.from(img)]);
  }
  return out;
}

// ---- the vault and the restore job ---------------------------------------------------------
// Backs up `db` (its only backup: a full one) into a new directory vault; returns the vault's path.
async function backupInto(db: string): Promise<string> {
  const vaultDir = fresh('vault');
  const v = await Vault.open(vaultDir, { create: true });
  await v.backup(db, { name: NAME, type: 'full' });
  return vaultDir;
}

// A VaultRestore job over the vault's newest backup (a full one), every pack written.
async function rebuilt(vaultDir: string, temp: string): Promise<NativeVaultRestore> {
  const mdir = path.join(vaultDir, 'backups', NAME);
  const manifests = fs.readdirSync(mdir).sort();
  const label = `backups/${NAME}/${manifests.at(-1)}`;
  const manifest = fs.readFileSync(path.join(vaultDir, label));
  const meta = JSON.parse(binding.vaultDecodeManifest(manifest, label).meta) as { type: string; packs: { key: string }[] };
  expect(meta.type).toBe('full');
  const job = new binding.VaultRestore(temp, { chain: [{ manifest, label }], packs: [meta.packs.map((p) => p.key)] });
  await job.open();
  for (const p of job.packsNeeded) {
    await job.writePack(p.link, p.pack, fs.readFileSync(path.join(vaultDir, 'packs', NAME, p.key.slice(0, 2), `${p.key}.pack`)));
  }
  return job;
}

function zstdDecompress(payload: Buffer): Buffer {
  return execFileSync('zstd', ['-d', '-c', '-q'], { input: payload, maxBuffer: 1 << 28 });
}

// A copy of `file` for SQLite to open (it may add -wal/-shm beside it), so the original stays as compared.
function checkCopy(file: string): string {
  const copy = fresh('check.db');
  fs.copyFileSync(file, copy);
  return copy;
}

// ---- a WAL database: real frames ------------------------------------------------------------
describe('restore to a transaction from real WAL frames', () => {
  let v1: Buffer;
  let vaultDir: string;
  let txs: ReturnType<typeof walTransactions>;
  let finalDb: Buffer;
  const content: string[] = []; // count and total size of t after each transaction (1-based txid)
  const recs: Rec[] = [];

  beforeAll(async () => {
    const db = fresh('wal.db');
    const d = new Database(db);
    d.pragma('journal_mode = WAL');
    d.pragma('wal_autocheckpoint = 0');
    d.exec('CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB); CREATE INDEX tv ON t(v)');
    const ins = d.prepare('INSERT INTO t(v) VALUES (randomblob(?))');
    d.transaction(() => {
      for (let i = 0; i < 400; i++) ins.run(200 + (i % 7) * 100);
    })();
    d.pragma('wal_checkpoint(TRUNCATE)');
    d.close();
    v1 = fs.readFileSync(db);
    vaultDir = await backupInto(db);

    const w = new Database(db);
    w.pragma('wal_autocheckpoint = 0');
    const state = (): string => JSON.stringify(w.prepare('SELECT count(*) AS c, sum(length(v)) AS s FROM t').get());
    const steps: (() => void)[] = [
      () => w.exec(`BEGIN; ${'INSERT INTO t(v) VALUES (randomblob(900));'.repeat(300)} COMMIT`), // grows
      () => w.exec('UPDATE t SET v = randomblob(150) WHERE k % 5 = 0'),
      () => w.exec('DELETE FROM t WHERE k % 3 <> 0'), // pages go to the freelist
      () => w.exec('VACUUM'), // shrinks: nTruncate < the file's pages
      () => w.exec('INSERT INTO t(v) VALUES (randomblob(3000))'), // an overflow chain
    ];
    for (const step of steps) {
      step();
      content.push(state());
    }
    const wal = fs.readFileSync(db + '-wal');
    txs = walTransactions(wal);
    expect(txs.length).toBe(steps.length);
    w.pragma('wal_checkpoint(TRUNCATE)');
    w.close();
    finalDb = fs.readFileSync(db);
    const pageSize = v1.readUInt16BE(16);
    expect(finalDb.length).toBe(txs.at(-1)!.pageCount * pageSize);
    expect(txs[3]!.pageCount).toBeLessThan(txs[2]!.pageCount); // the VACUUM shrank it
    expect(txs[0]!.pageCount * pageSize).toBeGreaterThan(v1.length); // the first grew it
    txs.forEach((t, i) => recs.push({ txid: i + 1, recordedAt: 1764700000000 + i, endFrame: t.endFrame, pageCount: t.pageCount, pages: sortedPages(t.pages) }));
  });

  it('encodes the records as the format says; inspect reads them back', async () => {
    const records = recs.slice(0, 3).map(recordBytes);
    const seg = await binding.encodeLogSegment({ pageSize: 4096, salt1: 11, salt2: 4000000000, firstTxid: 1, lastTxid: 3, compression: 'zstd', level: 3 }, records);
    const d = seg.data;
    expect(d.subarray(0, 8)).toEqual(MAGIC);
    expect(d.readUInt32LE(8)).toBe(1);
    expect(d.readUInt32LE(12)).toBe(4096);
    expect([d.readUInt32LE(16), d.readUInt32LE(20)]).toEqual([11, 4000000000]);
    expect([Number(d.readBigUInt64LE(24)), Number(d.readBigUInt64LE(32))]).toEqual([1, 3]);
    expect(d.readUInt32LE(40)).toBe(1); // zstd: page images of a random-blob table still shrink (headers, free space)
    expect(d.readUInt32LE(44)).toBe(0);
    const payloadLength = Number(d.readBigUInt64LE(48));
    expect(d.length).toBe(HEADER + payloadLength + 16);
    expect(seg.key).toBe(d.subarray(d.length - 16).toString('hex'));
    expect(binding.vaultHash(d.subarray(0, d.length - 16))).toBe(seg.key);
    expect(zstdDecompress(d.subarray(HEADER, HEADER + payloadLength)).equals(Buffer.concat(records))).toBe(true);

    const info = await binding.inspectLogSegment(d, seg.key);
    expect(info).toMatchObject({ pageSize: 4096, salt1: 11, salt2: 4000000000, firstTxid: 1, lastTxid: 3, compression: 'zstd' });
    expect(info.records).toEqual(recs.slice(0, 3).map((r) => ({ txid: r.txid, recordedAt: r.recordedAt, endFrame: r.endFrame, pageCount: r.pageCount, pages: r.pages.length })));

    // 'none' stores the records as they are; so does zstd when it cannot shrink them (random pages).
    const raw = await binding.encodeLogSegment({ pageSize: 4096, salt1: 0, salt2: 0, firstTxid: 1, lastTxid: 3, compression: 'none', level: 1 }, [Buffer.concat(records)]);
    expect(raw.data.readUInt32LE(40)).toBe(0);
    expect(raw.data.subarray(HEADER, raw.data.length - 16).equals(Buffer.concat(records))).toBe(true);
    const noise = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(Math.random() * 256)));
    const incompressible = await binding.encodeLogSegment({ pageSize: 4096, salt1: 0, salt2: 0, firstTxid: 9, lastTxid: 9, compression: 'zstd', level: 19 },
      [recordBytes({ txid: 9, recordedAt: -5, endFrame: 1, pageCount: 3, pages: [[2, noise]] })]);
    expect(incompressible.data.readUInt32LE(40)).toBe(0);
    expect((await binding.inspectLogSegment(incompressible.data, incompressible.key)).records[0]!.recordedAt).toBe(-5);
  });

  it('the backup alone rebuilds version 1 exactly', async () => {
    const temp = fresh('v1.db');
    const job = await rebuilt(vaultDir, temp);
    await job.finish();
    expect(fs.readFileSync(temp).equals(v1)).toBe(true);
  });

  it('applying every transaction (two segments) gives the database SQLite has, byte for byte', async () => {
    const a = await binding.encodeLogSegment({ pageSize: 4096, salt1: 1, salt2: 2, firstTxid: 1, lastTxid: 3, compression: 'zstd', level: 1 }, recs.slice(0, 3).map(recordBytes));
    const b = await binding.encodeLogSegment({ pageSize: 4096, salt1: 1, salt2: 2, firstTxid: 4, lastTxid: 5, compression: 'none', level: 1 }, recs.slice(3).map(recordBytes));
    const temp = fresh('final.db');
    const job = await rebuilt(vaultDir, temp);
    expect(await job.applySegment(a.data, a.key, 0, 5)).toEqual({ transactions: 3, firstTxid: 1, lastTxid: 3, pageCount: recs[2]!.pageCount });
    expect(job.pageCount).toBe(recs[2]!.pageCount);
    expect(await job.applySegment(b.data, b.key, 0, 5)).toEqual({ transactions: 2, firstTxid: 4, lastTxid: 5, pageCount: recs[4]!.pageCount });
    expect(job.pageCount).toBe(recs[4]!.pageCount);
    await job.finish();
    const got = fs.readFileSync(temp);
    expect(got.length).toBe(finalDb.length);
    expect(got.equals(finalDb)).toBe(true);
    const copy = checkCopy(temp);
    expect(integrityCheck(copy)).toBe('ok');
    expect(sqliteShell(copy, 'SELECT json_object(\'c\', count(*), \'s\', sum(length(v))) FROM t;').trim()).toBe(content[4]);
  });

  for (const upto of [1, 2, 3, 4]) {
    it(`restores to txid ${upto} (the records after it are left out)`, async () => {
      const all = await binding.encodeLogSegment({ pageSize: 4096, salt1: 1, salt2: 2, firstTxid: 1, lastTxid: 5, compression: 'zstd', level: 1 }, recs.map(recordBytes));
      const temp = fresh(`upto-${upto}.db`);
      const job = await rebuilt(vaultDir, temp);
      expect(await job.applySegment(all.data, all.key, 0, upto)).toEqual({ transactions: upto, firstTxid: 1, lastTxid: upto, pageCount: recs[upto - 1]!.pageCount });
      await job.finish();
      expect(fs.statSync(temp).size).toBe(recs[upto - 1]!.pageCount * 4096);
      const copy = checkCopy(temp);
      expect(integrityCheck(copy)).toBe('ok');
      expect(sqliteShell(copy, 'SELECT json_object(\'c\', count(*), \'s\', sum(length(v))) FROM t;').trim()).toBe(content[upto - 1]);
    });
  }

  it('from an anchor after txid 2: only (2, upto] is applied, and it must start at 3', async () => {
    const all = await binding.encodeLogSegment({ pageSize: 4096, salt1: 1, salt2: 2, firstTxid: 1, lastTxid: 5, compression: 'zstd', level: 1 }, recs.map(recordBytes));
    const later = await binding.encodeLogSegment({ pageSize: 4096, salt1: 1, salt2: 2, firstTxid: 4, lastTxid: 5, compression: 'zstd', level: 1 }, recs.slice(3).map(recordBytes));
    // A backup of version 1 standing as txid 2 is not the state after 2, but the cut is what is judged here.
    const temp = fresh('anchor.db');
    const job = await rebuilt(vaultDir, temp);
    expect(await job.applySegment(all.data, all.key, 2, 4)).toMatchObject({ transactions: 2, firstTxid: 3, lastTxid: 4 });
    const e = await rejection(job.applySegment(later.data, later.key, 2, 5));
    expect(e.code).toBe('LITEVAULT_VAULT_CORRUPT');
    expect(e.message).toContain(`segment ${later.key}: transaction 4 was already applied`);
    expect(await job.applySegment(all.data, all.key, 4, 5)).toMatchObject({ transactions: 1, firstTxid: 5, lastTxid: 5 });
    // Nothing in range: nothing applied, nothing changes.
    expect(await job.applySegment(all.data, all.key, 5, 9)).toEqual({ transactions: 0, firstTxid: 0, lastTxid: 0, pageCount: recs[4]!.pageCount });
    await job.abort();
    expect(fs.existsSync(temp)).toBe(false);
  });

  it('a transaction missing between two applySegment calls is LITEVAULT_VAULT_CORRUPT; nothing written; abort removes the temporary', async () => {
    const a = await binding.encodeLogSegment({ pageSize: 4096, salt1: 1, salt2: 2, firstTxid: 1, lastTxid: 2, compression: 'zstd', level: 1 }, recs.slice(0, 2).map(recordBytes));
    const c = await binding.encodeLogSegment({ pageSize: 4096, salt1: 1, salt2: 2, firstTxid: 4, lastTxid: 5, compression: 'zstd', level: 1 }, recs.slice(3).map(recordBytes));
    const temp = fresh('missing.db');
    const job = await rebuilt(vaultDir, temp);
    // The first call must start right after the anchor.
    let e = await rejection(job.applySegment(c.data, c.key, 0, 5));
    expect(e.code).toBe('LITEVAULT_VAULT_CORRUPT');
    expect(e.message).toContain(`segment ${c.key}: transaction 1 missing`);
    expect(job.pageCount).toBe(v1.length / 4096);
    await job.applySegment(a.data, a.key, 0, 5);
    const before = fs.readFileSync(temp);
    e = await rejection(job.applySegment(c.data, c.key, 0, 5));
    expect(e.code).toBe('LITEVAULT_VAULT_CORRUPT');
    expect(e.message).toContain(`segment ${c.key}: transaction 3 missing`);
    expect(fs.readFileSync(temp).equals(before)).toBe(true);
    expect(job.pageCount).toBe(recs[1]!.pageCount);
    await job.abort();
    expect(fs.existsSync(temp)).toBe(false);
    expect(fs.readdirSync(path.dirname(temp)).filter((f) => f.startsWith(path.basename(temp)))).toEqual([]);
  });

  it('a segment of another page size is LITEVAULT_VAULT_CORRUPT; applySegment needs every pack written first', async () => {
    const img = Buffer.alloc(1024, 1);
    const other = await binding.encodeLogSegment({ pageSize: 1024, salt1: 0, salt2: 0, firstTxid: 1, lastTxid: 1, compression: 'none', level: 1 },
      [recordBytes({ txid: 1, recordedAt: 0, endFrame: 1, pageCount: 2, pages: [[2, img]] })]);
    const temp = fresh('pagesize.db');
    const job = await rebuilt(vaultDir, temp);
    const e = await rejection(job.applySegment(other.data, other.key, 0, 1));
    expect(e.code).toBe('LITEVAULT_VAULT_CORRUPT');
    expect(e.message).toContain(`segment ${other.key}: page size 1024, the backup's is 4096`);
    await job.finish(); // the failed call changed nothing
    expect(fs.readFileSync(temp).equals(v1)).toBe(true);

    const early = new binding.VaultRestore(fresh('early.db'), (() => {
      const label = `backups/${NAME}/${fs.readdirSync(path.join(vaultDir, 'backups', NAME))[0]}`;
      const manifest = fs.readFileSync(path.join(vaultDir, label));
      const meta = JSON.parse(binding.vaultDecodeManifest(manifest, label).meta) as { packs: { key: string }[] };
      return { chain: [{ manifest, label }], packs: [meta.packs.map((p) => p.key)] };
    })());
    const seg = await binding.encodeLogSegment({ pageSize: 4096, salt1: 1, salt2: 2, firstTxid: 1, lastTxid: 1, compression: 'zstd', level: 1 }, [recordBytes(recs[0]!)]);
    expect((await rejection(early.applySegment(seg.data, seg.key, 0, 1))).code).toBe('SQLITE_MISUSE'); // before open()
    await early.open();
    expect((await rejection(early.applySegment(seg.data, seg.key, 0, 1))).message).toContain('was not written yet');
    await early.abort();
    expect((await rejection(early.applySegment(seg.data, 'zz', 0, 1))).code).toBe('SQLITE_MISUSE');
  });
});

// ---- rollback-journal databases: the changed pages of each version ---------------------------
describe('restore to a transaction from the changed pages of real rollback-journal versions', () => {
  it('shrinks (DELETE + VACUUM) and grows again, byte for byte at each transaction', async () => {
    const db = fresh('rollback.db');
    const d = new Database(db);
    d.pragma('page_size = 1024');
    d.pragma('journal_mode = DELETE');
    d.exec('CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)');
    const ins = d.prepare('INSERT INTO t(v) VALUES (?)');
    d.transaction(() => {
      for (let i = 0; i < 600; i++) ins.run(`row ${i} `.repeat(20));
    })();
    const v1 = fs.readFileSync(db);
    const vaultDir = await backupInto(db);
    d.exec('DELETE FROM t WHERE k > 100; VACUUM');
    const v2 = fs.readFileSync(db);
    d.transaction(() => {
      for (let i = 0; i < 500; i++) ins.run(`new ${i} `.repeat(30));
    })();
    d.close();
    const v3 = fs.readFileSync(db);
    expect(v2.length).toBeLessThan(v1.length);
    expect(v3.length).toBeGreaterThan(v1.length);
    const r1: Rec = { txid: 41, recordedAt: 1, endFrame: 0, pageCount: v2.length / 1024, pages: changedPages(v1, v2, 1024) };
    const r2: Rec = { txid: 42, recordedAt: 2, endFrame: 0, pageCount: v3.length / 1024, pages: changedPages(v2, v3, 1024) };
    const seg = await binding.encodeLogSegment({ pageSize: 1024, salt1: 0, salt2: 0, firstTxid: 41, lastTxid: 42, compression: 'zstd', level: -1 }, [recordBytes(r1), recordBytes(r2)]);
    for (const [upto, want] of [[41, v2], [42, v3]] as const) {
      const temp = fresh(`rb-${upto}.db`);
      const job = await rebuilt(vaultDir, temp);
      expect(job.pageCount).toBe(v1.length / 1024);
      expect(await job.applySegment(seg.data, seg.key, 40, upto)).toMatchObject({ transactions: upto - 40, lastTxid: upto, pageCount: want.length / 1024 });
      await job.finish();
      expect(fs.readFileSync(temp).equals(want)).toBe(true);
      expect(integrityCheck(checkCopy(temp))).toBe('ok');
    }
  });
});

// ---- the apply rules real SQLite does not reach in these runs -------------------------------
describe('applySegment edge rules', () => {
  it('skips pages past a record\'s page count and keeps no bytes of pages a shrink gave up', async () => {
    const PS = 512;
    const db = fresh('edge.db');
    sqliteShell(db, `PRAGMA page_size=${PS}; CREATE TABLE t(x); INSERT INTO t VALUES (randomblob(3000));`);
    const v1 = fs.readFileSync(db);
    const pages = v1.length / PS;
    const vaultDir = await backupInto(db);
    const img = (fill: number): Buffer => Buffer.alloc(PS, fill);
    const recs: Rec[] = [
      // A spilled image of a page the commit cut off (past its page count): never written.
      { txid: 1, recordedAt: 0, endFrame: 2, pageCount: pages, pages: [[2, img(0xa1)], [pages + 3, img(0xa2)]] },
      // Shrinks by one: the last page's bytes go.
      { txid: 2, recordedAt: 0, endFrame: 3, pageCount: pages - 1, pages: [[2, img(0xb1)]] },
      // Grows by four, writing only the first new page.
      { txid: 3, recordedAt: 0, endFrame: 4, pageCount: pages + 3, pages: [[pages + 1, img(0xc1)]] },
    ];
    const seg = await binding.encodeLogSegment({ pageSize: PS, salt1: 0, salt2: 0, firstTxid: 1, lastTxid: 3, compression: 'none', level: 1 }, recs.map(recordBytes));
    const temp = fresh('edge-restored.db');
    const job = await rebuilt(vaultDir, temp);
    expect(await job.applySegment(seg.data, seg.key, 0, 3)).toMatchObject({ transactions: 3, pageCount: pages + 3 });
    await job.finish();
    const got = fs.readFileSync(temp);
    expect(got.length).toBe((pages + 3) * PS);
    const at = (p: number): Buffer => got.subarray((p - 1) * PS, p * PS);
    expect(at(1).equals(v1.subarray(0, PS))).toBe(true);
    expect(at(2).equals(img(0xb1))).toBe(true);
    expect(at(pages).equals(img(0))).toBe(true); // given up by txid 2, not written again
    expect(at(pages + 1).equals(img(0xc1))).toBe(true);
    expect(at(pages + 2).equals(img(0))).toBe(true);
    expect(at(pages + 3).equals(img(0))).toBe(true); // txid 1's image past its page count
  });
});

// ---- damage -----------------------------------------------------------------------------------
describe('a damaged or malformed segment is LITEVAULT_VAULT_CORRUPT naming it', () => {
  const PS = 512;
  const page = (fill: number): Buffer => Buffer.alloc(PS, fill);
  const goodRecs: Rec[] = [
    { txid: 5, recordedAt: 100, endFrame: 3, pageCount: 4, pages: [[1, page(1)], [3, page(3)]] },
    { txid: 6, recordedAt: 101, endFrame: 4, pageCount: 4, pages: [[2, page(2)]] },
  ];
  const payload = Buffer.concat(goodRecs.map(recordBytes));
  const base: Fields = { pageSize: PS, first: 5, last: 6 };

  async function corrupt(seg: { data: Buffer; key: string }, what: string, code = 'LITEVAULT_VAULT_CORRUPT'): Promise<void> {
    const e = await rejection(binding.inspectLogSegment(seg.data, seg.key));
    expect(e.code, `${what}: ${e.message}`).toBe(code);
    expect(e.message).toContain(`segment ${seg.key}: `);
    expect(e.message).toContain(what);
  }

  it('the hand-built segment is valid (so each case below fails for its one change)', async () => {
    const seg = segmentBytes(base, payload);
    const info = await binding.inspectLogSegment(seg.data, seg.key);
    expect(info.records.map((r) => [r.txid, r.pages, r.pageCount])).toEqual([[5, 2, 4], [6, 1, 4]]);
    // Salts are the generation's, any value: not a check.
    await binding.inspectLogSegment(segmentBytes({ ...base, salt1: 0xffffffff, salt2: 0 }, payload).data, segmentBytes({ ...base, salt1: 0xffffffff, salt2: 0 }, payload).key);
  });

  it('every header field', async () => {
    await corrupt(segmentBytes({ ...base, magic: Buffer.from('LVSEGM\0\x02') }, payload), 'bad magic');
    await corrupt(segmentBytes({ ...base, magic: Buffer.from('LVPACK\0\x01') }, payload), 'bad magic');
    await corrupt(segmentBytes({ ...base, version: 2 }, payload), 'segment format version 2', 'LITEVAULT_UNSUPPORTED_FORMAT');
    for (const ps of [0, 256, 1000, 131072]) await corrupt(segmentBytes({ ...base, pageSize: ps }, payload), `page size ${ps}`);
    await corrupt(segmentBytes({ ...base, pageSize: 1024 }, payload), 'run past the end'); // the records read with 1024-byte pages
    await corrupt(segmentBytes({ ...base, first: 0, last: 6 }, payload), 'txids 0..6');
    await corrupt(segmentBytes({ ...base, first: 6, last: 5 }, payload), 'txids 6..5');
    await corrupt(segmentBytes({ ...base, first: 5, last: 2 ** 53 }, payload), 'txids 5..');
    await corrupt(segmentBytes({ ...base, first: 4, last: 6 }, payload), 'record 0 has txid 5, expected 4');
    await corrupt(segmentBytes({ ...base, last: 7 }, payload), 'the records end before txid 7');
    await corrupt(segmentBytes({ ...base, last: 5 }, payload), 'bytes after the last record (txid 5)');
    await corrupt(segmentBytes({ ...base, compression: 2 }, payload), 'unknown compression 2');
    await corrupt(segmentBytes({ ...base, compression: 1 }, payload), 'not a zstd frame');
    await corrupt(segmentBytes({ ...base, reserved: 1 }, payload), 'reserved field 1');
    await corrupt(segmentBytes({ ...base, payloadLength: payload.length - 1 }, payload), 'payload length');
    await corrupt(segmentBytes({ ...base, payloadLength: payload.length + 1 }, payload), 'payload length');
  });

  it('a truncated object, a bad checksum, the wrong key', async () => {
    const seg = segmentBytes(base, payload);
    await corrupt({ data: seg.data.subarray(0, seg.data.length - 100), key: seg.key }, 'checksum mismatch');
    await corrupt({ data: seg.data.subarray(0, 60), key: seg.key }, 'truncated segment (60 bytes)');
    await corrupt(segmentBytes(base, payload, true), 'checksum mismatch');
    const flipped = Buffer.from(seg.data);
    flipped[HEADER + 40] ^= 0x10;
    await corrupt({ data: flipped, key: seg.key }, 'checksum mismatch');
    const other = segmentBytes({ ...base, salt1: 1 }, payload);
    const e = await rejection(binding.inspectLogSegment(other.data, seg.key));
    expect(e.code).toBe('LITEVAULT_VAULT_CORRUPT');
    expect(e.message).toContain(`segment ${seg.key}: the object's checksum ${other.key} is not its key`);
  });

  it('a truncated payload (its length and checksum made consistent)', async () => {
    await corrupt(segmentBytes(base, payload.subarray(0, payload.length - 1)), 'run past the end of the records');
    await corrupt(segmentBytes(base, payload.subarray(0, recordBytes(goodRecs[0]!).length + 10)), 'record 1 (txid 6) is truncated (10 bytes left)');
    await corrupt(segmentBytes(base, Buffer.alloc(0)), 'the records end before txid 5');
  });

  it('a zstd payload that is not exactly one frame of the records', async () => {
    const good = await binding.encodeLogSegment({ pageSize: PS, salt1: 7, salt2: 9, firstTxid: 5, lastTxid: 6, compression: 'zstd', level: 1 }, [payload]);
    expect(good.data.readUInt32LE(40)).toBe(1);
    const frame = good.data.subarray(HEADER, good.data.length - 16);
    await corrupt(segmentBytes({ ...base, compression: 1 }, Buffer.concat([frame, Buffer.from([0])])), 'not exactly one zstd frame');
    await corrupt(segmentBytes({ ...base, compression: 1 }, Buffer.concat([frame, frame])), 'not exactly one zstd frame');
    await corrupt(segmentBytes({ ...base, compression: 1 }, frame.subarray(0, frame.length - 3)), 'zstd');
    // A frame of other records: the checks run on what it decompresses to.
    const shorter = await binding.encodeLogSegment({ pageSize: PS, salt1: 7, salt2: 9, firstTxid: 5, lastTxid: 5, compression: 'zstd', level: 1 }, [recordBytes(goodRecs[0]!)]);
    await corrupt(segmentBytes({ ...base, compression: 1 }, shorter.data.subarray(HEADER, shorter.data.length - 16)), 'the records end before txid 6');
  });

  it('bad record bounds and contents', async () => {
    const rec = (r: Partial<Rec>): Buffer => recordBytes({ ...goodRecs[1]!, ...r });
    const first = recordBytes(goodRecs[0]!);
    const cases: [Buffer, string][] = [
      [rec({ pageCount: 0 }), 'record 1 (txid 6) has page count 0'],
      [rec({ pages: [] }), 'record 1 (txid 6) has no pages'],
      [rec({ pages: [[0, page(0)]] }), 'names page 0'],
      [rec({ pages: [[3, page(3)], [2, page(2)]] }), 'page 2 after page 3'],
      [rec({ pages: [[2, page(2)], [2, page(2)]] }), 'page 2 after page 2'],
      [rec({ pages: [[2 ** 30 / PS + 1, page(9)]], pageCount: 2 ** 30 / PS + 5 }), `the lock-byte page ${2 ** 30 / PS + 1}`],
      [rec({ txid: 8 }), 'record 1 has txid 8, expected 6'],
      [rec({ txid: 5 }), 'record 1 has txid 5, expected 6'],
    ];
    for (const [second, what] of cases) await corrupt(segmentBytes(base, Buffer.concat([first, second])), what);
    // k larger than the bytes present.
    const big = rec({});
    big.writeUInt32LE(3, 24);
    await corrupt(segmentBytes(base, Buffer.concat([first, big])), 'record 1 (txid 6): 3 pages of 512 bytes run past the end');
    big.writeUInt32LE(0xffffffff, 24);
    await corrupt(segmentBytes(base, Buffer.concat([first, big])), 'run past the end');
    // A page past the record's page count is allowed (a spilled frame the commit cut off).
    const past = segmentBytes(base, Buffer.concat([first, rec({ pages: [[2, page(2)], [9, page(9)]] })]));
    expect((await binding.inspectLogSegment(past.data, past.key)).records[1]!.pages).toBe(2);
  });

  it('encodeLogSegment refuses records a reader would refuse (SQLITE_MISUSE)', async () => {
    const h = { pageSize: PS, salt1: 0, salt2: 0, firstTxid: 5, lastTxid: 6, compression: 'zstd' as const, level: 1 };
    const cases: [Parameters<typeof binding.encodeLogSegment>[0], Buffer[], string][] = [
      [h, [recordBytes(goodRecs[0]!)], 'the records end before txid 6'],
      [{ ...h, firstTxid: 6 }, [payload], 'expected 6'],
      [{ ...h, pageSize: 1024 }, [payload], 'run past the end'],
      [{ ...h, pageSize: 1000 }, [payload], 'page size 1000'],
      [{ ...h, lastTxid: 4 }, [payload], 'txids 5..4'],
      [h, [payload.subarray(0, 100), payload.subarray(101)], 'record 1 has txid'],
      [h, [recordBytes(goodRecs[0]!), recordBytes({ ...goodRecs[1]!, pages: [[2 ** 21 + 1, page(1)]], pageCount: 2 ** 22 })], 'lock-byte page 2097153'],
    ];
    for (const [header, records, what] of cases) {
      const e = await rejection(binding.encodeLogSegment(header, records));
      expect(e.code, e.message).toBe('SQLITE_MISUSE');
      expect(e.message).toContain(what);
    }
    // Records may come split at record boundaries, in any number of buffers.
    const split = await binding.encodeLogSegment(h, [recordBytes(goodRecs[0]!), Buffer.alloc(0), recordBytes(goodRecs[1]!)]);
    const whole = await binding.encodeLogSegment(h, [payload]);
    expect(split.key).toBe(whole.key);
    expect(split.data.equals(whole.data)).toBe(true);
    for (const bad of [{ ...h, compression: 'lz4' }, { ...h, firstTxid: 0 }, { ...h, lastTxid: 2 ** 53 }, { ...h, level: 23 }]) {
      expect((await rejection(binding.encodeLogSegment(bad as typeof h, [payload]))).code).toBe('SQLITE_MISUSE');
    }
    expect((await rejection(binding.inspectLogSegment(whole.data, whole.key.slice(1)))).code).toBe('SQLITE_MISUSE');
  });

  it('a damaged segment given to applySegment: nothing written, abort removes the temporary', async () => {
    // A one-page-size-512 database made by SQLite, backed up, then a damaged segment.
    const db = fresh('small.db');
    sqliteShell(db, `PRAGMA page_size=${PS}; CREATE TABLE t(x); INSERT INTO t VALUES (randomblob(2000));`);
    const v1 = fs.readFileSync(db);
    const vaultDir = await backupInto(db);
    const temp = fresh('damaged.db');
    const job = await rebuilt(vaultDir, temp);
    const seg = segmentBytes(base, payload);
    const damaged = Buffer.from(seg.data);
    damaged[HEADER + 100] ^= 1;
    let e = await rejection(job.applySegment(damaged, seg.key, 4, 6));
    expect(e.code).toBe('LITEVAULT_VAULT_CORRUPT');
    expect(e.message).toContain(`segment ${seg.key}: checksum mismatch`);
    const bounds = resum(Buffer.concat([seg.data.subarray(0, HEADER + 24), Buffer.from([9, 9, 9, 9]), seg.data.subarray(HEADER + 28)]));
    e = await rejection(job.applySegment(bounds.data, bounds.key, 4, 6));
    expect(e.code).toBe('LITEVAULT_VAULT_CORRUPT');
    expect(e.message).toContain(`segment ${bounds.key}: record 0 (txid 5)`);
    expect(job.pageCount).toBe(v1.length / PS);
    expect(fs.readFileSync(temp).subarray(0, v1.length).equals(v1)).toBe(true);
    await job.abort();
    expect(fs.existsSync(temp)).toBe(false);
  });
});
