// Builds the publishable packages (issue 14): schemas compiled in from the .avsc
// files, tsc into dist/ (ESM and declarations, as the repo's dev loop always did),
// then a CommonJS copy in dist/cjs/ for require() on every Node in `engines`,
// without --experimental-require-module. esbuild writes the CJS copy (one file per
// package, dependencies left as require()s) because the ESM sources use
// import.meta.url, which tsc cannot turn into CommonJS; the declarations are copied
// beside it so TypeScript's node16 resolution types a require() as CommonJS.
//
//   node --import tsx scripts/build-packages.ts
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The packages a CommonJS host requires; the consumer is a service and stays ESM. */
const dual = ['core', 'schemas', 'producer'];

execFileSync(process.execPath, ['--import', 'tsx', join(root, 'schemas/scripts/generate-schemas.ts')], { cwd: root, stdio: 'inherit' });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'core', 'schemas', 'producer', 'consumer'], { cwd: root, stdio: 'inherit' });

for (const name of dual) {
  const pkg = join(root, name);
  const out = join(pkg, 'dist/cjs');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [join(pkg, 'src/index.ts')],
    outfile: join(out, 'index.js'),
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
    define: { 'import.meta.url': '__witnesslogModuleUrl' },
    banner: { js: "const __witnesslogModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n');
  copyDeclarations(join(pkg, 'dist'), out);
}

/** Every .d.ts of the ESM build, same layout, into the CJS folder. */
function copyDeclarations(from: string, to: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (join(from, entry.name) === to) continue;
      copyDeclarations(join(from, entry.name), join(to, entry.name));
    } else if (entry.name.endsWith('.d.ts')) {
      mkdirSync(to, { recursive: true });
      cpSync(join(from, entry.name), join(to, entry.name));
    }
  }
}
