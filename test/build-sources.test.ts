// The addon has ONE source list (native/sources.txt). CMake (native/sources.cmake) and
// binding.gyp (native/list-sources.js) both read it; these tests fail if either build would
// compile a different set, if a source file is missing from the list, or if the from-source
// fallback (node-gyp + binding.gyp) stops producing a working addon.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteShell } from './oracle/sqlite';

const root = path.join(__dirname, '..');
const listed = fs
  .readFileSync(path.join(root, 'native/sources.txt'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'litevault-sources-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sourcesOnDisk(dir: string): string[] {
  return fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sourcesOnDisk(path.join(dir, e.name)) : e.name.endsWith('.cc') ? [path.join(dir, e.name)] : []));
}

// Expands binding.gyp's sources the way gyp does: <!@(cmd) is replaced by cmd's output words.
function gypSources(): string[] {
  const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8'));
  expect(gyp.targets).toHaveLength(1);
  return gyp.targets[0].sources.flatMap((s: string) => {
    const command = /^<!@\((.*)\)$/.exec(s);
    if (!command) return [s];
    return execFileSync('sh', ['-c', command[1]], { cwd: root, encoding: 'utf8' }).split(/\s+/).filter(Boolean);
  });
}

// Runs native/sources.cmake in CMake script mode and returns the absolute paths it yields.
function cmakeSources(): string[] {
  const script = path.join(tmp, 'print-sources.cmake');
  fs.writeFileSync(
    script,
    `include("${path.join(root, 'native/sources.cmake')}")\nforeach(s IN LISTS LITEVAULT_SOURCES)\n  message("\${s}")\nendforeach()\n`,
  );
  // message() without a mode writes to stderr.
  const run = spawnSync('cmake', ['-P', script], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  return run.stderr.trim().split('\n');
}

describe('one source list for both builds', () => {
  it('lists every .cc under native/src exactly once', () => {
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(sourcesOnDisk('native/src').sort());
  });

  it('binding.gyp compiles exactly the listed sources', () => {
    expect(gypSources()).toEqual(listed);
  });

  it('CMake compiles exactly the listed sources', () => {
    expect(cmakeSources()).toEqual(listed.map((s) => path.join(root, s)));
  });

  it('node-gyp builds binding.gyp into an addon that loads and reads a real database', () => {
    const copy = path.join(tmp, 'pkg');
    fs.mkdirSync(copy);
    for (const f of ['binding.gyp', 'package.json', 'native']) fs.cpSync(path.join(root, f), path.join(copy, f), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
    const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
    const nodedir = execFileSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8' }).trim();
    const args = [nodeGyp, 'rebuild', '--loglevel=error'];
    if (nodedir && nodedir !== 'undefined') args.push(`--nodedir=${nodedir}`);
    execFileSync(process.execPath, args, { cwd: copy, stdio: ['ignore', 'ignore', 'pipe'] });

    const db = path.join(tmp, 'gyp.db');
    sqliteShell(db, 'PRAGMA page_size=2048; CREATE TABLE t(x); INSERT INTO t VALUES (1);');
    const script = `require(${JSON.stringify(path.join(copy, 'build/Release/litevault.node'))}).inspect(${JSON.stringify(db)}).then(i => console.log(JSON.stringify(i)))`;
    const info = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
    expect(info.pageSize).toBe(2048);
    expect(info.pageCount).toBe(2);
  });
});
