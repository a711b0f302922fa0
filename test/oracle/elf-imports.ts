/**
 * What a native binary asks of the machine that loads it, read from its ELF dynamic section with
 * binutils (objdump, readelf), not from our own build settings: the shared libraries it needs, the
 * symbol versions it imports (the loader refuses the binary if libc lacks one), and the symbols it
 * exports. test/binary-baseline.test.ts (build/Release) and test/install.test.ts (the prebuild)
 * hold both binaries to the baseline README states: glibc 2.28, no libstdc++/libgcc of the machine.
 */
import { execFileSync } from 'node:child_process';

export interface ElfImports {
  /** DT_NEEDED entries, e.g. "libc.so.6". */
  needed: string[];
  /** Every version the binary requires (.gnu.version_r), e.g. "GLIBC_2.14". */
  versionsNeeded: string[];
  /** Each undefined dynamic symbol with its version, e.g. { name: "memcpy", version: "GLIBC_2.14" };
   *  "Base" or "" when unversioned (Node's napi_* functions). */
  imports: { name: string; version: string }[];
  /** Defined dynamic symbols (what the binary exports). */
  exports: string[];
}

export function readElfImports(file: string): ElfImports {
  const dynamic = execFileSync('readelf', ['--dynamic', '--wide', file], { encoding: 'utf8' });
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const versions = execFileSync('readelf', ['--version-info', '--wide', file], { encoding: 'utf8' });
  const needSection = versions.slice(versions.indexOf(".gnu.version_r'"));
  const versionsNeeded = [...needSection.matchAll(/Name: (\S+)\s+Flags/g)].map((m) => m[1]);
  const imports: { name: string; version: string }[] = [];
  const exported: string[] = [];
  for (const line of execFileSync('objdump', ['-T', file], { encoding: 'utf8' }).split('\n')) {
    // 0000000000000000      DF *UND*	0000000000000000 (GLIBC_2.2.5) pthread_once
    const m = /^[0-9a-f]+ .{7} (\S+)\s+[0-9a-f]+\s+(?:\(?([A-Za-z_][\w.]*)\)?\s+)?(\S+)$/.exec(line);
    if (!m) continue;
    const [, section, version = '', name] = m;
    if (section === '*UND*') imports.push({ name, version });
    else if (section !== '*ABS*') exported.push(name);
  }
  return { needed, versionsNeeded, imports, exports: exported.sort() };
}

/** "GLIBC_2.2.5" -> [2, 2, 5]. */
function versionNumbers(version: string): number[] {
  return version.replace(/^GLIBC_/, '').split('.').map(Number);
}

function newerThan(a: number[], b: number[]): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return false;
}

/** Why the binary would not load on glibc `baseline` without the machine's C++ runtime, one line each. */
export function baselineViolations(file: string, baseline = '2.28'): string[] {
  const elf = readElfImports(file);
  const limit = versionNumbers(baseline);
  const problems: string[] = [];
  for (const lib of elf.needed) {
    if (!/^(libc|libm|libdl|libpthread|librt|ld-linux-x86-64)\.so\.\d+$/.test(lib)) problems.push(`needs ${lib}`);
  }
  for (const v of elf.versionsNeeded) {
    if (/^GLIBC_\d/.test(v)) {
      if (newerThan(versionNumbers(v), limit)) problems.push(`requires ${v}`);
    } else {
      problems.push(`requires ${v}`); // GLIBCXX_, CXXABI_, GCC_, GLIBC_PRIVATE: not glibc's stable ABI
    }
  }
  for (const { name, version } of elf.imports) {
    if (!version || version === 'Base') continue; // unversioned: Node's napi_*, weak hooks
    if (/^GLIBC_\d/.test(version) ? newerThan(versionNumbers(version), limit) : true) {
      problems.push(`imports ${name}@${version}`);
    }
  }
  return problems;
}
