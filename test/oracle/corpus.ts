/**
 * A corpus of SQLite database files for litevault's tests, built only with real SQLite: the
 * sqlite3 shell sets what must be fixed before the first table (reserved bytes, page size,
 * auto_vacuum, encoding) and leaves uncheckpointed WAL frames behind, and better-sqlite3 fills
 * the tables. `DbSpec` describes one database; `createDatabase` builds it deterministically
 * (same spec, same logical content); `corpusSpecs` lists the named specs that together cover
 * every page size, auto_vacuum mode, reserved bytes, encodings, empty and one-page files,
 * freelist pages, overflow chains, WAL files holding frames and the rollback journal modes.
 */
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sqliteShell } from './sqlite.js';

/** Journal modes a corpus database can be created with. */
export type JournalMode = 'delete' | 'wal' | 'truncate' | 'persist';

/** Description of one test database; every field is optional. */
export interface DbSpec {
  /** Page size, a power of two from 512 to 65536 (default 4096). */
  pageSize?: number;
  /**
   * Journal mode used while creating (default 'delete'). 'wal' is persistent (file header);
   * the rollback modes are per connection, so what remains of them is the journal file the
   * creation leaves behind: none for 'delete', a 0-byte `-journal` for 'truncate', a
   * `-journal` with a zeroed header for 'persist'.
   */
  journalMode?: JournalMode;
  /** auto_vacuum mode (default 'none'); set before the first table. */
  autoVacuum?: 'none' | 'full' | 'incremental';
  /** Bytes reserved at the end of every page (0..255, default 0); set before the first table. */
  reservedBytes?: number;
  /** Text encoding (default 'UTF-8'); set before the first table. */
  encoding?: 'UTF-8' | 'UTF-16le' | 'UTF-16be';
  /** Approximate database size to reach with rows (default: 100 rows, however big that is). */
  targetBytes?: number;
  /**
   * At least this many freelist pages at the end, made by deleting the oldest rows without
   * vacuum. Not possible with autoVacuum 'full' (SQLite truncates free pages at commit).
   */
  freePages?: number;
  /** Add a table `big` whose rows are bigger than a page, making overflow chains. */
  overflow?: boolean;
  /** `PRAGMA user_version` (signed 32-bit). */
  userVersion?: number;
  /** `PRAGMA application_id` (signed 32-bit). */
  applicationId?: number;
  /** A 0-byte file (created by opening it with the sqlite3 shell); all other fields are ignored. */
  empty?: boolean;
  /**
   * No tables at all: only page 1 is written (with user_version, default 0), giving a
   * one-page database.
   */
  noTables?: boolean;
  /**
   * With journalMode 'wal': leave committed, uncheckpointed frames in the `-wal`. Done by a
   * final sqlite3 shell session with `.dbconfig no_ckpt_on_close on` and
   * `PRAGMA wal_autocheckpoint=0` that commits 3 small transactions (each bumps
   * `meta.wal_commits` by one and rewrites one row of `t` in place, so no page is allocated
   * and the freelist is unchanged). The shell then exits cleanly without checkpointing, so the
   * `-wal` (and `-shm`) stay. Open such a database read-only (`readOnlyUri`) to keep them.
   */
  keepWal?: boolean;
}

/** A named corpus entry. */
export interface CorpusEntry {
  name: string;
  spec: DbSpec;
}

/** A corpus entry built on disk. */
export interface BuiltCorpusEntry extends CorpusEntry {
  path: string;
}

const KIB = 1024;
const MIB = 1024 * 1024;
/** Rows in `t` when no targetBytes is given. */
const DEFAULT_ROWS = 100;
/** Rough bytes one row of `t` costs on disk, table plus index (for batch sizing only). */
const ROW_COST = 220;
/** Number of WAL transactions that keepWal leaves in the -wal. */
export const KEEP_WAL_COMMITS = 3;

/** Every legal SQLite page size. */
export const PAGE_SIZES: readonly number[] = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

/** The key stored in `t.k` for row `id` (deterministic). */
export function rowKey(id: number): string {
  return `k${String(id).padStart(8, '0')}`;
}

/** The blob stored in `t.v` for row `id`: 64..255 bytes of a deterministic pattern. */
export function rowBlob(id: number): Buffer {
  const len = 64 + ((id * 37) % 192);
  const b = Buffer.alloc(len);
  for (let j = 0; j < len; j++) b[j] = (id * 131 + j * 7) & 0xff;
  return b;
}

/** The sizes of the rows of table `big` for a page size: each spans several pages. */
export function overflowSizes(pageSize: number): number[] {
  const sizes = [Math.floor(pageSize * 1.5), pageSize * 2 + 17];
  if (pageSize <= 4096) sizes.push(pageSize * 10 + 3);
  return sizes;
}

function bigBlob(id: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let j = 0; j < len; j++) b[j] = (id * 17 + j * 13 + (j >> 8)) & 0xff;
  return b;
}

function isInt32(n: number): boolean {
  return Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff;
}

function validate(spec: DbSpec): void {
  const pageSize = spec.pageSize ?? 4096;
  if (!PAGE_SIZES.includes(pageSize)) throw new Error(`pageSize ${pageSize} is not a power of two in 512..65536`);
  const reserved = spec.reservedBytes ?? 0;
  if (!Number.isInteger(reserved) || reserved < 0 || reserved > 255) throw new Error(`reservedBytes ${reserved} not in 0..255`);
  if (pageSize - reserved < 480) throw new Error(`usable size ${pageSize - reserved} below SQLite's minimum 480`);
  if (spec.freePages !== undefined && spec.freePages > 0 && spec.autoVacuum === 'full') {
    throw new Error('freePages cannot survive autoVacuum full');
  }
  if (spec.keepWal === true && spec.journalMode !== 'wal') throw new Error('keepWal needs journalMode wal');
  if (spec.keepWal === true && spec.noTables === true) throw new Error('keepWal needs tables');
  if (spec.noTables === true && ((spec.freePages ?? 0) > 0 || spec.overflow === true || spec.targetBytes !== undefined)) {
    throw new Error('noTables excludes freePages, overflow and targetBytes');
  }
  if (spec.userVersion !== undefined && !isInt32(spec.userVersion)) throw new Error('userVersion must be a 32-bit integer');
  if (spec.applicationId !== undefined && !isInt32(spec.applicationId)) throw new Error('applicationId must be a 32-bit integer');
}

/**
 * The size `createDatabase` fills the file to before deleting rows: `targetBytes`, raised to
 * `(2 * freePages + 8) * pageSize` so that deleting the oldest rows can free enough pages.
 */
export function fillTargetBytes(spec: DbSpec): number {
  const freePages = spec.freePages ?? 0;
  return Math.max(spec.targetBytes ?? 0, freePages > 0 ? (2 * freePages + 8) * (spec.pageSize ?? 4096) : 0);
}

const AUTO_VACUUM_CODE = { none: 0, full: 1, incremental: 2 } as const;

/**
 * Creates the database described by `spec` at `path` (which must not exist yet) with real
 * SQLite only. Schema: `t(id INTEGER PRIMARY KEY, k TEXT, v BLOB)` with index `t_k` on k, rows
 * id 1.. with {@link rowKey}/{@link rowBlob}; `meta(name TEXT PRIMARY KEY, value INTEGER)`
 * holding `('wal_commits', n)`; and with `overflow` a table `big(id INTEGER PRIMARY KEY, data
 * BLOB)` with rows of {@link overflowSizes}. Reserved bytes are set with the sqlite3 shell's
 * `.filectrl reserve_bytes N` before page size, auto_vacuum and encoding, all before the
 * first table. Throws on an impossible spec or when SQLite did not produce what was asked
 * (e.g. no WAL frames left).
 */
export function createDatabase(path: string, spec: DbSpec): void {
  validate(spec);
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    if (existsSync(path + suffix)) throw new Error(`${path + suffix} already exists`);
  }
  if (spec.empty === true) {
    // Opening a new file in the shell creates it; nothing is written without a write.
    sqliteShell(path, 'SELECT 1;\n');
    if (statSync(path).size !== 0) throw new Error(`${path}: expected a 0-byte file`);
    return;
  }

  const pageSize = spec.pageSize ?? 4096;
  const mode: JournalMode = spec.journalMode ?? 'delete';

  // 1. Settings that must precede the first table, with the sqlite3 shell.
  const setup: string[] = [];
  if ((spec.reservedBytes ?? 0) > 0) setup.push(`.filectrl reserve_bytes ${spec.reservedBytes ?? 0}`);
  setup.push(`PRAGMA page_size=${pageSize};`);
  setup.push(`PRAGMA auto_vacuum=${AUTO_VACUUM_CODE[spec.autoVacuum ?? 'none']};`);
  setup.push(`PRAGMA encoding='${spec.encoding ?? 'UTF-8'}';`);
  // Rollback modes are per connection: use them for the shell's writes too.
  if (mode !== 'wal') setup.push(`PRAGMA journal_mode=${mode};`);
  // The first write: creates page 1 with the settings above (a 1-page database by itself).
  setup.push(`PRAGMA user_version=${spec.userVersion ?? 0};`);
  if (spec.applicationId !== undefined) setup.push(`PRAGMA application_id=${spec.applicationId};`);
  if (spec.noTables !== true) {
    setup.push(
      'BEGIN;',
      'CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT NOT NULL, v BLOB NOT NULL);',
      'CREATE INDEX t_k ON t(k);',
      'CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);',
      "INSERT INTO meta VALUES('wal_commits', 0);",
    );
    if (spec.overflow === true) setup.push('CREATE TABLE big(id INTEGER PRIMARY KEY, data BLOB NOT NULL);');
    setup.push('COMMIT;');
  }
  // WAL is written into the header, so it goes last: page size cannot change in WAL mode.
  if (mode === 'wal') setup.push('PRAGMA journal_mode=wal;');
  sqliteShell(path, setup.join('\n') + '\n');
  if (spec.noTables === true) return;

  // 2. Rows, with better-sqlite3.
  const db = new Database(path);
  try {
    if (mode !== 'wal') db.pragma(`journal_mode=${mode}`);
    // Durability is irrelevant for a fixture; the file format does not depend on it.
    db.pragma('synchronous=OFF');
    const pageCount = (): number => db.pragma('page_count', { simple: true }) as number;
    const freelist = (): number => db.pragma('freelist_count', { simple: true }) as number;

    if (spec.overflow === true) {
      const ins = db.prepare('INSERT INTO big(id, data) VALUES (?, ?)');
      db.transaction(() => {
        overflowSizes(pageSize).forEach((len, i) => ins.run(i + 1, bigBlob(i + 1, len)));
      })();
    }

    const insert = db.prepare('INSERT INTO t(id, k, v) VALUES (?, ?, ?)');
    let nextId = 1;
    const insertRows = db.transaction((n: number) => {
      for (let i = 0; i < n; i++, nextId++) insert.run(nextId, rowKey(nextId), rowBlob(nextId));
    });
    insertRows(DEFAULT_ROWS);

    const freePages = spec.freePages ?? 0;
    const target = fillTargetBytes(spec);
    while (pageCount() * pageSize < target) {
      const missing = target - pageCount() * pageSize;
      insertRows(Math.min(20000, Math.max(20, Math.ceil(missing / ROW_COST))));
    }

    if (freePages > 0) {
      const del = db.prepare('DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY id LIMIT ?)');
      const usable = pageSize - (spec.reservedBytes ?? 0);
      while (freelist() < freePages) {
        const n = Math.max(1, Math.ceil(((freePages - freelist()) * usable) / ROW_COST));
        if (del.run(n).changes === 0) throw new Error(`${path}: ran out of rows before ${freePages} free pages`);
      }
    }
  } finally {
    // For WAL this checkpoints and deletes the -wal (better-sqlite3 is the last connection).
    db.close();
  }

  // 3. Frames left in the -wal, with the shell's no_ckpt_on_close.
  if (spec.keepWal === true) {
    const wal: string[] = ['.dbconfig no_ckpt_on_close on', 'PRAGMA wal_autocheckpoint=0;'];
    for (let i = 0; i < KEEP_WAL_COMMITS; i++) {
      wal.push(
        'BEGIN;',
        "UPDATE meta SET value = value + 1 WHERE name = 'wal_commits';",
        // Same length, so the cell is rewritten in place and no page is allocated.
        `UPDATE t SET v = zeroblob(length(v)) WHERE id = (SELECT max(id) FROM t) - ${i};`,
        'COMMIT;',
      );
    }
    sqliteShell(path, wal.join('\n') + '\n');
    const walSize = existsSync(path + '-wal') ? statSync(path + '-wal').size : 0;
    if (walSize <= 32) throw new Error(`${path}: expected WAL frames left in the -wal, size is ${walSize}`);
  }
}

/**
 * The named corpus: every page size 512..65536; auto_vacuum none/full/incremental; reserved
 * bytes 8 and 32; a 0-byte file; a one-page file; freelist pages; overflow chains (including
 * at 512 and 65536 byte pages); UTF-16le and UTF-16be; WAL with and without frames left in
 * the `-wal`; rollback journal modes delete/truncate/persist; header version fields; one
 * database combining most options; and one of about 4 MiB. Each is a few hundred KiB at most
 * except the 4 MiB one.
 */
export function corpusSpecs(): CorpusEntry[] {
  const entries: CorpusEntry[] = PAGE_SIZES.map((pageSize) => ({
    name: `page-size-${pageSize}`,
    spec: { pageSize, targetBytes: 96 * KIB },
  }));
  entries.push(
    { name: 'empty', spec: { empty: true } },
    { name: 'one-page', spec: { noTables: true, userVersion: 1 } },
    { name: 'auto-vacuum-none', spec: { autoVacuum: 'none', targetBytes: 64 * KIB } },
    { name: 'auto-vacuum-full', spec: { autoVacuum: 'full', targetBytes: 64 * KIB, overflow: true } },
    { name: 'auto-vacuum-incremental', spec: { autoVacuum: 'incremental', targetBytes: 64 * KIB, freePages: 8 } },
    { name: 'reserved-8', spec: { reservedBytes: 8, targetBytes: 64 * KIB } },
    { name: 'reserved-32-page-512', spec: { pageSize: 512, reservedBytes: 32, targetBytes: 64 * KIB, overflow: true } },
    { name: 'freelist', spec: { freePages: 25, targetBytes: 128 * KIB } },
    { name: 'overflow-page-512', spec: { pageSize: 512, overflow: true } },
    { name: 'overflow-page-4096', spec: { overflow: true } },
    { name: 'overflow-page-65536', spec: { pageSize: 65536, overflow: true } },
    { name: 'utf-16le', spec: { encoding: 'UTF-16le', targetBytes: 64 * KIB } },
    { name: 'utf-16be', spec: { encoding: 'UTF-16be', pageSize: 1024, targetBytes: 64 * KIB } },
    { name: 'wal-checkpointed', spec: { journalMode: 'wal', targetBytes: 64 * KIB } },
    { name: 'wal-frames', spec: { journalMode: 'wal', keepWal: true, targetBytes: 64 * KIB } },
    { name: 'wal-frames-page-512', spec: { journalMode: 'wal', keepWal: true, pageSize: 512, targetBytes: 32 * KIB } },
    { name: 'journal-delete', spec: { journalMode: 'delete', targetBytes: 32 * KIB } },
    { name: 'journal-truncate', spec: { journalMode: 'truncate', targetBytes: 32 * KIB } },
    { name: 'journal-persist', spec: { journalMode: 'persist', targetBytes: 32 * KIB } },
    { name: 'header-versions', spec: { userVersion: -123456789, applicationId: 0x4c565431 } },
    {
      name: 'combined',
      spec: {
        pageSize: 1024,
        reservedBytes: 32,
        autoVacuum: 'incremental',
        encoding: 'UTF-16be',
        journalMode: 'wal',
        keepWal: true,
        freePages: 10,
        overflow: true,
        targetBytes: 128 * KIB,
        userVersion: 7,
        applicationId: 42,
      },
    },
    { name: 'large-4mib', spec: { targetBytes: 4 * MIB, freePages: 40, overflow: true } },
  );
  return entries;
}

/** Builds every corpus entry (or the given ones) as `<dir>/<name>.db` and returns them with their paths. */
export function buildCorpus(dir: string, entries: CorpusEntry[] = corpusSpecs()): BuiltCorpusEntry[] {
  return entries.map((e) => {
    const path = join(dir, `${e.name}.db`);
    createDatabase(path, e.spec);
    return { ...e, path };
  });
}
