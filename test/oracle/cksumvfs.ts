/**
 * Real SQLite's cksumvfs (ext/misc/cksumvfs.c) as a test oracle: the extension is built from
 * Debian's own source package of the installed sqlite3 (`apt-get source`, with this machine's
 * configured Debian archives as deb-src, in a private apt state: /etc/apt is not touched) into
 * a cache directory, once per machine. It is never part of litevault: tests load it into the
 * sqlite3 shell to WRITE databases with page checksums and to JUDGE them (a damaged page reads
 * as SQLITE_IOERR_DATA through cksumvfs).
 *
 * cksumvfsExtension() returns the shared object's path, or null with the reason in
 * cksumvfsUnavailable when the source package cannot be had here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQLITE3_BIN } from './sqlite';

export let cksumvfsUnavailable = '';

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): void {
  execFileSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
}

// An APT_CONFIG for the private apt runs: the machine's configuration (its mirrors' settings,
// e.g. Check-Valid-Until), without the hooks an update runs (appstream's `appstreamcli refresh`,
// PackageKit's): they are about the system's own lists, not ours, and one hung for 4 minutes
// on a CI machine. APT reads APT_CONFIG first, then apt.conf.d, then Dir::Etc::main, so the
// #clear in our main file comes after every part.
function aptEnv(apt: string): NodeJS.ProcessEnv {
  const main = existsSync('/etc/apt/apt.conf') ? readFileSync('/etc/apt/apt.conf', 'utf8') : '';
  writeFileSync(join(apt, 'main.conf'), `${main}\n#clear APT::Update::Pre-Invoke;\n#clear APT::Update::Post-Invoke;\n#clear APT::Update::Post-Invoke-Success;\n`);
  writeFileSync(join(apt, 'first.conf'), `Dir::Etc::main "${join(apt, 'main.conf')}";\n`);
  return { ...process.env, APT_CONFIG: join(apt, 'first.conf') };
}

// The configured Debian archives, as deb-src entries (deb822 .sources and one-line .list files).
function debSrcEntries(): { file: string; text: string } {
  const dir = '/etc/apt/sources.list.d';
  const deb822: string[] = [];
  const lines: string[] = [];
  const files = existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (f.endsWith('.sources')) deb822.push(text.replace(/^Types:.*$/gm, 'Types: deb-src'));
    else if (f.endsWith('.list')) lines.push(...text.split('\n').filter((l) => /^deb\s/.test(l)).map((l) => l.replace(/^deb\s/, 'deb-src ')));
  }
  return deb822.length > 0 ? { file: 'src.sources', text: deb822.join('\n\n') } : { file: 'src.list', text: lines.join('\n') + '\n' };
}

/** Builds (once per machine) and returns the cksumvfs loadable extension, or null. */
export function cksumvfsExtension(): string | null {
  const version = execFileSync(SQLITE3_BIN, ['-version'], { encoding: 'utf8' }).split(' ')[0]!;
  const cache = join(tmpdir(), `litevault-cksumvfs-${version}`);
  const so = join(cache, 'cksumvfs.so');
  if (existsSync(so)) return so;
  try {
    const apt = join(cache, 'apt');
    mkdirSync(join(apt, 'parts'), { recursive: true });
    mkdirSync(join(apt, 'lists', 'partial'), { recursive: true });
    const { file, text } = debSrcEntries();
    writeFileSync(join(apt, 'parts', file), text);
    const opts = ['-o', `Dir::Etc::SourceList=/dev/null`, '-o', `Dir::Etc::SourceParts=${join(apt, 'parts')}`, '-o', `Dir::State::Lists=${join(apt, 'lists')}`, '-qq'];
    const env = aptEnv(apt);
    run('apt-get', [...opts, 'update'], cache, env);
    run('apt-get', [...opts, 'source', '--download-only', `sqlite3=${execFileSync('dpkg-query', ['-W', '-f=${Version}', 'sqlite3'], { encoding: 'utf8' })}`], cache, env);
    const orig = readdirSync(cache).find((f) => /^sqlite3_.*\.orig\.tar\.xz$/.test(f));
    if (!orig) throw new Error('no .orig.tar.xz in the source package');
    const member = execFileSync('tar', ['tJf', orig], { cwd: cache, encoding: 'utf8', maxBuffer: 64 << 20 })
      .split('\n')
      .find((m) => m.endsWith('ext/misc/cksumvfs.c'));
    if (!member) throw new Error('the source package has no ext/misc/cksumvfs.c');
    run('tar', ['xJf', orig, member], cache);
    const include = existsSync('/usr/include/sqlite3ext.h') ? '/usr/include' : join(__dirname, '..', '..', 'node_modules', 'better-sqlite3', 'deps', 'sqlite3');
    run('gcc', ['-O2', '-fPIC', '-shared', '-I', include, join(cache, member), '-o', so], cache);
    return so;
  } catch (err) {
    cksumvfsUnavailable = `cksumvfs could not be built from Debian's sqlite3 source package: ${(err as Error).message.split('\n')[0]}`;
    return null;
  }
}

/** Runs `sql` in the sqlite3 shell with cksumvfs loaded BEFORE the database is opened (else the file would use the plain unix VFS). */
export function cksumvfsShell(extension: string, db: string, sql: string): string {
  return execFileSync(SQLITE3_BIN, ['-batch', '-bail', ':memory:'], {
    input: `.load ${extension.replace(/\.so$/, '')}\n.open ${db}\n${sql}\n`,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}
