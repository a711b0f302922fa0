// Renders the remote section of bench/RESULTS.md (from bench/remote.js's results). Like the vault,
// verify and stream sections it is self-contained (its own run description and targets), so
// `--only remote` can splice it into a report made by an earlier run of the other sections
// (spliceRemote).
'use strict';
const { median, max, fmt, summary, bytes } = require('./stats');
const { okRuns, times, kib, table, paired, ratio, ms, parentMs, ratioCell, bytesCell, eldCell, rssCell, cpuCell, sectionOpening, litevaultTool, sizeNote, targetLines, selfContainedSection } = require('./report-common');

const MiB = 1048576;
const VS_RAW = 1.2; // the full backup takes at most 1.2 × the raw upload of its compressed bytes
const RSS_MIB = 128; // peak RSS of a remote backup above an idle Node process

// The per-round runs of one stage and competitor.
const stage = (remote, name, key) => remote.rounds.map((round) => round[name]?.[key]);
// Vault.open() (loading the AWS SDK, reading the vault's config) is inside litevault's timed span.
const backupOnly = (r) => r.ms - (r.openMs ?? 0);
// The shortest a run could have taken on `cores` cores: the CPU time it and moto_server used, spread over all of them.
const cpuFloorMs = (r, cores) => (r.cpu && r.motoCpuMs !== undefined ? (r.cpu.userMs + r.cpu.systemMs + r.motoCpuMs) / cores : NaN);

/** The remote targets: [label, measured, goal, pass] rows (pass undefined when not measured). */
function remoteTargets(remote) {
  const at = sizeNote(remote.run || {});
  const lv = stage(remote, 'full', 'litevault');
  const raw = stage(remote, 'full', 'raw');
  const lvReq = stage(remote, 'full', 'raw-lv');
  const cores = Number(remote.run?.machine?.nproc) || require('os').cpus().length;
  const inc = stage(remote, 'incremental', 'litevault');
  const rows = [];
  const vsRaw = paired(lv, raw, ratio(ms));
  rows.push([
    `Full backup${at} to moto on loopback ≤ ${VS_RAW} × the raw upload of its compressed bytes (the same objects with lib-storage alone)`,
    `${ratioCell(vsRaw)} its time (${summary(times(lv), 0)} vs ${summary(times(raw), 0)} ms, ${bytes(remote.objects.bytes)} in ${remote.objects.count} objects); without \`Vault.open()\` (which loads the SDK) ${ratioCell(paired(lv, raw, (a, b) => backupOnly(a) / b.ms))}; against the requests litevault sends (If-None-Match, CRC32, unsigned payload) ${ratioCell(paired(lv, lvReq, ratio(ms)))}; spawn to exit ${ratioCell(paired(lv, raw, ratio(parentMs)))}. The floor the machine sets: moto_server shares its ${cores} cores, so a run takes at least (its own CPU time + moto's) ÷ ${cores}; for litevault that is ${ratioCell(paired(lv, raw, (a, b) => cpuFloorMs(a, cores) / b.ms))} the raw upload's time (${summary(okRuns(lv).map((r) => cpuFloorMs(r, cores)), 0)} ms; litevault ${summary(okRuns(lv).map((r) => r.cpu.userMs + r.cpu.systemMs), 0)} ms of CPU, moto ${summary(okRuns(lv).map((r) => r.motoCpuMs), 0)} ms; the raw upload ${summary(okRuns(raw).map((r) => r.cpu.userMs + r.cpu.systemMs), 0)} and ${summary(okRuns(raw).map((r) => r.motoCpuMs), 0)} ms)`,
    `≤ ${VS_RAW}×`,
    vsRaw.length ? median(vsRaw) <= VS_RAW : undefined,
  ]);
  const backups = okRuns(lv.concat(inc)).filter((r) => r.rss);
  const rss = backups.map((r) => r.rss.peakAboveIdleKiB);
  rows.push([
    `Peak RSS of a${at ? '' : ' 1 GiB'} full or incremental backup to moto${at} < ${RSS_MIB} MiB above an idle Node process`,
    `${kib(max(rss))} above idle (worst of ${rss.length}: full ${kib(max(okRuns(lv).filter((r) => r.rss).map((r) => r.rss.peakAboveIdleKiB)))}, incremental ${kib(max(okRuns(inc).filter((r) => r.rss).map((r) => r.rss.peakAboveIdleKiB)))}; ${kib(max(backups.map((r) => r.rss.peakAboveLoadedKiB)))} above the loaded library)`,
    `< ${RSS_MIB} MiB`,
    rss.length ? max(rss) < RSS_MIB * 1024 : undefined,
  ]);
  return rows;
}

// A restore check's cell.
function checkCell(checks) {
  const c = checks.find(Boolean);
  if (!c) return 'not checked';
  return c.ok ? `restored from moto: the database's image, quick_check ${c.check}, ${c.rows.toLocaleString('en-US')} rows (round 1)` : `**failed: ${c.why}**`;
}

/** The remote section's lines. */
function renderRemote(remote) {
  const run = remote.run || {};
  const m = run.machine || {};
  const dbMiB = remote.sourceBytes / MiB;
  const up = remote.upload;
  const out = sectionOpening(run, {
    section: 'remote',
    title: `Remote: litevault full and incremental backups to an S3-compatible store (moto_server on loopback) vs uploading the same bytes with lib-storage alone (${bytes(remote.sourceBytes)} WAL database, ${remote.pageSize}-byte pages; page cache warm)`,
    durationMs: remote.durationMs,
    database: `${bytes(remote.sourceBytes)}, ${remote.pageCount.toLocaleString('en-US')} pages, ${remote.rows.toLocaleString('en-US')} rows, built by better-sqlite3 (bench/children/make-db.js), WAL mode; every round backs up a fresh copy of it into a fresh bucket`,
    tools: `${litevaultTool(m)}; Node ${m.node || '?'}; @aws-sdk/client-s3 ${remote.sdk.clientS3}, @aws-sdk/lib-storage ${remote.sdk.libStorage}; moto ${remote.moto} (\`moto_server\` on a free 127.0.0.1 port, started and stopped by the section; objects in its memory, reset after each round)`,
    inputs: 'the database, and the local vault holding the objects the references upload',
    more: [
      ['Objects uploaded', `${remote.objects.count} (${remote.objects.packs} packs, then the manifest of ${bytes(remote.objects.manifestBytes)}), ${bytes(remote.objects.bytes)} (${fmt(remote.objects.bytes / remote.sourceBytes, 3)} of the database), the largest ${bytes(remote.objects.largest)}: a litevault full backup of the same database into a local directory vault, untimed, before the rounds; after every litevault full into moto, the bucket's packs must be these (same keys, which are their checksums, and sizes) and its manifest the same size within 64 bytes, or the run fails; ${okRuns(stage(remote, 'full', 'raw'))[0]?.multipart ?? '?'} of them bigger than one part (multipart uploads in the references, a single PutObject in litevault below ${bytes(up.multipartBytes)})`],
      ['Upload shape (read from the benchmarked build)', `litevault stores ${up.putsInFlight} packs at once while its scan goes on (lib/vault/vault.ts PUTS_IN_FLIGHT), then the manifest alone (its commit), each as one PutObject below ${bytes(up.multipartBytes)} (S3Storage MULTIPART_BYTES; above: lib-storage, ${bytes(up.partBytes)} parts, ${up.partsInFlight} in flight); the references upload the same objects ${up.putsInFlight} at a time, then the manifest alone, each with lib-storage's \`Upload\` (${bytes(up.partBytes)} parts, ${up.partsInFlight} in flight: a single PutObject for an object of up to one part)`],
      ['Checks', `full: ${checkCell(remote.rounds.map((r) => r.checks?.full))}; incremental: ${checkCell(remote.rounds.map((r) => r.checks?.incremental))}`],
    ],
  });

  out.push(
    ...targetLines(
      'Remote',
      "litevault's time is `Vault.open(s3://bucket/vault, {endpoint})` + `vault.backup(db, {type})`, timed in a fresh Node child (the SDK loaded, the lease taken and released, every pack and the manifest uploaded); a reference's time is a fresh Node child's from creating its `S3Client` (the SDK loaded and the objects read into memory before) until its last upload resolved. Peak RSS: the child's `maxRSS` at the end minus its value right after start-up, before any library is loaded.",
      remoteTargets(remote),
      run.smoke,
    ),
  );

  const lv = stage(remote, 'full', 'litevault');
  const raw = stage(remote, 'full', 'raw');
  out.push('### Full backup');
  out.push('');
  out.push(`Each round: a fresh bucket, litevault's vault at \`vault/\` (created untimed), the references' uploads at \`raw/\` and \`raw-lv/\`, run in an order rotated round by round. The references' client is configured as litevault's \`S3Client\` is (endpoint, path style, standard retries, \`requestChecksumCalculation: 'WHEN_REQUIRED'\`: no SDK checksums); the raw upload adds nothing to the requests, the other adds what litevault's \`put()\` adds: \`If-None-Match: *\`, the object's CRC32 as \`x-amz-checksum-crc32\` (zlib.crc32 on the main thread, as litevault computes it) and \`x-amz-content-sha256: UNSIGNED-PAYLOAD\` (so the SDK hashes nothing). moto CPU: the CPU time moto_server (one Python process, on the same cores) used during the run, from /proc. "Uploaded MiB/s": the objects' bytes ÷ the time. Peak RSS of the references includes the objects they read into memory before the clock started ("above the loaded objects": the peak minus the RSS then).`);
  out.push('');
  out.push(
    table(
      ['Competitor', 'Time, ms: median (min–max)', 'Database MiB/s', 'Uploaded MiB/s', '÷ raw upload', 'Vault.open, ms', 'Event loop delay, ms', 'Peak RSS above idle Node', 'CPU user / system, ms', 'moto CPU, ms', 'Spawn to exit, ms'],
      [
        ['litevault', 'litevault `vault.backup(db, {type: "full"})` into `s3://bucket/vault` (zstd, default level)'],
        ['raw', 'the same objects with lib-storage\'s `Upload` alone (the transport\'s own limit)'],
        ['raw-lv', 'the same with `If-None-Match: *`, a CRC32 and an unsigned payload (litevault\'s requests; reference)'],
      ].map(([key, label]) => {
        const runs = stage(remote, 'full', key);
        const ok = okRuns(runs);
        const t = times(runs);
        const rss = key === 'litevault' ? rssCell(runs) : ok.some((r) => r.rss && r.preloadedRssKiB) ? `${rssCell(runs)}; above the loaded objects ${kib(max(ok.map((r) => r.rss.peakKiB - r.preloadedRssKiB)))}` : rssCell(runs);
        return [
          label,
          summary(t, 0),
          key === 'litevault' ? fmt(dbMiB / (median(t) / 1000), 0) : '',
          summary(ok.map((r) => remote.objects.bytes / MiB / (r.ms / 1000)), 0),
          key === 'raw' ? '1' : summary(paired(runs, raw, ratio(ms))),
          key === 'litevault' ? summary(ok.map((r) => r.openMs), 0) : '',
          eldCell(runs),
          rss,
          cpuCell(runs),
          summary(ok.map((r) => r.motoCpuMs), 0),
          summary(ok.map(parentMs), 0),
        ];
      }),
    ),
  );
  out.push('');
  const counters = okRuns(lv)[0]?.result;
  if (counters) out.push(`litevault's result (round 1): ${counters.pagesScanned.toLocaleString('en-US')} pages scanned, ${counters.pagesStored.toLocaleString('en-US')} stored, bytesStored ${bytes(counters.bytesStored)}${counters.restarts ? `, ${counters.restarts} restarts` : ''}.\n`);

  const inc = stage(remote, 'incremental', 'litevault');
  const ch = remote.rounds.find((r) => r.change)?.change || {};
  out.push(`### Incremental after ${remote.changePct}% of the pages changed`);
  out.push('');
  out.push(`After the full stage, better-sqlite3 (bench/children/vault-change.js, as in the vault section) rewrote ${ch.updates?.toLocaleString('en-US') ?? '?'} random rows' blobs in place until ${ch.pagesChanged?.toLocaleString('en-US') ?? '?'} of the ${ch.pageCount?.toLocaleString('en-US') ?? '?'} pages had changed, checkpointed them into the file and closed; then one litevault incremental into the same vault. Added: the objects the bucket's \`vault/\` holds after it and did not before.`);
  out.push('');
  out.push(
    table(
      ['Run', 'Time, ms: median (min–max)', 'Vault.open, ms', 'Pages stored', 'bytesStored', 'Objects added (bytes)', 'Event loop delay, ms', 'Peak RSS above idle Node', 'CPU user / system, ms', 'moto CPU, ms', 'Spawn to exit, ms'],
      [
        [
          'litevault `vault.backup(db, {type: "incremental"})`',
          summary(times(inc), 0),
          summary(okRuns(inc).map((r) => r.openMs), 0),
          summary(okRuns(inc).map((r) => r.result?.pagesStored), 0),
          bytesCell(okRuns(inc).map((r) => r.result?.bytesStored)),
          `${summary(okRuns(inc).map((r) => r.added?.objects), 0)} (${bytesCell(okRuns(inc).map((r) => r.added?.bytes))})`,
          eldCell(inc),
          rssCell(inc),
          cpuCell(inc),
          summary(okRuns(inc).map((r) => r.motoCpuMs), 0),
          summary(okRuns(inc).map(parentMs), 0),
        ],
      ],
    ),
  );
  out.push('');
  return out;
}

// Its row in the report's main Targets table, and its splice into an existing report.
const { summaryRow: remoteSummaryRow, splice: spliceRemote } = selfContainedSection('Remote', remoteTargets, renderRemote);

module.exports = { renderRemote, remoteTargets, remoteSummaryRow, spliceRemote };
