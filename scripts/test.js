#!/usr/bin/env node
// npm test's last step: the vitest suite in two passes, so a 2-core CI machine is kept busy
// without disturbing what needs it to itself.
//   1. every file but the serial ones, two files at a time (most tests wait on child processes,
//      lock timeouts and fsync more than they compute);
//   2. the serial ones, one at a time: they hold statistical or timing bounds that a second
//      file running beside them can break (vitest.config.ts, SERIAL_FILES, says which and why).
// Both passes always run; the exit code is the first failure's. Arguments go to both passes
// (a file filter selects within each).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const vitest = path.join(__dirname, '..', 'node_modules', 'vitest', 'vitest.mjs');
let status = 0;
for (const pass of ['parallel', 'serial']) {
  const r = spawnSync(process.execPath, [vitest, 'run', '--passWithNoTests', ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, LITEVAULT_TEST_PASS: pass },
  });
  const code = r.status ?? 1;
  if (code !== 0 && status === 0) status = code;
}
process.exit(status);
