#!/usr/bin/env node
// litevault's benchmark harness (`npm run bench`; see bench/README.md).
//
// Builds a database of the chosen size with real SQLite (better-sqlite3), then runs, from this
// one process tree and interleaved round by round (A B C ... A B C ...):
//   backup:     litevault backup() vs cp, cp + fsync, sqlite3 .backup, better-sqlite3 backup(),
//               VACUUM INTO (and an idle Node process as the event-loop/RSS noise floor);
//   checkpoint: litevault Checkpoint (each mode) vs PRAGMA wal_checkpoint(MODE) on identical
//               copies of a database + 100,000-frame WAL;
//   writer:     backups while a better-sqlite3 writer commits 100 and 1000 times a second
//               (time, restarts, the writer's commit latency with and without the backup);
//   vault:      litevault's Vault (full, incremental after 1% of pages changed, restore of a
//               full + incrementals) vs sqlite3 .backup (+ zstd -1), restic and cp (vault.js);
//   verify:     litevault verify() vs PRAGMA integrity_check / quick_check, and what checking
//               costs a vault backup and backup() (verify.js);
//   stream:     litevault backupStream() and `litevault backup db -` to /dev/null vs cat and
//               sqlite3 .backup, and a stream into a slow consumer vs an idle Node (stream.js);
//   remote:     litevault full and incremental backups to moto_server on loopback vs uploading
//               the same objects with the AWS SDK's lib-storage alone (remote.js);
//   replication: `litevault replicate` under a 1000 commits/s writer into a directory and into
//               moto (lag, the writer's latency against the writer alone, the -wal's size), and
//               a restore to a point an hour of commits after its full backup vs that backup
//               alone (replication.js).
// Every Node-side run is a fresh child that measures its own event-loop delay and peak RSS.
// Results (medians, min–max, ratios against the targets) go to bench/RESULTS.md.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { now, sleep, runTimed, runNode, forkNode, nextMessage, warm, syncFs, fsyncFiles, removeDb, prefault, busiest, cpusBusy } = require('./lib/proc');
const { describe, fileSha256 } = require('./lib/machine');
const { vaultSection } = require('./vault');
const { verifySection } = require('./verify');
const { streamSection } = require('./stream');
const { remoteSection } = require('./remote');
const { replicationSection } = require('./replication');
const { litevault, betterSqlite3, root } = require('./lib/load');
const { percentile, bytes, median } = require('./lib/stats');
const { render, spliceVault, spliceVerify, spliceStream, spliceRemote, spliceReplication } = require('./lib/report');

const HELP = `usage: node bench/run.js [options]
  --size <MiB>          database size for the backup and writer benchmarks (default 1024)
  --rounds <N>          interleaved rounds (default 3)
  --out <file>          where to write the report (default bench/RESULTS.md)
  --only <section>      backup | checkpoint | writer | vault | verify | stream | remote |
                        replication (default: all eight); --only vault (verify, stream,
                        remote, replication) into an existing report replaces just its Vault
                        (Verify, ...) section; a comma list of backup, checkpoint and writer
                        runs those and keeps the existing report's self-contained sections
  --smoke               tiny sizes, 1 round, report to a temp file; proves the harness runs,
                        asserts no timings (exit 0 unless a run failed to produce a result)
  --frames <N>          WAL frames for the checkpoint benchmark (default 100000)
  --ckpt-size <MiB>     size of the database under that WAL (default 256, at most --size)
  --rates <a,b>         writer commits per second (default 100,1000)
  --writer-sync <mode>  the writer's PRAGMA synchronous (default NORMAL; FULL fsyncs every commit)
  --writer-timeout <s>  give up on better-sqlite3's backup under a writer after this (default 30)
  --repl-seconds <s>    replication: each live writer run's length (default 30)
  --repl-rate <n>       replication: the live writer's commits per second (default 1000)
  --repl-history <n>    replication: transactions of the history restored to a point (default
                        3600000: one hour at 1000/s)
  --repl-autocheckpoint <n>  replication: the writer's wal_autocheckpoint (default 0: the
                        replicator's TRUNCATEs bound the WAL, the setting docs/replication.md
                        advises for write-heavy databases; 1000 is SQLite's default)
  --dir <path>          work directory (default: a new directory in ${os.tmpdir()})
  --no-prefault         skip touching fresh memory before each run (see bench/README.md)
  --wait-quiet <s>      before each round, wait up to this long for other processes to leave
                        the CPUs idle (default 0: just record what else was running)
  --keep                keep the work directory
  --render <raw.json>   only re-render a report (to --out) from a run's raw JSON; with
                        --only vault (verify, stream, remote, replication) and an existing --out, only
                        that section
  --help`;

function parseArgs(argv) {
  const o = {
    size: 1024,
    rounds: 3,
    out: path.join(__dirname, 'RESULTS.md'),
    only: null,
    smoke: false,
    frames: 100000,
    ckptSize: 256,
    rates: [100, 1000],
    writerSync: 'NORMAL',
    writerTimeoutS: 30,
    dir: null,
    keep: false,
    render: null,
    prefault: true,
    waitQuietS: 0,
    replSeconds: 30,
    replRate: 1000,
    replHistory: 3600000,
    replAutocheckpoint: 0,
  };
  const given = new Set();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const number = (v, what) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} must be a positive number`);
      return n;
    };
    switch (a) {
      case '--size': o.size = number(value(), '--size'); break;
      case '--rounds': o.rounds = Math.round(number(value(), '--rounds')); break;
      case '--out': o.out = path.resolve(value()); break;
      case '--only': o.only = value(); break;
      case '--smoke': o.smoke = true; break;
      case '--frames': o.frames = Math.round(number(value(), '--frames')); break;
      case '--ckpt-size': o.ckptSize = number(value(), '--ckpt-size'); break;
      case '--rates': o.rates = value().split(',').map((r) => number(r, '--rates')); break;
      case '--writer-sync': o.writerSync = value().toUpperCase(); break;
      case '--writer-timeout': o.writerTimeoutS = number(value(), '--writer-timeout'); break;
      case '--dir': o.dir = path.resolve(value()); break;
      case '--keep': o.keep = true; break;
      case '--no-prefault': o.prefault = false; break;
      case '--wait-quiet': o.waitQuietS = Number(value()); break;
      case '--repl-seconds': o.replSeconds = number(value(), '--repl-seconds'); break;
      case '--repl-rate': o.replRate = number(value(), '--repl-rate'); break;
      case '--repl-history': o.replHistory = Math.round(number(value(), '--repl-history')); break;
      case '--repl-autocheckpoint': o.replAutocheckpoint = Math.round(number(value(), '--repl-autocheckpoint')); break;
      case '--render': o.render = path.resolve(value()); break;
      case '--help': case '-h': console.log(HELP); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${HELP}`);
    }
    given.add(a);
  }
  for (const section of o.only ? o.only.split(',') : []) {
    if (!SECTIONS.includes(section)) throw new Error(`--only must be one of ${SECTIONS.join(', ')} (or a comma list of backup, checkpoint, writer)`);
    if (o.only.includes(',') && SPLICE[section]) throw new Error(`--only: ${section} runs alone; a list may hold backup, checkpoint and writer only`);
  }
  if (!['OFF', 'NORMAL', 'FULL', 'EXTRA'].includes(o.writerSync)) throw new Error('--writer-sync must be OFF, NORMAL, FULL or EXTRA');
  if (o.smoke) {
    if (!given.has('--size')) o.size = 8;
    if (!given.has('--rounds')) o.rounds = 1;
    if (!given.has('--frames')) o.frames = 2000;
    if (!given.has('--ckpt-size')) o.ckptSize = 4;
    if (!given.has('--writer-timeout')) o.writerTimeoutS = 3;
    if (!given.has('--repl-seconds')) o.replSeconds = 3;
    if (!given.has('--repl-history')) o.replHistory = 2000;
    if (!given.has('--out')) o.out = path.join(os.tmpdir(), `litevault-bench-smoke-${process.pid}.md`);
  }
  o.ckptSize = Math.min(o.ckptSize, o.size);
  return o;
}

const SECTIONS = ['backup', 'checkpoint', 'writer', 'vault', 'verify', 'stream', 'remote', 'replication'];
// The self-contained sections: `--only <section>` into an existing report (and its .json twin)
// replaces just that section and its key, keeping the other sections' results.
const SPLICE = { vault: spliceVault, verify: spliceVerify, stream: spliceStream, remote: spliceRemote, replication: spliceReplication };

const log = (...args) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${args.join(' ')}\n`);

// Normalizes a timed non-Node command into a run record.
function commandRun(r) {
  const ok = r.code === 0;
  return { ok, ms: r.ms, error: ok ? undefined : `exit ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(-500)}` };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  OPTS = opts;
  if (opts.render && SPLICE[opts.only] && fs.existsSync(opts.out)) {
    // Re-render just that section (from a run's JSON) into the existing report.
    const section = JSON.parse(fs.readFileSync(opts.render, 'utf8'))[opts.only];
    if (!section || !section.run) throw new Error(`${opts.render} holds no ${opts.only} results`);
    fs.writeFileSync(opts.out, SPLICE[opts.only](fs.readFileSync(opts.out, 'utf8'), section));
    log(`re-rendered the ${opts.only} section of ${opts.out} from ${opts.render}`);
    return;
  }
  if (opts.render) {
    fs.writeFileSync(opts.out, render(JSON.parse(fs.readFileSync(opts.render, 'utf8'))));
    log(`rendered ${opts.render} to ${opts.out}`);
    return;
  }
  const started = now();
  const startedAt = new Date();
  const workDir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'litevault-bench-'));
  fs.mkdirSync(workDir, { recursive: true });
  const sections = opts.only ? opts.only.split(',') : SECTIONS;
  const errors = [];
  const results = { opts, sections, errors, startedAt: startedAt.toISOString() };

  const treeAddon = snapshotLitevault(workDir);
  const lv = litevault();
  results.machine = describe({ workDir, litevault: lv.nativeAddon, root });
  results.machine.addon.tree = treeAddon;
  results.command = commandLine();
  results.loadBefore = os.loadavg();
  results.busyBefore = busiest();
  if (results.busyBefore.length) log(`other processes using the CPUs: ${results.busyBefore.join(', ')}`);

  // Disk: the source and a copy of it, plus the checkpoint database and WAL, twice (pristine +
  // working copy), plus 10%. The vault section adds, at its peak (a full backup's stage), its
  // working copy, two vaults (zstd and 'none'), the restic repository, sqlite3's output and its
  // .zst: 5 more copies of the database (the backup section's copy slot is not in use then). The
  // verify section's copy or vault (one at a time, no bigger than the database) and the stream
  // section's sqlite3 copy (or its check's) take the copy slot. The remote section (after the
  // vault section's files are gone) needs its working copy, the local vault (at most the
  // database's size), the restored copy, and what moto keeps of a round's three uploads (objects
  // of more than 5 MiB go to temp files, the rest stays in its memory): 6 copies at most. The
  // replication section (after it) needs, at its peak, the history database (the database plus
  // its rows), its vault (a full backup and the log) and a restored copy: 4 copies and the log.
  const mib = 1048576;
  const walBytes = opts.frames * (4096 + 24) + 32;
  const needBackup = sections.some((s) => s !== 'checkpoint') ? 2 * opts.size * mib + 64 * mib : 0;
  const needVault = Math.max(sections.includes('vault') ? 5 * opts.size * mib : 0, sections.includes('remote') ? 6 * opts.size * mib : 0, sections.includes('replication') ? 4 * opts.size * mib + opts.replHistory * 400 : 0);
  const needCheckpoint = sections.includes('checkpoint') ? 2 * (opts.ckptSize * mib + walBytes) : 0;
  const needPrefault = opts.prefault ? opts.size * mib * 1.1 : 0;
  results.diskNeeded = Math.ceil((needBackup + needVault + needCheckpoint + needPrefault) * 1.1);
  const free = results.machine.disk.free;
  log(`work dir ${workDir} (${results.machine.disk.mount}); needs about ${bytes(results.diskNeeded)}, ${bytes(free)} free`);
  if (Number.isFinite(free) && free < results.diskNeeded) {
    throw new Error(`not enough disk space in ${workDir}: need about ${bytes(results.diskNeeded)}, have ${bytes(free)}; try a smaller --size`);
  }

  try {
    const src = path.join(workDir, 'source.db');
    const dst = path.join(workDir, 'copy.db');
    if (opts.prefault) prefaultBytes = Math.ceil(opts.size * mib * 1.1);
    if (sections.some((s) => s !== 'checkpoint')) {
      log(`building a ${opts.size} MiB database with better-sqlite3`);
      removeDb(src);
      const built = await runNode('make-db.js', { path: src, sizeMiB: opts.size });
      if (!built.ok && built.error) throw new Error(`make-db: ${built.error}`);
      results.source = { ...built, fileBytes: fs.statSync(src).size };
      log(`built ${bytes(results.source.fileBytes)}, ${built.rows} rows in ${(built.ms / 1000).toFixed(1)} s`);
      syncFs(workDir);
    }
    if (sections.includes('backup')) results.backup = await backupSection(opts, src, dst, workDir, errors);
    if (sections.includes('checkpoint')) results.checkpoint = await checkpointSection(opts, workDir, errors);
    if (sections.includes('writer')) results.writer = await writerSection(opts, src, dst, workDir, errors, results.backup);
    if (sections.includes('vault')) {
      const vaultStarted = now();
      results.vault = await vaultSection({ opts, src, workDir, errors, settle, log, rotate, commandRun });
      results.vault.durationMs = now() - vaultStarted;
    }
    for (const [key, section] of [['verify', verifySection], ['stream', streamSection], ['remote', remoteSection], ['replication', replicationSection]]) {
      if (!sections.includes(key)) continue;
      const sectionStarted = now();
      results[key] = await section({ opts, src, workDir, errors, settle, log, rotate, commandRun, verifyCopy });
      results[key].durationMs = now() - sectionStarted;
    }
  } finally {
    if (!opts.keep) fs.rmSync(workDir, { recursive: true, force: true });
    else log(`kept ${workDir}`);
  }

  const treeAddonAfter = fileSha256(path.join(root, treeAddon.path));
  if (treeAddonAfter !== results.machine.addon.sha256) {
    results.addonNote = `the tree's addon was rebuilt during the run (now sha256 ${treeAddonAfter}); these results are all from the snapshot taken at the start`;
    log(results.addonNote);
  }
  results.durationMs = now() - started;
  results.loadAfter = os.loadavg();
  results.activity = activity;
  results.busyAfter = busiest();
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  const jsonOut = opts.out.replace(/\.md$/, '') + '.json';
  for (const key of Object.keys(SPLICE)) results[key] &&= sectionRunRecord(results, key);
  if (SPLICE[opts.only] && fs.existsSync(opts.out) && fs.existsSync(jsonOut)) {
    // Only a self-contained section ran: replace it (and its key in the JSON twin) in the
    // existing report, keeping the other sections' results as they were.
    const previous = JSON.parse(fs.readFileSync(jsonOut, 'utf8'));
    previous[opts.only] = stripRaw(results[opts.only]);
    fs.writeFileSync(opts.out, SPLICE[opts.only](fs.readFileSync(opts.out, 'utf8'), previous[opts.only]));
    fs.writeFileSync(jsonOut, JSON.stringify(previous, null, 1));
    log(`replaced the ${opts.only} section of the existing ${opts.out}`);
  } else {
    if (opts.only && fs.existsSync(jsonOut)) {
      // Some of the main sections ran: the self-contained ones of the existing report stay, each
      // with the record of the run that made it.
      const previous = JSON.parse(fs.readFileSync(jsonOut, 'utf8'));
      for (const key of Object.keys(SPLICE)) if (!results[key] && previous[key]) results[key] = previous[key];
    }
    fs.writeFileSync(opts.out, render(results));
    fs.writeFileSync(jsonOut, JSON.stringify(stripRaw(results), null, 1));
  }
  // Everything, the writers' per-commit latencies included, for --render (not kept in the repo).
  let raw = '';
  if (!opts.smoke) {
    raw = path.join(os.tmpdir(), `litevault-bench-raw-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(raw, JSON.stringify(results));
  }
  log(`wrote ${opts.out} (and .json) in ${(results.durationMs / 60000).toFixed(1)} min${raw ? `; raw results: ${raw}` : ''}`);
  if (errors.length) {
    log(`${errors.length} run(s) failed:\n  ${errors.join('\n  ')}`);
    process.exitCode = 1;
  } else if (opts.smoke) {
    log('smoke run OK: every benchmark ran and produced results (timings are not asserted)');
  }
}

// Copies dist/, the addon that dist/ loads and package.json into <workDir>/litevault, with
// node_modules linked, and points every child at it (LITEVAULT_BENCH_ROOT): the whole run
// measures one build even if someone rebuilds build/ or dist/ meanwhile.
function snapshotLitevault(workDir) {
  const loaded = litevault().nativeAddon; // from the tree, retried while dist/ is missing
  const rel = path.relative(root, loaded.path);
  const snap = path.join(workDir, 'litevault');
  for (let attempt = 1; ; attempt++) {
    try {
      fs.rmSync(snap, { recursive: true, force: true });
      fs.mkdirSync(path.join(snap, path.dirname(rel)), { recursive: true });
      fs.cpSync(path.join(root, 'dist'), path.join(snap, 'dist'), { recursive: true });
      fs.copyFileSync(loaded.path, path.join(snap, rel));
      fs.copyFileSync(path.join(root, 'package.json'), path.join(snap, 'package.json'));
      fs.symlinkSync(path.join(root, 'node_modules'), path.join(snap, 'node_modules'), 'dir');
      process.env.LITEVAULT_BENCH_ROOT = snap;
      const check = require(path.join(snap, 'dist', 'index.js')).nativeAddon;
      if (!check.path.startsWith(snap)) throw new Error(`the snapshot loaded ${check.path}`);
      log(`benchmarking a snapshot of dist/ and ${rel} (sha256 ${fileSha256(loaded.path)}…)`);
      return { path: rel, sha256: fileSha256(loaded.path) };
    } catch (err) {
      delete process.env.LITEVAULT_BENCH_ROOT;
      if (attempt >= 20) throw new Error(`cannot snapshot litevault: ${err.message}`);
      log(`snapshot of litevault failed (${err.message}); a build may be under way, retrying`);
      require('./lib/load').sleepSync(3000);
    }
  }
}

// The command as typed: under npm, `npm run <script> [-- extra args]` (the script's own
// arguments come from package.json), followed by what it ran.
function commandLine() {
  const rel = path.relative(process.cwd(), __filename) || __filename;
  const args = process.argv.slice(2);
  const direct = `node ${rel} ${args.join(' ')}`.trim();
  const event = process.env.npm_lifecycle_event;
  if (!event) return direct;
  const m = /bench\/run\.js([^&|;]*)$/.exec((process.env.npm_lifecycle_script || '').trim());
  const own = m && m[1].trim() ? m[1].trim().split(/\s+/) : [];
  const extra = own.every((a, i) => args[i] === a) ? args.slice(own.length) : args;
  return `npm run ${event}${extra.length ? ` -- ${extra.join(' ')}` : ''}   (runs: ${direct})`;
}

// A self-contained section's results (vault, verify, stream, remote, replication) carry their run's own description (the
// command, machine, load and CPU activity during the section), so the section renders on its own
// when spliced into a report made by an earlier run.
function sectionRunRecord(results, key) {
  if (!results[key] || results[key].run) return results[key];
  const { opts, machine } = results;
  return {
    ...results[key],
    run: {
      startedAt: results.startedAt,
      command: results.command,
      cwd: process.cwd(),
      size: opts.size,
      rounds: opts.rounds,
      smoke: opts.smoke,
      prefault: opts.prefault,
      waitQuietS: opts.waitQuietS,
      warmFirst: true, // vault.js, verify.js, stream.js, remote.js and replication.js settle with { warmFirst: true }
      source: results.source,
      machine,
      addonNote: results.addonNote,
      loadBefore: results.loadBefore,
      loadAfter: results.loadAfter,
      busyBefore: results.busyBefore,
      busyAfter: results.busyAfter,
      activity: activity.filter((a) => a.tag.startsWith(`${key} `)),
      errors: results.errors.filter((e) => e.startsWith(`${key}/`)),
    },
  };
}

// The JSON twin of the report keeps everything but the writers' raw latency arrays.
function stripRaw(results) {
  return JSON.parse(JSON.stringify(results, (key, value) => (key === 'latenciesMs' || key === 'lagsMs' ? undefined : value)));
}

// Untimed, before every run: the file system synced (no earlier run's writeback), fresh memory
// touched (see prefault()), the inputs read into the page cache.
let prefaultBytes = 0;
let OPTS;
// With warmFirst (the vault section), the inputs are read before the fresh memory is touched:
// a restore's inputs (database, vault, restic repository: several GiB) could otherwise take up
// the memory the prefault just touched, and the run would write into cold memory again.
async function settle(workDir, files, tag, { warmFirst = false } = {}) {
  syncFs(workDir);
  await quietCheck(OPTS, tag);
  if (warmFirst) for (const f of files) warm(f);
  if (prefaultBytes) {
    prefault(workDir, prefaultBytes);
    syncFs(workDir);
  }
  if (!warmFirst) for (const f of files) warm(f);
  if (!OPTS.smoke) await sleep(200); // a smoke run times nothing: its ~75 runs skip the pauses
}

// Before each run: how busy the CPUs are with other work (the harness is idle then: other
// developers' builds and tests share this machine); with --wait-quiet, wait (up to that long)
// for them to calm down. Recorded for the report.
const activity = [];
async function quietCheck(opts, tag) {
  const started = now();
  const window = opts.smoke ? 50 : 500;
  let busy = await cpusBusy(window);
  let told = false;
  while (busy > 0.25 && now() - started < opts.waitQuietS * 1000) {
    if (!told) log(`${tag}: other processes keep ${busy.toFixed(2)} CPUs busy (${busiest().join(', ')}); waiting up to ${opts.waitQuietS} s`);
    told = true;
    await sleep(2000);
    busy = await cpusBusy(window);
  }
  const entry = { tag, cpusBusy: busy, waitedS: (now() - started - window) / 1000 };
  if (busy > 0.25) {
    entry.others = busiest();
    log(`${tag}: running although other processes keep ${busy.toFixed(2)} CPUs busy (${entry.others.join(', ')})`);
  }
  activity.push(entry);
}

/** The competitors in round r (1-based) start at a different one each round. */
function rotate(list, round) {
  const k = (round - 1) % list.length;
  return list.slice(k).concat(list.slice(0, k));
}

function verifyCopy(file, expectedRows) {
  const Database = betterSqlite3();
  const db = new Database(file);
  try {
    const check = db.pragma('quick_check', { simple: true });
    const rows = db.prepare('SELECT count(*) FROM items').pluck().get();
    return { check, rows, ok: check === 'ok' && (expectedRows === undefined || rows === expectedRows) };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Backup: litevault vs cp, cp + fsync, sqlite3 .backup, better-sqlite3 backup(), VACUUM INTO.

// The kernel-side copy a user could write: copy_file_range until the end, then fsync.
const COPY_FILE_RANGE_PY = [
  'import os, sys',
  'src = os.open(sys.argv[1], os.O_RDONLY)',
  'dst = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)',
  'left = os.fstat(src).st_size',
  'while left > 0:',
  '    n = os.copy_file_range(src, dst, left)',
  '    if n == 0: break',
  '    left -= n',
  'os.fsync(dst)',
].join('\n');

async function backupSection(opts, src, dst, workDir, errors) {
  const sourceBytes = fs.statSync(src).size;
  const expectedRows = verifyCopy(src).rows;
  let lastOursMs = 1000;
  const competitors = [
    { key: 'litevault', label: 'litevault `backup()` (snapshot mode, 1024 pages/step, fsynced)', node: true, copy: true,
      run: () => runNode('node-op.js', { op: 'lv-backup', src, dst }) },
    { key: 'cli', label: '`litevault backup src dest` (the CLI as a whole process, from `node` starting to its exit; fsynced)', copy: true,
      run: async () => commandRun(await runTimed(process.execPath, [path.join(root, 'dist', 'cli.js'), 'backup', src, dst])) },
    { key: 'cfr-sync', label: '`copy_file_range` of the whole file + fsync (python3 `os.copy_file_range`, `os.fsync`: the physical limit)', copy: true,
      run: async () => commandRun(await runTimed('python3', ['-c', COPY_FILE_RANGE_PY, src, dst])) },
    { key: 'cp', label: '`cp --sparse=never` (not fsynced; coreutils 9 copies with `copy_file_range` too)', copy: true,
      run: async () => commandRun(await runTimed('cp', ['--sparse=never', src, dst])) },
    { key: 'cp-sync', label: '`cp --sparse=never` + `sync <dest>` (fsynced)', copy: true,
      run: async () => commandRun(await runTimed('sh', ['-c', 'cp --sparse=never "$1" "$2" && sync "$2"', 'sh', src, dst])) },
    { key: 'sqlite3-backup', label: '`sqlite3 src ".backup dest"` (100 pages/step)', copy: true,
      run: async () => commandRun(await runTimed('sqlite3', [src, `.backup '${dst}'`])) },
    { key: 'better-sqlite3', label: 'better-sqlite3 `db.backup(dest)` (100 pages/step, main thread)', node: true, copy: true,
      run: () => runNode('node-op.js', { op: 'bs-backup', src, dst }) },
    { key: 'vacuum-into', label: "`sqlite3 src \"VACUUM INTO 'dest'\"`", copy: true, rebuilds: true,
      run: async () => commandRun(await runTimed('sqlite3', [src, `VACUUM INTO '${dst}'`])) },
    { key: 'dd', label: '`dd bs=1M conv=fsync` (plain read/write loop + fsync; reference)', copy: true,
      run: async () => commandRun(await runTimed('dd', [`if=${src}`, `of=${dst}`, 'bs=1M', 'conv=fsync', 'status=none'])) },
    { key: 'idle', label: 'idle Node child, as long as our backup (noise floor; reference)', node: true, idle: true,
      run: () => runNode('node-op.js', { op: 'idle', ms: Math.round(lastOursMs) }) },
    { key: 'idle-io', label: 'idle Node child while `dd bs=1M` copies the source (noise floor under the same I/O; reference)', node: true, idle: true,
      run: async () => {
        const io = runTimed('dd', [`if=${src}`, `of=${dst}`, 'bs=1M', 'status=none']);
        const idle = await runNode('node-op.js', { op: 'idle', ms: Math.round(lastOursMs) });
        const copied = await io;
        idle.ioMs = copied.ms;
        if (copied.code !== 0) Object.assign(idle, { ok: false, error: `dd: ${copied.stderr}` });
        return idle;
      } },
  ];
  const rounds = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const runs = {};
    for (const c of rotate(competitors, round)) {
      removeDb(dst);
      await settle(workDir, [src], `backup round ${round} ${c.key}`);
      const r = await c.run();
      if (!r.ok) errors.push(`backup/${c.key} round ${round}: ${r.error}`);
      if (r.ok && c.copy) {
        const size = fs.existsSync(dst) ? fs.statSync(dst).size : 0;
        r.destBytes = size;
        if (!c.rebuilds && size !== sourceBytes) {
          r.ok = false;
          r.error = `destination is ${size} bytes, source ${sourceBytes}`;
          errors.push(`backup/${c.key} round ${round}: ${r.error}`);
        }
        if (round === 1 || opts.smoke) {
          r.verify = verifyCopy(dst, expectedRows);
          if (!r.verify.ok) errors.push(`backup/${c.key} round ${round}: copy failed verification (${JSON.stringify(r.verify)})`);
        }
      }
      if (c.key === 'litevault' && r.ok) lastOursMs = r.ms;
      runs[c.key] = r;
      log(`backup round ${round}/${opts.rounds} ${c.key}: ${r.ok ? `${r.ms.toFixed(0)} ms` : `FAILED ${r.error}`}`);
      removeDb(dst);
    }
    rounds.push(runs);
  }
  syncFs(workDir);
  return { sourceBytes, rows: expectedRows, competitors: competitors.map(({ key, label, node, idle }) => ({ key, label, node, idle })), rounds };
}

// ---------------------------------------------------------------------------------------------
// Checkpoint: litevault's Checkpoint vs PRAGMA wal_checkpoint(MODE) on identical db + WAL copies.

async function checkpointSection(opts, workDir, errors) {
  const base = path.join(workDir, 'ckpt-base.db');
  const work = path.join(workDir, 'ckpt.db');
  removeDb(base);
  log(`building the checkpoint database (${opts.ckptSize} MiB) and a ${opts.frames}-frame WAL`);
  const built = await runNode('make-db.js', { path: base, sizeMiB: opts.ckptSize });
  if (!built.ok && built.error) throw new Error(`make-db: ${built.error}`);
  const wal = await runNode('make-wal.js', { path: base, frames: opts.frames });
  if (!wal.ok && wal.error) throw new Error(`make-wal: ${wal.error}`);
  fs.rmSync(`${base}-shm`, { force: true });
  fsyncFiles([base, `${base}-wal`]);
  const info = await litevault().inspect(base);
  const distinctPages = walDistinctPages(`${base}-wal`);
  log(`WAL: ${info.wal?.frames} committed frames (${bytes(wal.walBytes)}) over a ${bytes(fs.statSync(base).size)} database, built in ${((built.ms + wal.ms) / 1000).toFixed(1)} s`);

  const modes = ['passive', 'full', 'restart', 'truncate'];
  const competitors = [
    { key: 'litevault', spec: { op: 'lv-checkpoint' } },
    { key: 'sqlite', spec: { op: 'bs-checkpoint' } },
    { key: 'sqliteRecovered', spec: { op: 'bs-checkpoint', recovered: true } },
  ];
  const byMode = Object.fromEntries(modes.map((m) => [m, Object.fromEntries(competitors.map((c) => [c.key, []]))]));
  for (let round = 1; round <= opts.rounds; round++) {
    for (const mode of modes) {
      for (const c of rotate(competitors, round)) {
        removeDb(work);
        fs.copyFileSync(base, work);
        fs.copyFileSync(`${base}-wal`, `${work}-wal`);
        fsyncFiles([work, `${work}-wal`]);
        await settle(workDir, [work, `${work}-wal`], `checkpoint round ${round} ${mode} ${c.key}`);
        const r = await runNode('node-op.js', { ...c.spec, db: work, mode });
        if (!r.ok) errors.push(`checkpoint/${mode}/${c.key} round ${round}: ${r.error}`);
        if (r.ok && c.key === 'litevault' && (round === 1 || opts.smoke)) {
          r.walBytesAfter = fs.existsSync(`${work}-wal`) ? fs.statSync(`${work}-wal`).size : 0;
          r.verify = verifyCopy(work);
          if (!r.verify.ok) errors.push(`checkpoint/${mode}/litevault round ${round}: database failed verification`);
        }
        byMode[mode][c.key].push(r);
        log(`checkpoint round ${round}/${opts.rounds} ${mode} ${c.key}: ${r.ok ? `${r.ms.toFixed(0)} ms ${JSON.stringify(r.result)}` : `FAILED ${r.error}`}`);
      }
    }
  }
  removeDb(work);
  removeDb(base);
  syncFs(workDir);
  return {
    frames: info.wal?.frames,
    walBytes: wal.walBytes,
    dbBytes: built.bytes,
    pageSize: built.pageSize,
    transactions: wal.transactions,
    distinctPages,
    modes: byMode,
  };
}

// How many different pages the WAL's frames hold (a checkpoint writes each once).
function walDistinctPages(walPath) {
  const fd = fs.openSync(walPath, 'r');
  try {
    const header = Buffer.alloc(32);
    fs.readSync(fd, header, 0, 32, 0);
    const pageSize = header.readUInt32BE(8);
    const size = fs.fstatSync(fd).size;
    const frame = Buffer.alloc(24);
    const pages = new Set();
    for (let at = 32; at + 24 + pageSize <= size; at += 24 + pageSize) {
      fs.readSync(fd, frame, 0, 24, at);
      pages.add(frame.readUInt32BE(0));
    }
    return pages.size;
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Writer: backups of the source while a better-sqlite3 writer commits `rate` times a second.

function windowStats(stats) {
  const lat = stats.latenciesMs;
  return {
    commits: stats.commits,
    windowMs: stats.windowMs,
    rate: (stats.commits / stats.windowMs) * 1000,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: percentile(lat, 100),
    lagP99: percentile(stats.lagsMs, 99),
    errors: stats.errors,
    latenciesMs: lat,
  };
}

// Starts a writer, lets it reach a steady schedule, then runs `during(mark)`; `mark` is an onLine
// handler that opens the writer's measurement window at the backup child's '@start' and closes it
// at its '@end' (so the window is exactly the timed backup call). The baseline calls
// mark('@start') / mark('@end') itself.
async function withWriter(opts, src, rate, during) {
  const writer = forkNode('writer.js', { path: src, rate, synchronous: opts.writerSync });
  const exited = new Promise((resolve) => writer.once('exit', resolve));
  try {
    await nextMessage(writer, 'ready');
    await sleep(opts.smoke ? 200 : 500); // warm-up: the writer's schedule is steady before the window
    const mark = (line) => {
      if (line === '@start') writer.send({ cmd: 'start' });
      else if (line === '@end') writer.send({ cmd: 'end' });
    };
    const run = await during(mark);
    const stats = nextMessage(writer, 'stats');
    writer.send({ cmd: 'stop' });
    const window = windowStats(await stats);
    await exited;
    return { run, window };
  } catch (err) {
    if (writer.exitCode === null) writer.kill('SIGKILL');
    throw err;
  }
}

async function writerSection(opts, src, dst, workDir, errors, backupResults) {
  const timeoutMs = opts.writerTimeoutS * 1000;
  const quiet = [];
  const byRate = Object.fromEntries(opts.rates.map((r) => [r, { baseline: [], litevault: [], litevaultNormal: [], betterSqlite3: [] }]));
  const expectedRows = verifyCopy(src).rows;
  for (let round = 1; round <= opts.rounds; round++) {
    removeDb(dst);
    await settle(workDir, [src], `writer round ${round} quiet`);
    const q = await runNode('node-op.js', { op: 'lv-backup', src, dst, mode: 'snapshot' });
    if (!q.ok) errors.push(`writer/quiet round ${round}: ${q.error}`);
    quiet.push(q);
    log(`writer round ${round}/${opts.rounds} quiet litevault backup: ${q.ok ? `${q.ms.toFixed(0)} ms` : `FAILED ${q.error}`}`);
    removeDb(dst);
    const windowMs = Math.max(1000, median(quiet.filter((r) => r.ok).map((r) => r.ms)) || 1000);
    for (const rate of opts.rates) {
      const slot = byRate[rate];
      // 1. The writer alone, for a window as long as the quiet backup (at least 1 s): the window
      //    is an idle Node child's wait, opened and closed by it as a backup child does, so its
      //    event loop is the reference for the backups' under this writer.
      await settle(workDir, [src], `writer round ${round} ${rate}/s alone`);
      const base = await withWriter(opts, src, rate, (mark) =>
        runNode('node-op.js', { op: 'idle', ms: Math.round(windowMs), announce: true }, { onLine: mark }),
      );
      slot.baseline.push(base);
      log(`writer round ${round} ${rate}/s alone: p50 ${base.window.p50.toFixed(3)} ms p99 ${base.window.p99.toFixed(3)} ms (${base.window.commits} commits)`);
      // 2. With litevault's snapshot backup, at its default (background) priority and at
      //    priority 'normal' (what the background priority does to the writer, and to us).
      for (const [key, priority] of [['litevault', 'background'], ['litevaultNormal', 'normal']]) {
        removeDb(dst);
        await settle(workDir, [src], `writer round ${round} ${rate}/s ${key}`);
        const ours = await withWriter(opts, src, rate, (mark) =>
          runNode('node-op.js', { op: 'lv-backup', src, dst, mode: 'snapshot', priority, announce: true }, { onLine: mark }),
        );
        if (!ours.run.ok) errors.push(`writer/${rate}/${key} round ${round}: ${ours.run.error}`);
        else if (round === 1 || opts.smoke) {
          ours.run.verify = verifyCopy(dst, expectedRows);
          if (!ours.run.verify.ok) errors.push(`writer/${rate}/${key} round ${round}: copy failed verification`);
        }
        slot[key].push(ours);
        log(`writer round ${round} ${rate}/s + ${key}: ${ours.run.ok ? `${ours.run.ms.toFixed(0)} ms, ${ours.run.restarts} restarts` : ours.run.error}; writer p99 ${ours.window.p99.toFixed(3)} ms`);
      }
      removeDb(dst);
      // 3. With better-sqlite3's backup (restarts on every commit by another process), given up
      //    after the timeout.
      await settle(workDir, [src], `writer round ${round} ${rate}/s better-sqlite3`);
      const theirs = await withWriter(opts, src, rate, (mark) =>
        runNode('node-op.js', { op: 'bs-backup', src, dst, timeoutMs, announce: true }, { onLine: mark }),
      );
      if (!theirs.run.ok) errors.push(`writer/${rate}/better-sqlite3 round ${round}: ${theirs.run.error}`);
      slot.betterSqlite3.push(theirs);
      log(`writer round ${round} ${rate}/s + better-sqlite3: ${theirs.run.ok ? `${theirs.run.finished ? 'finished' : 'gave up'} after ${theirs.run.ms.toFixed(0)} ms, ${theirs.run.restarts} restarts` : theirs.run.error}; writer p99 ${theirs.window.p99.toFixed(3)} ms`);
      removeDb(dst);
    }
  }
  syncFs(workDir);
  return { quiet, rates: byRate, timeoutMs, synchronous: opts.writerSync, sourceBytes: fs.statSync(src).size };
}

// The run ends here, also when a failed section left a timer or a child's pipe behind (CI waits
// for this process, so a leftover handle must not keep it alive).
main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    log(`failed: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  },
);
