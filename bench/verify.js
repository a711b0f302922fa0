// The verify section of the benchmark harness (`node bench/run.js --only verify`; part of the
// default run): litevault's own structure check against SQLite's, and what checking costs a
// backup, on the bench database (WAL, page cache warm). Each round, one after another in a fresh
// child each and in an order rotated round by round:
//   check: litevault `verify(path)` | `sqlite3 db "PRAGMA integrity_check"` | `sqlite3 db
//          "PRAGMA quick_check"` (the shell, SQLite 3.40.1) | better-sqlite3's two pragmas
//          (its newer bundled SQLite; references). Every one must say ok.
//   cost:  litevault `vault.backup(db, {type: 'full'})` into a fresh vault (made untimed), which
//          verifies by default | the same with `verify: false` | `backup(src, dst, {verify:
//          true})` | `backup(src, dst)` (no check, its default).
// Every run is preceded by run.js's settle() (sync, quiet check, the database read into the page
// cache, then fresh memory touched; the round loop is lib/rounds.js). Called by run.js with its
// helpers; results go to lib/report-verify.js.
'use strict';
const fs = require('fs');
const path = require('path');
const { runTimed, runNode, output, syncFs } = require('./lib/proc');
const { databaseShape } = require('./lib/pages');
const { interleavedRounds } = require('./lib/rounds');

const NAME = 'bench';

async function verifySection(context) {
  const { src, workDir, errors, commandRun, verifyCopy } = context;
  const dir = path.join(workDir, 'verify');
  fs.mkdirSync(dir, { recursive: true });
  const vault = path.join(dir, 'vault');
  const dst = path.join(dir, 'copy.db');
  const shape = databaseShape(src);
  const { sourceBytes, pageCount } = shape;
  const expectedRows = verifyCopy(src).rows;

  // Each check's verdict: 'ok', or what it said instead.
  const shellPragma = (pragma) => async () => {
    const r = await runTimed('sqlite3', [src, `PRAGMA ${pragma}`]);
    const run = commandRun(r);
    run.verdict = r.stdout.trim();
    return run;
  };
  const nodePragma = (pragma) => async () => {
    const r = await runNode('node-op.js', { op: 'bs-pragma', db: src, pragma });
    if (r.ok) r.verdict = r.result.join('; ');
    return r;
  };
  const vaultBackup = (options) => async () => {
    const r = await runNode('node-op.js', { op: 'lv-vault-backup', vault, src, name: NAME, type: 'full', ...options });
    if (r.ok && r.result.pageCount !== pageCount) Object.assign(r, { ok: false, error: `backed up ${r.result.pageCount} of ${pageCount} pages` });
    return r;
  };
  const plainBackup = (options) => async () => {
    const r = await runNode('node-op.js', { op: 'lv-backup', src, dst, ...options });
    if (r.ok && fs.statSync(dst).size !== sourceBytes) Object.assign(r, { ok: false, error: `destination is ${fs.statSync(dst).size} bytes, source ${sourceBytes}` });
    return r;
  };
  const competitors = [
    { key: 'litevault', group: 'check', node: true, label: 'litevault `verify(path)`',
      run: async () => {
        const r = await runNode('node-op.js', { op: 'lv-verify', db: src });
        if (r.ok) r.verdict = r.result.ok && r.result.findingCount === 0 && r.result.pageCount === pageCount ? 'ok' : JSON.stringify(r.result);
        return r;
      } },
    { key: 'integrity', group: 'check', label: '`sqlite3 db "PRAGMA integrity_check"`', run: shellPragma('integrity_check') },
    { key: 'quick', group: 'check', label: '`sqlite3 db "PRAGMA quick_check"`', run: shellPragma('quick_check') },
    { key: 'bs-integrity', group: 'check', node: true, reference: true, label: 'better-sqlite3 `db.pragma("integrity_check")` (reference)', run: nodePragma('integrity_check') },
    { key: 'bs-quick', group: 'check', node: true, reference: true, label: 'better-sqlite3 `db.pragma("quick_check")` (reference)', run: nodePragma('quick_check') },
    { key: 'vault', group: 'vault', node: true, fresh: vault, label: 'litevault `vault.backup(db, {type: "full"})` (verifies: the default)', run: vaultBackup({}) },
    { key: 'vault-noverify', group: 'vault', node: true, fresh: vault, label: 'litevault `vault.backup(db, {type: "full", verify: false})`', run: vaultBackup({ verify: false }) },
    { key: 'backup-verify', group: 'backup', node: true, copy: true, label: 'litevault `backup(src, dst, {verify: true})`', run: plainBackup({ verify: true }) },
    { key: 'backup', group: 'backup', node: true, copy: true, label: 'litevault `backup(src, dst)` (no check: its default)', run: plainBackup({}) },
  ];

  const rounds = await interleavedRounds(context, {
    section: 'verify',
    competitors,
    dir,
    inputs: [src],
    dst,
    expectedRows,
    before: async (c) => {
      if (!c.fresh) return;
      fs.rmSync(c.fresh, { recursive: true, force: true });
      const init = await runNode('node-op.js', { op: 'lv-vault-init', vault: c.fresh });
      if (!init.ok) throw new Error(`verify: cannot create the vault ${c.fresh}: ${init.error}`);
    },
    after: (c, r, round) => {
      if (r.ok && c.group === 'check' && r.verdict !== 'ok') errors.push(`verify/${c.key} round ${round}: the check did not say ok: ${r.verdict.slice(0, 500)}`);
      if (c.fresh) fs.rmSync(c.fresh, { recursive: true, force: true });
    },
    describe: (r) => (r.verdict !== undefined ? `, says ${r.verdict.slice(0, 80)}` : ''),
  });
  fs.rmSync(dir, { recursive: true, force: true });
  syncFs(workDir);
  return {
    ...shape,
    rows: expectedRows,
    sqlite3: output('sqlite3', ['--version']).split(' ').slice(0, 2).join(' '),
    competitors: competitors.map(({ key, group, label, node, reference }) => ({ key, group, label, node, reference })),
    rounds,
  };
}

module.exports = { verifySection };
