// Interleavings of the pager's read start with real SQLite, put at the exact instant by the test
// build's sync points (issue 10 items 5 and 9).
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { arm, backup, Database, pauseAt, release, resetSyncPoints, waitArrived } from './oracle/testing-addon.js';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';

afterEach(resetSyncPoints);
afterAll(removeTmpDirs);
const ro = { readOnlyUri: true } as const;

describe('page 1 and the file size come from inside the read transaction (item 5)', () => {
  it('a SQLite commit and TRUNCATE checkpoint between our header read and our WAL read lock: the copy is SQLite\'s new state, not old size + new page 1', async () => {
    const dir = tmpDir('litevault-header-order-');
    const src = path.join(dir, 'src.db');
    sqliteShell(src, '.dbconfig no_ckpt_on_close on\nPRAGMA page_size=1024;\nPRAGMA journal_mode=wal;\nCREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);\nINSERT INTO t VALUES (1, randomblob(100));\n');
    const dst = path.join(dir, 'copy.db');
    const result = await pauseAt('after-header-read', () => backup(src, dst), () => {
      // Grow the database by hundreds of pages, then copy everything into the file and reset the
      // WAL: our SHARED lock does not stop either, and no WAL read mark of ours exists yet.
      sqliteShell(src, '.dbconfig no_ckpt_on_close on\nWITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i+1 FROM n WHERE i < 3000) INSERT INTO t SELECT i, randomblob(100) FROM n;\nPRAGMA wal_checkpoint(TRUNCATE);\n');
    });
    expect(result.pageCount).toBeGreaterThan(300);
    expect(integrityCheck(dst, ro)).toBe('ok');
    expect(logicalDump(dst, ro)).toBe(logicalDump(src, ro));
  });
});

describe('no lock is waited for while SHARED is held: the hot-journal path (item 9)', () => {
  it('two handles in this process that both see a hot journal: neither waits for EXCLUSIVE holding SHARED, so the rollback happens at once and both backups finish', async () => {
    const dir = tmpDir('litevault-hot-two-');
    const src = path.join(dir, 'src.db');
    sqliteShell(src, 'CREATE TABLE t(k TEXT, v BLOB);\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000) INSERT INTO t SELECT i, randomblob(200) FROM n;\n');
    const before = logicalDump(src, ro);
    const bs3 = createRequire(import.meta.url).resolve('better-sqlite3');
    const script = `const D = require(${JSON.stringify(bs3)}); const db = new D(${JSON.stringify(src)}); db.pragma('cache_size = 5'); db.exec('BEGIN'); db.exec("UPDATE t SET v = zeroblob(300)"); process.kill(process.pid, 'SIGKILL');`;
    expect(spawnSync(process.execPath, ['-e', script]).signal).toBe('SIGKILL');
    expect(fs.statSync(src + '-journal').size).toBeGreaterThan(0);

    const h1 = await Database.open(src, { busyTimeout: 4000 });
    const h2 = await Database.open(src, { busyTimeout: 4000 });
    try {
      const t0 = Date.now();
      arm('after-shared-lock', 1);
      const first = backup(h1, path.join(dir, 'one.db'), { busyTimeout: 4000 });
      expect(await waitArrived('after-shared-lock')).toBe(true); // h1 holds SHARED, has not looked yet
      const second = backup(h2, path.join(dir, 'two.db'), { busyTimeout: 4000 }); // sees the hot journal
      await new Promise((r) => setTimeout(r, 300));
      release('after-shared-lock'); // h1 now sees it too and needs EXCLUSIVE
      await Promise.all([first, second]);
      // Holding SHARED while waiting, each would keep the other's EXCLUSIVE out for its whole
      // busy timeout (4 s).
      expect(Date.now() - t0).toBeLessThan(2500);
    } finally {
      await h1.close();
      await h2.close();
    }
    expect(fs.existsSync(src + '-journal')).toBe(false);
    for (const f of ['one.db', 'two.db']) expect(logicalDump(path.join(dir, f), ro)).toBe(before);
  });
});
