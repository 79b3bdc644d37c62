// The pace benchmark's own arithmetic (bench/support/): the .cpuprofile
// summariser, the CPU reading from /proc, the batching of the ceiling's
// requests. A wrong sum here would print a wrong bound beside a missed target.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inBatches } from '../../bench/support/ceiling.js';
import { topSelfTime } from '../../bench/support/cpuprofile.js';
import { cpuMicros, cpuPerEntry } from '../../bench/support/proc.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

test('topSelfTime sums each sample\'s time into the function it landed in, over its call sites, biggest first', () => {
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('encode', `file://${process.cwd()}/consumer/src/x.ts`, 9) },
      { id: 3, callFrame: frame('encode', `file://${process.cwd()}/consumer/src/x.ts`, 9) }, // another call site
      { id: 4, callFrame: frame('') },
      { id: 5, callFrame: frame('(idle)') }, // left out: the share is of busy time
    ],
    startTime: 0,
    endTime: 100,
    samples: [2, 3, 4, 2, 1, 5],
    timeDeltas: [0, 10_000, 20_000, 30_000, 40_000, 0],
  };
  const rows = topSelfTime(profile, 20, process.cwd());
  // Sample i lasts timeDeltas[i + 1]: encode 10+20+40 ms... of which node 2 got 10 and 40, node 3 got 20.
  assert.deepEqual(rows.map((r) => [r.fn, r.where, r.ms]), [
    ['encode', 'consumer/src/x.ts:10', 70],
    ['(anonymous)', '', 30],
    ['(root)', '', 0],
  ]);
  assert.equal(rows[0]!.share, 0.7);
  assert.equal(topSelfTime(profile, 1).length, 1);
});

test('cpuMicros reads this process\'s CPU time, growing with work; NaN for a pid that does not exist', () => {
  const before = cpuMicros(process.pid);
  const until = Date.now() + 60;
  while (Date.now() < until); // burn CPU
  const after = cpuMicros(process.pid);
  assert.ok(after > before, `${after} > ${before}`);
  assert.ok(Number.isNaN(cpuMicros(2 ** 22 + 1)));
  assert.deepEqual(cpuPerEntry({ a: 100, b: 0 }, { a: 1_100, b: 50 }, 10), { a: 100, b: 5 });
});

test('inBatches cuts the points into requests of the given size, the last one shorter', () => {
  assert.deepEqual(inBatches([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  assert.deepEqual(inBatches([], 100), []);
});
