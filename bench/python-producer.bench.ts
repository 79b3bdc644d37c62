// The Python SDK (producer/python) on its hot path, beside what a Python user would
// otherwise write: producer.produce(topic, json.dumps(entry)); producer.flush() per
// request (confluent-kafka, acks=all). The measuring is done in Python by
// producer/python/bench/record_bench.py (same process, same broker, same 768-dim numpy
// entries, REPEATS runs each); this file runs it with the SDK setup.sh built and turns
// its figures into rows of the table.
//
//   node --conditions=witnesslog-src --import tsx bench/python-producer.bench.ts
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadToolchain, repoRoot, type Toolchain } from '../local/services.js';
import { fmt, int, measured, report, scale } from './support/report.js';

interface Figures {
  median: number[];
  p99: number[];
  rate: number[];
}

const tools = loadToolchain() as Toolchain & { sdkPython: string; sdkPythonPath: string };
const out = execFileSync(tools.sdkPython, [join(repoRoot, 'producer/python/bench/record_bench.py'), String(scale)], {
  env: { ...process.env, PYTHONPATH: tools.sdkPythonPath, WITNESS_KAFKA_BROKERS: process.env.WITNESS_KAFKA_BROKERS ?? '127.0.0.1:9092' },
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
  timeout: 900_000,
});
const result = JSON.parse(out.trim().split('\n').at(-1)!) as {
  ours: Figures;
  shaped: Omit<Figures, 'rate'>;
  v1: Omit<Figures, 'rate'>;
  naive: Figures;
  python: string;
};
const { ours, shaped, v1, naive } = result;
const label = 'produce(json.dumps(entry)); flush() per request';

process.stdout.write(
  `Python ${result.python} SDK, 768-dim numpy embeddings (median of ${ours.median.length} runs):\n` +
    `  record() per call: median ${fmt(measured(ours.median).median)} µs, p99 ${fmt(measured(ours.p99).median)} µs` +
    ` (naive: ${fmt(measured(naive.median).median)} µs, ${fmt(measured(naive.p99).median)} µs)\n` +
    `  record() with sample_rate 0.1 and a redact hook: median ${fmt(measured(shaped.median).median)} µs, p99 ${fmt(measured(shaped.p99).median)} µs\n` +
    `  record() writing schema v1 (before v2): median ${fmt(measured(v1.median).median)} µs, p99 ${fmt(measured(v1.p99).median)} µs\n` +
    `  entries/s from one process: ${int(measured(ours.rate).median)} (naive: ${int(measured(naive.rate).median)})\n`,
);
report({ figure: 'Python record() per call, median, numpy embeddings', unit: 'µs', better: 'lower', ours: measured(ours.median), baseline: { label, ...measured(naive.median) } });
report({ figure: 'Python record() per call, p99, numpy embeddings', unit: 'µs', better: 'lower', ours: measured(ours.p99), baseline: { label, ...measured(naive.p99) } });
report({ figure: 'Python record() per call, median, sample_rate 0.1 + redact hook', unit: 'µs', better: 'lower', ours: measured(shaped.median), baseline: { label, ...measured(naive.median) } });
report({ figure: 'Python record() per call, median, schema v2 (beside v1)', unit: 'µs', better: 'lower', ours: measured(ours.median), baseline: { label: 'the same record() writing schema v1', ...measured(v1.median) } });
report({ figure: 'Python producer entries/s, one process', unit: 'entries/s', better: 'higher', ours: measured(ours.rate), baseline: { label, ...measured(naive.rate) } });
