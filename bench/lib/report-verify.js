// Renders the verify section of bench/RESULTS.md (from bench/verify.js's results). Like the vault
// section it is self-contained (its own run description and targets), so `--only verify` can
// splice it into a report made by an earlier run of the other sections (spliceVerify).
'use strict';
const { median, fmt, summary, bytes } = require('./stats');
const { okRuns, times, table, paired, ratio, ms, parentMs, ratioCell, eldCell, rssCell, cpuCell, sectionOpening, litevaultTool, sizeNote, roundRuns, nodeCell, targetLines, selfContainedSection } = require('./report-common');

const MiB = 1048576;
const VAULT_COST = 1.15; // the verified full vault backup takes at most 1.15 × the unverified one

/** The verify targets: [label, measured, goal, pass] rows (pass undefined when not measured). */
function verifyTargets(verify) {
  const run = verify.run || {};
  const at = sizeNote(run);
  const lv = roundRuns(verify, 'litevault');
  const integrity = roundRuns(verify, 'integrity');
  const quick = roundRuns(verify, 'quick');
  const rows = [];
  const vsIntegrity = paired(integrity, lv, ratio(ms));
  rows.push([
    `litevault \`verify()\`${at} ≥ 3× faster than \`sqlite3 db "PRAGMA integrity_check"\``,
    `integrity_check takes ${ratioCell(vsIntegrity)} litevault's time (${summary(times(integrity), 0)} vs ${summary(times(lv), 0)} ms); spawn to exit ${ratioCell(paired(integrity, lv, ratio(parentMs)))}`,
    '≥ 3×',
    vsIntegrity.length ? median(vsIntegrity) >= 3 : undefined,
  ]);
  const vsQuick = paired(lv, quick, ratio(ms));
  rows.push([
    `litevault \`verify()\`${at} no slower than \`sqlite3 db "PRAGMA quick_check"\``,
    `${ratioCell(vsQuick)} its time (${summary(times(lv), 0)} vs ${summary(times(quick), 0)} ms); spawn to exit ${ratioCell(paired(lv, quick, ratio(parentMs)))}`,
    '≤ 1.0×',
    vsQuick.length ? median(vsQuick) <= 1 : undefined,
  ]);
  const vault = roundRuns(verify, 'vault');
  const unverified = roundRuns(verify, 'vault-noverify');
  const cost = paired(vault, unverified, ratio(ms));
  rows.push([
    `Full vault backup${at} that verifies (the default) ≤ ${VAULT_COST} × the same with \`verify: false\``,
    `${ratioCell(cost)} its time (${summary(times(vault), 0)} vs ${summary(times(unverified), 0)} ms)`,
    `≤ ${VAULT_COST}×`,
    cost.length ? median(cost) <= VAULT_COST : undefined,
  ]);
  return rows;
}

/** The verify section's lines. */
function renderVerify(verify) {
  const run = verify.run || {};
  const m = run.machine || {};
  const dbMiB = verify.sourceBytes / MiB;
  const out = sectionOpening(run, {
    section: 'verify',
    title: `Verify: litevault \`verify()\` vs SQLite's integrity_check and quick_check, and what checking costs a backup (${bytes(verify.sourceBytes)} WAL database, ${verify.pageSize}-byte pages; page cache warm)`,
    durationMs: verify.durationMs,
    database: `${bytes(verify.sourceBytes)}, ${verify.pageCount.toLocaleString('en-US')} pages, ${verify.rows.toLocaleString('en-US')} rows, built by better-sqlite3 (bench/children/make-db.js), WAL mode: two rowid tables with NOT NULL columns, no index and no CHECK or UNIQUE constraint, so what integrity_check does beyond quick_check (index entries against their table's rows, UNIQUE) has nothing to check here and the two pragmas do nearly the same work`,
    tools: `${litevaultTool(m)}; sqlite3 shell ${verify.sqlite3}; better-sqlite3 ${m.betterSqlite ? `${m.betterSqlite.version} (SQLite ${m.betterSqlite.sqlite})` : '?'}`,
    inputs: 'the database',
  });

  out.push(
    ...targetLines(
      'Verify',
      'litevault times are the calls timed in their child (`verify(path)`: open read-only, a read transaction, every page read and checked, close; `Vault.open()` + `backup()`; `backup()`); the `sqlite3` shell is timed spawn to exit (its own start-up, a few ms, included); "spawn to exit" for litevault adds Node\'s start-up and module load.',
      verifyTargets(verify),
      run.smoke,
    ),
  );

  const lv = roundRuns(verify, 'litevault');
  const verdicts = (runs) => [...new Set(okRuns(runs).map((r) => r.verdict))].map((v) => (v === 'ok' ? 'ok' : `**${v.slice(0, 200)}**`)).join(', ') || '—';
  out.push('### Checking the database');
  out.push('');
  out.push(`Every competitor checks the same database in a fresh process. A check passes when it says ok: litevault \`{ok: true, findingCount: 0}\` with all ${verify.pageCount.toLocaleString('en-US')} pages counted; the pragmas a single row \`ok\`. The better-sqlite3 rows (SQLite ${m.betterSqlite?.sqlite ?? '?'}, newer than the shell's) time only the pragma, on a connection opened before the clock starts: references, not targets. CPU: user / system ms of every thread of the child.`);
  out.push('');
  out.push(
    table(
      ['Competitor', 'Time, ms: median (min–max)', 'MiB/s', 'Its time ÷ litevault\'s', 'Says (every round)', 'Event loop delay, ms', 'Peak RSS above idle Node', 'CPU user / system, ms', 'Spawn to exit, ms'],
      verify.competitors.filter((c) => c.group === 'check').map((c) => {
        const runs = roundRuns(verify, c.key);
        return [
          c.label,
          summary(times(runs), 0),
          fmt(dbMiB / (median(times(runs)) / 1000), 0),
          c.key === 'litevault' ? '1' : summary(paired(runs, lv, ratio(ms))),
          verdicts(runs),
          nodeCell(c, eldCell, runs),
          nodeCell(c, rssCell, runs),
          nodeCell(c, cpuCell, runs),
          summary(okRuns(runs).map(parentMs), 0),
        ];
      }),
    ),
  );
  out.push('');

  out.push('### What checking costs a backup');
  out.push('');
  out.push('Full vault backups go to a fresh directory vault each (created untimed; zstd at its default level); `backup()` copies to a fresh file next to it (snapshot mode, fsynced; round 1 checks the copy with `PRAGMA quick_check` and a row count). "÷ unchecked" is the per-round ratio to the same call without the check.');
  out.push('');
  const pairOf = { vault: 'vault-noverify', 'backup-verify': 'backup' };
  out.push(
    table(
      ['Competitor', 'Time, ms: median (min–max)', 'MiB/s', '÷ unchecked', 'Event loop delay, ms', 'Peak RSS above idle Node', 'CPU user / system, ms', 'Check (round 1)'],
      verify.competitors.filter((c) => c.group !== 'check').map((c) => {
        const runs = roundRuns(verify, c.key);
        const check = runs.find((r) => r && r.check)?.check;
        return [
          c.label,
          summary(times(runs), 0),
          fmt(dbMiB / (median(times(runs)) / 1000), 0),
          pairOf[c.key] ? summary(paired(runs, roundRuns(verify, pairOf[c.key]), ratio(ms))) : '1',
          eldCell(runs),
          rssCell(runs),
          cpuCell(runs),
          check ? `quick_check ${check.check}, ${check.rows.toLocaleString('en-US')} rows` : '',
        ];
      }),
    ),
  );
  out.push('');
  return out;
}

// Its row in the report's main Targets table, and its splice into an existing report.
const { summaryRow: verifySummaryRow, splice: spliceVerify } = selfContainedSection('Verify', verifyTargets, renderVerify);

module.exports = { renderVerify, verifyTargets, verifySummaryRow, spliceVerify };
