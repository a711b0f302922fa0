// The litevault command line, run as a user would run it (node dist/cli.js), on databases that
// real SQLite made: --json output, human output, exit statuses and error lines.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pragmas, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';

afterAll(removeTmpDirs);
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const dir = tmpDir('litevault-cli-');

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('litevault info', () => {
  const db = path.join(dir, 'app.db');
  sqliteShell(db, 'PRAGMA page_size=2048; PRAGMA user_version=9; CREATE TABLE t(x); INSERT INTO t VALUES (randomblob(5000));');

  it('--json prints one object whose values equal SQLite PRAGMAs', () => {
    const r = run('info', db, '--json');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const info = JSON.parse(r.stdout);
    const p = pragmas(db);
    expect(info).toMatchObject({ pageSize: p.pageSize, pageCount: p.pageCount, userVersion: 9, journalMode: 'rollback', wal: null });
  });

  it('prints a readable summary without --json', () => {
    const r = run('info', db);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^page size\s+2048$/m);
    expect(r.stdout).toMatch(/^user version\s+9$/m);
  });

  it('exits 1 with the error code on stderr for a file that is not a database', () => {
    const f = path.join(dir, 'notes.txt');
    fs.writeFileSync(f, 'not a database at all, just some text that is long enough\n'.repeat(4));
    const r = run('info', f, '--json');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^litevault info: SQLITE_NOTADB: .*notes\.txt/);
  });

  it('exits 1 with SQLITE_CANTOPEN for a missing file', () => {
    const r = run('info', path.join(dir, 'nope.db'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/SQLITE_CANTOPEN/);
  });

  it('exits 2 with usage for a missing argument or an unknown option', () => {
    expect(run('info').status).toBe(2);
    expect(run('info', db, '--bogus').stderr).toMatch(/unknown option --bogus/);
    expect(run('frobnicate').status).toBe(2);
  });
});
