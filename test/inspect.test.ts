// inspect() against real SQLite: over a corpus that real SQLite builds, every header value
// litevault reads must equal what SQLite's PRAGMAs report, the WAL frame count must equal the
// `log` column of SQLite's own checkpoint of a copy, and no input file may change. Bad inputs
// must give the right LitevaultError code, which real SQLite's own verdict backs where it has one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { inspect, LitevaultError } from '../dist/index.js';
import { corpusSpecs, createDatabase } from './oracle/corpus';
import { pragmas, reservedBytes, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';

afterAll(removeTmpDirs);

const dir = tmpDir('litevault-inspect-');

function fingerprint(db: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    const f = db + suffix;
    out[suffix || 'db'] = fs.existsSync(f) ? createHash('sha256').update(fs.readFileSync(f)).digest('hex') : null;
  }
  return out;
}

// A copy of the database (and its -wal) that SQLite may open read-write, checkpoint and clean up
// without touching the original.
function copyOf(db: string, name: string): string {
  const copy = path.join(tmpDir('litevault-inspect-copy-'), name);
  fs.copyFileSync(db, copy);
  if (fs.existsSync(db + '-wal')) fs.copyFileSync(db + '-wal', copy + '-wal');
  return copy;
}

// SQLite's own count of committed WAL frames: recovery on a copy, then `log` of a PASSIVE checkpoint.
function sqliteWalFrames(db: string): number {
  const rows = JSON.parse(sqliteShell(copyOf(db, 'frames.db'), 'PRAGMA wal_checkpoint(PASSIVE);', { json: true }));
  return rows[0].log;
}

async function expectError(p: string, code: string): Promise<LitevaultError> {
  const err = await inspect(p).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LitevaultError);
  expect((err as LitevaultError).code).toBe(code);
  expect((err as LitevaultError).retryable).toBe(false);
  return err as LitevaultError;
}

// What the sqlite3 shell says when it opens the file and reads the schema (on a copy).
function sqliteVerdict(file: string): string {
  try {
    sqliteShell(copyOf(file, 'verdict.db'), 'SELECT count(*) FROM sqlite_schema;');
    return 'ok';
  } catch (e) {
    return String((e as Error).message);
  }
}

describe('inspect() equals real SQLite over the corpus', () => {
  for (const { name, spec } of corpusSpecs()) {
    it(`${name}: every header value equals SQLite's PRAGMAs, files untouched`, async () => {
      const db = path.join(dir, `${name}.db`);
      createDatabase(db, spec);
      const before = fingerprint(db);
      const info = await inspect(db);
      expect(fingerprint(db)).toEqual(before);

      const p = pragmas(copyOf(db, 'pragmas.db'), { readOnlyUri: true });
      expect(info.pageCount).toBe(p.pageCount);
      if (info.empty) {
        expect(p.pageCount).toBe(0);
        expect(fs.statSync(db).size).toBe(0);
        return;
      }
      expect(info.pageSize).toBe(p.pageSize);
      expect(info.freelistCount).toBe(p.freelistCount);
      expect(info.schemaCookie).toBe(p.schemaVersion);
      expect(info.userVersion).toBe(p.userVersion);
      expect(info.applicationId).toBe(p.applicationId);
      expect(info.textEncoding).toBe(p.encoding);
      expect(info.autoVacuum).toBe(['none', 'full', 'incremental'][p.autoVacuum]);
      expect(info.journalMode).toBe(p.journalMode === 'wal' ? 'wal' : 'rollback');
      expect(info.reservedBytes).toBe(reservedBytes(copyOf(db, 'reserved.db'), { readOnlyUri: true }));
      expect(info.inHeaderSizeValid).toBe(true);
      if (fs.existsSync(db + '-wal')) {
        expect(info.wal).not.toBeNull();
        expect(info.wal!.frames).toBe(sqliteWalFrames(db));
      } else {
        expect(info.wal).toBeNull();
      }
    });
  }
});

describe('inspect() follows SQLite through commits and WAL damage', () => {
  it('the change counter rises by one per rollback-mode commit that real SQLite makes', async () => {
    const db = path.join(dir, 'counter.db');
    sqliteShell(db, 'CREATE TABLE t(x);');
    const first = await inspect(db);
    sqliteShell(db, 'INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); INSERT INTO t VALUES (3);');
    const second = await inspect(db);
    expect(second.changeCounter - first.changeCounter).toBe(3);
    expect(second.versionValidFor).toBe(second.changeCounter);
    expect(second.sqliteVersion).toBe(3040001); // the sqlite3 shell that wrote it
  });

  it('a WAL cut in the middle of its last frame counts only complete committed frames, as SQLite does', async () => {
    const db = path.join(dir, 'torn.db');
    createDatabase(db, { journalMode: 'wal', keepWal: true, targetBytes: 64 * 1024 });
    const whole = await inspect(db);
    expect(whole.wal!.frames).toBeGreaterThan(2);
    fs.truncateSync(db + '-wal', fs.statSync(db + '-wal').size - 100);
    const torn = await inspect(db);
    expect(torn.wal!.frames).toBeLessThan(whole.wal!.frames);
    expect(torn.wal!.frames).toBe(sqliteWalFrames(db));
  });

  it('a WAL frame with a bad checksum ends the valid WAL at the commit before it, as SQLite does', async () => {
    const db = path.join(dir, 'badsum.db');
    createDatabase(db, { journalMode: 'wal', keepWal: true, targetBytes: 64 * 1024 });
    const whole = await inspect(db);
    const frameSize = whole.wal!.pageSize + 24;
    const middle = Math.ceil(whole.wal!.frames / 2);
    const fd = fs.openSync(db + '-wal', 'r+');
    const at = 32 + (middle - 1) * frameSize + 24 + 100;
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0xff;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
    const damaged = await inspect(db);
    expect(damaged.wal!.frames).toBeLessThan(middle);
    expect(damaged.wal!.frames).toBe(sqliteWalFrames(db));
  });
});

describe('bad inputs give typed errors and stay byte-identical', () => {
  function realDb(name: string): string {
    const db = path.join(dir, name);
    sqliteShell(db, 'PRAGMA page_size=1024; CREATE TABLE t(x); INSERT INTO t VALUES (1);');
    return db;
  }
  function patch(file: string, offset: number, bytes: number[]): void {
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from(bytes), 0, bytes.length, offset);
    fs.closeSync(fd);
  }
  async function expectUntouched(file: string, code: string): Promise<LitevaultError> {
    const before = fingerprint(file);
    const err = await expectError(file, code);
    expect(fingerprint(file)).toEqual(before);
    expect(err.message).toContain(file);
    return err;
  }

  it('a text file is SQLITE_NOTADB, as SQLite says', async () => {
    const f = path.join(dir, 'text.txt');
    fs.writeFileSync(f, 'hello, this is not a database\n'.repeat(100));
    await expectUntouched(f, 'SQLITE_NOTADB');
    expect(sqliteVerdict(f)).toMatch(/file is not a database/);
  });

  it('a missing file is SQLITE_CANTOPEN with errno ENOENT', async () => {
    const err = await expectError(path.join(dir, 'missing.db'), 'SQLITE_CANTOPEN');
    expect(err.errno).toBe(2);
  });

  it('a header cut short is SQLITE_CORRUPT', async () => {
    for (const size of [10, 16, 60, 99]) {
      const f = path.join(dir, `short-${size}.db`);
      fs.writeFileSync(f, fs.readFileSync(realDb(`whole-${size}.db`)).subarray(0, size));
      await expectUntouched(f, 'SQLITE_CORRUPT');
    }
  });

  it('a page size that is not a power of two is SQLITE_NOTADB, as SQLite says', async () => {
    const f = realDb('pagesize.db');
    patch(f, 16, [0x03, 0xe8]); // 1000
    await expectUntouched(f, 'SQLITE_NOTADB');
    expect(sqliteVerdict(f)).toMatch(/file is not a database/);
  });

  it('reserved bytes leaving under 480 usable bytes is SQLITE_NOTADB, as SQLite says', async () => {
    const f = path.join(dir, 'reserved.db');
    sqliteShell(f, 'PRAGMA page_size=512; CREATE TABLE t(x);');
    patch(f, 20, [100]); // 512 - 100 = 412 usable bytes
    await expectUntouched(f, 'SQLITE_NOTADB');
    expect(sqliteVerdict(f)).toMatch(/file is not a database/);
  });

  it('a read version above 2 is SQLITE_NOTADB, as SQLite says', async () => {
    const f = realDb('readversion.db');
    patch(f, 19, [3]);
    await expectUntouched(f, 'SQLITE_NOTADB');
    expect(sqliteVerdict(f)).toMatch(/file is not a database/);
  });

  it('a valid in-header size larger than the file is SQLITE_CORRUPT, as SQLite says', async () => {
    const f = realDb('toolarge.db');
    patch(f, 28, [0, 0, 0, 100]);
    await expectUntouched(f, 'SQLITE_CORRUPT');
    expect(sqliteVerdict(f)).toMatch(/malformed/);
  });

  it('a directory is SQLITE_CANTOPEN_ISDIR', async () => {
    await expectError(tmpDir('litevault-dir-'), 'SQLITE_CANTOPEN_ISDIR');
  });

  it('a FIFO is SQLITE_CANTOPEN and does not hang', async () => {
    const f = path.join(dir, 'fifo');
    execFileSync('mkfifo', [f]);
    await expectError(f, 'SQLITE_CANTOPEN');
  });

  it('a file without read permission is SQLITE_CANTOPEN with errno EACCES', async () => {
    const f = realDb('noperm.db');
    fs.chmodSync(f, 0o000);
    if (process.getuid?.() !== 0) {
      const err = await expectError(f, 'SQLITE_CANTOPEN');
      expect(err.errno).toBe(13);
      return;
    }
    // root reads anything: drop the capabilities that let it ignore file modes (the file
    // stays as it is; the process checking it loses the override).
    const script = `require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))}).inspect(${JSON.stringify(f)}).then(() => console.log('opened'), (e) => console.log(e.code, e.errno))`;
    const out = execFileSync('setpriv', ['--bounding-set=-dac_override,-dac_read_search', process.execPath, '-e', script], { encoding: 'utf8' });
    expect(out.trim()).toBe('SQLITE_CANTOPEN 13');
  });

  it('bad arguments are SQLITE_MISUSE', async () => {
    await expectError('', 'SQLITE_MISUSE');
    // @ts-expect-error: a number is not a path
    await expect(inspect(42)).rejects.toMatchObject({ code: 'SQLITE_MISUSE' });
    await expectError('a\0b', 'SQLITE_MISUSE');
  });
});
