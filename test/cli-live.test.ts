// The real CLI (dist/cli.js in a child process) on live databases under a real-SQLite writer:
// - SIGINT, SIGTERM and SIGHUP sent mid-backup cancel it through its AbortSignal: exit 130, 143,
//   129 with one line on stderr, and the destination is as it was (an existing one keeps its old
//   content, judged by sqlite3; a new one holds no partial copy);
// - a rollback-journal source that keeps changing is still backed up: after --max-restarts the
//   CLI holds the read lock, says so on stderr (or `heldLock: true` with --json), and the copy is
//   a consistent ledger by SQLite's judgement;
// - what README says about snapshot backups and checkpoints: a pinned snapshot does not block
//   SQLite writers, but a restart checkpoint started meanwhile (ours, or SQLite's own) does,
//   for its busy timeout, and then reports busy (exit 3); a passive one never does.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDatabase } from './oracle/corpus';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backup, Database } from '../dist/index.js';
import { integrityCheck, logicalDump, removeTmpDirs, shellError, sqliteShell, tmpDir } from './oracle/sqlite';
import { checkLedger, startWriter, type Writer } from './oracle/writer';

const MIB = 1024 * 1024;
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const dir = tmpDir('litevault-cli-live-');
const writers = new Set<Writer>();
afterEach(async () => {
  for (const w of writers) await w.kill('SIGKILL');
  writers.clear();
});
afterAll(removeTmpDirs);

interface Finished {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `onStderrLine` sees each stderr line as it comes and may signal the child. */
function runCli(args: string[], onStderrLine?: (line: string, child: ReturnType<typeof spawn>) => void): Promise<Finished> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
    partial += c;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      onStderrLine?.(line, child);
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    }),
  );
}

describe('signals cancel a backup, roll it back and exit 128 + signal', () => {
  const src = path.join(dir, 'big.db');
  let writer: Writer;

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    for (const existing of [true, false]) {
      it(`${signal} mid-backup into ${existing ? 'an existing destination: it keeps its old content' : 'a new destination: no partial copy'}, exit ${code}`, async () => {
        if (!fs.existsSync(src)) createDatabase(src, { targetBytes: 24 * MIB, journalMode: 'wal' });
        writer = await startWriter(src, { commitsPerSecond: 200 });
        writers.add(writer);
        const dst = path.join(dir, `${signal}-${existing ? 'old' : 'new'}.db`);
        let before = '';
        if (existing) {
          sqliteShell(dst, "CREATE TABLE precious(x); INSERT INTO precious VALUES ('old content');");
          before = logicalDump(dst);
        }
        let steps = 0;
        let sent = false;
        const r = await runCli(['backup', src, dst, '--pages', '16', '--progress', 'json'], (line, child) => {
          if (!line.startsWith('{')) return;
          const p = JSON.parse(line) as { done: boolean };
          steps++;
          // Well into the copy (the destination holds copied pages and a journal), not at its end.
          if (!sent && steps === 20 && !p.done) {
            sent = true;
            child.kill(signal);
          }
        });
        await writer.stop();
        writers.delete(writer);
        expect(sent, 'the backup ended before the signal was sent').toBe(true);
        expect(r.signal).toBeNull();
        expect(r.status, r.stderr).toBe(code);
        expect(r.stdout).toBe('');
        const lines = r.stderr.trim().split('\n');
        const last = lines[lines.length - 1]!;
        expect(lines.slice(0, -1).every((l) => l.startsWith('{'))).toBe(true); // progress only, then one line
        expect(last).toBe(
          `litevault backup: backup cancelled by ${signal}: ${existing ? `'${dst}' keeps its previous content` : `no backup was made at '${dst}'`}`,
        );
        expect(fs.existsSync(dst + '-journal')).toBe(false);
        if (existing) {
          expect(integrityCheck(dst)).toBe('ok');
          expect(logicalDump(dst)).toBe(before);
        } else {
          // A new destination is written under a private temporary and renamed into place only
          // when complete (issue 11 item 2): a cancelled backup leaves nothing at its path, and
          // removes the temporary too.
          expect(fs.existsSync(dst)).toBe(false);
          expect(fs.readdirSync(path.dirname(dst)).filter((f) => f.includes('.litevault-'))).toEqual([]);
        }
        expect(checkLedger(src).ok).toBe(true);
      });
    }
  }
});

describe('a backup of a rollback-journal source under a 200 commits/s SQLite writer always finishes', () => {
  for (const json of [false, true]) {
    it(`after --max-restarts 2 it holds the read lock and says so (${json ? '--json: heldLock true' : 'on stderr'}); the copy is a valid ledger`, async () => {
      const src = path.join(dir, `ledger-${json}.db`);
      const dst = path.join(dir, `ledger-${json}-copy.db`);
      createDatabase(src, { targetBytes: 6 * MIB });
      const writer = await startWriter(src, { commitsPerSecond: 200, journalMode: 'delete', busyTimeoutMs: 20_000 });
      writers.add(writer);
      const r = await runCli(['backup', src, dst, '--pages', '4', '--max-restarts', '2', ...(json ? ['--json'] : [])]);
      await writer.stop();
      writers.delete(writer);
      expect(r.status, r.stderr).toBe(0);
      if (json) {
        expect(r.stderr).toBe('');
        const result = JSON.parse(r.stdout);
        expect(result).toMatchObject({ heldLock: true, mode: 'snapshot' });
        expect(result.restarts).toBeGreaterThanOrEqual(2);
      } else {
        expect(r.stderr).toMatch(
          new RegExp(`^litevault backup: '${src.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' changed during \\d+ copies in a row; holding its read lock until the backup ends`),
        );
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stdout).toMatch(/after \d+ restarts \(then holding the read lock\)/);
      }
      expect(integrityCheck(dst)).toBe('ok');
      expect(checkLedger(dst).ok).toBe(true);
    });
  }
});

describe('README: a snapshot backup blocks no writer, a restart checkpoint during it does (as in SQLite)', () => {
  it('while a snapshot is pinned, a sqlite3 writer commits; during `checkpoint --mode restart` (and SQLite\'s own) it is locked out; passive never', async () => {
    const src = path.join(dir, 'pinned.db');
    createDatabase(src, { targetBytes: 1 * MIB, journalMode: 'wal' });
    const insert = (v: string): string => shellError(src, `.timeout 0\nPRAGMA wal_autocheckpoint=0;\nINSERT INTO ledger_note VALUES ('${v}');\n`);
    sqliteShell(src, 'CREATE TABLE ledger_note(v TEXT);');
    await using s = await Database.open(src);
    await using d = await Database.open(path.join(dir, 'pinned-copy.db'), { create: true });
    const b = new Backup(s, d, { mode: 'snapshot' });
    try {
      expect((await b.step(1)).done).toBe(false); // the snapshot is pinned from here to the end
      expect(insert('during the backup')).toBe('');
      expect((await runCli(['checkpoint', src, '--mode', 'passive'])).status).toBe(0);
      expect(insert('after a passive checkpoint')).toBe('');

      for (const checkpointer of ['litevault', 'sqlite3'] as const) {
        const running =
          checkpointer === 'litevault'
            ? runCli(['checkpoint', src, '--mode', 'restart', '--busy-timeout', '1500', '--json'])
            : new Promise<Finished>((resolve) => {
                const child = spawn('sqlite3', [src], { stdio: ['pipe', 'pipe', 'pipe'] });
                let stdout = '';
                child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
                child.once('close', (status) => resolve({ status, signal: null, stdout, stderr: '' }));
                child.stdin.end('.timeout 1500\nPRAGMA wal_checkpoint(RESTART);\n');
              });
        // Wait until the checkpoint holds the WAL write lock while it waits for our reader: a
        // probe transaction that writes nothing fails to begin. (A fixed 500 ms was too short
        // for the CLI to start under ASan.) A probe that gets in first only makes the
        // checkpointer's busy handler retry.
        const deadline = Date.now() + 20_000;
        while (!/database is locked/.test(shellError(src, '.timeout 0\nBEGIN IMMEDIATE;\nROLLBACK;\n')) && Date.now() < deadline) await sleep(20);
        expect(insert(`during a restart checkpoint by ${checkpointer}`)).toMatch(/database is locked/);
        const r = await running;
        if (checkpointer === 'litevault') {
          expect(r.status).toBe(3);
          expect(JSON.parse(r.stdout).busy).toBe(1);
        } else {
          expect(r.stdout.trim().split('|')[0]).toBe('1'); // SQLite's row: busy = 1
        }
        expect(insert(`after a restart checkpoint by ${checkpointer}`)).toBe('');
      }
      expect((await b.step(-1)).done).toBe(true);
    } finally {
      await b.finish();
    }
    expect(sqliteShell(src, 'SELECT count(*) FROM ledger_note;').trim()).toBe('4');
  });
});
