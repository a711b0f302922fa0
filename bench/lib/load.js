// Loads the libraries the children use. litevault is loaded from dist/ (what `npm run compile`
// produces); other developers may rebuild build/ and dist/ while a run is under way, so a
// missing dist/ or addon is retried for a while before giving up.
'use strict';
const path = require('path');

const root = path.join(__dirname, '..', '..');
const litevaultPath = path.join(root, 'dist', 'index.js');
const betterSqlitePath = path.join(root, 'node_modules', 'better-sqlite3');

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function retrying(what, load, timeoutMs = 120000) {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return load();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      if (attempt === 1) process.stderr.write(`bench: cannot load ${what} yet (${err.code || err.message}); retrying\n`);
      for (const key of Object.keys(require.cache)) if (key.startsWith(path.join(root, 'dist'))) delete require.cache[key];
      sleepSync(500);
    }
  }
}

// The harness benchmarks a private copy of dist/ and the addon taken when it starts (see
// snapshotLitevault in run.js), named by LITEVAULT_BENCH_ROOT, so a rebuild by someone else
// during a run changes nothing; without it, the tree's own dist/.
function litevault() {
  const at = process.env.LITEVAULT_BENCH_ROOT ? path.join(process.env.LITEVAULT_BENCH_ROOT, 'dist', 'index.js') : litevaultPath;
  return retrying(`litevault (${at})`, () => require(at));
}

// The path of a file of litevault's dist/, in the same place litevault() loads it from.
function litevaultDist(rel) {
  return path.join(process.env.LITEVAULT_BENCH_ROOT ?? root, 'dist', rel);
}

// A module of litevault's dist/ other than its entry point (the bench's instrumented vault
// storage uses dist/vault/directory-storage.js), from the same place litevault() loads.
function litevaultModule(rel) {
  litevault();
  return require(litevaultDist(rel));
}

// The path of litevault's command line (dist/cli.js), from the same place litevault() loads.
function litevaultCli() {
  return litevaultDist('cli.js');
}

function betterSqlite3() {
  return require(betterSqlitePath);
}

module.exports = { litevault, litevaultModule, litevaultDist, litevaultCli, betterSqlite3, root, litevaultPath, sleepSync };
