// Checkpoints against real SQLite: a scenario table where every row is set up twice, identically,
// from the same WAL database, once checkpointed by litevault and once by `PRAGMA
// wal_checkpoint(MODE)` in the sqlite3 shell; the {busy, log, checkpointed} rows and the
// resulting database contents must be identical. Then the stepped handle, TRUNCATE, and
// non-WAL databases.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Checkpoint, checkpoint, Database, inspect } from '../dist/index.js';
import { createDatabase } from './oracle/corpus';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, SQLITE3_BIN, tmpDir } from './oracle/sqlite';

afterAll(removeTmpDirs);
const ACTOR = path.join(__dirname, 'fixtures', 'sqlite-actor.cjs');
const BUSY_MS = 300;
type Mode = 'passive' | 'full' | 'restart' | 'truncate';
const MODES: Mode[] = ['passive', 'full', 'restart', 'truncate'];

// Commits through the sqlite3 shell without checkpointing (another connection keeps the
// database open, so the shell's close is not the last one).
function commit(db: string, rows: number): void {
  sqliteShell(db, `PRAGMA wal_autocheckpoint=0; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${rows}) INSERT INTO t(k, v) SELECT 'c' || i, printf('%0300d', i) FROM c;`);
}

async function actor(db: string, role: 'holder' | 'reader' | 'writer'): Promise<ChildProcess> {
  const child = spawn(process.execPath, [ACTOR, db, role], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`actor ${role} exited ${code}`)));
  });
  return child;
}

async function stop(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          c.once('exit', () => resolve());
          c.stdin!.end();
        }),
    ),
  );
}

type Scenario = 'no readers' | 'reader on an old snapshot' | 'reader on the latest snapshot' | 'writer holding the write lock' | 'another checkpointer';
const SCENARIOS: Scenario[] = ['no readers', 'reader on an old snapshot', 'reader on the latest snapshot', 'writer holding the write lock', 'another checkpointer'];

// Builds the scenario on a fresh copy of the template and returns the processes that hold it.
async function setUp(template: string, scenario: Scenario): Promise<{ db: string; children: ChildProcess[] }> {
  const db = path.join(tmpDir('litevault-ckpt-'), 'db.db');
  fs.copyFileSync(template, db);
  fs.copyFileSync(template + '-wal', db + '-wal');
  const children = [await actor(db, 'holder')];
  commit(db, 20);
  if (scenario === 'reader on an old snapshot') {
    children.push(await actor(db, 'reader'));
    commit(db, 20);
  } else if (scenario === 'reader on the latest snapshot') {
    commit(db, 20);
    children.push(await actor(db, 'reader'));
  } else if (scenario === 'writer holding the write lock') {
    children.push(await actor(db, 'writer'));
  } else if (scenario === 'another checkpointer') {
    // A process holding the -shm's checkpoint lock (byte 121) with a plain POSIX lock, as a
    // SQLite checkpointer in mid-run would.
    const holder = spawn('python3', ['-c', `import fcntl,sys\nf=open(${JSON.stringify(db + '-shm')},'r+b')\nfcntl.lockf(f, fcntl.LOCK_EX|fcntl.LOCK_NB, 1, 121)\nprint('ready', flush=True)\nsys.stdin.read()`], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`the checkpoint-lock holder exited ${code}`)));
    });
    children.push(holder);
  }
  return { db, children };
}

function sqliteCheckpoint(db: string, mode: Mode): { busy: number; log: number; checkpointed: number } {
  const r = spawnSync(SQLITE3_BIN, ['-bail', '-batch', '-init', '/dev/null', db], {
    input: `.timeout ${BUSY_MS}\nPRAGMA wal_checkpoint(${mode.toUpperCase()});\n`,
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  const [busy, log, checkpointed] = r.stdout.trim().split('|').map(Number);
  return { busy, log, checkpointed };
}

describe('checkpoint() equals PRAGMA wal_checkpoint in every scenario and mode', () => {
  const template = path.join(tmpDir('litevault-ckpt-template-'), 'template.db');
  createDatabase(template, { journalMode: 'wal', keepWal: true, targetBytes: 256 * 1024 });

  for (const scenario of SCENARIOS) {
    for (const mode of MODES) {
      it(`${scenario}, ${mode}: same {busy, log, checkpointed} and the same database`, async () => {
        const ours = await setUp(template, scenario);
        let result: { busy: number; log: number; checkpointed: number };
        try {
          result = await checkpoint(ours.db, { mode, busyTimeout: BUSY_MS });
        } finally {
          await stop(ours.children);
        }
        const theirs = await setUp(template, scenario);
        let expected: { busy: number; log: number; checkpointed: number };
        try {
          expected = sqliteCheckpoint(theirs.db, mode);
        } finally {
          await stop(theirs.children);
        }
        console.log(`checkpoint scenario | ${scenario} | ${mode} | litevault ${JSON.stringify(result)} | sqlite ${JSON.stringify(expected)}`);
        expect(result).toEqual(expected);
        expect(fs.statSync(ours.db + '-wal').size).toBe(fs.statSync(theirs.db + '-wal').size);
        expect(integrityCheck(ours.db)).toBe('ok');
        expect(logicalDump(ours.db)).toBe(logicalDump(theirs.db));
      });
    }
  }
});

describe('the Checkpoint handle', () => {
  function walDb(): string {
    const db = path.join(tmpDir('litevault-ckpt-'), 'db.db');
    createDatabase(db, { journalMode: 'wal', keepWal: true, targetBytes: 128 * 1024 });
    return db;
  }

  it('steps backfill the next frames durably; real SQLite reads the same data after every step', async () => {
    const db = walDb();
    const holder = await actor(db, 'holder');
    try {
      commit(db, 200);
      const expected = logicalDump(db);
      const frames = (await inspect(db)).wal!.frames;
      await using handle = await Database.open(db);
      const cp = new Checkpoint(handle, { mode: 'passive' });
      let last = -1;
      for (;;) {
        const r = await cp.step(5);
        expect(r.log).toBe(frames);
        expect(r.checkpointed).toBeGreaterThan(last);
        last = r.checkpointed;
        expect((await inspect(db)).wal!.index!.backfilled).toBe(r.checkpointed);
        expect(logicalDump(db)).toBe(expected); // SQLite readers stay correct between steps
        if (r.done) break;
      }
      expect(last).toBe(frames);
      await cp.finish();
    } finally {
      await stop([holder]);
    }
  });

  it('a checkpoint left half-done (page 1 of a grown database copied before the pages that extend the file) is resumed by the next one', async () => {
    const db = path.join(tmpDir('litevault-ckpt-'), 'small.db');
    sqliteShell(db, 'PRAGMA journal_mode=wal; CREATE TABLE t(k, v);');
    const holder = await actor(db, 'holder');
    try {
      // Many small transactions that each grow the database, so page 1 (with the new size) is in
      // the earliest frames, before the pages that extend the file.
      for (let i = 0; i < 8; i++) commit(db, 30);
      const expected = logicalDump(db);
      {
        await using handle = await Database.open(db);
        const cp = new Checkpoint(handle);
        const first = await cp.step(3);
        expect(first.done).toBe(false);
        await cp.finish();
      }
      const file = fs.readFileSync(db);
      expect(file.readUInt32BE(28)).toBeGreaterThan(file.length / 4096); // the state that must be resumable
      const again = await checkpoint(db, { mode: 'passive' });
      expect(again.busy).toBe(0);
      expect(again.checkpointed).toBe(again.log);
      expect(integrityCheck(db)).toBe('ok');
      expect(logicalDump(db)).toBe(expected);
    } finally {
      await stop([holder]);
    }
  });

  it("TRUNCATE leaves a 0-byte -wal, reports {0, 0, 0}, and SQLite's next writer works", async () => {
    const db = walDb();
    const result = await checkpoint(db, { mode: 'truncate' });
    expect(result).toEqual({ busy: 0, log: 0, checkpointed: 0 });
    expect(fs.statSync(db + '-wal').size).toBe(0);
    commit(db, 10);
    expect(integrityCheck(db)).toBe('ok');
    expect(Number(sqliteShell(db, "SELECT count(*) FROM t WHERE k LIKE 'c%';").trim())).toBe(10);
  });

  it('a database not in WAL mode gives {busy: 0, log: -1, checkpointed: -1}', async () => {
    const db = path.join(tmpDir('litevault-ckpt-'), 'rollback.db');
    createDatabase(db, { targetBytes: 32 * 1024 });
    expect(await checkpoint(db, { mode: 'full' })).toEqual({ busy: 0, log: -1, checkpointed: -1 });
  });

  it('the CLI prints the same JSON row', () => {
    const db = walDb();
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'dist', 'cli.js'), 'checkpoint', db, '--mode', 'restart', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const row = JSON.parse(r.stdout);
    expect(row.busy).toBe(0);
    expect(row.log).toBeGreaterThan(0);
    expect(row.checkpointed).toBe(row.log);
  });
});
