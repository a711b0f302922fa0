// What the report's renderers share (report.js, report-vault.js, report-verify.js,
// report-stream.js): tables, cells, per-round ratios, and the machinery of the self-contained
// sections (vault, verify, stream) that `--only <section>` splices into a report made by an
// earlier run.
'use strict';
const { median, min, max, fmt, summary, bytes } = require('./stats');

const okRuns = (runs) => runs.filter((r) => r && r.ok);
const times = (runs) => okRuns(runs).map((r) => r.ms);
const markOf = (pass) => (pass === undefined ? '—' : pass ? '✅' : '❌');
const kib = (k) => (Number.isFinite(k) ? bytes(k * 1024) : '—');

const TICK_MS = 1; // monitorEventLoopDelay's resolution: Node records the whole timer interval
const beyond = (rawMs) => (Number.isFinite(rawMs) ? Math.max(0, rawMs - TICK_MS) : NaN);

function table(headers, rows) {
  const line = (cells) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|').replace(/\n/g, ' ')).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Per-round values f(a, b) over the rounds where both runs are ok. */
function paired(as, bs, f) {
  const out = [];
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    if (as[i]?.ok && bs[i]?.ok) {
      const v = f(as[i], bs[i]);
      if (Number.isFinite(v)) out.push(v);
    }
  }
  return out;
}
const ratio = (pick) => (a, b) => pick(a) / pick(b);
const ms = (r) => r.ms;
const parentMs = (r) => r.parentMs ?? r.ms;

const ratioCell = (ratios, suffix = '×') => (ratios.length ? `${fmt(median(ratios))}${suffix}${ratios.length > 1 ? ` (${fmt(min(ratios))}–${fmt(max(ratios))})` : ''}` : '—');
const bytesCell = (values) => {
  const v = values.filter(Number.isFinite);
  if (!v.length) return '—';
  return v.length === 1 ? bytes(v[0]) : `${bytes(median(v))} (${bytes(min(v))}–${bytes(max(v))})`;
};

/** A Node child's event-loop delay over its runs: the worst max (and beyond the 1 ms tick), the median p99. */
function eldCell(runs) {
  const ok = okRuns(runs).filter((r) => r.eld);
  if (!ok.length) return '—';
  const maxRaw = max(ok.map((r) => r.eld.maxMs));
  const p99 = median(ok.map((r) => r.eld.p99Ms));
  return `max ${fmt(maxRaw)} (${fmt(beyond(maxRaw))} late), p99 ${fmt(p99)}`;
}

/** A Node child's worst peak RSS above an idle Node process (and above the loaded library). */
function rssCell(runs) {
  const ok = okRuns(runs).filter((r) => r.rss);
  if (!ok.length) return '—';
  return `${kib(max(ok.map((r) => r.rss.peakAboveIdleKiB)))} (${kib(max(ok.map((r) => r.rss.peakAboveLoadedKiB)))} above loaded)`;
}

/** CPU time of every thread (process.cpuUsage(), where the child records it) and CPU ÷ wall. */
function cpuCell(runs) {
  const ok = okRuns(runs).filter((r) => r.cpu);
  if (!ok.length) return '—';
  return `${summary(ok.map((r) => r.cpu.userMs), 0)} / ${summary(ok.map((r) => r.cpu.systemMs), 0)} (÷ wall ${summary(ok.map((r) => (r.cpu.userMs + r.cpu.systemMs) / r.ms), 2)})`;
}

/**
 * The other CPU load before a self-contained section's timed runs (`run.activity`, tags
 * `<section> ...`), for the section's own run table: the range, and the runs that started busy
 * (a few one by one; many summed up: how busy, and by what).
 */
function activityCell(run, section) {
  const list = run.activity || [];
  if (!list.length) return 'not recorded';
  const busy = list.filter((a) => a.cpusBusy > 0.25);
  const busyDetail = () => {
    if (busy.length <= 8) return busy.map((a) => `${a.tag.replace(new RegExp(`^${section} `), '')}: ${fmt(a.cpusBusy)} (${(a.others || []).join(', ')})`).join('; ');
    const counts = {};
    for (const a of busy) for (const o of new Set((a.others || []).map((x) => x.split(' ')[0]))) counts[o] = (counts[o] || 0) + 1;
    const top = Object.entries(counts).sort((x, y) => y[1] - x[1]).slice(0, 6).map(([name, n]) => `${name} (in ${n})`);
    return `median ${fmt(median(busy.map((a) => a.cpusBusy)))} CPUs busy with other work among them; the busiest other processes: ${top.join(', ')}`;
  };
  return `${fmt(min(list.map((a) => a.cpusBusy)))}–${fmt(max(list.map((a) => a.cpusBusy)))} CPUs busy with other work just before the ${list.length} timed ${section} runs; ${busy.length ? `**${busy.length} started with > 0.25 CPU of other load**${run.waitQuietS ? ` (after waiting up to ${run.waitQuietS} s for quiet)` : ''}: ${busyDetail()}` : 'none started with > 0.25 CPU of other load (load that began during a run is not detected)'}`;
}

/** The rows every self-contained section's run table starts with: the command, the machine, the load. */
function runRows(run, section, durationMs) {
  const m = run.machine || {};
  return [
    ['Run', `\`${run.command || '?'}\` (cwd \`${run.cwd || '?'}\`), started ${run.startedAt || '?'}; ${run.rounds} interleaved round(s); this section took ${fmt((durationMs || NaN) / 60000, 1)} min`],
    ['Machine', `${m.cpu || '?'}, ${m.nproc || '?'} CPUs, ${m.memory || '?'}; ${m.disk ? `work dir on ${m.disk.mount.split(/\s+/).slice(0, 2).join(' ')}` : ''}`],
    ['Load average (1/5/15 min)', `${(run.loadBefore || []).map((x) => x.toFixed(2)).join(' ')} before the run, ${(run.loadAfter || []).map((x) => x.toFixed(2)).join(' ')} after`],
    ['Other CPU load', activityCell(run, section)],
  ];
}

/** A self-contained section's "Page cache" row: how every input was warmed before each timed run. */
function pageCacheRow(run, inputs) {
  return ['Page cache', `warm: before every timed run the file system is synced (\`sync -f\`), every input read into the page cache (\`cat\`: ${inputs})${run.warmFirst ? ', then' : ' after'} ${run.prefault === false ? 'no fresh memory touched (--no-prefault)' : 'fresh memory touched (a scratch file 1.1 × the database written and deleted; bench/README.md, "Reading the results on a VM")'}`];
}

/**
 * A self-contained section's opening lines: `## <title>`, the smoke warning, its run table (the
 * command, the database, the tools, the machine and load, how `inputs` were warmed, any `more`
 * rows) and its failed runs.
 */
function sectionOpening(run, { section, title, durationMs, database, tools, inputs, more = [] }) {
  const [runRow, ...machineRows] = runRows(run, section, durationMs);
  const out = [`## ${title}`, ''];
  if (run.smoke) out.push('**Smoke run: tiny sizes; timings and marks mean nothing.**\n');
  out.push(table(['', ''], [runRow, ['Database', database], ['Tools', tools], ...machineRows, pageCacheRow(run, inputs), ...more]), '');
  return out.concat(runNotes(run, section));
}

/** The litevault build a section's run measured, for its Tools row. */
const litevaultTool = (machine = {}) => `litevault ${machine.litevault || '?'}${machine.addon ? ` (addon sha256 ${machine.addon.sha256}…)` : ''}`;

/** ' (measured at N MiB, not 1 GiB)' for a section's targets when its run was not at 1 GiB. */
const sizeNote = (run) => (run.size === undefined || run.size === 1024 ? '' : ` (measured at ${fmt(run.size, 0)} MiB, not 1 GiB)`);

/** A self-contained section's runs of one competitor, round by round. */
const roundRuns = (results, key) => results.rounds.map((round) => round[key]);

/** A Node-only cell (event loop, RSS, CPU) of a competitor that may be a command. */
const nodeCell = (competitor, cell, runs) => (competitor.node ? cell(runs) : 'n/a (not Node)');

/** The failed runs and the addon note of a self-contained section. */
function runNotes(run, section) {
  const out = [];
  const errs = run.errors || [];
  if (errs.length) out.push(`**${errs.length} ${section} run(s) failed:**\n\n${errs.map((e) => `- ${e}`).join('\n')}\n`);
  if (run.addonNote) out.push(`Note: ${run.addonNote}.\n`);
  return out;
}

/** A self-contained section's own targets: `### <heading> targets`, what the times are, the table. */
function targetLines(heading, intro, rows, smoke) {
  const mark = (pass) => (smoke ? 'not judged (smoke)' : markOf(pass));
  return [`### ${heading} targets`, '', `Ratios are medians of per-round ratios, min–max over rounds in parentheses. ${intro}`, '', table(['Target', 'Measured', 'Goal', ''], rows.map(([a, b, c, pass]) => [a, b, c, mark(pass)])), ''];
}

/** A section's row in the report's main Targets table: how many of its targets were met. */
function summaryRow(label, rows, smoke) {
  const judged = rows.filter((r) => r[3] !== undefined);
  const met = judged.filter((r) => r[3]).length;
  return [
    label,
    `${met} of ${rows.length} met${judged.length < rows.length ? ` (${rows.length - judged.length} not measured)` : ''}${met < judged.length ? `; missed: ${judged.filter((r) => !r[3]).map((r) => r[0]).join('; ')}` : ''}`,
    'all',
    smoke ? 'not judged (smoke)' : markOf(judged.length ? met === rows.length : undefined),
  ];
}

/**
 * A self-contained section (`## <heading>: ...`, its results carrying their own `run`): its row in
 * the report's main Targets table ("<heading> targets (see the <heading> section)": how many of
 * `targets(results)` were met), and `splice(markdown, results)`, which replaces (or adds) the
 * section rendered by `render(results)` and that row in an existing report.
 */
function selfContainedSection(heading, targets, render) {
  const rowPrefix = `${heading} targets`;
  const row = (results, smoke) => summaryRow(`${rowPrefix} (see the ${heading} section)`, targets(results), smoke || results.run?.smoke);
  return { summaryRow: row, splice: (markdown, results) => spliceSection(markdown, { heading, lines: render(results), row: row(results), rowPrefix }) };
}

/**
 * Replaces (or adds, before the "Event loop and memory" section) a self-contained section of an
 * existing report (`## <heading> ...` up to the next `## `), and its summary row (the line that
 * starts with `| <rowPrefix>`) in the report's main Targets table.
 */
function spliceSection(markdown, { heading, lines, row, rowPrefix }) {
  markdown = spliceSummaryRow(markdown, row, rowPrefix);
  const section = lines.join('\n') + '\n';
  const start = markdown.search(new RegExp(`^## ${heading}\\b`, 'm'));
  if (start >= 0) {
    const rest = markdown.slice(start + 1);
    const next = rest.search(/^## /m);
    return markdown.slice(0, start) + section + (next >= 0 ? rest.slice(next) : '');
  }
  for (const h of ['## Event loop and memory', '## How these numbers were made']) {
    const at = markdown.indexOf(`\n${h}`);
    if (at >= 0) return markdown.slice(0, at + 1) + section + markdown.slice(at + 1);
  }
  return markdown.replace(/\n*$/, '\n\n') + section;
}

function spliceSummaryRow(markdown, row, rowPrefix) {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^## Targets\s*$/.test(l));
  if (start < 0) return markdown;
  let end = start + 1;
  while (end < lines.length && !lines[end].startsWith('## ')) end++;
  const rowLine = table(['', '', '', ''], [row]).split('\n')[2];
  const existing = lines.findIndex((l, i) => i > start && i < end && l.startsWith(`| ${rowPrefix}`));
  if (existing >= 0) lines[existing] = rowLine;
  else {
    let last = -1;
    for (let i = start + 1; i < end; i++) if (lines[i].startsWith('|')) last = i;
    if (last < 0) return markdown;
    lines.splice(last + 1, 0, rowLine);
  }
  return lines.join('\n');
}

module.exports = {
  okRuns,
  times,
  markOf,
  kib,
  beyond,
  table,
  paired,
  ratio,
  ms,
  parentMs,
  ratioCell,
  bytesCell,
  eldCell,
  rssCell,
  cpuCell,
  runRows,
  pageCacheRow,
  runNotes,
  sectionOpening,
  litevaultTool,
  sizeNote,
  roundRuns,
  nodeCell,
  targetLines,
  selfContainedSection,
};
