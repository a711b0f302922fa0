// Continuous replication and point-in-time restore (issue 16; docs/replication.md), with the real
// CLI (`node dist/cli.js replicate ... --json`, `vault restore --at tx:N | TIME`, `vault list
// --json`) as child processes, judged by real SQLite (better-sqlite3 read-only and the sqlite3
// shell's integrity_check) against the ledger model (test/oracle/ledger.cjs: the state after
// commit k follows from the seed alone).
//   (a) the acceptance trial (test/oracle/replication-trial.cjs, also scripts/torture.js's):
//       LITEVAULT_REPLICATION_SECONDS (default 12) of a 1000 tx/s ledger writer with a random
//       wal_autocheckpoint and forced WAL resets, the replicator SIGKILLed and restarted at random
//       moments (one per 15 s, at least 2), then LITEVAULT_REPLICATION_RESTORES (default 6)
//       restores at random txids and as many at random times, each exactly the state after a
//       commit k, k monotonic, time targets within the lag bound;
//   (b) a WAL reset between polls (the replicator frozen by SIGSTOP: commit, TRUNCATE, commit)
//       is a 'gap' event followed by a heal 'backup', and the latest txid restores to SQLite's
//       state; a reset after the replicator saw everything (RESTART over a longer WAL) is no gap;
//   (c) with wal_autocheckpoint=0 the replicator keeps the -wal under 2x --wal-frames;
//   (d) a rollback-journal database is LITEVAULT_NOT_WAL; and (a) on a short run into an s3://
//       vault on moto_server (test/oracle/moto.ts).
// Seeds: LITEVAULT_SEED (else random), printed; every failure message names it.
// Summary lines start with "replication |".
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { removeTmpDirs, tmpDir } from './oracle/sqlite';
import { moto, stopMoto } from './oracle/moto';
import { checkLedger, committer, createLedgerDb } from './oracle/ledger.cjs';
import { cli, listLog, replicationTrial, restoreAt, startReplicator, startWriter, walBytes } from './oracle/replication-trial.cjs';

const SEED = Number(process.env.LITEVAULT_SEED ?? Math.floor(Math.random() * 2 ** 31)) >>> 0;
// Short: CI's torture step runs the 30 s trial with the autocheckpoint mix; this one picks one setting.
const SECONDS = Number(process.env.LITEVAULT_REPLICATION_SECONDS ?? 12);
const RESTORES = Number(process.env.LITEVAULT_REPLICATION_RESTORES ?? 6);
const S3_SECONDS = Number(process.env.LITEVAULT_REPLICATION_S3_SECONDS ?? 20);
console.log(`replication | seed ${SEED} (LITEVAULT_SEED=${SEED} repeats the choices)`);

afterAll(async () => {
  await stopMoto();
  removeTmpDirs();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
type Event = { type: string; reason?: string; txid?: number | null; lastTxid?: number; [k: string]: unknown };
type Repl = { process: import('node:child_process').ChildProcess; events: Event[]; stderr: string; exited: Promise<{ code: number | null; signal: string | null; stderr: string }> };

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`seed ${SEED}: timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function stop(r: Repl): Promise<void> {
  r.process.kill('SIGTERM');
  const e = await r.exited;
  expect(e.code, `seed ${SEED}: the replicator exits 0 after SIGTERM (stderr: ${e.stderr})`).toBe(0);
  expect(r.events.at(-1)?.type).toBe('stopped');
}

/** Restores the log's last txid and checks it is exactly the state after commit `k`, and the source's state too. */
async function latestEquals(vault: string, source: string, k: number, work: string): Promise<number> {
  const src = checkLedger(source, SEED);
  expect(src, `seed ${SEED}: the source itself is commit ${k}`).toEqual({ k, problems: [] });
  const { log } = await listLog(vault);
  const last = log.range.lastTxid as number;
  const dest = path.join(work, `latest-${last}.db`);
  const r = await restoreAt(vault, dest, `tx:${last}`);
  expect(r.ok, `seed ${SEED}: restore --at tx:${last}: ${r.error}`).toBe(true);
  const c = checkLedger(dest, SEED);
  expect(c, `seed ${SEED}: restore --at tx:${last} (the latest) is SQLite's state after commit ${k}`).toEqual({ k, problems: [] });
  return last;
}

describe('replication acceptance trial (a)', () => {
  it(`${SECONDS} s at 1000 tx/s, SIGKILLs and forced resets, ${RESTORES}+${RESTORES} restores: each exactly a commit's state`, async () => {
    const work = tmpDir('litevault-repl-');
    const { summary, failures } = await replicationTrial({ seconds: SECONDS, seed: SEED, restores: RESTORES, work });
    console.log(`replication | directory | ${JSON.stringify(summary)}`);
    for (const f of failures) console.log(`replication | FAILURE | ${f}`);
    expect(failures, `seed ${SEED}`).toEqual([]);
    expect(summary.kills).toBeGreaterThanOrEqual(2);
    expect(summary.restores).toBeGreaterThanOrEqual(2 * RESTORES + 1);
  }, (SECONDS + 240) * 1000);
});

describe('WAL resets (b)', () => {
  it('a TRUNCATE between polls (replicator frozen) is a gap, then a heal backup; the latest txid restores to SQLite\'s state', async () => {
    const work = tmpDir('litevault-repl-gap-');
    const db = path.join(work, 'ledger.db');
    const vault = path.join(work, 'vault');
    createLedgerDb(db);
    const r = startReplicator(db, vault, { interval: 2000 }) as Repl;
    await until('the start backup', () => r.events.some((e) => e.type === 'backup'));
    const conn = new Database(db, { timeout: 2000 });
    conn.pragma('synchronous = NORMAL');
    conn.pragma('wal_autocheckpoint = 0');
    const commit = committer(conn, SEED);
    let k = 0;
    for (; k < 50; ) {
      commit(++k);
      await sleep(2);
    }
    await sleep(300); // polled (fs.watch wakes the replicator within ms)
    let gapAt = -1;
    for (let attempt = 0; attempt < 5 && gapAt < 0; attempt++) {
      const seen = r.events.length;
      r.process.kill('SIGSTOP');
      commit(++k);
      const [ck] = conn.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      commit(++k);
      commit(++k);
      r.process.kill('SIGCONT');
      if (ck!.busy) continue; // frozen inside its poll's read lock: try again
      await until('a gap event and its backup', () => r.events.slice(seen).some((e) => e.type === 'backup' && e.reason === 'gap'));
      const later = r.events.slice(seen);
      gapAt = later.findIndex((e) => e.type === 'gap');
      expect(gapAt, `seed ${SEED}: events after the reset: ${JSON.stringify(later)}`).toBeGreaterThanOrEqual(0);
      expect(later[gapAt]!.reason).toBe('restarted');
      const heal = later.findIndex((e) => e.type === 'backup' && e.reason === 'gap');
      expect(heal, `seed ${SEED}: the heal backup follows the gap: ${JSON.stringify(later)}`).toBeGreaterThan(gapAt);
    }
    expect(gapAt, `seed ${SEED}: no attempt saw a gap`).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 5; i++) commit(++k);
    conn.close();
    await sleep(300);
    await stop(r);
    const last = await latestEquals(vault, db, k, work);
    console.log(`replication | gap | seed ${SEED}: ${k} commits, last txid ${last}, events ${r.events.map((e) => e.type + (e.reason ? `:${e.reason}` : '')).join(' ')}`);
  }, 120_000);

  it('a RESTART after the replicator saw everything (the old generation ends before the file does) is no gap', async () => {
    const work = tmpDir('litevault-repl-caught-');
    const db = path.join(work, 'ledger.db');
    const vault = path.join(work, 'vault');
    createLedgerDb(db);
    const r = startReplicator(db, vault, { interval: 2000, extra: ['--wal-frames', '100000'] }) as Repl;
    await until('the start backup', () => r.events.some((e) => e.type === 'backup'));
    const conn = new Database(db, { timeout: 2000 });
    conn.pragma('synchronous = NORMAL');
    conn.pragma('wal_autocheckpoint = 0');
    const commit = committer(conn, SEED);
    let k = 0;
    const restart = (): void => {
      const [ck] = conn.pragma('wal_checkpoint(RESTART)') as { busy: number }[];
      expect(ck!.busy, `seed ${SEED}: RESTART completed`).toBe(0);
    };
    // A long generation, then a short one: the file stays as long as the first.
    for (let i = 0; i < 200; i++) commit(++k);
    await sleep(100);
    restart();
    for (let i = 0; i < 10; i++) {
      commit(++k);
      await sleep(5);
    }
    // That restart may be a gap (the long generation ended at the file's end: nothing proves
    // that no frame followed). Once healed, a few more commits, each seen by a poll, so the
    // replicator's position (and its checksum) is the short generation's end; all within
    // --interval, so no idle checkpoint of its own.
    await until('every gap healed', () => r.events.filter((e) => e.type === 'gap').length === r.events.filter((e) => e.type === 'backup' && e.reason === 'gap').length);
    for (let i = 0; i < 3; i++) {
      commit(++k);
      await sleep(50);
    }
    await sleep(200);
    const seen = r.events.length;
    const gapsBefore = r.events.filter((e) => e.type === 'gap').length;
    // The restart and the new generation's first commits while the replicator is frozen (a poll
    // inside the first transaction of a generation, between SQLite's walRestartLog and its
    // commit, is another matter: see the report), then it polls.
    const frozen = async (commits: number): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        r.process.kill('SIGSTOP');
        const [ck] = conn.pragma('wal_checkpoint(RESTART)') as { busy: number }[];
        if (ck!.busy && attempt < 5) {
          r.process.kill('SIGCONT'); // frozen inside its poll's read lock: again
          await sleep(20);
          continue;
        }
        expect(ck!.busy, `seed ${SEED}: RESTART completed`).toBe(0);
        for (let i = 0; i < commits; i++) commit(++k);
        r.process.kill('SIGCONT');
        return;
      }
    };
    // Each new generation shorter than the one before (a commit here is 2 frames), so the old
    // generation's last frame is still in the file, untouched.
    await frozen(3);
    await sleep(300);
    await frozen(1);
    conn.close();
    await sleep(300);
    await stop(r);
    const after = r.events.slice(seen);
    expect(after.filter((e) => e.type === 'gap' || (e.type === 'backup' && e.reason === 'gap')), `seed ${SEED}: events after the caught-up restarts: ${JSON.stringify(after)}`).toEqual([]);
    const last = await latestEquals(vault, db, k, work);
    console.log(`replication | caught up | seed ${SEED}: ${k} commits, last txid ${last}, gaps before the caught-up restarts ${gapsBefore}, none after`);
  }, 120_000);
});

describe('WAL resets (b), after a heal', () => {
  it('a heal does not make a busy WAL look idle: no shipped TRUNCATE while the writer commits every 5 ms', async () => {
    const work = tmpDir('litevault-repl-idle-');
    const db = path.join(work, 'ledger.db');
    const vault = path.join(work, 'vault');
    createLedgerDb(db);
    const r = startReplicator(db, vault, { interval: 500, extra: ['--wal-frames', '100000'] }) as Repl;
    await until('the start backup', () => r.events.some((e) => e.type === 'backup'));
    const conn = new Database(db, { timeout: 2000 });
    conn.pragma('synchronous = NORMAL');
    conn.pragma('wal_autocheckpoint = 0');
    const commit = committer(conn, SEED);
    let k = 0;
    const busy = async (ms: number): Promise<void> => {
      for (const end = Date.now() + ms; Date.now() < end; ) {
        commit(++k);
        await sleep(5);
      }
    };
    await busy(1500);
    const seen = r.events.length;
    let forced = false;
    for (let attempt = 0; attempt < 5 && !forced; attempt++) {
      // Frozen for longer than --interval while the writer goes on: its last poll is older than
      // that, but the WAL was never idle.
      r.process.kill('SIGSTOP');
      await busy(700);
      const [ck] = conn.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      commit(++k);
      r.process.kill('SIGCONT');
      forced = !ck!.busy;
      await sleep(5);
    }
    await busy(3000);
    conn.close();
    await sleep(300);
    await stop(r);
    const after = r.events.slice(seen);
    const line = after.map((e) => e.type + (e.reason ? `:${e.reason}` : '') + (e.type === 'checkpoint' ? `:${e.truncated}` : '')).join(' ');
    console.log(`replication | busy after heal | seed ${SEED}: ${k} commits; events after the forced reset: ${line}`);
    expect(after.some((e) => e.type === 'backup' && e.reason === 'gap'), `seed ${SEED}: the forced reset was healed: ${line}`).toBe(true);
    expect(after.filter((e) => e.type === 'checkpoint'), `seed ${SEED}: the WAL was never idle for --interval (500 ms), yet the replicator checkpointed: ${line}`).toEqual([]);
    await latestEquals(vault, db, k, work);
  }, 60_000);
});

describe('WAL resets (b), the replicator\'s own', () => {
  // SQLite's walFrames (sqlite3.c 3.53.2, "if( pWal->nCkpt==0 ) sqlite3_randomness(8,
  // pWal->hdr.aSalt)"): a connection that never restarted a WAL itself writes frame 1 of the next
  // generation with both salts random, not salt-1 + 1. The application's connection here
  // (wal_autocheckpoint=0) is such a one, so after the replicator's shipped TRUNCATE the new
  // generation's salt-1 would not be the old one plus 1. The shipped TRUNCATE therefore leaves a
  // seed frame (wal/wal_follow.h): the writer appends to our generation instead.
  it('a shipped TRUNCATE is never a gap, also when the writer never restarted a WAL itself', async () => {
    const work = tmpDir('litevault-repl-own-');
    const db = path.join(work, 'ledger.db');
    const vault = path.join(work, 'vault');
    createLedgerDb(db);
    const r = startReplicator(db, vault, { extra: ['--wal-frames', '100'] }) as Repl;
    await until('the start backup', () => r.events.some((e) => e.type === 'backup'));
    const w = startWriter(db, path.join(work, 'commits.log'), { seed: SEED, autocheckpoint: 0, rate: 200 });
    await sleep(3000);
    w.stop();
    const ws = await w.done;
    await sleep(300);
    await stop(r);
    const truncates = r.events.filter((e) => e.type === 'checkpoint' && e.truncated).length;
    const gaps = r.events.filter((e) => e.type === 'gap');
    console.log(`replication | own truncate | seed ${SEED}: ${ws.commits} commits, ${truncates} truncating checkpoints, ${gaps.length} gaps`);
    expect(truncates, `seed ${SEED}: the replicator truncated the WAL`).toBeGreaterThan(0);
    expect(gaps, `seed ${SEED}: gaps after the replicator's own TRUNCATEs (${truncates}): ${r.events.map((e) => e.type + (e.reason ? `:${e.reason}` : '')).join(' ')}`).toEqual([]);
    await latestEquals(vault, db, ws.commits, work);
  }, 60_000);
});

describe('WAL size (c)', () => {
  it('with wal_autocheckpoint=0 at 1000 tx/s the replicator keeps the -wal under 2x --wal-frames', async () => {
    const work = tmpDir('litevault-repl-wal-');
    const db = path.join(work, 'ledger.db');
    const vault = path.join(work, 'vault');
    createLedgerDb(db);
    const walFrames = 1000;
    const bound = 32 + 2 * walFrames * (4096 + 24);
    const r = startReplicator(db, vault, { extra: ['--wal-frames', String(walFrames)] }) as Repl;
    await until('the start backup', () => r.events.some((e) => e.type === 'backup'));
    const w = startWriter(db, path.join(work, 'commits.log'), { seed: SEED, autocheckpoint: 0, rate: 1000 });
    let max = 0;
    const samples: number[] = [];
    const timer = setInterval(() => {
      const s = walBytes(db);
      samples.push(s);
      max = Math.max(max, s);
    }, 10);
    await sleep(8000);
    w.stop();
    const ws = await w.done;
    clearInterval(timer);
    await stop(r);
    const stats = r.events.at(-1)!.stats as { truncates: number; maxWalFrames: number };
    const truncates = r.events.filter((e) => e.type === 'checkpoint' && e.truncated).length;
    console.log(`replication | wal size | seed ${SEED}: ${ws.commits} commits, -wal max ${max} bytes (bound ${bound}), ${truncates} truncating checkpoints, max frames at a poll ${stats.maxWalFrames}, ${samples.length} samples`);
    expect(truncates, `seed ${SEED}: the replicator truncated the WAL`).toBeGreaterThan(0);
    expect(max, `seed ${SEED}: the -wal stayed under 2 x ${walFrames} frames`).toBeLessThan(bound);
    await latestEquals(vault, db, ws.commits, work);
  }, 120_000);
});

describe('not WAL, and an s3:// vault (d)', () => {
  it('a rollback-journal database is LITEVAULT_NOT_WAL', async () => {
    const work = tmpDir('litevault-repl-notwal-');
    const db = path.join(work, 'rollback.db');
    createLedgerDb(db, { journalMode: 'delete' });
    const r = await cli(['replicate', db, path.join(work, 'vault'), '--json', '--interval', '200ms']);
    expect(r.code, `stderr: ${r.stderr}`).not.toBe(0);
    expect(r.stderr).toContain('LITEVAULT_NOT_WAL');
    expect(fs.existsSync(`${db}-wal`), 'no -wal was made').toBe(false);
  });

  it(`the acceptance trial on an s3:// vault (moto_server), ${S3_SECONDS} s`, async () => {
    const server = await moto();
    const bucket = await server.bucket();
    const work = tmpDir('litevault-repl-s3-');
    const restores = Math.min(RESTORES, 5);
    const { summary, failures } = await replicationTrial({
      seconds: S3_SECONDS, seed: SEED, restores, work, kills: 2,
      vault: `s3://${bucket}/repl`, remoteArgs: ['--endpoint', server.endpoint],
      // The CLI has no lease option: a SIGKILLed run's 60 s lease would stall each restart.
      api: { endpoint: server.endpoint, leaseMs: 2000 },
    });
    console.log(`replication | s3 | ${JSON.stringify(summary)}`);
    for (const f of failures) console.log(`replication | FAILURE | ${f}`);
    expect(failures, `seed ${SEED}`).toEqual([]);
    expect(summary.restores).toBeGreaterThanOrEqual(2 * restores + 1);
  }, (S3_SECONDS + 300) * 1000);
});
