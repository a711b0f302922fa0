// The round loop of the self-contained sections that run a flat list of competitors (verify.js,
// stream.js): every round, each competitor once, in an order rotated round by round; before
// each run the destination removed and settle() (inputs warmed first); after it, a failure
// recorded, a copy checked (round 1, or every round of a smoke run), a log line.
'use strict';
const { removeDb } = require('./proc');

/**
 * With the context run.js gives a section (opts, settle, rotate, verifyCopy, errors, log), runs
 * `competitors` ({key, run(), copy?}) for opts.rounds rounds and returns, per round, their results
 * by key. `before(c, round)` runs before a competitor's settle(), `after(c, r, round)`
 * after its run (before the copy check); `describe(r)` adds to an ok run's log line. A run with
 * c.copy gets r.check = verifyCopy(dst, expectedRows) when checked.
 */
async function interleavedRounds({ opts, settle, rotate, verifyCopy, errors, log }, { section, competitors, dir, inputs, dst, expectedRows, before, after, describe }) {
  const rounds = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const runs = {};
    for (const c of rotate(competitors, round)) {
      removeDb(dst);
      await before?.(c, round);
      await settle(dir, inputs, `${section} round ${round} ${c.key}`, { warmFirst: true });
      const r = await c.run();
      if (!r.ok) errors.push(`${section}/${c.key} round ${round}: ${r.error}`);
      await after?.(c, r, round);
      if (r.ok && c.copy && (round === 1 || opts.smoke)) {
        r.check = verifyCopy(dst, expectedRows);
        if (!r.check.ok) errors.push(`${section}/${c.key} round ${round}: copy failed verification (${JSON.stringify(r.check)})`);
      }
      runs[c.key] = r;
      log(`${section} round ${round}/${opts.rounds} ${c.key}: ${r.ok ? `${r.ms.toFixed(0)} ms${describe?.(r) ?? ''}` : `FAILED ${r.error}`}`);
      removeDb(dst);
    }
    rounds.push(runs);
  }
  return rounds;
}

module.exports = { interleavedRounds };
