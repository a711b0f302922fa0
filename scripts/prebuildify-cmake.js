#!/usr/bin/env node
// prebuildify's --node-gyp hook: prebuildify calls this with node-gyp's arguments
// (`rebuild --target=<v> --arch=<a> --release ...`) and then collects build/Release/*.node into
// prebuilds/<platform>-<arch>/. We build with cmake-js instead of node-gyp; since the addon uses
// Node-API (package.json "binary.napi_versions"), --target does not matter and is ignored.
// The shipped build: no test hooks, and (native/CMakeLists.txt) static libstdc++/libgcc with glibc
// imports no newer than 2.28; package.json's prebuild names it litevault.glibc.node (--tag-libc),
// and test/binary-baseline.test.ts checks its imports.
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');

const args = process.argv.slice(2);
const arch = (args.find((a) => a.startsWith('--arch=')) || `--arch=${process.arch}`).slice('--arch='.length);
const debug = args.includes('--debug');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const cmd = [cmakeJs, 'rebuild', '--out', 'build', '--arch', arch, '--log-level', 'warn',
  '--CDLITEVAULT_TESTING=OFF', '--CDLITEVAULT_STATIC_RUNTIME=ON'];
if (debug) cmd.push('--debug');
execFileSync(process.execPath, cmd, { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
