// Compiles lib/*.ts to dist/ (CommonJS + .d.ts) and copies the ES-module entry beside it.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], {
  stdio: 'inherit',
});
fs.copyFileSync(path.join(root, 'lib', 'index.mjs'), path.join(root, 'dist', 'index.mjs'));
fs.copyFileSync(path.join(root, 'lib', 'index.d.mts'), path.join(root, 'dist', 'index.d.mts'));
fs.chmodSync(path.join(root, 'dist', 'cli.js'), 0o755);
