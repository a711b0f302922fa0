#!/usr/bin/env node
// Runs a build command (`node scripts/run-quiet.js <command> [args...]`, e.g. cmake-js) with its
// output held back: on success it prints one line, on failure everything the command printed and
// its exit status. package.json's build:native uses it so that `npm run demo` and `npm test` do not
// open with CMake's configure log and a line per compiled file. LITEVAULT_VERBOSE_BUILD=1 shows
// the command's output as it runs.
'use strict';
const { spawn } = require('child_process');

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/run-quiet.js <command> [args...]');
  process.exit(2);
}
const verbose = process.env.LITEVAULT_VERBOSE_BUILD === '1';
const started = Date.now();
const child = spawn(command, args, { stdio: verbose ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
const output = [];
if (!verbose) {
  child.stdout.on('data', (chunk) => output.push(chunk));
  child.stderr.on('data', (chunk) => output.push(chunk));
}
child.on('error', (err) => {
  console.error(`${command}: ${err.message}`);
  process.exit(1);
});
child.on('close', (code, signal) => {
  if (code === 0) {
    console.error(`${command} ${args[0] || ""}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return;
  }
  process.stderr.write(Buffer.concat(output));
  console.error(`${command} ${args.join(' ')}: failed (${signal ? `signal ${signal}` : `exit status ${code}`})`);
  process.exit(code || 1);
});
