/*
 * Child process started by test/oracle/corrupt-corpus.ts (sqliteVerdicts): real SQLite judges
 * the corpus in processes of their own, away from the test process (its address space, its
 * allocator, and under npm run test:asan its preloaded sanitizer runtime, which makes every
 * fork from it slow). For each case it copies the file (and its -wal) twice into `dir` and runs
 * PRAGMA integrity_check on the copies: with better-sqlite3 (SQLite 3.53, read-only open) here,
 * and with the sqlite3 shell (`-readonly`), two shells at a time, while better-sqlite3 works.
 * stdin: JSON {dir, shell, cases: [{id, file, wal}]}. stdout: JSON [{id, bs3: {rows, error:
 * {code, message} | null}, shell: {stdout, stderr, failed}}], in the order of `cases`.
 */
'use strict';

const Database = require(require.resolve('better-sqlite3', { paths: [__dirname] }));
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const results = input.cases.map((c) => ({ id: c.id, bs3: null, shell: null }));

function copyOf(c, tag, i) {
  const copy = path.join(input.dir, `judge-${process.pid}-${tag}-${i}.db`);
  fs.copyFileSync(c.file, copy);
  if (c.wal) fs.copyFileSync(c.file + '-wal', copy + '-wal');
  return copy;
}
function remove(copy) {
  for (const sfx of ['', '-wal', '-shm', '-journal']) fs.rmSync(copy + sfx, { force: true });
}

function bs3(c, i) {
  const copy = copyOf(c, 'bs3', i);
  let rows = [];
  let error = null;
  let db;
  try {
    db = new Database(copy, { readonly: true, fileMustExist: true });
    rows = db.prepare('PRAGMA integrity_check').pluck().all().map(String);
  } catch (e) {
    error = { code: (e && e.code) || 'ERROR', message: (e && e.message) || String(e) };
  } finally {
    try {
      if (db) db.close();
    } catch {
      // a failed open leaves nothing to close
    }
  }
  remove(copy);
  return { rows, error };
}

function shell(c, i) {
  const copy = copyOf(c, 'shell', i);
  return new Promise((done) => {
    const child = execFile(
      input.shell,
      ['-batch', '-init', '/dev/null', '-readonly', path.resolve(copy)],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => {
        remove(copy);
        done({ stdout, stderr, failed: err ? err.message : null });
      },
    );
    child.stdin.end('PRAGMA integrity_check;\n');
  });
}

async function main() {
  let next = 0;
  const shells = Promise.all(
    [0, 1].map(async () => {
      while (next < input.cases.length) {
        const i = next++;
        results[i].shell = await shell(input.cases[i], i);
      }
    }),
  );
  for (let i = 0; i < input.cases.length; i++) {
    results[i].bs3 = bs3(input.cases[i], i);
    // Let the shells' callbacks run between cases.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await shells;
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err));
  process.exit(1);
});
