/*
 * `litevault replicate <db> <vault> --json` through the API instead of the CLI, for what the CLI
 * cannot set: an s3:// vault's lease time (leaseMs; the CLI's is the 60 s default, so a SIGKILLed
 * replicator's successor waits a minute for the name). Same output contract as the CLI's --json
 * (lib/cli-replicate.ts): one JSON line per event on stdout, {"type":"stopped","stats"} last;
 * SIGTERM/SIGINT stop it cleanly (exit 0); a failure goes to stderr as `CODE: message`, exit 1.
 * Loads the shipped build (dist/, build/).
 * argv: <db> <vault> <name> <intervalMs> <json options for Vault.open (endpoint, leaseMs, ...)>
 */
'use strict';
const path = require('node:path');
const { Vault } = require(path.resolve(__dirname, '..', '..', 'dist', 'index.js'));

const [db, location, name, interval, openJson] = process.argv.slice(2);

// Signals from the start: one that arrives before the replicator runs stops it once it does.
const signalled = new Promise((resolve) => {
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.once(s, () => resolve(s));
});

(async () => {
  const vault = await Vault.open(location, { ...JSON.parse(openJson || '{}'), create: true });
  const replicator = await vault.replicate(db, {
    name,
    interval: Number(interval),
    onEvent: (e) => process.stdout.write(JSON.stringify(e.type === 'retry' ? { ...e, error: { code: e.error.code, message: e.error.message } } : e) + '\n'),
  });
  const first = await Promise.race([signalled, replicator.stopped.then(() => null, (err) => err)]);
  const stats = await replicator.close();
  if (first !== null && typeof first !== 'string') throw first;
  process.stdout.write(JSON.stringify({ type: 'stopped', stats }) + '\n');
  process.exit(0);
})().catch((err) => {
  process.stderr.write(`${(err && err.code) || 'Error'}: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
});
