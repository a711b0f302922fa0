// The vault scan's source rules with real SQLite at the exact instant that matters, put there by
// the test build's sync points: a WAL backup's snapshot holds while SQLite commits and
// checkpoints after it began; a rollback-journal backup restarts when SQLite commits between
// two of its steps, and once it holds the read lock SQLite's writer waits. The oracle is
// `sqlite3 src ".backup ref"` taken at the state the backup must capture.
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { arm, pauseAt, release, resetSyncPoints, Vault, waitArrived } from './oracle/testing-addon.js';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';
import { expectSameImage } from './oracle/expect';

afterEach(resetSyncPoints);
afterAll(removeTmpDirs);
const ro = { readOnlyUri: true } as const;

// ~24 MiB of 4 KiB pages: three 8 MiB scan steps.
const FILL = 'CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 6000) INSERT INTO t SELECT i, randomblob(3500) FROM n;\n';

describe('vault scan of a WAL source: one snapshot for the whole scan', () => {
  it('SQLite commits and runs a TRUNCATE checkpoint after the snapshot was taken: the backup is the state at the snapshot, and the next incremental has the commit', async () => {
    const dir = tmpDir('litevault-vault-wal-');
    const src = path.join(dir, 'src.db');
    sqliteShell(src, `.dbconfig no_ckpt_on_close on\nPRAGMA journal_mode=wal;\n${FILL}`);
    sqliteShell(src, '.backup ' + path.join(dir, 'before.db'));
    const vault = await Vault.open(path.join(dir, 'vault'), { create: true });
    arm('vault-scan-step', 1);
    const running = vault.backup(src, { type: 'full', name: 'src' });
    expect(await waitArrived('vault-scan-step')).toBe(true); // step 1, before the snapshot
    release('vault-scan-step');
    arm('vault-scan-step', 1); // step 2 can only start after this turn of the event loop
    expect(await waitArrived('vault-scan-step')).toBe(true); // step 1 took the snapshot and kept it
    // SQLite rewrites rows all over the file and asks for a TRUNCATE checkpoint, which cannot
    // pass our read mark (busy), so the database file keeps the pages of our snapshot.
    const out = sqliteShell(src, '.dbconfig no_ckpt_on_close on\nUPDATE t SET v = randomblob(3500) WHERE id % 7 = 0;\nPRAGMA wal_checkpoint(TRUNCATE);\n');
    release('vault-scan-step');
    const full = await running;
    const row = out.trim().split('\n').pop()!.split('|');
    expect(row[0], out).toBe('1'); // busy: our snapshot held it back
    expect(Number(row[1])).toBeGreaterThan(0);
    expect(full.restarts).toBe(0);
    sqliteShell(src, '.backup ' + path.join(dir, 'after.db'));
    const inc = await vault.backup(src, { type: 'incremental', name: 'src' });
    expect(inc.pagesStored).toBeGreaterThan(100);
    expect(inc.pagesStored).toBeLessThan(inc.pageCount / 2);

    await vault.restore('src', path.join(dir, 'r1.db'), { at: full.id });
    await vault.restore('src', path.join(dir, 'r2.db'), { at: inc.id });
    expectSameImage(path.join(dir, 'r1.db'), path.join(dir, 'before.db'));
    expectSameImage(path.join(dir, 'r2.db'), path.join(dir, 'after.db'));
    expect(integrityCheck(path.join(dir, 'r1.db'), ro)).toBe('ok');
    expect(logicalDump(path.join(dir, 'r2.db'), ro)).toBe(logicalDump(src, ro));
  });
});

describe('a backup is dated by its snapshot (a restore to a point before it gets no later commit)', () => {
  it('SQLite commits after the backup was asked for but before its first step took the snapshot: the commit is in the backup, whose createdAt is after the commit began', async () => {
    const dir = tmpDir('litevault-vault-dated-');
    const src = path.join(dir, 'src.db');
    sqliteShell(src, `.dbconfig no_ckpt_on_close on\nPRAGMA journal_mode=wal;\n${FILL}`);
    const vault = await Vault.open(path.join(dir, 'vault'), { create: true });
    arm('vault-scan-step', 1);
    const running = vault.backup(src, { type: 'full', name: 'src' });
    expect(await waitArrived('vault-scan-step')).toBe(true); // step 1, before the snapshot
    const begun = Date.now();
    sqliteShell(src, '.dbconfig no_ckpt_on_close on\nUPDATE t SET v = randomblob(3500) WHERE id % 13 = 0;\n');
    sqliteShell(src, '.backup ' + path.join(dir, 'ref.db'));
    release('vault-scan-step');
    const r = await running;
    expect(Date.parse(r.snapshot.createdAt), `createdAt ${r.snapshot.createdAt}, the commit began at ${new Date(begun).toISOString()}`).toBeGreaterThanOrEqual(begun);
    expect(Date.parse(r.snapshot.createdAt)).toBeLessThanOrEqual(Date.now());
    await vault.restore('src', path.join(dir, 'r.db'));
    expectSameImage(path.join(dir, 'r.db'), path.join(dir, 'ref.db'));
  });
});

describe('vault scan of a rollback-journal source: SQLite\'s restart rule', () => {
  it('a SQLite commit between two steps restarts the scan; the backup is the state after that commit', async () => {
    const dir = tmpDir('litevault-vault-restart-');
    const src = path.join(dir, 'src.db');
    sqliteShell(src, FILL);
    const vault = await Vault.open(path.join(dir, 'vault'), { create: true });
    arm('vault-scan-step', 1);
    const running = vault.backup(src, { type: 'full', name: 'src' });
    expect(await waitArrived('vault-scan-step')).toBe(true); // step 1, before it locks anything
    release('vault-scan-step');
    arm('vault-scan-step', 1); // step 2 can only start after this turn of the event loop
    expect(await waitArrived('vault-scan-step')).toBe(true); // step 1 done; SHARED released
    const begun = Date.now();
    sqliteShell(src, 'UPDATE t SET v = randomblob(3500) WHERE id % 11 = 0;\n'); // commits at once: nobody holds a lock
    sqliteShell(src, '.backup ' + path.join(dir, 'ref.db'));
    release('vault-scan-step');
    const r = await running;
    expect(r.restarts).toBe(1);
    expect(r.heldLock).toBe(false);
    // Dated by the pass that restarted after the commit, not by the first.
    expect(Date.parse(r.snapshot.createdAt), `createdAt ${r.snapshot.createdAt}, the commit began at ${new Date(begun).toISOString()}`).toBeGreaterThanOrEqual(begun);
    await vault.restore('src', path.join(dir, 'r.db'));
    expectSameImage(path.join(dir, 'r.db'), path.join(dir, 'ref.db'));
    expect(integrityCheck(path.join(dir, 'r.db'), ro)).toBe('ok');
  });

  it('with maxRestarts 0 the scan holds SHARED across steps: SQLite\'s writer gets SQLITE_BUSY between them, and the backup is the state it began with', async () => {
    const dir = tmpDir('litevault-vault-hold-');
    const src = path.join(dir, 'src.db');
    sqliteShell(src, FILL);
    sqliteShell(src, '.backup ' + path.join(dir, 'ref.db'));
    const vault = await Vault.open(path.join(dir, 'vault'), { create: true });
    arm('vault-scan-step', 1);
    const running = vault.backup(src, { type: 'full', name: 'src', maxRestarts: 0 });
    expect(await waitArrived('vault-scan-step')).toBe(true);
    release('vault-scan-step');
    arm('vault-scan-step', 1);
    expect(await waitArrived('vault-scan-step')).toBe(true); // between step 1 and step 2
    let error = '';
    try {
      sqliteShell(src, 'UPDATE t SET v = zeroblob(10) WHERE id = 1;\n');
    } catch (err) {
      error = String((err as { stderr?: string }).stderr ?? err);
    }
    expect(error).toMatch(/database is locked/);
    release('vault-scan-step');
    const r = await running;
    expect(r.restarts).toBe(0);
    expect(r.heldLock).toBe(true);
    await vault.restore('src', path.join(dir, 'r.db'));
    expectSameImage(path.join(dir, 'r.db'), path.join(dir, 'ref.db'));
  });
});
