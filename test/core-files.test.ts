// The core's file rules against real SQLite (issue 10 items 1, 10, 11, 12): paths resolved as
// SQLite resolves them (so journal, -wal and -shm are SQLite's files), companion files created
// with the database's mode, a 0-byte -wal treated as absent, a stale -wal beside an empty
// database never trusted, backups into WAL destinations left self-contained, super-journals
// handled as pager.c does, and the first OS error reported.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Backup, backup, Database, LitevaultError } from '../dist/index.js';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';
import { rejection } from './oracle/expect';

afterAll(removeTmpDirs);
const ro = { readOnlyUri: true } as const;

/** Bytes SQLite itself changes in a backup (change counter, schema cookie, version-valid-for). */
function maskHeader(b: Buffer): Buffer {
  const c = Buffer.from(b);
  for (const [from, to] of [[24, 28], [40, 44], [92, 100]]) c.fill(0, from, to);
  return c;
}

/** A WAL database whose 1000 committed rows are still only in its -wal (SQLite left them there). */
function walWithFrames(file: string, rows = 1000): void {
  sqliteShell(
    file,
    [
      '.dbconfig no_ckpt_on_close on',
      'PRAGMA journal_mode=wal;',
      'PRAGMA wal_autocheckpoint=0;',
      'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);',
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ${rows}) INSERT INTO t SELECT i, printf('row-%d-%s', i, hex(randomblob(20))) FROM n;`,
    ].join('\n') + '\n',
  );
  expect(fs.statSync(file + '-wal').size).toBeGreaterThan(4096);
}

function count(file: string): number {
  return Number(sqliteShell(file, 'SELECT count(*) FROM t;\n', ro).trim());
}

describe('paths are resolved as SQLite resolves them (unixFullPathname)', () => {
  it('a WAL source opened through a symlink is read with the real file\'s -wal, and nothing is created beside the link', async () => {
    const dir = tmpDir('litevault-symlink-');
    const real = path.join(dir, 'real.db');
    walWithFrames(real);
    const link = path.join(dir, 'link.db');
    fs.symlinkSync(real, link);
    const out = path.join(dir, 'out.db');
    const result = await backup(link, out);
    expect(result.pageCount).toBeGreaterThan(1);
    expect(fs.existsSync(link + '-wal')).toBe(false);
    expect(fs.existsSync(link + '-shm')).toBe(false);
    expect(count(out)).toBe(1000);
    expect(integrityCheck(out, ro)).toBe('ok');
    // SQLite's own backup through the same link: the same image outside the usual header bytes.
    const theirs = path.join(dir, 'theirs.db');
    sqliteShell(link, `.backup '${theirs}'\n`, ro);
    expect(maskHeader(fs.readFileSync(out)).equals(maskHeader(fs.readFileSync(theirs)))).toBe(true);
  });

  it('a symlink to a symlink in a symlinked directory reaches the real file and its -wal', async () => {
    const dir = tmpDir('litevault-symlink2-');
    fs.mkdirSync(path.join(dir, 'data'));
    const real = path.join(dir, 'data', 'real.db');
    walWithFrames(real, 300);
    fs.symlinkSync(path.join(dir, 'data'), path.join(dir, 'alias'));
    fs.symlinkSync('real.db', path.join(dir, 'data', 'l1.db')); // relative target
    fs.symlinkSync(path.join(dir, 'alias', 'l1.db'), path.join(dir, 'l2.db'));
    const out = path.join(dir, 'out.db');
    await backup(path.join(dir, 'l2.db'), out);
    expect(fs.readdirSync(dir).sort()).toEqual(['alias', 'data', 'l2.db', 'out.db']);
    expect(count(out)).toBe(300);
  });

  it('a rollback source with a hot journal, opened through a symlink, is rolled back with the real file\'s journal', async () => {
    const dir = tmpDir('litevault-symlink-hot-');
    const real = path.join(dir, 'real.db');
    sqliteShell(real, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000) INSERT INTO t SELECT i, hex(randomblob(50)) FROM n;\n");
    const before = logicalDump(real, ro);
    // A writer killed mid-transaction after spilling into the database file leaves a hot journal.
    const bs3 = require.resolve('better-sqlite3');
    const script = `const D = require(${JSON.stringify(bs3)}); const db = new D(${JSON.stringify(real)}); db.pragma('cache_size = 5'); db.exec('BEGIN'); db.exec("UPDATE t SET v = hex(randomblob(60))"); process.kill(process.pid, 'SIGKILL');`;
    expect(spawnSync(process.execPath, ['-e', script]).signal).toBe('SIGKILL');
    expect(fs.statSync(real + '-journal').size).toBeGreaterThan(0);
    const link = path.join(dir, 'link.db');
    fs.symlinkSync(real, link);
    const out = path.join(dir, 'out.db');
    await backup(link, out);
    expect(fs.existsSync(real + '-journal')).toBe(false);
    expect(fs.existsSync(link + '-journal')).toBe(false);
    expect(logicalDump(out, ro)).toBe(before);
    expect(logicalDump(real, ro)).toBe(before);
  });

  it('a destination reached through a symlink is written through the real file, whose journal SQLite would find', async () => {
    const dir = tmpDir('litevault-symlink-dst-');
    const src = path.join(dir, 'src.db');
    sqliteShell(src, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\nINSERT INTO t VALUES (1, 'new');\n");
    const real = path.join(dir, 'real.db');
    sqliteShell(real, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\nINSERT INTO t VALUES (1, 'old');\n");
    const link = path.join(dir, 'link.db');
    fs.symlinkSync(real, link);
    const s = await Database.open(src);
    const d = await Database.open(link);
    const b = new Backup(s, d);
    try {
      await b.step(1);
      // Mid-backup, the journal that protects the destination sits beside the real file.
      expect(fs.existsSync(real + '-journal')).toBe(true);
      expect(fs.existsSync(link + '-journal')).toBe(false);
    } finally {
      await b.finish();
      await d.close();
      await s.close();
    }
    await backup(src, link);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(sqliteShell(real, 'SELECT v FROM t;\n', ro).trim()).toBe('new');
  });

  it('a relative path keeps naming the same file after process.chdir()', async () => {
    const dir = tmpDir('litevault-relative-');
    const elsewhere = tmpDir('litevault-elsewhere-');
    walWithFrames(path.join(dir, 'rel.db'), 200);
    const cwd = process.cwd();
    process.chdir(dir);
    let db: Database;
    try {
      db = await Database.open('rel.db');
    } finally {
      process.chdir(elsewhere);
    }
    try {
      const out = path.join(dir, 'out.db');
      await backup(db, out);
      expect(count(out)).toBe(200);
      expect(fs.readdirSync(elsewhere)).toEqual([]);
    } finally {
      await db.close();
      process.chdir(cwd);
    }
  });
});

describe('companion files and stale files, as SQLite treats them', () => {
  it('a 0600 database gets a 0600 journal, -wal and -shm (SQLite copies the database\'s mode)', async () => {
    const dir = tmpDir('litevault-modes-');
    const src = path.join(dir, 'src.db');
    sqliteShell(src, "PRAGMA journal_mode=wal;\nCREATE TABLE t(x);\nINSERT INTO t VALUES (1);\n");
    fs.chmodSync(src, 0o600);
    const dst = path.join(dir, 'dst.db');
    sqliteShell(dst, 'CREATE TABLE old(x);\n');
    fs.chmodSync(dst, 0o600);
    const s = await Database.open(src);
    const d = await Database.open(dst);
    const b = new Backup(s, d);
    try {
      await b.step(1);
      expect(fs.statSync(dst + '-journal').mode & 0o777).toBe(0o600);
      expect(fs.statSync(src + '-wal').mode & 0o777).toBe(0o600);
      expect(fs.statSync(src + '-shm').mode & 0o777).toBe(0o600);
    } finally {
      await b.finish();
      await d.close();
      await s.close();
    }
  });

  it('a 0-byte -wal beside a rollback database is treated as absent: the backup copies the rollback database', async () => {
    const dir = tmpDir('litevault-empty-wal-');
    const src = path.join(dir, 'src.db');
    sqliteShell(src, "CREATE TABLE t(x);\nINSERT INTO t VALUES (42);\n");
    fs.writeFileSync(src + '-wal', '');
    const out = path.join(dir, 'out.db');
    const r = await backup(src, out);
    expect(r.mode).toBe('restart'); // a rollback-journal source
    expect(fs.existsSync(src + '-shm')).toBe(false);
    expect(sqliteShell(out, 'SELECT x FROM t;\n', ro).trim()).toBe('42');
  });

  it('a stale -wal left beside a deleted-and-recreated destination never resurrects the old rows', async () => {
    const dir = tmpDir('litevault-stale-wal-');
    const first = path.join(dir, 'first.db');
    walWithFrames(first, 500);
    const second = path.join(dir, 'second.db');
    sqliteShell(second, "CREATE TABLE other(y);\nINSERT INTO other VALUES ('second');\n");
    const dst = path.join(dir, 'b.db');
    await backup(first, dst);
    // The user deletes the backup but not its companions, and backs up another database there.
    const leftover = fs.existsSync(dst + '-wal');
    fs.rmSync(dst);
    if (!leftover) fs.copyFileSync(first + '-wal', dst + '-wal'); // make the stale -wal exist either way
    await backup(second, dst);
    expect(integrityCheck(dst, ro)).toBe('ok');
    expect(sqliteShell(dst, "SELECT name FROM sqlite_schema WHERE type='table';\n", ro).trim()).toBe('other');
  });

  it('a backup over an existing WAL-mode database that nobody else has open ends self-contained: no -wal, the file alone holds the copy', async () => {
    const dir = tmpDir('litevault-wal-dst-');
    const src = path.join(dir, 'src.db');
    walWithFrames(src, 400);
    const dst = path.join(dir, 'b.db');
    sqliteShell(dst, "PRAGMA journal_mode=wal;\nCREATE TABLE old(x);\nINSERT INTO old VALUES ('old');\n");
    expect(fs.existsSync(dst + '-wal')).toBe(false);
    await backup(src, dst);
    expect(fs.existsSync(dst + '-wal')).toBe(false);
    expect(fs.existsSync(dst + '-shm')).toBe(false);
    // Copy only the database file, as a user shipping the backup would.
    const shipped = path.join(dir, 'shipped.db');
    fs.copyFileSync(dst, shipped);
    expect(count(shipped)).toBe(400);
    expect(integrityCheck(shipped, ro)).toBe('ok');
  });

  it('a backup into a WAL destination that better-sqlite3 keeps open leaves the -wal (SQLite\'s last-close rule)', async () => {
    const dir = tmpDir('litevault-wal-dst-open-');
    const src = path.join(dir, 'src.db');
    walWithFrames(src, 100);
    const dst = path.join(dir, 'b.db');
    const Better = (await import('better-sqlite3')).default;
    const other = new Better(dst);
    try {
      other.pragma('journal_mode = wal');
      other.exec('CREATE TABLE old(x)');
      await backup(src, dst);
      expect(fs.existsSync(dst + '-wal')).toBe(true); // someone else still uses the WAL
      expect((other.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(100);
    } finally {
      other.close();
    }
  });

  it('a super-journal is deleted after the last hot journal naming it is played back, and a 0-byte one counts as absent', async () => {
    const dir = tmpDir('litevault-super-');
    const src = path.join(dir, 'src.db');
    sqliteShell(src, "CREATE TABLE t(x);\nINSERT INTO t VALUES ('before');\n");
    const before = fs.readFileSync(src);
    const pageSize = before.readUInt16BE(16) || 65536;
    // A hot journal (SQLite's layout) whose one record restores page 1, pointing at a super-journal.
    const superName = path.join(dir, 'src.db-mj0123ABCD');
    const journalFor = (superPath: string): Buffer => {
      const header = Buffer.alloc(512);
      Buffer.from('d9d505f920a163d7', 'hex').copy(header, 0);
      header.writeUInt32BE(1, 8); // nRec
      header.writeUInt32BE(7, 12); // checksum initializer
      header.writeUInt32BE(before.length / pageSize, 16); // original page count
      header.writeUInt32BE(512, 20); // sector size
      header.writeUInt32BE(pageSize, 24);
      const record = Buffer.alloc(4 + pageSize + 4);
      record.writeUInt32BE(1, 0);
      before.copy(record, 4, 0, pageSize);
      let sum = 7;
      for (let i = pageSize - 200; i > 0; i -= 200) sum = (sum + record[4 + i]) >>> 0;
      record.writeUInt32BE(sum, 4 + pageSize);
      const name = Buffer.from(superPath);
      let nameSum = 0;
      for (const c of name) nameSum = (nameSum + (c > 127 ? c - 256 : c)) | 0;
      const tail = Buffer.alloc(4 + name.length + 16);
      tail.writeUInt32BE(Math.floor(0x40000000 / pageSize) + 1, 0);
      name.copy(tail, 4);
      tail.writeUInt32BE(name.length, 4 + name.length);
      tail.writeInt32BE(nameSum, 8 + name.length);
      Buffer.from('d9d505f920a163d7', 'hex').copy(tail, 12 + name.length);
      return Buffer.concat([header, record, tail]);
    };
    const damage = (): void => {
      const b = fs.readFileSync(src);
      b.write('XXXXXX', 100 + 50);
      fs.writeFileSync(src, b);
    };

    // 1. The super-journal exists and names only this journal: play back, then delete it.
    damage();
    fs.writeFileSync(superName, Buffer.from(src + '-journal\0'));
    fs.writeFileSync(src + '-journal', journalFor(superName));
    await backup(src, path.join(dir, 'out1.db'));
    expect(fs.readFileSync(src).equals(before)).toBe(true);
    expect(fs.existsSync(src + '-journal')).toBe(false);
    expect(fs.existsSync(superName)).toBe(false);

    // 2. A 0-byte super-journal counts as absent (unixAccess): the transaction committed; nothing is played back.
    damage();
    const damaged = fs.readFileSync(src);
    fs.writeFileSync(superName, '');
    fs.writeFileSync(src + '-journal', journalFor(superName));
    await backup(src, path.join(dir, 'out2.db'));
    expect(fs.readFileSync(src).equals(damaged)).toBe(true);
    expect(fs.existsSync(src + '-journal')).toBe(false);
  });
});

describe('errors name the first failure', () => {
  it('a new destination in a directory this process cannot write: SQLITE_CANTOPEN with EACCES, not ENOENT', () => {
    const dir = tmpDir('litevault-eacces-');
    const src = path.join(dir, 'src.db');
    sqliteShell(src, 'CREATE TABLE t(x);\n');
    const locked = path.join(dir, 'locked');
    fs.mkdirSync(locked, 0o555);
    const dst = path.join(locked, 'out.db');
    const script = `require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))}).backup(${JSON.stringify(src)}, ${JSON.stringify(dst)}).then(() => console.log('copied'), (e) => console.log(e.code, e.errno, e.message))`;
    const r = spawnSync('setpriv', ['--bounding-set=-dac_override,-dac_read_search', process.execPath, '-e', script], { encoding: 'utf8' });
    expect(r.stdout.trim()).toMatch(/^SQLITE_CANTOPEN 13 .*ermission denied/);
    expect(fs.readdirSync(locked)).toEqual([]);
  });

  it('bad arguments stay SQLITE_MISUSE', async () => {
    expect((await rejection(Database.open(''))).code).toBe('SQLITE_MISUSE');
  });
});
