#!/usr/bin/env node
/**
 * The litevault command line. Each command prints a human summary, or with --json one JSON
 * object on stdout. Failures print `litevault <command>: <SQLITE_CODE>: <message>` on stderr and
 * exit with status 1 (2 for usage errors).
 */
import { inspect, DatabaseInfo } from './inspect';
import { backup, BackupProgress } from './backup';
import { checkpoint, CheckpointMode } from './checkpoint';
import { LitevaultError } from './errors';

const USAGE = `usage: litevault <command> [options]

commands:
  info <db> [--json]    the database header and WAL summary, as SQLite would report them
  backup <source> <destination> [--pages N] [--busy-timeout MS] [--mode M] [--json]
                        an online copy of a live database (SQLite's backup semantics): the
                        destination is written crash-safely and ends as the source's image
  checkpoint <db> [--mode passive|full|restart|truncate] [--busy-timeout MS] [--json]
                        copy WAL frames back into the database, as PRAGMA wal_checkpoint(MODE);
                        --json prints {"busy":0,"log":N,"checkpointed":M}

options:
  --json                print one JSON object on stdout
  --pages N             pages copied per step (default 1024); other processes may write the
                        source between steps, which restarts the copy
  --busy-timeout MS     how long to wait for locks before failing with SQLITE_BUSY (default 5000)
  --mode snapshot|restart
                        snapshot: one read transaction for the whole copy, never restarts
                        (default for WAL databases); restart: SQLite's behaviour (default for
                        rollback-journal databases)
  -h, --help            this help
  -v, --version         litevault's version
`;

class UsageError extends Error {}

interface Parsed {
  positional: string[];
  flags: Set<string>;
  values: Map<string, string>;
}

// `flags` are options without a value; `valued` take the next argument (or --name=value).
function parse(args: string[], flags: string[], valued: string[] = []): Parsed {
  const parsed: Parsed = { positional: [], flags: new Set(), values: new Map() };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') continue;
    if (!arg.startsWith('-') || arg === '-') {
      parsed.positional.push(arg);
      continue;
    }
    const [name, inline] = arg.split(/=(.*)/s, 2);
    if (flags.includes(name) && inline === undefined) {
      parsed.flags.add(name);
    } else if (valued.includes(name)) {
      const value = inline ?? args[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      parsed.values.set(name, value);
    } else {
      throw new UsageError(`unknown option ${arg}`);
    }
  }
  return parsed;
}

function integerOption(parsed: Parsed, name: string, fallback: number, min: number): number {
  const raw = parsed.values.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`${name} must be an integer >= ${min}, not '${raw}'`);
  }
  return value;
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

async function info(args: string[]): Promise<void> {
  const { positional, flags } = parse(args, ['--json']);
  if (positional.length !== 1) throw new UsageError('info needs exactly one database path');
  const result = await inspect(positional[0]);
  process.stdout.write(flags.has('--json') ? JSON.stringify(result) + '\n' : formatInfo(result));
}

// A one-line progress bar on stderr, redrawn in place (only on a terminal).
function progressBar(): { update(p: BackupProgress): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let lastDraw = 0;
  return {
    update(p) {
      if (!tty || Date.now() - lastDraw < 100) return;
      lastDraw = Date.now();
      const fraction = p.pageCount === 0 ? 1 : p.copied / p.pageCount;
      const width = 30;
      const filled = Math.round(fraction * width);
      const restarts = p.restarts ? `, ${p.restarts} restart${p.restarts === 1 ? '' : 's'}` : '';
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(1).padStart(5)}%  ${p.copied}/${p.pageCount} pages${restarts}\x1b[K`);
    },
    done() {
      if (tty && lastDraw !== 0) process.stderr.write('\r\x1b[K');
    },
  };
}

async function backupCommand(args: string[]): Promise<void> {
  const parsed = parse(args, ['--json'], ['--pages', '--busy-timeout', '--mode']);
  if (parsed.positional.length !== 2) throw new UsageError('backup needs a source and a destination path');
  const [source, destination] = parsed.positional;
  const pagesPerStep = integerOption(parsed, '--pages', 1024, 1);
  const busyTimeout = integerOption(parsed, '--busy-timeout', 5000, 0);
  const mode = parsed.values.get('--mode');
  if (mode !== undefined && mode !== 'snapshot' && mode !== 'restart') throw new UsageError(`--mode must be snapshot or restart, not '${mode}'`);
  const json = parsed.flags.has('--json');
  const bar = progressBar();
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  try {
    const result = await backup(source, destination, {
      pagesPerStep,
      busyTimeout,
      mode,
      signal: controller.signal,
      onProgress: json ? undefined : (p) => bar.update(p),
    });
    bar.done();
    if (json) {
      process.stdout.write(JSON.stringify({ source, destination, ...result }) + '\n');
    } else {
      const mib = ((result.pageCount * result.pageSize) / 1048576).toFixed(1);
      const snapshot = result.snapshotFrame ? ` at WAL frame ${result.snapshotFrame}` : '';
      process.stdout.write(`backed up ${source} to ${destination}: ${result.pageCount} pages of ${result.pageSize} bytes (${mib} MiB) in ${result.ms} ms, ${result.mode} mode${snapshot}, ${result.restarts} restarts\n`);
    }
  } finally {
    bar.done();
    process.removeListener('SIGINT', onSignal);
  }
}

async function checkpointCommand(args: string[]): Promise<void> {
  const parsed = parse(args, ['--json'], ['--mode', '--busy-timeout']);
  if (parsed.positional.length !== 1) throw new UsageError('checkpoint needs exactly one database path');
  const mode = (parsed.values.get('--mode') ?? 'passive') as CheckpointMode;
  if (!['passive', 'full', 'restart', 'truncate'].includes(mode)) throw new UsageError(`--mode must be passive, full, restart or truncate, not '${mode}'`);
  const busyTimeout = integerOption(parsed, '--busy-timeout', 5000, 0);
  const result = await checkpoint(parsed.positional[0], { mode, busyTimeout });
  if (parsed.flags.has('--json')) {
    process.stdout.write(JSON.stringify({ busy: result.busy, log: result.log, checkpointed: result.checkpointed }) + '\n');
  } else if (result.log < 0) {
    process.stdout.write(result.busy ? `${parsed.positional[0]}: another checkpoint is running (busy)\n` : `${parsed.positional[0]}: not in WAL mode, nothing to checkpoint\n`);
  } else {
    process.stdout.write(`${parsed.positional[0]}: ${mode} checkpoint: ${result.checkpointed} of ${result.log} frames in the database${result.busy ? ' (busy: could not finish)' : ''}\n`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'info':
        await info(rest);
        return 0;
      case 'backup':
        await backupCommand(rest);
        return 0;
      case 'checkpoint':
        await checkpointCommand(rest);
        return 0;
      case '-v':
      case '--version':
        process.stdout.write(require('../package.json').version + '\n');
        return 0;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`litevault: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof LitevaultError) {
      process.stderr.write(`litevault ${command}: ${err.code}: ${err.message}\n`);
      return 1;
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
