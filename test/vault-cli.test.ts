// The `litevault vault` verbs as a cron job or a CI step runs them (node dist/cli.js, no
// terminal), on databases real SQLite made, judged by SQLite: `vault backup` of several
// databases in one call (one JSON result per database, each under its own name), `vault list
// --json` (a backups array with id/name/type/base), `vault restore --at` and `--overwrite`,
// `vault prune --keep-last` with and without --dry-run, --truncate-wal, --fallback-full, the
// exit statuses (0 done, 1 failed with one JSON error object on stderr, 2 usage), and the
// commands of README's "Backups over time" section (its encryption example too, with a key file)
// use only documented verbs and options and run as written.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';

afterAll(removeTmpDirs);
const repo = path.join(__dirname, '..');
const cli = path.join(repo, 'dist', 'cli.js');
const dir = tmpDir('litevault-vault-cli-');
let n = 0;
const fresh = (name: string): string => path.join(dir, `${n++}-${name}`);
const sha = (f: string): string => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}
function run(args: string[]): Run {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function ok(args: string[]): Run {
  const r = run(args);
  expect(r.status, `litevault ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}
function jsonLines(r: Run): Array<Record<string, unknown>> {
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
/** Exit 1, nothing on stdout, one JSON error object as the last stderr line. */
function jsonError(r: Run): { code: string; message: string; retryable: boolean } {
  expect(r.status, r.stderr).toBe(1);
  const last = r.stderr.trim().split('\n').pop()!;
  const parsed = JSON.parse(last) as { error: { code: string; errno: number | null; message: string; retryable: boolean } };
  expect(Object.keys(parsed.error).sort()).toEqual(['code', 'errno', 'message', 'retryable']);
  return parsed.error;
}
function usage(args: string[]): Run {
  const r = run(args);
  expect(r.status, `litevault ${args.join(' ')} is a usage error\n${r.stdout}\n${r.stderr}`).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim()).not.toBe('');
  return r;
}
const rows = (count: number, tag: string): string =>
  `CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${count}) INSERT INTO t SELECT i, '${tag}' || hex(randomblob(100)) FROM c;`;
function realDb(name: string, sql: string): string {
  const d = fresh('dbs');
  fs.mkdirSync(d);
  const f = path.join(d, name);
  sqliteShell(f, sql);
  return f;
}
function tree(d: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string, rel: string): void => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(p, e.name), `${rel}${e.name}/`);
      else out[rel + e.name] = sha(path.join(p, e.name));
    }
  };
  walk(d, '');
  return out;
}

describe('litevault vault: backup, list, restore, prune', () => {
  const vault = path.join(dir, 'vault');
  const a = realDb('a.db', rows(2000, 'a'));
  const b = realDb('b.db', rows(500, 'b'));
  const c = realDb('c.db', rows(50, 'c'));
  const dumps: Record<string, string> = {};

  it('one `vault backup` of three databases: exit 0, one JSON result per database, each a full under its basename', () => {
    const r = ok(['vault', 'backup', a, b, c, vault, '--json']);
    const results = jsonLines(r);
    expect(results).toHaveLength(3);
    expect(results.map((x) => x.name)).toEqual(['a.db', 'b.db', 'c.db']);
    for (const [i, x] of results.entries()) {
      expect(x).toMatchObject({ type: 'full', base: null, seq: 1, id: '1' });
      expect(String(x.source)).toContain(path.basename([a, b, c][i]!));
      expect(x.pageCount).toBeGreaterThan(0);
      expect(x.pagesStored).toBe(x.pageCount);
    }
    dumps['a.db@1'] = logicalDump(a);
    expect(fs.statSync(vault).mode & 0o777).toBe(0o700);
  });

  it('the next `vault backup` is an incremental by default, --type differential a differential, --name chooses the name', () => {
    sqliteShell(a, "UPDATE t SET v = 'x' || id WHERE id % 100 = 0;");
    const inc = jsonLines(ok(['vault', 'backup', a, vault, '--json']));
    expect(inc).toHaveLength(1);
    expect(inc[0]).toMatchObject({ name: 'a.db', type: 'incremental', base: '1', seq: 2 });
    expect(Number(inc[0]!.pagesStored)).toBeLessThan(Number(inc[0]!.pageCount) / 2);
    dumps['a.db@2'] = logicalDump(a);
    sqliteShell(a, 'DELETE FROM t WHERE id > 1900;');
    const diff = jsonLines(ok(['vault', 'backup', a, vault, '--type', 'differential', '--json']));
    expect(diff[0]).toMatchObject({ name: 'a.db', type: 'differential', base: '1', seq: 3 });
    dumps['a.db@3'] = logicalDump(a);
    const named = jsonLines(ok(['vault', 'backup', c, vault, '--name', 'tenant-42', '--type', 'full', '--json']));
    expect(named[0]).toMatchObject({ name: 'tenant-42', type: 'full', seq: 1 });
  });

  it('`vault list --json`: a backups array with id, name, type, base; --name filters; plain list is readable', () => {
    const all = JSON.parse(ok(['vault', 'list', vault, '--json']).stdout) as { backups: Array<Record<string, unknown>> };
    expect(Array.isArray(all.backups)).toBe(true);
    const pick = (x: Record<string, unknown>): unknown[] => [x.name, x.id, x.type, x.base];
    expect(all.backups.map(pick).sort()).toEqual(
      [
        ['a.db', '1', 'full', null],
        ['a.db', '2', 'incremental', '1'],
        ['a.db', '3', 'differential', '1'],
        ['b.db', '1', 'full', null],
        ['c.db', '1', 'full', null],
        ['tenant-42', '1', 'full', null],
      ].sort(),
    );
    const onlyA = JSON.parse(ok(['vault', 'list', vault, '--name', 'a.db', '--json']).stdout) as { backups: Array<Record<string, unknown>> };
    expect(onlyA.backups.map((x) => x.id)).toEqual(['1', '2', '3']);
    const plain = ok(['vault', 'list', vault]);
    for (const name of ['a.db', 'b.db', 'c.db', 'tenant-42']) expect(plain.stdout).toContain(name);
    expect(plain.stdout).toMatch(/differential/);
  });

  it('`vault restore --at ID`: each backup restores to SQLite\'s view at its time; default is the latest', () => {
    for (const at of ['1', '2', '3']) {
      const out = fresh(`a-at-${at}.db`);
      const r = jsonLines(ok(['vault', 'restore', vault, 'a.db', out, '--at', at, '--json']));
      expect(r).toHaveLength(1);
      expect(r[0]).toMatchObject({ id: at, name: 'a.db' });
      expect(integrityCheck(out)).toBe('ok');
      expect(logicalDump(out)).toBe(dumps[`a.db@${at}`]);
    }
    const latest = fresh('a-latest.db');
    ok(['vault', 'restore', vault, 'a.db', latest]);
    expect(logicalDump(latest)).toBe(dumps['a.db@3']);
  });

  it('`vault restore` onto an existing file: exit 1 LITEVAULT_EXISTS and the file untouched; --overwrite replaces it', () => {
    const dest = realDb('dest.db', rows(10, 'old'));
    const before = sha(dest);
    const e = jsonError(run(['vault', 'restore', vault, 'b.db', dest, '--json']));
    expect(e.code).toBe('LITEVAULT_EXISTS');
    expect(e.message).toContain('dest.db');
    expect(sha(dest)).toBe(before);
    ok(['vault', 'restore', vault, 'b.db', dest, '--overwrite', '--json']);
    expect(integrityCheck(dest)).toBe('ok');
    expect(logicalDump(dest)).toBe(logicalDump(b));
  });

  it('several databases, one of them missing: the others are backed up, the failed one is a {source, error} line, exit 1', () => {
    const x = realDb('x.db', rows(20, 'x'));
    const y = realDb('y.db', rows(20, 'y'));
    const missing = path.join(dir, 'tenant-missing.db');
    const r = run(['vault', 'backup', x, missing, y, vault, '--json']);
    expect(r.status, r.stderr).toBe(1);
    const out = jsonLines(r);
    expect(out).toHaveLength(3);
    expect(out[0]).toMatchObject({ name: 'x.db', type: 'full' });
    expect(out[1]!.source).toBe(missing);
    expect((out[1]!.error as { code: string; message: string }).message).toContain('tenant-missing.db');
    expect(out[2]).toMatchObject({ name: 'y.db', type: 'full' });
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('failures exit 1 with one JSON error: unknown name, unknown id, incremental without a full, a missing database, a directory that is not a vault', () => {
    expect(jsonError(run(['vault', 'restore', vault, 'nope.db', fresh('x.db'), '--json'])).code).toBe('LITEVAULT_NOT_FOUND');
    expect(jsonError(run(['vault', 'restore', vault, 'a.db', fresh('x.db'), '--at', '77', '--json'])).code).toBe('LITEVAULT_NOT_FOUND');
    const d = realDb('d.db', rows(10, 'd'));
    expect(jsonError(run(['vault', 'backup', d, vault, '--type', 'incremental', '--json'])).code).toBe('LITEVAULT_NO_FULL_BACKUP');
    const missing = path.join(dir, 'missing.db');
    const e = jsonError(run(['vault', 'backup', missing, vault, '--json']));
    expect(e.message).toContain('missing.db');
    expect(fs.existsSync(missing), 'a backup never creates its source').toBe(false);
    const notVault = fresh('not-a-vault');
    fs.mkdirSync(notVault);
    fs.writeFileSync(path.join(notVault, 'file.txt'), 'hello');
    expect(jsonError(run(['vault', 'list', notVault, '--json'])).code).toBe('LITEVAULT_NOT_A_VAULT');
    expect(fs.readdirSync(notVault)).toEqual(['file.txt']);
    // Without --json: one line on stderr naming the code.
    const plain = run(['vault', 'restore', vault, 'nope.db', fresh('y.db')]);
    expect(plain.status).toBe(1);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toMatch(/LITEVAULT_NOT_FOUND/);
  });

  it('--fallback-full: another database under a name is LITEVAULT_BASE_MISMATCH (exit 1) unless --fallback-full takes a full', () => {
    const other = realDb('b.db', rows(300, 'other')); // same basename, another database
    expect(jsonError(run(['vault', 'backup', other, vault, '--type', 'incremental', '--json'])).code).toBe('LITEVAULT_BASE_MISMATCH');
    const r = jsonLines(ok(['vault', 'backup', other, vault, '--type', 'incremental', '--fallback-full', '--json']));
    expect(r[0]).toMatchObject({ name: 'b.db', type: 'full', seq: 2 });
  });

  it('--truncate-wal: a WAL source\'s -wal is truncated after the backup commits', () => {
    const w = realDb('w.db', 'PRAGMA journal_mode=wal; ' + rows(300, 'w'));
    // Leave frames in the -wal: a session that does not checkpoint on close.
    sqliteShell(w, ".dbconfig no_ckpt_on_close on\nPRAGMA wal_autocheckpoint=0;\nUPDATE t SET v = 'walled' WHERE id < 50;\n");
    expect(fs.statSync(w + '-wal').size).toBeGreaterThan(0);
    const r = jsonLines(ok(['vault', 'backup', w, vault, '--truncate-wal', '--json']));
    expect(r[0]).toMatchObject({ name: 'w.db', type: 'full' });
    expect(fs.statSync(w + '-wal').size).toBe(0);
    const out = fresh('w-restored.db');
    ok(['vault', 'restore', vault, 'w.db', out]);
    expect(sqliteShell(out, "SELECT count(*) FROM t WHERE v = 'walled';").trim()).toBe('49');
  });

  it('`vault prune --keep-last 1 --dry-run` reports without removing; then prune removes exactly that and keeps what kept backups depend on', () => {
    const before = tree(vault);
    const dry = JSON.parse(ok(['vault', 'prune', vault, '--keep-last', '1', '--name', 'a.db', '--dry-run', '--json']).stdout) as {
      kept: Array<{ id: string; name: string }>;
      removed: Array<{ id: string; name: string }>;
    };
    expect(dry.kept.map((x) => x.id).sort()).toEqual(['1', '3']); // 3 is a differential on 1
    expect(dry.removed.map((x) => x.id)).toEqual(['2']);
    expect(tree(vault), '--dry-run changes nothing').toEqual(before);
    const real = JSON.parse(ok(['vault', 'prune', vault, '--keep-last', '1', '--name', 'a.db', '--json']).stdout) as typeof dry & { packsRemoved: number; bytesFreed: number };
    expect(real.removed.map((x) => x.id)).toEqual(['2']);
    expect(real.bytesFreed).toBeGreaterThan(0);
    const list = JSON.parse(ok(['vault', 'list', vault, '--name', 'a.db', '--json']).stdout) as { backups: Array<{ id: string }> };
    expect(list.backups.map((x) => x.id)).toEqual(['1', '3']);
    const out = fresh('a-after-prune.db');
    ok(['vault', 'restore', vault, 'a.db', out, '--at', '3']);
    expect(logicalDump(out)).toBe(dumps['a.db@3']);
    // Other names were not touched by a --name prune.
    const allNames = JSON.parse(ok(['vault', 'list', vault, '--json']).stdout) as { backups: Array<{ name: string }> };
    expect(allNames.backups.filter((x) => x.name === 'b.db')).toHaveLength(2);
    // Without --name, keep-last applies to every name.
    const everything = JSON.parse(ok(['vault', 'prune', vault, '--keep-last', '1', '--json']).stdout) as typeof dry;
    expect(everything.removed.map((x) => `${x.name}@${x.id}`).sort()).toEqual(['b.db@1']);
  });

  it('usage errors exit 2 with a message on stderr and nothing on stdout', () => {
    usage(['vault']);
    usage(['vault', 'frobnicate', vault]);
    usage(['vault', 'backup']);
    usage(['vault', 'backup', a]);
    usage(['vault', 'backup', a, vault, '--type', 'weekly']);
    usage(['vault', 'backup', a, vault, '--bogus']);
    usage(['vault', 'list']);
    usage(['vault', 'restore', vault, 'a.db']);
    usage(['vault', 'prune', vault, '--keep-last', 'abc']);
    usage(['vault', 'prune', vault, '--keep-within', 'sometime']);
    // list and prune do no native work: a priority there would be accepted and do nothing.
    usage(['vault', 'list', vault, '--priority', 'normal']);
    usage(['vault', 'prune', vault, '--keep-last', '1', '--priority', 'normal']);
    expect(fs.existsSync(path.join(vault, 'backups', 'a.db')), 'usage errors touch nothing').toBe(true);
  });

  it('--help for vault and each verb: exit 0, the usage on stdout', () => {
    for (const verb of ['backup', 'list', 'restore', 'prune']) {
      const r = ok(['vault', verb, '--help']);
      expect(r.stdout).toMatch(new RegExp(`usage: litevault vault ${verb}`));
    }
  });
});

describe("README's \"Backups over time\"", () => {
  const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
  const start = readme.search(/^#+\s+Backups over time/m);
  const rest = start < 0 ? '' : readme.slice(start);
  const next = rest.slice(1).search(/^## /m); // the next section (code blocks hold "# comment" lines)
  const section = next < 0 ? rest : rest.slice(0, next + 1);
  const lines = [...section.matchAll(/```[a-z]*\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1]!.split('\n'))
    .map((l) => l.trim())
    .filter((l) => /^(npx )?litevault vault /.test(l));

  it.skipIf(start < 0)('its commands use only the vault verbs and options the CLI documents', () => {
    expect(lines.length, 'the section shows vault commands').toBeGreaterThan(0);
    const allowed: Record<string, string[]> = {
      backup: ['--type', '--name', '--truncate-wal', '--fallback-full', '--json', '--key-file'],
      list: ['--name', '--json', '--key-file'],
      restore: ['--at', '--overwrite', '--json', '--key-file'],
      prune: ['--keep-last', '--keep-within', '--keep-daily', '--keep-weekly', '--keep-monthly', '--name', '--dry-run', '--json', '--key-file'],
      verify: ['--name', '--at', '--max-findings', '--cksumvfs', '--json', '--key-file'],
    };
    const verbs = new Set<string>();
    for (const line of lines) {
      const m = /litevault vault (\w+)(.*)$/.exec(line)!;
      const verb = m[1]!;
      verbs.add(verb);
      expect(Object.keys(allowed), line).toContain(verb);
      for (const opt of m[2]!.match(/--[a-z-]+/g) ?? []) expect(allowed[verb], line).toContain(opt);
      expect(run(['vault', verb, '--help']).stdout, `${verb} --help documents what README uses`).toContain(`usage: litevault vault ${verb}`);
    }
    for (const v of ['backup', 'list', 'restore', 'prune', 'verify']) expect([...verbs]).toContain(v);
  });

  it.skipIf(start < 0)('its commands run as written (paths replaced by temporary ones) and the restores are SQLite-valid copies', () => {
    const root = fresh('readme');
    fs.mkdirSync(path.join(root, 'tenants'), { recursive: true });
    const tenants = ['t1.db', 't2.db'].map((f) => {
      const p = path.join(root, 'tenants', f);
      sqliteShell(p, rows(100, f));
      return p;
    });
    const app = path.join(root, 'app.db');
    sqliteShell(app, 'PRAGMA journal_mode=wal; ' + rows(400, 'app'));
    const vaultDir = path.join(root, 'vault');
    const restored = path.join(root, 'app-restored.db');
    const live = path.join(root, 'live.db');
    // The encryption example: its key file, its vault and its restore.
    const keyFile = path.join(root, 'vault.key');
    fs.writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const decrypted = path.join(root, 'app-decrypted.db');
    const appDump = logicalDump(app);
    let appFirstId: string | null = null;
    for (const line of lines) {
      let cmd = line.replace(/^(npx )?litevault /, '').replace(/\s+#.*$/, '');
      cmd = cmd
        .replace(/\S*\/tenants\/\*\.db/g, tenants.join(' '))
        .replace(/\/backups\/vault/g, vaultDir)
        .replace(/\/backups\/encrypted/g, path.join(root, 'encrypted'))
        .replace(/\/etc\/litevault\/vault\.key/g, keyFile)
        .replace(/\/tmp\/app-decrypted\.db/g, decrypted)
        .replace(/\/tmp\/app-restored\.db/g, restored);
      // The restore over the live database: onto a copy of it (live.db), at a backup that exists.
      if (/ restore /.test(cmd) && / --overwrite/.test(cmd)) {
        fs.copyFileSync(app, live);
        cmd = cmd.replace(/\/srv\/app\.db/g, live).replace(/--at \S+/, `--at ${appFirstId ?? '1'}`);
      }
      cmd = cmd.replace(/\/srv\/app\.db/g, app);
      expect(cmd, 'every path of the example was replaced').not.toMatch(/(^| )\/(srv|backups|etc)\/|\/tmp\/app-(restored|decrypted)/);
      const r = run(cmd.split(/\s+/));
      expect(r.status, `${line}\n-> litevault ${cmd}\n${r.stderr}`).toBe(0);
      if (/ backup /.test(` ${cmd} `) && cmd.includes(app) && appFirstId === null) {
        const l = JSON.parse(run(['vault', 'list', vaultDir, '--name', 'app.db', '--json']).stdout) as { backups: Array<{ id: string }> };
        appFirstId = l.backups[0]?.id ?? null;
      }
    }
    expect(fs.existsSync(restored)).toBe(true);
    expect(integrityCheck(restored)).toBe('ok');
    expect(logicalDump(restored)).toBe(appDump);
    expect(logicalDump(decrypted), 'the encrypted vault restores the same database').toBe(appDump);
    if (fs.existsSync(live)) {
      expect(integrityCheck(live)).toBe('ok');
      expect(logicalDump(live)).toBe(appDump);
    }
  });
});
