#!/usr/bin/env node
// litevault's npm "install" script. For a user of the package it is node-gyp-build: load the
// prebuilt binary from prebuilds/ if one fits this platform, libc and arch, else compile
// binding.gyp with node-gyp. In litevault's own development checkout it does nothing: there,
// `npm run compile` (run by `npm test` and `npm run demo`) builds the addon with cmake-js, and
// node-gyp-build, finding no prebuild in a git checkout, would compile everything a second time
// with node-gyp (and print gyp's output) on every `npm install`.
//
// A development checkout is: npm was started in this package's own directory (INIT_CWD), and the
// directory has what the packed tarball never carries (.git, or native/fuzz, which package.json
// "files" leaves out). A project that installs litevault from the registry, a tarball, a git URL
// or a local folder starts npm in its own directory, so it always gets node-gyp-build.
// `npm install --build-from-source` (npm_config_build_from_source) also forces node-gyp-build.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');

function samePath(a, b) {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
}

function isDevelopmentCheckout() {
  if (process.env.npm_config_build_from_source === 'true') return false;
  const startedHere = Boolean(process.env.INIT_CWD) && samePath(process.env.INIT_CWD, root);
  const notPacked = fs.existsSync(path.join(root, '.git')) || fs.existsSync(path.join(root, 'native', 'fuzz'));
  return startedHere && notPacked;
}

if (!isDevelopmentCheckout()) require('node-gyp-build/bin.js');
