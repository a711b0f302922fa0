// Streaming backups and restores (issue 14): backupStream() / restoreStream() /
// vault.exportStream() and the CLI's '-', judged by real SQLite: the sqlite3 shell's `.backup`
// image of the same state (outside the header's counters), integrity_check, and SQLite writers
// and checkpointers in other processes that must find every lock released.
// A stream of a database under a live writer is compared with a replay: the writer draws its
// moves from a seeded PRNG, so SQLite rebuilds, in a fresh file, exactly the state of the commit
// the stream's snapshot holds (test/oracle/writer.ts replayWriter).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { arm, backup, backupStream, Database, LitevaultError, release, resetSyncPoints, restoreStream, Vault, waitArrived, type BackupStreamSnapshot } from './oracle/testing-addon.js';
import { buildCorpus, corpusSpecs, createDatabase } from './oracle/corpus';
import { expectSameImage, rejection } from './oracle/expect';
import { mulberry32 } from './oracle/random';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';
import { replayWriter, startWriter } from './oracle/writer';

const CLI = path.join(__dirname, '..', 'dist', 'cli.js');
const dir = tmpDir('litevault-stream-');

afterEach(() => resetSyncPoints());
afterAll(() => removeTmpDirs());

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A consumer that takes `delayMs` per chunk (a slow network, a slow disk). */
function slowFile(file: string, delayMs: number): Writable {
  const fd = fs.openSync(file, 'w');
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      fs.writeSync(fd, chunk);
      setTimeout(done, delayMs);
    },
    final(done) {
      fs.closeSync(fd);
      done();
    },
  });
}

function bash(script: string, input?: Buffer): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', script], { input, maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

const q = (p: string): string => `'${p.replace(/'/g, "'\\''")}'`;
const maxSeq = (db: string): number => Number(sqliteShell(db, 'SELECT coalesce(max(seq), 0) FROM ledger;', { readOnlyUri: true }).trim());
const filesIn = (d: string): string[] => fs.readdirSync(d).sort();

describe('backupStream() over the corpus', () => {
  const corpusDir = path.join(dir, 'corpus');
  fs.mkdirSync(corpusDir);
  const corpus = buildCorpus(corpusDir, corpusSpecs());

  it.each(corpus.map((e) => [e.name, e] as const))(
    '%s: the stream is the file backup() writes, SQLite\'s .backup image outside the header counters, and restoreStream() writes it back byte for byte',
    async (name, entry) => {
      const out = path.join(dir, `corpus-${name}`);
      fs.mkdirSync(out);
      const stream = backupStream(entry.path, { chunkBytes: 3 * 4096 }); // chunks of whole pages, rounded
      let announced: BackupStreamSnapshot | undefined;
      let bytesBeforeSnapshot = 0;
      stream.on('snapshot', (s: BackupStreamSnapshot) => (announced = s));
      stream.on('data', (c: Buffer) => {
        if (announced === undefined) bytesBeforeSnapshot += c.length;
      });
      const image = await collect(stream);
      expect(bytesBeforeSnapshot).toBe(0);
      expect(announced).toEqual(await stream.snapshot);
      expect(image.length).toBe(announced!.bytes);
      expect(announced!.pageSize * announced!.pageCount).toBe(image.length);
      fs.writeFileSync(path.join(out, 'stream.db'), image);

      await backup(entry.path, path.join(out, 'backup.db'));
      expect(image.equals(fs.readFileSync(path.join(out, 'backup.db'))), 'stream = backup() to a new file').toBe(true);
      sqliteShell(entry.path, `.backup ${q(path.join(out, 'sqlite.db'))}`, { readOnlyUri: true });
      expectSameImage(path.join(out, 'stream.db'), path.join(out, 'sqlite.db'));

      const restored = path.join(out, 'restored.db');
      const r = await restoreStream(Readable.from([image.subarray(0, 1000), image.subarray(1000)]), restored);
      expect(r).toMatchObject({ destination: restored, bytes: image.length, pageCount: announced!.pageCount });
      expect(fs.readFileSync(restored).equals(image)).toBe(true);
      expect(integrityCheck(restored)).toBe('ok');
      expect(logicalDump(restored)).toBe(logicalDump(path.join(out, 'sqlite.db')));
      expect(filesIn(out)).toEqual(['backup.db', 'restored.db', 'sqlite.db', 'stream.db']); // no temporary left
    },
  );

  it.each(['wal-frames', 'page-size-65536', 'combined', 'large-4mib', 'empty', 'reserved-8'])('%s through the CLI: `litevault backup db - | cat > x`, `... - > x` and `cat x | litevault backup - y`', (name) => {
    const entry = corpus.find((e) => e.name === name)!;
    const out = path.join(dir, `cli-${name}`);
    fs.mkdirSync(out);
    const piped = bash(`node ${q(CLI)} backup ${q(entry.path)} - | cat > ${q(path.join(out, 'piped.db'))}`);
    expect(piped.status, piped.stderr).toBe(0);
    expect(piped.stderr).toMatch(/^backed up .* to standard output: \d+ pages/);
    sqliteShell(entry.path, `.backup ${q(path.join(out, 'sqlite.db'))}`, { readOnlyUri: true });
    expectSameImage(path.join(out, 'piped.db'), path.join(out, 'sqlite.db'));
    const direct = bash(`node ${q(CLI)} backup ${q(entry.path)} - > ${q(path.join(out, 'direct.db'))}`); // stdout a file: sendfile
    expect(direct.status, direct.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'direct.db')).equals(fs.readFileSync(path.join(out, 'piped.db')))).toBe(true);
    const back = bash(`cat ${q(path.join(out, 'piped.db'))} | node ${q(CLI)} backup - ${q(path.join(out, 'back.db'))}`);
    expect(back.status, back.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'back.db')).equals(fs.readFileSync(path.join(out, 'piped.db')))).toBe(true);
    expect(integrityCheck(path.join(out, 'back.db'))).toBe('ok');
  });
});

/** Files equal outside the header counters a backup may change, compared by cmp (they may be > 1 GiB). */
function expectSameImageHashed(actual: string, expected: string): void {
  const digest = (file: string): { head: Buffer; rest: string; size: number } => {
    const fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(100);
    fs.readSync(fd, head, 0, 100, 0);
    fs.closeSync(fd);
    for (const [from, to] of [[24, 28], [40, 44], [92, 100]] as const) head.fill(0, from, to);
    return { head, size: fs.statSync(file).size };
  };
  const a = digest(actual);
  const b = digest(expected);
  expect(a.size, `${actual} and ${expected} sizes`).toBe(b.size);
  expect(a.head.equals(b.head), `${actual}: header`).toBe(true);
  const rest = spawnSync('cmp', ['-i', '100', actual, expected], { encoding: 'utf8' });
  expect(rest.status, `${actual}: bytes 100.. ${rest.stdout}`).toBe(0);
}

describe('a database past the lock-byte page (64 KiB pages, > 1 GiB, on tmpfs where there is one)', () => {
  it('the CLI into a file (sendfile), through a pipe, and the API stream each give SQLite\'s .backup image: the lock-byte page as zeros', async () => {
    const bigDir = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/litevault-stream-') : dir;
    try {
      const src = path.join(bigDir, 'big.db');
      // Page 16385 holds byte 2^30: SQLite leaves it unwritten; the blobs' overflow chains skip it.
      sqliteShell(src, 'PRAGMA page_size=65536; PRAGMA journal_mode=off; CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB); INSERT INTO t(b) VALUES (zeroblob(540000000)), (zeroblob(540000000)), (randomblob(100000));');
      sqliteShell(src, 'PRAGMA journal_mode=wal;\n.dbconfig no_ckpt_on_close on\nPRAGMA wal_autocheckpoint=0; UPDATE t SET b = randomblob(100000) WHERE id = 3;'); // frames in the -wal
      expect(fs.statSync(src + '-wal').size).toBeGreaterThan(0);
      const ref = path.join(bigDir, 'sqlite.db');
      sqliteShell(src, `.backup ${q(ref)}`, { readOnlyUri: true });
      expect(fs.statSync(ref).size).toBeGreaterThan(2 ** 30 + 65536);
      const file = path.join(bigDir, 'cli-file.db');
      const direct = bash(`node ${q(CLI)} backup ${q(src)} - > ${q(file)}`);
      expect(direct.status, direct.stderr).toBe(0);
      expectSameImageHashed(file, ref);
      fs.rmSync(file);
      const piped = bash(`node ${q(CLI)} backup ${q(src)} - | cat > ${q(file)}`);
      expect(piped.status, piped.stderr).toBe(0);
      expectSameImageHashed(file, ref);
      fs.rmSync(file);
      await pipeline(backupStream(src), fs.createWriteStream(file));
      expectSameImageHashed(file, ref);
    } finally {
      if (bigDir !== dir) fs.rmSync(bigDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('backupStream() under a real-SQLite writer at ~500 commits/s', () => {
  // A copy of `pristine` (its -wal too), or a new file, as the writer and its replays start from.
  function startingPoint(pristine: string | null, to: string): void {
    if (pristine === null) return;
    fs.copyFileSync(pristine, to);
    if (fs.existsSync(pristine + '-wal')) fs.copyFileSync(pristine + '-wal', to + '-wal');
  }

  // The writer commits to `live` while an API stream (into a slow consumer) and a CLI stream
  // are taken; each image must be SQLite's .backup of the state SQLite rebuilds by replaying the
  // writer's seeded transactions, from the same starting point, up to the image's last commit.
  async function streamUnderWriter(name: string, pristine: string | null, journalMode: 'wal' | 'delete' | undefined, seed: number): Promise<void> {
    const out = path.join(dir, `writer-${name}`);
    fs.mkdirSync(out);
    const live = path.join(out, 'live.db');
    startingPoint(pristine, live);
    const writer = await startWriter(live, { commitsPerSecond: 500, journalMode, seed, busyTimeoutMs: 10_000 });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const before = writer.commits();
      await pipeline(backupStream(live, { chunkBytes: 8192 }), slowFile(path.join(out, 'api.db'), 2));
      const cli = bash(`node ${q(CLI)} backup ${q(live)} - | cat > ${q(path.join(out, 'cli.db'))}`);
      expect(cli.status, cli.stderr).toBe(0);
      await new Promise((r) => setTimeout(r, 150));
      expect(writer.commits()).toBeGreaterThan(before + 30); // it went on committing
    } finally {
      await writer.stop();
    }
    for (const image of ['api.db', 'cli.db']) {
      const file = path.join(out, image);
      expect(integrityCheck(file, { readOnlyUri: true })).toBe('ok');
      const n = maxSeq(file);
      expect(n).toBeGreaterThan(0);
      const ref = path.join(out, `replay-${image}`);
      startingPoint(pristine, ref);
      await replayWriter(ref, n, { commitsPerSecond: Infinity, journalMode, seed });
      sqliteShell(ref, `.backup ${q(ref + '.backup')}`);
      expectSameImage(file, ref + '.backup');
    }
  }

  it.each(['wal', 'delete'] as const)('a new %s database: the API stream (slow consumer) and the CLI stream each equal SQLite\'s .backup of the replayed state at their snapshot', async (journalMode) => {
    await streamUnderWriter(`new-${journalMode}`, null, journalMode, journalMode === 'wal' ? 500 : 501);
  }, 120_000);

  // Corpus databases of every kind, each in its own journal mode: WAL ones (writers go on during
  // the stream) and rollback ones (the stream's SHARED lock holds the writer off until it ends).
  const subset = ['page-size-512', 'page-size-65536', 'auto-vacuum-full', 'auto-vacuum-incremental', 'reserved-32-page-512', 'utf-16be', 'freelist', 'wal-frames', 'combined'];
  const writerCorpusDir = path.join(dir, 'writer-corpus');
  fs.mkdirSync(writerCorpusDir);
  const entries = buildCorpus(writerCorpusDir, corpusSpecs().filter((e) => subset.includes(e.name)));
  it.each(entries.map((e, i) => [e.name, e, i] as const))('corpus %s under the writer: both streams equal SQLite\'s .backup of the replayed state', async (name, entry, i) => {
    await streamUnderWriter(`corpus-${name}`, entry.path, undefined, 600 + i);
  }, 120_000);
});

describe('the snapshot, at the instant it is read (sync point image-reader-read)', () => {
  function walDb(name: string): string {
    const db = path.join(dir, name);
    createDatabase(db, { journalMode: 'wal', targetBytes: 256 * 1024 });
    return db;
  }

  it('WAL: a SQLite commit and a TRUNCATE checkpoint after the snapshot: the checkpoint stops at the snapshot (busy), the image is the state before the commit, and once the stream ended SQLite truncates the WAL', async () => {
    const db = walDb('instant-wal.db');
    const expected = logicalDump(db);
    arm('image-reader-read', 1);
    const stream = backupStream(db, { chunkBytes: 64 * 1024 });
    const image = collect(stream);
    expect(await waitArrived('image-reader-read')).toBe(true);
    const row = sqliteShell(db, ".timeout 0\nPRAGMA wal_autocheckpoint=0; INSERT INTO t(k, v) VALUES ('after the snapshot', x'00'); PRAGMA wal_checkpoint(TRUNCATE);").trim().split('\n').at(-1)!;
    expect(row.split('|')[0]).toBe('1'); // busy: our read mark holds the frames the snapshot needs... and none past it
    release('image-reader-read');
    const bytes = await image;
    fs.writeFileSync(db + '.image', bytes);
    expect(logicalDump(db + '.image')).toBe(expected);
    expect(sqliteShell(db, '.timeout 0\nPRAGMA wal_checkpoint(TRUNCATE);').trim()).toBe('0|0|0');
    expect(logicalDump(db)).toContain('after the snapshot');
  });

  it('rollback journal: a SQLite writer cannot commit while the stream holds its snapshot (SQLITE_BUSY), and can once it ended', async () => {
    const db = path.join(dir, 'instant-rollback.db');
    createDatabase(db, { targetBytes: 256 * 1024 });
    const expected = logicalDump(db);
    arm('image-reader-read', 1);
    const stream = backupStream(db, { chunkBytes: 64 * 1024 });
    const image = collect(stream);
    expect(await waitArrived('image-reader-read')).toBe(true);
    expect(() => sqliteShell(db, ".timeout 0\nINSERT INTO t(k, v) VALUES ('blocked', x'00');")).toThrow(/database is locked/);
    release('image-reader-read');
    const bytes = await image;
    fs.writeFileSync(db + '.image', bytes);
    expect(logicalDump(db + '.image')).toBe(expected);
    sqliteShell(db, ".timeout 0\nBEGIN EXCLUSIVE; INSERT INTO t(k, v) VALUES ('after', x'00'); COMMIT;");
    expect(integrityCheck(db)).toBe('ok');
  });
});

describe('destroying a stream at random points never leaves a lock behind', () => {
  it('100 trials (50 WAL, 50 rollback; paths and open handles): afterwards a SQLite writer in another process gets BEGIN EXCLUSIVE at once and a TRUNCATE checkpoint reaches the end of the WAL', async () => {
    const seed = 1414;
    const random = mulberry32(seed);
    const wal = path.join(dir, 'destroy-wal.db');
    const rollback = path.join(dir, 'destroy-rollback.db');
    createDatabase(wal, { journalMode: 'wal', targetBytes: 1024 * 1024 });
    createDatabase(rollback, { targetBytes: 1024 * 1024 });
    const handles = { [wal]: await Database.open(wal), [rollback]: await Database.open(rollback) };
    const counts = { beforeSnapshot: 0, midStream: 0, afterEnd: 0, byTimer: 0 };
    try {
      for (let trial = 0; trial < 100; trial++) {
        const db = trial % 2 === 0 ? wal : rollback;
        const source = random() < 0.5 ? db : handles[db]!;
        const stream = backupStream(source, { chunkBytes: 4096 * (1 + Math.floor(random() * 16)) });
        const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
        stream.on('error', () => undefined);
        const how = random();
        if (how < 0.15) {
          stream.destroy(); // before the snapshot was taken
          counts.beforeSnapshot++;
        } else if (how < 0.55) {
          const after = Math.floor(random() * 40); // chunks taken before destroying
          let taken = 0;
          stream.on('data', () => {
            if (++taken === after) stream.destroy();
          });
          counts.midStream++;
        } else if (how < 0.75) {
          stream.resume(); // read to the end
          counts.afterEnd++;
        } else {
          stream.resume();
          setTimeout(() => stream.destroy(), Math.floor(random() * 15));
          counts.byTimer++;
        }
        await closed;
        const row = sqliteShell(db, `.timeout 0\nPRAGMA wal_autocheckpoint=0;\nBEGIN EXCLUSIVE; INSERT INTO t(k, v) VALUES ('trial ${trial}', x'00'); COMMIT;\nPRAGMA wal_checkpoint(TRUNCATE);`).trim().split('\n').at(-1);
        if (db === wal) expect(row, `trial ${trial} (seed ${seed})`).toBe('0|0|0');
      }
      // The handles are still usable: one more stream of each reads to the end.
      for (const db of [wal, rollback]) await collect(backupStream(handles[db]!));
    } finally {
      for (const h of Object.values(handles)) await h.close();
    }
    console.log(`destroy trials (seed ${seed}): ${JSON.stringify(counts)}`);
    expect(integrityCheck(wal)).toBe('ok');
    expect(integrityCheck(rollback)).toBe('ok');
  }, 120_000);

  it('the CLI writing into a pipe its reader closes (| head -c 100) ends with SQLITE_IOERR_WRITE / EPIPE and exit 1, no stack trace, and SQLite can write the source at once', () => {
    const db = path.join(dir, 'epipe.db');
    createDatabase(db, { targetBytes: 4 * 1024 * 1024 });
    const r = bash(`node ${q(CLI)} backup ${q(db)} - | head -c 100 > /dev/null; echo "exit \${PIPESTATUS[0]}" >&2`);
    expect(r.stderr).toMatch(/litevault backup: cannot stream a backup of .* to standard output: SQLITE_IOERR_WRITE: standard output was closed by its reader \(EPIPE\) after \d+ bytes/);
    expect(r.stderr).toMatch(/exit 1\n$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    sqliteShell(db, ".timeout 0\nBEGIN EXCLUSIVE; INSERT INTO t(k, v) VALUES ('after', x'00'); COMMIT;");
    const json = bash(`node ${q(CLI)} backup --json ${q(db)} - | head -c 100 > /dev/null`);
    expect(JSON.parse(json.stderr.trim().split('\n').at(-1)!).error).toMatchObject({ code: 'SQLITE_IOERR_WRITE', errno: 32 });
  });

  it('CLI usage: \'-\' twice, --mode restart or --verify with \'-\' are usage errors (exit 2)', () => {
    const db = path.join(dir, 'usage.db');
    createDatabase(db, {});
    for (const args of ['- -', `--mode restart ${q(db)} -`, `--verify ${q(db)} -`, `--pages 10 - ${q(db + '.x')}`]) {
      const r = bash(`node ${q(CLI)} backup ${args} < /dev/null > /dev/null`);
      expect(r.status, args).toBe(2);
    }
  });
});

describe('restoreStream(): only a complete, sound image reaches the destination', () => {
  const source = path.join(dir, 'restore-src.db');
  createDatabase(source, { targetBytes: 512 * 1024, overflow: true, freePages: 10 });

  async function image(): Promise<Buffer> {
    return collect(backupStream(source));
  }

  it('garbage is SQLITE_NOTADB; a stream cut at 30 random points is SQLITE_CORRUPT (or NOTADB inside the magic); nothing appears at a new path and an existing database stays byte-identical', async () => {
    const bytes = await image();
    const out = path.join(dir, 'cut');
    fs.mkdirSync(out);
    const existing = path.join(out, 'existing.db');
    createDatabase(existing, { targetBytes: 64 * 1024 });
    const before = fs.readFileSync(existing);
    const garbage = Buffer.from('this is not a database, just text that goes on and on '.repeat(200));
    expect((await rejection(restoreStream(Readable.from([garbage]), path.join(out, 'new.db')))).code).toBe('SQLITE_NOTADB');
    const random = mulberry32(77);
    for (let i = 0; i < 30; i++) {
      const cut = i === 0 ? 0 : Math.floor(random() * bytes.length);
      for (const [dest, overwrite] of [[path.join(out, 'new.db'), false], [existing, true]] as const) {
        const err = await rejection(restoreStream(Readable.from([bytes.subarray(0, cut)]), dest, { overwrite }));
        expect(cut < 16 && cut > 0 ? ['SQLITE_NOTADB', 'SQLITE_CORRUPT'] : ['SQLITE_CORRUPT'], `cut at ${cut}: ${err.message}`).toContain(err.code);
      }
      expect(filesIn(out), `cut at ${cut}`).toEqual(['existing.db']);
      expect(fs.readFileSync(existing).equals(before)).toBe(true);
    }
  });

  it('an image with a damaged b-tree page is SQLITE_CORRUPT naming the page (SQLite agrees it is damaged); the destination is untouched', async () => {
    const bytes = await image();
    const pageSize = bytes.readUInt16BE(16);
    const damaged = Buffer.from(bytes);
    damaged[pageSize * 1] = 0x07; // page 2's b-tree page type: no such type
    const bad = path.join(dir, 'damaged.db');
    fs.writeFileSync(bad, damaged);
    const verdict = (() => {
      try {
        return integrityCheck(bad);
      } catch (err) {
        return String(err); // 'database disk image is malformed' before the check can start
      }
    })();
    expect(verdict).not.toBe('ok');
    const err = await rejection(restoreStream(Readable.from([damaged]), path.join(dir, 'damaged-restore.db')));
    expect(err.code).toBe('SQLITE_CORRUPT');
    expect(err.message).toMatch(/page 2/);
    expect(fs.existsSync(path.join(dir, 'damaged-restore.db'))).toBe(false);
  });

  it('an input that fails midway rejects with its own error, and an existing destination needs overwrite (LITEVAULT_EXISTS)', async () => {
    const bytes = await image();
    const failing = new Readable({
      read() {
        this.push(bytes.subarray(0, 8192));
        this.destroy(new Error('connection reset by peer'));
      },
    });
    await expect(restoreStream(failing, path.join(dir, 'failing.db'))).rejects.toThrow('connection reset by peer');
    expect(fs.existsSync(path.join(dir, 'failing.db'))).toBe(false);
    const existing = path.join(dir, 'exists.db');
    createDatabase(existing, {});
    expect((await rejection(restoreStream(Readable.from([bytes]), existing))).code).toBe('LITEVAULT_EXISTS');
  });

  it('overwrite of a live database that better-sqlite3 in this process has open: its connection then reads the streamed content, and SQLite finds it sound', async () => {
    const bytes = await image();
    const live = path.join(dir, 'live-target.db');
    createDatabase(live, { targetBytes: 64 * 1024 });
    const conn = new BetterSqlite3(live);
    try {
      expect(conn.prepare('SELECT count(*) AS n FROM t').get()).toBeDefined();
      await restoreStream(Readable.from([bytes]), live, { overwrite: true });
      const rows = (conn.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
      expect(rows).toBe(Number(sqliteShell(source, 'SELECT count(*) FROM t;').trim()));
    } finally {
      conn.close();
    }
    expect(integrityCheck(live)).toBe('ok');
    expect(logicalDump(live)).toBe(logicalDump(source));
  });
});

describe('vault.exportStream() and `litevault vault restore <vault> <name> -`', () => {
  it('every backup of a chain streams as the bytes vault.restore() writes; a damaged pack fails before the first byte', async () => {
    const db = path.join(dir, 'export-src.db');
    createDatabase(db, { journalMode: 'wal', targetBytes: 512 * 1024 });
    const vaultDir = path.join(dir, 'export-vault');
    const vault = await Vault.open(vaultDir, { create: true });
    const ids: string[] = [];
    ids.push((await vault.backup(db, { name: 'app', type: 'full' })).id);
    sqliteShell(db, "INSERT INTO t(k, v) VALUES ('second', randomblob(3000));");
    ids.push((await vault.backup(db, { name: 'app', type: 'incremental' })).id);
    sqliteShell(db, "UPDATE t SET v = randomblob(100) WHERE rowid % 7 = 0;");
    ids.push((await vault.backup(db, { name: 'app', type: 'differential' })).id);
    const tempDir = path.join(dir, 'export-tmp');
    fs.mkdirSync(tempDir);
    for (const at of ids) {
      const restored = path.join(dir, `export-${at}.db`);
      await vault.restore('app', restored, { at });
      const streamed = await collect(vault.exportStream('app', { at, tempDir }));
      expect(streamed.equals(fs.readFileSync(restored)), `backup ${at}`).toBe(true);
      expect(filesIn(tempDir)).toEqual([]);
      const cli = bash(`node ${q(CLI)} vault restore --at ${at} ${q(vaultDir)} app - | cat`);
      expect(cli.status, cli.stderr).toBe(0);
      expect(cli.stdout.equals(streamed)).toBe(true);
      expect(integrityCheck(restored)).toBe('ok');
    }
    // Damage the newest backup's pack: the stream errors before any byte.
    const packsDir = path.join(vaultDir, 'packs', 'app');
    const packs = fs.readdirSync(packsDir, { recursive: true }).map(String).filter((f) => f.endsWith('.pack'));
    const pack = path.join(packsDir, packs.sort((a, b) => fs.statSync(path.join(packsDir, b)).mtimeMs - fs.statSync(path.join(packsDir, a)).mtimeMs)[0]!);
    const bytes = fs.readFileSync(pack);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(pack, bytes);
    const stream = vault.exportStream('app', { tempDir });
    let received = 0;
    stream.on('data', (c: Buffer) => (received += c.length));
    const err = await new Promise<unknown>((resolve) => stream.once('error', resolve));
    expect(err).toBeInstanceOf(LitevaultError);
    expect((err as LitevaultError).code).toBe('LITEVAULT_VAULT_CORRUPT');
    expect(received).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(filesIn(tempDir)).toEqual([]);
  });
});
