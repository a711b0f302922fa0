// The addon built by `npm run compile` (build/Release) loads wherever Node 18/20 do: glibc 2.28 is
// enough and the machine's libstdc++/libgcc are not needed (native/CMakeLists.txt links them in;
// native/src/base/glibc_compat.cc binds the newer glibc calls to older versions). Read from the
// binary's import table with binutils. The prebuild is held to the same rule in install.test.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baselineViolations, readElfImports } from './oracle/elf-imports';

const built = path.join(__dirname, '..', 'build', 'Release', 'litevault.node');
const linuxX64 = process.platform === 'linux' && process.arch === 'x64';

// The sanitizer build (npm run test:asan) links the shared ASan/UBSan runtimes and keeps the
// system C++ runtime on purpose; the baseline is a property of the shipped build only.
const sanitized = process.env.LITEVAULT_SANITIZED === '1';

describe.runIf(linuxX64 && !sanitized)('build/Release/litevault.node: the glibc 2.28 baseline', () => {
  it('imports no GLIBC_ version above 2.28 and no GLIBCXX_, CXXABI_ or GCC_ version', () => {
    expect(fs.existsSync(built), `${built} is missing: run npm run compile`).toBe(true);
    expect(baselineViolations(built)).toEqual([]);
  });

  it('needs no shared C++ runtime and exports only the module entry points', () => {
    const elf = readElfImports(built);
    expect(elf.needed).not.toContain('libstdc++.so.6');
    expect(elf.needed).not.toContain('libgcc_s.so.1');
    expect(elf.needed).toContain('libc.so.6');
    expect(elf.exports).toEqual(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
  });

  it('the checker itself fails a binary built the ordinary way (better-sqlite3: shared libstdc++, this glibc)', () => {
    // A check that cannot fail proves nothing: better-sqlite3's addon, compiled here by node-gyp
    // without a baseline, must show each kind of violation the baseline forbids.
    const ordinary = path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
    const problems = baselineViolations(ordinary);
    expect(problems).toContain('needs libstdc++.so.6');
    expect(problems.some((p) => /^imports \S+@GLIBCXX_/.test(p))).toBe(true);
    const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;
    if (glibc && Number(glibc.split('.')[1]) >= 34) {
      // Built against this glibc, pthread_* calls bind to GLIBC_2.34.
      expect(problems.some((p) => /^requires GLIBC_2\.(29|[3-9]\d)/.test(p))).toBe(true);
    }
    expect(readElfImports(ordinary).exports.length).toBeGreaterThan(0);
  });
});
