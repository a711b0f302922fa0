#!/usr/bin/env node
/**
 * The litevault command line: `info`, `backup` and `checkpoint`, each with its own --help.
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
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import { inspect, DatabaseInfo } from './inspect';
import { backup, BackupProgress, DEFAULT_MAX_RESTARTS } from './backup';
import { checkpoint, CheckpointMode } from './checkpoint';
import { LitevaultError } from './errors';

const EXIT = { ok: 0, failed: 1, usage: 2, busy: 3 } as const;
const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

const EXIT_CODES = `exit status:
  0    done
  1    failed (the error is on stderr)
  2    usage error
  3    done, but busy: a checkpoint could not do all its mode asks (e.g. truncate with a
       reader still using the WAL)
  129, 130, 143   cancelled by SIGHUP, SIGINT (Ctrl-C) or SIGTERM; the work was rolled back
`;

const USAGE = `usage: litevault <command> [options] [--] <arguments>

commands:
  info <db>                       the database header and WAL summary, as SQLite reports them
  backup <source> <destination>   an online copy of a live database (SQLite's backup rules);
                                  restore by backing up the backup over the database
  checkpoint <db>                 copy WAL frames back into the database (PRAGMA wal_checkpoint)

Run 'litevault <command> --help' for a command's options.

  -h, --help       this help
  -v, --version    litevault's version

${EXIT_CODES}`;

const COMMON_HELP = `  --json           machine output: the result as one JSON object on stdout; on failure one
                   {"error":{"code","errno","message","retryable"}} object on stderr
  -q, --quiet      print nothing but errors
  -h, --help       this help
  --               end of options (for a file named like an option: -- -x.db)
`;

const HELP: Record<string, string> = {
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

options:
  --pages N            pages per step (default 1024)
  --busy-timeout MS    total time to wait for other connections' locks before failing with
                       SQLITE_BUSY (default 5000)
  --mode snapshot|restart
                       snapshot: one read transaction for the whole copy, never restarts
                       (default for WAL sources; writers are not blocked); restart: SQLite's
                       behaviour (default for rollback-journal sources)
  --max-restarts N     restarts allowed before holding the source's read lock (default ${DEFAULT_MAX_RESTARTS})
  --progress bar|json|none
                       bar: a progress bar on stderr (the default on a terminal); json: one JSON
                       line per step on stderr; none: nothing (the default without a terminal)
${COMMON_HELP}
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
${COMMON_HELP}
${EXIT_CODES}`,
};

class UsageError extends Error {}

/** Thrown when a signal cancelled the command (after the work was rolled back). */
class Cancelled extends Error {
  constructor(
    readonly signalName: string,
    message: string,
  ) {
    super(message);
  }
}

type Values = Record<string, string | boolean | undefined>;

interface Parsed {
  values: Values;
  positionals: string[];
}

const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

// node:util parseArgs, its errors turned into one-line usage errors.
function parse(args: string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>): Parsed {
  try {
    const { values, positionals } = parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const name = /'(-[^' ]*)/.exec(e.message ?? '')?.[1] ?? '';
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option '${name}'`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(/argument missing/.test(e.message ?? '') ? `option '${name}' needs a value` : `option '${name}' takes no value`);
    }
    throw new UsageError(e.message ?? String(err));
  }
}

function integerOption(values: Values, name: string, fallback: number, min: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, not '${String(raw)}'`);
  }
  return value;
}

function oneOf<T extends string>(values: Values, name: string, allowed: readonly T[]): T | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !(allowed as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, not '${String(raw)}'`);
  }
  return raw as T;
}

/** Where a command writes: the result on stdout, everything else on stderr. */
interface Output {
  json: boolean;
  quiet: boolean;
  result(human: string, machine: object): void;
  notice(line: string): void;
}

function output(values: Values): Output {
  const json = values.json === true;
  const quiet = values.quiet === true;
  return {
    json,
    quiet,
    result(human, machine) {
      if (json) process.stdout.write(JSON.stringify(machine) + '\n');
      else if (!quiet) process.stdout.write(human);
    },
    notice(line) {
      if (!json && !quiet) process.stderr.write(line + '\n');
    },
  };
}

// SIGINT, SIGTERM and SIGHUP cancel the work through an AbortSignal (rolled back, then the
// command exits 128 + signal). A second signal gets the default action.
function cancelOnSignals(): { signal: AbortSignal; received(): string | undefined; dispose(): void } {
  const controller = new AbortController();
  let received: string | undefined;
  const handlers = Object.keys(SIGNAL_EXIT).map((name) => {
    const handler = (): void => {
      received ??= name;
      controller.abort(new Error(`cancelled by ${name}`));
    };
    process.once(name as NodeJS.Signals, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    received: () => received,
    dispose() {
      for (const [name, handler] of handlers) process.removeListener(name, handler);
    },
  };
}

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
  let lastDraw = 0;
  return {
    update(p, step) {
      if (kind === 'json') {
        const { done, copied, pageCount, remaining, restarts, heldLock, mode, pageSize, snapshotFrame } = p;
        process.stderr.write(JSON.stringify({ step, done, copied, pageCount, remaining, restarts, heldLock, mode, pageSize, snapshotFrame }) + '\n');
        return;
      }
      if (kind !== 'bar' || Date.now() - lastDraw < 100) return;
      lastDraw = Date.now();
      const fraction = p.pageCount === 0 ? 1 : p.copied / p.pageCount;
      const width = 30;
      const filled = Math.round(fraction * width);
      const restarts = p.restarts ? `, ${p.restarts} restart${p.restarts === 1 ? '' : 's'}` : '';
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(1).padStart(5)}%  ${p.copied}/${p.pageCount} pages${restarts}\x1b[K`);
    },
    done() {
      if (kind === 'bar' && lastDraw !== 0) process.stderr.write('\r\x1b[K');
      lastDraw = 0;
    },
  };
}

async function backupCommand(args: string[], operation: { what: string }): Promise<number> {
  const { values, positionals } = parse(args, {
    pages: { type: 'string' },
    'busy-timeout': { type: 'string' },
    mode: { type: 'string' },
    'max-restarts': { type: 'string' },
    progress: { type: 'string' },
  });
  if (values.help) return help('backup');
  if (positionals.length !== 2) throw new UsageError(`backup needs a source and a destination path, not ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
  const [source, destination] = positionals as [string, string];
  const pagesPerStep = integerOption(values, 'pages', 1024, 1);
  const busyTimeout = integerOption(values, 'busy-timeout', 5000, 0);
  const maxRestarts = integerOption(values, 'max-restarts', DEFAULT_MAX_RESTARTS, 0);
  const mode = oneOf(values, 'mode', ['snapshot', 'restart'] as const);
  const out = output(values);
  const progressKind = oneOf(values, 'progress', ['bar', 'json', 'none'] as const) ?? (process.stderr.isTTY === true && !out.json && !out.quiet ? 'bar' : 'none');
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

async function checkpointCommand(args: string[], operation: { what: string }): Promise<number> {
  const { values, positionals } = parse(args, { mode: { type: 'string' }, 'busy-timeout': { type: 'string' } });
  if (values.help) return help('checkpoint');
  if (positionals.length !== 1) throw new UsageError(`checkpoint needs one database path, not ${positionals.length}`);
  const db = positionals[0]!;
  const mode: CheckpointMode = oneOf(values, 'mode', ['passive', 'full', 'restart', 'truncate'] as const) ?? 'passive';
  const busyTimeout = integerOption(values, 'busy-timeout', 5000, 0);
  const out = output(values);
  operation.what = `cannot checkpoint '${db}'`;
  const cancel = cancelOnSignals();
  try {
    const result = await checkpoint(db, { mode, busyTimeout, signal: cancel.signal });
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
        throw new UsageError('no command given (info, backup or checkpoint)');
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
