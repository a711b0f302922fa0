// The addon has ONE source list (native/sources.txt). CMake (native/sources.cmake) and
// binding.gyp (native/list-sources.js) both read it; these tests fail if either build would
// compile a different set, if a source file is missing from the list, or if the from-source
// fallback (node-gyp + binding.gyp) stops producing a working addon. And the shipped builds
// (build/, node-gyp's, prebuilds/) carry no test hook, while the test build (build-test/,
// LITEVAULT_TESTING) has them all.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
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

  it('node-gyp builds binding.gyp into an addon that loads and reads a real database', async () => {
    const copy = path.join(tmp, 'pkg');
    fs.mkdirSync(copy);
    for (const f of ['binding.gyp', 'package.json', 'native']) fs.cpSync(path.join(root, f), path.join(copy, f), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
    const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
    const nodedir = execFileSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8' }).trim();
    // Both cores: the addon is ~40 sources (the vault layer added 9), and this test shares the
    // machine with the rest of the suite.
    const args = [nodeGyp, 'rebuild', '--loglevel=error', '--jobs=max'];
    if (nodedir && nodedir !== 'undefined') args.push(`--nodedir=${nodedir}`);
    // Not execFileSync: the build takes over a minute here, and a test process whose event loop
    // is blocked that long misses vitest's 60 s RPC deadline ("Timeout calling onTaskUpdate"),
    // which fails the whole run although every test passed.
    await promisify(execFile)(process.execPath, args, { cwd: copy, maxBuffer: 64 << 20 });

    const db = path.join(tmp, 'gyp.db');
    sqliteShell(db, 'PRAGMA page_size=2048; CREATE TABLE t(x); INSERT INTO t VALUES (1);');
    const script = `require(${JSON.stringify(path.join(copy, 'build/Release/litevault.node'))}).inspect(${JSON.stringify(db)}).then(i => console.log(JSON.stringify(i)))`;
    const info = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
    expect(info.pageSize).toBe(2048);
    expect(info.pageCount).toBe(2);
    const gypAddon = path.join(copy, 'build/Release/litevault.node');
    expect(bindingKeys(gypAddon).filter(isTestHook)).toEqual([]);
    expect(exportedSymbols(gypAddon)).toEqual(ENTRY_SYMBOLS);
  }, 300_000);
});

// The Node-API module entry points; native/exports.map hides everything else.
const ENTRY_SYMBOLS = ['napi_register_module_v1', 'node_api_module_get_api_version_v1'];
const TEST_HOOKS = ['setFaultPlan', 'faultOperations', 'syncPointArm', 'syncPointWait', 'syncPointRelease', 'syncPointReset'];
const isTestHook = (key: string): boolean => TEST_HOOKS.includes(key) || /fault|syncpoint/i.test(key);
const shipped = path.join(root, 'build/Release/litevault.node');
const testBuild = path.join(root, 'build-test/Release/litevault.node');
// prebuildify --tag-libc names it after its libc (package.json's prebuild).
const prebuilt = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'litevault.glibc.node');

// The dynamic symbols a binary defines (what it exports), sorted.
function exportedSymbols(binary: string): string[] {
  const out = execFileSync('nm', ['-D', '--defined-only', binary], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 3 && /^[A-Z]$/.test(f[1]!) && f[1] !== 'U')
    .map((f) => f[2]!.replace(/@.*$/, ''))
    .sort();
}

// The keys of the binding object a binary registers, loaded in a fresh process.
function bindingKeys(binary: string): string[] {
  const script = `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(binary)}))))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, LITEVAULT_TEST_ADDON: '' } }));
}

describe('no test hook in the shipped addon; all of them in the test build', () => {
  const shippedBinaries = [shipped, ...(fs.existsSync(prebuilt) ? [prebuilt] : [])];

  it('build/Release/litevault.node (and a prebuilt, if built) exports only the module entry symbols (nm -D)', () => {
    for (const binary of shippedBinaries) expect(exportedSymbols(binary), binary).toEqual(ENTRY_SYMBOLS);
  });

  it('the shipped binding object has no setFaultPlan, faultOperations or syncPoint* function', () => {
    for (const binary of shippedBinaries) {
      const keys = bindingKeys(binary);
      expect(keys, binary).toContain('inspect'); // it loaded and registered its API
      expect(keys.filter(isTestHook), binary).toEqual([]);
    }
  });

  it('the shipped binary does not even contain the hook code: no hook or sync-point name in its bytes', () => {
    for (const binary of shippedBinaries) {
      const bytes = fs.readFileSync(binary);
      for (const name of [...TEST_HOOKS, 'after-header-read', 'backup-step-begin', 'vault-scan-step', 'checkpoint-before-nbackfill', 'sync point']) {
        expect(bytes.includes(Buffer.from(name)), `${binary} contains '${name}'`).toBe(false);
      }
    }
  });

  it('build-test/Release/litevault.node registers every hook and still exports only the entry symbols', () => {
    expect(fs.existsSync(testBuild), 'run npm run build:native:test').toBe(true);
    expect(bindingKeys(testBuild).filter(isTestHook).sort()).toEqual([...TEST_HOOKS].sort());
    expect(exportedSymbols(testBuild)).toEqual(ENTRY_SYMBOLS);
  });

  it('dist/ loads the shipped build unless LITEVAULT_TEST_ADDON names another binary', () => {
    const script = `const b = require(${JSON.stringify(path.join(root, 'dist/binding.js'))}); console.log(JSON.stringify({ addon: b.nativeAddon, hooks: Object.keys(b.binding).filter((k) => /fault|syncPoint/i.test(k)) }))`;
    const run = (extra: NodeJS.ProcessEnv): { addon: { path: string; from: string }; hooks: string[] } =>
      JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, LITEVAULT_TEST_ADDON: '', ...extra } }));
    const plain = run({});
    expect(plain.addon.from).not.toBe('test');
    expect(plain.hooks).toEqual([]);
    const test = run({ LITEVAULT_TEST_ADDON: testBuild });
    expect(test.addon).toMatchObject({ path: testBuild, from: 'test' });
    expect(test.hooks.sort()).toEqual([...TEST_HOOKS].sort());
  });
});

// README's layering: each layer includes only itself and the layers below it.
const LAYERS = ['base', 'os', 'format', 'verify', 'wal', 'pager', 'backup', 'checkpoint', 'vault', 'addon'];
// backup, checkpoint and vault are one level: each may use base..pager, none another.
const rank = (layer: string): number => (layer === 'checkpoint' || layer === 'vault' ? LAYERS.indexOf('backup') : LAYERS.indexOf(layer));

// Every `#include "layer/..."` under srcDir that reaches a layer above the including file's.
function upwardIncludes(srcDir: string): string[] {
  const bad: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, e.name);
      if (e.isDirectory()) walk(file);
      else if (/\.(h|cc)$/.test(e.name)) {
        const layer = path.relative(srcDir, file).split(path.sep)[0]!;
        for (const m of fs.readFileSync(file, 'utf8').matchAll(/^#include "([a-z_]+)\//gm)) {
          const target = m[1]!;
          expect(LAYERS, `${file}: unknown layer '${target}'`).toContain(target);
          if (target !== layer && rank(target) >= rank(layer)) bad.push(`${path.relative(srcDir, file)} includes ${target}/`);
        }
      }
    }
  };
  walk(srcDir);
  return bad.sort();
}

describe('layering', () => {
  it('no file under native/src includes a layer above its own (base -> os -> format -> verify -> wal -> pager -> backup/checkpoint/vault -> addon)', () => {
    expect(upwardIncludes(path.join(root, 'native/src'))).toEqual([]);
  });
});

