/**
 * cksumvfs page checksums (issue 13, item 4), judged by real SQLite: the databases are written
 * by the sqlite3 shell THROUGH SQLite's own cksumvfs extension (test/oracle/cksumvfs.ts builds
 * it from Debian's sqlite3 source package), and cksumvfs is what says a damaged page is damaged
 * (SQLITE_IOERR_DATA) while plain SQLite, which ignores reserved bytes, says ok.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup, verify } from '../dist/index.js';
import { cksumvfsExtension, cksumvfsShell, cksumvfsUnavailable } from './oracle/cksumvfs';
import { rejection } from './oracle/expect';
import { integrityCheck, removeTmpDirs, sqliteShell, SQLITE3_BIN, tmpDir } from './oracle/sqlite';

let ext: string | null = null;
let dir = '';

beforeAll(() => {
  ext = cksumvfsExtension();
  if (ext === null) console.warn(`verify-cksumvfs: ${cksumvfsUnavailable}`);
  dir = tmpDir('litevault-cksumvfs-');
}, 300_000);
afterAll(removeTmpDirs);

const FILL = `
.filectrl reserve_bytes 8
CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b BLOB);
CREATE INDEX t_a ON t(a);
WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1500)
  INSERT INTO t SELECT i, printf('row %d %s', i, hex(randomblob(i % 40))), randomblob(i % 700) FROM r;
DELETE FROM t WHERE id % 9 = 0;
VACUUM;
`;

// SQLite through cksumvfs: quick_check's verdict, or the error it fails with.
function cksumvfsVerdict(db: string): string {
  try {
    return cksumvfsShell(ext!, db, 'PRAGMA quick_check;').trim();
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err).trim();
  }
}

function make(pageSize: number): string {
  const db = join(dir, `c${pageSize}.db`);
  cksumvfsShell(ext!, db, `PRAGMA page_size=${pageSize};\n${FILL}`);
  return db;
}

// A byte in the middle of a record body on `page` (not a structure our check reads): only the
// checksum can tell. Returns the damaged copy.
function damageBody(db: string, pageSize: number): { file: string; page: number } {
  const bytes = readFileSync(db);
  const page = Math.floor(bytes.length / pageSize / 2);
  const at = (page - 1) * pageSize + pageSize - 8 - 40;  // inside the cell content area, before the 8 reserved bytes
  bytes[at] ^= 0x01;
  const file = join(dir, `damaged-${pageSize}.db`);
  writeFileSync(file, bytes);
  return { file, page };
}

describe.each([512, 4096, 65536])('cksumvfs, %i-byte pages', (pageSize) => {
  it('a database written through cksumvfs: SQLite (cksumvfs) and litevault say ok, with checksums verified', async (ctx) => {
    if (ext === null) return ctx.skip();
    const db = make(pageSize);
    expect(sqliteShell(db, 'PRAGMA page_size;').trim()).toBe(String(pageSize));
    expect(cksumvfsVerdict(db)).toBe('ok');
    const before = readFileSync(db);
    const r = await verify(db);
    expect(r).toMatchObject({ ok: true, cksumvfs: true, findingCount: 0 });
    expect(readFileSync(db).equals(before)).toBe(true);
  });

  it('one flipped body byte: cksumvfs says IOERR_DATA and plain SQLite ok; litevault names the page', async (ctx) => {
    if (ext === null) return ctx.skip();
    const db = join(dir, `c${pageSize}.db`);
    const { file, page } = damageBody(db, pageSize);
    expect(cksumvfsVerdict(file)).toMatch(/error code=8202|disk I\/O error|IOERR/i);
    const r = await verify(file);
    expect(r.ok).toBe(false);
    expect(r.cksumvfs).toBe(true);
    expect(r.findings).toContainEqual({ page, structure: 'cksumvfs', message: `Page ${page}: cksumvfs checksum mismatch` });
    // A backup that verifies refuses it, and makes no destination.
    const err = await rejection(backup(file, join(dir, `out-${pageSize}.db`), { verify: true }));
    expect(err.code).toBe('SQLITE_CORRUPT');
    expect(err.message).toContain(`page ${page}`);
    expect(await verify(file, { cksumvfs: false })).toMatchObject({ cksumvfs: false });
  });

  it('a verified backup of a cksumvfs database keeps every checksum (SQLite through cksumvfs checks the copy)', async (ctx) => {
    if (ext === null) return ctx.skip();
    const db = join(dir, `c${pageSize}.db`);
    const out = join(dir, `copy-${pageSize}.db`);
    await backup(db, out, { verify: true });
    expect(cksumvfsVerdict(out)).toBe('ok');
    expect(integrityCheck(out)).toBe('ok');
  });
});

describe('8 reserved bytes without cksumvfs', () => {
  it('is no cksumvfs database: auto leaves checksums alone; cksumvfs: true calls every page wrong', async () => {
    const db = join(dir, 'reserved.db');
    execFileSync(SQLITE3_BIN, ['-batch', '-bail', db], { input: `PRAGMA page_size=4096;\n${FILL}`, encoding: 'utf8' });
    expect(integrityCheck(db)).toBe('ok');
    expect(readFileSync(db)[20]).toBe(8);
    expect(await verify(db)).toMatchObject({ ok: true, cksumvfs: false });
    const forced = await verify(db, { cksumvfs: true, maxFindings: 5 });
    expect(forced.ok).toBe(false);
    expect(forced.findings.every((f) => f.structure === 'cksumvfs')).toBe(true);
    copyFileSync(db, join(dir, 'reserved-copy.db'));
  });
});
