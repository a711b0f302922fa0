/**
 * What every litevault command shares: the exit codes, option parsing (node:util parseArgs, its
 * errors turned into one-line usage errors), where output goes (the result on stdout, the rest
 * on stderr) and cancellation by signals. lib/cli.ts dispatches; lib/cli-vault.ts is the vault
 * verbs.
 */
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { isatty } from 'node:tty';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { LitevaultError } from './errors';

export const EXIT = { ok: 0, failed: 1, usage: 2, busy: 3 } as const;
export const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
export const EXIT_CODES = `exit status:
  0    done
  1    failed (the error is on stderr), or verify found damage (the findings are on stdout)
  2    usage error
  3    done, but busy: a checkpoint could not do all its mode asks (e.g. truncate with a
       reader still using the WAL)
  129, 130, 143   cancelled by SIGHUP, SIGINT (Ctrl-C) or SIGTERM; the work was rolled back
`;

export const COMMON_HELP = `  --json           machine output: the result as one JSON object on stdout; on failure one
                   {"error":{"code","errno","message","retryable"}} object on stderr
  -q, --quiet      print nothing but errors
  -h, --help       this help
  --               end of options (for a file named like an option: -- -x.db)
`;

export class UsageError extends Error {}

/** Thrown when a signal cancelled the command (after the work was rolled back). */
export class Cancelled extends Error {
  constructor(
    readonly signalName: string,
    message: string,
  ) {
    super(message);
  }
}

export type Values = Record<string, string | boolean | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
}

export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

// node:util parseArgs, its errors turned into one-line usage errors.
export function parse(args: string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>): Parsed {
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

export function integerOption(values: Values, name: string, fallback: number, min: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, not '${String(raw)}'`);
  }
  return value;
}

export function oneOf<T extends string>(values: Values, name: string, allowed: readonly T[]): T | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !(allowed as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, not '${String(raw)}'`);
  }
  return raw as T;
}

/** --progress: as given, else a bar on a terminal unless the output is --json or --quiet. */
export function progressOption(values: Values, out: Output): 'bar' | 'json' | 'none' {
  return oneOf(values, 'progress', ['bar', 'json', 'none'] as const) ?? (process.stderr.isTTY === true && !out.json && !out.quiet ? 'bar' : 'none');
}

/** --priority: parse() spec, help line and value (the API's Priority; default background). */
export const PRIORITY_OPTION = { priority: { type: 'string' as const } };
export const PRIORITY_HELP = `  --priority background|normal
                       background (default): each step's thread runs at nice 19 (where it
                       may be put back) and I/O best-effort 7, so that writers beside it are
                       slowed as little as possible; normal: at the process's own priority
`;
export function priorityOption(values: Values): 'background' | 'normal' {
  return oneOf(values, 'priority', ['background', 'normal'] as const) ?? 'background';
}

/** --cksumvfs auto|on|off as verify()'s option (default auto). */
export function cksumvfsOption(values: Values): 'auto' | boolean {
  const c = oneOf(values, 'cksumvfs', ['auto', 'on', 'off'] as const) ?? 'auto';
  return c === 'auto' ? 'auto' : c === 'on';
}

/** One structure-check finding as the verify commands list it. */
export function findingLine(f: { page: number; structure: string; message: string }): string {
  return `  ${f.page ? `page ${f.page} ` : ''}(${f.structure}): ${f.message}`;
}

/** Where a command writes: the result on stdout, everything else on stderr. */
export interface Output {
  json: boolean;
  quiet: boolean;
  result(human: string, machine: object): void;
  notice(line: string): void;
}

export function output(values: Values): Output {
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
export function cancelOnSignals(): { signal: AbortSignal; received(): string | undefined; dispose(): void } {
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

/** A progress bar on stderr, redrawn in place at most 10 times a second; inert when `enabled` is false. */
export function progressBar(enabled: boolean): { draw(fraction: number, label: string): void; done(): void } {
  let lastDraw = 0;
  return {
    draw(fraction, label) {
      if (!enabled || Date.now() - lastDraw < 100) return;
      lastDraw = Date.now();
      const width = 30;
      const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(1).padStart(5)}%  ${label}\x1b[K`);
    },
    done() {
      if (enabled && lastDraw !== 0) process.stderr.write('\r\x1b[K');
      lastDraw = 0;
    },
  };
}

const write = promisify(fs.write);
const EPIPE = 32;

/** A `-` destination: refuses a terminal (a database image is binary). */
export function checkStdoutTakesImage(): void {
  // isatty(1), not process.stdout.isTTY: creating process.stdout would make a pipe non-blocking.
  if (isatty(1)) throw new UsageError("refusing to write a database image to a terminal: redirect or pipe standard output, or give a path instead of '-'");
}

/** A `-` source: refuses a terminal (nobody types a database image). */
export function checkStdinGivesImage(): void {
  if (isatty(0)) throw new UsageError("standard input is a terminal: pipe or redirect a database image into it, or give a path instead of '-'");
}

/**
 * Copies `stream` to standard output, the only thing a `-` destination puts there, with
 * fs.write on descriptor 1 from the threadpool (a slow pipe reader never blocks the event loop).
 * A reader that goes away (EPIPE: `| head -c 100`) ends the copy: the stream is destroyed and
 * its 'close' awaited (so every lock it held is released) before the error, SQLITE_IOERR_WRITE
 * with errno EPIPE, says how far it got. Resolves with the bytes written.
 */
export async function streamToStdout(stream: Readable, onBytes?: (written: number) => void): Promise<number> {
  let written = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (let at = 0; at < chunk.length; ) {
        let n: number;
        try {
          n = (await write(1, chunk, at, chunk.length - at)).bytesWritten;
        } catch (err) {
          // A descriptor another part of the process made non-blocking (process.stdout does
          // that to a pipe): wait for the reader instead of failing.
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
          await new Promise((resolve) => setTimeout(resolve, 1));
          continue;
        }
        at += n;
        written += n;
      }
      onBytes?.(written);
    }
  } catch (err) {
    if (!stream.destroyed) stream.destroy();
    if (!stream.closed) await new Promise((resolve) => stream.once('close', resolve));
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') throw stdoutClosed(written);
    throw err;
  }
  return written;
}

/** Whether `err` says standard output's reader went away (EPIPE), from the core or from Node. */
export function isEpipe(err: unknown): boolean {
  return (err instanceof LitevaultError && err.errno === EPIPE) || (err as NodeJS.ErrnoException)?.code === 'EPIPE';
}

/** The error a `-` destination ends with when its reader goes away after `written` bytes. */
export function stdoutClosed(written: number): LitevaultError {
  return new LitevaultError({
    message: `standard output was closed by its reader (EPIPE) after ${written} bytes: the image is incomplete; the stream was ended (no lock or temporary file is left)`,
    code: 'SQLITE_IOERR_WRITE',
    errno: EPIPE,
  });
}
