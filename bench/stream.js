// The stream section of the benchmark harness (`node bench/run.js --only stream`; part of the
// default run): litevault's streamed backup (backupStream(), and the CLI's `backup <db> -`) of the
// bench database (WAL, page cache warm), issue 14's two claims. Each round, one after another in
// a fresh process each and in an order rotated round by round:
//   /dev/null: `litevault backup db - > /dev/null` (the CLI, spawn to exit: the target's
//              measure) | `pipeline(backupStream(db), fs.createWriteStream('/dev/null'))` in a
//              fresh Node child (timed in it; spawn to exit too) | `cat db > /dev/null` |
//              `sqlite3 db ".backup dest"` to a file | `litevault --version > /dev/null` (the
//              CLI's start-up and exit alone; reference);
//   slow:      a Node child whose consumer, an async iterator over backupStream(db), awaits a
//              10 ms timer after each 1 MiB chunk (at most 1 MiB every 10 ms) | the same consumer
//              over fs.createReadStream of the file (Node's own floor; reference) | an idle Node
//              child for as long as the previous slow stream took (the event-loop and RSS reference).
// Checks: every in-process stream's byte count (the /dev/null sink's bytesWritten, the slow
// consumer's sum of chunks) equals pageCount × pageSize; round 1 checks sqlite3's copy with
// quick_check and a row count; before the rounds, one untimed `litevault backup db - > file`
// must give pageCount × pageSize bytes, the source's image outside the header fields a copy
// may change (lib/pages.js sameImage) and a database that passes quick_check with every row.
// Every run is preceded by run.js's settle() (sync, quiet check, the database read into the page
// cache, then fresh memory touched; the round loop is lib/rounds.js). Called by run.js with its
// helpers; results go to lib/report-stream.js.
'use strict';
const fs = require('fs');
const path = require('path');
const { runTimed, runNode, output, removeDb, syncFs } = require('./lib/proc');
const { databaseShape, sameImage } = require('./lib/pages');
const { interleavedRounds } = require('./lib/rounds');
const { litevaultCli } = require('./lib/load');

const CHUNK_BYTES = 1 << 20; // backupStream()'s default chunk: what the slow consumer takes at a time
const INTERVAL_MS = 10; // the slow consumer's wait after each chunk

async function streamSection(context) {
  const { src, workDir, errors, log, commandRun, verifyCopy } = context;
  const dir = path.join(workDir, 'stream');
  fs.mkdirSync(dir, { recursive: true });
  const dst = path.join(dir, 'copy.db');
  const shape = databaseShape(src);
  const { pageSize, pageCount } = shape;
  const imageBytes = pageCount * pageSize; // what a stream of the database must carry
  const expectedRows = verifyCopy(src).rows;
  const cli = litevaultCli();
  // The idle reference runs as long as the last slow stream; before the first, as long as the
  // consumer's timers alone would make it.
  let lastSlowMs = Math.ceil(imageBytes / CHUNK_BYTES) * INTERVAL_MS;

  const toDevNull = (command, args) => async () => commandRun(await runTimed(command, args, { stdoutTo: '/dev/null' }));
  // A stream child's run fails unless it streamed the whole image.
  const streamed = (spec) => async () => {
    const r = await runNode('node-op.js', { ...spec, src });
    if (r.ok && (r.bytes !== imageBytes || r.snapshot?.bytes !== imageBytes)) {
      Object.assign(r, { ok: false, error: `streamed ${r.bytes} bytes (snapshot: ${r.snapshot?.bytes}), expected ${pageCount} pages × ${pageSize} = ${imageBytes}` });
    }
    return r;
  };
  const competitors = [
    { key: 'cli', group: 'null', label: '`litevault backup db - > /dev/null` (the CLI: spawn to exit)', run: toDevNull(process.execPath, [cli, 'backup', src, '-']) },
    { key: 'in-process', group: 'null', node: true, label: '`pipeline(backupStream(db), fs.createWriteStream("/dev/null"))` in a fresh Node child (timed in it)', run: streamed({ op: 'lv-stream-null' }) },
    { key: 'cat', group: 'null', label: '`cat db > /dev/null`', run: toDevNull('cat', [src]) },
    { key: 'sqlite3-backup', group: 'null', copy: true, label: '`sqlite3 db ".backup dest"` (to a file, fsynced)', run: async () => commandRun(await runTimed('sqlite3', [src, `.backup '${dst}'`])) },
    { key: 'cli-startup', group: 'null', reference: true, label: '`litevault --version > /dev/null` (the CLI\'s start-up and exit alone; reference)', run: toDevNull(process.execPath, [cli, '--version']) },
    { key: 'slow', group: 'slow', node: true, label: `\`for await (const chunk of backupStream(db))\` awaiting a ${INTERVAL_MS} ms timer after each ${CHUNK_BYTES / 1048576} MiB chunk`, run: streamed({ op: 'lv-stream-slow', intervalMs: INTERVAL_MS }) },
    { key: 'fs-slow', group: 'slow', node: true, reference: true, label: `the same consumer over \`fs.createReadStream(db, {highWaterMark: ${CHUNK_BYTES / 1048576} MiB})\` (Node's own file stream: the floor; reference)`, run: streamed({ op: 'fs-stream-slow', intervalMs: INTERVAL_MS, chunkBytes: CHUNK_BYTES }) },
    { key: 'idle', group: 'slow', node: true, idle: true, label: 'idle Node child, as long as the previous slow stream (reference)', run: () => runNode('node-op.js', { op: 'idle', ms: Math.round(lastSlowMs) }) },
  ];

  // Untimed: the CLI's stdout, into a file, is the image and a sound database.
  removeDb(dst);
  const written = await runTimed(process.execPath, [cli, 'backup', src, '-'], { stdoutTo: dst });
  const check = { ok: written.code === 0, bytes: fs.statSync(dst).size };
  if (!check.ok) check.why = `exit ${written.code ?? written.signal}: ${written.stderr.trim().slice(-500)}`;
  else {
    check.image = sameImage(src, dst);
    try {
      check.copy = verifyCopy(dst, expectedRows);
    } catch (err) {
      check.copy = { ok: false, check: `failed (${err.message})`, rows: NaN };
    }
    check.ok = check.bytes === imageBytes && check.image.same && check.copy.ok;
    if (!check.ok) check.why = `${check.bytes} bytes (expected ${imageBytes}); ${check.image.same ? 'the source\'s image' : `not the source's image: ${check.image.why}`}; quick_check ${check.copy.check}, ${check.copy.rows} rows (expected ${expectedRows})`;
  }
  if (!check.ok) errors.push(`stream/check: \`litevault backup db - > file\` ${check.why}`);
  log(`stream check: litevault backup db - > file: ${check.ok ? `${check.bytes} bytes, the source's image, quick_check ok` : `FAILED ${check.why}`}`);
  removeDb(dst);

  const rounds = await interleavedRounds(context, {
    section: 'stream',
    competitors,
    dir,
    inputs: [src],
    dst,
    expectedRows,
    after: (c, r) => {
      if (r.ok && c.key === 'slow') lastSlowMs = r.ms;
    },
    describe: (r) => (r.parentMs !== undefined ? ` (spawn to exit ${r.parentMs.toFixed(0)} ms)` : ''),
  });
  fs.rmSync(dir, { recursive: true, force: true });
  syncFs(workDir);
  return {
    ...shape,
    rows: expectedRows,
    chunkBytes: CHUNK_BYTES,
    intervalMs: INTERVAL_MS,
    check,
    cat: output('cat', ['--version']).split('\n')[0],
    competitors: competitors.map(({ key, group, label, node, idle, reference }) => ({ key, group, label, node, idle, reference })),
    rounds,
  };
}

module.exports = { streamSection };
