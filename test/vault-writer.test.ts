// Vault backups of live databases under real-SQLite writers in other processes
// (test/oracle/writer-child.cjs: transfers between accounts keeping a constant total, and a
// ledger whose seq is a gap-free counter):
// - a WAL source at ~500 commits/s, a full and then an incremental every second for 60 s
//   (every other one with truncateWal): every backup finishes, and every one restores to a
//   consistent ledger as SQLite judges it (integrity ok, constant total, no gaps), with a
//   counter that never goes back from one backup to the next and lies between the commits
//   seen before the backup started and after it ended;
// - a rollback-journal source under continuous writes: every backup finishes (restarting, and
//   holding the read lock after maxRestarts restarts when it must), and restores to a valid
//   ledger.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Vault } from '../dist/index.js';
import { createDatabase } from './oracle/corpus';
import { integrityCheck, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';
import { checkLedger, startWriter, type Writer } from './oracle/writer';

// The issue's 60 s; the sanitizer run (scripts/test-asan.sh) shortens it, as the instrumented
// addon is several times slower and the plain run already holds the whole minute.
const SECONDS = Number(process.env.LITEVAULT_VAULT_WRITER_SECONDS ?? 60);

const MIB = 1024 * 1024;
const dir = tmpDir('litevault-vault-writer-');
const writers = new Set<Writer>();
afterEach(async () => {
  for (const w of writers) await w.kill('SIGKILL');
  writers.clear();
});
afterAll(removeTmpDirs);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
// The ledger's last seq as SQLite reads it now, by a separate sqlite3 process: a bound on what
// any earlier snapshot saw. (The writer's own reports travel over IPC, and a loaded machine
// delivers them late: 72 commits late, once.)
const committed = (db: string): number => Number(sqliteShell(db, '.timeout 10000\nSELECT coalesce(max(seq), 0) FROM ledger;\n').trim());

interface Shot {
  id: string;
  type: string;
  commitsBefore: number;
  commitsAfter: number;
  pagesStored: number;
  pageCount: number;
  restarts: number;
  heldLock: boolean;
  notes: string[];
  ms: number;
}

describe('vault backups under a real-SQLite writer', () => {
  it('WAL ledger at ~500 commits/s, an incremental every second for 60 s: every backup restores to a consistent ledger, counters never go back', async () => {
    const src = path.join(dir, 'ledger-wal.db');
    createDatabase(src, { journalMode: 'wal', targetBytes: 8 * MIB });
    const vault = await Vault.open(path.join(dir, 'vault-wal'), { create: true });
    const writer = await startWriter(src, { commitsPerSecond: 500, journalMode: 'wal' });
    writers.add(writer);

    const shots: Shot[] = [];
    const started = Date.now();
    for (let i = 0; Date.now() - started < SECONDS * 1000; i++) {
      const tick = Date.now();
      const commitsBefore = writer.commits();
      const r = await vault.backup(src, { name: 'ledger', type: i === 0 ? 'full' : 'incremental', truncateWal: i % 2 === 1 });
      const commitsAfter = committed(src);
      shots.push({
        id: r.id,
        type: r.type,
        commitsBefore,
        commitsAfter,
        pagesStored: r.pagesStored,
        pageCount: r.pageCount,
        restarts: r.restarts,
        heldLock: r.heldLock,
        notes: r.notes,
        ms: r.ms,
      });
      expect(r.type).toBe(i === 0 ? 'full' : 'incremental');
      expect(r.snapshot.journalMode).toBe('wal');
      expect(r.restarts, 'a WAL snapshot never restarts').toBe(0);
      await sleep(Math.max(0, 1000 - (Date.now() - tick)));
    }
    const stopped = await writer.stop();
    writers.delete(writer);
    expect(shots.length).toBeGreaterThanOrEqual(SECONDS / 2); // one a second, give or take the backups' own time

    const listed = await vault.list('ledger');
    expect(listed.map((b) => b.id)).toEqual(shots.map((s) => s.id));
    listed.slice(1).forEach((b, i) => expect(b.base).toBe(listed[i]!.id));

    let lastSeq = 0;
    for (const s of shots) {
      const out = path.join(dir, `ledger-restored-${s.id}.db`);
      await vault.restore('ledger', out, { at: s.id });
      expect(integrityCheck(out), `backup ${s.id}`).toBe('ok');
      const l = checkLedger(out);
      expect(l, `backup ${s.id}: a consistent ledger`).toMatchObject({ ok: true, gaps: 0, badTotals: 0 });
      expect(l.balanceSum).toBe(l.expectedSum);
      expect(l.maxSeq, `backup ${s.id}: counter never goes back`).toBeGreaterThanOrEqual(lastSeq);
      expect(l.maxSeq, `backup ${s.id}: the snapshot is taken after the call starts`).toBeGreaterThanOrEqual(s.commitsBefore);
      expect(l.maxSeq, `backup ${s.id}: ... and before it ends`).toBeLessThanOrEqual(s.commitsAfter);
      lastSeq = l.maxSeq;
      fs.rmSync(out, { force: true });
    }
    expect(checkLedger(src).ok).toBe(true);
    const rate = stopped.commits / ((Date.now() - started) / 1000);
    const incs = shots.slice(1);
    // Reported, not asserted (no timing assertions in tests).
    console.log(
      `vault-writer WAL: ${shots.length} backups in ${Math.round((Date.now() - started) / 1000)} s, writer ${Math.round(rate)} commits/s ` +
        `(${stopped.busyRetries} busy retries), incremental pagesStored median ${incs.map((s) => s.pagesStored).sort((a, b) => a - b)[incs.length >> 1]} ` +
        `of ~${shots.at(-1)?.pageCount} pages, backup ms max ${Math.max(...shots.map((s) => s.ms))}, notes: ${[...new Set(shots.flatMap((s) => s.notes))].join(' | ')}`,
    );
    // An incremental after ~1 s of 500 small commits stores a small part of the database.
    for (const s of incs) expect(s.pagesStored).toBeLessThan(s.pageCount / 2);
  }, 150_000);

  it('a rollback-journal source under continuous writes: every backup finishes (heldLock when it had to) and restores to a valid ledger', async () => {
    const src = path.join(dir, 'ledger-rollback.db');
    // Larger than one 8 MiB scan step, so a rollback-mode scan has steps between which the
    // writer commits (and the scan restarts, then holds the read lock).
    createDatabase(src, { targetBytes: 24 * MIB });
    const vault = await Vault.open(path.join(dir, 'vault-rollback'), { create: true });
    const writer = await startWriter(src, { commitsPerSecond: 300, journalMode: 'delete', busyTimeoutMs: 30_000 });
    writers.add(writer);
    const shots: Shot[] = [];
    for (let i = 0; i < 8; i++) {
      const progressHeld: boolean[] = [];
      const commitsBefore = writer.commits();
      const r = await vault.backup(src, {
        name: 'ledger',
        type: i === 0 ? 'full' : i % 3 === 0 ? 'differential' : 'incremental',
        maxRestarts: i % 2 === 0 ? 2 : 0,
        // Slow reads make the writer commit during the scan.
        maxBytesPerSecond: i < 4 ? 48 * MIB : undefined,
        onProgress: (p: { heldLock: boolean }) => progressHeld.push(p.heldLock),
      });
      // The writer goes on after each backup (and its report then covers every commit the snapshot saw).
      const target = writer.commits() + 5;
      const deadline = Date.now() + 20_000;
      while (writer.commits() < target && Date.now() < deadline) await sleep(20);
      expect(writer.commits()).toBeGreaterThanOrEqual(target);
      shots.push({ id: r.id, type: r.type, commitsBefore, commitsAfter: committed(src), pagesStored: r.pagesStored, pageCount: r.pageCount, restarts: r.restarts, heldLock: r.heldLock, notes: r.notes, ms: r.ms });
      expect(r.snapshot.journalMode).toBe('rollback');
      const maxRestarts = i % 2 === 0 ? 2 : 0;
      expect(r.restarts).toBeLessThanOrEqual(maxRestarts);
      if (r.heldLock) expect(r.restarts, 'the lock is held only after maxRestarts restarts').toBe(maxRestarts);
      if (r.restarts < maxRestarts) expect(r.heldLock).toBe(false);
      if (progressHeld.includes(true)) expect(r.heldLock, 'progress said heldLock').toBe(true);
    }
    await writer.stop();
    writers.delete(writer);
    let lastSeq = 0;
    for (const s of shots) {
      const out = path.join(dir, `rollback-restored-${s.id}.db`);
      await vault.restore('ledger', out, { at: s.id });
      expect(integrityCheck(out)).toBe('ok');
      const l = checkLedger(out);
      expect(l.ok, `backup ${s.id}: ${JSON.stringify(l)}`).toBe(true);
      expect(l.maxSeq).toBeGreaterThanOrEqual(Math.max(lastSeq, s.commitsBefore));
      expect(l.maxSeq).toBeLessThanOrEqual(s.commitsAfter);
      lastSeq = l.maxSeq;
    }
    console.log(`vault-writer rollback: ${shots.map((s) => `${s.type}:${s.restarts}r${s.heldLock ? '+held' : ''}/${s.ms}ms`).join(' ')}`);
  }, 150_000);
});
