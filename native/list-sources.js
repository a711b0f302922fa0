// Prints native/sources.txt as paths relative to the package root, one per line.
// binding.gyp expands this with <!@(...), so node-gyp compiles exactly what CMake compiles.
'use strict';
const fs = require('fs');
const path = require('path');
const lines = fs.readFileSync(path.join(__dirname, 'sources.txt'), 'utf8').split('\n');
process.stdout.write(lines.map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).join('\n') + '\n');
