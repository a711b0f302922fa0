#!/usr/bin/env node
/**
 * The litevault command line: `info`, `backup`, `checkpoint`, `verify`, `vault <verb>` and `replicate`, each with its own
 * --help. Shared pieces are in cli-common.ts, the vault verbs in cli-vault.ts.
 *
 * Output contract (what scripts may rely on):
 * - stdout carries only the result: a human summary, or with --json one JSON object.
 * - stderr carries progress (a bar only on a terminal, or --progress json: one JSON line per
 *   step), notices, and failures: one line `litevault <command>: <what failed> '<file>': <CODE>:
 *   <message>`, or with --json one object {"error":{"code","errno","message","retryable"}}.
 * - exit status: 0 done, 1 failed, 2 usage error, 3 done but busy (a checkpoint that could not
 *   do what its mode asks), 128+signal when cancelled by SIGHUP (129), SIGINT (130) or SIGTERM
 *   (143): the backup or checkpoint is rolled back through its AbortSignal first.
 * Arguments are parsed by node:util parseArgs; `--` ends the options.
 */
import * as fs from 'node:fs';
import { Cancelled, cancelOnSignals, checkStdinGivesImage, checkStdoutTakesImage, COMMON_HELP, EXIT, EXIT_CODES, cksumvfsOption, findingLine, integerOption, oneOf, output, parse, progressBar, isEpipe, priorityOption, PRIORITY_HELP, PRIORITY_OPTION, progressOption, SIGNAL_EXIT, stdoutClosed, UsageError, Values } from './cli-common';
import { VAULT_HELP, VAULT_USAGE, vaultCommand } from './cli-vault';
import { REPLICATE_HELP, REPLICATE_USAGE, replicateCommand } from './cli-replicate';
import { inspect, DatabaseInfo } from './inspect';
import { backup, BackupProgress, DEFAULT_MAX_RESTARTS } from './backup';
import { checkpoint, CheckpointMode } from './checkpoint';
import { LitevaultError } from './errors';
import { backupToDescriptor, restoreStream } from './stream';
import { verify, VerifyResult } from './verify';

const USAGE = `usage: litevault <command> [options] [--] <arguments>

commands:
  info <db>                       the database header and WAL summary, as SQLite reports them
  backup <source> <destination>   an online copy of a live database (SQLite's backup rules);
                                  restore by backing up the backup over the database
  checkpoint <db>                 copy WAL frames back into the database (PRAGMA wal_checkpoint)
  verify <db>                     check every page's structure (PRAGMA integrity_check's b-tree
                                  rules, without SQLite); exit 1 with the findings if damaged
${VAULT_USAGE}
${REPLICATE_USAGE}

Run 'litevault <command> --help' for a command's options.

  -h, --help       this help
  -v, --version    litevault's version

${EXIT_CODES}`;

const HELP: Record<string, string> = {
  ...VAULT_HELP,
  replicate: REPLICATE_HELP,
  info: `usage: litevault info [options] [--] <db>

Prints the database header as SQLite reports it (page size, page count, change counter, schema
cookie, encoding, user version, journal mode, ...) and, when a -wal exists, its frames.
Reads without taking locks; writes nothing.

options:
${COMMON_HELP}
${EXIT_CODES}`,
  backup: `usage: litevault backup [options] [--] <source> <destination>

Copies the live database <source> into <destination> step by step, with SQLite's online-backup
rules: other processes keep reading and writing the source between steps. A new destination is
written under a private temporary name beside it and renamed into place only when complete; an
existing one is written under an exclusive lock through a rollback journal. Either way an
interrupted backup leaves the destination as it was. A copy of a source that keeps changing restarts (SQLite's behaviour); after
--max-restarts restarts the backup holds the source's read lock to the end, so it always
finishes (rollback-journal writers then wait for it; this is said on stderr).
To restore, back up the backup: litevault backup backup.db app.db

'-' as <destination> writes the image of one consistent snapshot to standard output (nothing else
goes there; the summary and progress go to stderr), e.g. litevault backup app.db - | gzip > a.gz.
It holds the source's read lock until the last byte is written (rollback-journal writers wait
meanwhile). '-' as <source> reads an image from standard input and writes it to <destination>
only once it is complete and checked (verify): a short or damaged stream leaves it as it was.

options:
  --pages N            pages per step (default 1024)
  --busy-timeout MS    total time to wait for other connections' locks before failing with
                       SQLITE_BUSY (default 5000)
  --mode snapshot|restart
                       snapshot: one read transaction for the whole copy, never restarts
                       (default for WAL sources; writers are not blocked); restart: SQLite's
                       behaviour (default for rollback-journal sources)
  --max-restarts N     restarts allowed before holding the source's read lock (default ${DEFAULT_MAX_RESTARTS})
  --verify             check the source's structure while copying (as litevault verify does):
                       a damaged source fails the backup with SQLITE_CORRUPT, the destination
                       is left as it was
  --progress bar|json|none
                       bar: a progress bar on stderr (the default on a terminal); json: one JSON
                       line per step on stderr; none: nothing (the default without a terminal)
${PRIORITY_HELP}${COMMON_HELP}
${EXIT_CODES}`,
  checkpoint: `usage: litevault checkpoint [options] [--] <db>

Copies WAL frames back into the database exactly as PRAGMA wal_checkpoint(MODE) would and prints
its row: with --json {"busy":0,"log":N,"checkpointed":M}. Exit status 3 when the mode could not
do all it asks (busy: 1), e.g. --mode truncate while a reader still uses the WAL.

options:
  --mode passive|full|restart|truncate
                       passive (default): never waits; full: waits for the writer lock and for
                       readers to reach the newest snapshot; restart: then waits until no reader
                       uses the WAL; truncate: then empties the -wal. While full and stronger
                       wait, SQLite writers wait too (up to their busy timeout)
  --busy-timeout MS    how long full, restart and truncate wait (default 5000)
${PRIORITY_HELP}${COMMON_HELP}
${EXIT_CODES}`,
  verify: `usage: litevault verify [options] [--] <db>

Checks the structure of every page of the live database <db> with the rules of SQLite's PRAGMA
integrity_check that need no SQL engine: b-tree pages (cells, freeblocks, rowid order, depth),
overflow chains, the freelist, the pointer map, every page used once, record headers, and
cksumvfs checksums where the database has them. Index entries that disagree with their table's
rows, and NOT NULL / CHECK / STRICT violations, need the SQL engine: use integrity_check for
those. Reads under its own read transaction (WAL writers go on); writes nothing.
Exit status 1 with the findings (on stdout) when the database is damaged.

options:
  --max-findings N     findings listed (default 100; all are counted)
  --cksumvfs auto|on|off
                       auto (default): verify cksumvfs checksums when the pages carry them
  --busy-timeout MS    how long to wait for a lock (default 5000)
  --progress bar|json|none
                       progress on stderr (default: a bar on a terminal)
${COMMON_HELP}
${EXIT_CODES}`,
};

function formatInfo(info: DatabaseInfo): string {
  const rows: Array<[string, string | number | boolean]> = [['database', info.path]];
  if (info.empty) {
    rows.push(['state', 'empty (0 bytes): SQLite treats it as a database with no pages']);
  } else {
    rows.push(
      ['page size', info.pageSize],
      ['page count', info.pageCount],
      ['file size', info.fileSize],
      ['journal mode', info.journalMode],
      ['text encoding', info.textEncoding ?? 'unset'],
      ['file change counter', info.changeCounter],
      ['schema cookie', info.schemaCookie],
      ['schema format', info.schemaFormat],
      ['user version', info.userVersion],
      ['application id', info.applicationId],
      ['freelist pages', info.freelistCount],
      ['reserved bytes', info.reservedBytes],
      ['auto vacuum', info.autoVacuum],
      ['written by sqlite', info.sqliteVersion],
    );
  }
  if (info.wal) {
    const w = info.wal;
    rows.push(
      ['wal file size', w.fileSize],
      ['wal frames', w.headerValid ? `${w.frames} committed (${w.framesInFile} in file)` : 'none (no valid WAL header)'],
    );
    if (w.index) {
      const marks = w.index.readMarks.map((m) => (m === null ? '-' : String(m))).join(' ');
      rows.push(['wal backfilled', `${w.index.backfilled} of ${w.index.frames} frames`], ['wal read marks', marks]);
    }
    if (info.headerFromWal) rows.push(['header read from', 'the newest committed WAL frame of page 1']);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

async function info(args: string[], operation: { what: string }): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (values.help) return help('info');
  if (positionals.length !== 1) throw new UsageError(`info needs one database path, not ${positionals.length}`);
  const out = output(values);
  operation.what = `cannot read '${positionals[0]}'`;
  const result = await inspect(positionals[0]);
  out.result(formatInfo(result), result);
  return EXIT.ok;
}

// Progress on stderr: a bar redrawn in place (on a terminal, or --progress bar), or one JSON
// line per step (--progress json). Never carriage returns otherwise.
function progressReporter(kind: 'bar' | 'json' | 'none'): { update(p: BackupProgress, step: number): void; done(): void } {
  const bar = progressBar(kind === 'bar');
  return {
    update(p, step) {
      if (kind === 'json') {
        const { done, copied, pageCount, remaining, restarts, heldLock, mode, pageSize, snapshotFrame } = p;
        process.stderr.write(JSON.stringify({ step, done, copied, pageCount, remaining, restarts, heldLock, mode, pageSize, snapshotFrame }) + '\n');
        return;
      }
      const restarts = p.restarts ? `, ${p.restarts} restart${p.restarts === 1 ? '' : 's'}` : '';
      bar.draw(p.pageCount === 0 ? 1 : p.copied / p.pageCount, `${p.copied}/${p.pageCount} pages${restarts}`);
    },
    done: () => bar.done(),
  };
}

async function backupCommand(args: string[], operation: { what: string }): Promise<number> {
  const { values, positionals } = parse(args, {
    pages: { type: 'string' },
    'busy-timeout': { type: 'string' },
    mode: { type: 'string' },
    'max-restarts': { type: 'string' },
    progress: { type: 'string' },
    verify: { type: 'boolean' },
    ...PRIORITY_OPTION,
  });
  if (values.help) return help('backup');
  if (positionals.length !== 2) throw new UsageError(`backup needs a source and a destination path, not ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
  const [source, destination] = positionals as [string, string];
  if (source === '-' || destination === '-') return streamBackup(source, destination, values, operation);
  const pagesPerStep = integerOption(values, 'pages', 1024, 1);
  const busyTimeout = integerOption(values, 'busy-timeout', 5000, 0);
  const maxRestarts = integerOption(values, 'max-restarts', DEFAULT_MAX_RESTARTS, 0);
  const mode = oneOf(values, 'mode', ['snapshot', 'restart'] as const);
  const out = output(values);
  const progressKind = progressOption(values, out);
  operation.what = `cannot back up '${source}' to '${destination}'`;
  const existed = fs.existsSync(destination);
  const progress = progressReporter(progressKind);
  const cancel = cancelOnSignals();
  let steps = 0;
  let announced = false;
  try {
    const result = await backup(source, destination, {
      pagesPerStep,
      busyTimeout,
      mode,
      maxRestarts,
      verify: values.verify === true,
      priority: priorityOption(values),
      signal: cancel.signal,
      onProgress: (p) => {
        progress.update(p, ++steps);
        if (p.heldLock && !announced) {
          announced = true;
          progress.done();
          out.notice(
            `litevault backup: '${source}' changed during ${p.restarts} copies in a row; holding its read lock until the backup ends` +
              ' (writers of a rollback-journal database wait until then)',
          );
        }
      },
    });
    progress.done();
    const mib = ((result.pageCount * result.pageSize) / 1048576).toFixed(1);
    const snapshot = result.snapshotFrame ? ` (the source as of WAL frame ${result.snapshotFrame})` : '';
    const restarts = result.restarts === 0 ? '' : `, after ${result.restarts} restart${result.restarts === 1 ? '' : 's'}${result.heldLock ? ' (then holding the read lock)' : ''}`;
    out.result(
      `backed up ${source} to ${destination}: ${result.pageCount} pages of ${result.pageSize} bytes (${mib} MiB) in ${result.ms} ms, ${result.mode} mode${snapshot}${restarts}\n`,
      { source, destination, ...result },
    );
    return EXIT.ok;
  } catch (err) {
    const name = cancel.received();
    if (name !== undefined && err instanceof LitevaultError && err.code === 'SQLITE_ABORT') {
      throw new Cancelled(name, `backup cancelled by ${name}: ${existed ? `'${destination}' keeps its previous content` : `no backup was made at '${destination}'`}`);
    }
    throw err;
  } finally {
    progress.done();
    cancel.dispose();
  }
}

// `litevault backup <db> -` streams the image to stdout (backupStream); `litevault backup - <db>`
// writes the image stdin carries (restoreStream; an existing database is written in place, as a
// backup into it). The summary goes to stderr: stdout carries the image alone.
async function streamBackup(source: string, destination: string, values: Values, operation: { what: string }): Promise<number> {
  if (source === '-' && destination === '-') throw new UsageError("backup: '-' may be the source or the destination, not both");
  for (const option of ['pages', 'max-restarts', 'verify', 'priority'] as const) {
    if (values[option] !== undefined) throw new UsageError(`--${option} does not apply to a streamed backup ('-')`);
  }
  const mode = oneOf(values, 'mode', ['snapshot', 'restart'] as const);
  if (mode === 'restart') throw new UsageError("--mode restart cannot stream: a stream cannot start over once bytes are out ('-' is always snapshot mode)");
  const busyTimeout = integerOption(values, 'busy-timeout', 5000, 0);
  const out = output(values);
  const progressKind = progressOption(values, out);
  const bar = progressBar(progressKind === 'bar');
  const report = (written: number, total: number): void => {
    if (progressKind === 'json') process.stderr.write(JSON.stringify({ bytes: written, total }) + '\n');
    else bar.draw(total === 0 ? 1 : written / total, `${(written / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB`);
  };
  const cancel = cancelOnSignals();
  const started = Date.now();
  try {
    if (destination === '-') {
      checkStdoutTakesImage();
      operation.what = `cannot stream a backup of '${source}' to standard output`;
      let done = 0;
      let result;
      try {
        result = await backupToDescriptor(source, 1, { busyTimeout, signal: cancel.signal, onProgress: (n, total) => report((done = n), total) });
      } catch (err) {
        if (isEpipe(err)) throw stdoutClosed(done);
        throw err;
      }
      bar.done();
      const { snapshot: s, written } = result;
      const line = `backed up ${source} to standard output: ${s.pageCount} pages of ${s.pageSize} bytes (${(written / 1048576).toFixed(1)} MiB) in ${Date.now() - started} ms${s.snapshotFrame ? ` (the source as of WAL frame ${s.snapshotFrame})` : ''}`;
      if (out.json) process.stderr.write(JSON.stringify({ source, destination: '-', ...s, ms: Date.now() - started }) + '\n');
      else out.notice(line);
      return EXIT.ok;
    }
    checkStdinGivesImage();
    operation.what = `cannot write the database image on standard input to '${destination}'`;
    const r = await restoreStream(process.stdin, destination, {
      overwrite: true,
      busyTimeout,
      signal: cancel.signal,
      onProgress: (p) => report(p.bytesReceived, 0),
    });
    bar.done();
    out.result(`wrote the database image from standard input to ${destination}: ${r.pageCount} pages of ${r.pageSize} bytes in ${r.ms} ms\n`, { source: '-', ...r });
    return EXIT.ok;
  } catch (err) {
    const name = cancel.received();
    if (name !== undefined && err instanceof LitevaultError && err.code === 'SQLITE_ABORT') {
      throw new Cancelled(name, `backup cancelled by ${name}: ${destination === '-' ? 'the image on standard output is incomplete' : `'${destination}' was left as it was`}`);
    }
    throw err;
  } finally {
    bar.done();
    cancel.dispose();
    if (source === '-') process.stdin.destroy(); // nothing more is read from it
  }
}

async function checkpointCommand(args: string[], operation: { what: string }): Promise<number> {
  const { values, positionals } = parse(args, { mode: { type: 'string' }, 'busy-timeout': { type: 'string' }, ...PRIORITY_OPTION });
  if (values.help) return help('checkpoint');
  if (positionals.length !== 1) throw new UsageError(`checkpoint needs one database path, not ${positionals.length}`);
  const db = positionals[0]!;
  const mode: CheckpointMode = oneOf(values, 'mode', ['passive', 'full', 'restart', 'truncate'] as const) ?? 'passive';
  const busyTimeout = integerOption(values, 'busy-timeout', 5000, 0);
  const out = output(values);
  operation.what = `cannot checkpoint '${db}'`;
  const cancel = cancelOnSignals();
  try {
    const result = await checkpoint(db, { mode, busyTimeout, priority: priorityOption(values), signal: cancel.signal });
    let human: string;
    if (result.log < 0) {
      human = result.busy ? `${db}: another checkpoint is running (busy)\n` : `${db}: not in WAL mode, nothing to checkpoint\n`;
    } else {
      const busy = result.busy ? `; busy: other connections kept the ${mode} checkpoint from doing all it asks` : '';
      human = `${db}: ${mode} checkpoint: ${result.checkpointed} of the ${result.log} frames in the WAL are now in the database${busy}\n`;
    }
    out.result(human, { busy: result.busy, log: result.log, checkpointed: result.checkpointed });
    return result.busy ? EXIT.busy : EXIT.ok;
  } catch (err) {
    const name = cancel.received();
    if (name !== undefined && err instanceof LitevaultError && err.code === 'SQLITE_ABORT') {
      throw new Cancelled(name, `checkpoint of '${db}' cancelled by ${name}`);
    }
    throw err;
  } finally {
    cancel.dispose();
  }
}

function formatVerify(db: string, r: VerifyResult, ms: number): string {
  const size = `${r.pageCount} pages of ${r.pageSize} bytes${r.cksumvfs ? ', cksumvfs checksums verified' : ''}`;
  if (r.ok) return `${db}: ok (${size}) in ${ms} ms\n`;
  const lines = r.findings.map(findingLine);
  const more = r.findingCount > r.findings.length ? [`  ... and ${r.findingCount - r.findings.length} more`] : [];
  return [`${db}: CORRUPT: ${r.findingCount} finding${r.findingCount === 1 ? '' : 's'} (${size})`, ...lines, ...more].join('\n') + '\n';
}

async function verifyCommand(args: string[], operation: { what: string }): Promise<number> {
  const { values, positionals } = parse(args, {
    'max-findings': { type: 'string' },
    cksumvfs: { type: 'string' },
    'busy-timeout': { type: 'string' },
    progress: { type: 'string' },
  });
  if (values.help) return help('verify');
  if (positionals.length !== 1) throw new UsageError(`verify needs one database path, not ${positionals.length}`);
  const db = positionals[0]!;
  const maxFindings = integerOption(values, 'max-findings', 100, 1);
  const busyTimeout = integerOption(values, 'busy-timeout', 5000, 0);
  const cksumvfs = cksumvfsOption(values);
  const out = output(values);
  const progressKind = progressOption(values, out);
  const bar = progressBar(progressKind === 'bar');
  operation.what = `cannot verify '${db}'`;
  const cancel = cancelOnSignals();
  const started = Date.now();
  try {
    const result = await verify(db, {
      maxFindings,
      busyTimeout,
      cksumvfs,
      signal: cancel.signal,
      onProgress: (p) => {
        if (progressKind === 'json') process.stderr.write(JSON.stringify(p) + '\n');
        else bar.draw(p.pageCount === 0 ? 1 : p.pagesRead / p.pageCount, `${p.pagesRead}/${p.pageCount} pages`);
      },
    });
    bar.done();
    out.result(formatVerify(db, result, Date.now() - started), { path: db, ...result });
    return result.ok ? EXIT.ok : EXIT.failed;
  } catch (err) {
    const name = cancel.received();
    if (name !== undefined && err instanceof LitevaultError && err.code === 'SQLITE_ABORT') throw new Cancelled(name, `verify of '${db}' cancelled by ${name}`);
    throw err;
  } finally {
    bar.done();
    cancel.dispose();
  }
}

function help(command?: string): number {
  process.stdout.write(command === undefined ? USAGE : HELP[command]!);
  return EXIT.ok;
}

function reportError(json: boolean, code: string, errno: number | undefined, retryable: boolean, message: string, line: string): void {
  if (json) process.stderr.write(JSON.stringify({ error: { code, errno: errno ?? null, message, retryable } }) + '\n');
  else process.stderr.write(line + '\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // --json before a `--` asks for machine errors, even when the rest cannot be parsed.
  const end = rest.indexOf('--');
  const json = (end < 0 ? rest : rest.slice(0, end)).includes('--json');
  const operation = { what: '' };
  const prefix = command !== undefined && command in HELP ? `litevault ${command}` : 'litevault';
  try {
    switch (command) {
      case 'info':
        return await info(rest, operation);
      case 'backup':
        return await backupCommand(rest, operation);
      case 'checkpoint':
        return await checkpointCommand(rest, operation);
      case 'verify':
        return await verifyCommand(rest, operation);
      case 'vault':
        return await vaultCommand(rest, operation);
      case 'replicate':
        return await replicateCommand(rest, operation);
      case '-v':
      case '--version':
        process.stdout.write(require('../package.json').version + '\n');
        return EXIT.ok;
      case '-h':
      case '--help':
        return help();
      case 'help':
        if (rest.length > 0 && !(rest[0]! in HELP)) throw new UsageError(`no command '${rest[0]}'`);
        return help(rest[0]);
      case undefined:
        throw new UsageError('no command given (info, backup, checkpoint, verify, vault or replicate)');
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      const hint = prefix === 'litevault' ? "try 'litevault --help'" : `try '${prefix} --help'`;
      reportError(json, 'USAGE', undefined, false, `${err.message}; ${hint}`, `${prefix}: ${err.message}\n${hint}`);
      return EXIT.usage;
    }
    if (err instanceof Cancelled) {
      reportError(json, 'SQLITE_ABORT', undefined, false, err.message, `${prefix}: ${err.message}`);
      return SIGNAL_EXIT[err.signalName]!;
    }
    if (err instanceof LitevaultError) {
      const what = operation.what ? `${operation.what}: ` : '';
      reportError(json, err.code, err.errno, err.retryable, `${what}${err.message}`, `${prefix}: ${what}${err.code}: ${err.message}`);
      return EXIT.failed;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`litevault: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 70;
  },
);
