// `npm run demo` (scripts/demo.js on the built dist/) runs to the end and its output can be
// followed: every litevault command it shows succeeds, and it ends with what real SQLite
// (better-sqlite3) found in each file: integrity_check ok and the row counts.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

describe('npm run demo', () => {
  it('exits 0 and ends with the lines SQLite checked: integrity ok and row counts that add up', () => {
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'demo.js')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toContain('\r');
    const lines = r.stdout.trim().split('\n');
    const [live, copy, restored, fromVault] = lines.slice(-4).map((l) => /^(\S+)\s+integrity_check (\S+), (\d+) orders/.exec(l));
    expect(live?.slice(1, 3)).toEqual(['demo.db', 'ok']);
    expect(copy?.slice(1, 3)).toEqual(['demo-backup.db', 'ok']);
    expect(restored?.slice(1, 3)).toEqual(['restored.db', 'ok']);
    expect(Number(copy![3])).toBeGreaterThanOrEqual(20000);
    expect(Number(restored![3])).toBe(Number(copy![3]));
    expect(Number(live![3])).toBeGreaterThanOrEqual(Number(copy![3]));
    // The vault: a full backup under the writer, an incremental after it, restored by SQLite's count.
    expect(fromVault?.slice(1, 3)).toEqual(['from-vault.db', 'ok']);
    expect(Number(fromVault![3])).toBe(Number(live![3]));
    expect(r.stdout).toMatch(/as demo\.db 1, a full backup/);
    expect(r.stdout).toMatch(/as demo\.db 2, an incremental backup \(incremental of 1\)/);
    // The backup says which snapshot it copied.
    const frame = /the source as of WAL frame (\d+)/.exec(r.stdout);
    expect(frame).not.toBeNull();
  });
});
