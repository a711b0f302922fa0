// Vault backup chains against real SQLite (the chain itself: test/oracle/vault-chain.ts), over the corpus (every page size, auto_vacuum modes,
// reserved bytes, encodings, WAL with and without frames, the rollback journal modes): for each
// database a chain full -> incremental -> differential -> incremental -> incremental, with
// real-SQLite writes between the backups touching ~0.1%, ~1% and ~30% of the pages (updates,
// inserts, deletes) and then a VACUUM, and for rollback sources a page-size change
// (PRAGMA page_size + VACUUM: an incremental is LITEVAULT_BASE_MISMATCH, with fallbackToFull a
// full is taken). After every vault backup SQLite's own `.backup` of the source is taken as the
// reference (nothing writes in between); at the end EVERY backup is restored to a new path and
// must equal its reference byte for byte outside the header fields SQLite's backup sets per
// destination (24..27, 40..43, 92..99), pass integrity_check and give the same .dump. An
// incremental stores exactly the pages whose image differs from its base's (computed from the
// references), a differential those that differ from the full. Every input file is
// byte-identical after every backup. Plus: restore --overwrite onto a database a better-sqlite3
// connection has open, restore onto an existing file without overwrite (LITEVAULT_EXISTS),
// incremental without a full (LITEVAULT_NO_FULL_BACKUP), another database under the same name
// (LITEVAULT_BASE_MISMATCH).
// All of it runs, from this same code, against a vault in a local directory and against one on
// object storage (a prefix in a bucket of a real S3-protocol server, moto_server on loopback).
import Sqlite from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Vault } from '../dist/index.js';
import { corpusSpecs, createDatabase, type CorpusEntry } from './oracle/corpus';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';
import { rejection } from './oracle/expect';
import { chain, differingBytes, sha, sqliteBackup } from './oracle/vault-chain';
import { stopMoto } from './oracle/moto';
import { STORAGE_KINDS, vaultPlace, type VaultPlace } from './oracle/vault-places';

afterAll(removeTmpDirs);
afterAll(stopMoto);
const dir = tmpDir('litevault-vault-chains-');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);

describe.each(STORAGE_KINDS)('%s vault: chains over the corpus equal SQLite\'s own .backup at every snapshot', (kind) => {
  let place: VaultPlace;
  let vault: Vault;
  // Every corpus entry except the 0-byte file (tested on its own below), plus a larger WAL
  // database with frames left in its -wal, so WAL sources are also covered at ~2000 pages.
  // The sanitizer run (scripts/test-asan.sh) takes one of each kind: the code paths are the same,
  // and the plain run covers the whole corpus.
  const SANITIZER_SUBSET = new Set(['page-size-512', 'page-size-65536', 'auto-vacuum-full', 'reserved-8', 'wal-frames', 'journal-persist', 'combined']);
  const entries: CorpusEntry[] = [
    ...corpusSpecs().filter((e) => e.spec.empty !== true && (process.env.LITEVAULT_SANITIZED !== '1' || SANITIZER_SUBSET.has(e.name))),
    { name: 'wal-frames-8mib', spec: { journalMode: 'wal', keepWal: true, targetBytes: 8 * 1024 * 1024, overflow: true } },
  ];

  it('Vault.open({create}) makes the vault (a directory: 0700) with litevault-vault.json (a directory: 0600)', async () => {
    place = await vaultPlace(kind, fresh('vault'));
    vault = await Vault.open(place.location, { ...place.options, create: true });
    expect(vault.location).toBe(place.location);
    expect(await place.keys()).toEqual(['litevault-vault.json']);
    const id = JSON.parse((await place.read('litevault-vault.json')).toString('utf8'));
    expect(id).toMatchObject({ format: 'litevault-vault', version: 1 });
    expect(id.vaultId).toMatch(/^[0-9a-f]{32}$/);
    if (kind === 'directory') {
      expect(fs.statSync(place.location).mode & 0o777).toBe(0o700);
      expect(fs.statSync(path.join(place.location, 'litevault-vault.json')).mode & 0o777).toBe(0o600);
    }
  });

  for (const entry of entries) {
    it(`${entry.name}: full -> inc (0.1%) -> diff (1%) -> inc (30%) -> inc (VACUUM)${entry.spec.journalMode === 'wal' ? '' : ' -> page-size change'}: every backup restores to SQLite's copy`, async () => {
      await chain(vault, entry, fresh);
    });
  }

  it('the vault holds only the format\'s keys, and nothing of unfinished writes (no temporaries, no incomplete multipart uploads); a directory\'s files are 0600 and its directories 0700', async () => {
    expect(await place.leftovers()).toEqual([]);
    for (const key of await place.keys()) expect(key, 'a key of the format').toMatch(/^(litevault-vault\.json|backups\/[^/]+\/\d{10}\.manifest|packs\/[^/]+\/[0-9a-f]{2}\/[0-9a-f]{32}\.pack|locks\/[^/]+\.lock)$/);
    if (kind !== 'directory') return;
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        expect(e.name.startsWith('.tmp-'), p).toBe(false);
        if (e.isDirectory()) {
          expect(fs.statSync(p).mode & 0o777, p).toBe(0o700);
          walk(p);
        } else expect(fs.statSync(p).mode & 0o777, p).toBe(0o600);
      }
    };
    walk(place.location);
  });

  it('a 0-byte database: a full backup restores to what SQLite reads as the same empty database; the next backup after SQLite writes restores byte for byte', async () => {
    const src = fresh('empty.db');
    createDatabase(src, { empty: true });
    const empty = await vaultPlace(kind, fresh('vault-empty'));
    const v = await Vault.open(empty.location, { ...empty.options, create: true });
    const r = await v.backup(src, { name: 'empty', type: 'full' });
    expect(r.type).toBe('full');
    expect(fs.statSync(src).size).toBe(0);
    const ref = fresh('empty-ref.db');
    sqliteBackup(src, ref);
    const out = fresh('empty-restored.db');
    await v.restore('empty', out);
    expect(logicalDump(out)).toBe(logicalDump(ref));
    expect(integrityCheck(out)).toBe('ok');

    sqliteShell(src, 'CREATE TABLE x(a); INSERT INTO x VALUES (1), (randomblob(3000));');
    const r2 = await v.backup(src, { name: 'empty', fallbackToFull: true });
    const ref2 = fresh('empty-ref2.db');
    sqliteBackup(src, ref2);
    const out2 = fresh('empty-restored2.db');
    await v.restore('empty', out2, { at: r2.id });
    expect(differingBytes(out2, ref2)).toEqual([]);
    expect(logicalDump(out2)).toBe(logicalDump(ref2));
    expect(integrityCheck(out2)).toBe('ok');
  });
});

describe.each(STORAGE_KINDS)('%s vault: chain rules', (kind) => {
  // A new vault of this kind for one test (and where it is, to look inside).
  let last: VaultPlace;
  const newVault = async (label: string): Promise<Vault> => {
    last = await vaultPlace(kind, fresh(label));
    return Vault.open(last.location, { ...last.options, create: true });
  };
  const rowsSql = (rows: number, tag: string, pageSize = 4096): string =>
    `PRAGMA page_size=${pageSize}; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ` +
    `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${rows}) INSERT INTO t SELECT i, '${tag}' || hex(randomblob(60)) FROM c;`;
  const realDb = (file: string, sql: string): string => {
    const f = fresh(file);
    sqliteShell(f, sql);
    return f;
  };

  it("type 'auto' takes a full when the name has none, then incrementals", async () => {
    const v = await newVault('vault-auto');
    const src = realDb('auto.db', rowsSql(500, 'a'));
    const a = await v.backup(src);
    expect(a).toMatchObject({ type: 'full', base: null, name: path.basename(src) });
    sqliteShell(src, "UPDATE t SET v = 'changed' WHERE id = 7;");
    const b = await v.backup(src);
    expect(b).toMatchObject({ type: 'incremental', base: a.id });
    expect(b.pagesStored).toBeLessThanOrEqual(3);
    const c = await v.backup(src);
    expect(c).toMatchObject({ type: 'incremental', base: b.id });
    expect(c.pagesStored, 'nothing changed: nothing stored').toBe(0);
    const out = fresh('auto-restored.db');
    await v.restore(path.basename(src), out);
    expect(logicalDump(out)).toBe(logicalDump(src));
  });

  it('incremental and differential without a full backup: LITEVAULT_NO_FULL_BACKUP, vault unchanged; with fallbackToFull a full', async () => {
    const v = await newVault('vault-nofull');
    const src = realDb('nofull.db', rowsSql(200, 'n'));
    const before = sha(src);
    for (const type of ['incremental', 'differential'] as const) {
      const err = await rejection(v.backup(src, { name: 'nf', type }));
      expect(err.code).toBe('LITEVAULT_NO_FULL_BACKUP');
      expect(err.retryable).toBe(false);
      expect(err.message).toContain('nf');
    }
    expect(await v.list()).toEqual([]);
    expect((await last.keys()).filter((k) => k.startsWith('backups/nf/'))).toEqual([]);
    const r = await v.backup(src, { name: 'nf', type: 'differential', fallbackToFull: true });
    expect(r).toMatchObject({ type: 'full', base: null, seq: 1 });
    expect(sha(src)).toBe(before);
  });

  it('another database under the same name: LITEVAULT_BASE_MISMATCH for incremental and differential; fallbackToFull takes a full', async () => {
    const v = await newVault('vault-other');
    const a = realDb('a.db', rowsSql(300, 'a'));
    const b = realDb('b.db', rowsSql(300, 'b')); // same page size, same page count: only identity differs
    const full = await v.backup(a, { name: 'shared', type: 'full' });
    for (const type of ['incremental', 'differential'] as const) {
      const err = await rejection(v.backup(b, { name: 'shared', type }));
      expect(err.code).toBe('LITEVAULT_BASE_MISMATCH');
    }
    expect((await v.list('shared')).map((x) => x.id)).toEqual([full.id]);
    const r = await v.backup(b, { name: 'shared', type: 'incremental', fallbackToFull: true });
    expect(r).toMatchObject({ type: 'full', base: null });
    const out = fresh('shared-restored.db');
    await v.restore('shared', out);
    expect(logicalDump(out)).toBe(logicalDump(b));
    // The replaced file at the same path (new inode) is another database too.
    const moved = fresh('b2.db');
    sqliteShell(moved, rowsSql(300, 'c'));
    fs.renameSync(moved, b);
    expect((await rejection(v.backup(b, { name: 'shared', type: 'incremental' }))).code).toBe('LITEVAULT_BASE_MISMATCH');
  });

  it('restore onto an existing file without overwrite: LITEVAULT_EXISTS and the file is byte-identical', async () => {
    const v = await newVault('vault-exists');
    const src = realDb('ex.db', rowsSql(300, 's'));
    await v.backup(src, { name: 'ex' });
    const dest = realDb('ex-dest.db', rowsSql(50, 'd'));
    const before = sha(dest);
    const siblings = fs.readdirSync(dir).length;
    const err = await rejection(v.restore('ex', dest));
    expect(err.code).toBe('LITEVAULT_EXISTS');
    expect(err.message).toContain(path.basename(dest));
    expect(sha(dest)).toBe(before);
    expect(fs.readdirSync(dir).length, 'no temporary left beside the destination').toBe(siblings);
  });

  it('unknown name or id: LITEVAULT_NOT_FOUND; a name with "/" or "..": SQLITE_MISUSE', async () => {
    const v = await newVault('vault-nf');
    const src = realDb('nf.db', rowsSql(50, 'x'));
    await v.backup(src, { name: 'known' });
    expect((await rejection(v.restore('unknown', fresh('o.db')))).code).toBe('LITEVAULT_NOT_FOUND');
    expect((await rejection(v.restore('known', fresh('o.db'), { at: '999' }))).code).toBe('LITEVAULT_NOT_FOUND');
    for (const bad of ['a/b', '..', '.hidden', '', 'x'.repeat(129)]) {
      expect((await rejection(v.backup(src, { name: bad }))).code, `name ${JSON.stringify(bad)}`).toBe('SQLITE_MISUSE');
    }
  });

  it('restore with overwrite onto a database a better-sqlite3 connection has open: the connection reads the restored content', async () => {
    const v = await newVault('vault-live');
    const src = realDb('live-src.db', rowsSql(800, 'new'));
    const r1 = await v.backup(src, { name: 'live', type: 'full' });
    sqliteShell(src, "DELETE FROM t WHERE id > 600; UPDATE t SET v = 'upd' WHERE id < 10;");
    const r2 = await v.backup(src, { name: 'live', type: 'incremental' });
    const ref = fresh('live-ref.db');
    sqliteBackup(src, ref);

    const dest = realDb('live-dest.db', rowsSql(300, 'old'));
    const conn = new Sqlite(dest);
    try {
      expect(conn.prepare("SELECT count(*) FROM t WHERE v LIKE 'old%'").pluck().get()).toBe(300);
      const res = await v.restore('live', dest, { overwrite: true });
      expect(res.id).toBe(r2.id);
      expect(conn.prepare('SELECT count(*) FROM t').pluck().get()).toBe(600);
      expect(conn.prepare("SELECT count(*) FROM t WHERE v = 'upd'").pluck().get()).toBe(9);
      expect(conn.prepare("SELECT count(*) FROM t WHERE v LIKE 'old%'").pluck().get()).toBe(0);
      expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      conn.close();
    }
    expect(fs.existsSync(dest + '-journal')).toBe(false);
    expect(differingBytes(dest, ref)).toEqual([]);
    expect(logicalDump(dest)).toBe(logicalDump(ref));
    expect(integrityCheck(dest)).toBe('ok');

    // And back to the older backup, over a destination with another page size.
    const dest2 = realDb('live-dest2.db', rowsSql(100, 'old', 1024));
    await v.restore('live', dest2, { at: r1.id, overwrite: true });
    expect(integrityCheck(dest2)).toBe('ok');
    expect(sqliteShell(dest2, 'SELECT count(*) FROM t;').trim()).toBe('800');
  });
});
