// Renders the harness's results as bench/RESULTS.md.
'use strict';
const { median, min, max, percentile, fmt, summary, bytes } = require('./stats');
const { okRuns, times, markOf, kib, beyond, table, paired, ratio, ratioCell, eldCell, rssCell } = require('./report-common');
const { renderVault, vaultSummaryRow, spliceVault } = require('./report-vault');
const { renderVerify, verifySummaryRow, spliceVerify } = require('./report-verify');
const { renderStream, streamSummaryRow, spliceStream } = require('./report-stream');
const { renderRemote, remoteSummaryRow, spliceRemote } = require('./report-remote');
const { renderReplication, replicationSummaryRow, spliceReplication } = require('./report-replication');

/** Per-round ratios pick(a) / pick(b) over rounds where both ran. */
const pairedRatios = (as, bs, pick = (r) => r.ms) => paired(as, bs, ratio(pick));

function render(results) {
  const { opts, machine } = results;
  const out = [];
  const sizeLabel = `${fmt(opts.size, 0)} MiB`;
  const is1GiB = opts.size === 1024;
  out.push(`# litevault benchmark results${opts.smoke ? ' (SMOKE RUN: tiny sizes, timings meaningless)' : ''}`);
  out.push('');
  out.push(`Generated ${results.startedAt} by \`${results.command}\` (cwd \`${process.cwd()}\`), in ${fmt(results.durationMs / 60000, 1)} min.`);
  out.push(`Sections: ${results.sections.join(', ')}; ${opts.rounds} interleaved round(s); backup database ${sizeLabel}${results.source ? ` (${bytes(results.source.fileBytes)}, ${results.source.rows.toLocaleString('en-US')} rows)` : ''}.`);
  if (results.addonChanged) out.push(`\n**Warning:** ${results.addonChanged}.`);
  if (results.addonNote) out.push(`\nNote: ${results.addonNote}.`);
  if (results.errors.length) out.push(`\n**${results.errors.length} run(s) failed:**\n\n${results.errors.map((e) => `- ${e}`).join('\n')}`);
  out.push('');

  out.push('## Machine');
  out.push('');
  out.push(
    table(
      ['', ''],
      [
        ['CPU', `${machine.cpu}, ${machine.nproc} online CPUs (nproc)`],
        ['Memory', machine.memory],
        ['Kernel', machine.kernel],
        ['Virtualization', machine.virtualization],
        ['Kernel preemption', machine.preemption],
        ['Memory ballooning', machine.balloon],
        ['Load average (1/5/15 min)', `${(results.loadBefore || []).map((x) => x.toFixed(2)).join(' ')} before, ${(results.loadAfter || []).map((x) => x.toFixed(2)).join(' ')} after`],
        ['Other processes busy on the CPUs', `before: ${(results.busyBefore || []).join(', ') || 'none ≥ 5%'}; after: ${(results.busyAfter || []).join(', ') || 'none ≥ 5%'}`],
        ['Other CPU load before each run', activityCell(results)],
        ['Work dir', `\`${machine.workDir}\`: ${machine.disk.mount.replace(/\s+/g, ' ')} (device ${machine.disk.device}, ${machine.disk.rotational}${machine.disk.scheduler ? `, scheduler ${machine.disk.scheduler}` : ''}${machine.disk.model ? `, ${machine.disk.model}` : ''}); ${bytes(machine.disk.free)} free of ${bytes(machine.disk.size)}`],
        ['Disk space needed', `about ${bytes(results.diskNeeded)} at these sizes (source, copy and the scratch file touched before each run; checkpoint database + WAL, pristine and working copy; +10%)`],
        ['Node', machine.node],
        ['sqlite3 shell', machine.sqlite3Shell],
        ['better-sqlite3', `${machine.betterSqlite.version} (bundles SQLite ${machine.betterSqlite.sqlite})`],
        ['cp', machine.cp],
        ['litevault', `${machine.litevault}; addon ${machine.addon ? `${machine.addon.tree ? machine.addon.tree.path : machine.addon.path} (${machine.addon.from}, sha256 ${machine.addon.sha256}…)${machine.addon.tree ? ', benchmarked from a copy of it and of dist/ taken at the start' : ''}` : 'unknown'}`],
      ],
    ),
  );
  out.push('');

  out.push(...targets(results, is1GiB));
  if (results.backup) out.push(...backupSection(results));
  if (results.checkpoint) out.push(...checkpointSection(results));
  if (results.writer) out.push(...writerSection(results));
  if (results.vault) out.push(...renderVault(results.vault));
  if (results.verify) out.push(...renderVerify(results.verify));
  if (results.stream) out.push(...renderStream(results.stream));
  if (results.remote) out.push(...renderRemote(results.remote));
  if (results.replication) out.push(...renderReplication(results.replication));
  out.push(...loopAndMemory(results));
  out.push(...method(results));
  return out.join('\n') + '\n';
}

function activityCell(results) {
  const list = results.activity || [];
  if (!list.length) return 'not recorded';
  const busy = list.filter((a) => a.cpusBusy > 0.25);
  const waited = list.reduce((s, a) => s + Math.max(0, a.waitedS), 0);
  const range = `${fmt(min(list.map((a) => a.cpusBusy)))}–${fmt(max(list.map((a) => a.cpusBusy)))} CPUs busy just before the ${list.length} runs`;
  const detail = busy.map((a) => `${a.tag}: ${fmt(a.cpusBusy)} (${(a.others || []).join(', ')})`).join('; ');
  return `${range}${waited >= 1 ? `; ${fmt(waited / 60, 1)} min spent waiting for quiet (--wait-quiet ${results.opts.waitQuietS})` : ''}${busy.length ? `; ${busy.length} run(s) started with other load > 0.25 CPU: ${detail}` : '; none started with other load > 0.25 CPU (load that began during a run is not detected)'}`;
}

// ---------------------------------------------------------------------------------------------

function targets(results, is1GiB) {
  const { backup, checkpoint, writer, opts } = results;
  const mark = (pass) => (opts.smoke ? 'not judged (smoke)' : markOf(pass));
  const rows = [];
  const at = is1GiB ? '' : ` (measured at ${fmt(opts.size, 0)} MiB, not 1 GiB)`;
  const notRun = (what) => rows.push([what, 'not run', '', '—']);

  if (backup) {
    const r = (key) => backup.rounds.map((round) => round[key]);
    if (backup.rounds.every((round) => round.cli)) {
      // The whole CLI process (issue 17): node starting, the copy, the fsync, the exit.
      const cli = r('cli');
      const cliCpSync = pairedRatios(cli, r('cp-sync'));
      const cliCfr = pairedRatios(cli, r('cfr-sync'));
      const api = pairedRatios(r('litevault'), r('cp-sync'));
      rows.push([`\`litevault backup\` CLI${at}, whole process: ≤ 0.8× \`cp\` + fsync`, `${ratioCell(cliCpSync)} (${summary(times(cli), 0)} vs ${summary(times(r('cp-sync')), 0)} ms); the in-process \`backup()\` call ${ratioCell(api)}`, '≤ 0.8×', mark(cliCpSync.length ? median(cliCpSync) <= 0.8 : undefined)]);
      rows.push([`\`litevault backup\` CLI${at}: within 1.1× \`copy_file_range\` + fsync`, `${ratioCell(cliCfr)} (vs ${summary(times(r('cfr-sync')), 0)} ms)`, '≤ 1.1×', mark(cliCfr.length ? median(cliCfr) <= 1.1 : undefined)]);
      const sq = pairedRatios(r('sqlite3-backup'), cli);
      rows.push([`\`litevault backup\` CLI${at}: ≥ 4× faster than \`sqlite3 .backup\``, `\`sqlite3 .backup\` takes ${ratioCell(sq)} the CLI's time`, '≥ 4×', mark(sq.length ? median(sq) >= 4 : undefined)]);
      const bs = pairedRatios(r('better-sqlite3'), cli);
      rows.push([`\`litevault backup\` CLI${at}: ≥ 4× faster than better-sqlite3 \`backup()\``, `better-sqlite3 takes ${ratioCell(bs)} the CLI's time`, '≥ 4×', mark(bs.length ? median(bs) >= 4 : undefined)]);
    } else {
      notRun('`litevault backup` CLI vs `cp` + fsync, `copy_file_range` + fsync, `sqlite3 .backup`, better-sqlite3');
    }
  } else {
    notRun('Full backup vs `cp`, `sqlite3 .backup`, better-sqlite3');
  }

  // Event loop: every litevault run from Node (backups, checkpoints, backups under writers).
  // Judged against the idle Node child of the same run (issue 17): max at most its max + 1 ms,
  // p99 at most 1.1× its p99. Each run is held against the idle child of its own conditions: the
  // quiet runs against the quiet idle child, the backups under a writer against the idle child
  // the writer-alone window ran (the writer's commits, fsyncs and wakeups load the machine for
  // every process on it). The worst quiet idle child is kept in the cell too.
  const ours = ourNodeRuns(results);
  if (ours.length) {
    const idleOf = (key) => (results.backup ? okRuns(results.backup.rounds.map((round) => round[key])).filter((r) => r.eld) : []);
    const worstLate = (runs) => fmt(beyond(max(runs.map((r) => r.eld.maxMs))));
    const idle = idleOf('idle');
    const idleIo = idleOf('idle-io');
    const idleNote =
      (idle.length ? `; an idle Node child: ${worstLate(idle)} ms late at worst` : '') +
      (idleIo.length ? `, idle while \`dd\` copies the file: ${worstLate(idleIo)} ms` : '');
    const quietRef = idle.length ? { maxMs: max(idle.map((r) => r.eld.maxMs)), p99Ms: max(idle.map((r) => r.eld.p99Ms)), what: 'the idle child' } : undefined;
    const writerRef = {};
    for (const [rate, slot] of Object.entries(results.writer?.rates ?? {})) {
      const runs = okRuns(slot.baseline.map((x) => x.run)).filter((r) => r.eld);
      if (runs.length) writerRef[rate] = { maxMs: max(runs.map((r) => r.eld.maxMs)), p99Ms: max(runs.map((r) => r.eld.p99Ms)), what: `the idle child beside the ${rate}/s writer` };
    }
    const judged = ours.map((x) => ({ ...x, ref: x.rate !== undefined ? writerRef[x.rate] ?? quietRef : quietRef })).filter((x) => x.ref);
    const worstBy = (f) => judged.reduce((a, b) => (f(b) > f(a) ? b : a), judged[0]);
    const worst = worstBy((x) => x.run.eld.maxMs - x.ref.maxMs);
    const worstP99 = worstBy((x) => x.run.eld.p99Ms / x.ref.p99Ms);
    const writerNote = Object.values(writerRef).map((r) => `; ${r.what}: max ${fmt(r.maxMs)}, p99 ${fmt(r.p99Ms, 3)} ms`).join('');
    rows.push([
      'Event loop during any backup or checkpoint from Node: max ≤ the idle Node child\'s max + 1 ms',
      worst
        ? `worst of ${judged.length} runs against its idle child: max ${fmt(worst.run.eld.maxMs)} ms (${worst.what}) vs ${worst.ref.what}'s worst ${fmt(worst.ref.maxMs)} ms; quiet idle child's worst max ${fmt(quietRef?.maxMs)} ms${idleNote}${writerNote}`
        : 'no idle child to judge against',
      '≤ idle + 1 ms',
      mark(worst ? worst.run.eld.maxMs <= worst.ref.maxMs + 1 : undefined),
    ]);
    rows.push([
      'Event loop during any backup or checkpoint from Node: p99 ≤ 1.1× the idle Node child\'s p99',
      worstP99
        ? `worst of ${judged.length} runs against its idle child: p99 ${fmt(worstP99.run.eld.p99Ms, 3)} ms (${worstP99.what}) = ${fmt(worstP99.run.eld.p99Ms / worstP99.ref.p99Ms)}× ${worstP99.ref.what}'s worst p99 ${fmt(worstP99.ref.p99Ms, 3)} ms`
        : 'no idle child to judge against',
      '≤ 1.1×',
      mark(worstP99 ? worstP99.run.eld.p99Ms <= 1.1 * worstP99.ref.p99Ms : undefined),
    ]);
  } else {
    notRun('Event loop max delay < 2 ms');
  }

  if (writer && writer.rates[1000]) {
    const slot = writer.rates[1000];
    const runs = slot.litevault.map((x) => x.run);
    const ratio = pairedRatios(runs, writer.quiet);
    const restarts = okRuns(runs).reduce((s, r) => s + (r.restarts ?? 0), 0);
    rows.push([`Under a writer at 1000 commits/s${at}: snapshot backup ≤ 1.5× its quiet time`, `${ratioCell(ratio)} (${summary(times(runs), 0)} ms vs quiet ${summary(times(writer.quiet), 0)} ms)`, '≤ 1.5×', mark(ratio.length ? median(ratio) <= 1.5 : undefined)]);
    rows.push([`Under a writer at 1000 commits/s: 0 restarts`, `${restarts} restarts in ${okRuns(runs).length} backups`, '0', mark(okRuns(runs).length ? restarts === 0 : undefined)]);
    const baseP99 = percentile(slot.baseline.flatMap((x) => x.window.latenciesMs), 99);
    const withP99 = percentile(slot.litevault.flatMap((x) => x.window.latenciesMs), 99);
    const growth = withP99 / baseP99 - 1;
    const normalP99 = slot.litevaultNormal?.length ? percentile(slot.litevaultNormal.flatMap((x) => x.window.latenciesMs), 99) : undefined;
    const normalNote = normalP99 === undefined ? '' : `; at priority 'normal' ${fmt((normalP99 / baseP99 - 1) * 100, 1)}% (p99 ${fmt(normalP99, 3)} ms)`;
    rows.push([
      `Under a writer at 1000 commits/s: writer's p99 commit latency grows ≤ 10% during a background-priority backup`,
      `${growth >= 0 ? '+' : ''}${fmt(growth * 100, 1)}% (p99 ${fmt(withP99, 3)} ms with the backup vs ${fmt(baseP99, 3)} ms alone, pooled over ${slot.baseline.length} round(s))${normalNote}`,
      '≤ +10%',
      mark(Number.isFinite(growth) ? growth <= 0.1 : undefined),
    ]);
  } else {
    notRun('Backup under a writer at 1000 commits/s');
  }

  if (checkpoint) {
    const frames = checkpoint.frames;
    for (const [mode, byKey] of Object.entries(checkpoint.modes)) {
      const ratio = pairedRatios(byKey.litevault, byKey.sqlite);
      const withOpen = pairedRatios(byKey.litevault, byKey.sqlite, (r) => r.msWithOpen);
      rows.push([
        `Checkpoint of a ${frames?.toLocaleString('en-US')}-frame WAL, ${mode.toUpperCase()}: no slower than SQLite`,
        `${ratioCell(ratio)} SQLite's time (${summary(times(byKey.litevault), 0)} vs ${summary(times(byKey.sqlite), 0)} ms); with open ${ratioCell(withOpen)}`,
        '≤ 1.0×',
        mark(ratio.length ? median(ratio) <= 1.0 : undefined),
      ]);
    }
  } else {
    notRun('Checkpoint no slower than SQLite');
  }

  if (results.vault) rows.push(vaultSummaryRow(results.vault, opts.smoke));
  else notRun('Vault: full, incremental and restore vs sqlite3, zstd, restic and cp');
  if (results.verify) rows.push(verifySummaryRow(results.verify, opts.smoke));
  else notRun('Verify targets: `verify()` vs integrity_check and quick_check; the cost of verified vault backups');
  if (results.stream) rows.push(streamSummaryRow(results.stream, opts.smoke));
  else notRun('Stream targets: `litevault backup db -` vs `cat`; a stream into a slow consumer (RSS, event loop)');
  if (results.remote) rows.push(remoteSummaryRow(results.remote, opts.smoke));
  else notRun('Remote targets: a full backup to moto vs the raw upload of its bytes; peak RSS of remote backups');
  if (results.replication) rows.push(replicationSummaryRow(results.replication, opts.smoke));
  else notRun('Replication targets: lag at 1000 commits/s, the writer\'s latency, the -wal\'s size, restore to a point');

  if (backup) {
    const runs = okRuns(backup.rounds.map((round) => round.litevault)).filter((r) => r.rss);
    const worst = max(runs.map((r) => r.rss.peakAboveIdleKiB));
    rows.push([
      `Peak RSS during a${is1GiB ? ' 1 GiB' : ''} backup${at} < 64 MiB above an idle Node process`,
      `${kib(worst)} above idle (worst of ${runs.length}; idle child ${kib(median(runs.map((r) => r.rss.idleKiB)))})`,
      '< 64 MiB',
      mark(runs.length ? worst < 64 * 1024 : undefined),
    ]);
  } else {
    notRun('Peak RSS during a backup');
  }

  return [
    '## Targets',
    '',
    'Ratios are medians of per-round ratios (each round runs the competitors back to back), with the min–max over rounds in parentheses.',
    results.opts.smoke ? '\n**Smoke run: tiny sizes; these marks mean nothing and nothing is asserted.**\n' : '',
    table(['Target', 'Measured', 'Goal', ''], rows),
    '',
    rows.some((r) => r[3] === '❌') ? 'Where a target is missed, [PROFILES.md](PROFILES.md) says where the time goes (the profiles) and what was tried.\n' : '',
  ];
}

function ourNodeRuns(results) {
  const list = [];
  if (results.backup) {
    results.backup.rounds.forEach((round, i) => list.push({ what: `backup round ${i + 1}`, run: round.litevault }));
  }
  if (results.checkpoint) {
    for (const [mode, byKey] of Object.entries(results.checkpoint.modes)) byKey.litevault.forEach((r, i) => list.push({ what: `checkpoint ${mode} round ${i + 1}`, run: r }));
  }
  if (results.writer) {
    results.writer.quiet.forEach((r, i) => list.push({ what: `quiet backup (writer section) round ${i + 1}`, run: r }));
    for (const [rate, slot] of Object.entries(results.writer.rates)) slot.litevault.forEach((x, i) => list.push({ what: `backup under ${rate} commits/s round ${i + 1}`, run: x.run, rate }));
  }
  return list.filter((x) => x.run && x.run.ok && x.run.eld);
}

// ---------------------------------------------------------------------------------------------

function backupSection(results) {
  const { backup } = results;
  const mib = backup.sourceBytes / 1048576;
  const ours = backup.rounds.map((round) => round.litevault);
  const rows = backup.competitors.map(({ key, label, node, idle }) => {
    const runs = backup.rounds.map((round) => round[key]);
    const t = times(runs);
    const isIdle = Boolean(idle);
    const ratios = key === 'litevault' || isIdle ? [] : pairedRatios(runs, ours);
    const failed = runs.filter((r) => r && !r.ok).length;
    const verify = runs.find((r) => r && r.verify)?.verify;
    return [
      label,
      isIdle ? `(${summary(t, 0)} idle)` : summary(t, 0),
      isIdle ? '' : fmt(mib / (median(t) / 1000), 0),
      key === 'litevault' ? '1' : isIdle ? '' : summary(ratios),
      key === 'litevault' || isIdle ? '' : summary(pairedRatios(ours, runs)),
      node ? eldCell(runs) : 'n/a (not Node)',
      node ? rssCell(runs) : 'n/a',
      [verify ? `quick_check ${verify.check}, ${verify.rows.toLocaleString('en-US')} rows` : '', failed ? `${failed} failed` : ''].filter(Boolean).join('; '),
    ];
  });
  return [
    `## Backup: ${bytes(backup.sourceBytes)} WAL database, page cache warm`,
    '',
    'Time of each whole copy (Node-side runs: the call, timed in the child; commands: spawn to exit, timed by the parent). The destination is deleted, the file system synced and the source re-read (`cat`) before every run.',
    '',
    table(['Competitor', 'Time, ms: median (min–max)', 'MiB/s', 'Its time ÷ litevault\'s', 'litevault\'s ÷ its', 'Event loop delay, ms', 'Peak RSS above idle Node', 'Checks (round 1)'], rows),
    '',
    'litevault and the SQLite-based copies fsync the destination (a crash-safe, durable copy); plain `cp` does not, so `cp` + `sync <dest>` (fsync of the copy) is the like-for-like baseline. `VACUUM INTO` rebuilds the database rather than copying pages.',
    '',
  ];
}

function checkpointSection(results) {
  const { checkpoint } = results;
  const times1 = [];
  const detail = [];
  for (const [mode, byKey] of Object.entries(checkpoint.modes)) {
    const lv = byKey.litevault;
    const sq = byKey.sqlite;
    const rec = byKey.sqliteRecovered;
    times1.push([
      mode.toUpperCase(),
      summary(times(lv), 0),
      summary(okRuns(lv).map((r) => r.msWithOpen), 0),
      summary(times(sq), 0),
      summary(okRuns(sq).map((r) => r.msWithOpen), 0),
      summary(times(rec), 0),
      summary(pairedRatios(lv, sq)),
      summary(pairedRatios(lv, sq, (r) => r.msWithOpen)),
    ]);
    const rowsOf = (runs) => [...new Set(okRuns(runs).map((r) => JSON.stringify(r.result)))].join(' ');
    const same = okRuns(lv).length && rowsOf(lv) === rowsOf(sq);
    const verify = lv.find((r) => r && r.verify);
    detail.push([
      mode.toUpperCase(),
      rowsOf(lv),
      rowsOf(sq),
      same ? 'identical' : '**differ**',
      verify ? `quick_check ${verify.verify.check}; -wal ${bytes(verify.walBytesAfter)} after` : '',
      eldCell(lv),
      eldCell(sq),
      rssCell(lv),
      rssCell(sq),
    ]);
  }
  return [
    `## Checkpoint: ${checkpoint.frames?.toLocaleString('en-US')}-frame WAL (${bytes(checkpoint.walBytes)}, ${checkpoint.transactions?.toLocaleString('en-US')} transactions of up to 10 random row updates, ${checkpoint.distinctPages?.toLocaleString('en-US') ?? '?'} distinct pages) over a ${bytes(checkpoint.dbBytes)} database`,
    '',
    'Each run gets a fresh copy of the same database + `-wal` (no `-shm`; fsynced, then read into the page cache), in a fresh child. litevault: `Database.open()`, then `new Checkpoint(db, {mode}).step(-1)` + `finish()` timed. SQLite (better-sqlite3): `new Database()`, then only `db.pragma("wal_checkpoint(MODE)")` timed. Both timed spans include rebuilding the WAL index from the `-wal` (recovery), which the first reader of a WAL without `-shm` must do; "after recovery" times SQLite\'s pragma after a first read already did that (a reference, not a target).',
    '',
    table(['Mode', 'litevault, ms', 'litevault incl. open', 'SQLite pragma, ms', 'SQLite incl. open', 'SQLite pragma after recovery (ref.)', 'litevault ÷ SQLite', 'litevault ÷ SQLite, incl. open'], times1),
    '',
    table(['Mode', 'litevault row {busy, log, checkpointed}', 'SQLite row', 'Rows', 'litevault result (round 1)', 'litevault event loop, ms', 'SQLite event loop, ms', 'litevault peak RSS above idle', 'SQLite peak RSS above idle'], detail),
    '',
  ];
}

function writerSection(results) {
  const { writer } = results;
  const out = [
    `## Backups under a live writer (${bytes(writer.sourceBytes)} source)`,
    '',
    `A better-sqlite3 child commits one 100-byte row per transaction (autocommit INSERT) on a fixed schedule (open loop: a late commit does not delay later ones), \`journal_mode=WAL\`, \`synchronous=${writer.synchronous}\`, default auto-checkpoint; it times every commit with hrtime. The writer's measurement window is exactly the backup's timed call (marked by the backup child as it starts and ends); "alone" is a window as long as the quiet backup (at least 1 s) with no backup. Latency percentiles are pooled over the rounds (per-round p99: median and min–max). better-sqlite3's backup is given up after ${fmt(writer.timeoutMs / 1000, 0)} s.`,
    '',
    `Quiet litevault snapshot backup in this section (no writer): ${summary(times(writer.quiet), 0)} ms.`,
    '',
  ];
  for (const [rate, slot] of Object.entries(writer.rates)) {
    const row = (label, entries, backupRuns) => {
      const lat = entries.flatMap((x) => x.window.latenciesMs);
      const runs = backupRuns ?? [];
      const t = times(runs);
      const finished = okRuns(runs).filter((r) => r.finished).length;
      return [
        label,
        backupRuns ? (finished ? summary(okRuns(runs).filter((r) => r.finished).map((r) => r.ms), 0) : `none within ${fmt(writer.timeoutMs / 1000, 0)} s`) : '—',
        backupRuns && finished ? summary(pairedRatios(runs, writer.quiet)) : '—',
        backupRuns ? `${finished}/${runs.length}` : '—',
        backupRuns ? summary(okRuns(runs).map((r) => r.restarts), 0) : '—',
        fmt(median(entries.map((x) => x.window.rate)), 0),
        fmt(percentile(lat, 50), 3),
        fmt(percentile(lat, 99), 3),
        summary(entries.map((x) => x.window.p99), 3),
        fmt(percentile(lat, 100), 2),
        fmt(median(entries.map((x) => x.window.lagP99)), 2),
        `${lat.length}`,
        backupRuns ? eldCell(runs) : '—',
      ];
    };
    out.push(`### ${rate} commits/s`);
    out.push('');
    out.push(
      table(
        ['Scenario', 'Backup time, ms', '÷ quiet', 'Finished', 'Restarts', 'Writer commits/s', 'Commit p50, ms', 'Commit p99, ms', 'p99 per round', 'Commit max, ms', 'Schedule lag p99, ms', 'Commits timed', 'Backup process event loop, ms'],
        [
          row('writer alone', slot.baseline),
          row('+ litevault snapshot backup (background priority, the default)', slot.litevault, slot.litevault.map((x) => x.run)),
          ...(slot.litevaultNormal?.length ? [row("+ litevault snapshot backup, priority 'normal'", slot.litevaultNormal, slot.litevaultNormal.map((x) => x.run))] : []),
          row('+ better-sqlite3 backup()', slot.betterSqlite3, slot.betterSqlite3.map((x) => x.run)),
        ],
      ),
    );
    out.push('');
  }
  return out;
}

function loopAndMemory(results) {
  const groups = [];
  const add = (label, runs) => {
    const ok = okRuns(runs).filter((r) => r.eld);
    if (ok.length) groups.push([label, ok]);
  };
  if (results.backup) {
    const r = (key) => results.backup.rounds.map((round) => round[key]);
    add('litevault backup (quiet)', r('litevault'));
    add('better-sqlite3 backup (quiet)', r('better-sqlite3'));
    add('idle Node child (reference)', r('idle'));
    add('idle Node child while dd copies the source (reference)', r('idle-io'));
  }
  if (results.checkpoint) {
    const all = (key) => Object.values(results.checkpoint.modes).flatMap((m) => m[key]);
    add('litevault checkpoint (all modes)', all('litevault'));
    add('SQLite wal_checkpoint pragma (all modes)', all('sqlite').concat(all('sqliteRecovered')));
  }
  if (results.writer) {
    add('litevault backup (writer section: quiet and under writers)', results.writer.quiet.concat(Object.values(results.writer.rates).flatMap((s) => s.litevault.map((x) => x.run))));
    add('better-sqlite3 backup under writers', Object.values(results.writer.rates).flatMap((s) => s.betterSqlite3.map((x) => x.run)));
    add('idle Node child in the writer-alone windows (writer section; reference)', Object.values(results.writer.rates).flatMap((s) => s.baseline.map((x) => x.run)));
  }
  if (results.vault) {
    const v = results.vault;
    const stage = (name, key) => v.rounds.map((round) => round[name]?.[key]);
    add('litevault vault backups (full, incremental, small incrementals)', stage('full', 'litevault').concat(stage('full', 'litevault-none'), stage('incremental', 'litevault'), v.rounds.flatMap((round) => round.small.map((s) => s.runs.litevault))));
    add('litevault vault restores', stage('restore', 'litevault'));
  }
  if (results.verify) {
    const r = (key) => results.verify.rounds.map((round) => round[key]);
    add('litevault verify()', r('litevault'));
    add('litevault vault backups, verified and not (verify section)', r('vault').concat(r('vault-noverify')));
    add('litevault backup(), verified and not (verify section)', r('backup-verify').concat(r('backup')));
  }
  if (results.stream) {
    const r = (key) => results.stream.rounds.map((round) => round[key]);
    add('litevault backupStream() into /dev/null (stream section)', r('in-process'));
    add(`litevault backupStream() into a consumer taking 1 MiB every ${results.stream.intervalMs} ms (stream section)`, r('slow'));
    add('idle Node child, as long as that slow stream (stream section; reference)', r('idle'));
  }
  if (results.remote) {
    const r = (name, key) => results.remote.rounds.map((round) => round[name]?.[key]);
    add('litevault vault backups to moto, full and incremental (remote section)', r('full', 'litevault').concat(r('incremental', 'litevault')));
    add('lib-storage uploads of the same objects (remote section; references, their objects in memory)', r('full', 'raw').concat(r('full', 'raw-md5')));
  }
  if (!groups.length) return [];
  const rows = groups.map(([label, ok]) => {
    const maxes = ok.map((r) => r.eld.maxMs);
    return [
      label,
      ok.length,
      summary(maxes),
      fmt(beyond(max(maxes))),
      summary(ok.map((r) => r.eld.p99Ms)),
      summary(ok.map((r) => r.rss.peakAboveIdleKiB / 1024), 1),
      summary(ok.map((r) => r.rss.peakAboveLoadedKiB / 1024), 1),
      fmt(median(ok.map((r) => r.rss.idleKiB / 1024)), 1),
    ];
  });
  return [
    '## Event loop and memory of every Node-side run',
    '',
    '`perf_hooks.monitorEventLoopDelay({ resolution: 1 })` in each child, enabled 20 ms before the operation until ~6 ms after it. Node records the full interval between its 1 ms timer callbacks, so an idle loop reads about 1.05–1.1 ms; "late" is the max minus that 1 ms tick (the target is judged on it). Peak RSS is `process.resourceUsage().maxRSS` at the end minus its value right after the child started (before loading any library: an idle Node process); "above loaded" subtracts the RSS after loading the library instead.',
    '',
    table(['Runs', 'n', 'Loop max, ms: median (min–max)', 'Worst max beyond the 1 ms tick, ms', 'Loop p99, ms', 'Peak RSS above idle, MiB', 'Above loaded, MiB', 'Idle child RSS, MiB'], rows),
    '',
  ];
}

function method(results) {
  const { opts } = results;
  return [
    '## How these numbers were made',
    '',
    `- Command: \`${results.command}\`. Options: size ${opts.size} MiB, ${opts.rounds} round(s), checkpoint WAL ${opts.frames} frames over ${opts.ckptSize} MiB, writer rates ${opts.rates.join(' and ')}/s with synchronous=${opts.writerSync}.`,
    '- The databases are built by better-sqlite3 (4 KiB pages; `items(id INTEGER PRIMARY KEY, tag, body BLOB)` with 200–1799-byte random blobs, big transactions), then switched to WAL and closed (no `-wal` left).',
    `- All runs are children of one harness process, run one at a time and interleaved per round (A B C … then B C … A, each round starting one competitor later so that no competitor always follows the same one), in a work directory on the same file system as /tmp. Before every run (untimed): the previous destination is deleted, the file system synced, ${opts.prefault ? `${fmt(opts.size * 1.1, 0)} MiB of fresh memory touched by writing and deleting a scratch file (on this VM freed memory goes back to the host and write() into new page-cache pages would otherwise be several times slower at random), ` : 'no memory pre-touching (--no-prefault), '}and the inputs read into the page cache.`,
    '- Node-side competitors (litevault, better-sqlite3) each run in a fresh `node` child that times its own call and measures its own event loop and RSS; the harness also records the spawn-to-exit time (`parentMs` in the JSON twin of this file).',
    '- The raw measurements of every run are in the `.json` file next to this one.',
    '',
  ];
}

module.exports = { render, spliceVault, spliceVerify, spliceStream, spliceRemote, spliceReplication };
