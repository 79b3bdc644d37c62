// The SASL password appears in no error and no log line, even while the producer
// retries a broker that is not there (a real socket to a port nothing listens on).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWitnessProducer, type InvalidOptionError } from '@witnesslog/producer';
import { entry } from '../../../test/support/entries.js';
import { freePort } from '../../../test/support/net.js';

const brokers = ['127.0.0.1:9092'];

test('the sasl password appears in no error and no log line', { timeout: 120_000 }, async (t) => {
  const secret = 'hunter2-s3cret';
  assert.throws(
    () => createWitnessProducer({ brokers, sasl: { password: secret } as never }),
    (err: Error) => !err.message.includes(secret) && (err as InvalidOptionError).option === 'sasl',
  );
  assert.throws(
    () => createWitnessProducer({ brokers, password: secret } as never),
    (err: Error) => !err.message.includes(secret),
  );

  const lines: string[] = [];
  const capture = (obj: object, msg?: string) => lines.push(`${msg} ${JSON.stringify(obj)}`);
  const port = await freePort();
  const producer = createWitnessProducer({
    brokers: [`127.0.0.1:${port}`],
    sasl: { mechanism: 'plain', username: 'svc', password: secret },
    logger: { debug: capture, info: capture, warn: capture, error: capture },
    flushTimeoutMs: 1_000,
  });
  t.after(() => producer.close());
  producer.record(entry('s-1'));
  await new Promise((r) => setTimeout(r, 1_500));
  await producer.close();
  assert.ok(lines.length > 0, 'the producer logged something');
  for (const line of lines) assert.ok(!line.includes(secret), line);
});
