// The step-wise Backup against real SQLite: over the rollback-journal corpus every copy passes
// integrity_check and equals, byte for byte, what `sqlite3 src ".backup dst"` makes from the
// same starting point (except the header bytes SQLite itself sets per destination: change
// counter 24..27, schema cookie 40..43, 92..99). And each rule of sqlite3_backup's contract,
// one test each.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Backup, backup, Database, LitevaultError } from '../dist/index.js';
import { corpusSpecs, createDatabase } from './oracle/corpus';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, SQLITE3_BIN, tmpDir } from './oracle/sqlite';
import { rejection } from './oracle/expect';

afterAll(removeTmpDirs);
const dir = tmpDir('litevault-backup-');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);

const sha = (f: string): string => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

// Bytes of a and b that differ, outside the header fields SQLite sets per destination.
function differingBytes(a: string, b: string): number[] {
  const x = fs.readFileSync(a);
  const y = fs.readFileSync(b);
  expect(x.length).toBe(y.length);
  const allowed = (i: number): boolean => (i >= 24 && i < 28) || (i >= 40 && i < 44) || (i >= 92 && i < 100);
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i] && !allowed(i)) out.push(i);
  return out;
}

function sqliteBackup(src: string, dst: string): void {
  const r = spawnSync(SQLITE3_BIN, ['-bail', src, `.backup '${dst}'`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

function realDb(name: string, sql: string): string {
  const f = fresh(name);
  sqliteShell(f, sql);
  return f;
}

const rowsSql = (pageSize: number, rows: number, tag: string): string =>
  `PRAGMA page_size=${pageSize}; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); ` +
  `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${rows}) INSERT INTO t SELECT i, '${tag}' || hex(randomblob(60)) FROM c;`;

describe('backup() equals sqlite3 .backup over the rollback-journal corpus', () => {
  for (const { name, spec } of corpusSpecs().filter((e) => e.spec.journalMode !== 'wal')) {
    for (const pagesPerStep of [-1, 7]) {
      it(`${name} (pagesPerStep ${pagesPerStep}): integrity ok, same bytes as SQLite's copy, source untouched`, async () => {
        const src = fresh(`${name}.db`);
        createDatabase(src, spec);
        const before = sha(src);
        const ours = fresh('ours.db');
        const theirs = fresh('theirs.db');
        const result = await backup(src, ours, { pagesPerStep });
        sqliteBackup(src, theirs);
        expect(sha(src)).toBe(before);
        expect(fs.existsSync(ours + '-journal')).toBe(false);
        expect(integrityCheck(ours)).toBe('ok');
        expect(differingBytes(ours, theirs)).toEqual([]);
        expect(logicalDump(ours)).toBe(logicalDump(src));
        expect(result.restarts).toBe(0);
      });
    }
  }

  for (const [srcPage, dstPage] of [
    [4096, 1024],
    [1024, 8192],
    [512, 65536],
    [65536, 512],
  ]) {
    it(`a ${srcPage}-byte-page source over an existing ${dstPage}-byte-page destination ends as SQLite's byte image`, async () => {
      const src = realDb('src.db', rowsSql(srcPage, 300, 'new'));
      const old = realDb('old.db', rowsSql(dstPage, 500, 'old'));
      const ours = fresh('ours.db');
      const theirs = fresh('theirs.db');
      fs.copyFileSync(old, ours);
      fs.copyFileSync(old, theirs);
      await backup(src, ours, { pagesPerStep: 5 });
      sqliteBackup(src, theirs);
      expect(differingBytes(ours, theirs)).toEqual([]);
      expect(integrityCheck(ours)).toBe('ok');
      expect(logicalDump(ours)).toBe(logicalDump(src));
      // The destination's own counter and cookie advance by one, as SQLite's commit does.
      const b = fs.readFileSync(ours);
      const o = fs.readFileSync(old);
      expect(b.readUInt32BE(24)).toBe(o.readUInt32BE(24) + 1);
      expect(b.readUInt32BE(92)).toBe(b.readUInt32BE(24));
      expect(b.readUInt32BE(40)).toBe(o.readUInt32BE(40) + 1);
    });
  }

  it('an empty source gives the same one-page database SQLite makes, over a new and an existing destination', async () => {
    const src = fresh('empty.db');
    fs.writeFileSync(src, '');
    for (const existing of [null, rowsSql(1024, 50, 'x')]) {
      const ours = fresh('ours.db');
      const theirs = fresh('theirs.db');
      if (existing) {
        sqliteShell(ours, existing);
        fs.copyFileSync(ours, theirs);
      }
      await backup(src, ours);
      sqliteBackup(src, theirs);
      expect(differingBytes(ours, theirs)).toEqual([]);
      expect(integrityCheck(ours)).toBe('ok');
    }
  });
});

describe('the sqlite3_backup contract, rule by rule', () => {
  it('new Backup(source, destination) takes the source first: src is copied into dst, src untouched (unlike sqlite3_backup_init)', async () => {
    const src = realDb('src.db', rowsSql(4096, 300, 'live'));
    const dst = realDb('dst.db', rowsSql(4096, 5, 'old'));
    const before = sha(src);
    {
      await using s = await Database.open(src);
      await using d = await Database.open(dst);
      const b = new Backup(s, d);
      expect((await b.step(-1)).done).toBe(true);
      await b.finish();
    }
    expect(sha(src)).toBe(before);
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(logicalDump(src));
    expect(sqliteShell(dst, "SELECT count(*) FROM t WHERE v LIKE 'live%';").trim()).toBe('300');
  });

  it('step(n) copies n pages at a time; remaining and pageCount update after every step; n < 0 copies the rest', async () => {
    const src = realDb('src.db', rowsSql(1024, 400, 'a'));
    const pages = fs.statSync(src).size / 1024;
    await using s = await Database.open(src);
    await using d = await Database.open(fresh('dst.db'), { create: true });
    const b = new Backup(s, d);
    expect([b.remaining, b.pageCount]).toEqual([0, 0]);
    let r = await b.step(10);
    expect(r).toMatchObject({ done: false, remaining: pages - 10, pageCount: pages, restarts: 0, pageSize: 1024 });
    expect([b.remaining, b.pageCount]).toEqual([pages - 10, pages]);
    r = await b.step(5);
    expect(r.remaining).toBe(pages - 15);
    r = await b.step(-1);
    expect(r).toMatchObject({ done: true, remaining: 0, pageCount: pages });
    r = await b.step(3); // after DONE a step reports DONE again, as sqlite3_backup_step does
    expect(r.done).toBe(true);
    await b.finish();
    expect(logicalDump(d.path)).toBe(logicalDump(src));
  });

  it('concurrent step() calls run one at a time, in call order, never interleaved', async () => {
    const src = realDb('src.db', rowsSql(1024, 300, 'c'));
    const pages = fs.statSync(src).size / 1024;
    await using s = await Database.open(src);
    await using d = await Database.open(fresh('dst.db'), { create: true });
    const b = new Backup(s, d);
    const results = await Promise.all(Array.from({ length: pages }, () => b.step(1)));
    expect(results.map((r) => r.remaining)).toEqual(Array.from({ length: pages }, (_, i) => pages - 1 - i));
    expect(results[pages - 1].done).toBe(true);
    await b.finish();
    expect(integrityCheck(d.path)).toBe('ok');
    expect(logicalDump(d.path)).toBe(logicalDump(src));
  });

  it('finish() before done rolls the destination back to its old content and leaves no journal', async () => {
    const src = realDb('src.db', rowsSql(4096, 2000, 'new'));
    const dst = realDb('dst.db', rowsSql(4096, 300, 'old'));
    const old = logicalDump(dst);
    const oldBytes = sha(dst);
    await using s = await Database.open(src);
    await using d = await Database.open(dst);
    const b = new Backup(s, d);
    await b.step(20);
    await b.step(20);
    expect(fs.readFileSync(dst + '-journal').readUInt32BE(0)).toBe(0xd9d505f9); // a hot journal guards the copy
    await b.finish();
    expect(fs.existsSync(dst + '-journal')).toBe(false);
    expect(sha(dst)).toBe(oldBytes);
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(old);
  });

  it('exactly one finish(): a second finish() or a step() after it is SQLITE_MISUSE, not a crash', async () => {
    await using s = await Database.open(realDb('src.db', rowsSql(1024, 20, 'm')));
    await using d = await Database.open(fresh('dst.db'), { create: true });
    const b = new Backup(s, d);
    await b.step(-1);
    await b.finish();
    expect(b.finished).toBe(true);
    expect((await rejection(b.finish())).code).toBe('SQLITE_MISUSE');
    expect((await rejection(b.step(1))).code).toBe('SQLITE_MISUSE');
  });

  it('a fatal error is sticky: later steps and finish() report it again', async () => {
    const src = realDb('src.db', rowsSql(1024, 50, 's'));
    const dst = realDb('dst.db', rowsSql(1024, 10, 'd'));
    const before = sha(dst);
    await using s = await Database.open(src);
    await using d = await Database.open(dst, { readOnly: true });
    const b = new Backup(s, d);
    const first = await rejection(b.step(5));
    expect(first.code).toBe('SQLITE_READONLY');
    expect(first.retryable).toBe(false);
    expect((await rejection(b.step(5))).code).toBe('SQLITE_READONLY');
    expect((await rejection(b.finish())).code).toBe('SQLITE_READONLY');
    expect(sha(dst)).toBe(before);
  });

  it('source and destination must differ: the same handle, the same path, a hard link and a symlink are refused', async () => {
    const src = realDb('src.db', rowsSql(1024, 20, 'x'));
    const link = fresh('hard.db');
    fs.linkSync(src, link);
    const sym = fresh('sym.db');
    fs.symlinkSync(src, sym);
    await using s = await Database.open(src);
    expect(() => new Backup(s, s)).toThrow(LitevaultError);
    for (const other of [src, link, sym]) {
      await using o = await Database.open(other);
      let err: unknown;
      try {
        new Backup(s, o);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LitevaultError);
      expect((err as LitevaultError).code).toBe('SQLITE_ERROR');
      expect((err as LitevaultError).message).toMatch(/distinct/);
    }
    const before = sha(src);
    expect((await rejection(backup(src, sym))).code).toBe('SQLITE_ERROR');
    expect(sha(src)).toBe(before);
  });

  it('a destination already being written by an unfinished backup is refused, and a handle in use cannot close', async () => {
    await using s = await Database.open(realDb('src.db', rowsSql(1024, 50, 'y')));
    await using d = await Database.open(fresh('dst.db'), { create: true });
    const b = new Backup(s, d);
    await b.step(1);
    expect(() => new Backup(s, d)).toThrow(/in use/);
    expect((await rejection(d.close())).code).toBe('SQLITE_BUSY');
    await b.finish();
    const again = new Backup(s, d);
    await again.step(-1);
    await again.finish();
  });

  it('await using finishes an unfinished backup, rolling the destination back', async () => {
    const dst = realDb('dst.db', rowsSql(1024, 30, 'keep'));
    const before = sha(dst);
    await using s = await Database.open(realDb('src.db', rowsSql(1024, 500, 'z')));
    await using d = await Database.open(dst);
    {
      await using b = new Backup(s, d);
      await b.step(3);
    }
    expect(sha(dst)).toBe(before);
    expect(fs.existsSync(dst + '-journal')).toBe(false);
  });

  it('backup() can be cancelled with an AbortSignal: SQLITE_ABORT and the destination keeps its old content', async () => {
    const src = realDb('src.db', rowsSql(1024, 3000, 'big'));
    const dst = realDb('dst.db', rowsSql(1024, 10, 'old'));
    const before = sha(dst);
    const controller = new AbortController();
    let steps = 0;
    const err = await rejection(
      backup(src, dst, {
        pagesPerStep: 10,
        signal: controller.signal,
        onProgress: () => {
          if (++steps === 3) controller.abort();
        },
      }),
    );
    expect(err.code).toBe('SQLITE_ABORT');
    expect(err.retryable).toBe(false);
    expect(sha(dst)).toBe(before);
    expect(integrityCheck(dst)).toBe('ok');
  });

  it('backup() reports progress after every step, ending at remaining 0', async () => {
    const src = realDb('src.db', rowsSql(1024, 400, 'p'));
    const seen: number[] = [];
    const result = await backup(src, fresh('dst.db'), { pagesPerStep: 25, onProgress: (p) => seen.push(p.remaining) });
    expect(seen.length).toBe(result.steps);
    expect(seen[seen.length - 1]).toBe(0);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect(result).toMatchObject({ pageSize: 1024, restarts: 0 });
  });
});

describe('a long-running process', () => {
  it('makes 300 backups to new files, deleting each, without keeping descriptors or deleted files open', async () => {
    const src = realDb('src.db', rowsSql(1024, 50, 'fd'));
    const openFds = (): number => fs.readdirSync('/proc/self/fd').length;
    const deletedHeld = (): number =>
      fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`).endsWith('(deleted)');
        } catch {
          return false;
        }
      }).length;
    await backup(src, fresh('warm.db')); // the first call loads what stays loaded
    const before = openFds();
    for (let i = 0; i < 300; i++) {
      const dst = fresh(`copy-${i}.db`);
      await backup(src, dst, { pagesPerStep: 16 });
      fs.rmSync(dst);
    }
    expect(openFds()).toBeLessThanOrEqual(before + 2);
    expect(deletedHeld()).toBe(0);
  });
});

describe('bad inputs give typed errors and leave every input byte-identical', () => {
  async function expectFailure(src: string, dst: string, code: string | RegExp): Promise<void> {
    const digest = (f: string): string | null => (fs.existsSync(f) && fs.statSync(f).isFile() ? sha(f) : null);
    const before = [src, dst].map(digest);
    const err = await rejection(backup(src, dst));
    expect(err.code).toMatch(code);
    expect(err.message.length).toBeGreaterThan(0);
    expect([src, dst].map(digest)).toEqual(before);
  }

  it('a source that is not a database: SQLITE_NOTADB', async () => {
    const src = fresh('text.db');
    fs.writeFileSync(src, 'definitely not a database\n'.repeat(200));
    await expectFailure(src, realDb('dst.db', rowsSql(1024, 5, 'd')), 'SQLITE_NOTADB');
  });

  it('a truncated source header: SQLITE_CORRUPT', async () => {
    const whole = realDb('whole.db', rowsSql(1024, 5, 'w'));
    const src = fresh('short.db');
    fs.writeFileSync(src, fs.readFileSync(whole).subarray(0, 70));
    await expectFailure(src, realDb('dst.db', rowsSql(1024, 5, 'd')), 'SQLITE_CORRUPT');
  });

  it('a header claiming more pages than the file holds: SQLITE_CORRUPT', async () => {
    const src = realDb('claims.db', rowsSql(1024, 5, 'c'));
    const fd = fs.openSync(src, 'r+');
    fs.writeSync(fd, Buffer.from([0, 0, 0x10, 0]), 0, 4, 28);
    fs.closeSync(fd);
    await expectFailure(src, realDb('dst.db', rowsSql(1024, 5, 'd')), 'SQLITE_CORRUPT');
  });

  it('an impossible page size: SQLITE_NOTADB', async () => {
    const src = realDb('pgsz.db', rowsSql(1024, 5, 'p'));
    const fd = fs.openSync(src, 'r+');
    fs.writeSync(fd, Buffer.from([0x01, 0x23]), 0, 2, 16);
    fs.closeSync(fd);
    await expectFailure(src, realDb('dst.db', rowsSql(1024, 5, 'd')), 'SQLITE_NOTADB');
  });

  it('a missing source: SQLITE_CANTOPEN, and no destination is created', async () => {
    const dst = fresh('never.db');
    expect((await rejection(backup(fresh('missing.db'), dst))).code).toBe('SQLITE_CANTOPEN');
    expect(fs.existsSync(dst)).toBe(false);
  });

  it('a destination that is a directory: SQLITE_CANTOPEN_ISDIR', async () => {
    await expectFailure(realDb('src.db', rowsSql(1024, 5, 's')), tmpDir('litevault-dstdir-'), /^SQLITE_CANTOPEN/);
  });

  it('permission denied on the destination: a typed error, both files unchanged', () => {
    const src = realDb('src.db', rowsSql(1024, 20, 's'));
    const dst = realDb('dst.db', rowsSql(1024, 5, 'd'));
    fs.chmodSync(dst, 0o444);
    const before = [sha(src), sha(dst)];
    // As root the mode is no obstacle, so run the backup without the capabilities that override it.
    const script = `require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))}).backup(${JSON.stringify(src)}, ${JSON.stringify(dst)}).then(() => console.log('copied'), (e) => console.log(e.constructor.name, e.code))`;
    const r = spawnSync('setpriv', ['--bounding-set=-dac_override,-dac_read_search', process.execPath, '-e', script], { encoding: 'utf8' });
    expect(r.stdout.trim()).toMatch(/^LitevaultError SQLITE_(READONLY|CANTOPEN)$/);
    expect([sha(src), sha(dst)]).toEqual(before);
  });

  it('a hot journal with bad checksums is ignored record by record, exactly as SQLite ignores it', async () => {
    // Two identical databases; both get the same forged journal whose only record has a bad
    // checksum. SQLite rolls back its copy, we roll back ours; the results must be equal.
    const a = realDb('a.db', rowsSql(1024, 50, 'j'));
    const b = fresh('b.db');
    fs.copyFileSync(a, b);
    const journal = Buffer.alloc(512 + 1024 + 8);
    Buffer.from('d9d505f920a163d7', 'hex').copy(journal, 0);
    journal.writeUInt32BE(1, 8); // nRec
    journal.writeUInt32BE(0x1234, 12); // cksumInit
    journal.writeUInt32BE(2, 16); // original size: 2 pages (the file has more: truncation is visible)
    journal.writeUInt32BE(512, 20);
    journal.writeUInt32BE(1024, 24);
    journal.writeUInt32BE(2, 512); // record for page 2
    journal.fill(0xee, 516, 516 + 1024);
    journal.writeUInt32BE(0xdeadbeef, 516 + 1024); // wrong checksum
    fs.writeFileSync(a + '-journal', journal);
    fs.writeFileSync(b + '-journal', journal);
    spawnSync(SQLITE3_BIN, [a, 'SELECT count(*) FROM sqlite_schema;']); // SQLite rolls a back
    const copy = fresh('copy.db');
    const err = await backup(b, copy).then(
      () => null,
      (e: unknown) => e,
    );
    expect(fs.existsSync(a + '-journal')).toBe(false);
    expect(fs.existsSync(b + '-journal')).toBe(false);
    expect(sha(b)).toBe(sha(a)); // our rollback of b is byte-identical to SQLite's rollback of a
    // The truncation to 2 pages leaves a database whose schema points past its end; SQLite's
    // copy and ours are the same bytes, and our backup of it must fail typed, not crash.
    if (err !== null) expect(err).toBeInstanceOf(LitevaultError);
  });
});

describe('litevault backup (CLI)', () => {
  const cli = path.join(__dirname, '..', 'dist', 'cli.js');

  it('--json prints one object with pageSize, pageCount, restarts and ms; exit 0; the copy is SQLite-valid', () => {
    const src = realDb('src.db', rowsSql(2048, 200, 'cli'));
    const dst = fresh('dst.db');
    const r = spawnSync(process.execPath, [cli, 'backup', src, dst, '--pages', '16', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ pageSize: 2048, pageCount: fs.statSync(src).size / 2048, restarts: 0 });
    expect(typeof out.ms).toBe('number');
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(logicalDump(src));
  });

  it('exits 1 with one line naming the operation, both files and the error code on stderr', () => {
    const src = fresh('notdb.db');
    fs.writeFileSync(src, 'nope'.repeat(100));
    const dst = fresh('dst.db');
    const r = spawnSync(process.execPath, [cli, 'backup', src, dst], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`litevault backup: cannot back up '${src}' to '${dst}': SQLITE_NOTADB: '${src}': file is not a database (no SQLite header)\n`);
  });
});
