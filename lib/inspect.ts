/**
 * inspect(): the database header as SQLite would report it, read by litevault's own core on the
 * libuv threadpool. Field by field it matches SQLite's PRAGMAs (page_size, page_count,
 * schema_version, encoding, user_version, application_id, freelist_count, auto_vacuum).
 */
import { binding } from './binding';
import { misuse } from './errors';

/** A -wal file beside the database, walked as SQLite's recovery walks it. */
export interface WalInfo {
  /** Size of the -wal file in bytes. */
  fileSize: number;
  /** False when the WAL header is missing or invalid; SQLite then treats the WAL as empty. */
  headerValid: boolean;
  /** Page size recorded in the WAL header. */
  pageSize: number;
  /** Frames up to and including the last valid commit frame: the WAL content SQLite would use. */
  frames: number;
  /** Complete frames physically in the file, valid or not (frames past `frames` are ignored). */
  framesInFile: number;
  /** Database size in pages committed by the last valid commit frame (0 when none). */
  pageCount: number;
  /** The WAL header's checkpoint sequence number. */
  checkpointSequence: number;
  salt1: number;
  salt2: number;
  /** True for magic 0x377f0683 (checksums over big-endian words). */
  bigEndianChecksums: boolean;
  /**
   * The wal-index (-shm) as it stands, read without locks and never created or changed; null
   * when there is no -shm or its header is not valid (SQLite would then rebuild it).
   */
  index: WalIndexInfo | null;
}

/** What the -shm's header says. */
export interface WalIndexInfo {
  /** Committed frames the index covers (mxFrame). */
  frames: number;
  /** Frames already copied into the database file by checkpoints (nBackfill). */
  backfilled: number;
  /** Frames the last checkpoint tried to copy (nBackfillAttempted). */
  backfillAttempted: number;
  /** Incremented by every commit (iChange). */
  change: number;
  /** The five read marks (aReadMark[0..4]); null for an unused slot. */
  readMarks: Array<number | null>;
}

/** What `inspect()` reports about a database file. */
export interface DatabaseInfo {
  /** The path as given. */
  path: string;
  /** Size of the database file in bytes. */
  fileSize: number;
  /** A 0-byte file: SQLite treats it as an empty database; the header fields below are then 0. */
  empty: boolean;
  /** Bytes per page, 512..65536 (PRAGMA page_size). */
  pageSize: number;
  /** Pages in the database as SQLite counts them (PRAGMA page_count), WAL included. */
  pageCount: number;
  /** File change counter (header bytes 24..27). */
  changeCounter: number;
  /** Version-valid-for (bytes 92..95): the change counter when the in-header size was written. */
  versionValidFor: number;
  /** Page count stored at bytes 28..31. */
  inHeaderPageCount: number;
  /** Whether SQLite trusts `inHeaderPageCount` (non-zero and `changeCounter === versionValidFor`). */
  inHeaderSizeValid: boolean;
  /** Schema cookie (PRAGMA schema_version). */
  schemaCookie: number;
  /** Schema format number, 1..4. */
  schemaFormat: number;
  /** PRAGMA encoding: 'UTF-8', 'UTF-16le' or 'UTF-16be' (a header field of 0, before the first table, reads as SQLite's default 'UTF-8'); null for an empty file. */
  textEncoding: 'UTF-8' | 'UTF-16le' | 'UTF-16be' | null;
  /** PRAGMA user_version (signed 32-bit). */
  userVersion: number;
  /** PRAGMA application_id (signed 32-bit). */
  applicationId: number;
  /** Suggested cache size stored in the header (signed). */
  defaultCacheSize: number;
  /** PRAGMA freelist_count. */
  freelistCount: number;
  /** First freelist trunk page, 0 when the freelist is empty. */
  freelistTrunk: number;
  /** Bytes reserved at the end of every page (header byte 20). */
  reservedBytes: number;
  /** PRAGMA auto_vacuum as a name. */
  autoVacuum: 'none' | 'full' | 'incremental';
  /** 'wal' when header bytes 18/19 say WAL (2), else 'rollback'. */
  journalMode: 'rollback' | 'wal';
  /** Header byte 18 (1 rollback, 2 WAL; above 2 SQLite opens the file read-only). */
  writeVersion: number;
  /** Header byte 19 (1 rollback, 2 WAL). */
  readVersion: number;
  /** SQLITE_VERSION_NUMBER of the last SQLite that wrote the file (e.g. 3040001). */
  sqliteVersion: number;
  /** True when the header was read from the newest committed WAL copy of page 1. */
  headerFromWal: boolean;
  /** The -wal file beside the database, or null when there is none. */
  wal: WalInfo | null;
}

/**
 * Reads the header of the SQLite database at `path` (and its -wal, if present) on the
 * threadpool. Nothing is written and no file litevault opens is ever closed under another
 * library's locks. This first version reads without taking SQLite's locks, so while another
 * process commits a value may be one commit old or new.
 *
 * @throws LitevaultError SQLITE_CANTOPEN (missing or unreadable; SQLITE_CANTOPEN_ISDIR for a
 *   directory), SQLITE_NOTADB (not a SQLite database), SQLITE_CORRUPT (truncated header, or a
 *   header claiming more pages than exist), SQLITE_IOERR_* (read failures).
 */
export function inspect(path: string): Promise<DatabaseInfo> {
  if (typeof path !== 'string' || path.length === 0) {
    return Promise.reject(misuse('inspect(path): path must be a non-empty string'));
  }
  return binding.inspect(path);
}
