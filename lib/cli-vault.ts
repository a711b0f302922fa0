/**
 * `litevault vault <verb>`: backup, list, restore, prune and verify of a vault (lib/vault/vault.ts), with
 * the output contract and exit codes of the rest of the CLI (lib/cli.ts). The verbs and their
 * options are a contract: scripts and docs depend on them.
 */
import * as fs from 'node:fs';
import { LitevaultError } from './errors';
// The vault layer (its storages, node:crypto, the AWS SDK's loader, the replicator) is loaded by
// openVault, when a vault verb runs: `litevault backup` and the other commands start without it.
import type { Vault, VaultBackupInfo, VaultBackupResult, VaultBackupType, VaultOpenOptions } from './vault/vault';
import { Cancelled, cancelOnSignals, checkStdoutTakesImage, COMMON_HELP, EXIT, EXIT_CODES, cksumvfsOption, findingLine, integerOption, oneOf, output, Output, parse, PRIORITY_HELP, PRIORITY_OPTION, priorityOption, progressBar, progressOption, streamToStdout, UsageError, Values } from './cli-common';
import { DEFAULT_MAX_RESTARTS } from './backup';

export const VAULT_USAGE = `  vault backup <db>... <vault>    full, incremental or differential backups into a vault
  vault list <vault>              the backups a vault holds
  vault restore <vault> <name> <destination>    a backup, as a database file
  vault prune <vault> --keep-...  remove old backups (never one a kept backup needs)
  vault verify <vault>            check every object, chain and backup (nothing is written)`;

export const KEY_HELP = `  --key-file F         the key of an encrypted vault: a file of 32 raw bytes, or of 64 hex
                       digits or base64 (default: the LITEVAULT_KEY environment variable,
                       in the same text form); see README "Encryption"
`;

// Every verb takes a remote vault's connection options and an encrypted vault's key.
export const REMOTE_OPTIONS = {
  endpoint: { type: 'string' },
  region: { type: 'string' },
  'path-style': { type: 'boolean' },
  'no-path-style': { type: 'boolean' },
  'key-file': { type: 'string' },
} as const;

export const REMOTE_HELP = `remote vaults (<vault> as s3://bucket or s3://bucket/prefix; the bucket must exist;
credentials from the AWS chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE,
~/.aws/credentials and ~/.aws/config):
  --endpoint URL       an S3-compatible store (R2, MinIO, ...); default AWS_ENDPOINT_URL_S3,
                       AWS_ENDPOINT_URL or the profile's endpoint_url, else AWS S3
  --region R           the region to sign for (default AWS_REGION or the profile's; R2: auto)
  --path-style, --no-path-style
                       path-style requests (host/bucket/key); default on when an endpoint is
                       given, off for AWS S3
`;

// Vault.open for a verb: the remote options for an s3:// vault (a usage error for a directory),
// and the key of --key-file, else of LITEVAULT_KEY, else none (an encrypted vault then fails with
// LITEVAULT_KEY_REQUIRED; a key for a vault without encryption fails with LITEVAULT_BAD_KEY).
export async function openVault(location: string, values: Values, create = false): Promise<Vault> {
  const [{ Vault }, { parseKey, readKeyFile }] = await Promise.all([import('./vault/vault'), import('./vault/vault-key')]);
  const file = values['key-file'];
  const env = process.env.LITEVAULT_KEY;
  const key = typeof file === 'string' ? readKeyFile(file) : env !== undefined && env !== '' ? parseKey(env, 'LITEVAULT_KEY') : undefined;
  const options: VaultOpenOptions = { create, key, priority: priorityOption(values) };
  const given = Object.keys(REMOTE_OPTIONS).filter((k) => k !== 'key-file' && values[k] !== undefined);
  if (!location.startsWith('s3://')) {
    if (given.length > 0) throw new UsageError(`--${given[0]} applies to s3:// vaults only, not to '${location}'`);
    return Vault.open(location, options);
  }
  if (values['path-style'] !== undefined && values['no-path-style'] !== undefined) throw new UsageError('--path-style and --no-path-style exclude each other');
  if (values.endpoint !== undefined) {
    if (!/^https?:\/\/./.test(values.endpoint as string)) throw new UsageError(`--endpoint must be an http:// or https:// URL, not '${String(values.endpoint)}'`);
    options.endpoint = values.endpoint as string;
  }
  if (values.region !== undefined) options.region = values.region as string;
  if (values['path-style'] !== undefined) options.forcePathStyle = true;
  if (values['no-path-style'] !== undefined) options.forcePathStyle = false;
  // The SDK's notice about its own future Node versions is not this command's output (README
  // says which Node versions remote vaults need).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return Vault.open(location, options);
}

const VERB_HELP: Record<string, string> = {
  backup: `usage: litevault vault backup [options] [--] <db>... <vault>

Backs up each live database <db> into the vault <vault>: a directory (created 0700 if
missing) or s3://bucket/prefix on object storage (created under the prefix if missing;
encrypted when a key is given, see --key-file), each under its own name (its file name, or
--name for one database). A full backup stores every page of one consistent snapshot; an
incremental the pages that differ from the previous backup of that name; a differential the
pages that differ from its last full backup. A backup is committed atomically when its
manifest is written: a failed, cancelled or killed run leaves the vault as it was. One backup
per name at a time: another one fails with LITEVAULT_BACKUP_IN_PROGRESS (exit 1; retry later).

options:
  --type T             auto (default: incremental, or full when there is no usable full
                       backup), full, incremental or differential
  --name N             the name to keep the backups under (one <db> only)
  --fallback-full      take a full backup when an incremental/differential cannot be taken
                       (no full backup yet, another database file, another page size)
  --truncate-wal       after the backup is committed, truncate the source's WAL (a PASSIVE
                       checkpoint instead if readers are using it; said in the result)
  --compression C      zstd (default) or none
  --level=N            zstd level, -7 (fastest) .. 19 (smallest); default -1
  --max-bytes-per-second N   read the database at most this fast
  --busy-timeout MS    total time to wait for other connections' locks (default 5000)
  --max-restarts N     rollback-journal sources: restarts before holding the read lock to
                       the end (default ${DEFAULT_MAX_RESTARTS})
  --no-verify          do not check the source's structure while reading it (by default a
                       damaged source fails with SQLITE_CORRUPT and nothing is committed)
  --progress P         bar (default on a terminal), json (one line per step on stderr) or none
${PRIORITY_HELP}${REMOTE_HELP}${KEY_HELP}${COMMON_HELP}
--json prints one JSON object per database on stdout: the result (id, name, type, base,
pageCount, pageSize, pagesScanned, pagesStored, bytesStored, snapshot, restarts, heldLock, ms,
notes) with "source", or {"source", "error"} for a database that failed.

${EXIT_CODES}`,
  list: `usage: litevault vault list [options] [--] <vault>

Lists the committed backups of every name (or of --name N), oldest first.

options:
  --name N             only this name
${REMOTE_HELP}${KEY_HELP}${COMMON_HELP}
--json prints {"vault", "backups": [{id, seq, name, type, base, full, createdAt, pageCount,
pageSize, pagesStored, bytesStored, journalMode}], "logs": [{name, range: {firstTxid, firstAt,
lastTxid, lastAt} | null, segments, bytes, anchors: [{seq, txid, at, heal}]}]}: "logs" has the
replicated names ('litevault replicate') and the transactions a restore --at can reach.

${EXIT_CODES}`,
  restore: `usage: litevault vault restore [options] [--] <vault> <name> <destination>

Writes backup --at ID (default: the newest) of <name> to <destination>, or for a replicated
name ('litevault replicate') its state at a point: --at tx:N, after transaction N, or --at
<ISO 8601 time>, after the newest transaction recorded at or before it (the result names the
transaction and its time; 'litevault vault list' shows the range). Every page is checked
against the hash recorded at backup time before anything is written: a damaged vault fails
with LITEVAULT_VAULT_CORRUPT and leaves the destination untouched. A new destination appears
complete or not at all. An existing one needs --overwrite; it may be a live database: it is
written under an exclusive lock through a rollback journal (or WAL), so its readers see the
old database or the new one.
'-' as <destination> writes the backup's database image to standard output (nothing else goes
there), e.g. litevault vault restore backups app - | ssh host 'cat > app.db'. The backup is
rebuilt and checked in a private temporary file first (removed at the end), so a damaged vault
fails before the first byte.

options:
  --at ID|tx:N|TIME    the backup to restore, or a point of a replicated name's log:
                       tx:N (a transaction id) or an ISO 8601 time, e.g. 2026-12-02T10:15:00Z
  --overwrite          replace the content of an existing database
  --busy-timeout MS    lock wait for an overwritten destination (default 5000)
${PRIORITY_HELP}${REMOTE_HELP}${KEY_HELP}${COMMON_HELP}
${EXIT_CODES}`,
  prune: `usage: litevault vault prune [options] [--] <vault>

Removes the backups no rule keeps, then the data only they used. A backup that a kept one
depends on (its base, recursively) is always kept. At least one rule is required. Names with a
backup running are skipped (and said so).

options:
  --keep-last N        the newest N backups
  --keep-within D      every backup within D of the newest one (e.g. 36h, 7d, 4w, 1y)
  --keep-daily N       the newest backup of each of the last N days that have backups (UTC)
  --keep-weekly N      ... of each of the last N ISO weeks
  --keep-monthly N     ... of each of the last N months
  --name N             only this name
  --dry-run            say what would be removed; remove nothing
${REMOTE_HELP}${KEY_HELP}${COMMON_HELP}
${EXIT_CODES}`,
};

VERB_HELP.verify = `usage: litevault vault verify [options] [--] <vault>

Checks the vault without writing anything: every manifest's checksum, every chain complete,
every pack a backup needs read and its checksum recomputed, every page against the hash its
manifest records, and every backup (or --name, or --name with --at) rebuilt in memory page by
page and structurally checked as 'litevault verify' checks a database. Exit status 1 when
anything is damaged (each backup's verdict is printed).

options:
  --name N             only the backups of this name
  --at ID              only this backup of --name
  --max-findings N     findings listed per backup (default 100)
  --cksumvfs auto|on|off   cksumvfs page checksums (default auto)
  --progress P         bar (default on a terminal), json or none
${PRIORITY_HELP}${REMOTE_HELP}${KEY_HELP}${COMMON_HELP}
--json prints the result: {"vault", "ok", "backups": [{name, id, type, ok, pageSize, pageCount,
findings, findingCount, error}], "problems", "packsChecked", "pagesChecked", "ms"}.

${EXIT_CODES}`;

export const VAULT_HELP: Record<string, string> = {
  vault: `usage: litevault vault <verb> [options] [--] <arguments>

verbs:
${VAULT_USAGE.replace(/^ {2}vault /gm, '  ')}

A <vault> is a directory, or s3://bucket/prefix on S3-compatible object storage (AWS S3,
Cloudflare R2, MinIO, ...; --endpoint, --region, credentials from the AWS chain): the same
format and the same verbs. Run 'litevault vault <verb> --help' for a verb's options. The vault
format is docs/vault-format.md. An encrypted vault's key comes from --key-file F or the
LITEVAULT_KEY environment variable (every verb); 'vault backup' creates a new vault encrypted
when given one.

${EXIT_CODES}`,
};

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  for (; v >= 1024 && i < units.length - 1; i++) v /= 1024;
  return `${v.toFixed(1)} ${units[i]}`;
}

function describe(r: VaultBackupResult, source: string, vault: string): string {
  const of = r.base === null ? '' : ` (${r.type} of ${r.base})`;
  const mode = r.snapshot.journalMode === 'wal' ? `WAL frame ${r.snapshot.walFrame}` : `change counter ${r.snapshot.changeCounter}`;
  const restarts = r.restarts === 0 ? '' : `, ${r.restarts} restart${r.restarts === 1 ? '' : 's'}${r.heldLock ? ' (then holding the read lock)' : ''}`;
  const lines = [
    `backed up ${source} to ${vault} as ${r.name} ${r.id}, ${r.type === 'full' ? 'a full backup' : `an ${r.type} backup`}${of}: ${r.pagesStored} of ${r.pageCount} pages stored, ${bytes(r.bytesStored)}, in ${r.ms} ms (the source as of ${mode}${restarts})`,
    ...r.notes.map((n) => `  note: ${n}`),
  ];
  return lines.join('\n') + '\n';
}

async function backupVerb(args: string[], operation: { what: string }): Promise<number> {
  const { values, positionals } = parse(args, {
    ...REMOTE_OPTIONS, ...PRIORITY_OPTION,
    type: { type: 'string' },
    name: { type: 'string' },
    'fallback-full': { type: 'boolean' },
    'truncate-wal': { type: 'boolean' },
    compression: { type: 'string' },
    level: { type: 'string' },
    'max-bytes-per-second': { type: 'string' },
    'busy-timeout': { type: 'string' },
    'max-restarts': { type: 'string' },
    'no-verify': { type: 'boolean' },
    progress: { type: 'string' },
  });
  if (values.help) return verbHelp('backup');
  if (positionals.length < 2) throw new UsageError(`vault backup needs one or more databases and a vault, not ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
  const vaultPath = positionals[positionals.length - 1]!;
  const sources = positionals.slice(0, -1);
  if (values.name !== undefined && sources.length !== 1) throw new UsageError('--name needs exactly one database (the others are named by their file names)');
  const type = (oneOf(values, 'type', ['auto', 'full', 'incremental', 'differential'] as const) ?? 'auto') as VaultBackupType;
  const compression = oneOf(values, 'compression', ['zstd', 'none'] as const);
  const level = values.level === undefined ? undefined : integerOption(values, 'level', -1, -7);
  if (level !== undefined && level > 19) throw new UsageError(`--level must be -7..19, not ${level}`);
  const rate = values['max-bytes-per-second'] === undefined ? undefined : integerOption(values, 'max-bytes-per-second', 0, 1);
  const busyTimeout = integerOption(values, 'busy-timeout', 5000, 0);
  const maxRestarts = integerOption(values, 'max-restarts', DEFAULT_MAX_RESTARTS, 0);
  const out = output(values);
  const progressKind = progressOption(values, out);
  operation.what = `cannot open vault '${vaultPath}'`;
  const vault = await openVault(vaultPath, values, true);
  const cancel = cancelOnSignals();
  let failed = 0;
  try {
    for (const source of sources) {
      operation.what = `cannot back up '${source}' into vault '${vaultPath}'`;
      const bar = progressBar(progressKind === 'bar');
      try {
        const result = await vault.backup(source, {
          type,
          name: values.name as string | undefined,
          fallbackToFull: values['fallback-full'] === true,
          truncateWal: values['truncate-wal'] === true,
          compression,
          level,
          maxBytesPerSecond: rate,
          busyTimeout,
          maxRestarts,
          verify: values['no-verify'] !== true,
          signal: cancel.signal,
          onProgress: (p) => {
            if (progressKind === 'json') process.stderr.write(JSON.stringify({ source, ...p }) + '\n');
            else bar.draw(p.pageCount === 0 ? 1 : p.pagesScanned / p.pageCount, `${p.name}: ${p.phase} ${p.pagesScanned}/${p.pageCount} pages, ${p.pagesStored} stored`);
          },
        });
        bar.done();
        out.result(describe(result, source, vaultPath), { source, vault: vault.location, ...result });
      } catch (err) {
        bar.done();
        const name = cancel.received();
        if (name !== undefined && err instanceof LitevaultError && err.code === 'SQLITE_ABORT') {
          throw new Cancelled(name, `vault backup of '${source}' cancelled by ${name}: the vault is as it was`);
        }
        if (sources.length === 1 || !(err instanceof LitevaultError)) throw err;
        failed++;
        reportOne(out, source, operation.what, err);
      }
    }
  } finally {
    cancel.dispose();
  }
  return failed === 0 ? EXIT.ok : EXIT.failed;
}

// One database of several failed: said, and the others go on (exit 1 at the end).
function reportOne(out: Output, source: string, what: string, err: LitevaultError): void {
  const error = { code: err.code, errno: err.errno ?? null, message: `${what}: ${err.message}`, retryable: err.retryable };
  if (out.json) process.stdout.write(JSON.stringify({ source, error }) + '\n');
  else process.stderr.write(`litevault vault backup: ${what}: ${err.code}: ${err.message}\n`);
}

function table(backups: VaultBackupInfo[]): string {
  if (backups.length === 0) return 'no backups\n';
  const rows = [['NAME', 'ID', 'TYPE', 'BASE', 'CREATED', 'PAGES', 'PAGE SIZE', 'STORED']];
  for (const b of backups) {
    rows.push([b.name, b.id, b.type, b.base ?? '-', b.createdAt, String(b.pageCount), String(b.pageSize), `${b.pagesStored} pages, ${bytes(b.bytesStored)}`]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

async function listVerb(args: string[], operation: { what: string }): Promise<number> {
  const { values, positionals } = parse(args, { ...REMOTE_OPTIONS, name: { type: 'string' } });
  if (values.help) return verbHelp('list');
  if (positionals.length !== 1) throw new UsageError(`vault list needs one vault, not ${positionals.length} arguments`);
  const out = output(values);
  operation.what = `cannot list vault '${positionals[0]}'`;
  const vault = await openVault(positionals[0]!, values);
  const backups = await vault.list(values.name as string | undefined);
  const logs = await vault.logs(values.name as string | undefined);
  const ranges = logs.map((l) => (l.range ? `log of ${l.name}: transactions ${l.range.firstTxid} (${l.range.firstAt}) to ${l.range.lastTxid} (${l.range.lastAt}), ${l.segments} segments\n` : `log of ${l.name}: ${l.segments} segments, no backup to restore a point from\n`));
  out.result(table(backups) + ranges.join(''), { vault: vault.location, backups, logs });
  return EXIT.ok;
}

// --at: a backup id (digits), tx:N (a transaction of the log), or an ISO 8601 time.
function restorePoint(at: string | undefined): { at?: string; txid?: number; time?: string } {
  if (at === undefined || /^\d+$/.test(at)) return { at };
  const tx = /^tx:(\d+)$/.exec(at);
  if (tx) return { txid: Number(tx[1]) };
  if (/^\d{4}-\d{2}-\d{2}/.test(at) && !Number.isNaN(Date.parse(at))) return { time: at };
  throw new UsageError(`--at takes a backup id, tx:N or an ISO 8601 time, not '${at}'`);
}

async function restoreVerb(args: string[], operation: { what: string }): Promise<number> {
  const { values, positionals } = parse(args, { ...REMOTE_OPTIONS, ...PRIORITY_OPTION, at: { type: 'string' }, overwrite: { type: 'boolean' }, 'busy-timeout': { type: 'string' }, progress: { type: 'string' } });
  if (values.help) return verbHelp('restore');
  if (positionals.length !== 3) throw new UsageError(`vault restore needs a vault, a name and a destination, not ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
  const [vaultPath, name, destination] = positionals as [string, string, string];
  const busyTimeout = integerOption(values, 'busy-timeout', 5000, 0);
  const out = output(values);
  const progressKind = progressOption(values, out);
  if (destination === '-') return exportToStdout(vaultPath, name, values, progressKind, out, operation);
  operation.what = `cannot restore ${name}${values.at ? ` ${values.at}` : ''} from vault '${vaultPath}' to '${destination}'`;
  const vault = await openVault(vaultPath, values);
  const existed = fs.existsSync(destination);
  const cancel = cancelOnSignals();
  const bar = progressBar(progressKind === 'bar');
  try {
    const r = await vault.restore(name, destination, {
      ...restorePoint(values.at as string | undefined),
      overwrite: values.overwrite === true,
      busyTimeout,
      signal: cancel.signal,
      onProgress: (p) => {
        if (progressKind === 'json') process.stderr.write(JSON.stringify(p) + '\n');
        else bar.draw(p.pageCount === 0 ? 1 : p.pagesWritten / p.pageCount, `${p.pagesWritten}/${p.pageCount} pages`);
      },
    });
    bar.done();
    const point = r.txid === undefined ? '' : ` at transaction ${r.txid} (recorded ${r.recordedAt})`;
    out.result(`restored ${r.name} ${r.id}${point} from ${vaultPath} to ${destination}: ${r.pageCount} pages of ${r.pageSize} bytes (${bytes(r.pageCount * r.pageSize)}) in ${r.ms} ms\n`, { vault: vault.location, ...r });
    return EXIT.ok;
  } catch (err) {
    const signal = cancel.received();
    if (signal !== undefined && err instanceof LitevaultError && err.code === 'SQLITE_ABORT') {
      throw new Cancelled(signal, `vault restore cancelled by ${signal}: ${existed ? `'${destination}' keeps its previous content` : `nothing was written at '${destination}'`}`);
    }
    throw err;
  } finally {
    bar.done();
    cancel.dispose();
  }
}

// `vault restore <vault> <name> -`: the backup's image on stdout (vault.exportStream), nothing
// else there; the summary goes to stderr.
async function exportToStdout(vaultPath: string, name: string, values: Values, progressKind: 'bar' | 'json' | 'none', out: Output, operation: { what: string }): Promise<number> {
  if (values.overwrite !== undefined) throw new UsageError("--overwrite does not apply to '-' (standard output)");
  if (restorePoint(values.at as string | undefined).at === undefined && values.at !== undefined) throw new UsageError("--at tx:N or a time does not apply to '-' (standard output) yet: restore the point to a file");
  checkStdoutTakesImage();
  operation.what = `cannot restore ${name}${values.at ? ` ${values.at}` : ''} from vault '${vaultPath}' to standard output`;
  const started = Date.now();
  const vault = await openVault(vaultPath, values);
  const cancel = cancelOnSignals();
  const bar = progressBar(progressKind === 'bar');
  try {
    const stream = vault.exportStream(name, {
      at: values.at as string | undefined,
      signal: cancel.signal,
      onProgress: (p) => {
        if (progressKind === 'json') process.stderr.write(JSON.stringify(p) + '\n');
        else bar.draw(p.pageCount === 0 ? 1 : p.pagesWritten / p.pageCount, `rebuilding: ${p.pagesWritten}/${p.pageCount} pages`);
      },
    });
    const written = await streamToStdout(stream);
    bar.done();
    const line = `restored ${name}${values.at ? ` ${values.at}` : ''} from ${vaultPath} to standard output: ${bytes(written)} in ${Date.now() - started} ms`;
    if (out.json) process.stderr.write(JSON.stringify({ vault: vault.location, name, at: values.at ?? null, destination: '-', bytes: written, ms: Date.now() - started }) + '\n');
    else out.notice(line);
    return EXIT.ok;
  } catch (err) {
    const signal = cancel.received();
    if (signal !== undefined && err instanceof LitevaultError && err.code === 'SQLITE_ABORT') {
      throw new Cancelled(signal, `vault restore cancelled by ${signal}: the image on standard output is incomplete`);
    }
    throw err;
  } finally {
    bar.done();
    cancel.dispose();
  }
}

function count(values: Values, name: string): number | undefined {
  return values[name] === undefined ? undefined : integerOption(values, name, 0, 0);
}

async function pruneVerb(args: string[], operation: { what: string }): Promise<number> {
  const { values, positionals } = parse(args, {
    ...REMOTE_OPTIONS,
    'keep-last': { type: 'string' },
    'keep-within': { type: 'string' },
    'keep-daily': { type: 'string' },
    'keep-weekly': { type: 'string' },
    'keep-monthly': { type: 'string' },
    name: { type: 'string' },
    'dry-run': { type: 'boolean' },
  });
  if (values.help) return verbHelp('prune');
  if (positionals.length !== 1) throw new UsageError(`vault prune needs one vault, not ${positionals.length} arguments`);
  const rules = {
    keepLast: count(values, 'keep-last'),
    keepDaily: count(values, 'keep-daily'),
    keepWeekly: count(values, 'keep-weekly'),
    keepMonthly: count(values, 'keep-monthly'),
    keepWithin: values['keep-within'] as string | undefined,
  };
  if (Object.values(rules).every((v) => v === undefined)) throw new UsageError('vault prune needs at least one --keep-* rule');
  if (rules.keepWithin !== undefined && !/^\d+[smhdwy]$/.test(rules.keepWithin)) throw new UsageError(`--keep-within takes a number and a unit (s, m, h, d, w, y), e.g. 7d, not '${rules.keepWithin}'`);
  const out = output(values);
  operation.what = `cannot prune vault '${positionals[0]}'`;
  const vault = await openVault(positionals[0]!, values);
  const r = await vault.prune({ ...rules, name: values.name as string | undefined, dryRun: values['dry-run'] === true });
  const verb = r.dryRun ? 'would remove' : 'removed';
  const removed = r.removed.length === 0 ? 'no backups' : `${r.removed.length} backup${r.removed.length === 1 ? '' : 's'} (${r.removed.map((b) => `${b.name} ${b.id}`).join(', ')})`;
  const skipped = r.skipped.length === 0 ? '' : `\nskipped (a backup is running): ${r.skipped.join(', ')}`;
  out.result(`${verb} ${removed} and ${r.packsRemoved} pack${r.packsRemoved === 1 ? '' : 's'}, ${bytes(r.bytesFreed)}; kept ${r.kept.length}${skipped}\n`, { vault: vault.location, ...r });
  return EXIT.ok;
}

async function verifyVerb(args: string[], operation: { what: string }): Promise<number> {
  const { values, positionals } = parse(args, {
    ...REMOTE_OPTIONS, ...PRIORITY_OPTION,
    name: { type: 'string' },
    at: { type: 'string' },
    'max-findings': { type: 'string' },
    cksumvfs: { type: 'string' },
    progress: { type: 'string' },
  });
  if (values.help) return verbHelp('verify');
  if (positionals.length !== 1) throw new UsageError(`vault verify needs one vault, not ${positionals.length} arguments`);
  if (values.at !== undefined && values.name === undefined) throw new UsageError('--at needs --name');
  const maxFindings = integerOption(values, 'max-findings', 100, 1);
  const cksumvfs = cksumvfsOption(values);
  const out = output(values);
  const progressKind = progressOption(values, out);
  operation.what = `cannot verify vault '${positionals[0]}'`;
  const vault = await openVault(positionals[0]!, values);
  const cancel = cancelOnSignals();
  const bar = progressBar(progressKind === 'bar');
  try {
    const r = await vault.verify({
      name: values.name as string | undefined,
      at: values.at as string | undefined,
      maxFindings,
      cksumvfs,
      signal: cancel.signal,
      onProgress: (p) => {
        if (progressKind === 'json') process.stderr.write(JSON.stringify(p) + '\n');
        else bar.draw(p.pageCount === 0 ? 1 : p.pagesChecked / p.pageCount, `${p.name} ${p.id} (${p.backup}/${p.backups}): ${p.pagesChecked}/${p.pageCount} pages`);
      },
    });
    bar.done();
    const lines = r.backups.map((b) => {
      if (b.error) return `${b.name} ${b.id} (${b.type}): DAMAGED: ${b.error.code}: ${b.error.message}`;
      if (b.ok) return `${b.name} ${b.id} (${b.type}): ok, ${b.pageCount} pages of ${b.pageSize} bytes`;
      return [`${b.name} ${b.id} (${b.type}): CORRUPT database: ${b.findingCount} finding${b.findingCount === 1 ? '' : 's'}`, ...b.findings.map(findingLine)].join('\n');
    });
    for (const p of r.problems) lines.push(`${p.name}: DAMAGED: ${p.code}: ${p.message}`);
    const summary = `${vault.location}: ${r.ok ? 'ok' : 'DAMAGED'}: ${r.backups.length} backup${r.backups.length === 1 ? '' : 's'} checked, ${r.packsChecked} pack reads, ${r.pagesChecked} pages, in ${r.ms} ms`;
    out.result([...lines, summary].join('\n') + '\n', { vault: vault.location, ...r });
    return r.ok ? EXIT.ok : EXIT.failed;
  } catch (err) {
    const signal = cancel.received();
    if (signal !== undefined && err instanceof LitevaultError && err.code === 'SQLITE_ABORT') throw new Cancelled(signal, `vault verify cancelled by ${signal}`);
    throw err;
  } finally {
    bar.done();
    cancel.dispose();
  }
}

function verbHelp(verb: string): number {
  process.stdout.write(VERB_HELP[verb]!);
  return EXIT.ok;
}

/** `litevault vault <verb> ...` */
export async function vaultCommand(args: string[], operation: { what: string }): Promise<number> {
  const [verb, ...rest] = args;
  switch (verb) {
    case 'backup':
      return backupVerb(rest, operation);
    case 'list':
      return listVerb(rest, operation);
    case 'restore':
      return restoreVerb(rest, operation);
    case 'prune':
      return pruneVerb(rest, operation);
    case 'verify':
      return verifyVerb(rest, operation);
    case '-h':
    case '--help':
      process.stdout.write(VAULT_HELP.vault!);
      return EXIT.ok;
    case undefined:
      throw new UsageError('vault needs a verb: backup, list, restore, prune or verify');
    default:
      throw new UsageError(`unknown vault verb '${verb}' (backup, list, restore, prune or verify)`);
  }
}
