// A user's `npm install litevault` needs no compiler: the tarball carries the prebuilt binary,
// tagged with its libc (prebuilds/linux-x64/litevault.glibc.node), and node-gyp-build loads it.
// This test packs the package, installs the tarball into an empty folder with a PATH that holds
// only node and npm (no cc, c++, gcc, g++, make or cmake), and checks that require() and import()
// both load, report a binary from prebuilds/, and read a database that real SQLite made; that the
// prebuild meets README's baseline (glibc 2.28, no shared libstdc++/libgcc), read from its import
// table; and that in litevault's own checkout the install script builds nothing (npm run compile
// does), while the packed package's install script is node-gyp-build.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baselineViolations, readElfImports } from './oracle/elf-imports';
import { sqliteShell } from './oracle/sqlite';

const root = path.join(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'litevault-install-'));
const app = path.join(tmp, 'app');
const bin = path.join(tmp, 'bin');
const pkg = path.join(tmp, 'pkg');
const compilers = ['cc', 'c++', 'gcc', 'g++', 'clang', 'make', 'cmake', 'ninja'];
// prebuildify --napi --tag-libc names the binary after its libc; node-gyp-build picks the one
// whose tag matches the running system (glibc unless Alpine/musl).
const prebuildName = 'litevault.glibc.node';
const prebuildDir = `${process.platform}-${process.arch}`;
let env: NodeJS.ProcessEnv;

function onPath(tool: string, pathVar: string): boolean {
  return pathVar.split(':').some((dir) => fs.existsSync(path.join(dir, tool)));
}

// The release steps take longer than vitest's 60 s worker RPC deadline (the prebuild alone took
// 77 s on CI), so they run without blocking this worker's event loop; stdout is returned, and a
// failure rejects with the command's stderr in its message.
async function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  const { stdout } = await promisify(execFile)(command, args, { ...options, encoding: 'utf8', maxBuffer: 64 << 20 });
  return stdout;
}

beforeAll(async () => {
  // The release steps, prebuild (prebuildify driving cmake-js) then pack, in a copy of the
  // package, so that rebuilding does not pull build/ from under tests running in parallel.
  for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'CMakeLists.txt', 'binding.gyp', 'README.md', 'LICENSE', 'native', 'lib', 'scripts']) {
    fs.cpSync(path.join(root, entry), path.join(pkg, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
  await run('npm', ['run', 'prebuild', '--silent'], { cwd: pkg });
  expect(fs.readdirSync(path.join(pkg, 'prebuilds', prebuildDir))).toEqual([prebuildName]);
  const packed = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: pkg }));
  const tarball = path.join(tmp, packed[0].filename);

  // A PATH with node, npm and a shell (npm runs scripts with sh), and no compiler or build tool.
  fs.mkdirSync(bin);
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync(fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim()), path.join(bin, 'npm'));
  env = { HOME: process.env.HOME, PATH: bin, npm_config_cache: process.env.npm_config_cache };
  for (const tool of compilers) expect(onPath(tool, env.PATH!), `${tool} must not be on PATH`).toBe(false);

  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, env });
}, 300_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('install from the packed tarball with no compiler on PATH', () => {
  it('ships the prebuilt binary and no build output', () => {
    const installed = path.join(app, 'node_modules', 'litevault');
    expect(fs.readdirSync(path.join(installed, 'prebuilds', prebuildDir))).toEqual([prebuildName]);
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
  });

  it('require() and import() both load the prebuilt binary and read a real database', () => {
    const db = path.join(tmp, 'real.db');
    sqliteShell(db, 'PRAGMA page_size=8192; PRAGMA user_version=42; CREATE TABLE t(x); INSERT INTO t VALUES (1);');
    const script = `
      const cjs = require('litevault');
      import('litevault').then(async (esm) => {
        const info = await esm.inspect(${JSON.stringify(db)});
        console.log(JSON.stringify({ cjs: cjs.nativeAddon, esm: esm.nativeAddon, same: cjs.inspect === esm.inspect, info }));
      });`;
    const out = JSON.parse(execFileSync('node', ['-e', script], { cwd: app, env, encoding: 'utf8' }));
    for (const addon of [out.cjs, out.esm]) {
      expect(addon.from).toBe('prebuilds');
      expect(addon.path).toBe(path.join(app, 'node_modules', 'litevault', 'prebuilds', prebuildDir, prebuildName));
    }
    expect(out.same).toBe(true);
    expect(out.info.pageSize).toBe(8192);
    expect(out.info.userVersion).toBe(42);
  });

  it('installs the litevault command', () => {
    const db = path.join(tmp, 'cli.db');
    sqliteShell(db, 'CREATE TABLE t(x);');
    const out = execFileSync(path.join(app, 'node_modules', '.bin', 'litevault'), ['info', db, '--json'], { cwd: app, env, encoding: 'utf8' });
    expect(JSON.parse(out).pageCount).toBe(2);
  });
});

describe.runIf(process.platform === 'linux' && process.arch === 'x64')('the prebuild loads wherever Node 18/20 do', () => {
  it('imports no GLIBC_ version above 2.28 and no GLIBCXX_, CXXABI_ or GCC_ version', () => {
    const installed = path.join(app, 'node_modules', 'litevault', 'prebuilds', prebuildDir, prebuildName);
    expect(baselineViolations(installed)).toEqual([]);
  });

  it('needs no shared C++ runtime and exports only the module entry points', () => {
    const elf = readElfImports(path.join(app, 'node_modules', 'litevault', 'prebuilds', prebuildDir, prebuildName));
    expect(elf.needed).not.toContain('libstdc++.so.6');
    expect(elf.needed).not.toContain('libgcc_s.so.1');
    expect(elf.exports).toEqual(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
  });
});

describe('the install script', () => {
  // node-gyp-build's install step first runs `node-gyp-build-test` (does a binary load?) and
  // compiles only if that fails. A stand-in on PATH records that it ran and says yes, so these
  // tests see whether node-gyp-build ran without compiling anything.
  const checkout = path.join(tmp, 'checkout');
  const fakeBin = path.join(tmp, 'fake-bin');
  const marker = path.join(tmp, 'node-gyp-build-ran');
  function runInstallScript(initCwd: string) {
    fs.rmSync(marker, { force: true });
    const r = spawnSync('node', ['scripts/install.js'], {
      cwd: checkout,
      env: { ...env, PATH: `${fakeBin}:${env.PATH}`, INIT_CWD: initCwd },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { ...r, ranNodeGypBuild: fs.existsSync(marker) };
  }

  // The release steps take longer than vitest's 60 s worker RPC deadline (the prebuild alone took
// 77 s on CI), so they run without blocking this worker's event loop; stdout is returned, and a
// failure rejects with the command's stderr in its message.
async function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  const { stdout } = await promisify(execFile)(command, args, { ...options, encoding: 'utf8', maxBuffer: 64 << 20 });
  return stdout;
}

beforeAll(async () => {
    // A development checkout: the package copy from above with native/fuzz, but without its
    // prebuilds/ and build/, where node-gyp-build would compile binding.gyp.
    for (const entry of ['package.json', 'binding.gyp', 'native', 'scripts']) fs.cpSync(path.join(pkg, entry), path.join(checkout, entry), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(checkout, 'node_modules'));
    fs.mkdirSync(fakeBin);
    fs.writeFileSync(path.join(fakeBin, 'node-gyp-build-test'), `#!/bin/sh\n: > '${marker}'\n`, { mode: 0o755 });
  });

  it('is node-gyp-build in the packed package, which carries scripts/install.js and no development marker', () => {
    const installed = path.join(app, 'node_modules', 'litevault');
    expect(JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')).scripts.install).toBe('node scripts/install.js');
    expect(fs.existsSync(path.join(installed, 'scripts', 'install.js'))).toBe(true);
    expect(fs.existsSync(path.join(installed, '.git'))).toBe(false);
    expect(fs.existsSync(path.join(installed, 'native', 'fuzz'))).toBe(false);
  });

  it('runs nothing and prints nothing in a development checkout (npm started there, native/fuzz present)', () => {
    expect(fs.existsSync(path.join(checkout, 'native', 'fuzz'))).toBe(true);
    const r = runInstallScript(checkout);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.ranNodeGypBuild).toBe(false);
    expect(fs.existsSync(path.join(checkout, 'build'))).toBe(false);
  });

  it('runs node-gyp-build when npm was started elsewhere, even on a checkout (a file: dependency)', () => {
    const r = runInstallScript(app);
    expect(r.status, r.stderr).toBe(0);
    expect(r.ranNodeGypBuild).toBe(true);
  });

  it('runs node-gyp-build where the tarball was unpacked (no .git, no native/fuzz), wherever npm started', () => {
    const installed = path.join(app, 'node_modules', 'litevault');
    fs.rmSync(marker, { force: true });
    const r = spawnSync('node', [path.join(installed, 'scripts', 'install.js')], {
      cwd: installed,
      env: { ...env, PATH: `${fakeBin}:${env.PATH}`, INIT_CWD: installed },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(marker)).toBe(true);
  });
});
