/**
 * verify(): litevault's own structural check of a live SQLite database (no SQLite involved),
 * with the rules of SQLite's `PRAGMA integrity_check` for everything that does not need the SQL
 * engine: every b-tree page (type, header, cell pointers and extents, overlapping cells,
 * freeblocks and fragment count, rowid order and the parent's bounds, depth), overflow chains,
 * the freelist, the pointer map of auto-vacuum databases, every page used once or free, the
 * records' headers, and cksumvfs page checksums where the database has them. What it cannot
 * see: index entries that disagree with their table's rows, NOT NULL / CHECK / STRICT type
 * violations (those need the schema's SQL and the SQL engine).
 *
 * It reads as any reader does (its own read transaction; WAL writers go on) and never writes.
 */
import { binding } from './binding';
import { Database, nativeOf } from './database';
import { cancelled, LitevaultError, misuse } from './errors';

/** One problem found, integrity_check style. */
export interface VerifyFinding {
  /** The page the finding is about; 0 for the database as a whole. */
  page: number;
  /** 'header', 'freelist', 'tree N' (the b-tree whose root is page N), 'pointer map', 'page map', 'schema' or 'cksumvfs'. */
  structure: string;
  /** What is wrong, e.g. 'Tree 5 page 17 cell 3: Rowid 12 out of order'. */
  message: string;
}

/** What {@link verify} found. */
export interface VerifyResult {
  /** True when nothing is wrong. */
  ok: boolean;
  /** The first `maxFindings` findings, first found first. */
  findings: VerifyFinding[];
  /** All findings, also those not listed. */
  findingCount: number;
  pageSize: number;
  /** The database's size in pages, as SQLite counts it (every page was checked). */
  pageCount: number;
  /** Whether cksumvfs page checksums were verified too. */
  cksumvfs: boolean;
}

/** Options for {@link verify}. */
export interface VerifyOptions {
  /** Findings listed at most (all are counted). Default 100, as integrity_check's. */
  maxFindings?: number;
  /**
   * cksumvfs page checksums: 'auto' (default) verifies them when the header reserves 8 bytes per
   * page and the pages carry checksums; true always (a database without them is then corrupt);
   * false never.
   */
  cksumvfs?: 'auto' | boolean;
  /** How long to wait for a lock, in ms (a path only; an open Database keeps its own). Default 5000. */
  busyTimeout?: number;
  /** Cancels the check: it rejects with SQLITE_ABORT, within one 1 MiB chunk. */
  signal?: AbortSignal;
  /** Called about every 100 ms while pages are read. */
  onProgress?: (progress: { pagesRead: number; pageCount: number }) => void;
}

/** @internal The native form of the check options. */
export function nativeCheckOptions(options: { maxFindings?: number; cksumvfs?: 'auto' | boolean }, what: string): [number, 'auto' | 'on' | 'off'] {
  const maxFindings = options.maxFindings ?? 100;
  if (!Number.isInteger(maxFindings) || maxFindings < 1 || maxFindings > 1e6) throw misuse(`${what}: maxFindings must be an integer 1..1000000`);
  const c = options.cksumvfs ?? 'auto';
  if (c !== 'auto' && c !== true && c !== false) throw misuse(`${what}: cksumvfs must be 'auto', true or false`);
  return [maxFindings, c === 'auto' ? 'auto' : c ? 'on' : 'off'];
}

/**
 * Checks the database at `pathOrDb` (a path, opened read-only for the check, or an open
 * {@link Database}). A damaged database resolves with `ok: false` and its findings.
 * @throws LitevaultError when the check cannot run: SQLITE_CANTOPEN, SQLITE_NOTADB (not a
 *   database), SQLITE_CORRUPT (a header SQLite would refuse to open too, e.g. an in-header page
 *   count beyond the file), SQLITE_BUSY, SQLITE_IOERR_*, SQLITE_ABORT (cancelled).
 */
export async function verify(pathOrDb: string | Database, options: VerifyOptions = {}): Promise<VerifyResult> {
  const [maxFindings, cksumvfs] = nativeCheckOptions(options, 'verify()');
  const { signal, onProgress } = options;
  if (signal?.aborted) throw cancelled('verify', signal);
  let db: Database;
  let owned = false;
  if (typeof pathOrDb === 'string') {
    db = await Database.open(pathOrDb, { readOnly: true, busyTimeout: options.busyTimeout ?? 5000 });
    owned = true;
  } else if (pathOrDb instanceof Database) {
    db = pathOrDb;
  } else {
    throw misuse('verify(pathOrDb): pass a path or an open Database');
  }
  try {
    const native = new binding.Verify(nativeOf(db, 'verify()'), maxFindings, cksumvfs);
    const onAbort = (): void => native.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) native.cancel();  // aborted while the file was being opened
    const timer = onProgress ? setInterval(() => onProgress({ pagesRead: native.pagesRead, pageCount: native.pageCount }), 100) : undefined;
    try {
      const report = await native.run();
      return report;
    } catch (err) {
      if (signal?.aborted && err instanceof LitevaultError && err.code === 'SQLITE_INTERRUPT') throw cancelled('verify', signal);
      throw err;
    } finally {
      if (timer) clearInterval(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    if (owned) await db.close();
  }
}
