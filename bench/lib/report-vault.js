// Renders the vault section of bench/RESULTS.md (from bench/vault.js's results). The section is
// self-contained (its own run description and targets), so `--only vault` can splice it into a
// report made by an earlier run of the other sections (spliceVault).
'use strict';
const { median, max, fmt, summary, bytes } = require('./stats');
const { okRuns, times, table, paired, ratio, ms, parentMs, ratioCell, bytesCell, sectionOpening, litevaultTool, targetLines, selfContainedSection } = require('./report-common');

const KiB = 1024;
const MiB = 1048576;

// The per-round runs of one stage and competitor.
const stage = (vault, name, key) => vault.rounds.map((round) => round[name]?.[key]);
const smallRuns = (vault, key) => vault.rounds.flatMap((round) => round.small.map((s) => s.runs[key]));

/** The vault targets: [label, measured, goal, pass] rows (pass undefined when not measured). */
function vaultTargets(vault) {
  const rows = [];
  const lvInc = stage(vault, 'incremental', 'litevault');
  const rsInc = stage(vault, 'incremental', 'restic');
  const incSpeed = paired(rsInc, lvInc, ratio(ms));
  const incSpeedSpawn = paired(rsInc, lvInc, ratio(parentMs));
  rows.push([
    `Incremental after ${vault.changePct}% of pages changed: ≥ 10× faster than restic's second backup`,
    `restic takes ${ratioCell(incSpeed)} litevault's time (${summary(times(rsInc), 0)} vs ${summary(times(lvInc), 0)} ms); spawn to exit ${ratioCell(incSpeedSpawn)}`,
    '≥ 10×',
    incSpeed.length ? median(incSpeed) >= 10 : undefined,
  ]);
  const incBytes = paired(rsInc, lvInc, ratio((r) => r.addedBytes));
  rows.push([
    'Incremental: ≥ 30× fewer bytes added than restic\'s second backup',
    `restic adds ${ratioCell(incBytes)} as many bytes (${bytesCell(okRuns(rsInc).map((r) => r.addedBytes))} vs ${bytesCell(okRuns(lvInc).map((r) => r.addedBytes))})`,
    '≥ 30×',
    incBytes.length ? median(incBytes) >= 30 : undefined,
  ]);
  const limits = vault.rounds.map((round) => (round.changed ? 1.2 * round.changed.zstdBytes + 64 * KiB : NaN));
  const overLimit = lvInc.map((r, i) => (r?.ok ? r.addedBytes / limits[i] : NaN)).filter(Number.isFinite);
  const z = vault.rounds.map((round) => round.changed?.zstdBytes);
  rows.push([
    'Incremental stores ≤ 1.2 × the zstd -1 size of the changed pages + 64 KiB',
    `${bytesCell(okRuns(lvInc).map((r) => r.addedBytes))} added to the vault vs a limit of ${bytesCell(limits)} (zstd -1 of the ${summary(vault.rounds.map((round) => round.changed?.pages), 0)} changed pages: ${bytesCell(z)}): ${ratioCell(overLimit)} of the limit`,
    '≤ 1.0× of the limit',
    overLimit.length ? median(overLimit) <= 1 : undefined,
  ]);
  const lvFull = stage(vault, 'full', 'litevault');
  const sqFull = stage(vault, 'full', 'sqlite3-backup');
  const fullVsSqlite = paired(lvFull, sqFull, ratio(ms));
  const fullVsSqliteSpawn = paired(lvFull, sqFull, ratio(parentMs));
  rows.push([
    'Full backup no slower than `sqlite3 .backup`',
    `${ratioCell(fullVsSqlite)} its time (${summary(times(lvFull), 0)} vs ${summary(times(sqFull), 0)} ms); spawn to exit ${ratioCell(fullVsSqliteSpawn)}`,
    '≤ 1.0×',
    fullVsSqlite.length ? median(fullVsSqlite) <= 1 : undefined,
  ]);
  const rsFull = stage(vault, 'full', 'restic');
  const fullVsRestic = paired(rsFull, lvFull, ratio(ms));
  rows.push([
    'Full backup ≥ 3× faster than `restic backup`',
    `restic takes ${ratioCell(fullVsRestic)} litevault's time (${summary(times(rsFull), 0)} ms)`,
    '≥ 3×',
    fullVsRestic.length ? median(fullVsRestic) >= 3 : undefined,
  ]);
  const zsFull = stage(vault, 'full', 'sqlite3-zstd');
  const storedVsZstd = paired(lvFull, zsFull, ratio((r) => r.storedBytes));
  rows.push([
    'Full backup stored no larger than `zstd -1` of the file',
    `${ratioCell(storedVsZstd)} the .zst (${bytesCell(okRuns(lvFull).map((r) => r.storedBytes))} vs ${bytesCell(okRuns(zsFull).map((r) => r.storedBytes))})`,
    '≤ 1.0×',
    storedVsZstd.length ? median(storedVsZstd) <= 1 : undefined,
  ]);
  const lvRes = stage(vault, 'restore', 'litevault');
  const cpRes = stage(vault, 'restore', 'cp-sync');
  const restoreVsCp = paired(lvRes, cpRes, ratio(ms));
  const restoreVsCpSpawn = paired(lvRes, cpRes, ratio(parentMs));
  rows.push([
    `Restore of a full + ${1 + vault.smallRounds} incrementals within 1.5× of \`cp\` + fsync`,
    `${ratioCell(restoreVsCp)} its time (${summary(times(lvRes), 0)} vs ${summary(times(cpRes), 0)} ms); spawn to exit ${ratioCell(restoreVsCpSpawn)}`,
    '≤ 1.5×',
    restoreVsCp.length ? median(restoreVsCp) <= 1.5 : undefined,
  ]);
  return rows;
}

/** The vault section's lines. */
function renderVault(vault) {
  const run = vault.run || {};
  const m = run.machine || {};
  const dbMiB = vault.sourceBytes / MiB;
  const smoke = run.smoke;
  const out = sectionOpening(run, {
    section: 'vault',
    title: `Vault: full, incremental and restore (${bytes(vault.sourceBytes)} WAL database, ${vault.pageSize}-byte pages; page cache warm)`,
    durationMs: vault.durationMs,
    database: `${bytes(vault.sourceBytes)}${run.source ? `, ${run.source.rows.toLocaleString('en-US')} rows` : ''}, built by better-sqlite3 (bench/children/make-db.js), WAL mode; every round backs up a fresh copy of it`,
    tools: `${litevaultTool(m)}; ${vault.tools.restic}; ${vault.tools.zstd.replace(/^\*+\s*|\s*\*+$/g, '')}; sqlite3 ${vault.tools.sqlite3}${vault.tools.installed.length ? `; **installed by the bench (apt-get install -y): ${vault.tools.installed.join(', ')}**` : '; restic and zstd were already installed'}`,
    inputs: 'the database for backups; the database, every vault file and every restic repository file for restores',
  });

  out.push(
    ...targetLines(
      'Vault',
      'litevault times are the calls timed in the child (`Vault.open()` + `backup()` / `restore()`: the lock, every pack and the manifest written and fsynced, directories fsynced); commands are timed spawn to exit; "spawn to exit" for litevault adds Node\'s start-up and module load.',
      vaultTargets(vault),
      smoke,
    ),
  );

  // Full backups.
  const full = [
    ['litevault', 'litevault `vault.backup(db, {type: "full"})` (zstd, default level, directory vault)'],
    ['litevault-none', 'litevault, `compression: "none"` (reference: without compression)'],
    ['sqlite3-backup', '`sqlite3 db ".backup out"`'],
    ['sqlite3-zstd', '`sqlite3 db ".backup out"` + `zstd -1 out` (time: both; stored: the .zst; zstd does not fsync)'],
    ['restic', '`restic backup` into a fresh local repository (its first snapshot; repository v2, compression auto)'],
  ];
  const lvFull = stage(vault, 'full', 'litevault');
  out.push('### Full backup');
  out.push('');
  out.push('Stored: `du -sb` of the vault directory / restic repository after the backup (each starts as an empty vault / a `restic init`ed repository: both made untimed), or the output file\'s size.');
  out.push('');
  out.push(
    table(
      ['Competitor', 'Time, ms: median (min–max)', 'MiB/s', 'Its time ÷ litevault\'s', 'Stored', 'Stored ÷ database', 'Spawn to exit, ms'],
      full.map(([key, label]) => {
        const runs = stage(vault, 'full', key);
        const t = times(runs);
        const stored = okRuns(runs).map((r) => r.storedBytes);
        return [
          label,
          summary(t, 0),
          fmt(dbMiB / (median(t) / 1000), 0),
          key === 'litevault' ? '1' : summary(paired(runs, lvFull, ratio(ms))),
          bytesCell(stored),
          fmt(median(stored) / vault.sourceBytes, 3),
          summary(okRuns(runs).map(parentMs), 0),
        ];
      }),
    ),
  );
  out.push('');

  // The incremental.
  const r0 = vault.rounds.find((round) => round.change) || {};
  const ch = r0.change || {};
  const changed = r0.changed || {};
  const lvInc = stage(vault, 'incremental', 'litevault');
  out.push(`### Incremental after ${vault.changePct}% of the pages changed`);
  out.push('');
  out.push(
    `better-sqlite3 rewrote ${ch.updates?.toLocaleString('en-US') ?? '?'} random rows' blobs (fresh random bytes, same length: each row is rewritten in place in its leaf page) in ${ch.transactions ?? '?'} transaction(s), until ${ch.pagesChanged?.toLocaleString('en-US') ?? '?'} of the ${ch.pageCount?.toLocaleString('en-US') ?? '?'} pages had changed (${fmt((100 * ch.pagesChanged) / ch.pageCount)}%), then ran \`PRAGMA wal_checkpoint(TRUNCATE)\` and closed: **the changes are checkpointed into the database file** (no \`-wal\` left), so restic, which backs up the file, sees the same database as litevault. ` +
      `The pages that differ between the two versions of the file (compared page by page): ${changed.pages?.toLocaleString('en-US') ?? '?'} (${bytes(changed.rawBytes)}); \`zstd -1\` of exactly those pages, concatenated in page order: **${bytes(changed.zstdBytes)}**${vault.rounds.length > 1 ? ' (round 1; every round changes the same rows)' : ''}. ` +
      'Bytes added: `du -sb` of the vault / repository after minus before.',
  );
  out.push('');
  out.push(
    table(
      ['Competitor', 'Time, ms: median (min–max)', 'Its time ÷ litevault\'s', 'Bytes added', 'Its bytes ÷ litevault\'s', 'Its own count', 'Spawn to exit, ms'],
      [
        ['litevault', 'litevault `vault.backup(db, {type: "incremental"})`'],
        ['restic', '`restic backup` (second snapshot of the changed file)'],
      ].map(([key, label]) => {
        const runs = stage(vault, 'incremental', key);
        const own = okRuns(runs)
          .map((r) => (key === 'litevault' ? `${r.result?.pagesStored?.toLocaleString('en-US')} pages stored, bytesStored ${bytes(r.result?.bytesStored)}` : r.summary ? `data_added ${bytes(r.summary.data_added)}` : ''))
          .filter(Boolean)[0];
        return [
          label,
          summary(times(runs), 0),
          key === 'litevault' ? '1' : summary(paired(runs, lvInc, ratio(ms))),
          bytesCell(okRuns(runs).map((r) => r.addedBytes)),
          key === 'litevault' ? '1' : summary(paired(runs, lvInc, ratio((r) => r.addedBytes))),
          own ? `${own} (round 1)` : '—',
          summary(okRuns(runs).map(parentMs), 0),
        ];
      }),
    ),
  );
  out.push('');

  // Small incrementals.
  const smallChange = vault.rounds.flatMap((round) => round.small.map((s) => s.change.pagesChanged));
  out.push(`### ${vault.smallRounds} small incrementals (${vault.smallPct}% of the pages each), before the restore`);
  out.push('');
  out.push(`Each: ${summary(smallChange, 0)} pages changed the same way (checkpointed), then one litevault incremental and one restic backup, timed like the others. Medians over all ${smallChange.length} small rounds.`);
  out.push('');
  const lvSmall = smallRuns(vault, 'litevault');
  out.push(
    table(
      ['Competitor', 'Time, ms: median (min–max)', 'Its time ÷ litevault\'s', 'Bytes added', 'Its bytes ÷ litevault\'s'],
      [
        ['litevault', 'litevault incremental'],
        ['restic', '`restic backup`'],
      ].map(([key, label]) => {
        const runs = smallRuns(vault, key);
        return [
          label,
          summary(times(runs), 0),
          key === 'litevault' ? '1' : summary(paired(runs, lvSmall, ratio(ms))),
          bytesCell(okRuns(runs).map((r) => r.addedBytes)),
          key === 'litevault' ? '1' : summary(paired(runs, lvSmall, ratio((r) => r.addedBytes))),
        ];
      }),
    ),
  );
  out.push('');
  const vb = vault.rounds.map((round) => round.vaultBytes);
  const rb = vault.rounds.map((round) => round.resticBytes);
  out.push(`Vault after the full and ${1 + vault.smallRounds} incrementals: ${bytesCell(vb)}; restic repository after its ${2 + vault.smallRounds} snapshots: ${bytesCell(rb)}.`);
  out.push('');

  // Restores.
  const cpRes = stage(vault, 'restore', 'cp-sync');
  const lvRes = stage(vault, 'restore', 'litevault');
  const resticRes = stage(vault, 'restore', 'restic');
  const withSync = resticRes.map((r) => (r?.ok ? { ...r, ms: r.ms + (r.syncMs ?? NaN) } : r));
  const checkOf = (runs) => {
    const c = runs.find((r) => r && r.check)?.check;
    return c ? (c.same ? 'the database\'s image (round 1)' : `**differs**: ${c.why}`) : '';
  };
  out.push(`### Restore of the last backup (a full + ${1 + vault.smallRounds} incrementals: the ${vault.changePct}% one and the ${vault.smallRounds} small ones)`);
  out.push('');
  out.push('To a new path on the same disk. Checks compare the restored file with the database byte for byte (outside header bytes 24..27, 40..43, 92..99).');
  out.push('');
  out.push(
    table(
      ['Competitor', 'Time, ms: median (min–max)', 'MiB/s', 'Its time ÷ `cp` + fsync', 'Its time ÷ litevault\'s', 'Spawn to exit, ms', 'Check'],
      [
        ['litevault `vault.restore(name, dest)` (fsync, link, directory fsync)', lvRes],
        ['`restic restore latest --target dir` (does not fsync the file)', resticRes],
        ['`restic restore` + `sync <file>`', withSync],
        ['`cp --sparse=never` + `sync <dest>`', cpRes],
      ].map(([label, runs]) => [
        label,
        summary(times(runs), 0),
        fmt(dbMiB / (median(times(runs)) / 1000), 0),
        summary(paired(runs, cpRes, ratio(ms))),
        summary(paired(runs, lvRes, ratio(ms))),
        runs === withSync ? '' : summary(okRuns(runs).map(parentMs), 0),
        runs === withSync ? '' : checkOf(runs),
      ]),
    ),
  );
  out.push('');

  // Where litevault's time goes.
  out.push('### Where litevault\'s time goes');
  out.push('');
  out.push('From the litevault children: `Vault.open()` time; CPU time of the whole process (every thread: the threadpool\'s reading, hashing, compression and writes) from `process.cpuUsage()`, and CPU ÷ wall (2.0 = both cores busy throughout); the time since the call started at which each `onProgress` phase was first and last reported; the result\'s counters; the event loop\'s worst delay and the peak RSS above an idle Node process.');
  out.push('');
  const diag = (label, runs) => {
    const ok = okRuns(runs);
    if (!ok.length) return [label, '—', '', '', '', '', '', '', ''];
    const cpuMs = ok.map((r) => (r.cpu ? r.cpu.userMs + r.cpu.systemMs : NaN));
    const phases = {};
    for (const r of ok) for (const [p, v] of Object.entries(r.phases || {})) (phases[p] ??= []).push(v);
    const phaseCell = Object.entries(phases)
      .map(([p, list]) => `${p} ${fmt(median(list.map((v) => v.firstMs)), 0)}–${fmt(median(list.map((v) => v.lastMs)), 0)} ms (${fmt(median(list.map((v) => v.calls)), 0)} calls)`)
      .join('; ');
    const res = ok[0].result || {};
    return [
      label,
      summary(times(runs), 0),
      summary(ok.map((r) => r.openMs), 1),
      `${summary(ok.map((r) => r.cpu?.userMs), 0)} / ${summary(ok.map((r) => r.cpu?.systemMs), 0)}`,
      summary(ok.map((r, i) => cpuMs[i] / r.ms), 2),
      phaseCell || '—',
      res.pagesScanned !== undefined ? `${res.pagesScanned?.toLocaleString('en-US')} scanned, ${res.pagesStored?.toLocaleString('en-US')} stored, ${bytes(res.bytesStored)}${res.restarts ? `, ${res.restarts} restarts` : ''}` : res.pageCount !== undefined ? `${res.pageCount.toLocaleString('en-US')} pages` : '—',
      ok.some((r) => r.eld) ? `${fmt(max(ok.map((r) => r.eld?.maxMs)))} ms` : '—',
      ok.some((r) => r.rss) ? bytes(max(ok.map((r) => r.rss?.peakAboveIdleKiB)) * 1024) : '—',
    ];
  };
  out.push(
    table(
      ['Run', 'Wall, ms', 'Vault.open, ms', 'CPU user / system, ms', 'CPU ÷ wall', 'Phases (ms since the call began)', 'Counters (round 1)', 'Event loop max', 'Peak RSS above idle'],
      [
        diag('full backup (zstd 1)', lvFull),
        diag('full backup (compression none)', stage(vault, 'full', 'litevault-none')),
        diag(`incremental (${vault.changePct}%)`, lvInc),
        diag(`small incrementals (${vault.smallPct}%)`, lvSmall),
        diag('restore', lvRes),
      ],
    ),
  );
  out.push('');

  // The diagnostic runs: the same calls with the vault's filesystem calls timed.
  const traced = [
    ['full backup', stage(vault, 'full', 'litevault-traced'), lvFull],
    [`incremental (${vault.changePct}%)`, stage(vault, 'incremental', 'litevault-traced'), lvInc],
    ['restore', stage(vault, 'restore', 'litevault-traced'), lvRes],
  ].filter(([, runs]) => okRuns(runs).some((r) => r.trace));
  if (traced.length) {
    out.push("Storage calls, from diagnostic runs (not competitors: the same call with the vault's `DirectoryStorage` given an FsOps table that times each real filesystem call; the full and incremental go to a vault of their own, the restore reads the vault above). Per kind: calls, summed time of the calls, and *busy*: the wall time during which at least one such call was in flight (calls overlap: several puts are in flight while the scan goes on). fsync counts both file and directory fsyncs. Medians over rounds.");
    out.push('');
    const kinds = ['open', 'write', 'fsync', 'link', 'unlink', 'mkdir', 'readFile', 'readdir'];
    out.push(
      table(
        ['Run', 'Wall, ms (untraced median)', 'Any storage call in flight, ms', ...kinds.map((k) => `${k}: calls / Σ ms / busy ms`)],
        traced.map(([label, runs, plain]) => {
          const ok = okRuns(runs).filter((r) => r.trace);
          const cell = (k) => {
            const list = ok.map((r) => r.trace[k]).filter(Boolean);
            if (!list.length) return '—';
            const b = median(list.map((x) => x.bytes));
            return `${fmt(median(list.map((x) => x.calls)), 0)} / ${fmt(median(list.map((x) => x.ms)), 0)} / ${fmt(median(list.map((x) => x.busyMs)), 0)}${b ? ` (${bytes(b)})` : ''}`;
          };
          return [label, `${summary(times(ok), 0)} (${fmt(median(times(plain)), 0)})`, fmt(median(ok.map((r) => r.trace.any?.busyMs)), 0), ...kinds.map(cell)];
        }),
      ),
    );
    out.push('');
  }
  return out;
}

// Its row in the report's main Targets table, and its splice into an existing report.
const { summaryRow: vaultSummaryRow, splice: spliceVault } = selfContainedSection('Vault', vaultTargets, renderVault);

module.exports = { renderVault, vaultTargets, vaultSummaryRow, spliceVault };
