// Renders the replication section of bench/RESULTS.md (from bench/replication.js's results).
// Self-contained like the vault, verify, stream and remote sections (its own run description and
// targets), so `--only replication` can splice it into a report made by an earlier run
// (spliceReplication).
'use strict';
const { median, min, max, fmt, summary, bytes } = require('./stats');
const { okRuns, table, paired, ratioCell, sectionOpening, litevaultTool, targetLines, selfContainedSection } = require('./report-common');

const LAG_MS = 1000; // replication lag p99 < 1 s
const LATENCY_GROWTH = 1.1; // the writer's p99 commit latency grows at most 10%
const RESTORE_RATIO = 2; // a restore to a point at most 2 x its full backup's restore
const MiB = 1048576;

const runsOf = (repl, kind) => repl.rounds.map((r) => r[kind]);
const label = { dir: 'a directory vault', s3: 'moto_server (S3) on loopback' };
const firstLine = (text) => String(text ?? '').split('\n')[0];
// A share of an hour at the section's rate, in words.
const spanWords = (hours) => (hours === 1 ? 'one hour' : hours * 60 >= 1 ? `${fmt(hours * 60, 1)} minutes` : `${fmt(hours * 3600, 1)} seconds`);
const msCell = (v) => (Number.isFinite(v) ? `${fmt(v, 0)} ms` : '—');

// The lag's cell for one vault kind: pooled p99, per-round p99s, and what it leaves out.
function lagCell(repl, kind) {
  const runs = okRuns(runsOf(repl, kind)).filter((r) => r.lag);
  const pooled = repl.pooled?.[kind]?.lag ?? { n: 0 };
  const perRound = runs.map((r) => r.lag.segment.p99);
  const heals = runs.reduce((a, r) => a + r.lag.heals, 0);
  const healMs = runs.flatMap((r) => r.lag.healDurationsMs ?? []);
  const unmapped = runs.reduce((a, r) => a + r.lag.unmapped, 0);
  const atStop = runs.reduce((a, r) => a + r.lag.atStop, 0);
  const allP99 = runs.map((r) => r.lag.all?.p99);
  return `p99 ${msCell(pooled.p99)} over ${(pooled.n ?? 0).toLocaleString('en-US')} transactions shipped in segments, pooled over ${runs.length} run(s) (per round ${perRound.map((v) => msCell(v)).join(', ')}; p50 ${msCell(pooled.p50)}, max ${msCell(pooled.max)}); ${heals} heal(s)${heals ? ` (gap to heal backup: ${summary(healMs, 0)} ms; with the transactions only they made restorable, per-round p99 ${allP99.map((v) => msCell(v)).join(', ')})` : ''}${unmapped ? `; ${unmapped} transactions left out (a heal's commit count not resolved)` : ''}${atStop ? `; ${atStop} shipped only at SIGTERM, left out` : ''}`;
}

// Per-round ratio of the writer's p99 commit latency under the replicator to its p99 alone.
const p99Ratios = (repl, kind) => paired(runsOf(repl, kind), runsOf(repl, 'alone'), (a, b) => a.writer.latency.p99 / b.writer.latency.p99);

/** The replication targets: [label, measured, goal, pass] rows (pass undefined when not measured). */
function replicationTargets(repl) {
  const rows = [];
  for (const kind of ['dir', 's3']) {
    const pooled = repl.pooled?.[kind]?.lag;
    rows.push([
      `Replication lag p99 < 1 s at ${repl.rate} commits/s, to ${label[kind]} (\`--interval ${repl.interval}\`)`,
      lagCell(repl, kind),
      `< ${LAG_MS} ms`,
      pooled?.n ? pooled.p99 < LAG_MS : undefined,
    ]);
  }
  for (const kind of ['dir', 's3']) {
    const ratios = p99Ratios(repl, kind);
    const withRep = okRuns(runsOf(repl, kind));
    const alone = okRuns(runsOf(repl, 'alone'));
    rows.push([
      `The writer's p99 commit latency with the replicator (to ${label[kind]}) grows ≤ 10% over the writer alone`,
      `${ratioCell(ratios)} (p99 ${summary(withRep.map((r) => r.writer.latency.p99))} ms vs alone ${summary(alone.map((r) => r.writer.latency.p99))} ms; pooled over the rounds ${fmt(repl.pooled?.[kind]?.latency?.p99)} vs ${fmt(repl.pooled?.alone?.latency?.p99)} ms; max ${fmt(max(withRep.map((r) => r.writer.latency.max)))} vs ${fmt(max(alone.map((r) => r.writer.latency.max)))} ms)`,
      `≤ ${LATENCY_GROWTH}×`,
      ratios.length ? median(ratios) <= LATENCY_GROWTH : undefined,
    ]);
  }
  const replicated = okRuns(runsOf(repl, 'dir').concat(runsOf(repl, 's3')));
  const worst = max(replicated.map((r) => r.wal.maxBytes));
  rows.push([
    `The -wal never above 2 × \`--wal-frames\` (${repl.walFrames} frames: ${bytes(repl.walLimitBytes)}), sampled every ${repl.sampleMs} ms`,
    `max ${bytes(worst)} (${fmt((worst - 32) / (repl.pageSize + 24), 0)} frames) over ${replicated.length} replicated runs (directory ${bytes(max(okRuns(runsOf(repl, 'dir')).map((r) => r.wal.maxBytes)))}, moto ${bytes(max(okRuns(runsOf(repl, 's3')).map((r) => r.wal.maxBytes)))}; the writer alone ${bytes(max(okRuns(runsOf(repl, 'alone')).map((r) => r.wal.maxBytes)))})`,
    `≤ ${bytes(repl.walLimitBytes)}`,
    replicated.length ? worst <= repl.walLimitBytes : undefined,
  ]);
  const h = repl.hist || {};
  const point = (h.rounds || []).map((r) => r.point);
  const full = (h.rounds || []).map((r) => r.full);
  const ratios = paired(point, full, (a, b) => a.ms / b.ms);
  const hours = (h.transactions ?? repl.history) / (repl.rate * 3600);
  rows.push([
    `Restore to a point ${spanWords(hours)}${hours === 1 ? '' : ' (scaled down from one hour)'} of ${repl.rate} commits/s (${(h.transactions ?? repl.history).toLocaleString('en-US')} transactions) after its full backup ≤ 2 × restoring that full backup alone`,
    `${ratioCell(ratios)} (\`vault restore --at tx:${h.lastTxid ?? '?'}\` ${summary(okRuns(point).map((r) => r.ms), 0)} ms vs \`--at ${h.full?.id ?? '?'}\` ${summary(okRuns(full).map((r) => r.ms), 0)} ms, whole processes)${h.anchor && h.anchor.seq !== h.full?.seq ? `; **the point's anchor is backup ${h.anchor.seq} (a ${h.anchor.heal ? 'heal' : 'policy backup'}), not the full backup**` : ''}`,
    `≤ ${RESTORE_RATIO}×`,
    ratios.length ? median(ratios) <= RESTORE_RATIO : undefined,
  ]);
  return rows;
}

/** The replication section's lines. */
function renderReplication(repl) {
  const run = repl.run || {};
  const m = run.machine || {};
  const h = repl.hist || {};
  const out = sectionOpening(run, {
    section: 'replication',
    title: `Replication: \`litevault replicate\` under a ${repl.rate} commits/s writer into a directory and into moto_server, and a restore to a point (${bytes(repl.sourceBytes)} WAL database, ${repl.pageSize}-byte pages)`,
    durationMs: repl.durationMs,
    database: `the bench database (${bytes(repl.sourceBytes)}, ${repl.pageCount.toLocaleString('en-US')} pages, built by better-sqlite3, WAL mode); every run replicates a fresh copy of it, into which the writer appends`,
    tools: `${litevaultTool(m)}: \`node dist/cli.js replicate <db> <vault> --json --name ${repl.name} --interval ${repl.interval} --wal-frames ${repl.walFrames}\` (+ \`--endpoint\` for moto) as a child; Node ${m.node || '?'}; better-sqlite3 ${m.betterSqlite?.version || '?'} (SQLite ${m.betterSqlite?.sqlite || '?'}) as the writer; moto ${repl.moto} (\`moto_server\` on a free 127.0.0.1 port, started and stopped by the section, reset after each round)`,
    inputs: 'the database copy (live runs), the history vault (restores)',
    more: [
      ['Writer', `bench/children/repl-writer.js: better-sqlite3 in its own process, \`journal_mode=WAL\`, \`synchronous=${repl.synchronous}\`, \`wal_autocheckpoint=${repl.autocheckpoint ?? 1000}\`, busy_timeout 5000; one autocommit \`INSERT INTO repl_log (id, ts, body)\` of a 100-byte blob per transaction, \`id\` = the commit number; open-loop schedule of ${repl.rate}/s for ${fmt(repl.seconds, 0)} s per run; each commit timed with hrtime (latency = the INSERT's run(), commit time = its end)`],
      ['Runs per round', `rotated: *alone* (the writer, nothing else), *dir* (\`litevault replicate\` into a fresh directory vault, started first: its start backup done, then the writer) and *s3* (the same into \`s3://<fresh bucket>/vault\` on moto). After the writer's last commit the replicator runs ${3} more intervals, then gets SIGTERM (which ships what it has) and must exit 0 with its final stats`],
      ['Lag', `of transaction k: the time the harness read (from the replicator's stdout, its own hrtime clock, CLOCK_MONOTONIC as the writer's) the \`segment\` event whose txid range covers k, minus the writer's commit time of k. Txids map to commits one to one after each anchor (the replicator numbers the transactions it ships in commit order, and the writer, the only one, starts after the start backup: txid 1 + j is commit j), the last stretch from the end (every commit is shipped by SIGTERM), a heal's own count by restoring that point (bench/replication.js explains it). Round 1 checks it: \`vault restore --at tx:<last>\` must hold every commit (max(id) = count(*) = the commits, quick_check ok). A heal (\`gap\` → \`backup\`) makes the commits since the last segment restorable at its backup event; its duration is gap event to backup event`],
      ['Checks', checkCell(repl)],
    ],
  });
  out.push(
    ...targetLines(
      'Replication',
      'Lag is judged on the p99 of every transaction shipped in a segment, pooled over the rounds. The latency growth is the median of per-round ratios of p99s (the replicated run against the writer alone in the same round). The restore ratio is of whole `litevault vault restore` processes, spawn to exit, per round.',
      replicationTargets(repl),
      run.smoke,
    ),
  );

  out.push('### Live runs');
  out.push('');
  const rows = [];
  for (const kind of ['alone', 'dir', 's3']) {
    for (const r of runsOf(repl, kind)) {
      if (!r) continue;
      if (!r.ok) {
        rows.push([r.round, kind, `**failed: ${firstLine(r.error)}**`, '', '', '', '', '', '', '', '', '']);
        continue;
      }
      const w = r.writer;
      const lag = r.lag;
      const st = r.replicator?.stats;
      const ev = r.replicator?.events || {};
      rows.push([
        r.round,
        kind,
        `${w.commits.toLocaleString('en-US')} (${fmt(w.rate, 0)}/s; schedule lag p99 ${fmt(w.scheduleLag.p99)} ms)`,
        `${fmt(w.latency.p50, 3)} / ${fmt(w.latency.p99)} / ${fmt(w.latency.p999)} / ${fmt(w.latency.max)}`,
        `${bytes(r.wal.maxBytes)} (mean ${bytes(r.wal.meanBytes)})`,
        lag ? `${fmt(lag.segment.p50, 0)} / ${fmt(lag.segment.p99, 0)} / ${fmt(lag.segment.max, 0)}` : '',
        lag ? `${lag.heals}${lag.heals ? ` (${summary(lag.healDurationsMs, 0)} ms; ${[...new Set(lag.gapReasons)].join(', ')})` : ''}` : '',
        st ? `${st.segments} (${bytes(st.bytes)})` : '',
        st ? `${ev['checkpoint:truncated'] ?? 0} / ${ev['checkpoint:kept'] ?? 0}` : '',
        r.replicator?.cpu ? `${fmt(r.replicator.cpu.userMs, 0)} / ${fmt(r.replicator.cpu.systemMs, 0)} (${fmt((r.replicator.cpu.userMs + r.replicator.cpu.systemMs) / r.replicator.cpu.wallMs, 2)} of a CPU)` : '',
        r.replicator?.peakRssKiB ? bytes(r.replicator.peakRssKiB * 1024) : '',
        r.startBackupMs ? `${fmt(r.startBackupMs, 0)} / ${fmt(r.stoppedMs, 0)}` : '',
      ]);
    }
  }
  out.push(table(['Round', 'Run', 'Commits', 'Writer latency p50 / p99 / p99.9 / max, ms', '-wal max', 'Lag p50 / p99 / max, ms', 'Heals (gap → backup)', 'Segments', 'Checkpoints truncated / kept', 'Replicator CPU user / system, ms', 'Replicator peak RSS', 'Start backup / stop, ms'], rows));
  out.push('');
  out.push(`Replicator CPU: from /proc over the writer's run and the ${3} intervals after it; peak RSS: its VmHWM. Schedule lag: how late the writer started a commit against its open-loop schedule (the writer's own CPU starvation).`);
  out.push('');

  out.push('### Restore to a point');
  out.push('');
  if (!h.ok && h.error) out.push(`**The history failed: ${firstLine(h.error)}**\n`);
  const hours = (h.transactions ?? repl.history) / (repl.rate * 3600);
  out.push(`History: a fresh copy of the database, \`litevault replicate\` into a directory vault (as above), then the writer unpaced (bursts of 200 commits, a 1 ms timer between bursts so that the replicator's checkpoint can take the write lock) for ${(h.transactions ?? repl.history).toLocaleString('en-US')} transactions: ${spanWords(hours)} at ${repl.rate}/s${hours === 1 ? '' : ' (**scaled down from one hour**)'}, made in ${fmt((h.writerMs ?? NaN) / 1000, 0)} s (${fmt(h.writerRate, 0)} commits/s), all shipped ${fmt((h.caughtUpMs ?? NaN) / 1000, 0)} s after the writer started; -wal max ${bytes(h.wal?.maxBytes)}. No policy backup falls in it (the history is made in minutes, the differential is due after an hour), so the newest anchor before the last transaction is the start's full backup${h.anchor ? ` (here: backup ${h.anchor.seq}, txid ${h.anchor.txid}${h.anchor.heal && h.anchor.seq !== h.full?.seq ? ', a heal' : ''})` : ''} unless a gap was healed. Log: ${h.log ? `${h.log.segments.toLocaleString('en-US')} segments, ${bytes(h.log.bytes)}, txids ${h.log.range?.firstTxid}..${h.log.range?.lastTxid}, ${h.log.heals} heal anchor(s)` : '—'}; replicator events ${h.replicator ? JSON.stringify(h.replicator.events) : '—'}; full backup ${h.full ? `${h.full.id} (${h.full.pageCount.toLocaleString('en-US')} pages, ${bytes(h.full.bytesStored)} stored)` : '—'}; vault ${bytes(h.vaultBytes)}.`);
  out.push('');
  const point = (h.rounds || []).map((r) => r.point);
  const full = (h.rounds || []).map((r) => r.full);
  const restoreRow = (what, runs) => [what, summary(okRuns(runs).map((r) => r.ms), 0), summary(okRuns(runs).map((r) => r.result?.ms), 0), runs.find((r) => r?.check) ? `${runs.find((r) => r.check).check.commits.toLocaleString('en-US')} commits, quick_check ${runs.find((r) => r.check).check.check}` : '—'];
  out.push(table(['Restore (a whole CLI process)', 'Spawn to exit, ms: median (min–max)', "Its own 'ms', ms", 'Check (round 1)'], [restoreRow(`\`vault restore --at tx:${h.lastTxid ?? '?'}\` (anchor + the log)`, point), restoreRow(`\`vault restore --at ${h.full?.id ?? '?'}\` (the full backup alone)`, full)]));
  out.push('');
  out.push(`Per-round ratio: ${ratioCell(paired(point, full, (a, b) => a.ms / b.ms))}.`);
  out.push('');
  return out;
}

function checkCell(repl) {
  const checks = okRuns(runsOf(repl, 'dir').concat(runsOf(repl, 's3'))).filter((r) => r.check);
  const parts = checks.map((r) => `${r.kind} round ${r.round}: \`restore --at tx:${r.check.txid}\` holds ${r.check.commits.toLocaleString('en-US')} of ${r.check.expected.toLocaleString('en-US')} commits, quick_check ${r.check.check}`);
  const h = repl.hist?.rounds?.[0];
  if (h?.point?.check) parts.push(`history point restore: ${h.point.check.commits.toLocaleString('en-US')} commits, quick_check ${h.point.check.check}`);
  if (h?.full?.check) parts.push(`full backup restore: ${h.full.check.commits} commits, quick_check ${h.full.check.check}`);
  return parts.length ? parts.join('; ') : 'none';
}

const { summaryRow: replicationSummaryRow, splice: spliceReplication } = selfContainedSection('Replication', replicationTargets, renderReplication);

module.exports = { renderReplication, replicationTargets, replicationSummaryRow, spliceReplication };
