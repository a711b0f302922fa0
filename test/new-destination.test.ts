// A new backup destination is never created in place (issue 11 item 2): backup() writes it
// under a private temporary name beside it (O_EXCL, 0600), syncs, renames it into place and
// syncs the directory, so the destination path either does not exist or holds a complete
// backup, whatever happens to the process. Judged by real SQLite.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { backup, LitevaultError } from '../dist/index.js';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';

afterAll(removeTmpDirs);
const ro = { readOnlyUri: true } as const;
const dist = path.join(__dirname, '..', 'dist', 'index.js');

function bigDb(file: string, rows = 20000): void {
  sqliteShell(file, `PRAGMA page_size=1024;\nCREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ${rows}) INSERT INTO t SELECT i, randomblob(300) FROM n;\n`);
}

describe('a new destination appears complete or not at all', () => {
  it('while the copy runs only a private 0600 temporary exists; at the end the destination has SQLite\'s new-file mode and the whole copy', async () => {
    const dir = tmpDir('litevault-newdst-');
    const src = path.join(dir, 'src.db');
    bigDb(src, 3000);
    const dst = path.join(dir, 'out.db');
    const seen: string[] = [];
    await backup(src, dst, {
      pagesPerStep: 64,
      onProgress: () => {
        expect(fs.existsSync(dst)).toBe(false);
        for (const f of fs.readdirSync(dir)) {
          if (f.startsWith('.out.db.litevault-') && f.endsWith('.tmp')) {
            expect(fs.statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
            seen.push(f);
          }
        }
      },
    });
    expect(seen.length).toBeGreaterThan(10);
    const umask = process.umask();
    expect(fs.statSync(dst).mode & 0o777).toBe(0o644 & ~umask);
    expect(fs.readdirSync(dir).sort()).toEqual(['out.db', 'src.db']);
    expect(integrityCheck(dst, ro)).toBe('ok');
    expect(logicalDump(dst, ro)).toBe(logicalDump(src, ro));
  });

  it('a failed backup (the source is not a database) leaves no destination and no temporary', async () => {
    const dir = tmpDir('litevault-newdst-fail-');
    const src = path.join(dir, 'notes.txt');
    fs.writeFileSync(src, 'these are not the pages you are looking for\n'.repeat(100));
    const dst = path.join(dir, 'out.db');
    const err = await backup(src, dst).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(LitevaultError);
    expect((err as LitevaultError).code).toBe('SQLITE_NOTADB');
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('a cancelled backup leaves no destination and no temporary', async () => {
    const dir = tmpDir('litevault-newdst-cancel-');
    const src = path.join(dir, 'src.db');
    bigDb(src, 3000);
    const dst = path.join(dir, 'out.db');
    const ac = new AbortController();
    let steps = 0;
    const err = await backup(src, dst, { pagesPerStep: 16, signal: ac.signal, onProgress: () => ++steps === 5 && ac.abort() }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as LitevaultError).code).toBe('SQLITE_ABORT');
    expect(fs.readdirSync(dir)).toEqual(['src.db']);
  });

  it('a process SIGKILLed mid-backup never leaves a file at the destination path (10 kills at different steps)', () => {
    const dir = tmpDir('litevault-newdst-kill-');
    const src = path.join(dir, 'src.db');
    bigDb(src);
    for (let trial = 0; trial < 10; trial++) {
      const dst = path.join(dir, `out-${trial}.db`);
      const script = `let n = 0; require(${JSON.stringify(dist)}).backup(${JSON.stringify(src)}, ${JSON.stringify(dst)}, { pagesPerStep: 32, onProgress: () => { if (++n === ${3 + trial * 17}) process.kill(process.pid, 'SIGKILL'); } }).then(() => console.log('done'))`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      expect(r.signal).toBe('SIGKILL');
      expect(fs.existsSync(dst)).toBe(false);
      expect(fs.existsSync(dst + '-journal')).toBe(false);
    }
    // What a kill leaves is hidden, private and named after the destination.
    const left = fs.readdirSync(dir).filter((f) => f !== 'src.db');
    expect(left.every((f) => /^\.out-\d\.db\.litevault-\d+-[0-9a-f]{12}\.tmp(-journal)?$/.test(f))).toBe(true);
    expect(integrityCheck(src, ro)).toBe('ok');
  });

  it('a destination created by someone else while the backup ran is never replaced', async () => {
    const dir = tmpDir('litevault-newdst-race-');
    const src = path.join(dir, 'src.db');
    bigDb(src, 2000);
    const dst = path.join(dir, 'out.db');
    let made = false;
    const err = await backup(src, dst, {
      pagesPerStep: 64,
      onProgress: () => {
        if (!made) sqliteShell(dst, "CREATE TABLE theirs(x);\nINSERT INTO theirs VALUES ('keep me');\n");
        made = true;
      },
    }).then(() => null, (e: unknown) => e);
    expect((err as LitevaultError).code).toBe('SQLITE_CANTOPEN');
    expect((err as LitevaultError).message).toMatch(/appeared/);
    expect(sqliteShell(dst, 'SELECT x FROM theirs;\n', ro).trim()).toBe('keep me');
    expect(fs.readdirSync(dir).sort()).toEqual(['out.db', 'src.db']);
  });
});
