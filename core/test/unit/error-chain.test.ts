// The one walk over wrapped errors that the consumer's checks share.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorChain } from '../../src/index.js';

test('outermost first, through originalError, cause and an aggregate\'s errors', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  const broker = Object.assign(new Error('broker said no'), { type: 'NOT_LEADER_FOR_PARTITION' });
  const retried = Object.assign(new Error('retries exhausted'), { originalError: broker, cause: refused });
  const aggregate = new AggregateError([new Error('first'), retried], 'all failed');
  const chain = errorChain(aggregate);
  assert.deepEqual(chain.map((e) => (e as Error).message), ['all failed', 'first', 'retries exhausted', 'broker said no', 'connect ECONNREFUSED']);
});

test('bounded in depth, safe on cycles, and nothing for a non-object', () => {
  const a: { cause?: unknown } = {};
  const b = { cause: a };
  a.cause = b;
  assert.equal(errorChain(a).length, 2);
  let deep: object = { end: true };
  for (let i = 0; i < 20; i += 1) deep = { cause: deep };
  assert.equal(errorChain(deep).length, 5);
  assert.equal(errorChain(deep, 2).length, 2);
  assert.deepEqual(errorChain('boom'), []);
  assert.deepEqual(errorChain(undefined), []);
});
