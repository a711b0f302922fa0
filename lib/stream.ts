/**
 * Streaming backups and restores (ESE's external backup: JetBeginExternalBackup, JetReadFile,
 * JetEndExternalBackup): backupStream() is a Readable of one consistent snapshot's database
 * image, to pipe into an HTTP response, `ssh`, `gzip` or an upload without a temporary file;
 * restoreStream() writes such a stream to a database crash-safely, after checking it is a
 * complete, structurally valid one.
 *
 * Thread safety: main thread only, like every class here; the reading runs on the threadpool.
 */
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { openSource } from './backup';
import { binding, NativeImageReader, NativeImageSnapshot } from './binding';
import { Database, nativeOf } from './database';
import { cancelled, LitevaultError, misuse } from './errors';
import { privateTempPath } from './private-temp';
import { placeRestored, removeCompanions, restoreDestinationExists } from './restore-target';
import { verify } from './verify';

/** What a {@link BackupStream} is a copy of, known before its first byte. */
export interface BackupStreamSnapshot {
  /** Page size of the image. */
  pageSize: number;
  /** Pages in the image. */
  pageCount: number;
  /** The stream's length in bytes (pageSize x pageCount): a Content-Length. */
  bytes: number;
  /** The source's journal mode. */
  journalMode: 'wal' | 'rollback';
  /** For a WAL source, the WAL frame of the snapshot (the image holds every commit up to it); else 0. */
  snapshotFrame: number;
}

/** Options for {@link backupStream}. */
export interface BackupStreamOptions {
  /**
   * Bytes per chunk the stream emits, rounded down to whole pages (at least one page). Also the
   * stream's highWaterMark: a slow consumer makes it hold about one chunk (two when chunkBytes
   * is not a whole number of pages) and two being read. Default 1 MiB.
   */
  chunkBytes?: number;
  /**
   * Only 'snapshot' (the default): one read transaction from the first byte to the last. A
   * stream cannot start over once bytes are out, so SQLite's restart mode has no stream form; on
   * a rollback-journal source writers wait (for their busy timeout) until the stream ends.
   */
  mode?: 'snapshot';
  /** How long to wait for the source's read lock, in ms. Default 5000. */
  busyTimeout?: number;
  /** Destroys the stream with SQLITE_ABORT (every lock released). */
  signal?: AbortSignal;
}

const DEFAULT_CHUNK_BYTES = 1 << 20;
const READS_IN_FLIGHT = 2; // the threadpool reads the next chunks while the consumer takes one

/**
 * A consistent snapshot of a database as a stream of bytes: the same image `backup()` writes to a
 * new file. The snapshot (the source's read lock) is taken when the stream is first read, or when
 * {@link BackupStream.snapshot} is first looked at (so a stream nobody reads holds nothing), and
 * released when the last byte has been read, or when the stream errors or is destroyed; once
 * 'end' or 'close' was emitted no lock is held. Before the first byte it emits 'snapshot' with a
 * {@link BackupStreamSnapshot}. Errors are LitevaultErrors: SQLITE_BUSY (the read lock),
 * SQLITE_LOCKED (the handle is in another operation of this process), SQLITE_NOTADB,
 * SQLITE_IOERR_*, SQLITE_ABORT (signal).
 */
export class BackupStream extends Readable {
  readonly #snapshot: Promise<BackupStreamSnapshot>;
  readonly #source: string | Database;
  readonly #busyTimeout: number;
  readonly #chunkBytes: number;
  readonly #signal: AbortSignal | undefined;
  #settleSnapshot!: { resolve: (s: BackupStreamSnapshot) => void; reject: (err: unknown) => void };
  #started: Promise<void> | undefined; // #start(), once
  #released: Promise<void> | undefined; // #doRelease(), once
  #owned: Database | undefined;
  #native: NativeImageReader | undefined;
  #chunk = 0;
  #bytes = 0;
  #next = 0; // offset of the next read to start
  #reads: Promise<Buffer>[] = []; // in offset order
  #waiting = false; // a callback on #reads[0] is pending
  #onAbort: (() => void) | undefined;

  /** @internal Use {@link backupStream}. */
  constructor(source: string | Database, options: BackupStreamOptions = {}) {
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > 1 << 30) throw misuse('backupStream(): chunkBytes must be an integer 1..1073741824');
    if (options.mode !== undefined && options.mode !== 'snapshot') {
      throw misuse("backupStream(): mode must be 'snapshot' (a stream cannot start over once bytes are out)");
    }
    const busyTimeout = options.busyTimeout ?? 5000;
    if (!Number.isInteger(busyTimeout) || busyTimeout < 0) throw misuse('backupStream(): busyTimeout must be a non-negative integer (ms)');
    if (typeof source !== 'string' && !(source instanceof Database)) throw misuse('backupStream(source): pass a path or an open Database');
    super({ highWaterMark: chunkBytes });
    this.#source = source;
    this.#busyTimeout = busyTimeout;
    this.#chunkBytes = chunkBytes;
    this.#signal = options.signal;
    this.#snapshot = new Promise((resolve, reject) => (this.#settleSnapshot = { resolve, reject }));
    this.#snapshot.catch(() => undefined); // its rejection is the stream's 'error' too
    if (this.#signal) {
      const signal = this.#signal;
      this.#onAbort = () => this.destroy(cancelled('backup stream', signal));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /**
   * What the stream is a copy of, before its first byte (takes the snapshot if the stream was
   * not read yet); rejects if the snapshot could not be taken.
   */
  get snapshot(): Promise<BackupStreamSnapshot> {
    this.#begin().catch(() => undefined); // the failure is #snapshot's and the stream's
    return this.#snapshot;
  }

  // Takes the snapshot once; a failure destroys the stream with it.
  #begin(): Promise<void> {
    this.#started ??= this.#start().catch((err: Error) => {
      this.#settleSnapshot.reject(err);
      this.destroy(err);
      throw err;
    });
    return this.#started;
  }

  async #start(): Promise<void> {
    if (this.#signal?.aborted) throw cancelled('backup stream', this.#signal);
    if (this.destroyed) throw destroyedEarly();
    const db = typeof this.#source === 'string' ? (this.#owned = await openSource(this.#source, this.#busyTimeout)) : this.#source;
    if (this.destroyed) throw destroyedEarly();
    this.#native = new binding.ImageReader(nativeOf(db, 'backupStream()'));
    const snapshot = snapshotOf(await this.#native.begin(this.#busyTimeout));
    if (this.destroyed) throw destroyedEarly();
    this.#chunk = Math.max(snapshot.pageSize, Math.floor(this.#chunkBytes / snapshot.pageSize) * snapshot.pageSize);
    this.#bytes = snapshot.bytes;
    this.#settleSnapshot.resolve(snapshot);
    this.emit('snapshot', snapshot);
  }

  override _read(): void {
    this.#begin().then(
      () => {
        if (!this.destroyed) this.#pump();
      },
      () => undefined, // #begin destroyed the stream with its error
    );
  }

  // Keeps READS_IN_FLIGHT reads going and pushes their chunks in order while the consumer wants
  // more (push() true); a false push leaves the next chunks read and waiting for _read().
  #pump(): void {
    const native = this.#native!;
    while (this.#reads.length < READS_IN_FLIGHT && this.#next < this.#bytes) {
      const buffer = Buffer.allocUnsafe(Math.min(this.#chunk, this.#bytes - this.#next));
      const read = native.read(this.#next, buffer).then(() => buffer);
      read.catch(() => undefined); // handled below, in order
      this.#reads.push(read);
      this.#next += buffer.length;
    }
    if (this.#waiting || this.#reads.length === 0) return;
    this.#waiting = true;
    this.#reads[0]!.then(
      (buffer) => {
        this.#waiting = false;
        this.#reads.shift();
        if (this.destroyed) return;
        if (this.#next >= this.#bytes && this.#reads.length === 0) {
          // The snapshot is released before the last byte is handed over, so 'end' means no lock.
          this.#release().then(
            () => this.#deliver(buffer, true),
            (err: Error) => this.destroy(err),
          );
        } else if (this.#deliver(buffer, false)) {
          this.#pump();
        }
      },
      (err: Error) => {
        this.#waiting = false;
        this.destroy(err);
      },
    );
  }

  // push() unless the stream was destroyed meanwhile; a consumer's 'data' handler that throws
  // destroys the stream (releasing the snapshot) instead of escaping into a promise.
  #deliver(buffer: Buffer, last: boolean): boolean {
    if (this.destroyed) return false;
    try {
      const more = this.push(buffer);
      if (last) this.push(null);
      return more;
    } catch (err) {
      this.destroy(err as Error);
      return false;
    }
  }

  // Ends the read transaction (after the snapshot was taken, if that is under way, and after the
  // reads in flight) and closes a database we opened. Once, however many paths ask.
  #release(): Promise<void> {
    this.#released ??= (async () => {
      if (this.#onAbort) this.#signal!.removeEventListener('abort', this.#onAbort);
      await this.#started?.catch(() => undefined);
      await Promise.allSettled(this.#reads);
      const native = this.#native;
      this.#native = undefined;
      if (native) await native.end();
      const owned = this.#owned;
      this.#owned = undefined;
      if (owned) await owned.close();
    })();
    return this.#released;
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.#settleSnapshot.reject(err ?? destroyedEarly()); // a no-op once the snapshot was taken
    this.#release().then(
      () => callback(err),
      (releaseErr: Error) => callback(err ?? releaseErr),
    );
  }
}

function snapshotOf(s: NativeImageSnapshot): BackupStreamSnapshot {
  return { pageSize: s.pageSize, pageCount: s.pageCount, bytes: s.bytes, journalMode: s.wal ? 'wal' : 'rollback', snapshotFrame: s.walFrame };
}

/**
 * @internal The CLI's `litevault backup <db> -`: the same image as {@link backupStream} written
 * straight to descriptor `fd` by the core (sendfile: the kernel moves the database file's pages,
 * nothing passes through JavaScript), in 8 MiB steps between which `signal` is honoured and
 * `onProgress` called. Holds the snapshot from the first byte to the last, as the stream does.
 * Rejects with the core's error: SQLITE_IOERR_WRITE with errno 32 (EPIPE) when fd's reader went
 * away (onProgress said how far it got).
 */
export async function backupToDescriptor(
  source: string,
  fd: number,
  options: { busyTimeout: number; signal?: AbortSignal; onProgress?: (written: number, total: number) => void },
): Promise<{ snapshot: BackupStreamSnapshot; written: number }> {
  const { signal } = options;
  if (signal?.aborted) throw cancelled('backup stream', signal);
  const db = await openSource(source, options.busyTimeout);
  const native = new binding.ImageReader(nativeOf(db, 'backupStream()'));
  let written = 0;
  try {
    const snapshot = snapshotOf(await native.begin(options.busyTimeout));
    while (written < snapshot.bytes) {
      if (signal?.aborted) throw cancelled('backup stream', signal);
      const n = Math.min(SEND_BYTES, snapshot.bytes - written);
      await native.sendTo(fd, written, n);
      written += n;
      options.onProgress?.(written, snapshot.bytes);
    }
    return { snapshot, written };
  } finally {
    await native.end();
    await db.close();
  }
}

const SEND_BYTES = 8 << 20; // per sendTo: the granularity of progress and cancellation

function destroyedEarly(): LitevaultError {
  return new LitevaultError({ message: 'backup stream destroyed before its snapshot was taken', code: 'SQLITE_ABORT' });
}

/**
 * A stream of one consistent snapshot of `source` (a path, opened for the stream and closed at
 * its end, or an open {@link Database}): see {@link BackupStream}. Async-iterable like any
 * Readable: `for await (const chunk of backupStream('app.db')) ...`.
 * @throws LitevaultError SQLITE_MISUSE for bad options (other errors arrive as the stream's 'error').
 */
export function backupStream(source: string | Database, options: BackupStreamOptions = {}): BackupStream {
  return new BackupStream(source, options);
}

/** Options for {@link restoreStream}. */
export interface RestoreStreamOptions {
  /** Replace the content of an existing database (else LITEVAULT_EXISTS). Default false. */
  overwrite?: boolean;
  /** How long to wait for an existing destination's locks, in ms. Default 5000. */
  busyTimeout?: number;
  /** Cancels: the destination is left as it was, and the promise rejects with SQLITE_ABORT. */
  signal?: AbortSignal;
  /** Called after every chunk written to the private copy. */
  onProgress?: (progress: { bytesReceived: number }) => void;
}

/** What {@link restoreStream} resolves to. */
export interface RestoreStreamResult {
  destination: string;
  pageSize: number;
  pageCount: number;
  bytes: number;
  ms: number;
}

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER = 100;

function notADatabase(what: string): LitevaultError {
  return new LitevaultError({ message: `${what}: the stream is not a SQLite database (no "SQLite format 3" header)`, code: 'SQLITE_NOTADB' });
}
function short(what: string, detail: string): LitevaultError {
  return new LitevaultError({ message: `${what}: the stream is not a complete database image: ${detail}`, code: 'SQLITE_CORRUPT' });
}

/**
 * Writes the database image that `input` streams (a Readable or any async iterable of bytes, e.g.
 * a {@link backupStream}, a socket, `process.stdin`) to `destination`. The bytes go to a private
 * temporary beside the destination; only when the stream has ended, the image is complete (a
 * whole number of pages, as many as its header says) and `verify()` finds nothing wrong, is
 * it synced and placed: a new path by rename (it appears complete or not at all), an existing
 * database (with `overwrite`) by a backup into it under its locks. A short, damaged or foreign
 * stream leaves the destination untouched.
 * @throws LitevaultError SQLITE_NOTADB (not a database), SQLITE_CORRUPT (short or damaged: the
 *   message names the first finding), LITEVAULT_EXISTS, SQLITE_BUSY, SQLITE_IOERR_*,
 *   SQLITE_ABORT; the input's own error as it is.
 */
export async function restoreStream(input: Readable | AsyncIterable<Uint8Array>, destination: string, options: RestoreStreamOptions = {}): Promise<RestoreStreamResult> {
  const started = Date.now();
  const what = 'restoreStream()';
  if (typeof destination !== 'string' || destination.length === 0) throw misuse(`${what}: destination must be a non-empty path`);
  if (input === null || typeof (input as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] !== 'function') {
    throw misuse(`${what}: input must be a Readable or an async iterable of bytes`);
  }
  const { signal } = options;
  if (signal?.aborted) throw cancelled('stream restore', signal);
  const existed = restoreDestinationExists(destination, options.overwrite, what);
  const temp = privateTempPath(destination);
  let published = false;
  const file = await fs.promises.open(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  // A stalled input must not hold off a cancel: aborting destroys a Readable input, which ends
  // the loop below at once (other iterables are checked at their next chunk).
  const onAbort = (): void => {
    if (input instanceof Readable) input.destroy(cancelled('stream restore', signal));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let received = 0;
    const header = Buffer.alloc(HEADER);
    try {
      for await (const chunk of input) {
        if (signal?.aborted) throw cancelled('stream restore', signal);
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        if (received < HEADER) {
          bytes.copy(header, received, 0, Math.min(bytes.length, HEADER - received));
          const seen = Math.min(received + bytes.length, MAGIC.length);
          if (!header.subarray(0, seen).equals(MAGIC.subarray(0, seen))) throw notADatabase(what);
        }
        for (let at = 0; at < bytes.length; ) at += (await file.write(bytes, at, bytes.length - at, received + at)).bytesWritten;
        received += bytes.length;
        options.onProgress?.({ bytesReceived: received });
      }
    } finally {
      // A stream abandoned by an error here must not keep its source (a socket, a file) open.
      if (input instanceof Readable && !input.readableEnded) input.destroy();
    }
    if (signal?.aborted) throw cancelled('stream restore', signal);
    if (received < HEADER) throw short(what, `it ended after ${received} bytes, inside the 100-byte header`);
    const raw = header.readUInt16BE(16);
    const pageSize = raw === 1 ? 65536 : raw;
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
      throw new LitevaultError({ message: `${what}: the stream's header has an invalid page size (${raw})`, code: 'SQLITE_NOTADB' });
    }
    if (received % pageSize !== 0) throw short(what, `${received} bytes is not a whole number of ${pageSize}-byte pages`);
    const pageCount = received / pageSize;
    // The in-header size counts when it is valid (version-valid-for = change counter), as SQLite reads it.
    const headerPages = header.readUInt32BE(28);
    if (header.readUInt32BE(92) === header.readUInt32BE(24) && headerPages !== 0 && headerPages !== pageCount) {
      throw short(what, `it ended after ${pageCount} of the ${headerPages} pages its header counts`);
    }
    await file.sync();
    await file.close();
    const report = await verify(temp, { maxFindings: 1 });
    if (!report.ok) {
      const first = report.findings[0];
      throw new LitevaultError({ message: `${what}: the streamed database is damaged (${report.findingCount} finding(s); first: page ${first?.page}: ${first?.message})`, code: 'SQLITE_CORRUPT' });
    }
    published = await placeRestored(temp, destination, existed, { busyTimeout: options.busyTimeout, signal, priority: 'normal' }, what);
    return { destination, pageSize, pageCount, bytes: received, ms: Date.now() - started };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await file.close().catch(() => undefined);
    if (!published) fs.rmSync(temp, { force: true });
    removeCompanions(temp);
  }
}
