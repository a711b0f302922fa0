// Deterministic fault injection: for each scenario, count the disk-changing operations
// (writes, syncs, truncates, deletes) litevault makes, then replay the scenario once for every N
// with the N-th operation failing with EIO, failing with ENOSPC, and with every operation from
// the N-th on silently not happening (a crash at that instant). Each time real SQLite must find
// the source unchanged and the destination either as it was or the complete copy, with
// integrity_check ok; failures must surface as typed errors.
//
// Runs against the TEST build of the addon (fault injection is compiled only there).
import { backup, checkpoint, LitevaultError, testBinding as binding } from './oracle/testing-addon.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase } from './oracle/corpus';
import { integrityCheck, logicalDump, removeTmpDirs, sqliteShell, tmpDir } from './oracle/sqlite';

afterAll(() => {
  binding.setFaultPlan({ mode: 'off' });
  removeTmpDirs();
});

const sha = (f: string): string | null => (fs.existsSync(f) ? createHash('sha256').update(fs.readFileSync(f)).digest('hex') : null);
type Plan = { mode: 'fail' | 'stop'; errno?: 'EIO' | 'ENOSPC' };
const PLANS: Array<{ name: string; plan: Plan }> = [
  { name: 'EIO', plan: { mode: 'fail', errno: 'EIO' } },
  { name: 'ENOSPC', plan: { mode: 'fail', errno: 'ENOSPC' } },
  { name: 'stop', plan: { mode: 'stop' } },
];

// Copies the template files (db and, if present, -wal) into a fresh directory.
function copySet(template: string, name: string): string {
  const f = path.join(tmpDir('litevault-fault-'), name);
  fs.copyFileSync(template, f);
  if (fs.existsSync(template + '-wal')) fs.copyFileSync(template + '-wal', f + '-wal');
  return f;
}

async function run(op: () => Promise<unknown>): Promise<unknown> {
  try {
    await op();
    return null;
  } catch (err) {
    return err;
  } finally {
    binding.setFaultPlan({ mode: 'off' });
  }
}

function expectTyped(err: unknown, plan: Plan): void {
  if (err === null) return; // the failing operation was one whose failure is reported as success? never silently: see below
  expect(err).toBeInstanceOf(LitevaultError);
  if (plan.mode === 'fail') expect((err as LitevaultError).code).toMatch(plan.errno === 'ENOSPC' ? /^SQLITE_(FULL|IOERR)/ : /^SQLITE_IOERR/);
}

interface Scenario {
  name: string;
  source: () => string;
  destination?: () => string;
  act: (src: string, dst: string) => Promise<unknown>;
}

const templates = tmpDir('litevault-fault-templates-');
const rollbackSrc = path.join(templates, 'src.db');
createDatabase(rollbackSrc, { pageSize: 1024, targetBytes: 48 * 1024, overflow: true });
const rollbackOld = path.join(templates, 'old.db');
createDatabase(rollbackOld, { pageSize: 1024, targetBytes: 96 * 1024, userVersion: 7 });
const walSrc = path.join(templates, 'walsrc.db');
createDatabase(walSrc, { journalMode: 'wal', keepWal: true, pageSize: 1024, targetBytes: 40 * 1024 });
const walOld = path.join(templates, 'walold.db');
createDatabase(walOld, { journalMode: 'wal', pageSize: 1024, targetBytes: 24 * 1024, userVersion: 9 });

const SCENARIOS: Scenario[] = [
  {
    name: 'rollback backup over a bigger destination, 8 pages a step',
    source: () => copySet(rollbackSrc, 'src.db'),
    destination: () => copySet(rollbackOld, 'dst.db'),
    act: (src, dst) => backup(src, dst, { pagesPerStep: 8 }),
  },
  {
    name: 'WAL source (with wal-index recovery) into a WAL destination',
    source: () => copySet(walSrc, 'src.db'),
    destination: () => copySet(walOld, 'dst.db'),
    act: (src, dst) => backup(src, dst, { pagesPerStep: 8 }),
  },
  {
    name: 'TRUNCATE checkpoint in 3-frame steps',
    source: () => copySet(walSrc, 'src.db'),
    act: (src) => checkpoint(src, { mode: 'truncate', framesPerStep: 3 }),
  },
];

describe('every disk operation failing or stopping, one at a time', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: SQLite finds every file intact after a fault at each operation`, async () => {
      // The committed content SQLite sees before (source) and what a complete run produces.
      const probeSrc = scenario.source();
      const sourceContent = logicalDump(copySet(probeSrc, 'probe.db'));
      const oldContent = scenario.destination ? logicalDump(copySet(scenario.destination(), 'old.db')) : sourceContent;
      const probeDst = scenario.destination ? scenario.destination() : probeSrc;
      binding.setFaultPlan({ mode: 'off' });
      expect(await run(() => scenario.act(probeSrc, probeDst))).toBeNull();
      binding.setFaultPlan({ mode: 'off' });
      await scenario.act(scenario.source(), scenario.destination ? scenario.destination() : scenario.source());
      const operations = binding.faultOperations();
      expect(operations).toBeGreaterThan(5);

      const outcomes: Record<string, number> = { old: 0, new: 0, errors: 0 };
      for (const { name, plan } of PLANS) {
        for (let at = 1; at <= operations; at++) {
          const src = scenario.source();
          const dst = scenario.destination ? scenario.destination() : src;
          const srcBefore = scenario.destination ? [sha(src), sha(src + '-wal')] : null;
          binding.setFaultPlan({ ...plan, at });
          const err = await run(() => scenario.act(src, dst));
          if (err !== null) outcomes.errors++;
          expectTyped(err, plan);
          const where = `${name} at operation ${at} of ${operations}`;
          // The source of a backup is never written (it has no hot journal here).
          if (srcBefore) expect([sha(src), sha(src + '-wal')], where).toEqual(srcBefore);
          expect(integrityCheck(dst), where).toBe('ok');
          const content = logicalDump(dst);
          expect([oldContent, sourceContent], where).toContain(content);
          if (content === sourceContent && content !== oldContent) outcomes.new++;
          else outcomes.old++;
        }
      }
      console.log(`fault injection | ${scenario.name} | ${operations} operations x ${PLANS.length} kinds = ${operations * PLANS.length} runs | typed errors ${outcomes.errors}, old ${outcomes.old}, new ${outcomes.new}`);
      expect(outcomes.errors).toBeGreaterThan(0);
    });
  }
});
