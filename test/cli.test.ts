// The litevault command line, run as a user or a script runs it (node dist/cli.js, no terminal),
// on databases that real SQLite made and with real sqlite3 processes holding locks: --json
// output for results and failures, --progress json, --quiet, per-command help, `--`, one-line
// usage errors, the documented exit statuses (0 done, 1 failed, 2 usage, 3 done but busy), and
// lock messages in words, naming the holder's pid, the file and the operation.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { holdInShell, type ShellHolder } from './oracle/holders';
import { integrityCheck, logicalDump, pragmas, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';

afterAll(removeTmpDirs);
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const dir = tmpDir('litevault-cli-');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);
const holders = new Set<ShellHolder>();
afterEach(() => {
  for (const h of holders) h.child.kill('SIGKILL');
  holders.clear();
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: string[], cwd?: string): Run {
  const started = Date.now();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

function realDb(name: string, sql: string): string {
  const f = fresh(name);
  sqliteShell(f, sql);
  return f;
}

const rowsSql = (rows: number): string =>
  `CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${rows}) INSERT INTO t SELECT i, hex(randomblob(100)) FROM c;`;

async function hold(db: string, sql: string): Promise<ShellHolder> {
  const h = await holdInShell(db, sql);
  holders.add(h);
  return h;
}

async function release(h: ShellHolder): Promise<void> {
  await h.release();
  holders.delete(h);
}

// One JSON error object on stderr, nothing on stdout.
function jsonError(r: Run): { code: string; errno: number | null; message: string; retryable: boolean } {
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  const parsed = JSON.parse(lines[0]!) as { error: { code: string; errno: number | null; message: string; retryable: boolean } };
  expect(Object.keys(parsed)).toEqual(['error']);
  expect(Object.keys(parsed.error).sort()).toEqual(['code', 'errno', 'message', 'retryable']);
  return parsed.error;
}

describe('litevault info', () => {
  const db = path.join(dir, 'app.db');
  sqliteShell(db, 'PRAGMA page_size=2048; PRAGMA user_version=9; CREATE TABLE t(x); INSERT INTO t VALUES (randomblob(5000));');

  it('--json prints one object whose values equal SQLite PRAGMAs', () => {
    const r = run(['info', db, '--json']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const info = JSON.parse(r.stdout);
    const p = pragmas(db);
    expect(info).toMatchObject({ pageSize: p.pageSize, pageCount: p.pageCount, userVersion: 9, journalMode: 'rollback', wal: null });
  });

  it('prints a readable summary without --json', () => {
    const r = run(['info', db]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^page size\s+2048$/m);
    expect(r.stdout).toMatch(/^user version\s+9$/m);
  });

  it('a file that is not a database: exit 1, one line naming the operation, the file and the code', () => {
    const f = path.join(dir, 'notes.txt');
    fs.writeFileSync(f, 'not a database at all, just some text that is long enough\n'.repeat(4));
    const r = run(['info', f]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^litevault info: cannot read '.*notes\.txt': SQLITE_NOTADB: .*notes\.txt.*\n$/);
  });

  it('with --json a failure is one {"error":{code,errno,message,retryable}} object on stderr', () => {
    const missing = jsonError(run(['info', path.join(dir, 'nope.db'), '--json']));
    expect(missing).toMatchObject({ code: 'SQLITE_CANTOPEN', errno: 2, retryable: false });
    expect(missing.message).toMatch(/nope\.db/);
    const f = path.join(dir, 'notes2.txt');
    fs.writeFileSync(f, 'x'.repeat(512));
    expect(jsonError(run(['info', '--json', f]))).toMatchObject({ code: 'SQLITE_NOTADB', errno: null, retryable: false });
  });
});

describe('usage, help and `--`', () => {
  const db = realDb('small.db', rowsSql(50));

  it('a usage error prints one line and a hint, not the whole help, and exits 2', () => {
    for (const [args, message, hint] of [
      [['info'], /^litevault info: info needs one database path/, "try 'litevault info --help'"],
      [['info', db, '--bogus'], /^litevault info: unknown option '--bogus'$/, "try 'litevault info --help'"],
      [['backup', db], /^litevault backup: backup needs a source and a destination/, "try 'litevault backup --help'"],
      [['backup', db, 'x.db', '--pages'], /^litevault backup: option '--pages' needs a value$/, "try 'litevault backup --help'"],
      [['backup', db, 'x.db', '--pages', '0'], /^litevault backup: --pages must be an integer >= 1, not '0'$/, "try 'litevault backup --help'"],
      [['checkpoint', db, '--mode', 'hard'], /^litevault checkpoint: --mode must be passive, full, restart or truncate, not 'hard'$/, "try 'litevault checkpoint --help'"],
      [['frobnicate'], /^litevault: unknown command 'frobnicate'$/, "try 'litevault --help'"],
      [[], /^litevault: no command given/, "try 'litevault --help'"],
    ] as const) {
      const r = run([...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.split('\n');
      expect(lines, r.stderr).toHaveLength(3); // two lines and the final newline
      expect(lines[0]).toMatch(message);
      expect(lines[1]).toBe(hint);
    }
    expect(fs.existsSync(path.join(dir, 'x.db'))).toBe(false);
  });

  it('a usage error with --json is a JSON error object with code USAGE', () => {
    const err = jsonError(run(['backup', db, '--json']));
    expect(err).toMatchObject({ code: 'USAGE', errno: null, retryable: false });
    expect(err.message).toMatch(/try 'litevault backup --help'/);
  });

  it('every command has its own --help (exit 0, stdout only) that lists its options and the exit statuses', () => {
    for (const [args, command, options] of [
      [['info', '--help'], 'info', ['--json']],
      [['backup', '--help'], 'backup', ['--pages', '--busy-timeout', '--mode', '--max-restarts', '--progress', '--quiet', '--json']],
      [['backup', '-h'], 'backup', ['--max-restarts']],
      [['help', 'backup'], 'backup', ['--max-restarts']],
      [['checkpoint', '--help'], 'checkpoint', ['--mode', '--busy-timeout', '--json']],
    ] as const) {
      const r = run([...args]);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout.startsWith(`usage: litevault ${command} `)).toBe(true);
      for (const o of options) expect(r.stdout).toContain(o);
      expect(r.stdout).toMatch(/^ {2}3 {4}done, but busy/m);
    }
    // backup's help says what a user finds at the destination path after an interruption.
    expect(run(['backup', '--help']).stdout.replace(/\s+/g, ' ')).toMatch(
      /A new destination is written under a private temporary name beside it and renamed into place only when complete/,
    );
    const top = run(['--help']);
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/litevault <command> --help/);
    expect(top.stdout).toMatch(/^ {2}2 {4}usage error$/m);
  });

  it('`--` ends the options: a destination named -x.db is backed up to, judged by SQLite; without `--` it is a usage error', () => {
    const cwd = fresh('cwd');
    fs.mkdirSync(cwd);
    const bad = run(['backup', db, '-x.db'], cwd);
    expect(bad.status).toBe(2);
    expect(fs.existsSync(path.join(cwd, '-x.db'))).toBe(false);
    const r = run(['backup', '--quiet', db, '--', '-x.db'], cwd);
    expect(r.status, r.stderr).toBe(0);
    const copy = path.join(cwd, '-x.db');
    expect(integrityCheck(copy)).toBe('ok');
    expect(logicalDump(copy)).toBe(logicalDump(db));
  });
});

describe('litevault backup output for scripts', () => {
  const src = realDb('src.db', rowsSql(2000));

  it('--json: the result object on stdout, nothing on stderr', () => {
    const dst = fresh('json.db');
    const r = run(['backup', src, dst, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]!);
    expect(result).toMatchObject({ source: src, destination: dst, pageCount: pragmas(src).pageCount, restarts: 0, heldLock: false, mode: 'restart' });
    expect(logicalDump(dst)).toBe(logicalDump(src));
  });

  it('--progress json: one JSON line per step on stderr, no carriage returns; the last line is done', () => {
    const dst = fresh('progress.db');
    const r = run(['backup', src, dst, '--pages', '16', '--progress', 'json', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('\r');
    const steps = r.stderr.trim().split('\n').map((l) => JSON.parse(l));
    const result = JSON.parse(r.stdout);
    expect(steps).toHaveLength(result.steps);
    expect(steps.length).toBeGreaterThan(2);
    steps.forEach((s, i) => {
      expect(s.step).toBe(i + 1);
      expect(s.copied + s.remaining).toBe(s.pageCount);
      expect(s.done).toBe(i === steps.length - 1);
    });
    expect(integrityCheck(dst)).toBe('ok');
  });

  it('without a terminal and without --progress: no bar, no carriage returns; the summary on stdout', () => {
    const r = run(['backup', src, fresh('plain.db'), '--pages', '16']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toContain('\r');
    expect(r.stdout).toMatch(/^backed up .*src\.db to .*plain\.db: \d+ pages of 4096 bytes/);
  });

  it('--quiet prints nothing on success, and still prints the error on failure', () => {
    const ok = run(['backup', '-q', src, fresh('quiet.db'), '--pages', '16']);
    expect([ok.status, ok.stdout, ok.stderr]).toEqual([0, '', '']);
    const bad = run(['backup', '--quiet', path.join(dir, 'missing.db'), fresh('q2.db')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^litevault backup: cannot back up '.*missing\.db' to '.*q2\.db': SQLITE_CANTOPEN: /);
  });
});

describe('lock messages in words, with the holder, the file and the operation', () => {
  it('a source held EXCLUSIVE by sqlite3: "locked by another process (pid N): it holds the EXCLUSIVE lock", BUSY after about --busy-timeout', async () => {
    const src = realDb('locked-src.db', rowsSql(100));
    const dst = fresh('locked-dst.db');
    const h = await hold(src, 'BEGIN EXCLUSIVE;');
    try {
      const r = run(['backup', src, dst, '--busy-timeout', '400']);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(
        `litevault backup: cannot back up '${src}' to '${dst}': SQLITE_BUSY: database '${src}' is locked by another process (pid ${h.pid}): it holds the EXCLUSIVE lock (it is committing)\n`,
      );
      expect(r.stderr).not.toMatch(/byte/);
      // Process start-up is included: the same command with --busy-timeout 0, timed alongside, is
      // what start-up costs on this machine at this moment.
      const control = run(['backup', src, dst, '--busy-timeout', '0', '--json']);
      expect(r.ms).toBeLessThan(400 * 1.5 + control.ms + 250);
      const err = jsonError(control);
      expect(err).toMatchObject({ code: 'SQLITE_BUSY', errno: null, retryable: true });
      expect(err.message).toContain(`pid ${h.pid}`);
    } finally {
      await release(h);
    }
  });

  it('a rollback-journal destination in a sqlite3 write transaction: "it holds the write lock (RESERVED ...)"; a WAL one: "the WAL write lock"', async () => {
    const src = realDb('src2.db', rowsSql(100));
    for (const wal of [false, true]) {
      const dst = realDb('busy-dst.db', `${wal ? 'PRAGMA journal_mode=WAL;' : ''} CREATE TABLE old(x); INSERT INTO old VALUES (1);`);
      const before = logicalDump(dst);
      const h = await hold(dst, 'BEGIN IMMEDIATE; INSERT INTO old VALUES (2);');
      try {
        const r = run(['backup', src, dst, '--busy-timeout', '200']);
        expect(r.status).toBe(1);
        const lock = wal ? 'it holds the WAL write lock (a write transaction is open)' : 'it holds the write lock (RESERVED: a write transaction is open)';
        expect(r.stderr).toBe(
          `litevault backup: cannot back up '${src}' to '${dst}': SQLITE_BUSY: database '${dst}' is locked by another process (pid ${h.pid}): ${lock}\n`,
        );
      } finally {
        await release(h);
      }
      // The holder committed its row; our failed backup changed nothing.
      expect(logicalDump(dst)).not.toBe(before);
      expect(sqliteShell(dst, 'SELECT group_concat(x) FROM old;').trim()).toBe('1,2');
    }
  });
});

describe('litevault checkpoint exit statuses', () => {
  it('exit 3 (done but busy) when a real SQLite reader holding a snapshot keeps truncate from truncating; 0 once it is gone', async () => {
    const db = realDb('wal.db', `PRAGMA journal_mode=WAL; ${rowsSql(200)}`);
    sqliteShell(db, 'PRAGMA wal_checkpoint(TRUNCATE);');
    const reader = await hold(db, 'BEGIN; SELECT count(*) FROM t;');
    try {
      sqliteShell(db, 'PRAGMA wal_autocheckpoint=0; INSERT INTO t(v) VALUES (1), (2), (3);');
      const passive = run(['checkpoint', db, '--json']);
      expect(passive.status).toBe(0);
      expect(JSON.parse(passive.stdout)).toMatchObject({ busy: 0 });
      const r = run(['checkpoint', db, '--mode', 'truncate', '--busy-timeout', '200', '--json']);
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toBe('');
      const row = JSON.parse(r.stdout);
      expect(row.busy).toBe(1);
      expect(fs.statSync(db + '-wal').size).toBeGreaterThan(0);
      const human = run(['checkpoint', db, '--mode', 'restart', '--busy-timeout', '200']);
      expect(human.status).toBe(3);
      expect(human.stdout).toMatch(/busy: other connections kept the restart checkpoint from doing all it asks/);
    } finally {
      await release(reader);
    }
    const done = run(['checkpoint', db, '--mode', 'truncate', '--json']);
    expect(done.status).toBe(0);
    expect(JSON.parse(done.stdout)).toEqual({ busy: 0, log: 0, checkpointed: 0 });
    expect(fs.statSync(db + '-wal').size).toBe(0);
    expect(integrityCheck(db)).toBe('ok');
  });

  it('exit 0 for a database not in WAL mode (nothing to do is not busy)', () => {
    const r = run(['checkpoint', realDb('rollback.db', rowsSql(5)), '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ busy: 0, log: -1, checkpointed: -1 });
  });
});

// ---- litevault verify (issue 13) and backup --verify ------------------------------------------

/** Overwrites the b-tree page type byte of `page` with 0x07 (no page type); SQLite's integrity_check then reports it. */
function breakPage(db: string, page: number): void {
  const fd = fs.openSync(db, 'r+');
  try {
    fs.writeSync(fd, Buffer.from([0x07]), 0, 1, (page - 1) * pragmas(db).pageSize);
  } finally {
    fs.closeSync(fd);
  }
}
const leavesOf = (db: string, table: string): number[] =>
  sqliteShell(db, `SELECT pageno FROM dbstat WHERE name = '${table}' AND pagetype = 'leaf' ORDER BY pageno;`).trim().split('\n').map(Number);
/** SQLite's integrity_check output, also when it ends with an error (exit 1). */
function sqliteVerdict(db: string): string {
  const r = spawnSync('sqlite3', ['-batch', '-init', '/dev/null', '-readonly', db], { input: 'PRAGMA integrity_check;\n', encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
}
/** A real database with `broken` of its table leaves made unreadable for SQLite. */
function corruptDb(name: string, broken: number): { db: string; pages: number[]; root: number } {
  const db = realDb(name, rowsSql(3000));
  const leaves = leavesOf(db, 't');
  const pages = leaves.filter((_, i) => i % 5 === 2).slice(0, broken);
  for (const p of pages) breakPage(db, p);
  const verdict = sqliteVerdict(db);
  for (const p of pages) expect(verdict).toContain(`Page ${p}: btreeInitPage() returns error code 11`);
  return { db, pages, root: Number(sqliteShell(db, "SELECT rootpage FROM sqlite_schema WHERE name = 't';").trim()) };
}

describe('litevault verify', () => {
  const good = realDb('verify-good.db', `PRAGMA journal_mode=WAL; ${rowsSql(2000)} DELETE FROM t WHERE id % 3 = 0;`);

  it('a sound database: exit 0, one summary line on stdout; --json one object whose sizes are SQLite\'s', () => {
    const p = pragmas(good);
    const r = run(['verify', good]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^${good.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ok \\(${p.pageCount} pages of 4096 bytes\\) in \\d+ ms\\n$`));
    const j = run(['verify', '--json', good]);
    expect(j.status, j.stderr).toBe(0);
    expect(j.stderr).toBe('');
    const lines = j.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ path: good, ok: true, findings: [], findingCount: 0, pageSize: 4096, pageCount: p.pageCount, cksumvfs: false });
    expect(run(['verify', '-q', good])).toMatchObject({ status: 0, stdout: '', stderr: '' });
  });

  it('a corrupt database: exit 1, the findings on stdout naming the page and its tree (stderr empty); --json ok: false', () => {
    const { db, pages, root } = corruptDb('verify-bad.db', 1);
    const r = run(['verify', db]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/: CORRUPT: 1 finding \(\d+ pages of 4096 bytes\)$/);
    expect(lines[0]!.startsWith(`${db}: `)).toBe(true);
    expect(lines[1]).toMatch(new RegExp(`^ {2}page ${pages[0]} \\(tree ${root}\\): .*page ${pages[0]}\\b`));
    expect(lines).toHaveLength(2);
    const j = run(['verify', db, '--json']);
    expect(j.status).toBe(1);
    expect(j.stderr).toBe('');
    const result = JSON.parse(j.stdout);
    expect(result).toMatchObject({ path: db, ok: false, findingCount: 1, pageSize: 4096, pageCount: pragmas(db).pageCount });
    expect(result.findings).toEqual([{ page: pages[0], structure: `tree ${root}`, message: expect.stringContaining(`page ${pages[0]}`) }]);
    // --quiet still says "corrupt" by its exit status.
    expect(run(['verify', '--quiet', db])).toMatchObject({ status: 1, stdout: '', stderr: '' });
  });

  it('--max-findings N lists N findings and says how many more there are', () => {
    const { db, pages } = corruptDb('verify-many.db', 4);
    const all = JSON.parse(run(['verify', db, '--json']).stdout);
    expect(all.findingCount).toBe(pages.length);
    const r = run(['verify', db, '--max-findings', '1']);
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`: CORRUPT: ${pages.length} findings `));
    expect(lines[1]).toMatch(new RegExp(`^ {2}page ${pages[0]} `));
    expect(lines[2]).toBe(`  ... and ${pages.length - 1} more`);
    const j = JSON.parse(run(['verify', db, '--max-findings', '2', '--json']).stdout);
    expect(j.findings).toHaveLength(2);
    expect(j.findingCount).toBe(pages.length);
  });

  it('usage errors: exit 2, one line and a hint; --json a USAGE error object', () => {
    for (const [args, message] of [
      [['verify'], /^litevault verify: verify needs one database path, not 0$/],
      [['verify', good, good], /^litevault verify: verify needs one database path, not 2$/],
      [['verify', good, '--max-findings', '0'], /^litevault verify: --max-findings must be an integer >= 1, not '0'$/],
      [['verify', good, '--max-findings'], /^litevault verify: option '--max-findings' needs a value$/],
      [['verify', good, '--cksumvfs', 'maybe'], /^litevault verify: --cksumvfs must be auto, on or off, not 'maybe'$/],
      [['verify', good, '--progress', 'loud'], /^litevault verify: --progress must be bar, json or none, not 'loud'$/],
      [['verify', good, '--bogus'], /^litevault verify: unknown option '--bogus'$/],
    ] as const) {
      const r = run([...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.split('\n');
      expect(lines, r.stderr).toHaveLength(3);
      expect(lines[0]).toMatch(message);
      expect(lines[1]).toBe("try 'litevault verify --help'");
    }
    expect(jsonError(run(['verify', '--json']))).toMatchObject({ code: 'USAGE', errno: null, retryable: false });
    const help = run(['verify', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout.startsWith('usage: litevault verify ')).toBe(true);
    for (const o of ['--max-findings', '--cksumvfs', '--busy-timeout', '--progress', '--json']) expect(help.stdout).toContain(o);
  });

  it('not a database: exit 1, SQLITE_NOTADB on stderr (nothing on stdout); a missing file: SQLITE_CANTOPEN', () => {
    const f = path.join(dir, 'verify-notes.txt');
    fs.writeFileSync(f, 'plain text, not a database, long enough to look like a header\n'.repeat(8));
    const r = run(['verify', f]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^litevault verify: cannot verify '.*verify-notes\.txt': SQLITE_NOTADB: .*verify-notes\.txt.*\n$/);
    expect(jsonError(run(['verify', f, '--json']))).toMatchObject({ code: 'SQLITE_NOTADB', retryable: false });
    const missing = path.join(dir, 'verify-missing.db');
    expect(jsonError(run(['verify', missing, '--json']))).toMatchObject({ code: 'SQLITE_CANTOPEN' });
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('the database is byte-identical after verify, sound or corrupt', () => {
    const { db } = corruptDb('verify-untouched.db', 2);
    for (const file of [good, db]) {
      const before = fs.readFileSync(file);
      run(['verify', file]);
      expect(fs.readFileSync(file).equals(before)).toBe(true);
      expect(fs.existsSync(file + '-journal')).toBe(false);
    }
  });
});

describe('litevault backup --verify', () => {
  it('a corrupt source: exit 1 with SQLITE_CORRUPT naming the page; no destination and no temporary is left; an existing destination keeps its content', () => {
    const { db, pages } = corruptDb('backup-verify-src.db', 1);
    const sub = fresh('backup-verify');
    fs.mkdirSync(sub);
    const dst = path.join(sub, 'copy.db');
    const r = run(['backup', '--verify', db, dst]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^litevault backup: cannot back up '.*' to '.*copy\\.db': SQLITE_CORRUPT: .*\\bpage ${pages[0]}\\b.*\\n$`));
    expect(fs.readdirSync(sub)).toEqual([]);
    expect(jsonError(run(['backup', '--verify', '--json', '--pages', '8', db, dst]))).toMatchObject({ code: 'SQLITE_CORRUPT', retryable: false });
    expect(fs.readdirSync(sub)).toEqual([]);

    const existing = realDb('backup-verify-old.db', "CREATE TABLE precious(x); INSERT INTO precious VALUES ('old content');");
    const before = fs.readFileSync(existing);
    expect(run(['backup', '--verify', '--pages', '8', db, existing]).status).toBe(1);
    expect(fs.readFileSync(existing).equals(before)).toBe(true);
    expect(fs.existsSync(existing + '-journal')).toBe(false);
    // Without --verify the damaged source is copied as it is (SQLite's backup does the same).
    const unchecked = path.join(sub, 'unchecked.db');
    expect(run(['backup', '--quiet', db, unchecked]).status).toBe(0);
    expect(sqliteVerdict(unchecked)).toContain(`Page ${pages[0]}: btreeInitPage() returns error code 11`);
  });

  it('a sound source: exit 0, the copy is SQLite\'s', () => {
    const src = realDb('backup-verify-good.db', rowsSql(1500));
    const dst = fresh('backup-verify-good-copy.db');
    const r = run(['backup', '--verify', '--pages', '32', src, dst, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(integrityCheck(dst)).toBe('ok');
    expect(logicalDump(dst)).toBe(logicalDump(src));
  });
});

describe('litevault verify and SIGINT', () => {
  it('SIGINT while verify waits for a lock sqlite3 holds: once it can read, it stops and exits 130 with one line', async () => {
    const db = realDb('verify-sigint.db', rowsSql(2000));
    const h = await hold(db, 'BEGIN EXCLUSIVE;');
    const child = spawn(process.execPath, [cli, 'verify', db, '--busy-timeout', '30000', '--progress', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    const closed = new Promise<number | null>((resolve) => child.once('close', (status) => resolve(status)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await new Promise<void>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        stderr += c;
        // A progress line: the check runs (in its lock wait, since sqlite3 holds EXCLUSIVE).
        if (!sent && stderr.includes('\n')) {
          sent = true;
          child.kill('SIGINT');
          resolve();
        }
      });
    });
    await new Promise((res) => setTimeout(res, 1000)); // the signal is handled (the event loop is idle meanwhile)
    await release(h);
    const status = await closed;
    clearTimeout(timer);
    expect(status, stderr).toBe(130);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines.slice(0, -1).every((l) => l.startsWith('{'))).toBe(true);
    expect(JSON.parse(lines[0]!)).toEqual({ pagesRead: 0, pageCount: 0 });
    expect(lines[lines.length - 1]).toBe(`litevault verify: verify of '${db}' cancelled by SIGINT`);
  });
});
