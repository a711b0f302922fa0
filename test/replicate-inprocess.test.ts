// vault.replicate() in the application's own process, next to the application's synchronous
// SQLite connection (better-sqlite3 on this very thread, as most Node apps use it). The shipped
// TRUNCATE holds the write lock while it ships; the application's commits then block this
// thread in SQLite's busy handler, where no JavaScript (so no ship, no finish) can run. The
// native hold limit (addon/wal_follower_wrap.h) must let them in long before their busy timeout:
// no commit fails, truncates still happen, and the vault restores to SQLite's own state.
import BetterSqlite3 from 'better-sqlite3';
import * as path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Vault } from '../dist/index.js';
import { logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite.js';

afterAll(removeTmpDirs);

describe('vault.replicate() with the application in the same process', () => {
  it('synchronous commits on the replicator\'s thread never wait out their busy timeout; the WAL is truncated; the last txid restores to SQLite\'s state', async () => {
    const work = tmpDir('litevault-repl-inproc-');
    const db = path.join(work, 'app.db');
    sqliteShell(db, 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);');
    const app = new BetterSqlite3(db, { timeout: 3000 });
    app.pragma('wal_autocheckpoint = 0'); // the replicator's TRUNCATEs are the only restarts
    const insert = app.prepare('INSERT INTO t(v) VALUES (randomblob(200))');
    const vault = await Vault.open(path.join(work, 'vault'), { create: true });
    const checkpoints: { truncated: boolean }[] = [];
    const replicator = await vault.replicate(db, {
      name: 'app',
      interval: 50,
      walFrames: 40,
      onEvent: (e) => {
        if (e.type === 'checkpoint') checkpoints.push({ truncated: e.truncated });
      },
    });
    let commits = 0;
    const failures: string[] = [];
    let slowest = 0;
    const until = Date.now() + 4000;
    while (Date.now() < until) {
      // A burst of synchronous commits, then one turn of the event loop for everything else.
      for (let i = 0; i < 20; i++) {
        const started = Date.now();
        try {
          insert.run();
          commits++;
        } catch (err) {
          failures.push((err as { code?: string }).code ?? String(err));
        }
        slowest = Math.max(slowest, Date.now() - started);
      }
      await nextTurn();
    }
    // Quiet: the WAL idle for an interval, everything shipped, so the TRUNCATE needs no hold
    // (within 10 s: after busy attempts it waits 10 intervals).
    const quietStart = replicator.stats().truncates;
    for (let waited = 0; waited < 10_000 && replicator.stats().truncates === quietStart; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Idle after that: the WAL holds only the TRUNCATE's seed frame, which is not truncated again.
    const idleTruncates = replicator.stats().truncates;
    expect(idleTruncates).toBeGreaterThan(quietStart);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(replicator.stats().truncates).toBe(idleTruncates);
    const stats = await replicator.close();
    expect(failures).toEqual([]);
    expect(slowest).toBeLessThan(3000); // none waited out its busy timeout
    expect(stats.truncates).toBeGreaterThan(0);
    expect(checkpoints.filter((c) => c.truncated).length).toBe(stats.truncates);
    const expected = logicalDump(db);
    app.close();
    const restored = path.join(work, 'restored.db');
    const r = await vault.restore('app', restored, { txid: stats.lastTxid });
    expect(r.txid).toBe(stats.lastTxid);
    expect(logicalDump(restored)).toBe(expected);
    expect(commits).toBeGreaterThan(100);
  }, 60_000);

  it('replayLimit: a differential backup once the log since the newest backup passes its share of the database\'s size; a point after it restores from it', async () => {
    const work = tmpDir('litevault-repl-replay-');
    const db = path.join(work, 'app.db');
    sqliteShell(db, 'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); INSERT INTO t(v) SELECT randomblob(3000) FROM (WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 400) SELECT i FROM s);');
    const app = new BetterSqlite3(db, { timeout: 3000 });
    app.pragma('wal_autocheckpoint = 0');
    const update = app.prepare('UPDATE t SET v = randomblob(3000) WHERE id = ?');
    const vault = await Vault.open(path.join(work, 'vault'), { create: true });
    const backups: string[] = [];
    const replicator = await vault.replicate(db, {
      name: 'app',
      interval: 50,
      replayLimit: 0.01, // a 1.3 MiB database counts as 256 MiB: a differential every ~2.6 MiB of shipped pages
      onEvent: (e) => {
        if (e.type === 'backup') backups.push(e.reason);
      },
    });
    for (let i = 0; i < 1200; i++) {
      update.run(1 + (i % 400)); // one page and its table's pages per commit
      if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // The replicator ships and backs up on its own schedule (close() only ships what is left):
    // wait for its differential, not a fixed time a slow (ASan) run may not have had enough of.
    const deadline = Date.now() + 30_000;
    while (!backups.includes('differential') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const stats = await replicator.close();
    expect(backups[0]).toBe('start');
    expect(backups.filter((r) => r === 'differential').length).toBeGreaterThan(0);
    const [log] = await vault.logs('app');
    expect(log!.anchors.filter((a) => !a.heal).length).toBeGreaterThan(0); // the differentials are restore points
    const expected = logicalDump(db);
    app.close();
    const restored = path.join(work, 'restored.db');
    const r = await vault.restore('app', restored, { txid: stats.lastTxid });
    expect(r.id).not.toBe((await vault.list('app'))[0]!.id); // not replayed from the start backup
    expect(logicalDump(restored)).toBe(expected);
  }, 60_000);
});
