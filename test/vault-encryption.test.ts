// Encrypted vaults (issue 15 item 5; docs/vault-format.md "Encryption"), judged by real SQLite
// and by an independent reading of the documented format.
//
// - The corpus chains (test/oracle/vault-chain.ts, the same code vault-chains runs on a plain
//   vault: full -> incremental -> differential -> incremental -> incremental, page-size change)
//   in an encrypted vault: every backup restores to SQLite's own `.backup` at its snapshot.
// - The format: litevault-vault.json has version 2 and a key check equal to HKDF-SHA256 as
//   documented; every pack and manifest on disk is a sealed object (LVSEAL magic, a nonce never
//   repeated, 40 bytes longer than its plaintext) that node:crypto's Decipher (not the WebCrypto
//   path the code uses) opens under the documented HKDF object key and authenticated data, giving
//   the version-1 pack or manifest whose XXH3 trailer and key still hold.
// - No plaintext: a database with a marker string stored without compression; an unencrypted
//   control vault holds the marker (the search works), the encrypted one holds it nowhere, nor
//   the source path nor any manifest meta.
// - Keys: wrong key -> LITEVAULT_BAD_KEY at open (no output file); no key -> LITEVAULT_KEY_REQUIRED;
//   a key for a vault without encryption -> LITEVAULT_BAD_KEY (downgrade refused); the key forms
//   (Buffer, hex, base64, key file raw or text) and malformed ones.
// - Swapped and altered objects: two packs' files swapped, a manifest moved to another name or
//   another backup id, a pack and a manifest copied from another vault with the same key and
//   the same plaintext, flipped bytes, truncation, another seal version: each
//   LITEVAULT_VAULT_CORRUPT (or LITEVAULT_UNSUPPORTED_FORMAT) naming the object, nothing written
//   at a new destination, an --overwrite destination byte-identical, the vault unchanged;
//   vault.verify() reports them and passes the intact vault.
// - The commit rule through the wrapper: a manifest link(2) that fails (fault-injected
//   DirectoryStorage under the EncryptedStorage) leaves the vault as it was; the next backup
//   commits and restores; prune keeps what it must.
// - SIGKILL: backups into an encrypted vault killed around the manifest's and a pack's
//   filesystem calls (test/fixtures/vault-child.cjs) or at random: every committed backup stays
//   listed and restores to SQLite's copy, the killed one is committed or invisible, the next
//   backup commits and leaves no garbage.
// - The CLI: LITEVAULT_KEY and --key-file (raw and text; --key-file wins) for backup, list,
//   restore (also to '-'), verify and prune; exit 1 with a JSON error for a missing or wrong key.
import { fork, spawnSync } from 'node:child_process';
import { createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LitevaultError, readVaultKeyFile, Vault } from '../dist/index.js';
import { DirectoryStorage, realFsOps } from '../dist/vault/directory-storage.js';
import { corpusSpecs } from './oracle/corpus';
import { expectSameImage, rejection } from './oracle/expect';
import { mulberry32 } from './oracle/random';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';
import { chain, sha, sqliteBackup } from './oracle/vault-chain';

afterAll(removeTmpDirs);
const dir = tmpDir('litevault-vault-encryption-');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);

const KEY = randomBytes(32);
const OTHER_KEY = randomBytes(32);
const CLI = path.join(__dirname, '..', 'dist', 'cli.js');

// ---- the documented format, read independently ----------------------------------------------
const SEAL_MAGIC = Buffer.from('4c565345414c0001', 'hex');
const PACK_MAGIC = Buffer.from('4c565041434b0001', 'hex');
const MANI_MAGIC = Buffer.from('4c564d414e490001', 'hex');
const hkdf = (key: Buffer, vaultId: string, info: string): Buffer => Buffer.from(hkdfSync('sha256', key, Buffer.from(vaultId, 'hex'), info, 32));
const config = (d: string): { version: number; vaultId: string; encryption?: { algorithm: string; kdf: string; keyCheck: string } } =>
  JSON.parse(fs.readFileSync(path.join(d, 'litevault-vault.json'), 'utf8'));

/** Opens the sealed object stored under `key` in vault `d`, as docs/vault-format.md says, with node:crypto's Decipher. */
function unseal(d: string, key: string, master: Buffer): Buffer {
  const b = fs.readFileSync(path.join(d, ...key.split('/')));
  expect(b.subarray(0, 8).equals(SEAL_MAGIC), `${key}: LVSEAL magic`).toBe(true);
  expect(b.readUInt32LE(8), `${key}: seal version`).toBe(1);
  const { vaultId } = config(d);
  const decipher = createDecipheriv('aes-256-gcm', hkdf(master, vaultId, 'litevault-vault object key v1'), b.subarray(12, 24));
  decipher.setAAD(Buffer.concat([b.subarray(0, 12), Buffer.from(vaultId, 'hex'), Buffer.from(key, 'utf8')]));
  decipher.setAuthTag(b.subarray(b.length - 16));
  return Buffer.concat([decipher.update(b.subarray(24, b.length - 16)), decipher.final()]);
}

/** Every file of a vault directory, as keys. */
function keys(d: string): string[] {
  const out: string[] = [];
  const walk = (p: string, rel: string): void => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      const k = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(p, e.name), k);
      else out.push(k);
    }
  };
  walk(d, '');
  return out.sort();
}
const sealedKeys = (d: string): string[] => keys(d).filter((k) => k.startsWith('packs/') || k.startsWith('backups/'));
const hashes = (d: string): Record<string, string> => Object.fromEntries(keys(d).map((k) => [k, sha(path.join(d, k))]));
const file = (d: string, key: string): string => path.join(d, ...key.split('/'));
function copyOf(src: string): string {
  const d = fresh('vault');
  fs.cpSync(src, d, { recursive: true });
  return d;
}
const manifestMeta = (plain: Buffer): { name: string; seq: number; packs: Array<{ key: string; bytes: number }>; source: { path: string } } => {
  expect(plain.subarray(0, 8).equals(MANI_MAGIC)).toBe(true);
  return JSON.parse(plain.subarray(16, 16 + plain.readUInt32LE(12)).toString('utf8'));
};
const rows = (count: number, tag: string): string =>
  `PRAGMA page_size=4096; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${count}) INSERT INTO t SELECT i, '${tag}' || hex(randomblob(60)) FROM c;`;
function realDb(name: string, sql: string): string {
  const d = fresh('db');
  fs.mkdirSync(d);
  const f = path.join(d, name);
  sqliteShell(f, sql);
  return f;
}

describe('an encrypted vault: the corpus chains restore to SQLite\'s own .backup, and the objects are sealed as documented', () => {
  const vaultDir = path.join(dir, 'chains');
  let vault: Vault;

  it('Vault.open({ create, key }): version 2, the encryption member, keyCheck = HKDF-SHA256(key, vaultId, "litevault-vault key check v1")', async () => {
    vault = await Vault.open(vaultDir, { create: true, key: KEY });
    expect(vault.encrypted).toBe(true);
    const c = config(vaultDir);
    expect(c).toMatchObject({ format: 'litevault-vault', version: 2, encryption: { algorithm: 'aes-256-gcm', kdf: 'hkdf-sha256' } });
    expect(c.vaultId).toMatch(/^[0-9a-f]{32}$/);
    expect(c.encryption!.keyCheck).toBe(hkdf(KEY, c.vaultId, 'litevault-vault key check v1').toString('hex'));
    expect(c.encryption!.keyCheck).not.toBe(hkdf(KEY, c.vaultId, 'litevault-vault object key v1').toString('hex'));
    expect(fs.readFileSync(path.join(vaultDir, 'litevault-vault.json')).includes(KEY.toString('hex')), 'the key is not stored').toBe(false);
    expect((await Vault.open(vaultDir, { key: KEY })).encrypted).toBe(true);
  });

  for (const entry of corpusSpecs().filter((e) => e.spec.empty !== true)) {
    it(`${entry.name}: the chain in an encrypted vault restores to SQLite's copy at every snapshot`, async () => {
      await chain(vault, entry, fresh);
    });
  }

  it('every pack and manifest on disk is sealed: LVSEAL, unique nonces, opened by node:crypto as documented into a version-1 object whose checksum and key hold', () => {
    const all = sealedKeys(vaultDir);
    expect(all.length).toBeGreaterThan(100);
    const nonces = new Set<string>();
    const packSizes = new Map<string, number>();
    for (const key of all) {
      const sealed = fs.readFileSync(file(vaultDir, key));
      nonces.add(sealed.subarray(12, 24).toString('hex'));
      const plain = unseal(vaultDir, key, KEY);
      expect(sealed.length, `${key}: 40 bytes more than its plaintext`).toBe(plain.length + 40);
      if (key.endsWith('.pack')) {
        expect(plain.subarray(0, 8).equals(PACK_MAGIC), key).toBe(true);
        packSizes.set(key, plain.length);
      } else {
        const meta = manifestMeta(plain);
        expect(key).toBe(`backups/${meta.name}/${String(meta.seq).padStart(10, '0')}.manifest`);
        for (const p of meta.packs) {
          const pk = `packs/${meta.name}/${p.key.slice(0, 2)}/${p.key}.pack`;
          expect(fs.statSync(file(vaultDir, pk)).size, `${pk}: the manifest records its plaintext size`).toBe(p.bytes + 40);
        }
      }
    }
    expect(nonces.size, 'no nonce repeats').toBe(all.length);
    expect(packSizes.size).toBeGreaterThan(0);
    // Not under another key, another vault id or another master key.
    const someKey = all.find((k) => k.endsWith('.pack'))!;
    expect(() => unseal(vaultDir, someKey, OTHER_KEY)).toThrow();
  });
});

describe('no plaintext in an encrypted vault', () => {
  it('a marker row stored without compression: in the unencrypted vault\'s packs (the search works), nowhere in the encrypted one; nor the source path or manifest meta', async () => {
    const marker = 'LITEVAULT-PLAINTEXT-MARKER-7f3a9c';
    const src = realDb('marker.db', `PRAGMA page_size=4096; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<2000) INSERT INTO t SELECT i, '${marker}' || i FROM c;`);
    const plainDir = fresh('plain');
    const encDir = fresh('enc');
    const plainVault = await Vault.open(plainDir, { create: true });
    const encVault = await Vault.open(encDir, { create: true, key: KEY });
    for (const v of [plainVault, encVault]) {
      await v.backup(src, { name: 'm', type: 'full', compression: 'none' });
      sqliteShell(src, `UPDATE t SET v = '${marker}-changed' WHERE id % 97 = 0;`);
      await v.backup(src, { name: 'm', type: 'incremental', compression: 'none' });
      sqliteShell(src, `UPDATE t SET v = '${marker}' || id WHERE id % 97 = 0;`);
    }
    const contains = (d: string, s: string): string[] => keys(d).filter((k) => fs.readFileSync(file(d, k)).includes(Buffer.from(s)));
    expect(contains(plainDir, marker).length, 'the control: the unencrypted packs hold the rows').toBeGreaterThan(0);
    expect(contains(plainDir, '"pageCount"').length, 'the control: the unencrypted manifests hold their meta').toBe(2);
    expect(contains(encDir, marker)).toEqual([]);
    expect(contains(encDir, path.dirname(src))).toEqual([]);
    expect(contains(encDir, '"pageCount"')).toEqual([]);
    expect(contains(encDir, 'SQLite format 3')).toEqual([]);
    // And it is all there behind the key.
    const out = fresh('marker-restored.db');
    await encVault.restore('m', out);
    expect(sqliteShell(out, `SELECT count(*) FROM t WHERE v LIKE '${marker}%';`).trim()).toBe('2000');
    expect(integrityCheck(out)).toBe('ok');
  });
});

describe('keys', () => {
  let encDir = '';
  let plainDir = '';
  let src = '';
  beforeAll(async () => {
    src = realDb('keys.db', rows(400, 'k'));
    encDir = fresh('enc');
    plainDir = fresh('plain');
    await (await Vault.open(encDir, { create: true, key: KEY })).backup(src, { name: 'k' });
    await (await Vault.open(plainDir, { create: true })).backup(src, { name: 'k' });
  });

  it('a wrong key: LITEVAULT_BAD_KEY at open ("the key does not open vault ..."), before any object is read; the vault unchanged', async () => {
    const before = hashes(encDir);
    const err = await rejection(Vault.open(encDir, { key: OTHER_KEY }));
    expect(err.code).toBe('LITEVAULT_BAD_KEY');
    expect(err.message).toContain('does not open');
    expect(err.message).toContain(encDir);
    expect(err.message).not.toContain(OTHER_KEY.toString('hex'));
    expect(err.retryable).toBe(false);
    expect((await rejection(Vault.open(encDir, { create: true, key: OTHER_KEY }))).code).toBe('LITEVAULT_BAD_KEY');
    expect(hashes(encDir)).toEqual(before);
  });

  it('no key for an encrypted vault: LITEVAULT_KEY_REQUIRED; a key for a vault without encryption: LITEVAULT_BAD_KEY, also with create', async () => {
    const e1 = await rejection(Vault.open(encDir));
    expect(e1.code).toBe('LITEVAULT_KEY_REQUIRED');
    expect(e1.message).toContain(encDir);
    const before = hashes(plainDir);
    for (const create of [false, true]) {
      const e2 = await rejection(Vault.open(plainDir, { create, key: KEY }));
      expect(e2.code).toBe('LITEVAULT_BAD_KEY');
      expect(e2.message).toMatch(/not encrypted/);
    }
    expect(hashes(plainDir), 'an existing vault is never turned into an encrypted one').toEqual(before);
    expect((await Vault.open(plainDir)).encrypted).toBe(false);
  });

  it('a downgraded litevault-vault.json (encryption removed, version 1): refused with the key; without it every sealed object is LITEVAULT_VAULT_CORRUPT', async () => {
    const d = copyOf(encDir);
    const c = config(d);
    delete c.encryption;
    c.version = 1;
    fs.writeFileSync(path.join(d, 'litevault-vault.json'), JSON.stringify(c));
    expect((await rejection(Vault.open(d, { key: KEY }))).code).toBe('LITEVAULT_BAD_KEY');
    const v = await Vault.open(d);
    expect(['LITEVAULT_VAULT_CORRUPT', 'LITEVAULT_UNSUPPORTED_FORMAT']).toContain((await rejection(v.list())).code);
    const out = fresh('downgraded.db');
    expect(['LITEVAULT_VAULT_CORRUPT', 'LITEVAULT_UNSUPPORTED_FORMAT']).toContain((await rejection(v.restore('k', out))).code);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a damaged encryption member: keyCheck -> LITEVAULT_BAD_KEY or LITEVAULT_VAULT_CORRUPT; another algorithm -> LITEVAULT_UNSUPPORTED_FORMAT', async () => {
    const edit = async (change: (c: ReturnType<typeof config>) => void): Promise<LitevaultError> => {
      const d = copyOf(encDir);
      const c = config(d);
      change(c);
      fs.writeFileSync(path.join(d, 'litevault-vault.json'), JSON.stringify(c));
      return rejection(Vault.open(d, { key: KEY }));
    };
    expect((await edit((c) => (c.encryption!.keyCheck = c.encryption!.keyCheck.replace(/^./, (x) => (x === '0' ? '1' : '0'))))).code).toBe('LITEVAULT_BAD_KEY');
    expect((await edit((c) => (c.encryption!.keyCheck = 'zz'))).code).toBe('LITEVAULT_VAULT_CORRUPT');
    expect((await edit((c) => (c.encryption!.algorithm = 'chacha20-poly1305'))).code).toBe('LITEVAULT_UNSUPPORTED_FORMAT');
    expect((await edit((c) => (c.vaultId = 'nothex'))).code).toBe('LITEVAULT_VAULT_CORRUPT');
  });

  it('the key forms: Buffer, hex (either case, a newline), base64; a key file of 32 raw bytes or of the text; malformed keys are LITEVAULT_BAD_KEY', async () => {
    for (const key of [KEY, KEY.toString('hex'), KEY.toString('hex').toUpperCase(), `${KEY.toString('hex')}\n`, KEY.toString('base64'), ` ${KEY.toString('base64')}\n`]) {
      const v = await Vault.open(encDir, { key });
      expect((await v.list()).length).toBe(1);
    }
    const raw = fresh('raw.key');
    fs.writeFileSync(raw, KEY, { mode: 0o600 });
    const text = fresh('text.key');
    fs.writeFileSync(text, `${KEY.toString('base64')}\n`, { mode: 0o600 });
    expect(readVaultKeyFile(raw).equals(KEY)).toBe(true);
    expect(readVaultKeyFile(text).equals(KEY)).toBe(true);
    for (const bad of [KEY.subarray(0, 31), Buffer.concat([KEY, Buffer.from([0])]), KEY.toString('hex').slice(1), `${KEY.toString('hex')}0`, 'correct horse battery staple', '', KEY.toString('base64').replace('=', '')]) {
      const err = await rejection(Vault.open(encDir, { key: bad }));
      expect(err.code, `key ${JSON.stringify(String(bad))}`).toBe('LITEVAULT_BAD_KEY');
    }
    expect((await rejection(Vault.open(encDir, { key: 42 as unknown as string }))).code).toBe('SQLITE_MISUSE');
    const missing = await rejection(() => readVaultKeyFile(fresh('missing.key')));
    expect(missing.code).toBe('LITEVAULT_BAD_KEY');
    expect(missing.errno).toBe(2);
  });

  it('one key for two vaults: each its own vaultId, key check and object key; both open', async () => {
    const other = fresh('enc2');
    await (await Vault.open(other, { create: true, key: KEY })).backup(src, { name: 'k' });
    expect(config(other).vaultId).not.toBe(config(encDir).vaultId);
    expect(config(other).encryption!.keyCheck).not.toBe(config(encDir).encryption!.keyCheck);
    const out = fresh('two.db');
    await (await Vault.open(other, { key: KEY })).restore('k', out);
    expect(logicalDump(out)).toBe(logicalDump(src));
  });
});

describe('swapped, moved and altered objects: LITEVAULT_VAULT_CORRUPT naming the object, destination untouched', () => {
  let good = '';
  let twin = '';
  const NAMES = ['a.db', 'b.db'];
  let a = '';

  beforeAll(async () => {
    a = realDb('a.db', rows(3000, 'a'));
    const b = realDb('b.db', rows(3000, 'b'));
    good = fresh('good');
    twin = fresh('twin');
    const v = await Vault.open(good, { create: true, key: KEY });
    const t = await Vault.open(twin, { create: true, key: KEY }); // the same key, another vault
    await v.backup(a, { type: 'full' });
    await t.backup(a, { type: 'full' }); // the same snapshot: the same plaintext, the same keys
    await v.backup(b, { type: 'full' });
    sqliteShell(a, "UPDATE t SET v = 'changed' || id WHERE id % 50 = 0;");
    await v.backup(a, { type: 'incremental' });
  });

  const packsOf = (d: string, name: string): string[] => keys(d).filter((k) => k.startsWith(`packs/${name}/`));
  const manifestKey = (name: string, seq: number): string => `backups/${name}/${String(seq).padStart(10, '0')}.manifest`;

  /**
   * Restores `name` (backup `at`) from `d` to a new path and over an existing database: both
   * fail with `code` and a message naming `object`; nothing appears at the new path, the
   * existing database is byte-identical, the vault unchanged.
   */
  async function restoreFails(d: string, name: string, object: string | RegExp, code = 'LITEVAULT_VAULT_CORRUPT', at?: string): Promise<LitevaultError> {
    const before = hashes(d);
    const newDir = fresh('dest-new');
    fs.mkdirSync(newDir);
    const existing = realDb('live.db', "CREATE TABLE old(x); INSERT INTO old VALUES ('keep me');");
    const existingSha = sha(existing);
    let last: LitevaultError | undefined;
    for (const [dest, overwrite] of [[path.join(newDir, 'out.db'), false], [existing, true]] as const) {
      const err = await rejection((async () => (await Vault.open(d, { key: KEY })).restore(name, dest, { at, overwrite }))());
      expect(err.code, err.message).toBe(code);
      if (typeof object === 'string') expect(err.message).toContain(object);
      else expect(err.message).toMatch(object);
      last = err;
    }
    expect(fs.readdirSync(newDir), 'nothing written at a new destination').toEqual([]);
    expect(fs.readdirSync(path.dirname(existing))).toEqual(['live.db']);
    expect(sha(existing), 'an overwrite destination stays byte-identical').toBe(existingSha);
    expect(hashes(d), 'the vault is unchanged').toEqual(before);
    return last!;
  }

  it('the intact vault restores every backup (SQLite judges) and verifies ok with the key', async () => {
    const v = await Vault.open(good, { key: KEY });
    expect((await v.list()).map((b) => `${b.name} ${b.id} ${b.type}`)).toEqual(['a.db 1 full', 'a.db 2 incremental', 'b.db 1 full']);
    const ref = fresh('a-ref.db');
    sqliteBackup(a, ref);
    const out = fresh('a-out.db');
    await v.restore('a.db', out);
    expectSameImage(out, ref);
    expect(integrityCheck(out)).toBe('ok');
    const r = await v.verify();
    expect(r.ok).toBe(true);
    expect(r.backups.map((b) => b.ok)).toEqual([true, true, true]);
    expect(r.pagesChecked).toBeGreaterThan(0);
  });

  it('two packs\' files swapped: authentication fails for the pack, named', async () => {
    const d = copyOf(good);
    const [p1, p2] = packsOf(d, 'a.db');
    expect(p2, 'a.db has two packs (full and incremental)').toBeDefined();
    const b1 = fs.readFileSync(file(d, p1!));
    fs.writeFileSync(file(d, p1!), fs.readFileSync(file(d, p2!)));
    fs.writeFileSync(file(d, p2!), b1);
    const err = await restoreFails(d, 'a.db', /packs\/a\.db\/[0-9a-f]{2}\/[0-9a-f]{32}\.pack/);
    expect(err.message).toMatch(/authentication failed: the object was altered, or belongs to another vault, name or backup/);
    const v = await Vault.open(d, { key: KEY });
    const r = await v.verify({ name: 'a.db' });
    expect(r.ok).toBe(false);
    for (const b of r.backups) {
      expect(b.error?.code).toBe('LITEVAULT_VAULT_CORRUPT');
      expect(b.error?.message).toMatch(/authentication failed/);
    }
    expect((await v.verify({ name: 'b.db' })).ok, 'the other name is intact').toBe(true);
  });

  it('a manifest moved to another name, or to another backup id of its name: LITEVAULT_VAULT_CORRUPT naming the manifest (list, restore, verify)', async () => {
    for (const [from, to] of [[manifestKey('a.db', 1), manifestKey('b.db', 1)], [manifestKey('a.db', 1), manifestKey('a.db', 2)]] as const) {
      const d = copyOf(good);
      fs.copyFileSync(file(d, from), file(d, to));
      const victim = to.split('/')[1]!;
      const err = await restoreFails(d, victim, to);
      expect(err.message).toMatch(/authentication failed/);
      const v = await Vault.open(d, { key: KEY });
      const listed = await rejection(v.list(victim));
      expect(listed.code).toBe('LITEVAULT_VAULT_CORRUPT');
      expect(listed.message).toContain(to);
      const r = await v.verify();
      expect(r.ok).toBe(false);
      expect(r.problems.map((p) => p.name)).toEqual([victim]);
      expect(r.problems[0]!.message).toContain(to);
    }
  });

  it('a pack and a manifest copied from another vault with the same key and the same plaintext: LITEVAULT_VAULT_CORRUPT naming them', async () => {
    const [twinPack] = packsOf(twin, 'a.db');
    expect(packsOf(good, 'a.db'), 'the twin\'s full backup has the same pack key (same plaintext)').toContain(twinPack);
    expect(unseal(twin, twinPack!, KEY).equals(unseal(good, twinPack!, KEY))).toBe(true);
    const d1 = copyOf(good);
    fs.copyFileSync(file(twin, twinPack!), file(d1, twinPack!));
    await restoreFails(d1, 'a.db', twinPack!, 'LITEVAULT_VAULT_CORRUPT', '1');
    const d2 = copyOf(good);
    fs.copyFileSync(file(twin, manifestKey('a.db', 1)), file(d2, manifestKey('a.db', 1)));
    await restoreFails(d2, 'a.db', manifestKey('a.db', 1), 'LITEVAULT_VAULT_CORRUPT', '1');
  });

  it('a flipped byte in the header, nonce, ciphertext or tag, a truncation, another seal version: each refused, naming the object', async () => {
    const target = manifestKey('b.db', 1);
    const size = fs.statSync(file(good, target)).size;
    const cases: Array<[string, (b: Buffer) => Buffer, string, RegExp]> = [
      ['magic', (b) => ((b[2] ^= 1), b), 'LITEVAULT_VAULT_CORRUPT', /not a sealed object/],
      ['nonce', (b) => ((b[15] ^= 1), b), 'LITEVAULT_VAULT_CORRUPT', /authentication failed/],
      ['ciphertext', (b) => ((b[24 + Math.floor((size - 40) / 2)] ^= 0x80), b), 'LITEVAULT_VAULT_CORRUPT', /authentication failed/],
      ['tag', (b) => ((b[size - 1] ^= 1), b), 'LITEVAULT_VAULT_CORRUPT', /authentication failed/],
      ['truncated to 39 bytes', (b) => b.subarray(0, 39), 'LITEVAULT_VAULT_CORRUPT', /truncated/],
      ['truncated by one byte', (b) => b.subarray(0, size - 1), 'LITEVAULT_VAULT_CORRUPT', /authentication failed/],
      ['seal version 2', (b) => (b.writeUInt32LE(2, 8), b), 'LITEVAULT_UNSUPPORTED_FORMAT', /seal version 2/],
    ];
    for (const [what, change, code, why] of cases) {
      const d = copyOf(good);
      fs.writeFileSync(file(d, target), change(fs.readFileSync(file(d, target))));
      const err = await restoreFails(d, 'b.db', target, code);
      expect(err.message, what).toMatch(why);
    }
  });
});

describe('the commit rule through EncryptedStorage over a fault-injected DirectoryStorage', () => {
  it('a failed manifest link(2) leaves the vault as it was; the next backup commits and restores; prune keeps what it must', async () => {
    const d = fresh('faulty');
    const src = realDb('f.db', rows(1500, 'f'));
    const v0 = await Vault.open(d, { create: true, key: KEY });
    await v0.backup(src, { name: 'f', type: 'full' });
    const listed = await v0.list();
    const before = hashes(d);
    sqliteShell(src, "UPDATE t SET v = 'x' WHERE id % 10 = 0;");
    const failing = new DirectoryStorage(d, {
      ...realFsOps,
      link: async (a: string, b: string) => {
        if (b.includes(`${path.sep}backups${path.sep}`)) throw Object.assign(new Error('EIO: injected'), { code: 'EIO', errno: -5 });
        return realFsOps.link(a, b);
      },
    });
    const v1 = await Vault.open(d, { key: KEY, storage: failing });
    expect(v1.encrypted).toBe(true);
    expect((await rejection(v1.backup(src, { name: 'f' }))).code).toBe('LITEVAULT_STORAGE');
    const v = await Vault.open(d, { key: KEY });
    expect(await v.list()).toEqual(listed);
    for (const k of Object.keys(before)) expect(hashes(d)[k], k).toBe(before[k]);
    const r = await v.backup(src, { name: 'f' });
    expect(r.type).toBe('incremental');
    const ref = fresh('f-ref.db');
    sqliteBackup(src, ref);
    const out = fresh('f-out.db');
    await v.restore('f', out);
    expectSameImage(out, ref);
    sqliteShell(src, "UPDATE t SET v = 'y' WHERE id % 7 = 0;");
    await v.backup(src, { name: 'f', type: 'full' });
    const pr = await v.prune({ keepLast: 1 });
    expect(pr.removed.map((b) => b.id)).toEqual(['1', '2']);
    expect(pr.packsRemoved).toBeGreaterThan(0);
    const ref2 = fresh('f-ref2.db');
    sqliteBackup(src, ref2);
    const out2 = fresh('f-out2.db');
    await (await Vault.open(d, { key: KEY })).restore('f', out2);
    expectSameImage(out2, ref2);
    expect(keys(d).filter((k) => k.includes('.tmp-'))).toEqual([]);
  });
});

describe('SIGKILL during backups into an encrypted vault', () => {
  const CHILD = path.join(__dirname, 'fixtures', 'vault-child.cjs');
  const DIST = path.join(__dirname, '..', 'dist', 'index.js');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.LITEVAULT_TEST_ADDON;
  const TRIALS = 28;
  const SEED = Number(process.env.LITEVAULT_SEED ?? Date.now() % 1e9);
  type Plan = { kind: string; match: string; nth: number } | { delayMs: number };
  const BACKUPS = `${path.sep}backups${path.sep}`;
  // `left`: temporaries killed runs left in backups/<name>/, which the backup's sweep unlinks first.
  const PLANS: Array<(rnd: () => number, left: number) => Plan> = [
    () => ({ kind: 'link', match: BACKUPS, nth: 1 }), // the commit point
    () => ({ kind: 'fsync', match: BACKUPS, nth: 1 }),
    () => ({ kind: 'write', match: BACKUPS, nth: 1 }),
    (_, left) => ({ kind: 'unlink', match: BACKUPS, nth: left + 1 }), // the manifest's temporary, just after the commit
    (_, left) => ({ kind: 'unlink', match: BACKUPS, nth: Math.max(1, left) }), // the sweep (or after the commit)
    () => ({ kind: 'link', match: `${path.sep}packs${path.sep}`, nth: 1 }),
    (rnd) => ({ delayMs: Math.floor(rnd() * 40) }),
  ];

  /** One backup in a child, SIGKILLed 0..3 ms after it reports the planned call (or `delayMs` after it starts). */
  function killedBackup(cfg: Record<string, unknown>, plan: Plan, jitterMs: number): Promise<{ killed: boolean; error: string | null }> {
    return new Promise((resolve, reject) => {
      const pause = 'kind' in plan ? { pauseKind: plan.kind, pauseNth: plan.nth, pauseMatch: plan.match, pauseMs: 5 } : {};
      const child = fork(CHILD, [JSON.stringify({ dist: DIST, ...cfg, ...pause })], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env });
      let error: string | null = null;
      const kill = (): void => void child.kill('SIGKILL');
      child.on('message', (m: { type: string; code?: string; message?: string }) => {
        if (m.type === 'op') setTimeout(kill, jitterMs);
        if (m.type === 'ready' && 'delayMs' in plan) setTimeout(kill, plan.delayMs);
        if (m.type === 'error') error = `${m.code}: ${m.message}`;
      });
      child.on('error', reject);
      child.on('exit', (_code, signal) => resolve({ killed: signal === 'SIGKILL', error }));
    });
  }

  it(`${TRIALS} killed backups: every committed backup stays and restores to SQLite's copy; the killed one is committed or invisible; the next backup commits and leaves no garbage`, async () => {
    const rnd = mulberry32(SEED);
    const d = fresh('killed');
    const src = realDb('k.db', rows(4000, 'kill'));
    const v0 = await Vault.open(d, { create: true, key: KEY });
    const refs = new Map<string, string>();
    const ref0 = fresh('k-ref.db');
    sqliteBackup(src, ref0);
    refs.set((await v0.backup(src, { name: 'k', type: 'full' })).id, ref0);
    let committed = ['1'];
    let kills = 0;
    let killedCommitted = 0;
    for (let i = 0; i < TRIALS; i++) {
      sqliteShell(src, `UPDATE t SET v = 'trial${i}-' || id WHERE id % ${5 + (i % 11)} = 0;`);
      const ref = fresh(`k-ref-${i}.db`);
      sqliteBackup(src, ref);
      const left = fs.readdirSync(path.join(d, 'backups', 'k')).filter((f) => f.startsWith('.tmp-')).length;
      const plan = PLANS[i % PLANS.length]!(rnd, left);
      const type = i % 5 === 4 ? 'full' : i % 3 === 2 ? 'differential' : 'incremental';
      const r = await killedBackup({ vault: d, op: 'backup', source: src, name: 'k', type, key: KEY.toString('hex') }, plan, Math.floor(rnd() * 4));
      const what = `seed ${SEED}, trial ${i} (${JSON.stringify(plan)}, ${type})`;
      if (!r.killed) expect(r.error, what).toBeNull();
      else kills++;
      const listedBefore = committed.length;
      const ids = (await (await Vault.open(d, { key: KEY })).list('k')).map((b) => b.id);
      expect(ids.slice(0, committed.length), `${what}: every committed backup is still listed`).toEqual(committed);
      expect(ids.length - committed.length, what).toBeLessThanOrEqual(1);
      if (!r.killed) expect(ids.length, `${what}: an unkilled run committed`).toBe(committed.length + 1);
      if (ids.length > committed.length) refs.set(ids.at(-1)!, ref);
      if (r.killed && ids.length > listedBefore) killedCommitted++;
      committed = ids;
      if (ids.length > 0) {
        const out = fresh(`k-out-${i}.db`);
        await (await Vault.open(d, { key: KEY })).restore('k', out);
        expectSameImage(out, refs.get(ids.at(-1)!)!);
      }
    }
    console.log(`vault encryption | SIGKILL: ${TRIALS} backups, ${kills} killed (${killedCommitted} of them had committed, ${kills - killedCommitted} left nothing visible), ${committed.length} backups kept and restored, seed ${SEED}`);
    expect(kills, `seed ${SEED}: the children were killed`).toBeGreaterThan(TRIALS / 2);
    const v = await Vault.open(d, { key: KEY });
    for (const id of committed) {
      const out = fresh(`k-final-${id}.db`);
      await v.restore('k', out, { at: id });
      expectSameImage(out, refs.get(id)!);
      expect(integrityCheck(out)).toBe('ok');
    }
    await v.backup(src, { name: 'k' });
    const named = new Set(sealedKeys(d).filter((k) => k.endsWith('.manifest')).flatMap((k) => manifestMeta(unseal(d, k, KEY)).packs.map((p) => `packs/k/${p.key.slice(0, 2)}/${p.key}.pack`)));
    expect(keys(d).filter((k) => k.includes('.tmp-')), 'no temporaries').toEqual([]);
    expect(sealedKeys(d).filter((k) => k.endsWith('.pack') && !named.has(k)), 'no pack that no manifest names').toEqual([]);
  });
});

describe('the CLI: LITEVAULT_KEY and --key-file for every vault verb', () => {
  interface Run {
    status: number | null;
    stdout: Buffer;
    stderr: string;
  }
  const run = (args: string[], key?: string): Run => {
    const env = { ...process.env };
    delete env.LITEVAULT_KEY;
    if (key !== undefined) env.LITEVAULT_KEY = key;
    const r = spawnSync(process.execPath, [CLI, ...args], { env, maxBuffer: 1 << 26 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
  };
  const ok = (args: string[], key?: string): Run => {
    const r = run(args, key);
    expect(r.status, `litevault ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r;
  };
  const jsonError = (r: Run): { code: string; message: string } => {
    expect(r.status, r.stderr).toBe(1);
    return (JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string; message: string } }).error;
  };
  const HEX = KEY.toString('hex');
  const vault = path.join(dir, 'cli-vault');
  let src = '';
  let rawKeyFile = '';
  let textKeyFile = '';

  beforeAll(() => {
    src = realDb('app.db', rows(2000, 'cli'));
    rawKeyFile = fresh('raw.key');
    fs.writeFileSync(rawKeyFile, KEY, { mode: 0o600 });
    textKeyFile = fresh('text.key');
    fs.writeFileSync(textKeyFile, `${HEX}\n`, { mode: 0o600 });
  });

  it('vault backup with LITEVAULT_KEY creates an encrypted vault; --key-file (raw, text) opens it; --key-file wins over LITEVAULT_KEY', () => {
    const r = JSON.parse(ok(['vault', 'backup', src, vault, '--json'], HEX).stdout.toString());
    expect(r).toMatchObject({ name: 'app.db', type: 'full', seq: 1 });
    expect(config(vault)).toMatchObject({ version: 2, encryption: { algorithm: 'aes-256-gcm' } });
    sqliteShell(src, "UPDATE t SET v = 'cli-changed' WHERE id % 40 = 0;");
    expect(JSON.parse(ok(['vault', 'backup', src, vault, '--json', '--key-file', rawKeyFile]).stdout.toString())).toMatchObject({ type: 'incremental', seq: 2 });
    const listed = JSON.parse(ok(['vault', 'list', vault, '--json', '--key-file', textKeyFile]).stdout.toString()) as { backups: Array<{ id: string }> };
    expect(listed.backups.map((b) => b.id)).toEqual(['1', '2']);
    ok(['vault', 'list', vault, '--key-file', rawKeyFile], OTHER_KEY.toString('hex'));
  });

  it('vault restore (to a file and to -) and vault verify with the key; SQLite judges the restores', () => {
    const ref = fresh('cli-ref.db');
    sqliteBackup(src, ref);
    const out = fresh('cli-out.db');
    ok(['vault', 'restore', vault, 'app.db', out], HEX);
    expectSameImage(out, ref);
    const first = fresh('cli-first.db');
    ok(['vault', 'restore', vault, 'app.db', first, '--at', '1', '--key-file', rawKeyFile]);
    expect(integrityCheck(first)).toBe('ok');
    const image = ok(['vault', 'restore', vault, 'app.db', '-'], HEX).stdout;
    const piped = fresh('cli-piped.db');
    fs.writeFileSync(piped, image);
    expectSameImage(piped, ref);
    const v = JSON.parse(ok(['vault', 'verify', vault, '--json'], HEX).stdout.toString()) as { ok: boolean; backups: unknown[] };
    expect(v.ok).toBe(true);
    expect(v.backups).toHaveLength(2);
  });

  it('no key: exit 1, LITEVAULT_KEY_REQUIRED for every verb; a wrong key: LITEVAULT_BAD_KEY, no destination written; a malformed LITEVAULT_KEY: LITEVAULT_BAD_KEY', () => {
    const before = hashes(vault);
    const out = fresh('cli-nokey.db');
    for (const args of [['vault', 'list', vault], ['vault', 'restore', vault, 'app.db', out], ['vault', 'verify', vault], ['vault', 'prune', vault, '--keep-last', '1'], ['vault', 'backup', src, vault]]) {
      expect(jsonError(run([...args, '--json'])).code, args.join(' ')).toBe('LITEVAULT_KEY_REQUIRED');
      const wrong = jsonError(run([...args, '--json'], OTHER_KEY.toString('hex')));
      expect(wrong.code).toBe('LITEVAULT_BAD_KEY');
      expect(wrong.message).toContain('does not open');
    }
    expect(fs.existsSync(out), 'no destination for a refused restore').toBe(false);
    expect(run(['vault', 'restore', vault, 'app.db', '-'], OTHER_KEY.toString('hex')).stdout.length, 'nothing on stdout').toBe(0);
    expect(jsonError(run(['vault', 'list', vault, '--json'], 'not-a-key')).code).toBe('LITEVAULT_BAD_KEY');
    expect(jsonError(run(['vault', 'list', vault, '--json', '--key-file', fresh('missing.key')])).code).toBe('LITEVAULT_BAD_KEY');
    // A key for a vault without encryption.
    const plain = fresh('cli-plain');
    ok(['vault', 'backup', src, plain]);
    expect(jsonError(run(['vault', 'list', plain, '--json'], HEX)).code).toBe('LITEVAULT_BAD_KEY');
    expect(hashes(vault)).toEqual(before);
  });

  it('vault prune with the key; every verb\'s --help documents --key-file', () => {
    ok(['vault', 'backup', src, vault, '--type', 'full'], HEX);
    const r = JSON.parse(ok(['vault', 'prune', vault, '--keep-last', '1', '--json'], HEX).stdout.toString()) as { removed: Array<{ id: string }> };
    expect(r.removed.map((b) => b.id)).toEqual(['1', '2']);
    expect(JSON.parse(ok(['vault', 'verify', vault, '--json', '--key-file', rawKeyFile]).stdout.toString())).toMatchObject({ ok: true });
    for (const verb of ['backup', 'list', 'restore', 'prune', 'verify']) {
      const help = ok(['vault', verb, '--help']).stdout.toString();
      expect(help, verb).toContain('--key-file F');
      expect(help, verb).toContain('LITEVAULT_KEY');
    }
  });
});
