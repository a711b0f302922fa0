/**
 * Oracle access to real SQLite for litevault's tests. The project's rule is that test
 * databases are created and judged only by real SQLite, never by litevault's own code, so
 * every judgement here (integrity check, logical dump, header pragmas) runs the `sqlite3`
 * command-line shell in a separate child process. That keeps the judge out of the test
 * process's address space and away from any connection or lock the test itself holds. The
 * module also hands out temporary directories and removes them again in bulk (`afterAll`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Options that choose how the sqlite3 shell opens the database file. */
export interface ShellOpenOptions {
  /**
   * Open the database read-only (the shell's `-readonly` flag, which is the same as the URI
   * `file:PATH?mode=ro`). Behaviour measured with the sqlite3 3.40.1 shell:
   * - WAL database with a `-wal` holding frames: the frames are read (the wal-index is rebuilt
   *   in `-shm` if needed) but NOT checkpointed, and the `-wal` and `-shm` files are left in
   *   place on exit. A read-write open instead checkpoints on close and deletes both files.
   * - WAL database without a `-wal`: the read-only open still creates a 0-byte `-wal` and a
   *   32 KiB `-shm` and leaves them behind (the directory is writable for us).
   * - Rollback database with a hot `-journal` (e.g. after a writer was SIGKILLed mid
   *   transaction): a read-only open FAILS with SQLITE_READONLY ("attempt to write a readonly
   *   database", exit code 1 from the shell), because the hot journal cannot be rolled back.
   *   Use a read-write open to let SQLite recover. A `-journal` whose header is still zeroed
   *   (with synchronous=FULL the magic is written only when the journal is first synced, i.e.
   *   at a cache spill or at commit) is not hot, and is simply ignored by a read-only open.
   */
  readOnlyUri?: boolean;
}

/** Options for {@link sqliteShell}. */
export interface ShellOptions extends ShellOpenOptions {
  /** Pass `-json`: every SELECT prints a JSON array of row objects (nothing for no rows). */
  json?: boolean;
}

const madeDirs: string[] = [];

/** Creates a fresh, empty directory under `os.tmpdir()` and remembers it for {@link removeTmpDirs}. */
export function tmpDir(prefix = 'litevault-oracle-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

/** Deletes (recursively) every directory made by {@link tmpDir} so far; meant for `afterAll`. */
export function removeTmpDirs(): void {
  while (madeDirs.length > 0) {
    const dir = madeDirs.pop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** Path of the sqlite3 shell: `/usr/bin/sqlite3` when it exists, otherwise `sqlite3` on PATH. */
export const SQLITE3_BIN: string = existsSync('/usr/bin/sqlite3') ? '/usr/bin/sqlite3' : 'sqlite3';

interface ExecError extends Error {
  status?: number | null;
  signal?: NodeJS.Signals | null;
  stdout?: string | Buffer;
  stderr?: string | Buffer;
}

/** Makes `dbPath` a database of about `mib` MiB of incompressible rows (3000-byte random blobs) with the sqlite3 shell; returns the path. */
export function incompressibleDb(dbPath: string, mib: number): string {
  const rows = Math.ceil((mib * 1024 * 1024) / 3000);
  sqliteShell(dbPath, `CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${rows}) INSERT INTO t SELECT i, randomblob(3000) FROM c;`);
  return dbPath;
}

/**
 * Runs the sqlite3 shell in a child process on `dbPath` with `-bail` (stop at the first error),
 * `-batch`, `-init /dev/null` (so no `~/.sqliterc` changes the output) and the given SQL (and
 * dot-commands) on stdin. Returns stdout. Throws an Error that includes the exit status and
 * stderr when the shell fails. Note that the shell creates `dbPath` (0 bytes) if it does not
 * exist, and that a read-write open of a WAL database checkpoints and deletes its `-wal` on
 * exit (see {@link ShellOpenOptions.readOnlyUri}).
 */
export function sqliteShell(dbPath: string, sql: string, opts: ShellOptions = {}): string {
  const args = ['-bail', '-batch', '-init', '/dev/null'];
  if (opts.json === true) args.push('-json');
  if (opts.readOnlyUri === true) args.push('-readonly');
  // An absolute path can never be mistaken for a shell option (a name starting with '-').
  args.push(resolve(dbPath));
  try {
    return execFileSync(SQLITE3_BIN, args, {
      input: sql,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 512 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as ExecError;
    const stderr = e.stderr === undefined ? '' : String(e.stderr).trim();
    const how = e.signal ? `signal ${e.signal}` : `status ${String(e.status)}`;
    throw new Error(`sqlite3 failed (${how}) on ${dbPath}: ${stderr || e.message}\nSQL: ${sql.slice(0, 500)}`);
  }
}

/**
 * Runs `PRAGMA integrity_check;` with the sqlite3 shell in a separate process and returns the
 * trimmed output: exactly `'ok'` for a sound database, otherwise SQLite's list of problems.
 * By default the open is read-write, so SQLite recovers a hot journal first and checkpoints a
 * WAL on exit; pass `{ readOnlyUri: true }` to leave `-wal` files alone.
 */
export function integrityCheck(dbPath: string, opts: ShellOpenOptions = {}): string {
  return sqliteShell(dbPath, 'PRAGMA integrity_check;\n', opts).trim();
}

/**
 * Returns the shell's `.dump` of the database (schema and rows as SQL text), produced in a
 * separate process, for comparing the logical content of two databases. Same open options
 * as {@link integrityCheck}.
 */
export function logicalDump(dbPath: string, opts: ShellOpenOptions = {}): string {
  return sqliteShell(dbPath, '.dump\n', opts);
}

/** Header-level settings of a database as reported by SQLite's pragmas. */
export interface Pragmas {
  pageSize: number;
  pageCount: number;
  freelistCount: number;
  schemaVersion: number;
  userVersion: number;
  applicationId: number;
  encoding: 'UTF-8' | 'UTF-16le' | 'UTF-16be';
  /** `'wal'` for a WAL database; a rollback database reports the shell's default `'delete'`. */
  journalMode: string;
  autoVacuum: 0 | 1 | 2;
  /** `PRAGMA default_cache_size`; SQLite reports -2000 when the header field is 0. */
  defaultCacheSize: number;
}

interface PragmaRow {
  page_size: number;
  page_count: number;
  freelist_count: number;
  schema_version: number;
  user_version: number;
  application_id: number;
  encoding: string;
  journal_mode: string;
  auto_vacuum: number;
  cache_size: number;
}

const PRAGMA_SQL =
  'SELECT * FROM pragma_page_size, pragma_page_count, pragma_freelist_count, ' +
  'pragma_schema_version, pragma_user_version, pragma_application_id, pragma_encoding, ' +
  'pragma_journal_mode, pragma_auto_vacuum, pragma_default_cache_size;\n';

/**
 * Reads the database's header pragmas with one sqlite3 shell invocation (`-json`, a SELECT
 * over the pragma table-valued functions) in a separate process. A 0-byte file reports page
 * count 0 and SQLite's defaults. With the default read-write open a WAL database is
 * checkpointed and its `-wal`/`-shm` deleted when the shell exits; with
 * `{ readOnlyUri: true }` the shell opens it with `-readonly` (= `file:PATH?mode=ro`), reads
 * the `-wal` frames without checkpointing and leaves `-wal` and `-shm` in place (it does
 * create an empty `-wal` and a `-shm` when none existed). A read-only open fails on a hot
 * rollback journal; see {@link ShellOpenOptions.readOnlyUri}.
 */
export function pragmas(dbPath: string, opts: ShellOpenOptions = {}): Pragmas {
  const out = sqliteShell(dbPath, PRAGMA_SQL, { ...opts, json: true });
  const rows = JSON.parse(out) as PragmaRow[];
  const r = rows[0];
  if (rows.length !== 1 || r === undefined) throw new Error(`unexpected pragma output for ${dbPath}: ${out}`);
  if (r.auto_vacuum !== 0 && r.auto_vacuum !== 1 && r.auto_vacuum !== 2) {
    throw new Error(`unexpected auto_vacuum ${String(r.auto_vacuum)} for ${dbPath}`);
  }
  if (r.encoding !== 'UTF-8' && r.encoding !== 'UTF-16le' && r.encoding !== 'UTF-16be') {
    throw new Error(`unexpected encoding ${r.encoding} for ${dbPath}`);
  }
  return {
    pageSize: r.page_size,
    pageCount: r.page_count,
    freelistCount: r.freelist_count,
    schemaVersion: r.schema_version,
    userVersion: r.user_version,
    applicationId: r.application_id,
    encoding: r.encoding,
    journalMode: r.journal_mode,
    autoVacuum: r.auto_vacuum,
    defaultCacheSize: r.cache_size,
  };
}

/**
 * The number of reserved bytes at the end of each page, as SQLite itself reports it
 * (the shell's `.filectrl reserve_bytes` with no value, i.e. SQLITE_FCNTL_RESERVE_BYTES read).
 */
export function reservedBytes(dbPath: string, opts: ShellOpenOptions = {}): number {
  // Preparing a statement on sqlite_schema makes SQLite read page 1 before the file control.
  const out = sqliteShell(dbPath, 'SELECT 1 FROM sqlite_schema LIMIT 0;\n.filectrl reserve_bytes\n', opts).trim();
  const n = Number(out);
  if (!Number.isInteger(n)) throw new Error(`unexpected .filectrl reserve_bytes output for ${dbPath}: ${out}`);
  return n;
}

/**
 * Counts the pages of each b-tree page type, via SQLite's `dbstat` virtual table
 * (`internal`, `leaf`, `overflow`), in a separate shell process.
 */
export function pageTypes(dbPath: string, opts: ShellOpenOptions = {}): Record<string, number> {
  const out = sqliteShell(dbPath, 'SELECT pagetype, count(*) AS n FROM dbstat GROUP BY pagetype;\n', {
    ...opts,
    json: true,
  });
  const result: Record<string, number> = {};
  if (out.trim() === '') return result;
  for (const row of JSON.parse(out) as Array<{ pagetype: string; n: number }>) result[row.pagetype] = row.n;
  return result;
}

/** The error message of a sqlite3 shell run of `sql` on `db`, or '' when it succeeded. */
export function shellError(db: string, sql: string): string {
  try {
    sqliteShell(db, sql);
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}
