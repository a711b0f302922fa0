// The vault section of the benchmark harness (`node bench/run.js --only vault`; part of the
// default run): litevault's Vault (a directory vault on the same disk as the database) against
// `sqlite3 .backup`, `sqlite3 .backup` + `zstd -1` and restic (a fresh local repository), on a
// copy of the bench database. Each round, from a fresh copy and a fresh vault and repository:
//   1. full:        vault full backup | litevault with compression 'none' (reference) |
//                   sqlite3 .backup | sqlite3 .backup + zstd -1 | restic backup (first snapshot)
//                   | litevault with its storage calls timed (diagnostic, its own vault);
//   2. incremental: 1% of the pages changed at random by better-sqlite3 (checkpointed into the
//                   file), then a vault incremental | restic's second backup; and the zstd -1 size
//                   of exactly the pages that changed (extracted by comparing the two versions);
//   3. ten small rounds (two in a smoke run; 0.1% of the pages each): a vault incremental | a
//      restic backup each;
//   4. restore of the last backup (full + 11 incrementals: the 1% one and the 10 small ones) |
//      restic restore of its last snapshot | cp + fsync of the file | the vault restore with its
//      storage calls timed (diagnostic).
// The diagnostic runs (also in the incremental stage) wrap the vault's DirectoryStorage
// filesystem calls with timers (node-op.js tracedStorage): they are not competitors, only the
// "where the time goes" table uses them.
// Every timed run is a fresh child (litevault: bench/children/node-op.js, timing its own call;
// commands: spawn to exit), started after settle() (sync, quiet check, inputs read into the
// page cache, then fresh memory touched: all warm). Called by run.js with its helpers; results go to
// lib/report-vault.js.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { runTimed, runNode, duBytes, output, removeDb, syncFs, fsyncFiles } = require('./lib/proc');
const { changedPages, sameImage, pageSizeOf } = require('./lib/pages');
const { bytes } = require('./lib/stats');

const NAME = 'bench';
const CHANGE_PCT = 1; // the incremental's change
const SMALL_PCT = 0.1; // each of the small rounds before the restore
const SMALL_ROUNDS = 10; // (2 in a smoke run)

// Debian's restic and zstd, installed with apt-get when missing (the report says so).
function ensureTools(log) {
  const installed = [];
  for (const [command, pkg] of [['restic', 'restic'], ['zstd', 'zstd']]) {
    if (output('sh', ['-c', `command -v ${command}`])) continue;
    log(`${command} is missing: installing it with \`apt-get install -y ${pkg}\``);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: ['ignore', 'ignore', 'inherit'], env });
    try {
      install();
    } catch {
      execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
      install();
    }
    if (!output('sh', ['-c', `command -v ${command}`])) throw new Error(`apt-get install -y ${pkg} did not provide ${command}`);
    installed.push(pkg);
  }
  return {
    installed,
    restic: output('restic', ['version']),
    zstd: output('zstd', ['--version']),
    sqlite3: output('sqlite3', ['--version']).split(' ').slice(0, 2).join(' '),
  };
}

function fileBytes(file) {
  return fs.existsSync(file) ? fs.statSync(file).size : 0;
}

// restic's --json output: the summary line (data_added, total_duration, snapshot_id ...).
function resticSummary(stdout) {
  for (const line of stdout.trim().split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    try {
      const m = JSON.parse(line);
      if (m.message_type === 'summary') return m;
    } catch {
      // a partial line
    }
  }
  return null;
}

async function vaultSection({ opts, src, workDir, errors, settle, log, rotate, commandRun }) {
  const tools = ensureTools(log);
  const smallRounds = opts.smoke ? 2 : SMALL_ROUNDS;
  // restic: the password in the environment (no prompt), its cache inside the work directory.
  process.env.RESTIC_PASSWORD = process.env.RESTIC_PASSWORD || 'litevault-bench';
  process.env.RESTIC_CACHE_DIR = path.join(workDir, 'restic-cache');
  const dir = path.join(workDir, 'vault');
  fs.mkdirSync(dir, { recursive: true });
  const work = path.join(dir, 'work.db'); // the database every competitor backs up
  const vault = path.join(dir, 'vault'); // the vault under test
  const vaultNone = path.join(dir, 'vault-none'); // reference: compression 'none'
  const vaultTraced = path.join(dir, 'vault-traced'); // diagnostic: storage calls timed
  const repo = path.join(dir, 'restic-repo');
  const out = path.join(dir, 'out.db'); // sqlite3 .backup's output
  const zst = path.join(dir, 'out.db.zst');
  const restored = path.join(dir, 'restored.db');
  const resticTarget = path.join(dir, 'restic-restore');
  const changedFile = path.join(dir, 'changed-pages.bin');
  const sourceBytes = fs.statSync(src).size;
  const pageSize = pageSizeOf(src);

  const fail = (what, r) => {
    errors.push(`vault/${what}: ${r.error}`);
    log(`vault ${what}: FAILED ${r.error}`);
  };
  const note = (what, r, extra = '') => log(`vault ${what}: ${r.ok ? `${r.ms.toFixed(0)} ms${extra}` : `FAILED ${r.error}`}`);

  const lvBackup = (vaultDir, type, extra = {}) => runNode('node-op.js', { op: 'lv-vault-backup', vault: vaultDir, src: work, name: NAME, type, ...extra });
  const resticBackup = async () => {
    const r = await runTimed('restic', ['-r', repo, 'backup', '--json', '--host', 'bench', work]);
    const run = commandRun(r);
    run.summary = resticSummary(r.stdout);
    return run;
  };
  const change = async (pct, seed, tag) => {
    const r = await runNode('vault-change.js', { path: work, pct, seed });
    if (!r.ok) throw new Error(`vault ${tag}: changing the database failed: ${r.error}`);
    syncFs(dir);
    return r;
  };
  // Untimed checks (round 1, or every round of a smoke run): a vault backup restores to exactly
  // the database it was taken from, a restic restore gives back the file.
  const checkRestore = async (at, expected, tag) => {
    fs.rmSync(restored, { force: true });
    const r = await runNode('node-op.js', { op: 'lv-vault-restore', vault, name: NAME, dst: restored, at });
    if (!r.ok) return { ok: false, why: r.error };
    const image = sameImage(expected, restored);
    fs.rmSync(restored, { force: true });
    if (!image.same) errors.push(`vault/${tag}: the restored backup is not the source's image (${image.why})`);
    return { ok: image.same, why: image.why };
  };

  const rounds = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const checking = round === 1 || opts.smoke;
    const rec = { round, full: {}, incremental: {}, small: [], restore: {}, checks: {} };
    rounds.push(rec);
    // A fresh copy of the source (same content every round), vaults and repository.
    for (const p of [vault, vaultNone, vaultTraced, repo, resticTarget]) fs.rmSync(p, { recursive: true, force: true });
    removeDb(work);
    fs.copyFileSync(src, work);
    fsyncFiles([work]);
    for (const v of [vault, vaultNone, vaultTraced]) {
      const init = await runNode('node-op.js', { op: 'lv-vault-init', vault: v });
      if (!init.ok) throw new Error(`vault: cannot create the vault ${v}: ${init.error}`);
    }
    const init = await runTimed('restic', ['-r', repo, 'init']);
    if (init.code !== 0) throw new Error(`restic init failed: ${init.stderr}`);
    rec.emptyBytes = { vault: duBytes(vault), restic: duBytes(repo) };

    // 1. Full backups.
    const full = [
      { key: 'litevault', run: () => lvBackup(vault, 'full'), stored: () => duBytes(vault) },
      { key: 'litevault-none', run: () => lvBackup(vaultNone, 'full', { compression: 'none' }), stored: () => duBytes(vaultNone), after: () => fs.rmSync(vaultNone, { recursive: true, force: true }) },
      { key: 'litevault-traced', run: () => lvBackup(vaultTraced, 'full', { trace: true }), stored: () => duBytes(vaultTraced) },
      { key: 'sqlite3-backup', run: async () => commandRun(await runTimed('sqlite3', [work, `.backup '${out}'`])), stored: () => fileBytes(out) },
      {
        key: 'sqlite3-zstd',
        run: async () => commandRun(await runTimed('sh', ['-c', 'sqlite3 "$1" ".backup \'$2\'" && zstd -1 -q -f "$2" -o "$3"', 'sh', work, out, zst])),
        stored: () => fileBytes(zst),
      },
      { key: 'restic', run: resticBackup, stored: () => duBytes(repo) },
    ];
    for (const c of rotate(full, round)) {
      for (const f of [out, zst]) fs.rmSync(f, { force: true });
      await settle(dir, [work], `vault round ${round} full ${c.key}`, { warmFirst: true });
      const r = await c.run();
      if (r.ok) {
        r.storedBytes = c.stored();
        if (checking && c.key === 'sqlite3-backup') {
          const image = sameImage(work, out);
          r.check = image;
          if (!image.same) errors.push(`vault/full/sqlite3-backup round ${round}: output differs from the source (${image.why})`);
        }
      } else fail(`round ${round} full ${c.key}`, r);
      rec.full[c.key] = r;
      note(`round ${round}/${opts.rounds} full ${c.key}`, r, r.ok ? `, stored ${bytes(r.storedBytes)}` : '');
      for (const f of [out, zst]) fs.rmSync(f, { force: true });
      c.after?.();
    }
    if (checking && rec.full.litevault?.ok) rec.checks.full = await checkRestore(rec.full.litevault.result.id, src, `round ${round} full restore check`);

    // 2. 1% of the pages changed, checkpointed into the file; the incrementals.
    rec.change = await change(CHANGE_PCT, 1, `round ${round}`);
    const diff = changedPages(src, work, pageSize, changedFile);
    const z = await runTimed('zstd', ['-1', '-q', '-f', changedFile, '-o', `${changedFile}.zst`]);
    if (z.code !== 0) throw new Error(`zstd of the changed pages failed: ${z.stderr}`);
    rec.changed = { pages: diff.count, rawBytes: diff.rawBytes, zstdBytes: fileBytes(`${changedFile}.zst`), shrunkPages: diff.shrunkPages, pageCount: rec.change.pageCount };
    fs.rmSync(changedFile, { force: true });
    fs.rmSync(`${changedFile}.zst`, { force: true });
    log(`vault round ${round}: ${rec.change.updates} row updates changed ${diff.count} pages (${((100 * diff.count) / rec.change.pageCount).toFixed(2)}%); zstd -1 of exactly those pages: ${bytes(rec.changed.zstdBytes)}`);
    const incremental = [
      { key: 'litevault', run: () => lvBackup(vault, 'incremental'), dir: vault },
      { key: 'restic', run: resticBackup, dir: repo },
    ];
    const tracedIncremental = { key: 'litevault-traced', run: () => lvBackup(vaultTraced, 'incremental', { trace: true }), dir: vaultTraced };
    for (const c of rotate([...incremental, tracedIncremental], round)) {
      const before = duBytes(c.dir);
      await settle(dir, [work], `vault round ${round} incremental ${c.key}`, { warmFirst: true });
      const r = await c.run();
      if (r.ok) r.addedBytes = duBytes(c.dir) - before;
      else fail(`round ${round} incremental ${c.key}`, r);
      rec.incremental[c.key] = r;
      note(`round ${round}/${opts.rounds} incremental ${c.key}`, r, r.ok ? `, added ${bytes(r.addedBytes)}` : '');
    }
    fs.rmSync(vaultTraced, { recursive: true, force: true });
    if (checking && rec.incremental.litevault?.ok) rec.checks.incremental = await checkRestore(rec.incremental.litevault.result.id, work, `round ${round} incremental restore check`);

    // 3. Small rounds, one incremental (and one restic backup) each.
    for (let k = 1; k <= smallRounds; k++) {
      const ch = await change(SMALL_PCT, 100 + k, `round ${round} small ${k}`);
      const runs = {};
      for (const c of rotate(incremental, round + k)) {
        const before = duBytes(c.dir);
        await settle(dir, [work], `vault round ${round} small ${k} ${c.key}`, { warmFirst: true });
        const r = await c.run();
        if (r.ok) r.addedBytes = duBytes(c.dir) - before;
        else fail(`round ${round} small ${k} ${c.key}`, r);
        runs[c.key] = r;
      }
      rec.small.push({ change: { pagesChanged: ch.pagesChanged, updates: ch.updates }, runs });
      log(`vault round ${round} small ${k}/${smallRounds} (${ch.pagesChanged} pages): ${Object.entries(runs).map(([key, r]) => `${key} ${r.ok ? `${r.ms.toFixed(0)} ms, +${bytes(r.addedBytes)}` : 'FAILED'}`).join('; ')}`);
    }
    if (checking) {
      const list = await runNode('node-op.js', { op: 'lv-vault-list', vault, name: NAME });
      rec.checks.list = list.ok ? list.result.map((b) => b.type) : list.error;
      const want = ['full', ...Array(1 + smallRounds).fill('incremental')];
      if (!list.ok || JSON.stringify(rec.checks.list) !== JSON.stringify(want)) errors.push(`vault/round ${round}: the vault lists ${JSON.stringify(rec.checks.list)}, expected ${JSON.stringify(want)}`);
    }

    // 4. Restores of the last backup.
    rec.vaultBytes = duBytes(vault);
    rec.resticBytes = duBytes(repo);
    const restore = [
      { key: 'litevault', run: () => runNode('node-op.js', { op: 'lv-vault-restore', vault, name: NAME, dst: restored }), output: () => restored },
      {
        key: 'restic',
        run: async () => {
          const r = commandRun(await runTimed('restic', ['-r', repo, 'restore', 'latest', '--target', resticTarget]));
          if (!r.ok) return r;
          // restic restores the file under its original path below the target; it does not fsync
          // it: that is timed separately (`sync <file>`), as an add-on.
          const file = output('find', [resticTarget, '-type', 'f', '-name', path.basename(work)]).split('\n')[0];
          if (!file) return { ok: false, ms: r.ms, error: `restic restored no ${path.basename(work)}` };
          const s = await runTimed('sync', [file]);
          r.syncMs = s.ms;
          r.file = file;
          return r;
        },
        output: (r) => r.file,
      },
      { key: 'cp-sync', run: async () => commandRun(await runTimed('sh', ['-c', 'cp --sparse=never "$1" "$2" && sync "$2"', 'sh', work, restored])), output: () => restored },
      { key: 'litevault-traced', run: () => runNode('node-op.js', { op: 'lv-vault-restore', vault, name: NAME, dst: restored, trace: true }), output: () => restored },
    ];
    for (const c of rotate(restore, round)) {
      fs.rmSync(restored, { force: true });
      fs.rmSync(resticTarget, { recursive: true, force: true });
      await settle(dir, [work, vault, repo], `vault round ${round} restore ${c.key}`, { warmFirst: true });
      const r = await c.run();
      if (r.ok && checking) {
        const image = sameImage(work, c.output(r));
        r.check = image;
        if (!image.same) errors.push(`vault/restore/${c.key} round ${round}: the restored file is not the database's image (${image.why})`);
      }
      if (!r.ok) fail(`round ${round} restore ${c.key}`, r);
      rec.restore[c.key] = r;
      note(`round ${round}/${opts.rounds} restore ${c.key}`, r, r.ok && r.syncMs !== undefined ? ` + sync ${r.syncMs.toFixed(0)} ms` : '');
    }
    fs.rmSync(restored, { force: true });
    fs.rmSync(resticTarget, { recursive: true, force: true });
  }
  for (const p of [vault, vaultNone, vaultTraced, repo, resticTarget, process.env.RESTIC_CACHE_DIR]) fs.rmSync(p, { recursive: true, force: true });
  removeDb(work);
  syncFs(workDir);
  return {
    sourceBytes,
    pageSize,
    name: NAME,
    changePct: CHANGE_PCT,
    smallPct: SMALL_PCT,
    smallRounds,
    tools,
    rounds,
  };
}

module.exports = { vaultSection };
