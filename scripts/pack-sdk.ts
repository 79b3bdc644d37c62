// The SDK as installable files, while the packages are on no public registry:
// builds the packages (scripts/build-packages.ts), then `npm pack`s the three a
// serving node installs, @witnesslog/core, @witnesslog/schemas and
// @witnesslog/producer, into one folder, and prints the `npm install` line for
// an application. The folder is emptied first, so `dist-packages/*.tgz` matches
// exactly one version of each (an older tarball beside a newer one would make
// npm install both names twice).
//
//   npm run pack:sdk                     # into dist-packages/
//   npm run pack:sdk -- --out DIR        # elsewhere (test/integration/packaging.test.ts)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Dependencies first: the order to publish them in, to a registry of your own. */
const SDK_PACKAGES = ['core', 'schemas', 'producer'] as const;
/** What an application installs beside the tarballs: the SDK's peer, and the logger the README's example uses. */
const SDK_COMPANIONS = ['prom-client', 'pino'] as const;

const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'dist-packages') } } });
const out = resolve(values.out!);

// Once for all three: each package's own prepack would build everything again.
execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/build-packages.ts')], { cwd: root, stdio: 'inherit' });

// Only tarballs go: the folder may be one the caller keeps other things in (--out).
mkdirSync(out, { recursive: true });
for (const f of readdirSync(out)) if (f.endsWith('.tgz')) rmSync(join(out, f));

const tarballs: string[] = [];
for (const pkg of SDK_PACKAGES) {
  const json = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], { cwd: join(root, pkg), encoding: 'utf8' });
  const [info] = JSON.parse(json) as { filename: string }[];
  tarballs.push(join(out, info!.filename));
}

process.stdout.write(
  `\nPacked into ${out}:\n${tarballs.map((t) => `  ${t}\n`).join('')}` +
    `\nIn your application's folder:\n\n  npm install ${[...tarballs, ...SDK_COMPANIONS].join(' ')}\n\n`,
);
