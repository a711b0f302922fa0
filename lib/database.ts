/**
 * Database: an open handle on a SQLite database file, for litevault's own core (no SQLite
 * connection). It takes SQLite's locks only while an operation runs, never between calls.
 */
import { binding, NativeDatabase } from './binding';
import { LitevaultError, misuse } from './errors';

/** Options for {@link Database.open}. */
export interface OpenOptions {
  /** Never write the file, not even to roll back a hot journal (that then fails with SQLITE_READONLY_ROLLBACK). Default false. */
  readOnly?: boolean;
  /** Create an empty file when the path does not exist (a backup destination). Default false. */
  create?: boolean;
  /** How long to wait for a lock another connection holds before SQLITE_BUSY, in ms. Default 5000. */
  busyTimeout?: number;
}

const handles = new WeakMap<Database, NativeDatabase>();

/** @internal The native handle behind a Database (throws SQLITE_MISUSE once closed). */
export function nativeOf(db: Database, what: string): NativeDatabase {
  const native = handles.get(db);
  if (!native) throw misuse(`${what}: the database '${db.path}' is closed`);
  return native;
}

/** An open SQLite database file. Create one with {@link Database.open}. */
export class Database {
  /** The path the database was opened with. */
  readonly path: string;
  /** Whether the handle was opened read-only. */
  readonly readOnly: boolean;

  private constructor(native: NativeDatabase, path: string) {
    this.path = path;
    this.readOnly = native.readOnly;
    handles.set(this, native);
  }

  /**
   * Opens the database at `path` on the threadpool. No lock is taken until an operation runs.
   * @throws LitevaultError SQLITE_CANTOPEN (missing without `create`, a directory, no permission),
   *   SQLITE_READONLY (read-write open of a file this process may only read).
   */
  static async open(path: string, options: OpenOptions = {}): Promise<Database> {
    if (typeof path !== 'string' || path.length === 0) throw misuse('Database.open(path): path must be a non-empty string');
    const busyTimeout = options.busyTimeout ?? 5000;
    if (!Number.isInteger(busyTimeout) || busyTimeout < 0) throw misuse('Database.open(): busyTimeout must be a non-negative integer (ms)');
    const native = await binding.open(path, options.readOnly === true, options.create === true, busyTimeout);
    return new Database(native, path);
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return !handles.has(this);
  }

  /**
   * Releases the handle. Fails with SQLITE_BUSY while an unfinished Backup uses it. Closing
   * twice is harmless. The file descriptor stays open in the process (see README: never closing
   * a descriptor is what keeps other SQLite copies' locks safe).
   */
  async close(): Promise<void> {
    const native = handles.get(this);
    if (!native) return;
    handles.delete(this);
    try {
      await native.close();
    } catch (err) {
      if (err instanceof LitevaultError && err.code === 'SQLITE_BUSY') handles.set(this, native);
      throw err;
    }
  }

  /** `await using db = await Database.open(...)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * @internal Creates `path`, which must not exist, as a private file (O_EXCL, mode 0600, never
 * shared with other handles): the temporary a new backup destination is written under before
 * binding.publish() moves it into place.
 */
export async function createPrivateDatabase(path: string, busyTimeout: number): Promise<Database> {
  const native = await binding.open(path, false, false, busyTimeout, true);
  return Reflect.construct(Database, [native, path]) as Database;
}
