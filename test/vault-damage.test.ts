// Damaged vaults and the format on disk. First the format itself, judged by an independent
// XXH3-128 (the reference xxHash, /usr/include/xxhash.h compiled into a small tool here): every
// pack's and manifest's trailer is the XXH3-128 of the bytes before it, a pack's key (its file
// name) is that checksum, the layouts are those of docs/vault-format.md, and the page hashes of a
// full backup are the hashes of SQLite's own pages. Then damage, each on a fresh copy of a good
// vault: a truncated manifest, a flipped byte in a pack and in a manifest, a missing pack, a
// chain with a hole, an unknown format version in litevault-vault.json, in a manifest and in a
// pack (with valid checksums, and with stale ones), a page whose image no longer matches its
// hash (with every checksum valid), foreign files in backups/<name>/, in packs/<name>/ and at
// the top level. Each gives a typed LitevaultError (LITEVAULT_VAULT_CORRUPT /
// LITEVAULT_UNSUPPORTED_FORMAT / LITEVAULT_NOT_A_VAULT) whose message names the file (and the
// page, for a page error); NOTHING is written at the restore destination (no file, no temporary
// in its directory), an --overwrite destination stays byte-identical, and the vault is unchanged.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LitevaultError, Vault } from '../dist/index.js';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';
import { rejection } from './oracle/expect';

afterAll(removeTmpDirs);
const dir = tmpDir('litevault-vault-damage-');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);
const sha = (f: string): string => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

// ---- an independent XXH3-128: the reference implementation, compiled here -----------------
const XXH_SRC = `
#define XXH_INLINE_ALL
#include <xxhash.h>
#include <stdio.h>
#include <stdlib.h>
/* xxh128 [block]: XXH3-128 (seed 0), canonical hex, of stdin, or of each block-sized piece. */
int main(int argc, char **argv) {
  size_t cap = 1 << 20, len = 0, r;
  unsigned char *buf = malloc(cap);
  while ((r = fread(buf + len, 1, cap - len, stdin)) > 0) { len += r; if (len == cap) buf = realloc(buf, cap *= 2); }
  size_t block = argc > 1 ? strtoul(argv[1], 0, 10) : len;
  if (block == 0) block = 1;
  for (size_t off = 0; off < len || (len == 0 && off == 0); off += block) {
    size_t n = len - off < block ? len - off : block;
    XXH128_canonical_t c; XXH128_canonicalFromHash(&c, XXH3_128bits(buf + off, n));
    for (int i = 0; i < 16; i++) printf("%02x", c.digest[i]);
    printf("\\n");
    if (len == 0) break;
  }
  return 0;
}
`;
const xxhTool = path.join(dir, 'xxh128');
function buildXxh(): void {
  const src = path.join(dir, 'xxh128.c');
  fs.writeFileSync(src, XXH_SRC);
  execFileSync('cc', ['-O2', '-o', xxhTool, src]);
}
const xxh128 = (b: Buffer): string => execFileSync(xxhTool, [], { input: b }).toString().trim();
const xxh128Blocks = (b: Buffer, block: number): string[] => execFileSync(xxhTool, [String(block)], { input: b, maxBuffer: 1 << 28 }).toString().trim().split('\n');

// ---- the format, parsed as docs/vault-format.md describes it --------------------------------
const PACK_MAGIC = Buffer.from('4c565041434b0001', 'hex');
const MANI_MAGIC = Buffer.from('4c564d414e490001', 'hex');

interface Run {
  firstPage: number;
  pages: number;
  pack: number;
  firstSlot: number;
}
interface Meta {
  name: string;
  seq: number;
  id: string;
  type: string;
  base: number | null;
  full: number;
  pageSize: number;
  pageCount: number;
  packs: Array<{ key: string; bytes: number; slots: number }>;
  pagesStored: number;
  compression: { algorithm: string };
}
function parseManifest(b: Buffer): { meta: Meta; metaStart: number; metaLength: number; runs: Run[]; hashes: string[] } {
  expect(b.subarray(0, 8).equals(MANI_MAGIC)).toBe(true);
  expect(b.readUInt32LE(8)).toBe(1);
  const m = b.readUInt32LE(12);
  const meta = JSON.parse(b.subarray(16, 16 + m).toString('utf8')) as Meta;
  const r = b.readUInt32LE(16 + m);
  const runs: Run[] = [];
  for (let i = 0; i < r; i++) {
    const o = 20 + m + 16 * i;
    runs.push({ firstPage: b.readUInt32LE(o), pages: b.readUInt32LE(o + 4), pack: b.readUInt32LE(o + 8), firstSlot: b.readUInt32LE(o + 12) });
  }
  const p = runs.reduce((s, x) => s + x.pages, 0);
  const h0 = 20 + m + 16 * r;
  expect(b.length).toBe(h0 + 16 * p + 16);
  const hashes: string[] = [];
  for (let i = 0; i < p; i++) hashes.push(b.subarray(h0 + 16 * i, h0 + 16 * i + 16).toString('hex'));
  return { meta, metaStart: 16, metaLength: m, runs, hashes };
}
function parsePackHeader(b: Buffer): { version: number; pageSize: number; slots: number; compression: number; payload: number } {
  return { version: b.readUInt32LE(8), pageSize: b.readUInt32LE(12), slots: b.readUInt32LE(16), compression: b.readUInt32LE(20), payload: Number(b.readBigUInt64LE(24)) };
}
/** Rewrites the trailing checksum of a pack or manifest object (bytes before the last 16). */
function reseal(b: Buffer): Buffer {
  const out = Buffer.from(b);
  Buffer.from(xxh128(out.subarray(0, out.length - 16)), 'hex').copy(out, out.length - 16);
  return out;
}

// ---- a good vault and copies of it ------------------------------------------------------------
const NAME = 'app.db';
let pristine = '';
let pristineRaw = ''; // compression 'none'
let srcRefFull = ''; // SQLite's copy of the source at the full backup
let dumpAt: Record<string, string> = {};

function walkFiles(d: string): string[] {
  const out: string[] = [];
  const walk = (p: string, rel: string): void => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(p, e.name), rel ? `${rel}/${e.name}` : e.name);
      else out.push(rel ? `${rel}/${e.name}` : e.name);
    }
  };
  walk(d, '');
  return out.sort();
}
const vaultHashes = (d: string): Record<string, string> => Object.fromEntries(walkFiles(d).map((f) => [f, sha(path.join(d, f))]));
const manifests = (d: string): string[] => walkFiles(d).filter((f) => f.startsWith(`backups/${NAME}/`) && f.endsWith('.manifest'));
const packs = (d: string): string[] => walkFiles(d).filter((f) => f.startsWith(`packs/${NAME}/`) && f.endsWith('.pack'));
const packPath = (d: string, key: string): string => path.join(d, 'packs', NAME, key.slice(0, 2), `${key}.pack`);
const manifestPath = (d: string, seq: number): string => path.join(d, 'backups', NAME, `${String(seq).padStart(10, '0')}.manifest`);

function copyOf(src: string): string {
  const d = fresh('vault');
  fs.cpSync(src, d, { recursive: true });
  return d;
}

beforeAll(async () => {
  buildXxh();
  expect(xxh128(Buffer.from('')), 'the xxh128 tool is XXH3-128').toBe('99aa06d3014798d86001c324468d497f');
  const src = path.join(dir, 'src.db');
  sqliteShell(
    src,
    'PRAGMA page_size=4096; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX tv ON t(v);' +
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<6000) INSERT INTO t SELECT i, 'row' || i || hex(randomblob(80)) FROM c;",
  );
  pristine = path.join(dir, 'pristine');
  pristineRaw = path.join(dir, 'pristine-raw');
  const v = await Vault.open(pristine, { create: true });
  const raw = await Vault.open(pristineRaw, { create: true });
  await v.backup(src, { name: NAME, type: 'full' });
  await raw.backup(src, { name: NAME, type: 'full', compression: 'none' });
  srcRefFull = path.join(dir, 'ref-full.db');
  execFileSync('sqlite3', [src, `.backup '${srcRefFull}'`]);
  dumpAt['1'] = logicalDump(src);
  sqliteShell(src, "UPDATE t SET v = 'changed' || id WHERE id % 500 = 0; DELETE FROM t WHERE id > 5900;");
  await v.backup(src, { name: NAME, type: 'incremental' });
  await raw.backup(src, { name: NAME, type: 'incremental', compression: 'none' });
  dumpAt['2'] = logicalDump(src);
});

/**
 * Restores from the damaged vault `vdir` twice, to a new path in an empty directory and with
 * overwrite onto an existing database: both must fail with `codes`, the message matching
 * `names`; nothing may appear in the new path's directory, the existing database must stay
 * byte-identical with nothing beside it, and the vault must be unchanged. Opening the vault is
 * part of the operation (a damaged litevault-vault.json fails there).
 */
async function restoreFails(vdir: string, codes: string[], names: RegExp, at?: string): Promise<LitevaultError[]> {
  const errors: LitevaultError[] = [];
  const before = vaultHashes(vdir);
  const newDir = fresh('dest-new');
  fs.mkdirSync(newDir);
  const existingDir = fresh('dest-existing');
  fs.mkdirSync(existingDir);
  const existing = path.join(existingDir, 'live.db');
  sqliteShell(existing, "CREATE TABLE old(x); INSERT INTO old VALUES ('keep me');");
  const existingSha = sha(existing);
  for (const [dest, overwrite] of [
    [path.join(newDir, 'out.db'), false],
    [existing, true],
  ] as const) {
    const err = await rejection(
      (async () => {
        const v = await Vault.open(vdir);
        await v.restore(NAME, dest, { at, overwrite });
      })(),
    );
    expect(codes, `code ${err.code}: ${err.message}`).toContain(err.code);
    expect(err.message).toMatch(names);
    expect(err.retryable).toBe(false);
    errors.push(err);
  }
  expect(fs.readdirSync(newDir), 'nothing written at a new destination').toEqual([]);
  expect(fs.readdirSync(existingDir), 'nothing beside an existing destination').toEqual(['live.db']);
  expect(sha(existing), 'an --overwrite destination stays byte-identical').toBe(existingSha);
  expect(vaultHashes(vdir), 'the vault is unchanged by a failed restore').toEqual(before);
  return errors;
}

describe('the format on disk, judged by the reference XXH3-128', () => {
  it('litevault-vault.json, directories and modes are as documented', () => {
    const j = JSON.parse(fs.readFileSync(path.join(pristine, 'litevault-vault.json'), 'utf8'));
    expect(j).toMatchObject({ format: 'litevault-vault', version: 1 });
    expect(j.vaultId).toMatch(/^[0-9a-f]{32}$/);
    expect(Number.isNaN(Date.parse(j.createdAt))).toBe(false);
    for (const f of walkFiles(pristine)) {
      expect(f, 'every key has a documented form').toMatch(
        /^(litevault-vault\.json|packs\/app\.db\/[0-9a-f]{2}\/[0-9a-f]{32}\.pack|backups\/app\.db\/\d{10}\.manifest|locks\/app\.db\.lock)$/,
      );
      expect(fs.statSync(path.join(pristine, f)).mode & 0o777, f).toBe(0o600);
    }
  });

  for (const which of ['zstd', 'none'] as const) {
    it(`packs (${which}): magic, header, trailer = XXH3-128 of the bytes before it = the key in its name, under its first two hex digits`, () => {
      const d = which === 'zstd' ? pristine : pristineRaw;
      const all = packs(d);
      expect(all.length).toBeGreaterThan(0);
      for (const f of all) {
        const b = fs.readFileSync(path.join(d, f));
        const key = path.basename(f, '.pack');
        expect(b.subarray(0, 8).equals(PACK_MAGIC), f).toBe(true);
        const h = parsePackHeader(b);
        expect(h).toMatchObject({ version: 1, pageSize: 4096, compression: which === 'zstd' ? 1 : 0 });
        expect(h.slots).toBeGreaterThan(0);
        expect(h.slots * h.pageSize).toBeLessThanOrEqual(8 * 1024 * 1024);
        expect(b.length).toBe(32 + h.payload + 16);
        if (which === 'none') expect(h.payload).toBe(h.slots * h.pageSize);
        const sum = xxh128(b.subarray(0, b.length - 16));
        expect(b.subarray(b.length - 16).toString('hex'), f).toBe(sum);
        expect(key).toBe(sum);
        expect(path.basename(path.dirname(f))).toBe(key.slice(0, 2));
      }
    });
  }

  it('manifests: trailer = XXH3-128, meta as documented, runs sorted and in range, and the full\'s page hashes are XXH3-128 of SQLite\'s pages', () => {
    for (const d of [pristine, pristineRaw]) {
      const ms = manifests(d);
      expect(ms.map((f) => path.basename(f))).toEqual(['0000000001.manifest', '0000000002.manifest']);
      for (const f of ms) {
        const b = fs.readFileSync(path.join(d, f));
        expect(b.subarray(b.length - 16).toString('hex'), f).toBe(xxh128(b.subarray(0, b.length - 16)));
        const { meta, runs, hashes } = parseManifest(b);
        expect(meta).toMatchObject({ name: NAME, pageSize: 4096 });
        expect(meta.id).toBe(String(meta.seq));
        expect(path.basename(f)).toBe(`${String(meta.seq).padStart(10, '0')}.manifest`);
        let last = 0;
        for (const r of runs) {
          expect(r.firstPage).toBeGreaterThan(last);
          expect(r.pages).toBeGreaterThan(0);
          last = r.firstPage + r.pages - 1;
          expect(last).toBeLessThanOrEqual(meta.pageCount);
          expect(r.pack).toBeLessThan(meta.packs.length);
          expect(r.firstSlot + r.pages).toBeLessThanOrEqual(meta.packs[r.pack]!.slots);
        }
        expect(hashes.length).toBe(meta.pagesStored);
        for (const p of meta.packs) expect(fs.existsSync(packPath(d, p.key)), p.key).toBe(true);
        if (meta.type === 'full') {
          expect(meta).toMatchObject({ seq: 1, base: null, full: 1 });
          expect(hashes.length).toBe(meta.pageCount);
          const ref = fs.readFileSync(srcRefFull);
          expect(ref.length).toBe(meta.pageCount * 4096);
          const refHashes = xxh128Blocks(ref, 4096);
          // Page 1 of SQLite's copy differs in the per-destination header fields; the rest are equal.
          expect(hashes.slice(1)).toEqual(refHashes.slice(1));
        } else {
          expect(meta).toMatchObject({ seq: 2, type: 'incremental', base: 1, full: 1 });
          expect(hashes.length).toBeLessThan(meta.pageCount / 4);
        }
        if (d === pristineRaw) {
          // Uncompressed: each slot is the page image whose hash the manifest records.
          let i = 0;
          for (const r of runs) {
            const pk = fs.readFileSync(packPath(d, meta.packs[r.pack]!.key));
            const slotHashes = xxh128Blocks(pk.subarray(32, pk.length - 16), 4096);
            for (let j = 0; j < r.pages; j++) expect(slotHashes[r.firstSlot + j], `page ${r.firstPage + j}`).toBe(hashes[i++]);
          }
        }
      }
    }
  });

  it('the good vault restores (the control for every damage below)', async () => {
    for (const d of [copyOf(pristine), copyOf(pristineRaw)]) {
      const v = await Vault.open(d);
      for (const at of ['1', '2']) {
        const out = fresh(`good-${at}.db`);
        await v.restore(NAME, out, { at });
        expect(integrityCheck(out)).toBe('ok');
        expect(logicalDump(out)).toBe(dumpAt[at]);
      }
    }
  });
});

describe('damaged vaults: a typed error naming what is wrong, nothing written at the destination', () => {
  const M2 = /0000000002\.manifest/;

  it('a truncated manifest (0 bytes, 10 bytes, half, all but one byte): LITEVAULT_VAULT_CORRUPT naming it; list fails the same way', async () => {
    const len = fs.statSync(manifestPath(pristine, 2)).size;
    for (const keep of [0, 10, len >> 1, len - 1]) {
      const d = copyOf(pristine);
      fs.truncateSync(manifestPath(d, 2), keep);
      await restoreFails(d, ['LITEVAULT_VAULT_CORRUPT'], M2);
      const err = await rejection((async () => (await Vault.open(d)).list())());
      expect(err.code).toBe('LITEVAULT_VAULT_CORRUPT');
      expect(err.message).toMatch(M2);
    }
  });

  it('a flipped byte in a pack (header, payload, trailer): LITEVAULT_VAULT_CORRUPT naming the pack', async () => {
    const key = parseManifest(fs.readFileSync(manifestPath(pristine, 1))).meta.packs[0]!.key;
    const size = fs.statSync(packPath(pristine, key)).size;
    for (const at of [13, 40, size >> 1, size - 3]) {
      const d = copyOf(pristine);
      const f = packPath(d, key);
      const b = fs.readFileSync(f);
      b[at] = b[at]! ^ 0x10;
      fs.writeFileSync(f, b);
      await restoreFails(d, ['LITEVAULT_VAULT_CORRUPT'], new RegExp(key), '1');
      await restoreFails(d, ['LITEVAULT_VAULT_CORRUPT'], new RegExp(key));
    }
  });

  it('a flipped byte in a manifest (meta, runs, hashes, trailer): LITEVAULT_VAULT_CORRUPT naming it', async () => {
    const b0 = fs.readFileSync(manifestPath(pristine, 2));
    const m = b0.readUInt32LE(12);
    for (const at of [9, 20, 16 + m + 2, 16 + m + 4 + 5, b0.length - 20, b0.length - 1]) {
      const d = copyOf(pristine);
      const b = Buffer.from(b0);
      b[at] = b[at]! ^ 0x01;
      fs.writeFileSync(manifestPath(d, 2), b);
      await restoreFails(d, ['LITEVAULT_VAULT_CORRUPT', 'LITEVAULT_UNSUPPORTED_FORMAT'], M2);
    }
  });

  it('a missing pack: LITEVAULT_VAULT_CORRUPT naming it', async () => {
    const key = parseManifest(fs.readFileSync(manifestPath(pristine, 1))).meta.packs[0]!.key;
    const d = copyOf(pristine);
    fs.unlinkSync(packPath(d, key));
    await restoreFails(d, ['LITEVAULT_VAULT_CORRUPT'], new RegExp(key));
  });

  it('a chain with a hole (the full backup\'s manifest missing): LITEVAULT_VAULT_CORRUPT naming the missing backup', async () => {
    const d = copyOf(pristine);
    fs.unlinkSync(manifestPath(d, 1));
    await restoreFails(d, ['LITEVAULT_VAULT_CORRUPT'], /0000000001|backup 1\b/);
  });

  it('litevault-vault.json: version 3 (unknown; 2 is an encrypted vault) -> LITEVAULT_UNSUPPORTED_FORMAT; another format, missing or not JSON -> LITEVAULT_NOT_A_VAULT; all naming the file', async () => {
    const cases: Array<[string | null, string[]]> = [
      [JSON.stringify({ format: 'litevault-vault', version: 3, vaultId: '0'.repeat(32), createdAt: new Date().toISOString() }), ['LITEVAULT_UNSUPPORTED_FORMAT']],
      [JSON.stringify({ format: 'something-else', version: 1 }), ['LITEVAULT_NOT_A_VAULT']],
      [null, ['LITEVAULT_NOT_A_VAULT']],
      ['{"format": "litevault-vault", "vers', ['LITEVAULT_NOT_A_VAULT', 'LITEVAULT_VAULT_CORRUPT']],
    ];
    for (const [content, codes] of cases) {
      const d = copyOf(pristine);
      const f = path.join(d, 'litevault-vault.json');
      if (content === null) fs.unlinkSync(f);
      else fs.writeFileSync(f, content);
      await restoreFails(d, codes, /litevault-vault\.json|not a (litevault )?vault/i);
      const err = await rejection(Vault.open(d));
      expect(codes).toContain(err.code);
      // Opening with create never overwrites what is there.
      const before = content === null ? null : fs.readFileSync(f, 'utf8');
      if (content !== null) {
        await rejection(Vault.open(d, { create: true }));
        expect(fs.readFileSync(f, 'utf8')).toBe(before);
      }
    }
  });

  it('a manifest of format version 2: LITEVAULT_UNSUPPORTED_FORMAT naming it (valid checksum); with a stale checksum either error', async () => {
    const d = copyOf(pristine);
    const b = fs.readFileSync(manifestPath(d, 2));
    b.writeUInt32LE(2, 8);
    fs.writeFileSync(manifestPath(d, 2), reseal(b));
    await restoreFails(d, ['LITEVAULT_UNSUPPORTED_FORMAT'], M2);
    const d2 = copyOf(pristine);
    const b2 = fs.readFileSync(manifestPath(d2, 2));
    b2.writeUInt32LE(2, 8);
    fs.writeFileSync(manifestPath(d2, 2), b2);
    await restoreFails(d2, ['LITEVAULT_UNSUPPORTED_FORMAT', 'LITEVAULT_VAULT_CORRUPT'], M2);
  });

  /** Replaces pack `key` of `d` by `bytes` under its new key, patching and resealing every manifest naming it. */
  function replacePack(d: string, key: string, bytes: Buffer): string {
    const sealed = reseal(bytes);
    const newKey = sealed.subarray(sealed.length - 16).toString('hex');
    fs.unlinkSync(packPath(d, key));
    fs.mkdirSync(path.dirname(packPath(d, newKey)), { recursive: true, mode: 0o700 });
    fs.writeFileSync(packPath(d, newKey), sealed, { mode: 0o600 });
    for (const f of manifests(d)) {
      const p = path.join(d, f);
      const b = fs.readFileSync(p);
      const m = b.readUInt32LE(12);
      const meta = b.subarray(16, 16 + m).toString('utf8');
      if (!meta.includes(key)) continue;
      Buffer.from(meta.split(key).join(newKey), 'utf8').copy(b, 16); // same length: 32 hex digits
      fs.writeFileSync(p, reseal(b));
    }
    return newKey;
  }

  it('a pack of format version 2 with every checksum and key valid: LITEVAULT_UNSUPPORTED_FORMAT naming the pack', async () => {
    const d = copyOf(pristine);
    const key = parseManifest(fs.readFileSync(manifestPath(d, 1))).meta.packs[0]!.key;
    const b = fs.readFileSync(packPath(d, key));
    b.writeUInt32LE(2, 8);
    const newKey = replacePack(d, key, b);
    await restoreFails(d, ['LITEVAULT_UNSUPPORTED_FORMAT'], new RegExp(newKey), '1');
  });

  it('a page whose image no longer matches its hash, every checksum valid: LITEVAULT_VAULT_CORRUPT naming the backup, the pack and the page', async () => {
    const d = copyOf(pristineRaw);
    const { meta, runs } = parseManifest(fs.readFileSync(manifestPath(d, 1)));
    // A page of the full that the incremental did not replace: restore of either backup needs it.
    const inc = parseManifest(fs.readFileSync(manifestPath(d, 2)));
    const replaced = new Set<number>();
    for (const r of inc.runs) for (let j = 0; j < r.pages; j++) replaced.add(r.firstPage + j);
    const run = runs.find((r) => r.pages > 10)!;
    let page = run.firstPage + 5;
    while (replaced.has(page)) page++;
    const slot = run.firstSlot + (page - run.firstPage);
    const key = meta.packs[run.pack]!.key;
    const b = fs.readFileSync(packPath(d, key));
    const off = 32 + slot * 4096 + 1000;
    b[off] = b[off]! ^ 0xff;
    const newKey = replacePack(d, key, b);
    for (const at of ['1', '2']) {
      const errs = await restoreFails(d, ['LITEVAULT_VAULT_CORRUPT'], new RegExp(`page ${page}\\b`), at);
      for (const e of errs) {
        expect(e.message).toContain(newKey);
        expect(e.message).toMatch(/backup|manifest/);
      }
    }
  });

  it('foreign files in backups/<name>/: list() and restore fail with LITEVAULT_VAULT_CORRUPT naming them; a .tmp-* temporary is not foreign', async () => {
    for (const rel of [`backups/${NAME}/notes.txt`, `backups/${NAME}/0000000003.manifest.bak`, `backups/${NAME}/12.manifest`]) {
      const d = copyOf(pristine);
      fs.writeFileSync(path.join(d, rel), 'not part of the vault');
      const names = new RegExp(path.basename(rel).replace(/\./g, '\\.'));
      const listed = await rejection((async () => (await Vault.open(d)).list())());
      expect(listed.code, `list() with foreign ${rel}`).toBe('LITEVAULT_VAULT_CORRUPT');
      expect(listed.message).toMatch(names);
      await restoreFails(d, ['LITEVAULT_VAULT_CORRUPT'], names);
      expect(fs.existsSync(path.join(d, rel)), 'a foreign file is never removed').toBe(true);
    }
    const d = copyOf(pristine);
    fs.writeFileSync(path.join(d, 'backups', NAME, '.tmp-12345-abcdef'), 'half a manifest');
    const v = await Vault.open(d);
    const out = fresh('tmp-ok.db');
    await v.restore(NAME, out);
    expect(logicalDump(out)).toBe(dumpAt['2']);
  });

  it('foreign files at the top level: list() and prune fail with LITEVAULT_VAULT_CORRUPT naming them, and keep them', async () => {
    for (const rel of ['README.txt', 'extra/notes.txt']) {
      const d = copyOf(pristine);
      fs.mkdirSync(path.dirname(path.join(d, rel)), { recursive: true });
      fs.writeFileSync(path.join(d, rel), 'not part of the vault');
      const before = vaultHashes(d);
      const v = await Vault.open(d);
      for (const op of [() => v.list(), () => v.prune({ keepLast: 1 })]) {
        const err = await rejection(op());
        expect(err.code).toBe('LITEVAULT_VAULT_CORRUPT');
        expect(err.message).toContain(rel.split('/')[0]);
      }
      expect(vaultHashes(d)).toEqual(before);
    }
  });

  // Objects only: an empty directory is no object (object storage has none), so it is ignored.
  it('foreign entries at the top level (a file, a file in a foreign directory) also fail a restore, with nothing written', async () => {
    for (const rel of ['README.txt', 'extra/notes.txt']) {
      const d = copyOf(pristine);
      fs.mkdirSync(path.dirname(path.join(d, rel)), { recursive: true });
      fs.writeFileSync(path.join(d, rel), 'not part of the vault');
      await restoreFails(d, ['LITEVAULT_VAULT_CORRUPT'], new RegExp(rel.replace(/\./g, '\\.')));
      expect(fs.existsSync(path.join(d, rel))).toBe(true);
    }
  });

  it('a foreign file in packs/<name>/: prune fails with LITEVAULT_VAULT_CORRUPT naming it and removes nothing; a backup never removes it', async () => {
    const d = copyOf(pristine);
    const foreign = path.join(d, 'packs', NAME, 'zz', 'stray.bin');
    fs.mkdirSync(path.dirname(foreign), { recursive: true });
    fs.writeFileSync(foreign, 'stray');
    const before = vaultHashes(d);
    const v = await Vault.open(d);
    for (const opts of [{ keepLast: 1 }, { keepLast: 1, name: NAME }]) {
      const err = await rejection(v.prune(opts));
      expect(err.code, `prune(${JSON.stringify(opts)})`).toBe('LITEVAULT_VAULT_CORRUPT');
      expect(err.message).toMatch(/stray\.bin/);
      expect(vaultHashes(d), `prune(${JSON.stringify(opts)}) removes nothing`).toEqual(before);
    }
    const src = fresh('other.db');
    sqliteShell(src, 'CREATE TABLE x(a); INSERT INTO x VALUES (1);');
    const r = await v.backup(src, { name: NAME, fallbackToFull: true }).then(
      () => null,
      (e: unknown) => e as LitevaultError,
    );
    if (r !== null) {
      expect(r.code).toBe('LITEVAULT_VAULT_CORRUPT');
      expect(r.message).toMatch(/stray\.bin/);
    }
    expect(fs.readFileSync(foreign, 'utf8')).toBe('stray');
  });
});
