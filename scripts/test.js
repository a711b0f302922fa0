#!/usr/bin/env node
// npm test's last step: the vitest suite in two passes, so a 2-core CI machine is kept busy
// without disturbing what needs it to itself.
//   1. every file but the serial ones, two files at a time (most tests wait on child processes,
//      lock timeouts and fsync more than they compute);
//   2. the serial ones, one at a time: they hold statistical or timing bounds that a second
//      file running beside them can break (vitest.config.ts, SERIAL_FILES, says which and why).
// Both passes always run; the exit code is the first failure's. Arguments go to both passes
// (a file filter selects within each). Each pass also writes vitest's JSON report, so the end of
// the log names every failed test of both passes: a CI log that keeps only its tail still says
// what failed in the first pass. The closing line gives each pass's counts, its time and how
// busy it kept the CPUs.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const vitest = path.join(__dirname, '..', 'node_modules', 'vitest', 'vitest.mjs');
const reports = fs.mkdtempSync(path.join(os.tmpdir(), 'litevault-test-'));
let status = 0;
const summary = [];
const failures = [];
for (const pass of ['parallel', 'serial']) {
  const json = path.join(reports, `${pass}.json`);
  const started = { at: Date.now(), cpu: cpuTimes() };
  const r = spawnSync(process.execPath, [vitest, 'run', '--passWithNoTests', '--reporter=default', '--reporter=json', `--outputFile.json=${json}`, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, LITEVAULT_TEST_PASS: pass },
  });
  const code = r.status ?? 1;
  if (code !== 0 && status === 0) status = code;
  summary.push(`${describe(pass, code, json)}, ${Math.round((Date.now() - started.at) / 1000)} s${busySince(started.cpu)}`);
}
fs.rmSync(reports, { recursive: true, force: true });
if (failures.length) console.log(`\nnpm test: failed:\n${failures.join('\n')}`);
console.log(`\nnpm test: ${summary.join('; ')}`);
process.exit(status);

// One pass's line for the closing summary (its counts); each failed test, with the first line of
// its first failure message, goes into `failures`, printed after both passes.
function describe(pass, code, json) {
  let report;
  try {
    report = JSON.parse(fs.readFileSync(json, 'utf8'));
  } catch {
    return `${pass} pass exited ${code} without a report`;
  }
  for (const file of report.testResults ?? []) {
    const rel = path.relative(path.join(__dirname, '..'), file.name);
    const failedTests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of failedTests) failures.push(`  ${pass}: ${rel} > ${t.fullName}: ${firstLine(t.failureMessages?.[0])}`);
    if (failedTests.length === 0 && file.status === 'failed') failures.push(`  ${pass}: ${rel}: ${firstLine(file.message)}`);
  }
  return `${pass} pass exit ${code}, ${report.numPassedTests}/${report.numTotalTests} tests passed in ${(report.testResults ?? []).length} files`;
}

// The machine's CPU time from /proc/stat (Linux), to say how busy a pass kept the CPUs: a pass
// that mostly waits could run more files at once. Elsewhere: nothing said.
function cpuTimes() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - (f[4] || 0), total };
  } catch {
    return null;
  }
}

function busySince(before) {
  const now = cpuTimes();
  if (!before || !now || now.total <= before.total) return '';
  return `, the CPUs ${Math.round((100 * (now.busy - before.busy)) / (now.total - before.total))}% busy`;
}

function firstLine(s) {
  return String(s ?? '').split('\n').find((l) => l.trim()) ?? '(no message)';
}
