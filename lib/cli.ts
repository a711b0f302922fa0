#!/usr/bin/env node
/**
 * The litevault command line. Each command prints a human summary, or with --json one JSON
 * object on stdout. Failures print `litevault <command>: <SQLITE_CODE>: <message>` on stderr and
 * exit with status 1 (2 for usage errors).
 */
import { inspect, DatabaseInfo } from './inspect';
import { LitevaultError } from './errors';

const USAGE = `usage: litevault <command> [options]

commands:
  info <db> [--json]    the database header and WAL summary, as SQLite would report them

options:
  --json                print one JSON object on stdout
  -h, --help            this help
  -v, --version         litevault's version
`;

class UsageError extends Error {}

interface Parsed {
  positional: string[];
  flags: Set<string>;
}

function parse(args: string[], known: string[]): Parsed {
  const parsed: Parsed = { positional: [], flags: new Set() };
  for (const arg of args) {
    if (arg === '--') continue;
    if (arg.startsWith('-') && arg !== '-') {
      if (!known.includes(arg)) throw new UsageError(`unknown option ${arg}`);
      parsed.flags.add(arg);
    } else {
      parsed.positional.push(arg);
    }
  }
  return parsed;
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

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'info':
        await info(rest);
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
