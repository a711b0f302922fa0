// Renders the stream section of bench/RESULTS.md (from bench/stream.js's results). Like the vault
// and verify sections it is self-contained (its own run description and targets), so `--only
// stream` can splice it into a report made by an earlier run of the other sections (spliceStream).
'use strict';
const { median, max, fmt, summary, bytes } = require('./stats');
const { okRuns, times, kib, table, paired, ratio, ms, parentMs, ratioCell, eldCell, rssCell, cpuCell, sectionOpening, litevaultTool, sizeNote, roundRuns, nodeCell, targetLines, selfContainedSection } = require('./report-common');

const MiB = 1048576;
const VS_CAT = 1.2; // the CLI streaming to /dev/null takes at most 1.2 × `cat db > /dev/null`
const RSS_MIB = 64; // the slow consumer's peak RSS above an idle Node process
const ELD_MS = 2; // the slow consumer's event-loop max delay above the idle child's, same round

const loopMax = (r) => r.eld?.maxMs;

/** The stream targets: [label, measured, goal, pass] rows (pass undefined when not measured). */
function streamTargets(stream) {
  const run = stream.run || {};
  const at = sizeNote(run);
  const cli = roundRuns(stream, 'cli');
  const inProcess = roundRuns(stream, 'in-process');
  const cat = roundRuns(stream, 'cat');
  const sqlite = roundRuns(stream, 'sqlite3-backup');
  const slow = roundRuns(stream, 'slow');
  const idle = roundRuns(stream, 'idle');
  const rows = [];
  const vsCat = paired(cli, cat, ratio(parentMs));
  rows.push([
    `Streamed backup${at} to /dev/null: \`litevault backup db - > /dev/null\` (whole process) ≤ ${VS_CAT} × \`cat db > /dev/null\``,
    `${ratioCell(vsCat)} its time (${summary(times(cli), 0)} vs ${summary(times(cat), 0)} ms, spawn to exit; the CLI's start-up and exit alone ${summary(times(roundRuns(stream, 'cli-startup')), 0)} ms). In-process \`pipeline(backupStream(db), /dev/null)\`: ${ratioCell(paired(inProcess, cat, ratio(ms)))} (${summary(times(inProcess), 0)} ms timed in the child), spawn to exit ${ratioCell(paired(inProcess, cat, ratio(parentMs)))}. \`sqlite3 .backup\` to a file takes ${ratioCell(paired(sqlite, cli, ratio(parentMs)))} the CLI's time`,
    `≤ ${VS_CAT}×`,
    vsCat.length ? median(vsCat) <= VS_CAT : undefined,
  ]);
  const rss = okRuns(slow).filter((r) => r.rss).map((r) => r.rss.peakAboveIdleKiB);
  rows.push([
    `Stream${at} into a consumer taking 1 MiB every ${stream.intervalMs} ms: peak RSS < ${RSS_MIB} MiB above an idle Node process`,
    `${kib(max(rss))} above idle (worst of ${rss.length}; ${kib(max(okRuns(slow).filter((r) => r.rss).map((r) => r.rss.peakAboveLoadedKiB)))} above the loaded library)`,
    `< ${RSS_MIB} MiB`,
    rss.length ? max(rss) < RSS_MIB * 1024 : undefined,
  ]);
  const above = paired(slow, idle, (a, b) => loopMax(a) - loopMax(b));
  const fsSlow = roundRuns(stream, 'fs-slow');
  const fsAbove = paired(fsSlow, idle, (a, b) => loopMax(a) - loopMax(b));
  const floor = fsAbove.length ? `; Node's own \`fs.createReadStream\` under the same consumer: worst round ${fmt(max(fsAbove))} ms above (median ${fmt(median(fsAbove))}), max ${summary(okRuns(fsSlow).map(loopMax))} ms` : '';
  rows.push([
    `Stream${at} into that slow consumer: event loop max delay within ${ELD_MS} ms of an idle Node child's (same round, as long)`,
    `worst round ${fmt(max(above))} ms above the idle child's${above.length > 1 ? ` (median ${fmt(median(above))})` : ''}: max ${summary(okRuns(slow).map(loopMax))} ms vs idle ${summary(okRuns(idle).map(loopMax))} ms${floor}`,
    `≤ +${ELD_MS} ms`,
    above.length ? max(above) <= ELD_MS : undefined,
  ]);
  return rows;
}

/** The stream section's lines. */
function renderStream(stream) {
  const run = stream.run || {};
  const m = run.machine || {};
  const dbMiB = stream.sourceBytes / MiB;
  const check = stream.check || {};
  const out = sectionOpening(run, {
    section: 'stream',
    title: `Stream: litevault \`backupStream()\` and \`litevault backup db -\` to /dev/null vs \`cat\` and \`sqlite3 .backup\`, and into a slow consumer (${bytes(stream.sourceBytes)} WAL database, ${stream.pageSize}-byte pages; page cache warm)`,
    durationMs: stream.durationMs,
    database: `${bytes(stream.sourceBytes)}, ${stream.pageCount.toLocaleString('en-US')} pages, ${stream.rows.toLocaleString('en-US')} rows, built by better-sqlite3 (bench/children/make-db.js), WAL mode, no \`-wal\` left`,
    tools: `${litevaultTool(m)}; Node ${m.node || '?'}; ${stream.cat}; sqlite3 shell ${m.sqlite3Shell || '?'}`,
    inputs: 'the database',
    more: [['Output check (untimed, before the rounds)', check.ok ? `\`litevault backup db - > file\`: ${check.bytes.toLocaleString('en-US')} bytes (pageCount × pageSize), the source's image outside header bytes 24..27, 40..43, 92..99, quick_check ${check.copy.check}, ${check.copy.rows.toLocaleString('en-US')} rows` : `**failed: ${check.why ?? 'not run'}**`]],
  });

  out.push(
    ...targetLines(
      'Stream',
      'Commands (the CLI, `cat`, `sqlite3`) are timed spawn to exit by the harness, their stdout opened on `/dev/null` (or the file) as a shell\'s `>` would; the target is judged on the CLI, whose time includes Node\'s start-up and module load. The in-process stream is timed in its child from `backupStream()` (open and snapshot included) to `pipeline()`\'s end. The slow consumer and its idle reference are fresh Node children measuring their own event loop (`monitorEventLoopDelay({resolution: 1})`) and peak RSS (above the child right after start-up, before any library is loaded).',
      streamTargets(stream),
      run.smoke,
    ),
  );

  const cat = roundRuns(stream, 'cat');
  out.push('### Streaming to /dev/null');
  out.push('');
  out.push('Every competitor reads the same warm database in a fresh process. GNU `cat` copies with a read/write loop of 128 KiB buffers; the CLI writes each 1 MiB chunk to descriptor 1 with `fs.write` from the threadpool. "÷ cat" is the per-round ratio to `cat db > /dev/null`, spawn to exit; for the in-process stream also its time in the child. The in-process child checks every round that its sink wrote pageCount × pageSize bytes. `sqlite3 .backup` writes (and syncs) a file, which round 1 checks with `PRAGMA quick_check` and a row count. CPU: user / system ms of every thread of the child.');
  out.push('');
  out.push(
    table(
      ['Competitor', 'Time, ms: median (min–max)', 'MiB/s', '÷ cat', 'Spawn to exit, ms', '÷ cat, spawn to exit', 'Event loop delay, ms', 'Peak RSS above idle Node', 'CPU user / system, ms', 'Check'],
      stream.competitors.filter((c) => c.group === 'null').map((c) => {
        const runs = roundRuns(stream, c.key);
        const r1 = runs.find((r) => r && r.ok);
        const checked = runs.find((r) => r && r.check)?.check;
        return [
          c.label,
          summary(times(runs), 0),
          c.reference ? '' : fmt(dbMiB / (median(times(runs)) / 1000), 0),
          c.key === 'cat' ? '1' : summary(paired(runs, cat, ratio(ms))),
          summary(okRuns(runs).map(parentMs), 0),
          c.key === 'cat' ? '1' : summary(paired(runs, cat, ratio(parentMs))),
          nodeCell(c, eldCell, runs),
          nodeCell(c, rssCell, runs),
          nodeCell(c, cpuCell, runs),
          c.key === 'cli' ? (check.ok ? 'the output check (above)' : '**the output check failed**') : checked ? `quick_check ${checked.check}, ${checked.rows.toLocaleString('en-US')} rows` : r1?.bytes !== undefined ? `${r1.bytes.toLocaleString('en-US')} bytes` : '',
        ];
      }),
    ),
  );
  out.push('');

  out.push('### Into a slow consumer');
  out.push('');
  out.push(`The consumer is \`for await (const chunk of backupStream(db)) { ...; await sleep(${stream.intervalMs}); }\`: it takes a chunk (${bytes(stream.chunkBytes)}, the default \`chunkBytes\`) and waits a ${stream.intervalMs} ms timer before taking the next, so the stream can go no faster than ${fmt(stream.chunkBytes / MiB / (stream.intervalMs / 1000), 0)} MiB/s and must hold back (it keeps one chunk buffered and two reads in flight). The idle child waits (one timer) for as long as the previous round's slow stream took (round 1: the consumer's timers alone). "Max − idle's" is the per-round difference of the event-loop histogram maxima.`);
  out.push('');
  const idle = roundRuns(stream, 'idle');
  out.push(
    table(
      ['Run', 'Time, ms: median (min–max)', 'Consumed, MiB/s', 'Chunks (largest)', 'Event loop delay, ms', 'Max − idle\'s, ms', 'Peak RSS above idle Node', 'CPU user / system, ms', 'Bytes'],
      stream.competitors.filter((c) => c.group === 'slow').map((c) => {
        const runs = roundRuns(stream, c.key);
        const ok = okRuns(runs);
        return [
          c.label,
          summary(times(runs), 0),
          c.idle ? '' : summary(ok.map((r) => r.bytes / MiB / (r.ms / 1000)), 0),
          c.idle ? '' : `${summary(ok.map((r) => r.chunks), 0)} (${bytes(max(ok.map((r) => r.maxChunk)))})`,
          eldCell(runs),
          c.idle ? '' : summary(paired(runs, idle, (a, b) => loopMax(a) - loopMax(b))),
          rssCell(runs),
          c.idle ? '' : cpuCell(runs),
          c.idle ? '' : ok.length ? `${ok[0].bytes.toLocaleString('en-US')} (every round: pageCount × pageSize)` : '',
        ];
      }),
    ),
  );
  out.push('');
  return out;
}

// Its row in the report's main Targets table, and its splice into an existing report.
const { summaryRow: streamSummaryRow, splice: spliceStream } = selfContainedSection('Stream', streamTargets, renderStream);

module.exports = { renderStream, streamTargets, streamSummaryRow, spliceStream };
