// The packages as a user gets them (issue 14, point 7), by the commands of
// producer/README.md › Installing: `npm run pack:sdk` packs @witnesslog/core,
// schemas and producer, the README's `npm install` line installs them (and every
// import of the README's example) into scratch apps in a temporary folder outside
// the workspace; the consumer is packed and installed beside them. Each app runs
// against the real broker: CommonJS (with --no-experimental-require-module), ESM,
// TypeScript type-checked with node16, nodenext and bundler resolution, and an
// esbuild single-file bundle run from a folder with no node_modules at all (so
// nothing is read from the packages' files). The installed consumer service then
// carries every app's entries into Qdrant. Also: the TypeScript snippets of
// producer/README.md type-check against what the README's line installed, so they
// cannot rot.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { after, test } from 'node:test';
import { brokers, qdrantUrl, uniqueName } from '../support/env.js';
import { freePort } from '../support/net.js';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '../..');
const readme = join(repo, 'producer/README.md');
const tsc = join(repo, 'node_modules/typescript/bin/tsc');
const scratch = mkdtempSync(join(tmpdir(), 'witnesslog-packaging-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const topic = uniqueName('packaging');
const collection = uniqueName('packaging');
const DIM = 8;
const apps = ['cjs', 'esm', 'ts', 'bundle'] as const;
const PER_APP = 5;

/** What every app does: record PER_APP entries (one with an error and no stack_trace, tags left out), flush, close. */
const body = (importLine: string) => `${importLine}
const witness = createWitnessProducer({ brokers: ${JSON.stringify(brokers)}, topic: process.env.APP_TOPIC, embeddingDim: ${DIM}, env: {} });
const ids = [];
for (let i = 0; i < ${PER_APP}; i++) {
  const e = createWitnessEntry('session-' + process.env.APP_NAME, new Float32Array(${DIM}).fill(0.1 * (i + 1)));
  delete e.tags;
  if (i === 0) e.error = { code: 'OOM', message: 'out of memory', recovery_attempted: false };
  if (!witness.record(e)) throw new Error('dropped: ' + JSON.stringify(witness.stats()));
  ids.push(e.request_id);
}
witness.flush().then(() => witness.close()).then(() => {
  const s = witness.stats();
  console.log(JSON.stringify({ ids, delivered: s.delivered, fast_crc32c: s.fast_crc32c }));
});
`;

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('npm', args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

test('packed, installed outside the workspace, and run as CJS, ESM, TypeScript and a bundle; entries reach Qdrant', { timeout: 900_000 }, async (t) => {
  // The README's first command, into a folder of the test's (the README's is dist-packages/).
  const packs = join(scratch, 'packs');
  await npm(['run', 'pack:sdk', '--', '--out', packs], repo);
  const sdk = readdirSync(packs).filter((f) => f.endsWith('.tgz')).sort();
  assert.deepEqual(sdk, ['witnesslog-core-0.1.0.tgz', 'witnesslog-producer-0.1.0.tgz', 'witnesslog-schemas-0.1.0.tgz'], 'pack:sdk packs core, schemas, producer');
  for (const tarball of sdk) assertPackageFiles(tarball, (await run('tar', ['-tzf', join(packs, tarball)])).stdout.split('\n').map((f) => f.replace(/^package\//, '')));
  const consumerOut = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], join(repo, 'consumer'));
  const [consumerInfo] = JSON.parse(consumerOut) as { filename: string; files: { path: string }[] }[];
  assertPackageFiles(consumerInfo!.filename, consumerInfo!.files.map((f) => f.path));

  // The README's install line, as written, with its placeholder path pointed at the packs.
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch-apps', private: true }));
  const install = readmeInstallLine();
  await run('sh', ['-c', `${install.replaceAll('/path/to/witnesslog/dist-packages', packs)} --prefer-offline --no-audit --no-fund`], { cwd: scratch, maxBuffer: 16 * 1024 * 1024 });
  // @types/node for the snippets' `process`, nothing else: what they import must come from the README's line.
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '@types/node@20'], scratch);
  await checkReadmeSnippets();
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(scratch, consumerInfo!.filename)], scratch);

  // CommonJS, without require(esm): the dual build's require branch.
  mkdirSync(join(scratch, 'cjs'));
  writeFileSync(join(scratch, 'cjs/package.json'), '{ "type": "commonjs" }');
  writeFileSync(
    join(scratch, 'cjs/app.js'),
    body("const { createWitnessProducer } = require('@witnesslog/producer');\nconst { createWitnessEntry } = require('@witnesslog/schemas');"),
  );
  // ESM.
  mkdirSync(join(scratch, 'esm'));
  writeFileSync(
    join(scratch, 'esm/app.mjs'),
    body("import { createWitnessProducer } from '@witnesslog/producer';\nimport { createWitnessEntry } from '@witnesslog/schemas';"),
  );
  // TypeScript (CommonJS output under node16), checked under three resolutions.
  mkdirSync(join(scratch, 'ts'));
  writeFileSync(join(scratch, 'ts/package.json'), '{ "type": "commonjs" }');
  writeFileSync(
    join(scratch, 'ts/app.ts'),
    body(
      "import { createWitnessProducer, type WitnessProducerStats } from '@witnesslog/producer';\nimport { createWitnessEntry, type WitnessEntryInput } from '@witnesslog/schemas';\nconst typed: (s: WitnessProducerStats) => number = (s) => s.dropped.sampled_out;\nvoid typed;",
    ).replace('const e = ', 'const e: WitnessEntryInput = ').replace('const ids = [];', 'const ids: string[] = [];'),
  );
  for (const [module, moduleResolution] of [
    ['node16', 'node16'],
    ['nodenext', 'nodenext'],
    ['esnext', 'bundler'],
  ]) {
    writeFileSync(
      join(scratch, 'ts/tsconfig.json'),
      JSON.stringify({ compilerOptions: { module, moduleResolution, target: 'es2022', strict: true, outDir: 'out', types: ['node'], skipLibCheck: false }, files: ['app.ts'] }),
    );
    await run(process.execPath, [tsc, '-p', join(scratch, 'ts'), ...(module === 'node16' ? [] : ['--noEmit'])], { cwd: scratch }).catch((err: { stdout?: string }) => {
      assert.fail(`tsc with ${moduleResolution} resolution: ${err.stdout}`);
    });
  }
  // The single-file bundle, moved where there is no node_modules.
  mkdirSync(join(scratch, 'bundle'));
  writeFileSync(join(scratch, 'bundle/app.mjs'), readFileSync(join(scratch, 'esm/app.mjs')));
  const alone = mkdtempSync(join(tmpdir(), 'witnesslog-bundle-'));
  t.after(() => rmSync(alone, { recursive: true, force: true }));
  await build({
    entryPoints: [join(scratch, 'bundle/app.mjs')],
    absWorkingDir: scratch,
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: join(alone, 'app.mjs'),
    logLevel: 'error',
    // kafkajs is CommonJS and requires Node built-ins: the usual shim for an ESM bundle.
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  });

  const commands: Record<(typeof apps)[number], string[]> = {
    cjs: ['--no-experimental-require-module', join(scratch, 'cjs/app.js')],
    esm: [join(scratch, 'esm/app.mjs')],
    ts: ['--no-experimental-require-module', join(scratch, 'ts/out/app.js')],
    bundle: [join(alone, 'app.mjs')],
  };
  const sent = new Set<string>();
  for (const app of apps) {
    const { stdout } = await run(process.execPath, commands[app], { cwd: scratch, env: { ...process.env, APP_TOPIC: topic, APP_NAME: app } });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { ids: string[]; delivered: number; fast_crc32c: boolean };
    assert.equal(result.delivered, PER_APP, app);
    assert.equal(result.fast_crc32c, false, `${app}: default options leave kafkajs alone`);
    for (const id of result.ids) sent.add(id);
  }

  // The consumer service from the installed tarball carries them into Qdrant.
  const consumer = spawn(process.execPath, [join(scratch, 'node_modules/@witnesslog/consumer/bin/witness-consumer.js')], {
    cwd: scratch,
    env: {
      ...process.env,
      WITNESS_KAFKA_BROKERS: brokers.join(','),
      WITNESS_QDRANT_URL: qdrantUrl,
      WITNESS_TOPIC: topic,
      WITNESS_DLQ_TOPIC: `${topic}.dlq`,
      WITNESS_GROUP_ID: uniqueName('packaging'),
      WITNESS_COLLECTION: collection,
      WITNESS_EMBEDDING_DIM: String(DIM),
      WITNESS_BATCH_MAX_WAIT_MS: '100',
      METRICS_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  t.after(() => {
    if (consumer.exitCode === null) consumer.kill('SIGTERM');
  });
  const deadline = Date.now() + 120_000;
  let stored = new Set<string>();
  while (Date.now() < deadline) {
    stored = await storedIds().catch(() => new Set<string>());
    if ([...sent].every((id) => stored.has(id))) break;
    await sleep(500);
  }
  assert.deepEqual([...sent].filter((id) => !stored.has(id)), [], 'every entry of every app is in Qdrant');
  assert.equal(sent.size, apps.length * PER_APP);
  consumer.kill('SIGTERM');
});

async function storedIds(): Promise<Set<string>> {
  const res = await fetch(`${qdrantUrl}/collections/${collection}/points/scroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ limit: 1000, with_payload: false, with_vector: false }),
  });
  if (!res.ok) throw new Error(`scroll: ${res.status}`);
  const json = (await res.json()) as { result: { points: { id: string }[] } };
  return new Set(json.result.points.map((p) => String(p.id)));
}

function assertPackageFiles(pkg: string, files: string[]): void {
  assert.ok(files.includes('dist/index.js'), `${pkg}: dist in the tarball`);
  assert.ok(!files.some((f) => f.endsWith('.tsbuildinfo')), `${pkg}: no build info`);
}

/** The `npm install …dist-packages/*.tgz …` line of producer/README.md › Installing, comment stripped. */
function readmeInstallLine(): string {
  const section = readFileSync(readme, 'utf8').split('\n## Installing\n')[1]?.split('\n## ')[0] ?? '';
  const lines = section.split('\n').map((l) => l.replace(/#.*/, '').trim());
  assert.ok(lines.includes('npm run pack:sdk'), 'producer/README.md › Installing runs npm run pack:sdk');
  const install = lines.find((l) => l.startsWith('npm install /path/to/witnesslog/dist-packages/*.tgz'));
  assert.ok(install, 'producer/README.md › Installing has the tarball install line');
  return install;
}

/**
 * The README's TypeScript snippets, against what the README's install line put in
 * scratch/node_modules (ESM, top-level await): every package they import is named
 * on that line, and they type-check.
 */
async function checkReadmeSnippets(): Promise<void> {
  const snippets = [...readFileSync(readme, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(snippets.length >= 2, 'producer/README.md has TypeScript snippets');
  const named = readmeInstallLine().split(/\s+/).slice(2).map((word) => (word.includes('dist-packages/') ? '@witnesslog/*' : word));
  for (const [, spec] of snippets.join('\n').matchAll(/^import .* from '([^']+)';$/gm)) {
    const pkg = spec!.startsWith('@witnesslog/') ? '@witnesslog/*' : spec!;
    if (!pkg.startsWith('node:')) assert.ok(named.includes(pkg), `producer/README.md imports ${spec}, which its install line does not install`);
  }
  mkdirSync(join(scratch, 'readme'));
  writeFileSync(join(scratch, 'readme/package.json'), '{ "type": "module" }');
  snippets.forEach((code, i) => writeFileSync(join(scratch, `readme/snippet-${i}.ts`), `${code}\nexport {};\n`));
  writeFileSync(
    join(scratch, 'readme/tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'es2022', strict: true, noEmit: true, types: ['node'] }, include: ['*.ts'] }),
  );
  await run(process.execPath, [tsc, '-p', join(scratch, 'readme')], { cwd: scratch }).catch((err: { stdout?: string }) => {
    assert.fail(`producer/README.md snippets do not type-check: ${err.stdout}`);
  });
}
