/**
 * `litevault replicate <db> <vault>`: continuous replication of a WAL database into a vault name
 * (lib/vault/replicator.ts, docs/replication.md) until SIGINT, SIGTERM or SIGHUP, which stop it
 * cleanly: what was polled is shipped, the lock released, exit 0. The output contract is the rest
 * of the CLI's (lib/cli.ts): --json prints one JSON line per event on stdout and the final stats
 * as the last line; failures go to stderr as everywhere else.
 */
import * as nodePath from 'node:path';
import { COMMON_HELP, EXIT, EXIT_CODES, integerOption, output, parse, PRIORITY_HELP, PRIORITY_OPTION, UsageError, Values } from './cli-common';
import { KEY_HELP, openVault, REMOTE_HELP, REMOTE_OPTIONS } from './cli-vault';
import { SIGNAL_EXIT } from './cli-common';
import type { ReplicatorEvent } from './vault/replicator';

export const REPLICATE_USAGE = `  replicate <db> <vault>          ship every transaction into a vault, continuously
                                  (restore any point with 'vault restore --at')`;

export const REPLICATE_HELP = `usage: litevault replicate [options] [--] <db> <vault>

Follows the live WAL database <db> and ships every committed transaction into the vault
<vault> (a directory or s3://bucket/prefix, created if missing) under its name, so that
'litevault vault restore --at tx:N|TIME' can rebuild the database as it was after any
transaction. It holds no lock on the database between polls: the application's own checkpoints
keep working, and the replicator checkpoints only frames already in the vault (keeping the WAL
under --wal-frames). Takes a backup first, then full and differential backups on schedule; a
WAL restarted by someone else before its last frames were shipped is detected and healed at
once with an incremental backup. Runs until SIGINT, SIGTERM or SIGHUP, then ships what it has
and exits 0.

options:
  --name N                 the name in the vault (default: the database's file name)
  --interval D             how often transactions are written to the vault (default 1s;
                           D is a number and a unit: 500ms, 1s, 2m, 1h)
  --wal-frames N           checkpoint past this many WAL frames (default 4000)
  --full-every D           a full backup when the newest full one is older (default 24h)
  --differential-every D   a differential backup when the newest backup is older (default 1h)
  --replay-limit X         also one once the log since the newest backup holds X times the
                           database's size (at least 256 MiB) in pages, which bounds what a
                           restore to a point replays (default 1)
  --keep-last N, --keep-within D, --keep-daily N, --keep-weekly N, --keep-monthly N
                           prune the name after each scheduled backup, as 'vault prune' does
${PRIORITY_HELP}${REMOTE_HELP}${KEY_HELP}${COMMON_HELP}
--json prints each event as a JSON line ({"type": "segment" | "backup" | "gap" | "checkpoint" |
"retry", ...}) and, at the end, {"type": "stopped", "stats": {...}}.

${EXIT_CODES}`;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };

function durationOption(values: Values, key: string, fallback: number): number {
  const v = values[key];
  if (v === undefined) return fallback;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v) : null;
  if (!m) throw new UsageError(`--${key} takes a number and a unit (ms, s, m, h, d), e.g. 1s, not '${String(v)}'`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

function replayLimitOption(v: unknown): number {
  const n = typeof v === 'string' && /^\d+(?:\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!(n > 0)) throw new UsageError(`--replay-limit takes a number > 0, e.g. 1 or 0.5, not '${String(v)}'`);
  return n;
}

export async function replicateCommand(args: string[], operation: { what: string }): Promise<number> {
  const { values, positionals } = parse(args, {
    ...REMOTE_OPTIONS, ...PRIORITY_OPTION,
    name: { type: 'string' },
    interval: { type: 'string' },
    'wal-frames': { type: 'string' },
    'full-every': { type: 'string' },
    'differential-every': { type: 'string' },
    'replay-limit': { type: 'string' },
    'keep-last': { type: 'string' },
    'keep-within': { type: 'string' },
    'keep-daily': { type: 'string' },
    'keep-weekly': { type: 'string' },
    'keep-monthly': { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(REPLICATE_HELP);
    return EXIT.ok;
  }
  if (positionals.length !== 2) throw new UsageError(`replicate needs a database and a vault, not ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
  const [db, vaultPath] = positionals as [string, string];
  const out = output(values);
  const count = (key: string): number | undefined => (values[key] === undefined ? undefined : integerOption(values, key, 0, 1));
  const retention = {
    keepLast: count('keep-last'),
    keepWithin: values['keep-within'] as string | undefined,
    keepDaily: count('keep-daily'),
    keepWeekly: count('keep-weekly'),
    keepMonthly: count('keep-monthly'),
  };
  const anyRule = Object.values(retention).some((v) => v !== undefined);
  const name = (values.name as string | undefined) ?? nodePath.basename(db);
  operation.what = `cannot replicate '${db}' into vault '${vaultPath}'`;
  const vault = await openVault(vaultPath, values, true);
  const onEvent = (e: ReplicatorEvent): void => {
    if (out.json) process.stdout.write(JSON.stringify(e.type === 'retry' ? { ...e, error: { code: e.error.code, message: e.error.message } } : e) + '\n');
    else out.notice(eventLine(e));
  };
  const replicator = await vault.replicate(db, {
    name,
    interval: durationOption(values, 'interval', 1000),
    walFrames: integerOption(values, 'wal-frames', 4000, 1),
    fullEvery: durationOption(values, 'full-every', 86_400_000),
    differentialEvery: durationOption(values, 'differential-every', 3_600_000),
    replayLimit: values['replay-limit'] === undefined ? undefined : replayLimitOption(values['replay-limit']),
    retention: anyRule ? retention : undefined,
    onEvent,
  });
  out.notice(`replicating '${db}' into ${vault.location} as ${name} (SIGINT or SIGTERM stops)`);
  // A signal stops the replicator cleanly; a failure it cannot retry stops it by itself.
  const signalled = new Promise<string>((resolve) => {
    for (const s of Object.keys(SIGNAL_EXIT)) process.once(s as NodeJS.Signals, () => resolve(s));
  });
  const stopped = replicator.stopped.then(() => null, (err: unknown) => err);
  const first = await Promise.race([signalled, stopped]);
  const stats = await replicator.close();
  if (typeof first === 'string' || first === null) {
    if (out.json) process.stdout.write(JSON.stringify({ type: 'stopped', stats }) + '\n');
    else out.notice(`stopped: ${stats.transactions} transactions in ${stats.segments} segments, last ${stats.lastTxid}; ${stats.backups} backups, ${stats.gaps} gaps healed`);
    return EXIT.ok;
  }
  throw first;
}

function eventLine(e: ReplicatorEvent): string {
  switch (e.type) {
    case 'segment':
      return `${e.name}: transactions ${e.firstTxid}..${e.lastTxid} shipped (${e.bytes} bytes)`;
    case 'backup':
      return `${e.name}: ${e.backupType} backup ${e.seq} (${e.reason})${e.txid === null ? '' : `, transaction ${e.txid}`}`;
    case 'gap':
      return `${e.name}: the WAL was restarted before transactions after ${e.afterTxid} were seen (${e.reason}); healing with a backup`;
    case 'checkpoint':
      return `${e.name}: checkpoint of ${e.frames} frames${e.truncated ? ', WAL truncated' : ' (readers kept the WAL)'}`;
    case 'retry':
      return `${e.name}: ${e.error.code}: ${e.error.message}; retrying`;
  }
}
