// The pieces of `witness dlq` that need no broker: the token bucket's pace, the
// parsing of a letter's headers, the filters, and the usage errors that name the flag and value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../../src/cli/cli.js';
import { DLQ_HEADERS } from '../../src/ingest/dead-letter.js';
import { parseLetter } from '../../src/ops/dlq-reader.js';
import { matches, redriveGroupId } from '../../src/ops/redrive.js';
import { createTokenBucket } from '../../src/ops/token-bucket.js';

test('the token bucket allows a burst of one second, then the rate', async () => {
  let now = 0;
  const bucket = createTokenBucket(2, () => now);
  await bucket.take();
  await bucket.take();
  let third = false;
  const pending = bucket.take().then(() => (third = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(third, false, 'a third take within the same instant waits');
  now = 500;
  await pending;
  assert.equal(third, true);
});

test('a letter parses into reason, source and the original headers without ours', () => {
  const l = parseLetter({
    partition: 1,
    offset: '7',
    key: Buffer.from('k'),
    value: Buffer.from('v'),
    headers: { [DLQ_HEADERS.reason]: 'WITNESS_BAD_MARKER', [DLQ_HEADERS.sourceTopic]: 'src', [DLQ_HEADERS.sourcePartition]: '2', [DLQ_HEADERS.sourceOffset]: '9', [DLQ_HEADERS.timestamp]: '2026-12-03T10:00:00.000Z', mine: 'x' },
  });
  assert.deepEqual([l.reason, l.sourceTopic, l.sourcePartition, l.sourceOffset, l.unredrivable], ['WITNESS_BAD_MARKER', 'src', 2, '9', null]);
  assert.deepEqual(l.headers, { mine: 'x' });
  assert.equal(matches(l, { reason: 'WITNESS_BAD_MARKER', since: new Date('2026-12-03T09:00:00Z') }), true);
  assert.equal(matches(l, { since: new Date('2026-12-03T11:00:00Z') }), false);
  const reduced = parseLetter({ partition: 0, offset: '0', key: null, value: null, headers: { [DLQ_HEADERS.sourceTopic]: 'src', [DLQ_HEADERS.valueOmitted]: '2000000' } });
  assert.match(reduced.unredrivable!, /value-omitted/);
  assert.equal(redriveGroupId('t.dlq', 'WITNESS_X'), 'witness-redrive-t.dlq-WITNESS_X');
});

test('bad dlq input is a usage error naming the flag and value, before any connection', async () => {
  const run = async (...args: string[]) => {
    let err = '';
    const code = await runCli(args, {}, { stdout: () => {}, stderr: (t) => (err += t) });
    return { code, err };
  };
  for (const [args, message] of [
    [['dlq', 'show', '3'], /dlq show 3: expected <partition>:<offset>/],
    [['dlq', 'list', '--reason', 'oops'], /--reason oops/],
    [['dlq', 'redrive', '--rate', '0'], /--rate 0/],
    [['dlq', 'redrive', '--rate=-5/s'], /--rate -5\/s/],
    [['dlq', 'list', '--since', 'soon'], /--since soon/],
    [['dlq', 'show', '--rate', '5', '0:1'], /--rate is not an option of "witness dlq show"/],
    [['dlq', 'purge'], /expected a subcommand, one of list, show, redrive/],
  ] as const) {
    const { code, err } = await run(...args);
    assert.equal(code, 2, `${args.join(' ')}: ${err}`);
    assert.match(err, message);
  }
});
